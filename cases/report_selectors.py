"""Reads of the lead console's network graph and case report.

Same two rules as ``cases.review_selectors`` and ``cases.workspace_selectors``:

* **Team scope.** The caller fetched the case through ``get_case_for_user`` (another team's case is
  the same 404 as a missing one); everything here reads from that case only.
* **Blindness.** Other reviewers' verdicts on an account are shown to a moderator only for the
  accounts they labelled themselves, until the case is settled; leads and admins see them all
  (``cases.exporters.case.review_visible_to``). The same holds for votes.

Every function runs a fixed number of queries whatever the size of the case (the tests assert it).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from cases.models import (
    Account,
    AccountOutcome,
    Adjudication,
    AttributionDecision,
    AttributionVote,
    BrandAccount,
    Case,
    CaseAccount,
    Confidence,
    Evidence,
    EvidenceFile,
    Label,
    Platform,
    Post,
    SimilaritySuggestion,
    SuggestionStatus,
    Technique,
)
from cases.review_selectors import is_review_blind
from cases.similarity_selectors import SIGNAL_SPEAKS, default_threshold
from cases.workspace_selectors import TacticCoverage, get_technique_coverage_for_user

# More accounts than this and the graph shows the first ones (in the order they were added) and
# says so: beyond a few thousand nodes a force layout in the browser stops being readable anyway.
MAX_GRAPH_ACCOUNTS = 1500
# The edge kinds of the graph, each a "signal" the page can filter on, besides the engine's own
# signals on suggestion edges.
SHARED_BRAND = "shared_brand"
COPIED_POST = "copied_post"
BIO_SHOWN = 280

# The words the report uses for each confidence level, without the choice's short name.
CONFIDENCE_WORDS = {value: label.split("—", 1)[1].strip() for value, label in Confidence.choices}


# --- verdicts and outcomes ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountVerdict:
    """What the team concluded about one account of the case, as one user may see it.

    ``verdict`` is the adjudicated verdict when a lead adjudicated the account, else the labels'
    majority; ``disputed`` when the labels tie at the top; ``unlabelled``; or ``hidden`` when the
    user may not see other reviewers' verdicts on it yet.
    """

    verdict: str
    source: str  # "adjudication", "majority", "" (none)
    label_count: int
    counts: dict[str, int] = field(default_factory=dict)


HIDDEN = "hidden"
DISPUTED = "disputed"
UNLABELLED = "unlabelled"


def _linked_accounts(case: Case) -> QuerySet:
    return CaseAccount.objects.filter(case=case).values("account_id")


def _latest_adjudications(case: Case) -> dict[int, Any]:
    latest: dict[int, Any] = {}
    for row in Adjudication.objects.filter(case=case).order_by("created_at", "pk"):
        latest[row.account_id] = row  # newest last, so the newest stands
    return latest


def _latest_outcomes(case: Case) -> dict[int, Any]:
    latest: dict[int, Any] = {}
    for row in AccountOutcome.objects.filter(case=case).select_related("set_by").order_by("set_at", "pk"):
        latest[row.account_id] = row
    return latest


def list_account_verdicts(*, case: Case, user, reveal: bool | None = None) -> dict[int, AccountVerdict]:
    """The verdict on every account of the case that ``user`` may see, keyed by account id:
    three queries (label counts, the user's own labels, adjudications)."""
    if reveal is None:
        reveal = not is_review_blind(user=user, case=case)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Label.objects.filter(case=case, account_id__in=_linked_accounts(case))
        .values("account_id", "verdict")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[row["account_id"]][row["verdict"]] = row["n"]
    mine: set[int] = set()
    if not reveal:
        mine = set(Label.objects.filter(case=case, annotator=user).values_list("account_id", flat=True))
    adjudicated = _latest_adjudications(case)
    result: dict[int, AccountVerdict] = {}
    for account_id in CaseAccount.objects.filter(case=case).values_list("account_id", flat=True):
        verdicts = counts.get(account_id, {})
        n = sum(verdicts.values())
        if not reveal and account_id not in mine:
            result[account_id] = AccountVerdict(verdict=HIDDEN, source="", label_count=n)
            continue
        if account_id in adjudicated:
            verdict, source = adjudicated[account_id].verdict, "adjudication"
        elif not verdicts:
            verdict, source = UNLABELLED, ""
        else:
            ranked = Counter(verdicts).most_common()
            tied = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
            verdict, source = (DISPUTED, "majority") if tied else (ranked[0][0], "majority")
        result[account_id] = AccountVerdict(verdict=verdict, source=source, label_count=n, counts=verdicts)
    return result


# --- the network graph ----------------------------------------------------------------------------


def node_size(followers: int | None) -> float:
    """Node diameter in pixels: grows with the log of followers, so a 1M-follower outlet is four
    times a fresh sock puppet rather than a hundred thousand times."""
    if not followers or followers < 0:
        return 18.0
    return round(min(18.0 + 9.0 * math.log10(followers + 1), 72.0), 1)


def _account_node(account: Account, verdict: AccountVerdict | None, outcome, *, on_case: bool) -> dict:
    return {
        "data": {
            "id": f"a{account.pk}",
            "kind": "account" if on_case else "source",
            "account": account.pk,
            "label": f"@{account.handle}",
            "handle": account.handle,
            "display_name": account.display_name,
            "bio": account.bio[:BIO_SHOWN],
            "platform": account.get_platform_display(),
            "account_kind": account.kind,
            "followers": account.followers,
            "size": node_size(account.followers),
            "verdict": verdict.verdict if verdict else "outside",
            "verdict_source": verdict.source if verdict else "",
            "labels": verdict.label_count if verdict else 0,
            "outcome": outcome.get_outcome_display() if outcome is not None else "",
        }
    }


def get_case_graph_for_user(*, case: Case, user) -> dict[str, Any]:
    """The case as a graph for cytoscape.js: accounts (coloured by verdict, sized by followers),
    the media brands they run or amplify, the outside accounts whose posts they copied, and the
    edges between them — accepted suggestions, strong pending ones (``status: pending``), shared
    brands and copied posts. Each edge names its ``signals`` for the page's filter.

    Nine queries whatever the size of the case.
    """
    links = list(
        CaseAccount.objects.filter(case=case)
        .select_related("account")
        .order_by("added_at", "pk")[: MAX_GRAPH_ACCOUNTS + 1]
    )
    truncated = len(links) > MAX_GRAPH_ACCOUNTS
    links = links[:MAX_GRAPH_ACCOUNTS]
    accounts = {link.account_id: link.account for link in links}
    verdicts = list_account_verdicts(case=case, user=user)
    outcomes = _latest_outcomes(case)
    nodes = [_account_node(a, verdicts.get(pk), outcomes.get(pk), on_case=True) for pk, a in accounts.items()]
    edges: list[dict] = []
    ids = list(accounts)

    # Suggestions between two accounts of the case: accepted ones, and new ones at least as strong
    # as the team's sweep threshold (two signal families agree), drawn dashed.
    threshold = default_threshold(case.team)
    suggestions = (
        SimilaritySuggestion.objects.filter(team=case.team_id, account_a__in=ids, account_b__in=ids)
        .filter(Q(status=SuggestionStatus.ACCEPTED) | Q(status=SuggestionStatus.NEW, score__gte=threshold))
        .order_by("-score", "pk")
        .values_list("pk", "account_a_id", "account_b_id", "score", "status", "signals")
    )
    for pk, a, b, score, status, signals in suggestions:
        speaking = [
            s["signal"]
            for s in signals or []
            if isinstance(s, dict)
            and isinstance(s.get("signal"), str)
            and (s.get("score") or 0) >= SIGNAL_SPEAKS
        ]
        edges.append(
            {
                "data": {
                    "id": f"s{pk}",
                    "source": f"a{a}",
                    "target": f"a{b}",
                    "kind": "suggestion",
                    "status": "accepted" if status == SuggestionStatus.ACCEPTED else "pending",
                    "score": round(score, 3),
                    "signals": speaking or ["similarity"],
                }
            }
        )

    # Media brands: one node per brand, an edge to each account of the case that runs or amplifies
    # it. A hub rather than a clique: 300 amplifiers of one brand are 300 edges, not 45,000.
    brands: dict[int, dict] = {}
    for row in (
        BrandAccount.objects.filter(account_id__in=ids).select_related("brand").order_by("brand__name", "pk")
    ):
        brand = row.brand
        brands.setdefault(
            brand.pk,
            {
                "data": {
                    "id": f"b{brand.pk}",
                    "kind": "brand",
                    "label": brand.name,
                    "impersonates": brand.impersonates,
                    "size": 30.0,
                    "verdict": "brand",
                }
            },
        )
        edges.append(
            {
                "data": {
                    "id": f"ba{row.pk}",
                    "source": f"a{row.account_id}",
                    "target": f"b{brand.pk}",
                    "kind": "brand",
                    "status": row.role,
                    "signals": [SHARED_BRAND],
                }
            }
        )
    nodes.extend(brands.values())

    # Copied posts: account -> the account whose post it copied, weighted by how many. A source
    # outside the case (a real politician, an outlet) becomes a "source" node.
    copies = (
        Post.objects.filter(account_id__in=ids, copied_from__isnull=False)
        .values("account_id", "copied_from__account_id")
        .annotate(n=Count("pk"))
        .order_by("account_id", "copied_from__account_id")
    )
    outside: set[int] = set()
    for row in copies:
        source, target = row["account_id"], row["copied_from__account_id"]
        if source == target:
            continue
        if target not in accounts:
            outside.add(target)
        edges.append(
            {
                "data": {
                    "id": f"c{source}-{target}",
                    "source": f"a{source}",
                    "target": f"a{target}",
                    "kind": "copy",
                    "count": row["n"],
                    "signals": [COPIED_POST],
                }
            }
        )
    for account in Account.objects.filter(pk__in=outside).order_by("pk"):
        nodes.append(_account_node(account, None, None, on_case=False))

    signals = sorted({s for edge in edges for s in edge["data"]["signals"]})
    return {
        "case": {"id": case.pk, "title": case.title},
        "nodes": nodes,
        "edges": edges,
        "signals": signals,
        "account_total": case.case_accounts.count() if truncated else len(accounts),
        "truncated": truncated,
        "hidden_verdicts": any(v.verdict == HIDDEN for v in verdicts.values()),
    }


# --- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportAccount:
    account: Account
    verdict: AccountVerdict
    outcome: Any  # AccountOutcome or None


@dataclass(frozen=True)
class CaseReport:
    case: Case
    reveal: bool
    platforms: list[tuple[str, int]]
    account_total: int
    suspects: int
    decision: AttributionDecision | None
    decision_words: str
    decisions: list[AttributionDecision]
    votes: list[AttributionVote]
    vote_count: int
    coverage: list[TacticCoverage]
    accounts: list[ReportAccount]
    verdict_counts: dict[str, int]
    evidence: list[Evidence]
    standing_evidence: int

    @property
    def coverage_max(self) -> int:
        return max((c.evidence for c in self.coverage), default=0) or 1


def get_case_report_for_user(*, case: Case, user) -> CaseReport:
    """Everything the printable report shows, as ``user`` may see it. A fixed number of queries:
    accounts, verdicts, outcomes, decisions, votes, coverage and evidence each read once."""
    reveal = not is_review_blind(user=user, case=case)
    names = dict(Platform.choices)
    platforms = [
        (names.get(row["account__platform"], row["account__platform"]), row["n"])
        for row in CaseAccount.objects.filter(case=case)
        .values("account__platform")
        .annotate(n=Count("pk"))
        .order_by("-n", "account__platform")
    ]
    verdicts = list_account_verdicts(case=case, user=user, reveal=reveal)
    outcomes = _latest_outcomes(case)
    links = (
        CaseAccount.objects.filter(case=case)
        .select_related("account")
        .order_by("account__platform", "account__handle_normalized")
    )
    accounts = [
        ReportAccount(
            account=link.account, verdict=verdicts[link.account_id], outcome=outcomes.get(link.account_id)
        )
        for link in links
    ]
    decisions = list(
        AttributionDecision.objects.filter(case=case)
        .select_related("actor", "decided_by")
        .order_by("-decided_at", "-pk")
    )
    standing = next((d for d in decisions if d.withdrawn_at is None), None)
    votes = (
        AttributionVote.objects.filter(case=case)
        .select_related("actor", "voter")
        .order_by("created_at", "pk")
    )
    all_votes = list(votes.prefetch_related("cited_evidence"))
    shown_votes = all_votes if reveal else [v for v in all_votes if v.voter_id == user.pk]
    evidence = list(
        Evidence.objects.filter(case=case)
        .select_related("captured_by", "retracted_by", "account", "brand")
        .prefetch_related(
            Prefetch("techniques", queryset=Technique.objects.order_by("order")),
            Prefetch("files", queryset=EvidenceFile.objects.order_by("id")),
        )
        .order_by("captured_at", "pk")
    )
    standing_evidence = sum(1 for e in evidence if e.kind != "retraction" and not e.is_retracted)
    return CaseReport(
        case=case,
        reveal=reveal,
        platforms=platforms,
        account_total=len(accounts),
        suspects=sum(1 for a in accounts if a.account.kind == "suspect"),
        decision=standing,
        decision_words=CONFIDENCE_WORDS.get(standing.confidence, "") if standing else "",
        decisions=decisions,
        votes=shown_votes,
        vote_count=len(all_votes),
        coverage=get_technique_coverage_for_user(case=case, user=user),
        accounts=accounts,
        verdict_counts=dict(Counter(a.verdict.verdict for a in accounts)),
        evidence=evidence,
        standing_evidence=standing_evidence,
    )
