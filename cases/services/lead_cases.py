"""The lead console's writes: bulk actions on the case queue, saved filters, the queue
monitor's controls (stale leases, priorities, reviewers), and the refresh of the case queue's
stored columns (``refresh_case_queue_stats``, derived data, no audit event).

Bulk actions are all-or-nothing: one transaction, the cases locked in id order (so two leads'
overlapping bulk actions cannot deadlock), and one audit event per case that changed — each case
goes through the same single-case service a lead would use on the case page, which records it.
A case the action would not change (already led by that lead, already closed) is left alone and
records nothing. Every case must be of the team named; the views refuse a mixed list with a 404
before any of this runs, and the services refuse it again (InvalidInput) in case a caller did not.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, transaction
from django.utils import timezone

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.lead_selectors import compute_case_queue_columns
from cases.models import (
    AccountKind,
    Adjudication,
    Assignment,
    AttributionDecision,
    AttributionVote,
    AuditEvent,
    Case,
    CaseAccount,
    CaseQueueStats,
    CaseQueueWatermark,
    CaseStatus,
    Evidence,
    Label,
    Membership,
    Priority,
    Queue,
    QueueItem,
    QueueReviewer,
    SavedFilter,
    SimilaritySuggestion,
    Team,
)

from .access import LEAD_ROLES, require_member
from .audit import record_event
from .case_status import assign_lead, close_case, set_case_priority
from .queues import (
    ITEM_PRIORITY_RANGE,
    refresh_queue_statistics,
    release_expired_leases,
    release_item,
    set_item_priority,
)

MAX_BULK = 500


def _checked(team: Team, cases: Sequence[Case], user) -> list[Case]:
    """Leads only; every case the team's; de-duplicated and in id order (the lock order)."""
    require_member(user, team, roles=LEAD_ROLES)
    unique = {case.pk: case for case in cases}
    if not unique:
        raise InvalidInput("Select at least one case.", fields={"cases": ["Select at least one case."]})
    if len(unique) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} cases at once.", fields={"cases": ["Too many."]})
    if any(case.team_id != team.pk for case in unique.values()):
        # Same words as a missing case: another team's ids reveal nothing.
        raise InvalidInput("No such case.", fields={"cases": ["No such case."]})
    return [unique[pk] for pk in sorted(unique)]


@transaction.atomic
def bulk_assign_lead(*, team: Team, cases: Sequence[Case], lead, assigned_by) -> list[Case]:
    """Make ``lead`` (a member of the team, or None to unassign) the lead of every case.
    Leads only. Returns the cases that changed. Locks each case row, in id order."""
    checked = _checked(team, cases, assigned_by)
    if lead is not None and not Membership.objects.filter(user=lead, team=team).exists():
        raise InvalidInput("No such user in this team.", fields={"lead": ["Choose a member of the team."]})
    changed = []
    for case in checked:
        before = case.lead_id
        assign_lead(case=case, lead=lead, assigned_by=assigned_by)
        if Case.objects.values_list("lead_id", flat=True).get(pk=case.pk) != before:
            changed.append(case)
    return changed


@transaction.atomic
def bulk_set_priority(*, team: Team, cases: Sequence[Case], priority: int, set_by) -> list[Case]:
    """Set the priority of every case. Leads only (any member may triage one case on its page;
    changing many at once is a lead's call). Returns the cases that changed. Locks each case."""
    checked = _checked(team, cases, set_by)
    if priority not in Priority.values:
        raise InvalidInput("Unknown priority.", fields={"priority": [f"Choose one of {Priority.values}."]})
    changed = []
    for case in checked:
        before = Case.objects.values_list("priority", flat=True).get(pk=case.pk)
        set_case_priority(case=case, priority=priority, set_by=set_by)
        if before != priority:
            changed.append(case)
    return changed


@transaction.atomic
def bulk_close(*, team: Team, cases: Sequence[Case], lead, reason: str) -> list[Case]:
    """Close every case with one reason, through ``close_case`` (the reason is required; a standing
    decision stays standing). Cases already closed are left as they are. Leads only. Returns the
    cases that changed. Locks each case row, in id order."""
    checked = _checked(team, cases, lead)
    if not (reason or "").strip():
        raise InvalidInput("Say why the cases are closed.", fields={"reason": ["This field is required."]})
    closed = set(
        Case.objects.filter(pk__in=[c.pk for c in checked], status=CaseStatus.CLOSED).values_list(
            "pk", flat=True
        )
    )
    changed = []
    for case in checked:
        if case.pk in closed:
            continue
        close_case(case=case, lead=lead, reason=reason)
        changed.append(case)
    return changed


