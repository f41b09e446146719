"""Similar-account suggestions: reviewers accept (the other account joins the case) or dismiss
them; the engine upserts them after each sweep.

A pair is stored once, lower account id first. A dismissed pair stays dismissed unless its score
rises by more than a margin above the score it was dismissed at; an accepted pair stays accepted.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.errors import Conflict, InvalidInput
from cases.models import Account, Case, CaseAccount, Job, SimilaritySuggestion, SuggestionStatus, Team

from .access import require_member
from .audit import record_event
from .case_status import lock_case, require_reviewable
from .cases import add_account_to_case


def _lock_suggestion(suggestion: SimilaritySuggestion) -> SimilaritySuggestion:
    """The suggestion row, locked: accept, dismiss and a sweep's upsert of one pair take turns."""
    return (
        SimilaritySuggestion.objects.select_for_update(of=("self",))
        .select_related("account_a", "account_b")
        .get(pk=suggestion.pk)
    )


def _why(suggestion: SimilaritySuggestion, anchor: Account) -> str:
    details = [str(s.get("detail", "")).strip() for s in suggestion.signals if isinstance(s, dict)]
    details = [d for d in details if d][:3]
    reason = f"Similar to @{anchor.handle} (score {suggestion.score:.2f})"
    return f"{reason}: {'; '.join(details)}" if details else reason


def _copy(target: SimilaritySuggestion, source: SimilaritySuggestion) -> SimilaritySuggestion:
    for name in ("status", "reviewed_by", "reviewed_at", "dismissed_score", "score", "signals"):
        setattr(target, name, getattr(source, name))
    return target


@transaction.atomic
def accept_suggestion(*, suggestion: SimilaritySuggestion, case: Case, user) -> CaseAccount:
    """Accept a suggestion on a case: the account of the pair that is not on the case joins it
    (through ``add_account_to_case``, which records the suggestion and writes its own
    ``case.account_added`` event), and the suggestion becomes accepted, with who and when.

    If both accounts are already on the case the suggestion is only marked accepted, and the link
    of the later-added account is returned. One of the pair must be on the case (InvalidInput
    otherwise); the case must be open or in review (Conflict). Any member may accept; a pair that
    was dismissed can still be accepted. Locks the suggestion row, then the case row.
    """
    require_member(user, case.team)
    if suggestion.team_id != case.team_id:
        raise InvalidInput("No such suggestion.")
    locked = _lock_suggestion(suggestion)
    lock_case(case)
    require_reviewable(case, "its accounts")
    pair = (locked.account_a, locked.account_b)
    links = {
        link.account_id: link
        for link in CaseAccount.objects.filter(case=case, account__in=pair).order_by("added_at", "id")
    }
    if not links:
        raise InvalidInput("Neither account of this suggestion is on the case.")
    added = None
    if len(links) == 2:
        link = list(links.values())[-1]
    else:
        anchor, added = pair if pair[0].pk in links else pair[::-1]
        link = add_account_to_case(
            case=case, account=added, added_by=user, reason=_why(locked, anchor), suggestion=locked
        )
    before = locked.status
    locked.status = SuggestionStatus.ACCEPTED
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.dismissed_score = None
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "dismissed_score", "updated_at"])
    _copy(suggestion, locked)
    record_event(
        team=case.team,
        user=user,
        verb="suggestion.accepted",
        target=locked,
        data={
            "case": case.pk,
            "added_account": added.pk if added else None,
            "status": [before, locked.status],
            "score": locked.score,
        },
    )
    return link


@transaction.atomic
def dismiss_suggestion(*, suggestion: SimilaritySuggestion, user, reason: str = "") -> SimilaritySuggestion:
    """Dismiss a new suggestion: it is not shown again unless its score later rises by more than
    the sweep's margin above ``dismissed_score``. Any member of the suggestion's team. The reason,
    if given, goes to the audit event. An accepted or already dismissed suggestion is a Conflict.
    Locks the suggestion row."""
    require_member(user, suggestion.team)
    locked = _lock_suggestion(suggestion)
    if locked.status == SuggestionStatus.DISMISSED:
        raise Conflict("This suggestion is already dismissed.")
    if locked.status == SuggestionStatus.ACCEPTED:
        raise Conflict("This suggestion was accepted; remove the account from the case instead.")
    before = locked.status
    locked.status = SuggestionStatus.DISMISSED
    locked.dismissed_score = locked.score
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "dismissed_score", "reviewed_by", "reviewed_at", "updated_at"])
    record_event(
        team=locked.team,
        user=user,
        verb="suggestion.dismissed",
        target=locked,
        data={"status": [before, locked.status], "dismissed_score": locked.score, "reason": reason.strip()},
    )
    return _copy(suggestion, locked)


@transaction.atomic
def upsert_suggestion(
    *,
    team: Team,
    account_a: Account,
    account_b: Account,
    score: float,
    signals: list[dict[str, Any]],
    job: Job | None = None,
    resurface_margin: float = 0.1,
) -> SimilaritySuggestion:
    """Store the engine's finding for a pair: created as ``new``, or its score, signals and job
    updated. The pair is ordered (lower id first) so either order finds the same row.

    A status a reviewer set is kept — accepted stays accepted, dismissed stays dismissed — except
    that a dismissed pair whose score now exceeds ``dismissed_score + resurface_margin`` returns to
    ``new`` (``dismissed_score`` is kept, so the page can say it was dismissed before).

    Bookkeeping, not a reviewer's act: no audit event per pair. The engine writes one event per
    sweep (its job), and every row it touched names that job. Idempotent: the same call twice
    leaves the same row. Locks the pair's row; two sweeps inserting the same new pair at once
    resolve to one row (the loser's insert fails inside a savepoint and it updates instead).
    """
    for account in (account_a, account_b):
        if account.team_id != team.pk:
            raise InvalidInput("No such account.")
    if account_a.pk == account_b.pk:
        raise InvalidInput("An account is not a suggestion for itself.")
    if not 0 <= score <= 1:
        raise InvalidInput("A similarity score is between 0 and 1.")
    if not isinstance(signals, list):
        raise InvalidInput("Signals are a list of {signal, score, detail}.")
    low, high = sorted((account_a, account_b), key=lambda a: a.pk)
    pair = {"account_a": low, "account_b": high}
    row = SimilaritySuggestion.objects.select_for_update().filter(**pair).first()
    if row is None:
        try:
            with transaction.atomic():
                return SimilaritySuggestion.objects.create(
                    team=team, score=score, signals=signals, job=job, **pair
                )
        except IntegrityError:
            # Another sweep inserted the pair after our look: update the row it made.
            row = SimilaritySuggestion.objects.select_for_update().get(**pair)
    row.score, row.signals, row.job = score, signals, job
    fields = ["score", "signals", "job", "updated_at"]
    if (
        row.status == SuggestionStatus.DISMISSED
        and row.dismissed_score is not None
        and score > row.dismissed_score + resurface_margin
    ):
        row.status = SuggestionStatus.NEW
        fields.append("status")
    row.save(update_fields=fields)
    return row
