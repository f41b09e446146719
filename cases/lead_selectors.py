# ruff: noqa: S608 — the SQL below is built from constants of this module; values go in as params.
"""Reads of the lead console's case queue and queue monitor. Every one is scoped to the user's
teams: another team's case, queue or team slug is the same 404 as a missing one.

The case queue's computed columns — agreement and conflicts, consensus and its share, open
suggestions, last activity — are aggregates over labels, votes, decisions, adjudications,
suggestions and evidence. Computing them for 10,000 cases on every view is far too slow to sort
by (hundreds of milliseconds per column even set-based), so they are stored per case in
``CaseQueueStats``: ``compute_case_queue_columns`` computes them set-based (one GROUP BY per
source table) and ``lead_cases.refresh_case_queue_stats`` stores them for the cases the audit
trail says changed, before each view. A page is then two plain queries: a count and one page of
ids, sorted on the case row or its stats row, and the page's cases with their stats.

``bench/case_queue.py`` measures every sort on 10,000 cases against the plain case list.

Percent agreement here is the number ``cases.agreement.percent_agreement`` gives (the mean, over
accounts with two or more labels, of the share of agreeing pairs of labels), written in SQL so
the queue can sort and page by it; ``tests/leads/test_case_queue_pages.py`` cross-checks the two.
"""

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cases.models import (
    Adjudication,
    Assignment,
    AssignmentState,
    Case,
    CaseQueueStats,
    CaseStatus,
    Membership,
    Queue,
    QueueItem,
    QueueReviewer,
    Role,
    SavedFilter,
    SuggestionStatus,
    Team,
)
from cases.review_selectors import QueueStats, get_queue_stats_for_user
from cases.selectors import list_teams_for_user

CASES_PER_PAGE = 50
# A case still in work with no label, vote, evidence or edit for this long is stale.
STALE_AFTER = datetime.timedelta(days=14)
LEAD_ROLES = (Role.LEAD, Role.ADMIN)

# --- the aggregates, as CTEs over the cases in ``scope`` ----------------------------------------
# Each CTE yields one row per case that has any data (case_id, ...). ``{scope}`` is replaced by a
# condition on the case alias ``c``: the team (step 1) or the page's ids (step 2).