@transaction.atomic
def create_queue_from_cases(
    *,
    team: Team,
    cases: Sequence[Case],
    name: str,
    created_by,
    labels_per_item: int = 1,
    lease_minutes: int = 30,
) -> Queue:
    """One review queue over the suspect accounts of several cases: an item per (case, suspect
    account), each at its case's priority. Only cases still open or in review are queued (a
    decided or closed case takes no labels: Conflict if none is left). Leads only.

    Records ``queue.created`` on the queue and ``case.queued`` on every case queued.
    """
    checked = _checked(team, cases, created_by)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A queue needs a name.", fields={"name": ["This field is required."]})
    if not 1 <= labels_per_item <= 20:
        raise InvalidInput(
            "Labels per item must be between 1 and 20.", fields={"labels_per_item": ["1 to 20."]}
        )
    if lease_minutes < 1:
        raise InvalidInput("A lease lasts at least one minute.", fields={"lease_minutes": ["At least 1."]})
    reviewable = [c for c in checked if c.status in (CaseStatus.OPEN, CaseStatus.IN_REVIEW)]
    if not reviewable:
        raise Conflict(
            "None of the selected cases is open or in review; a decided or closed case takes no labels."
        )
    if Queue.objects.filter(team=team, name=name).exists():
        raise Conflict(f"A queue named '{name}' already exists in this team.")
    queue = Queue.objects.create(
        team=team,
        case=reviewable[0] if len(reviewable) == 1 else None,
        name=name,
        labels_per_item=labels_per_item,
        lease_minutes=lease_minutes,
        created_by=created_by,
    )
    by_case = {c.pk: c for c in reviewable}
    links = CaseAccount.objects.filter(case__in=reviewable, account__kind=AccountKind.SUSPECT).order_by(
        "case_id", "added_at", "pk"
    )
    items = QueueItem.objects.bulk_create(
        [
            QueueItem(
                queue=queue,
                case_id=link.case_id,
                account_id=link.account_id,
                priority=by_case[link.case_id].priority,
            )
            for link in links
        ]
    )
    refresh_queue_statistics(len(items))
    per_case: dict[int, int] = {}
    for item in items:
        per_case[item.case_id] = per_case.get(item.case_id, 0) + 1
    record_event(
        team=team,
        user=created_by,
        verb="queue.created",
        target=queue,
        data={
            "name": queue.name,
            "cases": [c.pk for c in reviewable],
            "labels_per_item": labels_per_item,
            "lease_minutes": lease_minutes,
            "items": len(items),
        },
    )
    for case in reviewable:
        record_event(
            team=team,
            user=created_by,
            verb="case.queued",
            target=case,
            data={"queue": queue.pk, "queue_name": queue.name, "items": per_case.get(case.pk, 0)},
        )
    return queue


# --- saved filters -----------------------------------------------------------------------------


@transaction.atomic
def save_filter(*, team: Team, user, name: str, query: str) -> SavedFilter:
    """Save (or overwrite, by name) one of the user's case-queue filters. Any member of the team
    may keep filters of their own; the query is stored as given (the caller normalises it)."""
    if user is None:
        raise NotAllowed("Filters are saved by a signed-in user.")
    require_member(user, team)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Name the filter.", fields={"name": ["This field is required."]})
    if len(name) > 100:
        raise InvalidInput("A filter name is at most 100 characters.", fields={"name": ["Too long."]})
    if len(query) > 1000:
        raise InvalidInput("That filter is too long to save.", fields={"query": ["Too long."]})
    saved = SavedFilter.objects.select_for_update().filter(user=user, team=team, name=name).first()
    before = saved.query if saved else None
    if saved is None:
        saved = SavedFilter.objects.create(user=user, team=team, name=name, query=query)
    elif saved.query != query:
        saved.query = query
        saved.save(update_fields=["query", "updated_at"])
    else:
        return saved
    record_event(
        team=team, user=user, verb="filter.saved", target=saved, data={"name": name, "query": [before, query]}
    )
    return saved


@transaction.atomic
def delete_filter(*, saved: SavedFilter, user) -> None:
    """Delete one of the user's own saved filters (NotAllowed for anyone else's)."""
    if user is None or saved.user_id != user.pk:
        raise NotAllowed("You can delete only your own filters.")
    record_event(
        team=saved.team,
        user=user,
        verb="filter.deleted",
        target=saved,
        data={"name": saved.name, "query": saved.query},
    )
    saved.delete()


# --- queue monitor controls --------------------------------------------------------------------


