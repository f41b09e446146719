"""Labels: one per annotator per account per case, changeable while the case is under review."""

import datetime

import pytest
from django.http import Http404

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AuditEvent, CaseStatus, Label, QueueItem
from cases.review_selectors import get_label_agreement_for_user, list_label_agreement_for_user
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item, create_queue_from_case
from tests.factories import AccountFactory
from tests.services.review_support import NewEvents, case_with_accounts, member, technique

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(team_a, lead):
    return case_with_accounts(team_a, lead, accounts=2)


@pytest.fixture
def account(case):
    return case.case_accounts.order_by("id").first().account


def test_submit_label_records_verdict_techniques_and_note(case, account, moderator):
    seen = [technique("2.1.1"), technique("4.2.1")]
    with NewEvents() as new:
        label = submit_label(
            case=case,
            account=account,
            annotator=moderator,
            verdict="inauthentic",
            techniques=seen,
            note=" copies @nytimes ",
            seconds_spent=40,
        )
    assert (label.verdict, label.note, label.seconds_spent) == ("inauthentic", "copies @nytimes", 40)
    assert set(label.techniques.all()) == set(seen)
    [event] = new.events
    assert (event.verb, event.user, event.target_id) == ("label.submitted", moderator, str(label.pk))
    assert event.data == {
        "case": case.pk,
        "account": account.pk,
        "verdict": "inauthentic",
        "techniques": ["2.1.1", "4.2.1"],
        "note": "copies @nytimes",
        "seconds_spent": 40,
        "status": ["open", "in_review"],
    }


def test_the_first_label_puts_an_open_case_in_review(case, account, moderator):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_submitting_again_changes_the_one_label_and_records_old_and_new(case, account, moderator):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure", seconds_spent=30)
    with NewEvents() as new:
        label = submit_label(
            case=case,
            account=account,
            annotator=moderator,
            verdict="inauthentic",
            techniques=[technique("2.1.1")],
            seconds_spent=20,
        )
    assert Label.objects.count() == 1
    assert (label.verdict, label.seconds_spent) == ("inauthentic", 50)
    [event] = new.events
    assert event.verb == "label.changed"
    assert event.data == {
        "case": case.pk,
        "account": account.pk,
        "verdict": ["unsure", "inauthentic"],
        "techniques": [[], ["2.1.1"]],
        "seconds_spent": [30, 50],
    }


def test_the_same_label_again_writes_nothing(case, account, moderator):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    with NewEvents() as new:
        submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    assert new.events == []


def test_each_annotator_has_their_own_label(case, account, moderator, lead):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    submit_label(case=case, account=account, annotator=lead, verdict="authentic")
    assert Label.objects.filter(case=case, account=account).count() == 2


def test_the_account_must_be_on_the_case(case, team_a, team_b, moderator):
    with pytest.raises(InvalidInput, match="is not on this case"):
        submit_label(case=case, account=AccountFactory(team=team_a), annotator=moderator, verdict="unsure")
    with pytest.raises(InvalidInput, match=r"^No such account\.$"):
        submit_label(case=case, account=AccountFactory(team=team_b), annotator=moderator, verdict="unsure")
    assert not Label.objects.exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"verdict": "probably"}, {"seconds_spent": -1}, {"techniques": ["2.1.1"]}],
)
def test_label_input_is_checked(case, account, moderator, kwargs):
    with pytest.raises(InvalidInput):
        submit_label(
            **{"case": case, "account": account, "annotator": moderator, "verdict": "unsure", **kwargs}
        )


@pytest.mark.parametrize("status", [CaseStatus.DECIDED, CaseStatus.CLOSED])
def test_labels_are_refused_once_the_case_is_settled(case, account, moderator, status):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    case.status = status
    case.save()
    with pytest.raises(Conflict):
        submit_label(case=case, account=account, annotator=moderator, verdict="inauthentic")
    assert Label.objects.get().verdict == "unsure"


def test_outsiders_and_the_system_cannot_label(case, account, outsider):
    for annotator in (outsider, None):
        with pytest.raises(NotAllowed):
            submit_label(case=case, account=account, annotator=annotator, verdict="unsure")


# --- with a queue lease ------------------------------------------------------------------------


@pytest.fixture
def queue(case, lead):
    return create_queue_from_case(case=case, name="Triage", created_by=lead, labels_per_item=2)


