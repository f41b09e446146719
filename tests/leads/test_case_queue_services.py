"""Services of the case queue and queue monitor: bulk actions, saved filters, reviewer lists,
priorities, stale leases — each with its audit events and its role checks."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import (
    Assignment,
    AssignmentState,
    AuditEvent,
    CaseStatus,
    Priority,
    QueueItem,
    QueueReviewer,
    SavedFilter,
)
from cases.services import lead_cases
from cases.services.queues import claim_next_item
from tests.factories import CaseFactory


def events(verb: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb=verb, **filters).order_by("id"))


@pytest.fixture
def three_cases(team_a, lead_case):
    return [lead_case, CaseFactory(team=team_a, title="Second"), CaseFactory(team=team_a, title="Third")]


def test_bulk_assign_lead_changes_each_case_and_records_one_event_per_changed_case(
    team_a, lead, moderator, three_cases
):
    lead_case = three_cases[0]
    lead_case.lead = moderator
    lead_case.save()
    changed = lead_cases.bulk_assign_lead(team=team_a, cases=three_cases, lead=moderator, assigned_by=lead)
    assert {c.pk for c in changed} == {three_cases[1].pk, three_cases[2].pk}
    for case in three_cases:
        case.refresh_from_db()
        assert case.lead == moderator
    recorded = events("case.lead_assigned")
    assert sorted(int(e.target_id) for e in recorded) == sorted(c.pk for c in changed)
    assert all(e.user == lead and e.data["lead"] == [None, moderator.pk] for e in recorded)


def test_bulk_set_priority_records_old_and_new_priority(team_a, lead, three_cases):
    changed = lead_cases.bulk_set_priority(
        team=team_a, cases=three_cases, priority=Priority.URGENT, set_by=lead
    )
    assert len(changed) == 3
    recorded = events("case.priority_changed")
    assert len(recorded) == 3
    assert {tuple(e.data["priority"]) for e in recorded} == {(Priority.NORMAL, Priority.URGENT)}


def test_bulk_close_skips_closed_cases_and_needs_a_reason(team_a, lead, three_cases):
    with pytest.raises(InvalidInput):
        lead_cases.bulk_close(team=team_a, cases=three_cases, lead=lead, reason="  ")
    lead_cases.bulk_close(team=team_a, cases=three_cases[:1], lead=lead, reason="nothing there")
    changed = lead_cases.bulk_close(team=team_a, cases=three_cases, lead=lead, reason="wrap up")
    assert [c.pk for c in changed] == sorted(c.pk for c in three_cases[1:])
    assert all(c.status == CaseStatus.CLOSED for c in three_cases)
    assert len(events("case.closed")) == 3
    assert {e.data["reason"] for e in events("case.closed")} == {"nothing there", "wrap up"}


def test_create_queue_from_cases_queues_suspects_of_reviewable_cases_only(
    team_a, lead, three_cases, moderator
):
    from cases.services.cases import add_account_to_case
    from tests.factories import AccountFactory

    second = three_cases[1]
    add_account_to_case(case=second, account=AccountFactory(team=team_a), added_by=lead)
    lead_cases.bulk_close(team=team_a, cases=[three_cases[2]], lead=lead, reason="done")
    queue = lead_cases.create_queue_from_cases(
        team=team_a, cases=three_cases, name="Week 48", created_by=lead, labels_per_item=2
    )
    items = list(QueueItem.objects.filter(queue=queue))
    # four suspects of lead_case (the reference account is not queued) and the second case's one
    assert len(items) == 5
    assert {i.case_id for i in items} == {three_cases[0].pk, second.pk}
    assert queue.case is None and queue.labels_per_item == 2
    assert len(events("queue.created")) == 1
    queued = events("case.queued")
    assert sorted(int(e.target_id) for e in queued) == sorted([three_cases[0].pk, second.pk])
    assert {e.data["items"] for e in queued} == {4, 1}
    with pytest.raises(Conflict):
        lead_cases.create_queue_from_cases(
            team=team_a, cases=three_cases[:1], name="Week 48", created_by=lead
        )
    with pytest.raises(Conflict):
        lead_cases.create_queue_from_cases(
            team=team_a, cases=[three_cases[2]], name="Closed only", created_by=lead
        )


@pytest.mark.parametrize("action", ["assign", "priority", "queue", "close"])
def test_bulk_actions_refuse_moderators_and_change_nothing(team_a, moderator, lead, three_cases, action):
    before = AuditEvent.objects.count()
    with pytest.raises(NotAllowed):
        if action == "assign":
            lead_cases.bulk_assign_lead(team=team_a, cases=three_cases, lead=moderator, assigned_by=moderator)
        elif action == "priority":
            lead_cases.bulk_set_priority(
                team=team_a, cases=three_cases, priority=Priority.LOW, set_by=moderator
            )
        elif action == "queue":
            lead_cases.create_queue_from_cases(team=team_a, cases=three_cases, name="x", created_by=moderator)
        else:
            lead_cases.bulk_close(team=team_a, cases=three_cases, lead=moderator, reason="x")
    assert AuditEvent.objects.count() == before


def test_bulk_actions_refuse_another_teams_case_in_the_list_and_change_nothing(
    team_a, lead, three_cases, case_b
):
    with pytest.raises(InvalidInput, match="No such case"):
        lead_cases.bulk_set_priority(
            team=team_a, cases=[*three_cases, case_b], priority=Priority.LOW, set_by=lead
        )
    case_b.refresh_from_db()
    assert case_b.priority == Priority.NORMAL
    assert not events("case.priority_changed")


def test_bulk_actions_refuse_an_outsider_lead(team_a, outsider_lead, three_cases):
    with pytest.raises(NotAllowed):
        lead_cases.bulk_close(team=team_a, cases=three_cases, lead=outsider_lead, reason="x")


def test_bulk_assign_lead_refuses_a_lead_from_another_team(team_a, lead, outsider, three_cases):
    with pytest.raises(InvalidInput):
        lead_cases.bulk_assign_lead(team=team_a, cases=three_cases, lead=outsider, assigned_by=lead)


def test_bulk_action_is_all_or_nothing(team_a, lead, three_cases):
    """A failure part-way (here: an invalid priority) leaves every case as it was."""
    with pytest.raises(InvalidInput):
        lead_cases.bulk_set_priority(team=team_a, cases=three_cases, priority=9, set_by=lead)
    assert {c.priority for c in type(three_cases[0]).objects.filter(pk__in=[c.pk for c in three_cases])} == {
        Priority.NORMAL
    }


def test_saved_filters_are_per_user_overwrite_by_name_and_audit(team_a, lead, moderator):
    first = lead_cases.save_filter(team=team_a, user=lead, name="Mine", query="status=open")
    again = lead_cases.save_filter(team=team_a, user=lead, name="Mine", query="status=closed")
    assert first.pk == again.pk and again.query == "status=closed"
    lead_cases.save_filter(team=team_a, user=moderator, name="Mine", query="stale=1")
    assert SavedFilter.objects.filter(name="Mine").count() == 2
    assert len(events("filter.saved")) == 3
    with pytest.raises(NotAllowed):
        lead_cases.delete_filter(saved=again, user=moderator)
    lead_cases.delete_filter(saved=again, user=lead)
    assert len(events("filter.deleted")) == 1
    with pytest.raises(InvalidInput):
        lead_cases.save_filter(team=team_a, user=lead, name=" ", query="")


def test_saved_filter_refuses_non_members(team_a, outsider):
    with pytest.raises(NotAllowed):
        lead_cases.save_filter(team=team_a, user=outsider, name="x", query="")


def test_reviewer_list_limits_claims_and_is_audited(lead_queue, lead, moderator, moderator_2):
    lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=moderator_2, added_by=lead)
    with pytest.raises(Conflict):
        lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=moderator_2, added_by=lead)
    with pytest.raises(NotAllowed, match="reviewer list"):
        claim_next_item(queue=lead_queue, user=moderator)
    assert claim_next_item(queue=lead_queue, user=moderator_2) is not None
    lead_cases.remove_queue_reviewer(queue=lead_queue, reviewer=moderator_2, removed_by=lead)
    assert not QueueReviewer.objects.filter(queue=lead_queue).exists()
    # No list again: every member may claim.
    assert claim_next_item(queue=lead_queue, user=moderator) is not None
    assert len(events("queue.reviewer_added")) == 1 and len(events("queue.reviewer_removed")) == 1


def test_reviewer_list_changes_are_leads_only_and_members_only(lead_queue, lead, moderator, outsider):
    with pytest.raises(NotAllowed):
        lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=moderator, added_by=moderator)
    with pytest.raises(InvalidInput):
        lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=outsider, added_by=lead)
    with pytest.raises(Conflict):
        lead_cases.remove_queue_reviewer(queue=lead_queue, reviewer=moderator, removed_by=lead)


def test_set_queue_priority_changes_pending_items_with_one_event(lead_queue, lead, moderator):
    n = lead_cases.set_queue_priority(queue=lead_queue, priority=7, set_by=lead)
    pending = QueueItem.objects.filter(queue=lead_queue, is_done=False)
    assert n == pending.count() > 0
    assert set(pending.values_list("priority", flat=True)) == {7}
    assert len(events("queue.priority_changed")) == 1
    assert lead_cases.set_queue_priority(queue=lead_queue, priority=7, set_by=lead) == 0
    assert len(events("queue.priority_changed")) == 1
    with pytest.raises(NotAllowed):
        lead_cases.set_queue_priority(queue=lead_queue, priority=1, set_by=moderator)
    with pytest.raises(InvalidInput):
        lead_cases.set_queue_priority(queue=lead_queue, priority=40000, set_by=lead)


def test_release_stale_leases_marks_lapsed_leases_expired(lead_queue, lead, moderator):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        claim_next_item(queue=lead_queue, user=moderator)
    with time_machine.travel(start + datetime.timedelta(minutes=lead_queue.lease_minutes + 1), tick=False):
        with pytest.raises(NotAllowed):
            lead_cases.release_stale_leases(queue=lead_queue, user=moderator)
        assert lead_cases.release_stale_leases(queue=lead_queue, user=lead) == 1
    assert Assignment.objects.get().state == AssignmentState.EXPIRED
    assert len(events("queue.leases_expired")) == 1


def test_release_lease_by_a_lead_frees_a_live_lease(lead_queue, lead, moderator, moderator_2):
    lease = claim_next_item(queue=lead_queue, user=moderator)
    with pytest.raises(NotAllowed):
        lead_cases.release_lease(assignment=lease, user=moderator_2)
    lead_cases.release_lease(assignment=lease, user=lead)
    lease.refresh_from_db()
    assert lease.state == AssignmentState.RELEASED
    assert len(events("queue.item_released")) == 1
