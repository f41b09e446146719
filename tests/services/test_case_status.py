"""A case's status moves only along its allowed transitions; leads close, reopen and assign."""

import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import CaseStatus, Priority
from cases.services.case_status import assign_lead, close_case, set_case_priority, set_case_status
from tests.factories import CaseFactory
from tests.services.review_support import NewEvents, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(team_a):
    return CaseFactory(team=team_a)


def test_any_member_may_start_the_review(case, moderator):
    with NewEvents() as new:
        set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=moderator)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    [event] = new.events
    assert (event.verb, event.user, event.data) == (
        "case.status_changed",
        moderator,
        {"status": ["open", "in_review"]},
    )


def test_a_case_is_decided_only_by_a_decision(case, lead):
    with pytest.raises(InvalidInput, match="attribution decision"):
        set_case_status(case=case, status=CaseStatus.DECIDED, user=lead)


@pytest.mark.parametrize("start", [CaseStatus.IN_REVIEW, CaseStatus.DECIDED, CaseStatus.CLOSED])
def test_nothing_goes_back_to_open(case, lead, start):
    case.status = start
    case.save()
    with pytest.raises(Conflict):
        set_case_status(case=case, status=CaseStatus.OPEN, user=lead, reason="r")


def test_unknown_status_is_refused(case, lead):
    with pytest.raises(InvalidInput):
        set_case_status(case=case, status="archived", user=lead)


def test_starting_a_review_twice_is_a_conflict(case, moderator):
    set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=moderator)
    with pytest.raises(Conflict, match="already in review"):
        set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=moderator)


@pytest.mark.parametrize("start", [CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.DECIDED])
def test_a_lead_closes_a_case_with_a_reason(case, lead, start):
    case.status = start
    case.save()
    with NewEvents() as new:
        close_case(case=case, lead=lead, reason="Accounts are authentic fans")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    [event] = new.events
    assert event.verb == "case.closed"
    assert event.data == {"status": [start, "closed"], "reason": "Accounts are authentic fans"}


def test_closing_needs_a_lead_and_a_reason(case, lead, moderator):
    with pytest.raises(NotAllowed):
        close_case(case=case, lead=moderator, reason="done")
    with pytest.raises(NotAllowed):
        set_case_status(case=case, status=CaseStatus.CLOSED, user=moderator, reason="done")
    with pytest.raises(InvalidInput):
        close_case(case=case, lead=lead, reason="")
    close_case(case=case, lead=lead, reason="done")
    with pytest.raises(Conflict, match="already closed"):
        close_case(case=case, lead=lead, reason="again")


def test_a_closed_case_reopens_through_set_case_status_with_a_reason(case, lead, moderator):
    close_case(case=case, lead=lead, reason="done")
    with pytest.raises(NotAllowed):
        set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=moderator, reason="more accounts")
    with pytest.raises(InvalidInput):
        set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=lead)
    with NewEvents() as new:
        set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=lead, reason="More accounts surfaced")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert new.verbs == ["case.reopened"]


# --- lead and priority -------------------------------------------------------------------------


def test_a_lead_assigns_a_member_as_the_cases_lead(case, lead, moderator):
    with NewEvents() as new:
        assign_lead(case=case, lead=moderator, assigned_by=lead)
    case.refresh_from_db()
    assert case.lead == moderator
    [event] = new.events
    assert (event.verb, event.data) == ("case.lead_assigned", {"lead": [None, moderator.pk]})
    assign_lead(case=case, lead=None, assigned_by=lead)
    case.refresh_from_db()
    assert case.lead is None


def test_assigning_a_lead_is_for_leads_and_only_to_members(case, lead, moderator, outsider):
    with pytest.raises(NotAllowed):
        assign_lead(case=case, lead=moderator, assigned_by=moderator)
    with pytest.raises(InvalidInput, match=r"^No such user in this team\.$"):
        assign_lead(case=case, lead=outsider, assigned_by=lead)
    with pytest.raises(NotAllowed):
        assign_lead(case=case, lead=lead, assigned_by=outsider)


def test_any_member_sets_the_priority_within_range(case, moderator):
    with NewEvents() as new:
        set_case_priority(case=case, priority=Priority.URGENT, set_by=moderator)
    case.refresh_from_db()
    assert case.priority == Priority.URGENT
    [event] = new.events
    assert (event.verb, event.data) == (
        "case.priority_changed",
        {"priority": [Priority.NORMAL, Priority.URGENT]},
    )
    with pytest.raises(InvalidInput):
        set_case_priority(case=case, priority=9, set_by=moderator)


def test_the_same_priority_or_lead_again_writes_nothing(case, lead):
    with NewEvents() as new:
        set_case_priority(case=case, priority=case.priority, set_by=lead)
        assign_lead(case=case, lead=None, assigned_by=lead)
    assert new.events == []


def test_outsiders_change_nothing(case, outsider):
    calls = [
        lambda: set_case_status(case=case, status=CaseStatus.IN_REVIEW, user=outsider),
        lambda: close_case(case=case, lead=outsider, reason="r"),
        lambda: set_case_priority(case=case, priority=Priority.HIGH, set_by=outsider),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            call()
    case.refresh_from_db()
    assert (case.status, case.priority) == (CaseStatus.OPEN, Priority.NORMAL)


def test_a_second_lead_of_the_team_may_close(case, team_a):
    other_lead = member(team_a, "lead")
    close_case(case=case, lead=other_lead, reason="dup of another case")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
