import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AuditEvent, Case, CaseAccount, CaseStatus, Job, JobStatus
from cases.services.cases import (
    add_account_to_case,
    create_case,
    recount_case,
    remove_account_from_case,
    start_case_recount,
)
from tests.factories import AccountFactory, CaseFactory

pytestmark = pytest.mark.django_db


def test_create_case_records_the_fields(team_a, moderator, lead):
    case = create_case(
        team=team_a, title=" Spamouflage ", summary="s", priority=3, lead=lead, created_by=moderator
    )
    assert case.title == "Spamouflage"
    event = AuditEvent.objects.get(verb="case.created")
    assert event.user == moderator and event.target_id == str(case.pk)
    assert event.data == {
        "title": "Spamouflage",
        "summary": "s",
        "priority": 3,
        "lead": lead.pk,
        "status": "open",
    }


def test_outsiders_cannot_open_cases_in_a_team(team_a, outsider):
    with pytest.raises(NotAllowed):
        create_case(team=team_a, title="x", created_by=outsider)


def test_the_lead_must_be_a_member(team_a, moderator, outsider):
    with pytest.raises(NotAllowed):
        create_case(team=team_a, title="x", created_by=moderator, lead=outsider)


def test_case_needs_a_title(team_a, moderator):
    with pytest.raises(InvalidInput) as err:
        create_case(team=team_a, title="  ", created_by=moderator)
    assert err.value.fields == {"title": ["This field is required."]}


def test_add_and_remove_account(team_a, moderator):
    case, account = CaseFactory(team=team_a), AccountFactory(team=team_a)
    add_account_to_case(case=case, account=account, added_by=moderator, reason="same bio")
    with pytest.raises(Conflict):
        add_account_to_case(case=case, account=account, added_by=moderator)
    case.refresh_from_db()
    assert case.account_count == 1
    remove_account_from_case(case=case, account=account, removed_by=moderator, reason="authentic")
    assert not CaseAccount.objects.exists()
    case.refresh_from_db()
    assert case.account_count == 0
    verbs = list(AuditEvent.objects.order_by("id").values_list("verb", "data"))
    assert verbs == [
        ("case.account_added", {"account": account.pk, "reason": "same bio", "suggestion": None}),
        ("case.account_removed", {"account": account.pk, "reason": "authentic"}),
    ]


def test_another_teams_account_cannot_join_a_case(team_a, team_b, moderator):
    case = CaseFactory(team=team_a)
    with pytest.raises(InvalidInput, match="No such account"):
        add_account_to_case(case=case, account=AccountFactory(team=team_b), added_by=moderator)
    assert not CaseAccount.objects.exists()


def test_a_decided_case_keeps_its_accounts(team_a, moderator):
    case = CaseFactory(team=team_a, status=CaseStatus.DECIDED)
    with pytest.raises(Conflict):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=moderator)


def test_recount_counts_rows(team_a, moderator):
    case = CaseFactory(team=team_a)
    for _ in range(3):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=moderator)
    Case.objects.filter(pk=case.pk).update(account_count=0)  # a count that drifted
    seen = []
    counts = recount_case(case_id=case.pk, progress=lambda done, total, msg: seen.append((done, total)))
    assert counts == {"account_count": 3, "evidence_count": 0, "labeled_account_count": 0}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    case.refresh_from_db()
    assert case.account_count == 3 and case.counts_updated_at is not None
    assert AuditEvent.objects.filter(verb="case.recounted").get().data == {"account_count": [0, 3]}


def test_start_recount_queues_a_job_with_ids_only(team_a, moderator, django_capture_on_commit_callbacks):
    case = CaseFactory(team=team_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_case_recount(case=case, requested_by=moderator)
    assert job.status == JobStatus.QUEUED and job.params == {"case_id": case.pk}
    assert len(callbacks) == 1  # enqueued only after commit
    assert AuditEvent.objects.get(verb="job.started").target_id == str(job.pk)
    assert Job.objects.count() == 1
