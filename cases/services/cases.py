from django.db import transaction
from django.db.models import Count, F
from django.db.models.functions import Greatest
from django.utils import timezone

from cases.errors import Conflict, InvalidInput
from cases.models import Account, Case, CaseAccount, CaseStatus, Evidence, Job, JobKind, Label, Priority, Team

from .access import require_member
from .audit import record_event, snapshot
from .jobs import start_job


@transaction.atomic
def create_case(
    *,
    team: Team,
    title: str,
    created_by=None,
    summary: str = "",
    priority: int = Priority.NORMAL,
    lead=None,
) -> Case:
    """Open a case in a team. Any member may open one; its lead must be a member too."""
    require_member(created_by, team)
    if not title.strip():
        raise InvalidInput("A case needs a title.", fields={"title": ["This field is required."]})
    if priority not in Priority.values:
        raise InvalidInput("Unknown priority.", fields={"priority": [f"Choose one of {Priority.values}."]})
    if lead is not None:
        require_member(lead, team)
    case = Case.objects.create(
        team=team, title=title.strip(), summary=summary, priority=priority, lead=lead, created_by=created_by
    )
    record_event(
        team=team,
        user=created_by,
        verb="case.created",
        target=case,
        data=snapshot(case, ["title", "summary", "priority", "lead", "status"]),
    )
    return case


def bump_case_count(case: Case, field: str, delta: int) -> None:
    """Keep a denormalised count current inside the writer's transaction. An UPDATE with F()
    takes the row lock, so concurrent writers add up instead of overwriting each other;
    ``recount_case`` recomputes from the rows if a count ever drifts."""
    Case.objects.filter(pk=case.pk).update(**{field: Greatest(F(field) + delta, 0)})


def _require_open(case: Case) -> None:
    if case.status in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        raise Conflict(f"The case is {case.get_status_display().lower()}; reopen it to change its accounts.")


@transaction.atomic
def add_account_to_case(
    *, case: Case, account: Account, added_by=None, reason: str = "", suggestion=None
) -> CaseAccount:
    """Put an account on a case. Both must belong to the same team; adding twice is a Conflict."""
    require_member(added_by, case.team)
    if account.team_id != case.team_id:
        # Same words as a missing account: another team's ids reveal nothing.
        raise InvalidInput("No such account.")
    _require_open(case)
    if CaseAccount.objects.filter(case=case, account=account).exists():
        raise Conflict(f"{account} is already on this case.")
    link = CaseAccount.objects.create(
        case=case, account=account, added_by=added_by, reason=reason, suggestion=suggestion
    )
    bump_case_count(case, "account_count", +1)
    record_event(
        team=case.team,
        user=added_by,
        verb="case.account_added",
        target=case,
        data={"account": account.pk, "reason": reason, "suggestion": suggestion.pk if suggestion else None},
    )
    return link


@transaction.atomic
def remove_account_from_case(*, case: Case, account: Account, removed_by=None, reason: str = "") -> None:
    """Take an account off a case. Its labels and evidence stay, for the record."""
    require_member(removed_by, case.team)
    _require_open(case)
    deleted, _ = CaseAccount.objects.filter(case=case, account=account).delete()
    if not deleted:
        raise InvalidInput(f"{account} is not on this case.")
    bump_case_count(case, "account_count", -1)
    record_event(
        team=case.team,
        user=removed_by,
        verb="case.account_removed",
        target=case,
        data={"account": account.pk, "reason": reason},
    )


@transaction.atomic
def recount_case(*, case_id: int, progress=None) -> dict[str, int]:
    """Recompute a case's denormalised counts from the rows themselves.

    Locks the case row so two recounts cannot interleave their writes.
    """
    case = Case.objects.select_for_update().get(pk=case_id)
    steps = [
        ("account_count", lambda: CaseAccount.objects.filter(case=case).count()),
        ("evidence_count", lambda: Evidence.objects.filter(case=case).active().count()),
        (
            "labeled_account_count",
            lambda: Label.objects.filter(case=case).aggregate(n=Count("account", distinct=True))["n"],
        ),
    ]
    before = snapshot(case, [name for name, _ in steps])
    counts = {}
    for done, (name, count) in enumerate(steps, start=1):
        counts[name] = count()
        if progress:
            progress(done, len(steps), f"Counted {name.replace('_', ' ')}")
    for name, value in counts.items():
        setattr(case, name, value)
    case.counts_updated_at = timezone.now()
    case.save(update_fields=[*counts, "counts_updated_at", "updated_at"])
    record_event(
        team=case.team,
        user=None,
        verb="case.recounted",
        target=case,
        data={name: [before[name], counts[name]] for name in counts if before[name] != counts[name]},
    )
    return counts


def start_case_recount(*, case: Case, requested_by) -> Job:
    """Queue a job that recomputes the case's counts on a worker."""
    from cases.tasks import recount_case_task  # tasks import services; import here, not at the top

    return start_job(
        team=case.team,
        kind=JobKind.RECOUNT_CASE,
        task=recount_case_task,
        params={"case_id": case.pk},
        created_by=requested_by,
    )
