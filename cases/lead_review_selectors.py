"""Reads of the lead console's review part: agreement and conflicts, the attribution decision,
account outcomes and the case's audit timeline.

Every function here is for leads and admins of the object's team: another team's user gets the
same ``Http404`` as for a missing object, and a moderator of the team ``NotAllowed`` (403) — these
pages show every reviewer's labels and votes, which a moderator sees only after their own
(``review_selectors.is_review_blind``).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from cases.agreement import AgreementReport, RaterAgreement, majority, measure
from cases.errors import NotAllowed
from cases.models import (
    Account,
    AccountOutcome,
    Actor,
    Adjudication,
    AttributionDecision,
    AttributionVote,
    AuditEvent,
    Case,
    CaseAccount,
    CaseStatus,
    Label,
    Membership,
    Queue,
    QueueItem,
    Role,
)
from cases.review_selectors import VoteTally, get_votes_for_lead

LEAD_ROLES = (Role.LEAD, Role.ADMIN)


def is_lead_of(user, team) -> bool:
    """Whether the user is a lead or admin of the team (for showing lead-only buttons)."""
    if user is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, team=team, role__in=LEAD_ROLES).exists()


def require_lead(user, team) -> Membership:
    """The user's lead membership of the team; 404 for a non-member, NotAllowed for a moderator."""
    if user is None or not user.is_authenticated:
        raise Http404("No such object.")
    membership = Membership.objects.filter(user=user, team=team).first()
    if membership is None:
        raise Http404("No such object.")
    if membership.role not in LEAD_ROLES:
        raise NotAllowed("Only a lead or admin of the team may do this.")
    return membership


# --- agreement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerAgreement:
    user: Any
    stats: RaterAgreement


@dataclass
class AccountReview:
    """One account's labels as a lead weighs them, with the standing adjudication if any."""

    account: Account
    case: Case
    labels: list[Label] = field(default_factory=list)
    adjudications: list[Adjudication] = field(default_factory=list)  # newest first

    @property
    def verdict_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label.verdict] = counts.get(label.verdict, 0) + 1
        return counts

    @property
    def majority(self) -> str | None:
        return majority(label.verdict for label in self.labels)

    @property
    def adjudication(self) -> Adjudication | None:
        return self.adjudications[0] if self.adjudications else None

    @property
    def final_verdict(self) -> str | None:
        """The lead's adjudication where there is one, else the labels' majority (None on a tie)."""
        return self.adjudication.verdict if self.adjudication else self.majority

    @property
    def resolved(self) -> bool:
        return self.adjudication is not None


@dataclass(frozen=True)
class Agreement:
    """Agreement over a set of (case, account) units, and one page of its conflicts as
    ``AccountReview`` rows (``page`` pages the conflicts shown: all, or only the open ones)."""

    report: AgreementReport
    reviewers: list[ReviewerAgreement]
    conflicts: list[AccountReview]
    conflict_count: int
    open_conflict_count: int
    page: Page


def _ratings(labels: QuerySet[Label]) -> dict[tuple[int, int], dict[int, str]]:
    ratings: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    for case_id, account_id, annotator_id, verdict in labels.values_list(
        "case_id", "account_id", "annotator_id", "verdict"
    ).order_by("case_id", "account_id", "annotator_id"):
        ratings[(case_id, account_id)][annotator_id] = verdict
    return ratings


