"""Adjudication: a lead's final verdict on a conflict, with a required reason; the labels stay;
history kept; the agreement numbers and conflicts of a case and a queue, as a lead reads them."""

import pytest
from django.http import Http404

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.lead_review_selectors import get_case_agreement_for_lead, get_queue_agreement_for_lead
from cases.models import Adjudication, AuditEvent, Label
from cases.services.adjudication import adjudicate_account
from cases.services.case_status import close_case
from cases.services.cases import add_account_to_case
from cases.services.labels import submit_label
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_a_lead_adjudicates_a_conflict_and_the_labels_stay(lead_case, lead):
    s1 = lead_case.suspects[1]
    labels_before = sorted(
        Label.objects.filter(case=lead_case, account=s1).values_list("annotator_id", "verdict")
    )
    adj = adjudicate_account(
        case=lead_case, account=s1, lead=lead, verdict="inauthentic", reason="  Same copy-paste bursts  "
    )
    assert (adj.verdict, adj.reason, adj.decided_by) == ("inauthentic", "Same copy-paste bursts", lead)
    assert sorted(
        Label.objects.filter(case=lead_case, account=s1).values_list("annotator_id", "verdict")
    ) == (labels_before)
    event = AuditEvent.objects.get(verb="account.adjudicated")
    assert event.data == {
        "case": lead_case.pk,
        "account": s1.pk,
        "verdict": "inauthentic",
        "reason": "Same copy-paste bursts",
        "supersedes": None,
    }
    # A second adjudication supersedes the first; both are kept.
    again = adjudicate_account(case=lead_case, account=s1, lead=lead, verdict="unsure", reason="New evidence")
    assert Adjudication.objects.filter(case=lead_case, account=s1).count() == 2
    last = AuditEvent.objects.filter(verb="account.adjudicated").order_by("-pk").first()
    assert last.data["verdict"] == ["inauthentic", "unsure"] and last.data["supersedes"] == adj.pk
    review = get_case_agreement_for_lead(case=lead_case, user=lead).conflicts[0]
    assert review.adjudication == again and review.adjudications == [again, adj]
    assert review.final_verdict == "unsure" and review.majority == "inauthentic"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(lead_case, lead, reason):
    with pytest.raises(InvalidInput) as exc:
        adjudicate_account(
            case=lead_case, account=lead_case.suspects[1], lead=lead, verdict="authentic", reason=reason
        )
    assert "reason" in exc.value.fields
    assert (
        not Adjudication.objects.exists()
        and not AuditEvent.objects.filter(verb="account.adjudicated").exists()
    )


def test_moderators_may_not_adjudicate(lead_case, moderator):
    with pytest.raises(NotAllowed):
        adjudicate_account(
            case=lead_case, account=lead_case.suspects[1], lead=moderator, verdict="authentic", reason="x"
        )
    assert not Adjudication.objects.exists()


def test_an_outsider_lead_may_not_adjudicate(lead_case, outsider_lead):
    with pytest.raises(NotAllowed):
        adjudicate_account(
            case=lead_case, account=lead_case.suspects[1], lead=outsider_lead, verdict="authentic", reason="x"
        )


def test_bad_verdicts_and_foreign_accounts_are_refused(lead_case, lead, team_a, team_b):
    with pytest.raises(InvalidInput):
        adjudicate_account(
            case=lead_case, account=lead_case.suspects[1], lead=lead, verdict="fake", reason="x"
        )
    with pytest.raises(InvalidInput):
        adjudicate_account(
            case=lead_case, account=AccountFactory(team=team_b), lead=lead, verdict="authentic", reason="x"
        )
    with pytest.raises(InvalidInput, match="not on this case"):
        adjudicate_account(
            case=lead_case, account=AccountFactory(team=team_a), lead=lead, verdict="authentic", reason="x"
        )
    assert not Adjudication.objects.exists()


def test_a_settled_case_is_not_adjudicated(lead_case, lead):
    close_case(case=lead_case, lead=lead, reason="nothing there")
    with pytest.raises(Conflict, match="closed"):
        adjudicate_account(
            case=lead_case, account=lead_case.suspects[1], lead=lead, verdict="authentic", reason="x"
        )


# --- the numbers a lead sees -------------------------------------------------------------------------