_WEIGHT = "(CASE v.confidence WHEN 'low' THEN 1 WHEN 'moderate' THEN 2 WHEN 'high' THEN 3 ELSE 0 END)"
_CTE = {
    "ag": f"""
        pv AS (
            SELECT l.case_id, l.account_id, l.verdict, COUNT(*) AS n
            FROM cases_label l JOIN cases_case c ON c.id = l.case_id
            WHERE {{scope}}
            GROUP BY l.case_id, l.account_id, l.verdict
        ),
        pa AS (
            SELECT case_id, account_id, SUM(n) AS m, SUM(n * (n - 1)) AS agree, COUNT(*) AS kinds
            FROM pv GROUP BY case_id, account_id
        ),
        ag AS (
            SELECT pa.case_id,
                   AVG(CASE WHEN pa.m >= 2 THEN CAST(pa.agree AS DOUBLE PRECISION) / (pa.m * (pa.m - 1)) END)
                       AS agreement,
                   SUM(CASE WHEN pa.kinds > 1 AND NOT EXISTS (
                           SELECT 1 FROM {Adjudication._meta.db_table} adj
                           WHERE adj.case_id = pa.case_id AND adj.account_id = pa.account_id
                       ) THEN 1 ELSE 0 END) AS conflicts
            FROM pa GROUP BY pa.case_id
        )""",
    # The standing decision's actor if any, else the votes' leading actor — in the vote tally's
    # order (cases.review_selectors._tally): weight, then number of votes, then name.
    "cons": f"""
        vw AS (
            SELECT v.case_id, v.actor_id, SUM({_WEIGHT}) AS w, COUNT(*) AS n
            FROM cases_attributionvote v JOIN cases_case c ON c.id = v.case_id
            WHERE {{scope}}
            GROUP BY v.case_id, v.actor_id
        ),
        vt AS (SELECT case_id, SUM(w) AS total, SUM(n) AS votes FROM vw GROUP BY case_id),
        vr AS (
            SELECT vw.case_id, vw.actor_id,
                   ROW_NUMBER() OVER (PARTITION BY vw.case_id ORDER BY vw.w DESC, vw.n DESC, a.name ASC) AS rn
            FROM vw JOIN cases_actor a ON a.id = vw.actor_id
        ),
        dc AS (
            SELECT d.case_id, d.actor_id, d.confidence
            FROM cases_attributiondecision d JOIN cases_case c ON c.id = d.case_id
            WHERE {{scope}} AND d.withdrawn_at IS NULL
        ),
        cons AS (
            SELECT c.id AS case_id, COALESCE(dc.actor_id, vr.actor_id) AS actor_id, a.name AS name,
                   CAST(COALESCE(vw.w, 0) AS DOUBLE PRECISION) / NULLIF(vt.total, 0) AS share,
                   COALESCE(vt.votes, 0) AS votes, dc.confidence AS decided
            FROM cases_case c
            LEFT JOIN dc ON dc.case_id = c.id
            LEFT JOIN vr ON vr.case_id = c.id AND vr.rn = 1
            LEFT JOIN vt ON vt.case_id = c.id
            LEFT JOIN cases_actor a ON a.id = COALESCE(dc.actor_id, vr.actor_id)
            LEFT JOIN vw ON vw.case_id = c.id AND vw.actor_id = COALESCE(dc.actor_id, vr.actor_id)
            WHERE {{scope}} AND (dc.case_id IS NOT NULL OR vt.case_id IS NOT NULL)
        )""",
    # New suggestions that would bring an account onto the case: one side on it, the other not.
    "sg": f"""
        ns AS (
            SELECT s.account_a_id, s.account_b_id FROM cases_similaritysuggestion s
            WHERE s.status = '{SuggestionStatus.NEW}'
        ),
        sg AS (
            SELECT x.case_id, COUNT(*) AS n FROM (
                SELECT ca.case_id FROM cases_caseaccount ca
                JOIN cases_case c ON c.id = ca.case_id
                JOIN ns ON ns.account_a_id = ca.account_id
                WHERE {{scope}} AND NOT EXISTS (
                    SELECT 1 FROM cases_caseaccount o
                    WHERE o.case_id = ca.case_id AND o.account_id = ns.account_b_id)
                UNION ALL
                SELECT ca.case_id FROM cases_caseaccount ca
                JOIN cases_case c ON c.id = ca.case_id
                JOIN ns ON ns.account_b_id = ca.account_id
                WHERE {{scope}} AND NOT EXISTS (
                    SELECT 1 FROM cases_caseaccount o
                    WHERE o.case_id = ca.case_id AND o.account_id = ns.account_a_id)
            ) x GROUP BY x.case_id
        )""",
    "act": """
        act AS (
            SELECT t.case_id, MAX(t.at) AS at FROM (
                SELECT l.case_id, MAX(l.updated_at) AS at
                FROM cases_label l JOIN cases_case c ON c.id = l.case_id WHERE {scope} GROUP BY l.case_id
                UNION ALL
                SELECT v.case_id, MAX(v.updated_at)
                FROM cases_attributionvote v JOIN cases_case c ON c.id = v.case_id
                WHERE {scope} GROUP BY v.case_id
                UNION ALL
                SELECT e.case_id, MAX(e.created_at)
                FROM cases_evidence e JOIN cases_case c ON c.id = e.case_id WHERE {scope} GROUP BY e.case_id
            ) t GROUP BY t.case_id
        )""",
}
_STATUS_ORDER = (
    "(CASE c.status " + " ".join(f"WHEN '{s}' THEN {n}" for n, s in enumerate(CaseStatus.values)) + " END)"
)
_COLUMNS = ["ag", "cons", "sg", "act"]


def compute_case_queue_columns(*, team: Team, case_ids: list[int] | None = None) -> dict[int, tuple]:
    """The computed columns of the team's cases (all of them, or those ids), set-based: per case
    (agreement, conflicts, consensus actor id, consensus name, consensus share, votes, decided
    confidence, open suggestions, newest label/vote/evidence time). Cases with no data at all are
    left out. For ``refresh_case_queue_stats``, which stores them."""
    if case_ids is not None and not case_ids:
        return {}
    if case_ids is None:
        scope, scope_params = "c.team_id = %s", [team.pk]
    else:
        scope = "c.team_id = %s AND c.id IN (" + ", ".join(["%s"] * len(case_ids)) + ")"
        scope_params = [team.pk, *case_ids]
    sql = (
        f"{_with(_COLUMNS, scope)} SELECT c.id, ag.agreement, COALESCE(ag.conflicts, 0), cons.actor_id, "
        "cons.name, cons.share, COALESCE(cons.votes, 0), cons.decided, COALESCE(sg.n, 0), act.at "
        "FROM cases_case c"
        + "".join(f" LEFT JOIN {name} ON {name}.case_id = c.id" for name in _COLUMNS)
        + f" WHERE {scope}"
    )
    uses = sum(_CTE[name].count("{scope}") for name in _COLUMNS) + 1
    with connection.cursor() as cursor:
        cursor.execute(sql, scope_params * uses)
        return {row[0]: (*row[1:9], _datetime(row[9])) for row in cursor.fetchall()}