def _agreement(
    *,
    units: list[tuple[int, int]],
    labels: QuerySet[Label],
    adjudications: QuerySet[Adjudication],
    only_open: bool,
    page: int | str | None,
    per_page: int,
) -> Agreement:
    """The numbers from the labels' values (one query) and which conflicts are adjudicated (one
    more); then full rows — account, labels with their reviewers, adjudications — for one page of
    conflicts only (three more). A fixed number of queries, whatever the number of units."""
    ratings = _ratings(labels)
    report = measure({unit: ratings.get(unit, {}) for unit in units})
    users = get_user_model().objects.in_bulk(list(report.by_rater))
    reviewers = sorted(
        (ReviewerAgreement(user=users[pk], stats=stats) for pk, stats in report.by_rater.items()),
        key=lambda r: (r.stats.rate is None, -(r.stats.rate or 0), r.user.get_username()),
    )
    conflict_units = set(report.conflicts)
    adjudicated = (
        set(adjudications.values_list("case_id", "account_id").distinct().order_by()) & conflict_units
    )
    open_units = [unit for unit in report.conflicts if unit not in adjudicated]
    shown = open_units if only_open else report.conflicts
    current = Paginator(shown, per_page).get_page(page)
    wanted = list(current.object_list)
    case_ids = {case_id for case_id, _ in wanted}
    account_ids = {account_id for _, account_id in wanted}
    rows: dict[tuple[int, int], AccountReview] = {}
    if wanted:
        links = CaseAccount.objects.filter(case_id__in=case_ids, account_id__in=account_ids).select_related(
            "account", "case"
        )
        for link in links.order_by():
            rows[(link.case_id, link.account_id)] = AccountReview(account=link.account, case=link.case)
        for adj in (
            adjudications.filter(case_id__in=case_ids, account_id__in=account_ids)
            .select_related("decided_by")
            .order_by("-created_at", "-pk")
        ):
            if (adj.case_id, adj.account_id) in rows:
                rows[(adj.case_id, adj.account_id)].adjudications.append(adj)
        for label in (
            labels.filter(case_id__in=case_ids, account_id__in=account_ids)
            .select_related("annotator")
            .order_by("created_at", "pk")
        ):
            if (label.case_id, label.account_id) in rows:
                rows[(label.case_id, label.account_id)].labels.append(label)
    return Agreement(
        report=report,
        reviewers=reviewers,
        conflicts=[rows[unit] for unit in wanted if unit in rows],
        conflict_count=len(report.conflicts),
        open_conflict_count=len(open_units),
        page=current,
    )


def get_case_agreement_for_lead(
    *, case: Case, user, only_open: bool = False, page: int | str | None = 1, per_page: int = 25
) -> Agreement:
    """Percent agreement, Krippendorff's alpha, each reviewer's agreement with the majority, and
    one page of the conflicts (with every label and adjudication) of one case. Leads only."""
    require_lead(user, case.team)
    units = [
        (case.pk, pk) for pk in CaseAccount.objects.filter(case=case).values_list("account_id", flat=True)
    ]
    return _agreement(
        units=units,
        labels=Label.objects.filter(case=case),
        adjudications=Adjudication.objects.filter(case=case),
        only_open=only_open,
        page=page,
        per_page=per_page,
    )


def get_queue_agreement_for_lead(
    *, queue: Queue, user, only_open: bool = False, page: int | str | None = 1, per_page: int = 25
) -> Agreement:
    """The same over the items of a review queue (which may span cases). Leads only."""
    require_lead(user, queue.team)
    units = list(QueueItem.objects.filter(queue=queue).values_list("case_id", "account_id").order_by("pk"))
    in_queue = QueueItem.objects.filter(queue=queue, case=OuterRef("case"), account=OuterRef("account"))
    return _agreement(
        units=units,
        labels=Label.objects.filter(Exists(in_queue)),
        adjudications=Adjudication.objects.filter(Exists(in_queue)),
        only_open=only_open,
        page=page,
        per_page=per_page,
    )


def get_account_review_for_lead(*, case: Case, account_id: int, user) -> AccountReview:
    """One account of the case with every label and adjudication (the adjudication form's row)."""
    require_lead(user, case.team)
    link = CaseAccount.objects.filter(case=case, account_id=account_id).select_related("account").first()
    if link is None:
        raise Http404("No such account on this case.")
    return AccountReview(
        account=link.account,
        case=case,
        labels=list(
            Label.objects.filter(case=case, account_id=account_id)
            .select_related("annotator")
            .order_by("created_at", "pk")
        ),
        adjudications=list(
            Adjudication.objects.filter(case=case, account_id=account_id)
            .select_related("decided_by")
            .order_by("-created_at", "-pk")
        ),
    )


def get_queue_for_lead(user, queue_id: int) -> Queue:
    queue = Queue.objects.filter(pk=queue_id, team__memberships__user=user.pk).select_related("team").first()
    if queue is None:
        raise Http404("No such queue.")
    return queue


# --- attribution decision ------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionPage:
    tally: VoteTally
    # Actors another voter (not the viewing lead) voted for: the ones a decision may rest on.
    four_eyes_actor_ids: frozenset[int]
    dissent: list[AttributionVote]
    history: list[AttributionDecision]
    actors: list[Actor]

    @property
    def can_decide(self) -> bool:
        return self.tally.quorum_met and bool(self.four_eyes_actor_ids)


