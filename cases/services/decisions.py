"""Attribution decisions: a lead says who is behind a case, and may reopen it later.

Every decision is kept. Reopening withdraws the standing one (``withdrawn_at`` and the reason are
set on it) and a later decision is a new row, so the case's history reads in order.
"""

from django.db import transaction
from django.utils import timezone

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import Actor, AttributionDecision, AttributionVote, Case, CaseStatus, Confidence

from .access import LEAD_ROLES, require_member
from .audit import record_event
from .case_status import lock_case, move_case


@transaction.atomic
def decide_attribution(
    *, case: Case, lead, actor: Actor, confidence: str, rationale: str
) -> AttributionDecision:
    """Record who is behind the case and move it to ``decided``. Leads only.

    Invariants: the rationale is given; the case is in review; at least the team's
    ``attribution_quorum`` votes were cast; and four eyes — at least one voter *other than the
    deciding lead* voted for the decided actor, so a lead's own vote is never the only one a
    decision rests on. Locks the case row: no vote can change, and no other lead can decide,
    between the count and the decision.
    """
    if lead is None:
        raise NotAllowed("A decision is made by a signed-in lead.")
    require_member(lead, case.team, roles=LEAD_ROLES)
    if actor.team_id != case.team_id:
        raise InvalidInput("No such actor.", fields={"actor": ["Choose an actor of this team."]})
    if confidence not in Confidence.values:
        raise InvalidInput("Unknown confidence.", fields={"confidence": ["Choose low, moderate or high."]})
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInput(
            "A decision needs its rationale.", fields={"rationale": ["This field is required."]}
        )
    lock_case(case)
    if case.status != CaseStatus.IN_REVIEW:
        if case.status == CaseStatus.DECIDED:
            raise Conflict("The case is already decided. Reopen it, with a reason, to decide again.")
        raise Conflict(f"A case that is {case.get_status_display().lower()} cannot be decided.")
    votes = AttributionVote.objects.filter(case=case)
    quorum = case.team.attribution_quorum
    vote_count = votes.count()
    if vote_count < quorum:
        raise Conflict(f"A decision needs {quorum} votes; the case has {vote_count}.")
    for_actor = votes.filter(actor=actor)
    supporting = for_actor.count()
    if not for_actor.exclude(voter=lead).exists():
        if supporting:
            raise Conflict(
                f"Only your own vote is for {actor}. Four eyes: another reviewer must have voted for it."
            )
        raise Conflict(f"No reviewer voted for {actor}; a decision must rest on another reviewer's vote.")
    decision = AttributionDecision.objects.create(
        case=case,
        actor=actor,
        confidence=confidence,
        rationale=rationale,
        decided_by=lead,
        decided_at=timezone.now(),
    )
    change = move_case(case, CaseStatus.DECIDED)
    record_event(
        team=case.team,
        user=lead,
        verb="case.decided",
        target=decision,
        data={
            "case": case.pk,
            "actor": actor.pk,
            "confidence": confidence,
            "rationale": rationale,
            "votes": vote_count,
            "supporting_votes": supporting,
            "quorum": quorum,
            **change,
        },
    )
    return decision


@transaction.atomic
def reopen_case(*, case: Case, lead, reason: str) -> Case:
    """Put a decided or closed case back in review, with a reason. Leads only.

    The standing decision, if any, is withdrawn (``withdrawn_at``, ``withdrawn_reason``) and stays
    in the history; votes stay and may be changed again. Locks the case row.
    """
    require_member(lead, case.team, roles=LEAD_ROLES)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the case is reopened.", fields={"reason": ["This field is required."]})
    lock_case(case)
    if case.status not in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        raise Conflict(
            f"The case is {case.get_status_display().lower()}; only a decided or closed case reopens."
        )
    standing = AttributionDecision.objects.filter(case=case, withdrawn_at__isnull=True).first()
    if standing is not None:
        standing.withdrawn_at = timezone.now()
        standing.withdrawn_reason = reason
        standing.save(update_fields=["withdrawn_at", "withdrawn_reason"])
    change = move_case(case, CaseStatus.IN_REVIEW)
    record_event(
        team=case.team,
        user=lead,
        verb="case.reopened",
        target=case,
        data={**change, "reason": reason, "withdrawn_decision": standing.pk if standing else None},
    )
    return case
