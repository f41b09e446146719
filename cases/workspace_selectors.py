"""Reads of the moderator workspace: what a reviewer can work now, everything the review screen
shows about one account, a case's label status and technique coverage.

Same two rules as ``cases.review_selectors``:

* **Team scope.** Every object is fetched through the user's teams; another team's id is the same
  ``Http404`` as a missing one.
* **Blindness.** Other reviewers' verdicts on an account are shown only after the user labelled
  that account (or once the case is settled). Counts are shown before: they reveal no choice.

Every function here runs a fixed number of queries whatever the number of rows, so list pages
cannot grow an N+1 (the page tests assert it).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cases.models import (
    Account,
    Assignment,
    AssignmentState,
    BrandAccount,
    BrandDomain,
    Case,
    CaseAccount,
    Evidence,
    EvidenceFile,
    Label,
    MediaBrand,
    Queue,
    QueueItem,
    QueueReviewer,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
    Technique,
)
from cases.review_selectors import (
    REVIEWABLE_STATUSES,
    is_review_blind,
    live_lease_q,
)
from cases.selectors import list_teams_for_user

RECENT_TECHNIQUES = 8
SUGGESTIONS_SHOWN = 20


def _day_start(now: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# --- My work -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueWork:
    """One queue as one reviewer sees it on "My work"."""

    queue: Queue
    # Items the user could claim now (not counting items they already hold).
    available: int
    items: int
    done: int
    leases: tuple[Assignment, ...]
    completed_today: int

    @property
    def holds(self) -> bool:
        return bool(self.leases)

    @property
    def can_claim(self) -> bool:
        return self.queue.is_active and (self.available > 0 or self.holds)


@dataclass(frozen=True)
class WorkOverview:
    team: Team
    queues: tuple[QueueWork, ...]
    labels_today: int
    now: datetime.datetime

    @property
    def leases(self) -> list[Assignment]:
        return sorted((a for q in self.queues for a in q.leases), key=lambda a: a.expires_at)

    @property
    def available(self) -> int:
        return sum(q.available for q in self.queues if q.queue.is_active)

    @property
    def next_queue(self) -> Queue | None:
        """Where "next" goes: a queue where the user holds a lease (to go on with it), else the
        first active queue with something left."""
        for work in self.queues:
            if work.holds:
                return work.queue
        for work in self.queues:
            if work.can_claim:
                return work.queue
        return None


def _available_by_queue(queues: list[Queue], user, now: datetime.datetime) -> dict[int, int]:
    """``claimable_items`` counted for many queues in one query, less the items the user holds.

    Mirrors ``review_selectors.claimable_items`` (a test holds the two to the same numbers), with
    the queue's ``labels_per_item`` read from the joined row instead of the Python object.
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
    held = Assignment.objects.filter(live_lease_q(now), item=OuterRef("pk"), user=user)
    rows = (
        QueueItem.objects.filter(queue__in=queues, is_done=False, case__status__in=REVIEWABLE_STATUSES)
        .exclude(Exists(labelled))
        .exclude(Exists(finished))
        .exclude(Exists(held))
        .alias(taken=F("label_count") + Coalesce(Subquery(live, output_field=IntegerField()), Value(0)))
        .filter(taken__lt=F("queue__labels_per_item"))
        .order_by()
        .values("queue")
        .annotate(n=Count("pk"))
    )
    return {row["queue"]: row["n"] for row in rows}