_ACTIVITY = "(CASE WHEN st.activity_at > c.updated_at THEN st.activity_at ELSE c.updated_at END)"
# Sort key -> (the SQL it sorts on, whether it reads the stats row). Every column has one.
SORTS: dict[str, tuple[str, bool]] = {
    "title": ("LOWER(c.title)", False),
    "status": (_STATUS_ORDER, False),
    "priority": ("c.priority", False),
    "age": ("c.created_at", False),
    "lead": ("LOWER(u.username)", False),
    "accounts": ("c.account_count", False),
    "labeled": ("CAST(c.labeled_account_count AS DOUBLE PRECISION) / NULLIF(c.account_count, 0)", False),
    "agreement": ("st.agreement", True),
    "consensus": ("LOWER(NULLIF(st.consensus_name, ''))", True),
    "confidence": ("st.consensus_share", True),
    "suggestions": ("COALESCE(st.open_suggestions, 0)", True),
    "activity": (_ACTIVITY, True),
}
# Sorting "age" ascending means youngest first: the column shows how old a case is.
_REVERSED = {"age"}
DEFAULT_SORT = "-priority"


@dataclass(frozen=True)
class CaseQueueFilters:
    """What the case queue shows. Every field is optional; unknown values were dropped on parse."""

    status: tuple[str, ...] = ()
    priority: tuple[int, ...] = ()
    lead: str = ""  # a user id, "none" for unassigned, or "" for any
    actor: int | None = None
    conflicts: str = ""  # "yes", "no" or ""
    stale: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, params) -> "CaseQueueFilters":
        """Parse a QueryDict (or dict of lists); anything malformed is ignored, never an error."""

        def many(key):
            return params.getlist(key) if hasattr(params, "getlist") else list(params.get(key, []))

        def one(key):
            values = many(key)
            return str(values[-1]).strip() if values else ""

        status = tuple(dict.fromkeys(s for s in many("status") if s in CaseStatus.values))
        priority = tuple(
            dict.fromkeys(int(p) for p in many("priority") if str(p).isdigit() and int(p) in range(1, 5))
        )
        lead = one("lead")
        if lead != "none" and not (lead.isdigit() and len(lead) < 12):
            lead = ""
        actor = one("actor")
        conflicts = one("conflicts")
        sort = one("sort")
        if sort.lstrip("-") not in SORTS or sort.count("-") > 1:
            sort = DEFAULT_SORT
        return cls(
            status=status,
            priority=priority,
            lead=lead,
            actor=int(actor) if actor.isdigit() and len(actor) < 12 else None,
            conflicts=conflicts if conflicts in ("yes", "no") else "",
            stale=one("stale") in ("1", "on", "yes", "true"),
            q=one("q")[:200],
            sort=sort,
        )

    def as_query(self) -> list[tuple[str, str]]:
        """The filters as query parameters, in a fixed order (for links and saved filters)."""
        out: list[tuple[str, str]] = [("status", s) for s in self.status]
        out += [("priority", str(p)) for p in self.priority]
        if self.lead:
            out.append(("lead", self.lead))
        if self.actor is not None:
            out.append(("actor", str(self.actor)))
        if self.conflicts:
            out.append(("conflicts", self.conflicts))
        if self.stale:
            out.append(("stale", "1"))
        if self.q:
            out.append(("q", self.q))
        if self.sort != DEFAULT_SORT:
            out.append(("sort", self.sort))
        return out

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def get_lead_team_for_user(user, slug: str) -> tuple[Team, Membership]:
    """The team by slug and the user's membership of it; 404 when the user is not in it."""
    if not user.is_authenticated:
        raise Http404("No such team.")
    membership = Membership.objects.filter(user=user, team__slug=slug).select_related("team").first()
    if membership is None:
        raise Http404("No such team.")
    return membership.team, membership