def test_case_agreement_by_hand(lead_case, lead, moderator, moderator_2):
    # s0: i i i · s1: i a i · s2: i i · s3, r0: no labels.
    # Percent: mean(1, 1/3, 1) = 7/9.
    # Alpha: n = 8 (i = 7, a = 1). Observed: s1 has 9 - (4 + 1) = 4 ordered pairs / (3 - 1) = 2.
    # D_o = 2/8; D_e = (64 - 49 - 1) / (8 * 7) = 14/56. alpha = 1 - (2/8) / (14/56) = 0.
    agreement = get_case_agreement_for_lead(case=lead_case, user=lead)
    report = agreement.report
    assert (report.units, report.labels, report.pairable_units) == (5, 8, 3)
    assert report.percent == pytest.approx(7 / 9)
    assert report.alpha == pytest.approx(0.0)
    by_user = {r.user: (r.stats.labels, r.stats.compared, r.stats.agreed) for r in agreement.reviewers}
    assert by_user == {moderator: (3, 3, 3), moderator_2: (3, 3, 2), lead: (2, 2, 2)}
    assert [row.account for row in agreement.conflicts] == [lead_case.suspects[1]]
    assert (agreement.conflict_count, agreement.open_conflict_count) == (1, 1)
    row = agreement.conflicts[0]
    assert [label.annotator for label in row.labels] == [moderator, moderator_2, lead]
    assert row.verdict_counts == {"inauthentic": 2, "authentic": 1} and row.resolved is False

    adjudicate_account(
        case=lead_case, account=lead_case.suspects[1], lead=lead, verdict="inauthentic", reason="r"
    )
    after = get_case_agreement_for_lead(case=lead_case, user=lead)
    assert (after.conflict_count, after.open_conflict_count) == (1, 0)
    assert after.conflicts[0].resolved
    assert get_case_agreement_for_lead(case=lead_case, user=lead, only_open=True).conflicts == []
    # Adjudication does not change the reviewers' agreement: it is about their labels.
    assert after.report.alpha == report.alpha


def test_queue_agreement_covers_the_queue_items(lead_queue, lead_case, lead, moderator):
    agreement = get_queue_agreement_for_lead(queue=lead_queue, user=lead)
    assert agreement.report.units == 4 and agreement.report.labels == 8  # suspects only: no reference
    assert agreement.report.percent == pytest.approx(7 / 9)
    assert [row.account for row in agreement.conflicts] == [lead_case.suspects[1]]
    # Labels on an account outside the queue do not count.
    extra = AccountFactory(team=lead_case.team)
    add_account_to_case(case=lead_case, account=extra, added_by=lead)
    submit_label(case=lead_case, account=extra, annotator=moderator, verdict="authentic")
    submit_label(case=lead_case, account=extra, annotator=lead, verdict="inauthentic")
    assert get_queue_agreement_for_lead(queue=lead_queue, user=lead).report.labels == 8
    assert get_case_agreement_for_lead(case=lead_case, user=lead).report.labels == 10


def test_agreement_is_for_leads_only(lead_case, lead_queue, moderator, outsider, outsider_lead):
    with pytest.raises(NotAllowed):
        get_case_agreement_for_lead(case=lead_case, user=moderator)
    with pytest.raises(NotAllowed):
        get_queue_agreement_for_lead(queue=lead_queue, user=moderator)
    for user in (outsider, outsider_lead):
        with pytest.raises(Http404):
            get_case_agreement_for_lead(case=lead_case, user=user)
        with pytest.raises(Http404):
            get_queue_agreement_for_lead(queue=lead_queue, user=user)


def test_conflicts_are_paged_and_filtered(lead_case, lead, moderator, moderator_2):
    s2, s3 = lead_case.suspects[2], lead_case.suspects[3]
    submit_label(case=lead_case, account=s3, annotator=moderator, verdict="authentic")
    submit_label(case=lead_case, account=s3, annotator=moderator_2, verdict="unsure")
    submit_label(case=lead_case, account=s2, annotator=lead, verdict="authentic")
    adjudicate_account(case=lead_case, account=s2, lead=lead, verdict="inauthentic", reason="r")
    first = get_case_agreement_for_lead(case=lead_case, user=lead, per_page=2)
    assert (first.conflict_count, first.open_conflict_count, first.page.paginator.num_pages) == (3, 2, 2)
    second = get_case_agreement_for_lead(case=lead_case, user=lead, per_page=2, page=2)
    paged = [row.account for row in first.conflicts + second.conflicts]
    assert sorted(a.pk for a in paged) == sorted(a.pk for a in lead_case.suspects[1:4])
    assert all(row.labels for row in first.conflicts + second.conflicts)
    open_only = get_case_agreement_for_lead(case=lead_case, user=lead, only_open=True, per_page=10)
    assert {row.account for row in open_only.conflicts} == {lead_case.suspects[1], s3}
    assert get_case_agreement_for_lead(case=lead_case, user=lead, page="junk").page.number == 1