def get_work_overview_for_user(*, user, team: Team, now: datetime.datetime | None = None) -> WorkOverview:
    """The team's queues with what is left for the user, their live leases, what they completed
    today, and how many labels they gave today. Six queries, whatever the number of queues."""
    now = now or timezone.now()
    day_start = _day_start(now)
    # A queue with a reviewer list (lead console) is work only for the reviewers on it.
    listed = QueueReviewer.objects.filter(queue=OuterRef("pk"))
    queues = list(
        Queue.objects.filter(team=team)
        .filter(~Exists(listed) | Exists(listed.filter(user=user)))
        .select_related("case")
        .order_by("-is_active", "name")
    )
    available = _available_by_queue(queues, user, now)
    totals = {
        row["queue"]: row
        for row in QueueItem.objects.filter(queue__in=queues)
        .order_by()
        .values("queue")
        .annotate(items=Count("pk"), done=Count("pk", filter=Q(is_done=True)))
    }
    leases: dict[int, list[Assignment]] = defaultdict(list)
    for lease in (
        Assignment.objects.filter(live_lease_q(now), user=user, item__queue__in=queues)
        .select_related("item__account", "item__case")
        .order_by("expires_at")
    ):
        leases[lease.item.queue_id].append(lease)
    completed = dict(
        Assignment.objects.filter(
            user=user,
            item__queue__in=queues,
            state=AssignmentState.COMPLETED,
            completed_at__gte=day_start,
        )
        .order_by()
        .values("item__queue")
        .annotate(n=Count("pk"))
        .values_list("item__queue", "n")
    )
    labels_today = Label.objects.filter(annotator=user, case__team=team, created_at__gte=day_start).count()
    return WorkOverview(
        team=team,
        queues=tuple(
            QueueWork(
                queue=queue,
                available=available.get(queue.pk, 0),
                items=totals.get(queue.pk, {}).get("items", 0),
                done=totals.get(queue.pk, {}).get("done", 0),
                leases=tuple(leases.get(queue.pk, ())),
                completed_today=completed.get(queue.pk, 0),
            )
            for queue in queues
        ),
        labels_today=labels_today,
        now=now,
    )


def get_queue_for_user(user, queue_id: int) -> Queue:
    return get_object_or_404(
        Queue.objects.filter(team__in=list_teams_for_user(user)).select_related("team"), pk=queue_id
    )


def get_assignment_for_user(user, assignment_id: int) -> Assignment:
    """The user's own assignment. Someone else's — even a teammate's — is the same 404."""
    return get_object_or_404(
        Assignment.objects.filter(user=user, item__queue__team__in=list_teams_for_user(user)).select_related(
            "item__queue__team", "item__case__team", "item__account"
        ),
        pk=assignment_id,
    )


# --- the review screen -------------------------------------------------------------------------


def list_account_posts(account: Account) -> QuerySet:
    """An account's posts, newest first, each with the post it copies and that post's author."""
    return account.posts.select_related("copied_from__account").order_by(
        F("posted_at").desc(nulls_last=True), "-id"
    )


def list_account_brands(account: Account) -> list[BrandAccount]:
    """The media brands the account runs or amplifies, with their domains: two queries."""
    return list(
        BrandAccount.objects.filter(account=account)
        .select_related("brand")
        .prefetch_related(Prefetch("brand__domains", queryset=BrandDomain.objects.order_by("domain")))
        .order_by("brand__name")
    )


def _evidence_queryset() -> QuerySet:
    return (
        Evidence.objects.select_related("captured_by", "retracted_by", "account", "brand")
        .prefetch_related(
            Prefetch("techniques", queryset=Technique.objects.order_by("order")),
            Prefetch("files", queryset=EvidenceFile.objects.order_by("id")),
        )
        .order_by("-captured_at", "-pk")
    )


def list_account_evidence(*, case: Case, account: Account) -> list[Evidence]:
    """The case's evidence about this account — retractions included, they are part of the record."""
    return list(_evidence_queryset().filter(case=case, account=account))