def _with(names: list[str], scope: str) -> str:
    """A WITH clause with the named aggregates (in dependency-free order) over ``scope``."""
    if not names:
        return ""
    return "WITH " + ",".join(_CTE[name].replace("{scope}", scope) for name in names)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _datetime(value) -> datetime.datetime | None:
    """A timestamp from raw SQL: PostgreSQL gives a datetime, SQLite the stored UTC text."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


class CaseQueue:
    """The team's cases for the case queue, filtered and sorted: a sequence a Paginator can page
    (``count()`` and slicing). A slice is a list of ``Case`` objects carrying every column as an
    attribute: agreement, conflicts, consensus_actor_id, consensus_name, consensus_share,
    vote_count, decided_confidence, open_suggestions, last_activity, labeled_share.

    The computed columns come from ``CaseQueueStats`` rows; the view refreshes those first
    (``lead_cases.refresh_case_queue_stats``)."""

    def __init__(self, *, team: Team, filters: CaseQueueFilters, now: datetime.datetime):
        self.team, self.filters, self.now = team, filters, now
        self._count: int | None = None

    def _where(self) -> tuple[list[str], bool, list]:
        """Conditions, whether they read the stats row, and their parameters."""
        f = self.filters
        where, stats, params = ["c.team_id = %s"], False, [self.team.pk]
        if f.status:
            where.append("c.status IN (" + ", ".join(["%s"] * len(f.status)) + ")")
            params += list(f.status)
        if f.priority:
            where.append("c.priority IN (" + ", ".join(["%s"] * len(f.priority)) + ")")
            params += list(f.priority)
        if f.lead == "none":
            where.append("c.lead_id IS NULL")
        elif f.lead:
            where.append("c.lead_id = %s")
            params.append(int(f.lead))
        if f.actor is not None:
            where.append("st.consensus_actor_id = %s")
            stats = True
            params.append(f.actor)
        if f.conflicts == "yes":
            where.append("COALESCE(st.conflicts, 0) > 0")
            stats = True
        elif f.conflicts == "no":
            where.append("COALESCE(st.conflicts, 0) = 0")
            stats = True
        if f.stale:
            where.append(f"c.status IN (%s, %s) AND {_ACTIVITY} < %s")
            stats = True
            params += [
                CaseStatus.OPEN,
                CaseStatus.IN_REVIEW,
                connection.ops.adapt_datetimefield_value(self.now - STALE_AFTER),
            ]
        if f.q:
            where.append("UPPER(c.title) LIKE UPPER(%s) ESCAPE '\\'")
            params.append(f"%{_like_escape(f.q)}%")
        return where, stats, params

    @staticmethod
    def _from(*, stats: bool, lead: bool) -> str:
        sql = "FROM cases_case c"
        if stats:
            sql += f" LEFT JOIN {CaseQueueStats._meta.db_table} st ON st.case_id = c.id"
        if lead:
            sql += f" LEFT JOIN {get_user_model()._meta.db_table} u ON u.id = c.lead_id"
        return sql

    def count(self) -> int:
        if self._count is None:
            where, stats, params = self._where()
            sql = f"SELECT COUNT(*) {self._from(stats=stats, lead=False)} WHERE {' AND '.join(where)}"
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                self._count = cursor.fetchone()[0]
        return self._count

    def _page_ids(self, offset: int, limit: int) -> list[int]:
        where, stats, params = self._where()
        expression, needs_stats = SORTS[self.filters.sort_key]
        descending = self.filters.descending != (self.filters.sort_key in _REVERSED)
        direction = "DESC" if descending else "ASC"
        # Empty values (no agreement, no consensus) last both ways; ties by id, stable across pages.
        order = f"({expression}) IS NULL, {expression} {direction}, c.id {direction}"
        sql = (
            f"SELECT c.id {self._from(stats=stats or needs_stats, lead=self.filters.sort_key == 'lead')} "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return [row[0] for row in cursor.fetchall()]

    @staticmethod
    def _rows(ids: list[int]) -> list[Case]:
        cases = {
            case.pk: case
            for case in Case.objects.filter(pk__in=ids).select_related(
                "lead", "queue_stats", "queue_stats__team"
            )
        }
        out = []
        for pk in ids:
            case = cases[pk]
            st = getattr(case, "queue_stats", None)
            case.agreement = st.agreement if st else None
            case.conflicts = st.conflicts if st else 0
            case.consensus_actor_id = st.consensus_actor_id if st else None
            case.consensus_name = st.consensus_name if st else ""
            case.consensus_share = st.consensus_share if st else None
            case.vote_count = st.vote_count if st else 0
            case.decided_confidence = st.decided_confidence if st else ""
            case.open_suggestions = st.open_suggestions if st else 0
            activity = st.activity_at if st else None
            case.last_activity = max(activity, case.updated_at) if activity else case.updated_at
            case.labeled_share = (
                case.labeled_account_count / case.account_count if case.account_count else None
            )
            out.append(case)
        return out

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop = key.start or 0, key.stop
            if stop is None:
                stop = self.count()
            return self._rows(self._page_ids(start, max(stop - start, 0)))
        return self[key : key + 1][0]

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Case]:
        return iter(self[0 : self.count()])


def list_case_queue_for_user(
    *, user, team: Team, filters: CaseQueueFilters, now: datetime.datetime | None = None
) -> CaseQueue:
    """The team's cases with every column of the case queue, filtered and sorted; the caller
    pages it. 404 unless the user is in the team (moderators may read it)."""
    if not user.is_authenticated or not Membership.objects.filter(user=user, team=team).exists():
        raise Http404("No such team.")
    return CaseQueue(team=team, filters=filters, now=now or timezone.now())


def list_saved_filters(*, user, team: Team) -> list[SavedFilter]:
    return list(SavedFilter.objects.filter(user=user, team=team).order_by("name"))


def get_saved_filter_for_user(user, filter_id: int) -> SavedFilter:
    """A user's own saved filter; anyone else's is the same 404 as a missing one."""
    saved = SavedFilter.objects.filter(pk=filter_id, user=user).select_related("team").first()
    if saved is None or not user.is_authenticated:
        raise Http404("No such filter.")
    return saved


def get_cases_for_bulk(*, user, team: Team, case_ids) -> list[Case]:
    """The cases a bulk action names, all of them the user's team's. One id that is missing or of
    another team makes the whole request a 404: a mixed list reveals nothing and changes nothing.
    """
    try:
        ids = sorted({int(pk) for pk in case_ids})
    except (TypeError, ValueError):
        raise Http404("No such case.") from None
    if (
        not ids
        or ids[0] < 1
        or ids[-1] >= 2**63
        or not Membership.objects.filter(user=user, team=team).exists()
    ):
        raise Http404("No such case.")
    cases = list(Case.objects.filter(team=team, pk__in=ids).order_by("pk"))
    if len(cases) != len(ids):
        raise Http404("No such case.")
    return cases


def list_team_members(team: Team) -> list[Membership]:
    return list(Membership.objects.filter(team=team).select_related("user").order_by("user__username"))


# --- queue monitor -----------------------------------------------------------------------------

PERIODS: dict[str, tuple[str, datetime.timedelta, datetime.timedelta]] = {
    # key: (label, length, bucket)
    "24h": ("Last 24 hours", datetime.timedelta(hours=24), datetime.timedelta(hours=1)),
    "7d": ("Last 7 days", datetime.timedelta(days=7), datetime.timedelta(hours=12)),
    "30d": ("Last 30 days", datetime.timedelta(days=30), datetime.timedelta(days=1)),
}
DEFAULT_PERIOD = "24h"


def get_queue_for_user(user, queue_id: int) -> Queue:
    """A queue of one of the user's teams, with its team; else 404."""
    queue = (
        Queue.objects.filter(pk=queue_id, team__in=list_teams_for_user(user))
        .select_related("team", "case")
        .first()
    )
    if queue is None:
        raise Http404("No such queue.")
    return queue


