"""A case's life: open → in_review → decided → closed, reopened to in_review with a reason.

| from      | to        | how                                   | who                       |
| --------- | --------- | ------------------------------------- | ------------------------- |
| open      | in_review | ``set_case_status``, or the first     | any member                |
|           |           | label or vote on the case             |                           |
| in_review | decided   | ``decisions.decide_attribution`` only | lead / admin              |
| open,     | closed    | ``close_case`` (reason required)      | lead / admin              |
| in_review,|           |                                       |                           |
| decided   |           |                                       |                           |
| decided,  | in_review | ``decisions.reopen_case`` (reason     | lead / admin              |
| closed    |           | required; withdraws the decision)     |                           |

Nothing goes back to ``open``. Closing an open or in-review case is how a lead dismisses a case
that turned out to be nothing, without an attribution.

Every write to a case's status takes the case row lock (``lock_case``) first, so a label or vote
cannot slip in beside a decision or a close, and two leads cannot both move the same case.
"""

from django.db import transaction

from cases.errors import Conflict, InvalidInput
from cases.models import Case, CaseStatus, Membership, Priority

from .access import LEAD_ROLES, require_member
from .audit import record_event

TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.IN_REVIEW, CaseStatus.CLOSED}),
    CaseStatus.IN_REVIEW: frozenset({CaseStatus.DECIDED, CaseStatus.CLOSED}),
    CaseStatus.DECIDED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_REVIEW}),
    CaseStatus.CLOSED: frozenset({CaseStatus.IN_REVIEW}),
}
REVIEWABLE = (CaseStatus.OPEN, CaseStatus.IN_REVIEW)


def lock_case(case: Case) -> Case:
    """Lock the case row until the transaction ends and load its current status into ``case``.

    FOR NO KEY UPDATE, not FOR UPDATE: rows that point at the case (evidence, accounts, labels)
    can still be inserted by others meanwhile; only other status writers and reviewers wait.
    A no-op on SQLite, where the IMMEDIATE transaction already holds the database's write lock.
    """
    case.status = Case.objects.select_for_update(no_key=True).values_list("status", flat=True).get(pk=case.pk)
    return case


def require_reviewable(case: Case, what: str) -> None:
    """Conflict unless the (locked) case still takes labels and votes."""
    if case.status not in REVIEWABLE:
        raise Conflict(
            f"The case is {case.get_status_display().lower()}; {what} can no longer be changed. "
            "A lead can reopen it."
        )


def move_case(case: Case, to: str) -> dict[str, list[str]]:
    """Move a locked case to ``to`` if the transition is allowed; the change, for the audit event."""
    if to not in TRANSITIONS[case.status]:
        here, there = CaseStatus(case.status).label.lower(), CaseStatus(to).label.lower()
        if case.status == to:
            raise Conflict(f"The case is already {here}.")
        raise Conflict(f"A case that is {here} cannot become {there}.")
    before = case.status
    case.status = to
    case.save(update_fields=["status", "updated_at"])
    return {"status": [before, to]}


def start_review(case: Case) -> dict[str, list[str]]:
    """The first label or vote on an open (locked) case puts it in review; otherwise nothing."""
    if case.status == CaseStatus.OPEN:
        return move_case(case, CaseStatus.IN_REVIEW)
    return {}


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"Say why the case is {what}.", fields={"reason": ["This field is required."]})
    return reason


@transaction.atomic
def set_case_status(*, case: Case, status: str, user, reason: str = "") -> Case:
    """Move a case along its life (see the module's table). ``decided`` is refused here: a case is
    decided by ``decide_attribution``, which records the actor. Closing and reopening go through
    ``close_case`` and ``reopen_case`` and need a lead and a reason. Locks the case row."""
    if status not in CaseStatus.values:
        raise InvalidInput(f"'{status}' is not a case status.", fields={"status": ["Unknown status."]})
    if status == CaseStatus.DECIDED:
        raise InvalidInput("A case is decided by recording an attribution decision.")
    if status == CaseStatus.CLOSED:
        return close_case(case=case, lead=user, reason=reason)
    require_member(user, case.team)
    lock_case(case)
    if status == CaseStatus.IN_REVIEW and case.status in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        # decisions imports this module for the lock and the table; import it here, not at the top.
        from .decisions import reopen_case

        return reopen_case(case=case, lead=user, reason=reason)
    change = move_case(case, status)
    record_event(team=case.team, user=user, verb="case.status_changed", target=case, data=change)
    return case


@transaction.atomic
def close_case(*, case: Case, lead, reason: str) -> Case:
    """Close a case, with a reason. Leads only. A standing decision stays standing; an open or
    in-review case closes without one. Locks the case row."""
    require_member(lead, case.team, roles=LEAD_ROLES)
    reason = _require_reason(reason, "closed")
    lock_case(case)
    change = move_case(case, CaseStatus.CLOSED)
    record_event(
        team=case.team, user=lead, verb="case.closed", target=case, data={**change, "reason": reason}
    )
    return case


@transaction.atomic
def assign_lead(*, case: Case, lead, assigned_by) -> Case:
    """Make ``lead`` (a member of the case's team, any role; None to unassign) the case's lead.
    Leads only. Locks the case row so the audit event's old value is the real one."""
    require_member(assigned_by, case.team, roles=LEAD_ROLES)
    if lead is not None and not Membership.objects.filter(user=lead, team=case.team).exists():
        # Same words for a user of another team and one that does not exist.
        raise InvalidInput("No such user in this team.", fields={"lead": ["Choose a member of the team."]})
    lock_case(case)
    before = Case.objects.values_list("lead_id", flat=True).get(pk=case.pk)
    after = lead.pk if lead is not None else None
    if before == after:
        return case
    case.lead = lead
    case.save(update_fields=["lead", "updated_at"])
    record_event(
        team=case.team,
        user=assigned_by,
        verb="case.lead_assigned",
        target=case,
        data={"lead": [before, after]},
    )
    return case


@transaction.atomic
def set_case_priority(*, case: Case, priority: int, set_by) -> Case:
    """Set a case's priority. Any member may triage. Queue items keep their own priority (a lead
    sets those with ``set_item_priority``). Locks the case row."""
    require_member(set_by, case.team)
    if priority not in Priority.values:
        raise InvalidInput("Unknown priority.", fields={"priority": [f"Choose one of {Priority.values}."]})
    lock_case(case)
    before = Case.objects.values_list("priority", flat=True).get(pk=case.pk)
    if before == priority:
        return case
    case.priority = priority
    case.save(update_fields=["priority", "updated_at"])
    record_event(
        team=case.team,
        user=set_by,
        verb="case.priority_changed",
        target=case,
        data={"priority": [before, priority]},
    )
    return case