def release_stale_leases(*, queue: Queue, user) -> int:
    """Mark the queue's lapsed leases expired so the monitor and the rows agree. Leads only.
    ``release_expired_leases`` does the work and records one event for the queue."""
    return release_expired_leases(queue=queue, user=user)


def release_lease(*, assignment: Assignment, user) -> Assignment:
    """A lead frees an item a reviewer still holds (the reviewer left, or is stuck)."""
    require_member(user, assignment.item.queue.team, roles=LEAD_ROLES)
    return release_item(assignment=assignment, user=user)


def change_item_priority(*, item: QueueItem, priority: int, set_by) -> QueueItem:
    return set_item_priority(item=item, priority=priority, set_by=set_by)


@transaction.atomic
def set_queue_priority(*, queue: Queue, priority: int, set_by) -> int:
    """Give every pending item of the queue one priority (higher is claimed first). Leads only.
    One audit event on the queue with the items' old priorities. Locks the pending items."""
    require_member(set_by, queue.team, roles=LEAD_ROLES)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority not in ITEM_PRIORITY_RANGE:
        raise InvalidInput(
            "Priority must be a whole number from -32768 to 32767.", fields={"priority": ["Out of range."]}
        )
    rows = list(
        QueueItem.objects.select_for_update()
        .filter(queue=queue, is_done=False)
        .exclude(priority=priority)
        .order_by("pk")
        .values_list("pk", "priority")
    )
    if not rows:
        return 0
    QueueItem.objects.filter(pk__in=[pk for pk, _ in rows]).update(priority=priority)
    record_event(
        team=queue.team,
        user=set_by,
        verb="queue.priority_changed",
        target=queue,
        data={"priority": priority, "items": len(rows), "before": {str(pk): p for pk, p in rows}},
    )
    return len(rows)


@transaction.atomic
def add_queue_reviewer(*, queue: Queue, reviewer, added_by) -> QueueReviewer:
    """Put a member of the queue's team on its reviewer list. Leads only. Once a queue has a
    reviewer list, only the reviewers on it may claim its items. Adding twice is a Conflict."""
    require_member(added_by, queue.team, roles=LEAD_ROLES)
    if reviewer is None or not Membership.objects.filter(user=reviewer, team=queue.team).exists():
        raise InvalidInput(
            "No such user in this team.", fields={"reviewer": ["Choose a member of the team."]}
        )
    Queue.objects.select_for_update().filter(pk=queue.pk).first()  # one reviewer-list change at a time
    if QueueReviewer.objects.filter(queue=queue, user=reviewer).exists():
        raise Conflict(f"{reviewer.get_username()} already reviews this queue.")
    row = QueueReviewer.objects.create(queue=queue, user=reviewer, added_by=added_by)
    record_event(
        team=queue.team,
        user=added_by,
        verb="queue.reviewer_added",
        target=queue,
        data={"reviewer": reviewer.pk},
    )
    return row


@transaction.atomic
def remove_queue_reviewer(*, queue: Queue, reviewer, removed_by) -> None:
    """Take a reviewer off the queue's list. Leases they hold run on until they end. Leads only."""
    require_member(removed_by, queue.team, roles=LEAD_ROLES)
    Queue.objects.select_for_update().filter(pk=queue.pk).first()
    deleted, _ = QueueReviewer.objects.filter(queue=queue, user=reviewer).delete()
    if not deleted:
        raise Conflict("That user is not on this queue's reviewer list.")
    record_event(
        team=queue.team,
        user=removed_by,
        verb="queue.reviewer_removed",
        target=queue,
        data={"reviewer": reviewer.pk},
    )


# --- the case queue's computed columns ---------------------------------------------------------

# Events newer than this are read again on the next refresh: a transaction that wrote an event
# with a lower id may commit after a later one was read. Recomputing a case twice is harmless.
SETTLE = datetime.timedelta(seconds=60)
# Above this many changed cases, recompute the whole team in one pass instead of by ids.
WHOLE_TEAM_ABOVE = 500
# Events that change similarity suggestions in bulk (a sweep): every case's count may move.
_BULK_SUGGESTION_VERBS = ("similarity.sweep_completed", "import.completed")


