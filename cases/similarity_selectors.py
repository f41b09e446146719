"""Reads about similar accounts, shared by the API, the pages and the similarity services.

**Freshness.** An account's stored answer (its suggestions) is *fresh* when the newest
computation that covered it — a succeeded ``similarity_sweep`` job of scope ``team`` (every
platform, at most the default threshold), of scope ``account`` for this account, or of scope
``accounts`` (a batch refresh after an import or a new account) listing it, under the
team's current settings — read the database (``result["as_of"]``) after all of these:

- the account's last change (``updated_at``) and its newest post;
- the newest change of any account in the team (a new or edited account may be more similar to
  it than anything stored);
- the newest media brand of the team, and the team's last import (``import.completed``; an import
  updates accounts and adds posts in bulk).

The fresh answer is the suggestions involving the account that this computation (or a later one)
wrote — ``updated_at >= as_of`` — except dismissed ones. Older rows are left out: they are pairs
the computation no longer found above its floor. A team sweep's answer holds the pairs above its
threshold (0.5); a top-k refresh's the best 50 above 0.2. Not followed (the next sweep or
refresh catches them): a post added by hand to *another* account, an account newly linked to an
existing brand.

**Possible networks** are the connected components of accepted pairs and of new pairs scoring at
least the team's sweep threshold (so two signal families agree on every edge); dismissed pairs
never join anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from cases.models import (
    Account,
    AuditEvent,
    Case,
    Job,
    JobKind,
    JobStatus,
    MediaBrand,
    Post,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
)
from cases.similarity.engine import Match, SimilarityConfig, clusters

RECREATION_VERB = "similarity.possible_recreation"
# Sweep-job candidates looked at for an account's freshness marker (newest first).
MARKER_JOBS = 10
# A network's top signals are read from its best pairs, at most this many.
SIGNAL_SAMPLE = 300
# A signal "speaks for" a pair when it scores at least this much in it.
SIGNAL_SPEAKS = 0.3
TOP_SIGNALS = 3
MEMBERS_SHOWN = 24


def config_key(settings: dict[str, Any] | None) -> str:
    """A short fingerprint of a team's similarity settings: answers computed under other weights
    are not fresh."""
    canonical = json.dumps(settings or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def default_threshold(team: Team) -> float:
    try:
        return SimilarityConfig.from_overrides(team.similarity_weights or None).default_threshold
    except (TypeError, ValueError):
        return SimilarityConfig().default_threshold


# --- freshness and the stored answer ---------------------------------------------------------------


def _as_of(result: Any) -> datetime | None:
    if not isinstance(result, dict) or not isinstance(result.get("as_of"), str):
        return None
    try:
        return datetime.fromisoformat(result["as_of"])
    except ValueError:
        return None


def _changed_since(account: Account, as_of: datetime) -> bool:
    if account.updated_at > as_of:
        return True
    team_id = account.team_id
    return (
        Post.objects.filter(account=account, created_at__gt=as_of).exists()
        or Account.objects.filter(team_id=team_id, updated_at__gt=as_of).exists()
        or MediaBrand.objects.filter(team_id=team_id, created_at__gt=as_of).exists()
        or AuditEvent.objects.filter(team_id=team_id, verb="import.completed", at__gt=as_of).exists()
    )


def similarity_as_of(account: Account) -> datetime | None:
    """When the computation behind the account's stored answer read the database, if that answer
    is fresh (see the module's docstring); ``None`` when it is stale or was never computed."""
    team = account.team
    current = config_key(team.similarity_weights)
    threshold = default_threshold(team)
    jobs = (
        Job.objects.filter(team_id=team.pk, kind=JobKind.SIMILARITY_SWEEP, status=JobStatus.SUCCEEDED)
        .filter(
            Q(params__scope="team")
            | Q(params__scope="account", params__account_id=account.pk)
            # A batch refresh (cases.services.similar_refresh) whose id range holds the account;
            # membership is checked below.
            | Q(params__scope="accounts", params__first__lte=account.pk, params__last__gte=account.pk)
        )
        .order_by("-finished_at", "-pk")
        .values_list("params", "result")[:MARKER_JOBS]
    )
    best = None
    for params, result in jobs:
        if not isinstance(params, dict) or config_key(params.get("settings")) != current:
            continue
        if params.get("scope") == "accounts" and account.pk not in params.get("account_ids", ()):
            continue
        if params.get("scope") == "team" and float(params.get("threshold", 1.0)) > threshold:
            continue
        as_of = _as_of(result)
        if as_of is not None and (best is None or as_of > best):
            best = as_of
    if best is None or _changed_since(account, best):
        return None
    return best


@dataclass(frozen=True)
class SimilarAccount:
    account: Account
    score: float
    signals: list[dict[str, Any]]


def list_similar_accounts(*, account: Account, since: datetime, limit: int) -> list[SimilarAccount]:
    """The stored answer: suggestions involving the account written since ``since`` (by the
    computation that made it fresh, or later), dismissed ones excepted, best first. One query."""
    rows = (
        SimilaritySuggestion.objects.filter(
            Q(account_a=account) | Q(account_b=account), updated_at__gte=since
        )
        .exclude(status=SuggestionStatus.DISMISSED)
        .select_related("account_a", "account_b")
        .order_by("-score", "pk")[:limit]
    )
    return [
        SimilarAccount(
            account=row.account_b if row.account_a_id == account.pk else row.account_a,
            score=row.score,
            signals=row.signals if isinstance(row.signals, list) else [],
        )
        for row in rows
    ]


# --- possible networks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalSummary:
    signal: str
    pairs: int  # of the pairs read, how many this signal speaks for
    detail: str  # the sentence of its strongest pair

    @property
    def label(self) -> str:
        return self.signal.replace("_", " ")


@dataclass
class Network:
    """A connected component of the team's strong and accepted pairs."""

    account_ids: list[int]
    edges: int = 0
    accepted: int = 0
    max_score: float = 0.0
    # suggestion ids of its pairs, best first
    suggestion_ids: list[int] = field(default_factory=list)
    # account id -> the id of its best-scoring pair
    best_suggestion: dict[int, int] = field(default_factory=dict)
    degree: dict[int, int] = field(default_factory=dict)
    top_signals: list[SignalSummary] = field(default_factory=list)
    members: list[Account] = field(default_factory=list)  # the shown ones, most connected first

    @property
    def key(self) -> int:
        """The lowest account id: names the network in a form."""
        return self.account_ids[0]

    @property
    def size(self) -> int:
        return len(self.account_ids)

    @property
    def hidden_members(self) -> int:
        return self.size - len(self.members)


def list_possible_networks(*, team: Team, min_size: int = 2) -> list[Network]:
    """The team's possible networks, largest first, without members or signals (``describe_networks``
    adds those for the ones shown). One query, over the pair columns only."""
    threshold = default_threshold(team)
    edges = list(
        SimilaritySuggestion.objects.filter(team=team)
        .filter(Q(status=SuggestionStatus.ACCEPTED) | Q(status=SuggestionStatus.NEW, score__gte=threshold))
        .order_by("-score", "pk")
        .values_list("pk", "account_a_id", "account_b_id", "score", "status")
    )
    found = clusters(
        (Match(a_id=a, b_id=b, score=score, signals=()) for _, a, b, score, _ in edges), min_size=min_size
    )
    networks = [Network(account_ids=ids) for ids in found]
    of_account = {account_id: network for network in networks for account_id in network.account_ids}
    for pk, a, b, score, status in edges:  # best first, so the first pair seen is the best
        network = of_account.get(a)
        if network is None:
            continue
        network.edges += 1
        network.accepted += status == SuggestionStatus.ACCEPTED
        network.max_score = max(network.max_score, score)
        network.suggestion_ids.append(pk)
        for account_id in (a, b):
            network.best_suggestion.setdefault(account_id, pk)
            network.degree[account_id] = network.degree.get(account_id, 0) + 1
    return networks


def describe_networks(networks: list[Network], *, team: Team | None = None) -> list[Network]:
    """Fill in the members to show and the top signals of these networks: two queries in all.

    A signal ranks by what it contributed over the network's best pairs (its weight times its
    score, summed), so three signals that all say "the same posts" do not outrank a brand."""
    weights = _weights(team)
    sample = [pk for network in networks for pk in network.suggestion_ids[:SIGNAL_SAMPLE]]
    signals_of = dict(SimilaritySuggestion.objects.filter(pk__in=sample).values_list("pk", "signals"))
    shown = {
        id(network): sorted(network.account_ids, key=lambda a: (-network.degree.get(a, 0), a))[:MEMBERS_SHOWN]
        for network in networks
    }
    accounts = Account.objects.only("pk", "platform", "handle", "display_name", "team_id").in_bulk(
        [a for ids in shown.values() for a in ids]
    )
    for network in networks:
        network.members = [accounts[a] for a in shown[id(network)] if a in accounts]
        tally: dict[str, list] = {}  # signal -> [pairs, contribution, best score, its detail]
        for pk in network.suggestion_ids[:SIGNAL_SAMPLE]:
            for item in signals_of.get(pk) or []:
                if not isinstance(item, dict) or not isinstance(item.get("score"), (int, float)):
                    continue
                if item["score"] < SIGNAL_SPEAKS:
                    continue
                signal = str(item.get("signal", ""))
                entry = tally.setdefault(signal, [0, 0.0, -1.0, ""])
                entry[0] += 1
                entry[1] += weights.get(signal, 0.5) * item["score"]
                if item["score"] > entry[2]:
                    entry[2], entry[3] = item["score"], str(item.get("detail", ""))
        ranked = sorted(tally.items(), key=lambda kv: (-kv[1][1], kv[0]))[:TOP_SIGNALS]
        network.top_signals = [SignalSummary(signal=s, pairs=v[0], detail=v[3]) for s, v in ranked]
    return networks


def _weights(team: Team | None) -> dict[str, float]:
    try:
        return SimilarityConfig.from_overrides(team.similarity_weights if team else None).weights
    except (TypeError, ValueError):
        return SimilarityConfig().weights


def get_network_containing(*, team: Team, account_id: int) -> Network | None:
    for network in list_possible_networks(team=team):
        if account_id in network.degree:
            return describe_networks([network], team=team)[0]
    return None


# --- possible re-creations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecreationFlag:
    event: AuditEvent
    case: Case | None
    account: Account | None
    similar_to: Account | None

    @property
    def score(self) -> float | None:
        return self.event.data.get("score")

    @property
    def signals(self) -> list[dict[str, Any]]:
        signals = self.event.data.get("signals")
        return signals if isinstance(signals, list) else []


def list_possible_recreations(
    *, team: Team, case: Case | None = None, limit: int = 20
) -> list[RecreationFlag]:
    """The newest "possible re-creation" flags of the team (or of one case): three queries."""
    events = AuditEvent.objects.filter(team=team, verb=RECREATION_VERB, target_type="cases.case")
    if case is not None:
        events = events.filter(target_id=str(case.pk))
    events = list(events.order_by("-at", "-pk")[:limit])
    case_ids = {int(e.target_id) for e in events}
    account_ids = {
        value
        for e in events
        for value in (e.data.get("account"), e.data.get("similar_to"))
        if isinstance(value, int)
    }
    cases = Case.objects.filter(team=team).in_bulk(case_ids)
    accounts = Account.objects.filter(team=team).in_bulk(account_ids)
    return [
        RecreationFlag(
            event=e,
            case=cases.get(int(e.target_id)),
            account=accounts.get(e.data.get("account")),
            similar_to=accounts.get(e.data.get("similar_to")),
        )
        for e in events
    ]
