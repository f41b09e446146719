"""Reads of the review workflow: what a reviewer may claim, queue progress, vote tallies and
label agreement so far. Kept apart from ``cases.selectors`` while several people edit that file;
the lead will merge them.

Two rules shape every read here:

* **Team scope.** A user who is not in the object's team gets ``Http404``, the same as for an
  object that does not exist (as in ``cases.selectors``).
* **Blindness (no anchoring).** A reviewer sees other reviewers' verdicts on an account only after
  labelling that account, and other voters' choices on a case only after voting — or once the case
  is decided or closed, when there is nothing left to anchor. Counts ("3 labels", "4 votes") are
  shown before that: they reveal no choice. Leads and admins are not blind to labels: they
  adjudicate disagreements, so they see every verdict. ``is_review_blind`` is the one place the
  rule lives; the labels API, the case export and the workspace pages all ask it.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from cases.errors import NotAllowed
from cases.models import (
    Account,
    Actor,
    Assignment,
    AssignmentState,
    AttributionDecision,
    AttributionVote,
    Case,
    CaseAccount,
    CaseStatus,
    Confidence,
    Label,
    Membership,
    Queue,
    QueueItem,
    Role,
)

# Labels and votes are taken while a case is open or in review; a decided or closed case is settled.
REVIEWABLE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_REVIEW)
SETTLED_STATUSES = (CaseStatus.DECIDED, CaseStatus.CLOSED)

# How much one vote weighs in the tally, by its confidence. A linear 1-2-3 scale keeps the score
# explainable (a high vote weighs as much as a low and a moderate together): it orders actors by
# how strongly reviewers back them without pretending to be a probability.
CONFIDENCE_WEIGHTS: dict[str, int] = {Confidence.LOW: 1, Confidence.MODERATE: 2, Confidence.HIGH: 3}


def is_review_blind(*, user, case: Case, membership: Membership | None = None) -> bool:
    """Whether ``user`` reviews ``case`` blind: sees other reviewers' labels only on accounts they
    labelled themselves (and others' votes, in an export, not at all).

    False for leads and admins of the case's team (they adjudicate, so they weigh every label) and
    for everyone once the case is decided or closed (nothing left to anchor). True otherwise —
    also for a user who is not in the team, who should not have got this far. Pass ``membership``
    when the caller already has it, to save the query.
    """
    if case.status in SETTLED_STATUSES:
        return False
    if membership is None:
        if user is None or not user.is_authenticated:
            return True
        membership = Membership.objects.filter(user=user, team_id=case.team_id).first()
    return membership is None or membership.role not in (Role.LEAD, Role.ADMIN)


def _require_membership(user, team) -> Membership:
    """The user's membership of the team, or the same 404 a missing object gives."""
    if user is None or not user.is_authenticated:
        raise Http404("No such object.")
    membership = Membership.objects.filter(user=user, team=team).first()
    if membership is None:
        raise Http404("No such object.")
    return membership


# --- queues ------------------------------------------------------------------------------------


def live_lease_q(now: datetime.datetime) -> Q:
    """A lease that still holds: active and not yet past its expiry. At ``expires_at`` it is over."""
    return Q(state=AssignmentState.ACTIVE, expires_at__gt=now)


def claimable_items(*, queue: Queue, user, now: datetime.datetime) -> QuerySet[QueueItem]:
    """Items of the queue the user may claim now, highest priority first, then oldest.

    An item is claimable when it is not done, its case is still under review, the user has not
    labelled that account on that case, has not skipped or completed the item, and the labels
    already completed plus the other reviewers' live leases leave room under the queue's
    ``labels_per_item``. Expired leases count for nothing, whether or not they are marked yet.

    This is a read: it can be stale by the time a caller acts on it. ``claim_next_item`` locks
    the row and checks the room again under the lock.
    """
    live = (
        Assignment.objects.filter(live_lease_q(now), item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    labelled = Label.objects.filter(case=OuterRef("case"), account=OuterRef("account"), annotator=user)
    finished = Assignment.objects.filter(
        item=OuterRef("pk"), user=user, state__in=[AssignmentState.SKIPPED, AssignmentState.COMPLETED]
    )
    return (
        QueueItem.objects.filter(queue=queue, is_done=False, case__status__in=REVIEWABLE_STATUSES)
        .exclude(Exists(labelled))
        .exclude(Exists(finished))
        .alias(taken=F("label_count") + Coalesce(Subquery(live, output_field=IntegerField()), Value(0)))
        .filter(taken__lt=queue.labels_per_item)
        .order_by("-priority", "id")
    )


@dataclass(frozen=True)
class QueueStats:
    """Where a queue stands. ``expired_leases`` counts leases that lapsed, marked or not yet."""

    items: int
    done: int
    in_progress: int
    expired_leases: int
    skipped: int
    labels: int
    labels_per_item: int

    @property
    def backlog(self) -> int:
        return self.items - self.done

    @property
    def labels_needed(self) -> int:
        return max(self.items * self.labels_per_item - self.labels, 0)


def get_queue_stats_for_user(*, queue: Queue, user, now: datetime.datetime | None = None) -> QueueStats:
    """Backlog, leases in progress, lapsed leases and labels of one queue, in two queries."""
    _require_membership(user, queue.team)
    now = now or timezone.now()
    items = QueueItem.objects.filter(queue=queue).aggregate(
        items=Count("pk"),
        done=Count("pk", filter=Q(is_done=True)),
        labels=Coalesce(Sum("label_count"), 0),
    )
    leases = Assignment.objects.filter(item__queue=queue).aggregate(
        in_progress=Count("pk", filter=live_lease_q(now)),
        expired=Count(
            "pk",
            filter=Q(state=AssignmentState.EXPIRED) | Q(state=AssignmentState.ACTIVE, expires_at__lte=now),
        ),
        skipped=Count("pk", filter=Q(state=AssignmentState.SKIPPED)),
    )
    return QueueStats(
        items=items["items"],
        done=items["done"],
        in_progress=leases["in_progress"],
        expired_leases=leases["expired"],
        skipped=leases["skipped"],
        labels=items["labels"],
        labels_per_item=queue.labels_per_item,
    )


@dataclass(frozen=True)
class QueueProgress:
    """One reviewer's view of a queue: what they can claim now, what they hold, what they did today."""

    available: int
    leases: tuple[Assignment, ...]
    completed_today: int


def get_queue_progress_for_user(*, queue: Queue, user, now: datetime.datetime | None = None) -> QueueProgress:
    _require_membership(user, queue.team)
    now = now or timezone.now()
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    leases = tuple(
        Assignment.objects.filter(live_lease_q(now), item__queue=queue, user=user)
        .select_related("item__account", "item__case")
        .order_by("expires_at")
    )
    return QueueProgress(
        available=claimable_items(queue=queue, user=user, now=now).count(),
        leases=leases,
        completed_today=Assignment.objects.filter(
            item__queue=queue, user=user, state=AssignmentState.COMPLETED, completed_at__gte=day_start
        ).count(),
    )


# --- attribution votes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActorTally:
    actor: Actor
    votes: int
    # Sum of CONFIDENCE_WEIGHTS over the actor's votes, and its share of all votes' weight.
    score: int
    share: float
    by_confidence: dict[str, int]


@dataclass(frozen=True)
class VoteTally:
    """The attribution votes of a case as one user may see them.

    ``hidden`` is the "vote first" marker: the user has not voted and the case is still open to
    votes, so ``actors`` and ``votes`` are empty and only the number of votes is given.
    ``votes`` (each vote with its rationale and cited evidence) is filled for leads only.
    """

    hidden: bool
    vote_count: int
    quorum: int
    my_vote: AttributionVote | None
    actors: tuple[ActorTally, ...] = ()
    votes: tuple[AttributionVote, ...] = ()
    decision: AttributionDecision | None = None
    by_confidence: dict[str, int] = field(default_factory=dict)

    @property
    def quorum_met(self) -> bool:
        return self.vote_count >= self.quorum

    @property
    def leading(self) -> ActorTally | None:
        return self.actors[0] if self.actors else None


def _tally(case: Case, *, with_votes: bool, my_vote: AttributionVote | None, hidden: bool) -> VoteTally:
    standing = AttributionDecision.objects.filter(case=case, withdrawn_at__isnull=True).first()
    if hidden:
        return VoteTally(
            hidden=True,
            vote_count=AttributionVote.objects.filter(case=case).count(),
            quorum=case.team.attribution_quorum,
            my_vote=my_vote,
            decision=standing,
        )
    votes = list(
        AttributionVote.objects.filter(case=case).select_related("actor", "voter").order_by("created_at")
    )
    if with_votes:
        # Rationale and cited evidence: one query for all votes, not one per vote.
        votes = list(
            AttributionVote.objects.filter(pk__in=[v.pk for v in votes])
            .select_related("actor", "voter")
            .prefetch_related("cited_evidence")
            .order_by("created_at")
        )
    total_weight = sum(CONFIDENCE_WEIGHTS[v.confidence] for v in votes)
    per_actor: dict[int, list[AttributionVote]] = {}
    for vote in votes:
        per_actor.setdefault(vote.actor_id, []).append(vote)
    actors = [
        ActorTally(
            actor=group[0].actor,
            votes=len(group),
            score=(score := sum(CONFIDENCE_WEIGHTS[v.confidence] for v in group)),
            share=score / total_weight if total_weight else 0.0,
            by_confidence=dict(Counter(v.confidence for v in group)),
        )
        for group in per_actor.values()
    ]
    actors.sort(key=lambda t: (-t.score, -t.votes, t.actor.name))
    return VoteTally(
        hidden=False,
        vote_count=len(votes),
        quorum=case.team.attribution_quorum,
        my_vote=my_vote,
        actors=tuple(actors),
        votes=tuple(votes) if with_votes else (),
        decision=standing,
        by_confidence=dict(Counter(v.confidence for v in votes)),
    )


def get_vote_tally_for_user(*, case: Case, user) -> VoteTally:
    """The tally a voter may see: hidden (``hidden=True``, counts only) until the user has voted,
    unless the case is decided or closed. Then per-actor vote counts and confidence-weighted
    scores (low=1, moderate=2, high=3). Leads get the same blind view here; the decision page
    uses ``get_votes_for_lead``.
    """
    _require_membership(user, case.team)
    my_vote = AttributionVote.objects.filter(case=case, voter=user).select_related("actor").first()
    hidden = my_vote is None and case.status not in SETTLED_STATUSES
    return _tally(case, with_votes=False, my_vote=my_vote, hidden=hidden)


def get_votes_for_lead(*, case: Case, user) -> VoteTally:
    """Every vote with its rationale and cited evidence, and the tally: what a lead weighs before
    deciding. Leads and admins only (NotAllowed for moderators)."""
    membership = _require_membership(user, case.team)
    if membership.role not in (Role.LEAD, Role.ADMIN):
        raise NotAllowed("Only a lead or admin of the team may see every vote before voting.")
    my_vote = AttributionVote.objects.filter(case=case, voter=user).select_related("actor").first()
    return _tally(case, with_votes=True, my_vote=my_vote, hidden=False)


# --- label agreement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement so far on one account of a case, as one user may see it.

    ``hidden`` until the user has labelled the account (and the case is not settled): then only
    ``label_count`` is given. ``agreement`` is observed pairwise agreement — the share of pairs of
    labels that give the same verdict — and is None below two labels.
    """

    account_id: int
    label_count: int
    hidden: bool
    my_verdict: str | None
    verdicts: dict[str, int] = field(default_factory=dict)

    @property
    def agreement(self) -> float | None:
        n = self.label_count
        if self.hidden or n < 2:
            return None
        return sum(c * (c - 1) for c in self.verdicts.values()) / (n * (n - 1))

    @property
    def majority(self) -> str | None:
        """The verdict most labels give, or None when hidden, unlabelled or tied at the top."""
        if self.hidden or not self.verdicts:
            return None
        ranked = Counter(self.verdicts).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None
        return ranked[0][0]


def list_label_agreement_for_user(*, case: Case, user) -> dict[int, LabelAgreement]:
    """Agreement so far for every account on the case, keyed by account id, in three queries."""
    membership = _require_membership(user, case.team)
    account_ids = list(CaseAccount.objects.filter(case=case).values_list("account_id", flat=True))
    return list_label_agreement_for_accounts(
        case=case, user=user, account_ids=account_ids, membership=membership
    )


def list_label_agreement_for_accounts(
    *, case: Case, user, account_ids: list[int], membership: Membership | None = None
) -> dict[int, LabelAgreement]:
    """Agreement so far for the given accounts of the case (one page of a large case, or all of
    them): one query for the labels, whatever the number, and one for the user's role unless
    ``membership`` is given. The caller fetched the case through the user's teams."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in account_ids}
    mine: dict[int, str] = {}
    for row in (
        Label.objects.filter(case=case, account_id__in=account_ids)
        .values("account_id", "verdict")
        .annotate(n=Count("pk"), own=Count("pk", filter=Q(annotator=user)))
        .order_by()
    ):
        counts[row["account_id"]][row["verdict"]] = row["n"]
        if row["own"]:
            mine[row["account_id"]] = row["verdict"]
    blind = is_review_blind(user=user, case=case, membership=membership)
    result = {}
    for pk in account_ids:
        hidden = pk not in mine and blind
        result[pk] = LabelAgreement(
            account_id=pk,
            label_count=sum(counts[pk].values()),
            hidden=hidden,
            my_verdict=mine.get(pk),
            verdicts={} if hidden else counts[pk],
        )
    return result


def get_label_agreement_for_user(*, case: Case, account: Account, user) -> LabelAgreement:
    """Agreement so far on one account (the review screen with labels_per_item > 1)."""
    membership = _require_membership(user, case.team)
    if account.team_id != case.team_id:
        raise Http404("No such object.")
    return list_label_agreement_for_accounts(
        case=case, user=user, account_ids=[account.pk], membership=membership
    )[account.pk]