def get_decision_page_for_lead(*, case: Case, user) -> DecisionPage:
    """Every vote (actor, confidence, rationale, cited evidence), the confidence-weighted tally,
    the dissent (votes against the leading actor — or, once decided, against the decision), the
    quorum, which actors pass the four-eyes rule for this lead, and every decision ever made on
    the case, withdrawn ones included. Leads only. A fixed number of queries."""
    require_lead(user, case.team)
    tally = get_votes_for_lead(case=case, user=user)
    four_eyes = frozenset(v.actor_id for v in tally.votes if v.voter_id != user.pk)
    reference = (
        tally.decision.actor_id if tally.decision else (tally.leading.actor.pk if tally.leading else None)
    )
    dissent = [v for v in tally.votes if reference is not None and v.actor_id != reference]
    history = list(
        AttributionDecision.objects.filter(case=case)
        .select_related("actor", "decided_by")
        .order_by("-decided_at", "-pk")
    )
    return DecisionPage(
        tally=tally,
        four_eyes_actor_ids=four_eyes,
        dissent=dissent,
        history=history,
        actors=list(Actor.objects.filter(team=case.team).order_by("name")),
    )


# --- outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeRow:
    link: CaseAccount
    final_verdict: str | None
    adjudicated: bool
    label_count: int
    outcome: AccountOutcome | None


def is_outcome_settable(case: Case) -> bool:
    """Outcomes are set on a decided case (or a closed one whose decision stands)."""
    if case.status == CaseStatus.DECIDED:
        return True
    return (
        case.status == CaseStatus.CLOSED
        and AttributionDecision.objects.filter(case=case, withdrawn_at__isnull=True).exists()
    )


def list_outcome_rows(*, case: Case, user, account_ids: list[int] | None = None) -> list[OutcomeRow]:
    """The accounts of a case with their final verdict (adjudication, else label majority) and
    outcome. Any member of the team may read it once the case is settled (nothing left to anchor);
    before that, leads only. Four queries for any number of accounts (pass a page's ids to page)."""
    membership = Membership.objects.filter(user=user.pk, team=case.team).first()
    if membership is None:
        raise Http404("No such object.")
    if membership.role not in LEAD_ROLES and case.status not in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        raise NotAllowed("Only a lead or admin of the team may see this before the case is decided.")
    links = CaseAccount.objects.filter(case=case).select_related("account").order_by("added_at", "pk")
    if account_ids is not None:
        links = links.filter(account_id__in=account_ids)
    links = list(links)
    ids = [link.account_id for link in links]
    verdicts: dict[int, list[str]] = defaultdict(list)
    for account_id, verdict in Label.objects.filter(case=case, account_id__in=ids).values_list(
        "account_id", "verdict"
    ):
        verdicts[account_id].append(verdict)
    adjudicated: dict[int, str] = {}
    for account_id, verdict in (
        Adjudication.objects.filter(case=case, account_id__in=ids)
        .order_by("account_id", "-created_at", "-pk")
        .values_list("account_id", "verdict")
    ):
        adjudicated.setdefault(account_id, verdict)
    outcomes = {
        o.account_id: o
        for o in AccountOutcome.objects.filter(case=case, account_id__in=ids).select_related("set_by")
    }
    return [
        OutcomeRow(
            link=link,
            final_verdict=adjudicated.get(link.account_id) or majority(verdicts[link.account_id]),
            adjudicated=link.account_id in adjudicated,
            label_count=len(verdicts[link.account_id]),
            outcome=outcomes.get(link.account_id),
        )
        for link in links
    ]


# --- timeline ------------------------------------------------------------------------------------


def list_case_timeline_for_lead(*, case: Case, user) -> QuerySet[AuditEvent]:
    """Every audit event about the case, newest first: events whose target is the case and events
    that name it in their data (labels, votes, evidence, decisions, claims, adjudications,
    outcomes). Leads only. Page it; one query per page plus the count."""
    require_lead(user, case.team)
    return (
        AuditEvent.objects.filter(team=case.team)
        .filter(Q(target_type="cases.case", target_id=str(case.pk)) | Q(data__case=case.pk))
        .select_related("user")
        .order_by("-at", "-pk")
    )