def list_team_queues(team: Team) -> list[Queue]:
    return list(Queue.objects.filter(team=team).select_related("case").order_by("-is_active", "name"))


@dataclass(frozen=True)
class ReviewerThroughput:
    user_id: int
    username: str
    completed: int
    active_hours: int
    median_seconds: float | None

    @property
    def per_hour(self) -> float:
        return self.completed / self.active_hours if self.active_hours else 0.0


@dataclass(frozen=True)
class Bar:
    start: datetime.datetime
    count: int
    # Geometry of the SVG bar, in the chart's own units (attributes, never inline style).
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class QueueMonitor:
    queue: Queue
    stats: QueueStats
    stale_leases: int
    period: str
    period_label: str
    since: datetime.datetime
    completed: int
    median_seconds: float | None
    reviewers: tuple[ReviewerThroughput, ...]
    bars: tuple[Bar, ...]
    chart_max: int
    live_leases: tuple[Assignment, ...] = ()
    stale: tuple[Assignment, ...] = ()
    reviewer_list: tuple[QueueReviewer, ...] = ()
    pending_items: tuple[QueueItem, ...] = field(default_factory=tuple)

    @property
    def lease_count(self) -> int:
        return len(self.live_leases) + len(self.stale)


CHART_WIDTH = 720
CHART_HEIGHT = 120


