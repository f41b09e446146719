"""Account outcomes: what was done about each account of a decided case, and under which policy."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from cases.errors import Conflict, InvalidInput
from cases.models import Account, AccountOutcome, AttributionDecision, Case, CaseAccount, CaseStatus, Outcome

from .access import LEAD_ROLES, require_member
from .audit import record_event
from .case_status import lock_case

# More than this in one request is a mistake or a script; the accounts table pages at fewer.
MAX_BULK = 5000


@transaction.atomic
def set_account_outcomes(
    *, case: Case, accounts: Iterable[Account], outcome: str, policy_basis: str, set_by
) -> list[AccountOutcome]:
    """Set one outcome, with its policy basis, on each of ``accounts`` of a decided case. Leads only.

    Invariants: every account is on the case (otherwise nothing is written); the case has a
    standing attribution decision and is decided (or closed after its decision); a policy basis is
    given unless the outcome is "no action". One row per (case, account), changed in place; one
    audit event for the whole call lists every account and what changed. Accounts whose outcome and
    basis are already those given are left alone. Locks the case row, so a reopen cannot interleave.
    """
    require_member(set_by, case.team, roles=LEAD_ROLES)
    if outcome not in Outcome.values:
        raise InvalidInput(
            "Unknown outcome.", fields={"outcome": ["Choose removed, labeled, no action or escalated."]}
        )
    policy_basis = (policy_basis or "").strip()
    if not policy_basis and outcome != Outcome.NO_ACTION:
        raise InvalidInput(
            "Give the policy basis for the outcome.", fields={"policy_basis": ["This field is required."]}
        )
    chosen = list({a.pk: a for a in accounts}.values())
    if not chosen:
        raise InvalidInput("Choose at least one account.", fields={"accounts": ["Choose accounts."]})
    if len(chosen) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} accounts at once.", fields={"accounts": ["Too many."]})
    ids = [a.pk for a in chosen]
    lock_case(case)
    decided = case.status == CaseStatus.DECIDED or (
        case.status == CaseStatus.CLOSED
        and AttributionDecision.objects.filter(case=case, withdrawn_at__isnull=True).exists()
    )
    if not decided:
        raise Conflict("Outcomes are recorded on a decided case; decide the attribution first.")
    on_case = set(
        CaseAccount.objects.filter(case=case, account_id__in=ids).values_list("account_id", flat=True)
    )
    if len(on_case) != len(ids):
        # The same words for another team's account and one that is not on this case.
        raise InvalidInput(
            "Some of those accounts are not on this case.", fields={"accounts": ["Not on this case."]}
        )

    now = timezone.now()
    existing = {
        o.account_id: o
        for o in AccountOutcome.objects.select_for_update().filter(case=case, account_id__in=ids)
    }
    changes: dict[str, list] = {}
    created, updated = [], []
    for pk in ids:
        row = existing.get(pk)
        if row is None:
            created.append(
                AccountOutcome(
                    case=case,
                    account_id=pk,
                    outcome=outcome,
                    policy_basis=policy_basis,
                    set_by=set_by,
                    set_at=now,
                )
            )
            changes[str(pk)] = [None, outcome]
        elif (row.outcome, row.policy_basis) != (outcome, policy_basis):
            changes[str(pk)] = [row.outcome, outcome]
            row.outcome, row.policy_basis, row.set_by, row.set_at = outcome, policy_basis, set_by, now
            updated.append(row)
    AccountOutcome.objects.bulk_create(created)
    AccountOutcome.objects.bulk_update(updated, ["outcome", "policy_basis", "set_by", "set_at"])
    if changes:
        record_event(
            team=case.team,
            user=set_by,
            verb="case.outcomes_set",
            target=case,
            data={"case": case.pk, "outcome": outcome, "policy_basis": policy_basis, "accounts": changes},
        )
    order = {pk: n for n, pk in enumerate(ids)}
    return sorted([*existing.values(), *created], key=lambda o: order[o.account_id])