def test_a_label_with_its_lease_completes_the_item_in_one_event(queue, moderator):
    assignment = claim_next_item(queue=queue, user=moderator)
    item = assignment.item
    with NewEvents() as new:
        submit_label(
            case=item.case,
            account=item.account,
            annotator=moderator,
            verdict="inauthentic",
            assignment=assignment,
        )
    assert assignment.state == "completed" and assignment.completed_at is not None
    item.refresh_from_db()
    assert (item.label_count, item.is_done) == (1, False)
    [event] = new.events
    assert event.verb == "label.submitted"
    assert event.data["assignment"] == assignment.pk and event.data["label_count"] == [0, 1]


def test_a_lease_that_expired_refuses_the_label_and_saves_nothing(queue, moderator, time_machine):
    time_machine.move_to(datetime.datetime(2024, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    assignment = claim_next_item(queue=queue, user=moderator)
    item = assignment.item
    time_machine.shift(datetime.timedelta(minutes=30))
    with pytest.raises(Conflict, match="expired"):
        submit_label(
            case=item.case, account=item.account, annotator=moderator, verdict="unsure", assignment=assignment
        )
    assert not Label.objects.exists()
    assert QueueItem.objects.get(pk=item.pk).label_count == 0


def test_a_lease_must_be_the_annotators_and_for_that_account(queue, case, moderator, lead):
    assignment = claim_next_item(queue=queue, user=moderator)
    item = assignment.item
    with pytest.raises(NotAllowed):
        submit_label(case=case, account=item.account, annotator=lead, verdict="unsure", assignment=assignment)
    other = case.case_accounts.exclude(account=item.account).first().account
    with pytest.raises(InvalidInput, match="another account"):
        submit_label(case=case, account=other, annotator=moderator, verdict="unsure", assignment=assignment)
    assert not Label.objects.exists()


# --- agreement so far (blind labelling) --------------------------------------------------------


def test_other_verdicts_stay_hidden_until_the_user_has_labelled_the_account(
    case, account, team_a, moderator, lead
):
    others = [member(team_a) for _ in range(3)]
    for user, verdict in zip(others, ["inauthentic", "inauthentic", "authentic"], strict=True):
        submit_label(case=case, account=account, annotator=user, verdict=verdict)

    before = get_label_agreement_for_user(case=case, account=account, user=moderator)
    assert (before.hidden, before.label_count, before.verdicts, before.agreement) == (True, 3, {}, None)
    assert list_label_agreement_for_user(case=case, user=moderator)[account.pk].hidden

    submit_label(case=case, account=account, annotator=moderator, verdict="inauthentic")
    after = get_label_agreement_for_user(case=case, account=account, user=moderator)
    assert after.hidden is False and after.my_verdict == "inauthentic"
    assert after.verdicts == {"inauthentic": 3, "authentic": 1}
    assert after.agreement == pytest.approx(0.5)  # 3 of 6 pairs agree
    assert after.majority == "inauthentic"
    listed = list_label_agreement_for_user(case=case, user=moderator)
    assert listed[account.pk] == after


def test_agreement_reads_are_404_for_other_teams(case, account, outsider):
    with pytest.raises(Http404):
        get_label_agreement_for_user(case=case, account=account, user=outsider)
    with pytest.raises(Http404):
        list_label_agreement_for_user(case=case, user=outsider)


def test_label_event_is_scoped_to_the_team(case, account, moderator):
    submit_label(case=case, account=account, annotator=moderator, verdict="unsure")
    assert AuditEvent.objects.get(verb="label.submitted").team == case.team


def test_labels_keep_the_cases_labeled_account_count(team_a, moderator, lead):
    from cases.models import Case
    from cases.services.cases import add_account_to_case
    from cases.services.labels import submit_label
    from tests.factories import AccountFactory, CaseFactory

    case = CaseFactory(team=team_a)
    first, second = AccountFactory(team=team_a), AccountFactory(team=team_a)
    for account in (first, second):
        add_account_to_case(case=case, account=account, added_by=lead)
    submit_label(case=case, account=first, annotator=moderator, verdict="inauthentic")
    submit_label(case=case, account=first, annotator=lead, verdict="unsure")  # same account again
    submit_label(case=case, account=first, annotator=moderator, verdict="authentic")  # a change
    assert Case.objects.get(pk=case.pk).labeled_account_count == 1
    submit_label(case=case, account=second, annotator=lead, verdict="inauthentic")
    assert Case.objects.get(pk=case.pk).labeled_account_count == 2