def _bars(times: list[datetime.datetime], since, now, bucket) -> tuple[tuple[Bar, ...], int]:
    n = max(1, int((now - since) / bucket))
    counts = [0] * n
    for at in times:
        index = min(int((at - since) / bucket), n - 1)
        if index >= 0:
            counts[index] += 1
    top = max(counts) or 1
    width = CHART_WIDTH // n
    bars = []
    for i, count in enumerate(counts):
        height = round(count / top * (CHART_HEIGHT - 4))
        bars.append(
            Bar(
                start=since + i * bucket,
                count=count,
                x=i * width,
                y=CHART_HEIGHT - height,
                width=max(width - 2, 1),
                height=height,
            )
        )
    return tuple(bars), max(counts)


def get_queue_monitor_for_user(
    *, user, queue: Queue, period: str = DEFAULT_PERIOD, now: datetime.datetime | None = None
) -> QueueMonitor:
    """Backlog, leases, and who labelled how fast over the period, for one queue.

    Throughput counts completed leases; a reviewer's labels per hour are their completions over
    the clock hours in which they completed anything (their active hours), so a 7-day period is
    not diluted by nights. Seconds per label are measured by the server: from claim to completion.
    A fixed number of queries, whatever the number of reviewers or items.
    """
    now = now or timezone.now()
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    label, length, bucket = PERIODS[period]
    since = now - length
    stats = get_queue_stats_for_user(queue=queue, user=user, now=now)
    rows = list(
        Assignment.objects.filter(
            item__queue=queue, state=AssignmentState.COMPLETED, completed_at__gte=since, completed_at__lte=now
        ).values_list("user_id", "user__username", "claimed_at", "completed_at")
    )
    per_user: dict[int, dict] = defaultdict(lambda: {"name": "", "seconds": [], "hours": set()})
    all_seconds: list[float] = []
    for user_id, username, claimed_at, completed_at in rows:
        entry = per_user[user_id]
        entry["name"] = username
        seconds = (completed_at - claimed_at).total_seconds()
        entry["seconds"].append(seconds)
        entry["hours"].add(completed_at.replace(minute=0, second=0, microsecond=0))
        all_seconds.append(seconds)
    reviewers = sorted(
        (
            ReviewerThroughput(
                user_id=user_id,
                username=entry["name"],
                completed=len(entry["seconds"]),
                active_hours=len(entry["hours"]),
                median_seconds=statistics.median(entry["seconds"]),
            )
            for user_id, entry in per_user.items()
        ),
        key=lambda r: (-r.completed, r.username),
    )
    bars, chart_max = _bars([row[3] for row in rows], since, now, bucket)
    leases = list(
        Assignment.objects.filter(item__queue=queue, state=AssignmentState.ACTIVE)
        .select_related("user", "item__account")
        .order_by("expires_at")
    )
    return QueueMonitor(
        queue=queue,
        stats=stats,
        stale_leases=sum(1 for a in leases if a.expires_at <= now),
        period=period,
        period_label=label,
        since=since,
        completed=len(rows),
        median_seconds=statistics.median(all_seconds) if all_seconds else None,
        reviewers=tuple(reviewers),
        bars=bars,
        chart_max=chart_max,
        live_leases=tuple(a for a in leases if a.expires_at > now),
        stale=tuple(a for a in leases if a.expires_at <= now),
        reviewer_list=tuple(
            QueueReviewer.objects.filter(queue=queue).select_related("user").order_by("user__username")
        ),
        pending_items=tuple(
            QueueItem.objects.filter(queue=queue, is_done=False)
            .select_related("account")
            .order_by("-priority", "id")[:50]
        ),
    )
