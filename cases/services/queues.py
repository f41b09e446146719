from django.db import transaction

from cases.errors import Conflict, InvalidInput
from cases.models import AccountKind, Case, Queue, QueueItem

from .access import LEAD_ROLES, require_member
from .audit import record_event


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