def list_case_evidence_full(case: Case) -> QuerySet:
    """A case's evidence with who captured it, techniques and files, for listing: three queries a page."""
    return _evidence_queryset().filter(case=case)


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion seen from one account: the other account of the pair, and whether it is on the case."""

    suggestion: SimilaritySuggestion
    other: Account
    on_case: bool


def list_suggestions_for_account(
    *, account: Account, case: Case, limit: int = SUGGESTIONS_SHOWN
) -> list[SuggestionView]:
    """New suggestions involving the account, best first: two queries."""
    suggestions = list(
        SimilaritySuggestion.objects.filter(
            Q(account_a=account) | Q(account_b=account), team=account.team_id, status=SuggestionStatus.NEW
        )
        .select_related("account_a", "account_b")
        .order_by("-score", "pk")[:limit]
    )
    others = [s.account_b if s.account_a_id == account.pk else s.account_a for s in suggestions]
    on_case = set(
        CaseAccount.objects.filter(case=case, account__in=others).values_list("account_id", flat=True)
    )
    return [
        SuggestionView(suggestion=s, other=other, on_case=other.pk in on_case)
        for s, other in zip(suggestions, others, strict=True)
    ]


def get_suggestion_for_user(user, suggestion_id: int) -> SimilaritySuggestion:
    return get_object_or_404(
        SimilaritySuggestion.objects.filter(team__in=list_teams_for_user(user)).select_related(
            "account_a", "account_b", "team"
        ),
        pk=suggestion_id,
    )


def get_own_label(*, case: Case, account: Account, user) -> Label | None:
    return (
        Label.objects.filter(case=case, account=account, annotator=user)
        .prefetch_related(Prefetch("techniques", queryset=Technique.objects.order_by("order")))
        .first()
    )


# --- techniques --------------------------------------------------------------------------------


def list_recent_techniques_for_user(user, *, limit: int = RECENT_TECHNIQUES) -> list[Technique]:
    """The techniques the user cited last — in labels and in evidence — most recent first."""
    in_labels = dict(
        Technique.objects.filter(labels__annotator=user)
        .annotate(last=Max("labels__updated_at"))
        .order_by("-last")
        .values_list("pk", "last")[:limit]
    )
    in_evidence = dict(
        Technique.objects.filter(evidence__captured_by=user)
        .annotate(last=Max("evidence__captured_at"))
        .order_by("-last")
        .values_list("pk", "last")[:limit]
    )
    last = in_evidence | {pk: max(at, in_evidence.get(pk, at)) for pk, at in in_labels.items()}
    ranked = sorted(last, key=lambda pk: last[pk], reverse=True)[:limit]
    by_pk = Technique.objects.in_bulk(ranked)
    return [by_pk[pk] for pk in ranked if pk in by_pk]


def search_techniques(query: str, *, limit: int = 60) -> list[Technique]:
    """Procedures whose code or any of its tactic, technique or procedure names contain every word."""
    techniques = Technique.objects.order_by("order")
    for word in query.split()[:8]:
        techniques = techniques.filter(
            Q(procedure_code__istartswith=word)
            | Q(procedure__icontains=word)
            | Q(technique__icontains=word)
            | Q(tactic__icontains=word)
        )
    return list(techniques[:limit])


# --- the case page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TacticCoverage:
    code: str
    name: str
    evidence: int
    labels: int
    procedures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.evidence + self.labels


def get_technique_coverage_for_user(*, case: Case, user) -> list[TacticCoverage]:
    """Every kill-chain tactic with how often the case cites it: in standing evidence, and in
    labels on accounts the user has labelled themselves (others' labels stay blind until then,
    see ``is_review_blind``; all labels for leads and once the case is settled). Four queries."""
    tactics: dict[str, str] = {}
    for code, name in Technique.objects.order_by("order").values_list("tactic_code", "tactic"):
        tactics.setdefault(code, name)
    standing = Evidence.objects.filter(case=case).active()
    in_evidence = dict(
        Technique.objects.filter(evidence__in=standing)
        .order_by()
        .values("tactic_code")
        .annotate(n=Count("evidence", distinct=True))
        .values_list("tactic_code", "n")
    )
    labels = Label.objects.filter(case=case)
    if is_review_blind(user=user, case=case):
        labels = labels.filter(
            Exists(Label.objects.filter(case=case, account=OuterRef("account"), annotator=user))
        )
    in_labels = dict(
        Technique.objects.filter(labels__in=labels)
        .order_by()
        .values("tactic_code")
        .annotate(n=Count("labels", distinct=True))
        .values_list("tactic_code", "n")
    )
    return [
        TacticCoverage(code=code, name=name, evidence=in_evidence.get(code, 0), labels=in_labels.get(code, 0))
        for code, name in tactics.items()
    ]


def list_team_brands(team: Team) -> QuerySet[MediaBrand]:
    return MediaBrand.objects.filter(team=team).order_by("name")


def get_evidence_file_for_user(user, file_id: int) -> EvidenceFile:
    return get_object_or_404(
        EvidenceFile.objects.filter(evidence__case__team__in=list_teams_for_user(user)).select_related(
            "evidence__case"
        ),
        pk=file_id,
    )


def get_case_account_by_handle(*, case: Case, handle: str) -> Account | None:
    """An account on the case by its handle (as typed, with or without '@'), or None."""
    from cases.handles import normalize_handle

    normalized = normalize_handle(handle)
    if not normalized:
        return None
    return Account.objects.filter(case_links__case=case, handle_normalized=normalized).order_by("pk").first()
