"""Adjudication: a lead settles an account on which reviewers disagree, with a final verdict and a
reason. The reviewers' labels are left exactly as they were; every adjudication is kept and the
newest per account stands."""

from django.db import transaction

from cases.errors import InvalidInput
from cases.models import Account, Adjudication, Case, CaseAccount, Verdict

from .access import LEAD_ROLES, require_member
from .audit import record_event
from .case_status import lock_case, require_reviewable


@transaction.atomic
def adjudicate_account(*, case: Case, account: Account, lead, verdict: str, reason: str) -> Adjudication:
    """Record the lead's final verdict on an account of the case. Leads only.

    Invariants: the account is on the case; the verdict is one of the label verdicts; a reason is
    given; adjudication happens while the case is open or in review, like labelling (a decided or
    closed case is reopened first). Labels are not touched. Locks the case row (FOR NO KEY UPDATE)
    so an adjudication cannot slip in beside a decision or a close.
    """
    require_member(lead, case.team, roles=LEAD_ROLES)
    if account.team_id != case.team_id:
        raise InvalidInput("No such account.")
    if verdict not in Verdict.values:
        raise InvalidInput(
            f"'{verdict}' is not a verdict.", fields={"verdict": ["Choose inauthentic, authentic or unsure."]}
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why: an adjudication needs its reason.", fields={"reason": ["This field is required."]}
        )
    lock_case(case)
    require_reviewable(case, "verdicts")
    if not CaseAccount.objects.filter(case=case, account=account).exists():
        raise InvalidInput(f"{account} is not on this case.")
    previous = Adjudication.objects.filter(case=case, account=account).order_by("-created_at", "-pk").first()
    adjudication = Adjudication.objects.create(
        case=case, account=account, verdict=verdict, reason=reason, decided_by=lead
    )
    record_event(
        team=case.team,
        user=lead,
        verb="account.adjudicated",
        target=adjudication,
        data={
            "case": case.pk,
            "account": account.pk,
            "verdict": verdict if previous is None else [previous.verdict, verdict],
            "reason": reason,
            "supersedes": previous.pk if previous is not None else None,
        },
    )
    return adjudication
