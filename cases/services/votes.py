"""Attribution votes: one reviewer's view of who is behind a case, with confidence and reasons."""

from collections.abc import Iterable

from django.db import transaction

from cases.errors import InvalidInput, NotAllowed
from cases.models import Actor, AttributionVote, Case, Confidence, Evidence

from .access import require_member
from .audit import record_event
from .case_status import lock_case, require_reviewable, start_review


def _cited(case: Case, cited_evidence: Iterable[Evidence]) -> list[Evidence]:
    cited = list(dict.fromkeys(cited_evidence))
    for item in cited:
        if not isinstance(item, Evidence) or item.case_id != case.pk:
            # Same words for another case's (or team's) evidence and evidence that does not exist.
            raise InvalidInput(
                "No such evidence on this case.", fields={"cited_evidence": ["Not on this case."]}
            )
    standing = set(
        Evidence.objects.filter(case=case, pk__in=[e.pk for e in cited]).active().values_list("pk", flat=True)
    )
    withdrawn = [e.pk for e in cited if e.pk not in standing]
    if withdrawn:
        raise InvalidInput(
            f"Evidence #{withdrawn[0]} is retracted (or is itself a retraction); cite what stands.",
            fields={"cited_evidence": ["Retracted."]},
        )
    return cited


@transaction.atomic
def cast_vote(
    *,
    case: Case,
    voter,
    actor: Actor,
    confidence: str,
    rationale: str,
    cited_evidence: Iterable[Evidence] = (),
) -> AttributionVote:
    """Cast or change the voter's attribution vote on a case.

    Invariants: one vote per voter per case (a second call changes it); the rationale is given;
    the actor is the team's; cited evidence is on the case and not retracted; votes change only
    while the case is open or in review (Conflict once decided or closed). The first vote on an
    open case puts it in review.

    Locks the case row (FOR NO KEY UPDATE): one voter's concurrent submissions run one after
    another, so the second finds the first's row and updates it — one row, no IntegrityError —
    and no vote changes between a lead's count and decision.
    """
    if voter is None:
        raise NotAllowed("A vote is cast by a signed-in reviewer.")
    require_member(voter, case.team)
    if actor.team_id != case.team_id:
        raise InvalidInput("No such actor.", fields={"actor": ["Choose an actor of this team."]})
    if confidence not in Confidence.values:
        raise InvalidInput("Unknown confidence.", fields={"confidence": ["Choose low, moderate or high."]})
    rationale = (rationale or "").strip()
    if not rationale:
        raise InvalidInput(
            "Say why: a vote needs its rationale.", fields={"rationale": ["This field is required."]}
        )
    cited = _cited(case, cited_evidence)

    lock_case(case)
    require_reviewable(case, "votes")
    status_change = start_review(case)
    vote = AttributionVote.objects.filter(case=case, voter=voter).first()
    cited_ids = sorted(e.pk for e in cited)
    if vote is None:
        vote = AttributionVote.objects.create(
            case=case, voter=voter, actor=actor, confidence=confidence, rationale=rationale
        )
        vote.cited_evidence.set(cited)
        verb = "vote.cast"
        changes = {
            "actor": actor.pk,
            "confidence": confidence,
            "rationale": rationale,
            "cited_evidence": cited_ids,
        }
    else:
        verb = "vote.changed"
        old_ids = sorted(vote.cited_evidence.values_list("pk", flat=True))
        changes = {
            name: [old, new]
            for name, old, new in (
                ("actor", vote.actor_id, actor.pk),
                ("confidence", vote.confidence, confidence),
                ("rationale", vote.rationale, rationale),
                ("cited_evidence", old_ids, cited_ids),
            )
            if old != new
        }
        if not changes and not status_change:
            return vote  # the same vote again: nothing to write, nothing to record
        vote.actor, vote.confidence, vote.rationale = actor, confidence, rationale
        vote.save(update_fields=["actor", "confidence", "rationale", "updated_at"])
        if "cited_evidence" in changes:
            vote.cited_evidence.set(cited)
    record_event(
        team=case.team,
        user=voter,
        verb=verb,
        target=vote,
        data={"case": case.pk, **changes, **status_change},
    )
    return vote
