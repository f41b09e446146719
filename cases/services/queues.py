"""Review queues: leases on items, handed out so that two reviewers never hold the same item
unless the queue asks for more labels per item and neither has labelled it.

Locking, in one place:

* Every change to an item's leases or counts (a claim, a release, a skip, a completion, marking
  a lapsed lease expired) happens while holding **that item's row lock**. Whatever is read under
  the lock — the live leases, ``label_count`` — cannot change until commit; that is what makes
  "room left" exact.
* ``claim_next_item`` first locks **the claimer's membership row**, so one user's concurrent
  claims (a double click, two tabs) queue up and the second gets the lease the first took.
* PostgreSQL: the next item is found with ``SELECT … FOR UPDATE OF queueitem SKIP LOCKED``: a
  claimer never waits on an item another claimer is looking at, it takes the next one. Because
  the candidate query's snapshot may predate a lease committed a moment ago, the room is
  checked again under the lock with fresh reads (READ COMMITTED: each statement sees what is
  committed when it starts).
* SQLite has no row locks or SKIP LOCKED. It has one writer at a time: the settings open every
  transaction with BEGIN IMMEDIATE, which takes the write lock up front. The claim still does
  a compare-and-set — a conditional ``UPDATE … WHERE id = ? AND NOT is_done`` on the item —
  before checking the room, so it stays correct under a deferred BEGIN too (a write after a
  stale read fails with SQLITE_BUSY rather than double-assigning).
* Order: membership → item → assignment. Case rows are locked before items (``submit_label``);
  no path locks an item and then waits for a case.

Fencing: a lease is live while ``state == active`` and ``now < expires_at``. Release, skip and
complete need a live lease held by the caller; a lapsed or ended one is a Conflict, so a holder
whose lease ran out cannot complete over the reviewer who took the item next. Lapsed leases are
marked ``expired`` lazily (when a claim touches their item) and by ``release_expired_leases``.
"""

import datetime
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import (
    AccountKind,
    Assignment,
    AssignmentState,
    Case,
    Label,
    Membership,
    Queue,
    QueueItem,
    QueueReviewer,
)
from cases.review_selectors import REVIEWABLE_STATUSES, claimable_items, live_lease_q

from .access import LEAD_ROLES, require_member
from .audit import record_event

# The priorities a queue item may take: the range of its SMALLINT column.
ITEM_PRIORITY_RANGE = range(-32768, 32768)
# A queue created with at least this many items refreshes the planner's statistics of the item
# table once committed: until autovacuum analyses the new rows (about a minute), PostgreSQL plans
# a claim as if the queue were empty and scans it (~95 ms a claim at 2,000 items; 0.15 ms after).
ANALYZE_AFTER_ITEMS = 1_000


def refresh_queue_statistics(items: int) -> None:
    """After a bulk queue creation commits, ``ANALYZE`` the queue item table (PostgreSQL only,
    large queues only; a failure is logged, never the request's)."""
    if items >= ANALYZE_AFTER_ITEMS and connection.vendor == "postgresql":
        transaction.on_commit(_analyze_queue_items, robust=True)


def _analyze_queue_items() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {QueueItem._meta.db_table}")


@transaction.atomic
def create_queue_from_case(
    *,
    case: Case,
    name: str,
    created_by=None,
    labels_per_item: int = 1,
    lease_minutes: int = 30,
) -> Queue:
    """A review queue with one item per suspect account on the case. Leads only.

    Reference accounts (the real outlets that were copied) are not queued: there is nothing
    to decide about them.
    """
    require_member(created_by, case.team, roles=LEAD_ROLES)
    if not name.strip():
        raise InvalidInput("A queue needs a name.", fields={"name": ["This field is required."]})
    if not 1 <= labels_per_item <= 20:
        raise InvalidInput(
            "Labels per item must be between 1 and 20.", fields={"labels_per_item": ["1 to 20."]}
        )
    if lease_minutes < 1:
        raise InvalidInput("A lease lasts at least one minute.", fields={"lease_minutes": ["At least 1."]})
    if Queue.objects.filter(team=case.team, name=name.strip()).exists():
        raise Conflict(f"A queue named '{name}' already exists in this team.")
    queue = Queue.objects.create(
        team=case.team,
        case=case,
        name=name.strip(),
        labels_per_item=labels_per_item,
        lease_minutes=lease_minutes,
        created_by=created_by,
    )
    links = case.case_accounts.filter(account__kind=AccountKind.SUSPECT).select_related("account")
    items = QueueItem.objects.bulk_create(
        [QueueItem(queue=queue, case=case, account=link.account, priority=case.priority) for link in links]
    )
    refresh_queue_statistics(len(items))
    record_event(
        team=case.team,
        user=created_by,
        verb="queue.created",
        target=queue,
        data={
            "name": queue.name,
            "case": case.pk,
            "labels_per_item": labels_per_item,
            "lease_minutes": lease_minutes,
            "items": len(items),
        },
    )
    return queue


