"""The moderator workspace's compound actions: each is one click in the browser and a fixed
sequence of existing services underneath. Every write still happens in those services (which
take their locks and write their audit events); these functions only decide the order and
what happens between the steps.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from cases.errors import Conflict
from cases.models import (
    Account,
    Actor,
    Assignment,
    AttributionVote,
    BrandRole,
    CaptureMethod,
    Case,
    Evidence,
    EvidenceKind,
    Label,
    Technique,
)

from .accounts import create_actor, create_media_brand
from .evidence import Upload, record_evidence
from .labels import submit_label
from .queues import claim_next_item, skip_item
from .votes import cast_vote


@dataclass(frozen=True)
class NextItem:
    """What "… and next" led to: the next lease, or None with the reason there is none."""

    assignment: Assignment | None
    reason: str = ""


def _claim_next(assignment: Assignment, user) -> NextItem:
    queue = assignment.item.queue
    try:
        claimed = claim_next_item(queue=queue, user=user)
    except Conflict as exc:  # the queue was paused meanwhile
        return NextItem(None, exc.message)
    if claimed is None:
        return NextItem(None, f"Nothing is left for you in “{queue.name}”.")
    return NextItem(claimed)


def submit_label_and_claim_next(
    *,
    assignment: Assignment,
    annotator,
    verdict: str,
    techniques: Iterable[Technique] = (),
    note: str = "",
    seconds_spent: int = 0,
) -> tuple[Label, NextItem]:
    """Label the account of a held lease (which completes the lease, see ``submit_label``), then
    claim the next item of the same queue.

    Two transactions, on purpose: the label commits on its own, so it stands even when the claim
    that follows finds the queue paused or empty. A label the service refuses (a lapsed lease, a
    decided case) raises before anything is claimed.
    """
    label = submit_label(
        case=assignment.item.case,
        account=assignment.item.account,
        annotator=annotator,
        verdict=verdict,
        techniques=techniques,
        note=note,
        seconds_spent=seconds_spent,
        assignment=assignment,
    )
    return label, _claim_next(assignment, annotator)


def skip_and_claim_next(*, assignment: Assignment, user, reason: str) -> NextItem:
    """Skip a held item with a reason (it never comes back to this user), then claim the next one
    of the same queue. Two transactions, as in ``submit_label_and_claim_next``."""
    skip_item(assignment=assignment, user=user, reason=reason)
    return _claim_next(assignment, user)


@transaction.atomic
def record_new_brand_evidence(
    *,
    case: Case,
    captured_by,
    name: str,
    impersonates: str = "",
    domains: Iterable[str] = (),
    account: Account | None = None,
    title: str = "",
    url: str = "",
    captured_text: str = "",
    techniques: Iterable[Technique] = (),
    files: Iterable[Upload] = (),
    capture_method: str = CaptureMethod.UPLOAD,
) -> Evidence:
    """Record a fake media brand the team did not know yet, and the evidence that shows it, at once.

    One transaction: if the evidence is refused (a logo that is not an image, say) the brand is
    not left behind. The brand is created by ``create_media_brand`` (its own audit event; the
    account the moderator is reviewing, if given, is recorded as amplifying it) and the evidence
    by ``record_evidence`` (its own event, hashes, file checks). Conflict if the name is taken:
    the caller should pick the existing brand instead.
    """
    brand = create_media_brand(
        team=case.team,
        name=name,
        created_by=captured_by,
        impersonates=impersonates,
        domains=list(domains),
        accounts=[(account, BrandRole.AMPLIFIES)] if account is not None else [],
    )
    return record_evidence(
        case=case,
        kind=EvidenceKind.MEDIA_BRAND,
        captured_by=captured_by,
        capture_method=capture_method,
        account=account,
        brand=brand,
        title=title or brand.name,
        url=url,
        captured_text=captured_text,
        techniques=list(techniques),
        files=list(files),
    )


@transaction.atomic
def cast_vote_for_new_actor(
    *,
    case: Case,
    voter,
    actor_name: str,
    actor_country: str = "",
    confidence: str,
    rationale: str,
    cited_evidence: Iterable[Evidence] = (),
) -> AttributionVote:
    """Name an actor the team had not recorded and vote for it, at once.

    One transaction: a vote the service refuses (no rationale, a decided case) leaves no actor
    behind. ``create_actor`` and ``cast_vote`` each write their own audit event and take their
    own locks (the vote locks the case row).
    """
    actor: Actor = create_actor(team=case.team, name=actor_name, created_by=voter, country=actor_country)
    return cast_vote(
        case=case,
        voter=voter,
        actor=actor,
        confidence=confidence,
        rationale=rationale,
        cited_evidence=cited_evidence,
    )