def _cases_touched(team: Team, events: list[tuple[int, str, str]]) -> set[int]:
    """The ids of the cases whose queue columns the events may have changed."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for _, target_type, target_id in events:
        if target_id.isdigit():
            by_type[target_type].add(int(target_id))
    touched = set(by_type.pop(Case._meta.label_lower, set()))
    for model in (Label, AttributionVote, AttributionDecision, Evidence, Adjudication):
        ids = by_type.pop(model._meta.label_lower, None)
        if ids:
            touched |= set(
                model.objects.filter(pk__in=ids, case__team=team).values_list("case_id", flat=True)
            )
    suggestions = by_type.pop(SimilaritySuggestion._meta.label_lower, None)
    if suggestions:
        accounts = set()
        for a, b in SimilaritySuggestion.objects.filter(pk__in=suggestions, team=team).values_list(
            "account_a_id", "account_b_id"
        ):
            accounts |= {a, b}
        touched |= set(
            CaseAccount.objects.filter(account_id__in=accounts, case__team=team).values_list(
                "case_id", flat=True
            )
        )
    return touched


def refresh_case_queue_stats(*, team: Team, now: datetime.datetime | None = None) -> int:
    """Bring the team's ``CaseQueueStats`` rows up to date; how many rows were rebuilt.

    Reads the team's audit trail past the watermark — every write in this app records an event,
    so a label, vote, decision, adjudication, evidence item, suggestion or case change names what
    it touched — and rebuilds the rows of those cases, plus any case that has no row yet, with one
    set-based query. A sweep or import recomputes the whole team. Derived data: no audit event.
    Locks the team's watermark row, so concurrent page views refresh one after the other (the
    second finds nothing left to do).
    """
    now = now or timezone.now()
    # Most views find nothing to do: say so in one query, without a transaction or a lock. A
    # case made without an event (a bulk import) has no row yet: the counts tell.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (SELECT 1 FROM {AuditEvent._meta.db_table} a
                           WHERE a.team_id = w.team_id AND a.id > w.last_event_id),
                   (SELECT COUNT(*) FROM {Case._meta.db_table} c WHERE c.team_id = w.team_id)
                   - (SELECT COUNT(*) FROM {CaseQueueStats._meta.db_table} s WHERE s.team_id = w.team_id)
            FROM {CaseQueueWatermark._meta.db_table} w WHERE w.team_id = %s
            """,  # noqa: S608 (table names only)
            [team.pk],
        )
        row = cursor.fetchone()
    if row is not None and not row[0] and row[1] == 0:
        return 0
    with transaction.atomic():
        mark = CaseQueueWatermark.objects.select_for_update().filter(team=team).first()
        if mark is None:  # the team's first view; get_or_create absorbs a concurrent first view
            CaseQueueWatermark.objects.get_or_create(team=team)
            mark = CaseQueueWatermark.objects.select_for_update().get(team=team)
        events = list(
            AuditEvent.objects.filter(team=team, pk__gt=mark.last_event_id)
            .order_by("pk")
            .values_list("pk", "target_type", "target_id", "verb", "at")
        )
        whole = any(verb in _BULK_SUGGESTION_VERBS for _, _, _, verb, _ in events)
        touched: set[int] = set()
        if not whole:
            touched = _cases_touched(team, [(pk, t, i) for pk, t, i, _, _ in events])
            touched |= set(
                Case.objects.filter(team=team, queue_stats__isnull=True).values_list("pk", flat=True)
            )
            whole = len(touched) > WHOLE_TEAM_ABOVE
        if whole:
            ids = list(Case.objects.filter(team=team).values_list("pk", flat=True))
            columns = compute_case_queue_columns(team=team)
        else:
            ids = sorted(touched)
            columns = compute_case_queue_columns(team=team, case_ids=ids)
        if ids:
            CaseQueueStats.objects.filter(case_id__in=ids).delete()
            CaseQueueStats.objects.bulk_create(
                [_stats_row(team, pk, columns.get(pk), now) for pk in ids], batch_size=2000
            )
        settled = [pk for pk, _, _, _, at in events if at <= now - SETTLE]
        if settled and max(settled) > mark.last_event_id:
            mark.last_event_id = max(settled)
        mark.refreshed_at = now
        mark.save(update_fields=["last_event_id", "refreshed_at"])
    return len(ids)


def _stats_row(team: Team, case_id: int, values: tuple | None, now: datetime.datetime) -> CaseQueueStats:
    if values is None:
        return CaseQueueStats(case_id=case_id, team=team, refreshed_at=now)
    agreement, conflicts, actor_id, name, share, votes, decided, suggestions, activity = values
    return CaseQueueStats(
        case_id=case_id,
        team=team,
        agreement=agreement,
        conflicts=conflicts or 0,
        consensus_actor_id=actor_id,
        consensus_name=(name or "")[:200],
        consensus_share=share,
        vote_count=votes or 0,
        decided_confidence=decided or "",
        open_suggestions=suggestions or 0,
        activity_at=activity,
        refreshed_at=now,
    )