# --- claiming ----------------------------------------------------------------------------------


def _lock_membership(user, queue: Queue) -> Membership:
    """The claimer's membership, locked: one user's claims in a team happen one after another."""
    if user is None:
        raise NotAllowed("Items are claimed by a signed-in reviewer.")
    require_member(user, queue.team)
    return Membership.objects.select_for_update(no_key=True).get(user=user, team=queue.team)


def _room_left(item: QueueItem, labels_per_item: int, now: datetime.datetime) -> bool:
    """Fresh reads, made under the item's row lock, of whether one more lease fits."""
    label_count, is_done = QueueItem.objects.values_list("label_count", "is_done").get(pk=item.pk)
    live = Assignment.objects.filter(live_lease_q(now), item_id=item.pk).count()
    return not is_done and label_count + live < labels_per_item


def _lock_next_item(queue: Queue, user, now: datetime.datetime) -> QueueItem | None:
    """Lock and return the first claimable item with room for the user, or None.

    Candidates come highest priority first, then oldest. An item whose room vanished between the
    candidate query and the lock is passed over (and stays locked by us until commit, which
    only makes other claimers skip an item that is full anyway).
    """
    candidates = claimable_items(queue=queue, user=user, now=now)
    skip_locked = connection.features.has_select_for_update_skip_locked
    passed: list[int] = []
    while True:
        pending = candidates.exclude(pk__in=passed) if passed else candidates
        if skip_locked:
            # Which race: two claimers reading the same "first free item". The row lock makes
            # one of them own it; SKIP LOCKED sends the other to the next row without waiting.
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        item = pending.first()
        if item is None:
            return None
        if not skip_locked:
            # SQLite: compare-and-set on the item. Once this write succeeds this transaction is the
            # database's only writer until commit, so the room check below cannot go stale.
            taken = QueueItem.objects.filter(pk=item.pk, is_done=False).update(label_count=F("label_count"))
            if not taken:
                passed.append(item.pk)
                continue
        if _room_left(item, queue.labels_per_item, now):
            return item
        passed.append(item.pk)


@transaction.atomic
def claim_next_item(*, queue: Queue, user) -> Assignment | None:
    """Lease the next item the user may label, or None when nothing is left for them.

    Invariants: a user holds at most one live lease per queue (asking again returns it); an item
    never has more live leases plus completed labels than the queue's ``labels_per_item``; a
    user never holds two leases on one item, nor gets an item back that they labelled, skipped
    or completed. Any member of the queue's team may claim — only the reviewers on its list, once
    a lead gave it one (``lead_cases.add_queue_reviewer``); a paused queue is a Conflict.
    Locks the user's membership row, then the item row (see the module docstring).
    """
    _lock_membership(user, queue)
    queue.is_active, queue.labels_per_item, queue.lease_minutes = Queue.objects.values_list(
        "is_active", "labels_per_item", "lease_minutes"
    ).get(pk=queue.pk)
    now = timezone.now()
    held = (
        Assignment.objects.filter(
            live_lease_q(now), item__queue=queue, user=user, item__case__status__in=REVIEWABLE_STATUSES
        )
        .select_related("item__case", "item__account")
        .order_by("claimed_at")
        .first()
    )
    if held is not None:
        return held  # even from a paused queue: leases already held run on
    if not queue.is_active:
        raise Conflict("This queue is paused; a lead can resume it.")
    # A queue with a reviewer list (lead console) hands items only to the reviewers on it.
    reviewers = QueueReviewer.objects.filter(queue=queue)
    if reviewers.exists() and not reviewers.filter(user=user).exists():
        raise NotAllowed("You are not on this queue's reviewer list; a lead can add you.")
    item = _lock_next_item(queue, user, now)
    if item is None:
        return None
    lapsed = list(
        Assignment.objects.filter(item=item, state=AssignmentState.ACTIVE, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    if lapsed:
        Assignment.objects.filter(pk__in=lapsed).update(state=AssignmentState.EXPIRED)
    assignment = Assignment.objects.create(
        item=item,
        user=user,
        state=AssignmentState.ACTIVE,
        claimed_at=now,
        expires_at=now + datetime.timedelta(minutes=queue.lease_minutes),
    )
    record_event(
        team=queue.team,
        user=user,
        verb="queue.item_claimed",
        target=assignment,
        data={
            "queue": queue.pk,
            "item": item.pk,
            "case": item.case_id,
            "account": item.account_id,
            "expires_at": assignment.expires_at,
            "expired_leases": lapsed,
        },
    )
    return Assignment.objects.select_related("item__case", "item__account").get(pk=assignment.pk)


def lock_lease(assignment: Assignment) -> tuple[QueueItem, Assignment]:
    """Lock the assignment's item, then read the assignment again under that lock.

    For services of this package only. Returns the locked item (with its queue) and the fresh
    assignment; the caller's instance is left as it was until the caller copies the outcome.
    """
    item = (
        QueueItem.objects.select_for_update(of=("self",))
        .select_related("queue__team")
        .get(pk=assignment.item_id)
    )
    return item, Assignment.objects.get(pk=assignment.pk)


def require_live(lease: Assignment, now: datetime.datetime, action: str) -> None:
    """Fencing: Conflict unless the lease still holds."""
    if lease.state != AssignmentState.ACTIVE:
        raise Conflict(f"This lease has ended ({lease.get_state_display().lower()}); it cannot be {action}.")
    if lease.expires_at <= now:
        raise Conflict(
            f"Your lease on this item expired at {timezone.localtime(lease.expires_at):%H:%M}; "
            f"it cannot be {action}. Claim the next item."
        )


def _require_holder(lease: Assignment, user, *, leads_too: bool = False) -> None:
    """Checked before any lock is taken: who holds a lease never changes. The system
    (``user=None``) may release a lease, as a lead may; only the holder skips or completes."""
    membership = require_member(user, lease.item.queue.team)
    if user is None:
        if leads_too:
            return
        raise NotAllowed("Only the reviewer holding this item may do this.")
    if lease.user_id == user.pk:
        return
    if leads_too and membership.role in LEAD_ROLES:
        return
    raise NotAllowed("This item is held by another reviewer.")


def complete_lease(*, item: QueueItem, lease: Assignment, now: datetime.datetime) -> dict:
    """Complete a live lease on a locked item and count the label. No audit event: for the
    services that record their own (``complete_item``, ``submit_label``). Returns the change."""
    per_item = item.queue.labels_per_item
    before = (item.label_count, item.is_done)
    # Under the item's row lock; F() keeps the increment right even if a caller's copy is stale.
    QueueItem.objects.filter(pk=item.pk).update(
        label_count=F("label_count") + 1,
        is_done=ExpressionWrapper(
            Q(is_done=True) | Q(label_count__gte=per_item - 1), output_field=BooleanField()
        ),
    )
    item.refresh_from_db(fields=["label_count", "is_done"])
    lease.state = AssignmentState.COMPLETED
    lease.completed_at = now
    lease.save(update_fields=["state", "completed_at"])
    return {
        "assignment": lease.pk,
        "item": item.pk,
        "label_count": [before[0], item.label_count],
        "is_done": [before[1], item.is_done],
    }


def _copy_outcome(target: Assignment, source: Assignment) -> Assignment:
    for name in ("state", "completed_at", "skip_reason", "expires_at"):
        setattr(target, name, getattr(source, name))
    return target


@transaction.atomic
def release_item(*, assignment: Assignment, user) -> Assignment:
    """Give a leased item back to the queue. The holder may, and so may a lead of the team
    (to free an item for someone else). Needs a live lease (Conflict otherwise).
    Locks the item row, then reads the lease under it."""
    _require_holder(assignment, user, leads_too=True)
    item, lease = lock_lease(assignment)
    require_live(lease, timezone.now(), "released")
    lease.state = AssignmentState.RELEASED
    lease.save(update_fields=["state"])
    record_event(
        team=item.queue.team,
        user=user,
        verb="queue.item_released",
        target=lease,
        data={"item": item.pk, "holder": lease.user_id, "state": [AssignmentState.ACTIVE, lease.state]},
    )
    return _copy_outcome(assignment, lease)


@transaction.atomic
def skip_item(*, assignment: Assignment, user, reason: str) -> Assignment:
    """Skip a leased item, with a reason. The item never comes back to this user; other reviewers
    still get it. Holder only, live lease only. Locks the item row."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you skip this item.", fields={"reason": ["This field is required."]})
    _require_holder(assignment, user)
    item, lease = lock_lease(assignment)
    require_live(lease, timezone.now(), "skipped")
    lease.state = AssignmentState.SKIPPED
    lease.skip_reason = reason
    lease.save(update_fields=["state", "skip_reason"])
    record_event(
        team=item.queue.team,
        user=user,
        verb="queue.item_skipped",
        target=lease,
        data={"item": item.pk, "reason": reason, "state": [AssignmentState.ACTIVE, lease.state]},
    )
    return _copy_outcome(assignment, lease)


@transaction.atomic
def complete_item(*, assignment: Assignment, user) -> Assignment:
    """Mark a leased item labelled by its holder and count the label toward the queue's
    ``labels_per_item``. The holder must have labelled the account on the case (``submit_label``
    with the assignment does both at once). Fencing: a lease that lapsed or was released cannot
    be completed (Conflict). Locks the item row."""
    _require_holder(assignment, user)
    item, lease = lock_lease(assignment)
    now = timezone.now()
    require_live(lease, now, "completed")
    if not Label.objects.filter(case_id=item.case_id, account_id=item.account_id, annotator=user).exists():
        raise Conflict("Label the account before completing the item.")
    change = complete_lease(item=item, lease=lease, now=now)
    record_event(team=item.queue.team, user=user, verb="queue.item_completed", target=lease, data=change)
    return _copy_outcome(assignment, lease)


@transaction.atomic
def release_expired_leases(*, queue: Queue | None = None, user=None) -> int:
    """Mark every lapsed lease (active, past its expiry) expired; how many were marked.

    A lead runs it for one queue; the beat (``user=None``) for one queue or all. Claims already
    treat lapsed leases as free; this makes the rows say so. One audit event per queue that had
    any; nothing is recorded when nothing lapsed. Rows another transaction holds are skipped
    (SKIP LOCKED), to be marked by the next run or the next claim on their item.
    """
    if user is not None:
        if queue is None:
            raise InvalidInput("Choose a queue.", fields={"queue": ["This field is required."]})
        require_member(user, queue.team, roles=LEAD_ROLES)
    lapsed = Assignment.objects.filter(state=AssignmentState.ACTIVE, expires_at__lte=timezone.now())
    if queue is not None:
        lapsed = lapsed.filter(item__queue=queue)
    if connection.features.has_select_for_update_skip_locked:
        lapsed = lapsed.select_for_update(skip_locked=True, of=("self",))
    rows = list(lapsed.order_by("pk").values_list("pk", "item__queue_id"))
    if not rows:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _ in rows]).update(state=AssignmentState.EXPIRED)
    by_queue: dict[int, list[int]] = defaultdict(list)
    for pk, queue_id in rows:
        by_queue[queue_id].append(pk)
    for swept in Queue.objects.filter(pk__in=by_queue).select_related("team"):
        record_event(
            team=swept.team,
            user=user,
            verb="queue.leases_expired",
            target=swept,
            data={"expired": len(by_queue[swept.pk]), "assignments": by_queue[swept.pk]},
        )
    return len(rows)


# --- leads' controls ---------------------------------------------------------------------------


@transaction.atomic
def set_queue_active(*, queue: Queue, is_active: bool, set_by) -> Queue:
    """Pause or resume a queue. Leads only. A paused queue hands out nothing; leases already
    held run on. Locks the queue row."""
    require_member(set_by, queue.team, roles=LEAD_ROLES)
    before = Queue.objects.select_for_update().values_list("is_active", flat=True).get(pk=queue.pk)
    queue.is_active = bool(is_active)
    if before == queue.is_active:
        return queue
    queue.save(update_fields=["is_active"])
    record_event(
        team=queue.team,
        user=set_by,
        verb="queue.resumed" if queue.is_active else "queue.paused",
        target=queue,
        data={"is_active": [before, queue.is_active]},
    )
    return queue


@transaction.atomic
def set_item_priority(*, item: QueueItem, priority: int, set_by) -> QueueItem:
    """Change one item's place in its queue (higher first). Leads only. Locks the item row."""
    require_member(set_by, item.queue.team, roles=LEAD_ROLES)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority not in ITEM_PRIORITY_RANGE:
        raise InvalidInput(
            "Priority must be a whole number from -32768 to 32767.", fields={"priority": ["Out of range."]}
        )
    before = QueueItem.objects.select_for_update().values_list("priority", flat=True).get(pk=item.pk)
    item.priority = priority
    if before == priority:
        return item
    item.save(update_fields=["priority"])
    record_event(
        team=item.queue.team,
        user=set_by,
        verb="queue.item_priority_changed",
        target=item,
        data={"queue": item.queue_id, "priority": [before, priority]},
    )
    return item
