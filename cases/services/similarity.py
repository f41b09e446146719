"""Similar accounts, the Django side of the engine (``cases/similarity/``).

The engine knows nothing of the database; this module feeds it and stores what it finds:

- **records**: a team's accounts, posts and brand links become ``AccountRecord``s a batch of
  accounts at a time, a few queries per batch (never one per account), fed to an
  ``IndexBuilder`` so that a sweep never holds all the records at once;
- **sweeps** (``start_similarity_sweep`` → ``similarity_sweep_task`` → ``run_similarity_sweep``):
  every pair above a threshold, stored as ``SimilaritySuggestion`` rows, then one
  ``similarity.sweep_completed`` audit event;
- **top-k** (``refresh_similar_for_account``): one account's best matches, after an import or
  when the API finds the stored answer stale (``get_similar_accounts``);
- **recidivism**: a strong match with an account a case found inauthentic or removed is recorded
  as a ``similarity.possible_recreation`` audit event on that case;
- **clusters → case** (``create_case_from_cluster``).

Every computation is a ``Job`` of kind ``similarity_sweep``: ``params["scope"]`` says what it
covered (``team``: every platform; ``platform``; ``case``: the top matches of a case's accounts;
``account``: one account's top k) and ``result["as_of"]`` when it read the database, which is
what freshness is measured against (``cases.similarity_selectors``).

**Why the partitions of a sweep run one after another in one task.** Building the index is most
of a sweep's cost (about 60 % at 100k accounts in bench/similarity_db.py) and every
partition needs the whole index, so a chord of one task per partition would build it once per
partition, and without a result backend a chord cannot join anyway. The task builds the index
once and runs the partitions in order; each finished partition is recorded on the Job row
(``result["partitions_done"]``, under the row lock), so a redelivered task (a killed worker:
``task_reject_on_worker_lost``) rebuilds the index and runs only the partitions not yet done.
A partition interrupted half way is run again from its start: its rows are upserted on the
unique pair, so nothing is duplicated. Teams and platforms are the unit that scales out: two
sweeps of two teams run on two workers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, FloatField, Func, Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from cases.errors import InvalidInput
from cases.models import (
    Account,
    AccountKind,
    AttributionDecision,
    AuditEvent,
    BrandAccount,
    BrandDomain,
    Case,
    CaseAccount,
    Job,
    JobKind,
    JobStatus,
    Label,
    MediaBrand,
    Platform,
    Post,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
    Verdict,
)
from cases.similarity import index as index_module
from cases.similarity.engine import AccountRecord, Index, Match, PostRecord, SimilarityConfig, sweep
from cases.similarity.features import Batch
from cases.similarity.forked import Counter, Forked, ForkedError, can_fork
from cases.similarity.index import IndexBuilder
from cases.similarity_selectors import (
    RECREATION_VERB,
    SimilarAccount,
    config_key,
    get_network_containing,
    list_similar_accounts,
    similarity_as_of,
)

from .access import require_member
from .audit import record_event
from .cases import add_account_to_case, create_case
from .jobs import Progress, finish_job, start_job

# A top-k refresh stores an account's best TOP_K matches scoring at least TOP_K_MIN_SCORE. Below
# 0.2 a match is one weak signal (a similar handle, one shared hashtag): noise in a review queue.
# The API's ``limit`` goes up to TOP_K, so a stored answer is always deep enough.
TOP_K = 50
TOP_K_MIN_SCORE = 0.2
# A case-scope sweep looks at this many best matches of each of the case's accounts.
CASE_TOP_K = 200
DEFAULT_PARTITIONS = 8
# Suggestions are written this many at a time, each batch in its own transaction.
WRITE_BATCH = 2_000
# Same margin as ``upsert_suggestion``: a dismissed pair comes back only if its score rises above
# the score it was dismissed at by more than this.
RESURFACE_MARGIN = 0.1
# Recidivism: a match is a "possible re-creation" when it is strong (two signal families agree)
# and scores at least this much: well above the sweep threshold (0.5), which no organic account of
# the synthetic benchmark reaches with anyone (bench/similarity_db.py).
RECREATION_THRESHOLD = 0.7
SWEEP_VERB = "similarity.sweep_completed"
CLUSTER_CASE_VERB = "similarity.case_from_cluster"
# A case made from a cluster adds its accounts one by one through add_account_to_case (each audited):
# beyond this many, a cluster is too loose to be one case; raise the threshold and sweep again.
MAX_CLUSTER_CASE_ACCOUNTS = 500
# Freshness compares database timestamps written by several processes: an answer counts as read
# this much before it started, so a change committed around that moment makes it stale (a
# needless recompute) rather than silently missed.
CLOCK_SLACK = timedelta(seconds=5)
# The warm per-process index (``team_index``): rebuilt from scratch at least this often, kept only
# for teams up to CACHE_MAX_ACCOUNTS accounts, at most CACHE_TEAMS teams.
INDEX_MAX_AGE_SECONDS = 15 * 60
CACHE_MAX_ACCOUNTS = 200_000
CACHE_TEAMS = 2
# Changed accounts beyond this many are cheaper to rebuild than to add one by one.
MAX_INCREMENTAL = 2_000
# Accounts read (with their posts) and extracted at a time: ~9k posts at 9 posts an account,
# well under a second: the Job hears from the reading phase at least that often.
READ_BATCH = 1_000
# The Job row hears from a running sweep at least this often (the UI's "still alive" signal).
HEARTBEAT_SECONDS = 0.5

logger = logging.getLogger(__name__)

# --- configuration ---------------------------------------------------------------------------------


def _config(settings: dict[str, Any] | None) -> SimilarityConfig:
    try:
        return SimilarityConfig.from_overrides(settings or None)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"The team's similarity settings are not valid: {exc}") from None


def _with_heartbeat(
    work: Callable[[Callable[[int, int], None] | None], Any],
    report: Callable[[int, int], None] | None,
    total: int = 0,
) -> Any:
    """Run ``work(progress)`` — engine code that touches no database — in a thread, while this
    thread passes its latest ``(done, total)`` to ``report`` at least every HEARTBEAT_SECONDS.

    The engine reports progress per chunk (every 5,000 accounts while indexing, every 500 while
    comparing), which on a loaded machine can be several seconds apart; the Job row must hear
    from the sweep at least every two. Database writes stay on this thread and its connection.
    """
    if report is None:
        return work(None)
    state = [0, total]
    outcome: dict[str, Any] = {}

    def seen(done: int, of: int) -> None:
        state[0], state[1] = done, of

    def target() -> None:
        try:
            outcome["value"] = work(seen)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="similarity-engine", daemon=True)
    thread.start()
    while True:  # reports at least once, however fast the work was
        thread.join(HEARTBEAT_SECONDS)
        report(state[0], state[1])
        if not thread.is_alive():
            break
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --- reading records ---------------------------------------------------------------------------------


class Epoch(Func):
    """A timestamp as epoch seconds, computed by the database: reading a million posts through
    Django's datetime converters costs more than the rest of the read together."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as UTC text; julianday() reads it (to ~10 microseconds).
        return self.as_sql(
            compiler, connection, template="(julianday(%(expressions)s) - 2440587.5) * 86400.0", **extra
        )


def _links(text: str | None) -> tuple[str, ...]:
    if not text or text == "[]":  # most posts: no JSON to parse
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(link for link in value if isinstance(link, str)) if isinstance(value, list) else ()


def _phash(value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _brands_by_account(
    team: Team, account_ids: Iterable[int] | None
) -> dict[int, tuple[frozenset[int], frozenset[str]]]:
    """account id -> (brand ids, brand domains) of the brands it runs or amplifies: two queries."""
    domains: dict[int, set[str]] = {}
    for brand_id, domain in BrandDomain.objects.filter(brand__team=team).values_list("brand_id", "domain"):
        domains.setdefault(brand_id, set()).add(domain.lower())
    links = BrandAccount.objects.filter(brand__team=team)
    if account_ids is not None:
        links = links.filter(account_id__in=account_ids)
    brands: dict[int, set[int]] = {}
    for account_id, brand_id in links.values_list("account_id", "brand_id"):
        brands.setdefault(account_id, set()).add(brand_id)
    return {
        account_id: (
            frozenset(ids),
            frozenset(d for brand_id in ids for d in domains.get(brand_id, ())),
        )
        for account_id, ids in brands.items()
    }


def _record_scope(team: Team, platform: str | None, account_ids: list[int] | None):
    accounts = Account.objects.filter(team=team)
    posts = Post.objects.filter(account__team=team)
    if platform:
        accounts = accounts.filter(platform=platform)
        posts = posts.filter(account__platform=platform)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
        posts = posts.filter(account_id__in=account_ids)
    return accounts, posts


def scope_brand_domains(
    *, team: Team, platform: str | None = None, account_ids: Iterable[int] | None = None
) -> set[str]:
    """The domains of the brands that accounts in scope run or amplify: what ``Index.build``
    would collect from the records' ``brand_domains`` (two queries)."""
    links = BrandAccount.objects.filter(brand__team=team)
    if platform:
        links = links.filter(account__platform=platform)
    if account_ids is not None:
        links = links.filter(account_id__in=list(account_ids))
    brand_ids = set(links.values_list("brand_id", flat=True))
    domains = BrandDomain.objects.filter(brand_id__in=brand_ids).values_list("domain", flat=True)
    return {d.lower() for d in domains}


def iter_record_batches(
    *,
    team: Team,
    platform: str | None = None,
    account_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = READ_BATCH,
    id_ranges: Sequence[tuple[int, int]] | None = None,
) -> Iterator[list[AccountRecord]]:
    """The team's accounts (of one platform, or only ``account_ids``) as engine records, with
    their posts and brands, ``batch`` accounts at a time in id order: a few queries per batch
    (the accounts after the last id, then their posts by an ``account_id`` range that the
    foreign-key index answers), so a caller never holds more than one batch of records.
    ``id_ranges``: read only the accounts with ids in these inclusive ``(low, high)`` ranges, one
    batch per range (``account_id_ranges`` makes them).

    Reference accounts are included (flagged ``reference``): their posts count towards base rates
    and are what copies are copied from. ``progress(done, total)`` counts posts and accounts.
    """
    from django.db import connection

    account_ids = list(account_ids) if account_ids is not None else None
    accounts, posts = _record_scope(team, platform, account_ids)
    total = 0
    if progress:
        total = posts.count() + accounts.count()
        progress(0, total)
    brands = _brands_by_account(team, account_ids)
    no_brands: tuple[frozenset[int], frozenset[str]] = (frozenset(), frozenset())
    fields = ("pk", "platform", "handle", "display_name", "bio", "created", "avatar_phash", "kind")
    account_rows = accounts.order_by("pk").annotate(created=Epoch("created_on_platform")).values_list(*fields)
    post_rows = (
        posts.order_by()
        .annotate(posted=Epoch("posted_at"), links_text=Cast("links", TextField()))
        .values_list("account_id", "text", "posted", "links_text", "copied_from_id")
    )
    done = 0
    last = None
    ranges = iter(id_ranges) if id_ranges is not None else None
    while True:
        if ranges is not None:
            span = next(ranges, None)
            if span is None:
                return
            rows = list(account_rows.filter(pk__gte=span[0], pk__lte=span[1]))
            if not rows:
                continue
        else:
            page = account_rows.filter(pk__gt=last) if last is not None else account_rows
            rows = list(page[:batch])
            if not rows:
                return
        low, last = rows[0][0], rows[-1][0]
        # Plain cursor rows: Django's per-row machinery costs more than the rest of the read.
        sql, params = post_rows.filter(account_id__gte=low, account_id__lte=last).query.sql_with_params()
        by_account: dict[int, list[PostRecord]] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for account_id, text, posted_at, links, copied_from_id in cursor.fetchall():
                posts_of = by_account.get(account_id)
                if posts_of is None:
                    posts_of = by_account[account_id] = []
                posts_of.append(PostRecord(text or "", posted_at, _links(links), copied_from_id))
        records = []
        for pk, plat, handle, name, bio, created, phash, kind in rows:
            brand_ids, brand_domains = brands.get(pk, no_brands)
            own_posts = by_account.pop(pk, ())
            done += 1 + len(own_posts)
            records.append(
                AccountRecord(
                    id=pk,
                    platform=plat,
                    handle=handle,
                    display_name=name,
                    bio=bio,
                    created_at=created,
                    avatar_phash=_phash(phash),
                    posts=own_posts,
                    brand_ids=brand_ids,
                    brand_domains=brand_domains,
                    reference=kind == AccountKind.REFERENCE,
                )
            )
        del by_account
        yield records
        if progress:
            progress(min(done, total), total)


def account_id_ranges(accounts, size: int = READ_BATCH) -> list[tuple[int, int]]:
    """Inclusive ``(low, high)`` id ranges of ``size`` accounts each, in id order: the batches
    ``iter_record_batches`` reads one after another."""
    ids = list(accounts.order_by("pk").values_list("pk", flat=True))
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


_INHERITED_CONNECTIONS: list[Any] = []


def _own_connections() -> None:
    """In a forked child: stop using the parent's database connections (their sockets are the
    parent's; closing them here would end the parent's sessions) and open new ones on demand.
    The inherited objects are kept alive until the child leaves with ``os._exit``, so nothing
    ever finalises them."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        _INHERITED_CONNECTIONS.append(conn.connection)
        conn.connection = None


def _read_in_two(
    builder: IndexBuilder, *, team: Team, platform: str | None, progress: Callable[[int, int], None] | None
) -> bool:
    """Read and extract the scope on two processes: a forked child (its own database
    connection) takes every other batch of ``READ_BATCH`` accounts, this process the rest, and
    the child's extracted batches come back pickled. Reading and extraction are three quarters
    of a sweep of 100k accounts and are pure Python: the second core halves them. The batches
    end up in id order, as a serial read leaves them, so the index is the same either way.

    Returns False, doing nothing, when it is not possible or not worth it: fewer accounts than
    ``index.PARALLEL_MIN``, one CPU, other threads running, or inside a transaction (the child's
    connection would not see its uncommitted rows)."""
    from django.db import connection, connections

    if connection.in_atomic_block or not can_fork():
        return False
    accounts = _accounts_in_scope(team, platform)
    n_accounts = accounts.count()
    if n_accounts < index_module.PARALLEL_MIN:
        return False
    ranges = account_id_ranges(accounts)
    total = Post.objects.filter(account__in=accounts).count() + n_accounts if progress else 0
    theirs_done = Counter()

    def theirs(send) -> list[Batch]:
        _own_connections()
        batches = []
        for records in iter_record_batches(team=team, platform=platform, id_ranges=ranges[1::2]):
            batches.append(builder.extract(records))
            theirs_done.value += len(records) + sum(len(r.posts) for r in records)
        connections.close_all()
        return batches

    done = 0
    if progress:
        progress(0, total)
    with Forked(theirs) as child:
        batches = []
        for records in iter_record_batches(team=team, platform=platform, id_ranges=ranges[0::2]):
            batches.append(builder.extract(records))
            done += len(records) + sum(len(r.posts) for r in records)
            if progress:
                progress(min(done + theirs_done.value, total), total)
        try:
            batches.extend(child.result())
        except ForkedError:  # killed or failed: read its half here
            logger.warning("the second reading process failed; reading its accounts here", exc_info=True)
            for records in iter_record_batches(team=team, platform=platform, id_ranges=ranges[1::2]):
                batches.append(builder.extract(records))
    batches.sort(key=lambda batch: int(batch.ids[0]))
    builder.add_batches(batches)
    return True


def load_records(
    *,
    team: Team,
    platform: str | None = None,
    account_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[AccountRecord]:
    """``iter_record_batches`` as one list (small scopes: a changed account, a test)."""
    return [
        record
        for records in iter_record_batches(
            team=team, platform=platform, account_ids=account_ids, progress=progress
        )
        for record in records
    ]


# --- the warm index ----------------------------------------------------------------------------------


@dataclass
class _CachedIndex:
    index: Index
    synced_at: datetime  # every change before this (minus CLOCK_SLACK) is in the index
    built: float  # time.monotonic() of the build
    brand_state: tuple = ()  # _brand_state() when built: brand domains and links it reflects


_cache: OrderedDict[tuple, _CachedIndex] = OrderedDict()
_cache_lock = threading.Lock()


def clear_index_cache() -> None:
    """Forget every warm index of this process (tests; after changing a team's settings by hand)."""
    with _cache_lock:
        _cache.clear()


def _cache_key(team: Team, platform: str | None, settings: dict[str, Any] | None) -> tuple:
    # created_at too: a test database can give a new team the pk of a deleted one.
    return (team.pk, team.created_at, platform or "", config_key(settings))


def _accounts_in_scope(team: Team, platform: str | None):
    accounts = Account.objects.filter(team=team)
    return accounts.filter(platform=platform) if platform else accounts


def _brand_state(team: Team) -> tuple:
    """A fingerprint of the team's brand domains and brand links (count and highest id of each;
    rows are only ever added or deleted, never edited): two cheap aggregates."""
    domains = BrandDomain.objects.filter(brand__team=team).aggregate(n=Count("pk"), top=Max("pk"))
    links = BrandAccount.objects.filter(brand__team=team).aggregate(n=Count("pk"), top=Max("pk"))
    return (domains["n"], domains["top"], links["n"], links["top"])


def _needs_rebuild_since(team: Team, since: datetime, brand_state: tuple) -> bool:
    """Changes an incremental sync cannot follow: a new brand, or a brand domain or brand link
    added or removed (domains change how every account's links read). An import is followed
    like any other change: it stamps ``updated_at`` on every account it changes, posts included
    (``cases.importers.upsert``), so the accounts it brought in are queryable at once."""
    return (
        MediaBrand.objects.filter(team=team, created_at__gte=since).exists()
        or _brand_state(team) != brand_state
    )


def _changed_account_ids(team: Team, platform: str | None, since: datetime) -> set[int]:
    changed = set(
        _accounts_in_scope(team, platform).filter(updated_at__gte=since).values_list("pk", flat=True)
    )
    posts = Post.objects.filter(account__team=team, created_at__gte=since)
    if platform:
        posts = posts.filter(account__platform=platform)
    changed.update(posts.values_list("account_id", flat=True).distinct())
    return changed


def _sync(entry: _CachedIndex, team: Team, platform: str | None, started: datetime) -> bool:
    """Bring a warm index up to date; False when only a rebuild can."""
    since = entry.synced_at - CLOCK_SLACK
    if _needs_rebuild_since(team, since, entry.brand_state):
        return False
    changed = _changed_account_ids(team, platform, since)
    if len(changed) > MAX_INCREMENTAL:
        return False
    for record in load_records(team=team, platform=platform, account_ids=changed):
        entry.index.add(record)  # replaces the account if it was indexed
    # Deleted accounts leave no trace to follow: a count that no longer matches means a rebuild.
    if _accounts_in_scope(team, platform).count() != len(entry.index):
        return False
    entry.synced_at = started
    return True


def build_index(
    *,
    team: Team,
    platform: str | None = None,
    settings: dict[str, Any] | None = None,
    progress: Progress | None = None,
    remember: bool = True,
    parallel: bool = False,
) -> tuple[Index, datetime]:
    """A new index of the team (one platform, or all), and when its data was read (``as_of``).
    ``progress(done, total, message)`` sees the reading, then the indexing. ``remember``: keep it
    warm for ``team_index`` (a sweep does not: its index is compacted as it runs, and a worker
    should not hold a sweep's index once the sweep is done). ``parallel``: read and extract a
    large scope on two processes (``_read_in_two``; a sweep job asks for it)."""
    config = _config(settings)
    started = timezone.now()
    read = (
        (lambda d, t: progress(d, t, f"Reading accounts and posts: {d:,} of {t:,} rows"))
        if progress
        else None
    )
    brand_state = _brand_state(team)
    builder = IndexBuilder(config, scope_brand_domains(team=team, platform=platform))
    # Read and extract a batch at a time (progress after every batch): on two processes when the
    # scope is large and this process may fork, else on this thread. Then assemble the arrays in
    # the engine thread while this one keeps the Job alive.
    if not (parallel and _read_in_two(builder, team=team, platform=platform, progress=read)):
        for records in iter_record_batches(team=team, platform=platform, progress=read):
            builder.add(records)
    n_records = builder.count
    index_progress = (lambda d, t: progress(d, t, f"Indexing accounts: {d:,} of {t:,}")) if progress else None
    index = _with_heartbeat(lambda seen: builder.finish(), index_progress, n_records)
    if remember and len(index) <= CACHE_MAX_ACCOUNTS:
        with _cache_lock:
            key = _cache_key(team, platform, settings)
            _cache[key] = _CachedIndex(
                index=index, synced_at=started, built=time.monotonic(), brand_state=brand_state
            )
            _cache.move_to_end(key)
            while len(_cache) > CACHE_TEAMS:
                _cache.popitem(last=False)
    return index, started - CLOCK_SLACK


def team_index(*, team: Team, platform: str | None = None) -> tuple[Index, datetime]:
    """The team's index, warm in this process: built once, then brought up to date with the
    accounts and posts that changed since (a few queries and ``Index.add`` per changed account),
    rebuilt when that cannot be followed (a brand, brand domain or brand link added or removed, a
    deleted account) or every ``INDEX_MAX_AGE_SECONDS``. Returns it with ``as_of``: every change
    before that time is in it.

    Holds a process-wide lock while it syncs: two requests of one process do not build twice.
    """
    settings = team.similarity_weights
    key = _cache_key(team, platform, settings)
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None:
            started = timezone.now()
            if time.monotonic() - entry.built < INDEX_MAX_AGE_SECONDS and _sync(
                entry, team, platform, started
            ):
                _cache.move_to_end(key)
                return entry.index, started - CLOCK_SLACK
            del _cache[key]
    return build_index(team=team, platform=platform, settings=settings)


# --- writing suggestions -------------------------------------------------------------------------------


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    resurfaced: int = 0

    def add(self, other: WriteCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.resurfaced += other.resurfaced


def _ignore(done: int, total: int) -> None:
    pass


def save_matches(
    *,
    team: Team,
    matches: Sequence[Match],
    job: Job | None,
    progress: Callable[[int, int], None] | None = None,
) -> WriteCounts:
    """Store the engine's matches as suggestions, ``WRITE_BATCH`` at a time, each batch in one
    transaction: the batch form of ``upsert_suggestion``, with the same rules.

    A new pair is created ``new``; a stored pair gets the new score, signals and job. The status a
    reviewer set is kept (accepted stays accepted, dismissed stays dismissed) except that a dismissed
    pair whose score now exceeds ``dismissed_score + RESURFACE_MARGIN`` returns to ``new``.
    Matches come from the team's own index, ordered pairs (``a_id < b_id``), scores in 0..1.

    Locks the batch's stored rows (in id order, so two sweeps cannot deadlock) while it decides
    their status, so a reviewer's accept or dismiss is never overwritten. A pair another sweep
    inserts at the same moment is updated on the unique pair's conflict, never duplicated.
    """
    counts = WriteCounts()
    for start in range(0, len(matches), WRITE_BATCH):
        batch = matches[start : start + WRITE_BATCH]
        with transaction.atomic():
            counts.add(_save_batch(team, batch, job))
        if progress:
            progress(start + len(batch), len(matches))
    return counts


def _save_batch(team: Team, batch: Sequence[Match], job: Job | None) -> WriteCounts:
    found = {(m.a_id, m.b_id): m for m in batch}
    # The stored rows of the batch's pairs (read with a superset filter that an index answers,
    # then narrowed here), locked while their status is decided.
    stored = {
        (a, b): (pk, status, dismissed_score)
        for a, b, pk, status, dismissed_score in SimilaritySuggestion.objects.select_for_update()
        .filter(account_a_id__in={a for a, _ in found}, account_b_id__in={b for _, b in found})
        .order_by("pk")
        .values_list("account_a_id", "account_b_id", "pk", "status", "dismissed_score")
        if (a, b) in found
    }
    resurface = [
        pk
        for pair, (pk, status, dismissed_score) in stored.items()
        if status == SuggestionStatus.DISMISSED
        and dismissed_score is not None
        and found[pair].score > dismissed_score + RESURFACE_MARGIN
    ]
    job_id = job.pk if job is not None else None
    rows = [
        SimilaritySuggestion(
            team=team,
            account_a_id=m.a_id,
            account_b_id=m.b_id,
            score=min(1.0, max(0.0, m.score)),
            signals=m.signals_json(),
            job_id=job_id,
        )
        for m in sorted(batch, key=lambda m: (m.a_id, m.b_id))
    ]
    # One INSERT ... ON CONFLICT for the whole batch: new pairs are created "new", stored ones get
    # the new score, signals and job. The status is not in the update: a reviewer's stays.
    SimilaritySuggestion.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account_a", "account_b"],
        update_fields=["score", "signals", "job", "updated_at"],
    )
    if resurface:
        SimilaritySuggestion.objects.filter(pk__in=resurface).update(status=SuggestionStatus.NEW)
    return WriteCounts(created=len(found) - len(stored), updated=len(stored), resurfaced=len(resurface))


# --- recidivism ---------------------------------------------------------------------------------------


def _known_bad(team: Team) -> dict[int, dict[int, datetime]]:
    """account id -> {case id: since when the case has found it bad}: labeled inauthentic by a
    strict majority of its labels on the case (since its newest label), or on a case with a
    standing attribution decision, i.e. a removed network (since the decision)."""
    verdicts: dict[tuple[int, int], list] = {}  # (case, account) -> [inauthentic, labels, newest]
    for case_id, account_id, verdict, at in Label.objects.filter(case__team=team).values_list(
        "case_id", "account_id", "verdict", "created_at"
    ):
        tally = verdicts.setdefault((case_id, account_id), [0, 0, at])
        tally[0] += verdict == Verdict.INAUTHENTIC
        tally[1] += 1
        tally[2] = max(tally[2], at)
    bad: dict[int, dict[int, datetime]] = {}
    for (case_id, account_id), (inauthentic, total, newest) in verdicts.items():
        if 2 * inauthentic > total:
            bad.setdefault(account_id, {})[case_id] = newest
    decided = dict(
        AttributionDecision.objects.filter(case__team=team, withdrawn_at__isnull=True).values_list(
            "case_id", "decided_at"
        )
    )
    for case_id, account_id in CaseAccount.objects.filter(case__in=list(decided)).values_list(
        "case_id", "account_id"
    ):
        since = bad.setdefault(account_id, {})
        since[case_id] = min(since.get(case_id, decided[case_id]), decided[case_id])
    return bad


def flag_possible_recreations(*, team: Team, matches: Iterable[Match], job: Job | None, user=None) -> int:
    """Record a "possible re-creation" on a case when an account that is not on it, and that the
    team first saw (``Account.created_at``) after the case found one of its accounts bad
    (``_known_bad``), matches that account strongly (two families agree) and at least
    ``RECREATION_THRESHOLD``. An account the team already had is a missed member, not a
    re-creation: it shows up in the suggestions and possible networks instead.

    The flag is an audit event ``similarity.possible_recreation`` on the case, naming the account,
    the removed account it resembles, the score and the top signals: a machine's finding is not
    evidence (evidence is what an investigator captured and signed), and an event needs no schema
    change. One flag per case and account, ever: a re-run adds none. ``user`` is who ran the sweep
    (``None``: the system). Returns how many flags it added.
    """
    strong = [m for m in matches if m.strong and m.score >= RECREATION_THRESHOLD]
    if not strong:
        return 0
    bad = _known_bad(team)
    candidates: dict[tuple[int, int], tuple[Match, int, datetime]] = {}  # (case, account) -> best
    for match in strong:
        for removed, other in ((match.a_id, match.b_id), (match.b_id, match.a_id)):
            for case_id, since in bad.get(removed, {}).items():
                best = candidates.get((case_id, other))
                if best is None or match.score > best[0].score:
                    candidates[(case_id, other)] = (match, removed, since)
    if not candidates:
        return 0
    case_ids = {case_id for case_id, _ in candidates}
    on_case = set(CaseAccount.objects.filter(case_id__in=case_ids).values_list("case_id", "account_id"))
    flagged = set()
    for target_id, data in AuditEvent.objects.filter(
        team=team, verb=RECREATION_VERB, target_type="cases.case", target_id__in=[str(c) for c in case_ids]
    ).values_list("target_id", "data"):
        if isinstance(data, dict):
            flagged.add((int(target_id), data.get("account")))
    todo = {key: value for key, value in candidates.items() if key not in on_case and key not in flagged}
    if not todo:
        return 0
    account_ids = {a for _, a in todo} | {removed for _, removed, _ in todo.values()}
    accounts = {
        pk: (handle, created)
        for pk, handle, created in Account.objects.filter(pk__in=account_ids).values_list(
            "pk", "handle", "created_at"
        )
    }
    todo = {
        (case_id, account_id): value
        for (case_id, account_id), value in todo.items()
        if account_id in accounts and accounts[account_id][1] > value[2]
    }
    if not todo:
        return 0
    cases = Case.objects.in_bulk(case_ids)
    with transaction.atomic():
        for (case_id, account_id), (match, removed, _) in sorted(todo.items()):
            record_event(
                team=team,
                user=user,
                verb=RECREATION_VERB,
                target=cases[case_id],
                data={
                    "account": account_id,
                    "handle": accounts[account_id][0],
                    "similar_to": removed,
                    "similar_to_handle": accounts.get(removed, ("", None))[0],
                    "score": match.score,
                    "signals": [s.as_dict() for s in match.signals[:3]],
                    "job": job.pk if job is not None else None,
                },
            )
    return len(todo)


# --- sweeps ---------------------------------------------------------------------------------------------


def _sweep_params(
    *, team: Team, platform: str | None, case: Case | None, threshold: float | None, partitions: int
) -> dict[str, Any]:
    config = _config(team.similarity_weights)
    if platform is not None and platform not in Platform.values:
        raise InvalidInput(
            f"'{platform}' is not a supported platform.", fields={"platform": ["Unknown platform."]}
        )
    if case is not None and case.team_id != team.pk:
        raise InvalidInput("No such case.", fields={"case": ["No such case."]})
    if threshold is None:
        threshold = config.default_threshold
    if not 0 < threshold <= 1:
        raise InvalidInput(
            "The threshold is above 0 and at most 1.", fields={"threshold": ["Between 0 and 1."]}
        )
    if not 1 <= partitions <= 1024:
        raise InvalidInput("Between 1 and 1024 partitions.", fields={"partitions": ["Between 1 and 1024."]})
    scope = "case" if case is not None else "platform" if platform else "team"
    return {
        "scope": scope,
        "platform": platform,
        "case_id": case.pk if case is not None else None,
        "threshold": float(threshold),
        "partitions": partitions,
        # The settings travel with the job: a redelivered task scores with the weights the
        # finished partitions were scored with.
        "settings": team.similarity_weights or {},
    }


def start_similarity_sweep(
    *,
    team: Team,
    created_by,
    platform: str | None = None,
    case: Case | None = None,
    threshold: float | None = None,
    partitions: int = DEFAULT_PARTITIONS,
) -> Job:
    """Queue a sweep of the team (every platform, one ``platform``, or one ``case``'s accounts and
    their best matches) on a worker: all pairs scoring at least ``threshold`` (the team's default,
    0.5, when None) become suggestions. The job is audited when it starts (``job.started``) and
    when it completes (``similarity.sweep_completed``). Any member of the team may start one."""
    from cases.tasks import similarity_sweep_task  # tasks import services; import here, not at the top

    params = _sweep_params(
        team=team, platform=platform, case=case, threshold=threshold, partitions=partitions
    )
    return start_job(
        team=team,
        kind=JobKind.SIMILARITY_SWEEP,
        task=similarity_sweep_task,
        params=params,
        created_by=created_by,
    )


@transaction.atomic
def create_similarity_sweep_job(
    *,
    team: Team,
    created_by=None,
    platform: str | None = None,
    case: Case | None = None,
    threshold: float | None = None,
    partitions: int = DEFAULT_PARTITIONS,
) -> Job:
    """The Job of a sweep that runs in this process (``find_similar``), not on a worker."""
    require_member(created_by, team)
    params = _sweep_params(
        team=team, platform=platform, case=case, threshold=threshold, partitions=partitions
    )
    job = Job.objects.create(team=team, kind=JobKind.SIMILARITY_SWEEP, params=params, created_by=created_by)
    record_event(
        team=team,
        user=created_by,
        verb="job.started",
        target=job,
        data={"kind": job.kind, "params": params, "in_process": True},
    )
    return job


class _Steps:
    """One progress bar over a sweep's phases (read, index, compare): each phase reports its own
    (done, total), mapped onto its share of the job's total so the bar never goes back."""

    def __init__(self, progress: Progress | None, sizes: dict[str, int]):
        self.progress = progress
        self.offsets: dict[str, int] = {}
        offset = 0
        for name, size in sizes.items():
            self.offsets[name] = offset
            offset += size
        self.sizes = sizes
        self.total = max(offset, 1)
        self.reached = 0  # the bar never goes back, even when an estimate does (a second process died)

    def report(self, phase: str, done: int, total: int, message: str) -> None:
        if self.progress is None:
            return
        size = self.sizes[phase]
        part = size if not total else min(size, size * done // total)
        self.reached = max(self.reached, min(self.total, self.offsets[phase] + part))
        self.progress(self.reached, self.total, message)

    def phase(self, name: str) -> Progress:
        return lambda done, total, message="": self.report(name, done, total, message)


def _record_partition(job_id: int, partition: int, stats: dict[str, int]) -> list[int]:
    """Mark a partition done on the Job row; returns the partitions done so far.

    Locks the row: progress writes touch other columns, and a second copy of the task (a message
    delivered twice) must not lose the other's partitions."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        result = dict(job.result or {})
        done = sorted(set(result.get("partitions_done", [])) | {partition})
        per_partition = dict(result.get("partitions", {}))
        per_partition[str(partition)] = stats
        result.update(partitions_done=done, partitions=per_partition)
        job.result = result
        job.save(update_fields=["result"])
    return done


def _case_matches(
    index: Index, account_ids: list[int], threshold: float, report: Callable[[int, int], None]
) -> list[Match]:
    found: dict[tuple[int, int], Match] = {}
    for i, account_id in enumerate(account_ids, start=1):
        if account_id in index and not index.reference[index.row_of[account_id]]:
            for match in index.top_k(account_id, CASE_TOP_K):
                if match.score < threshold:
                    break
                found.setdefault((match.a_id, match.b_id), match)
        report(i, len(account_ids))
    return sorted(found.values(), key=lambda m: (m.a_id, m.b_id))


def run_similarity_sweep(*, job: Job, progress: Progress | None = None) -> dict[str, Any]:
    """Run a sweep job to the end: build the index, run the partitions not yet done, store their
    pairs (``save_matches``) and recidivism flags, then, in one transaction, write the
    ``similarity.sweep_completed`` event and mark the job succeeded. Returns the job's result.

    Safe to run again on the same job (a redelivered task): finished partitions are skipped, an
    interrupted one is redone, and the stored rows end up as an undisturbed run leaves them.
    """
    params = job.params
    team = job.team
    partitions = int(params["partitions"])
    threshold = float(params["threshold"])
    platform = params.get("platform") or None
    done = set(job.result.get("partitions_done", [])) if isinstance(job.result, dict) else set()

    accounts = _accounts_in_scope(team, platform)
    n_accounts = accounts.count()
    n_posts = Post.objects.filter(account__in=accounts).count()
    case_accounts: list[int] = []
    if params["scope"] == "case":
        case_accounts = list(
            CaseAccount.objects.filter(case_id=params["case_id"])
            .order_by("account_id")
            .values_list("account_id", flat=True)
        )
        n_compare = len(case_accounts)
    else:
        n_compare = accounts.filter(kind=AccountKind.SUSPECT).count()
    steps = _Steps(
        progress, {"read": n_posts + n_accounts, "index": n_accounts, "compare": max(n_compare, 1)}
    )

    def build_progress(d: int, t: int, message: str) -> None:
        steps.report("read" if message.startswith("Reading") else "index", d, t, message)

    index, as_of = build_index(
        team=team,
        platform=platform,
        settings=params.get("settings"),
        progress=build_progress,
        remember=False,
        parallel=True,
    )

    user = job.created_by
    compare = steps.phase("compare")
    totals = WriteCounts()
    this_run = {"pairs": 0, "flags": 0}
    todo = [p for p in range(partitions) if p not in done]
    # accounts of partitions finished (before this run, or by this process), so the bar carries on
    compared = sum(
        len([a for a in case_accounts if a % partitions == p])
        if params["scope"] == "case"
        else _partition_size(index, partitions, p)
        for p in done
    )

    def store(
        partition: int, found: list[Match], label: str, at: int, counts: WriteCounts | None = None
    ) -> None:
        """Save one partition's pairs (unless the child saved them: ``counts``) and flags, then
        mark it done on the Job row."""

        def saving(d: int, t: int) -> None:
            compare(at, max(n_compare, 1), f"{label}: saving {d:,} of {t:,} pairs")

        if counts is None:
            counts = save_matches(team=team, matches=found, job=job, progress=saving if progress else None)
        added = flag_possible_recreations(team=team, matches=found, job=job, user=user)
        stats = {"pairs": len(found), "created": counts.created, "updated": counts.updated, "flags": added}
        _record_partition(job.pk, partition, stats)
        this_run["pairs"] += len(found)
        this_run["flags"] += added
        totals.add(counts)

    # Team and platform sweeps: a forked child compares every other partition (it sees the index
    # through fork) and saves their pairs on its own connection, while this process does the rest;
    # this process flags re-creations and marks every partition done.
    child, theirs, theirs_done = None, [], Counter()
    if params["scope"] != "case" and len(todo) > 1 and can_fork() and len(index) >= index_module.PARALLEL_MIN:
        index.compact()
        index.blocking_matrices()  # built once here, shared with the child through fork
        todo, theirs = todo[0::2], todo[1::2]
        child = Forked(_sweep_partitions, index, threshold, partitions, theirs, theirs_done, team, job)

    collected = [0]  # accounts of the child's partitions already stored (and counted in compared)

    def in_flight() -> int:
        """Accounts the child has compared in partitions not yet stored."""
        return max(theirs_done.value - collected[0], 0) if child is not None else 0

    def collect(ready: dict[str, tuple[list[Match], WriteCounts | None]]) -> None:
        nonlocal compared
        for key, (found, counts) in ready.items():
            partition = int(key)
            size = _partition_size(index, partitions, partition)
            compared += size
            collected[0] += size
            theirs.remove(partition)
            store(partition, found, f"Comparing: partition {partition + 1} of {partitions}", compared, counts)

    def compare_partition(partition: int, report: Callable[[int, int], None]) -> list[Match]:
        """One partition's pairs, in the engine thread while this one keeps the Job alive."""
        return _with_heartbeat(
            lambda seen: list(
                sweep(index, threshold, partitions=partitions, partition=partition, progress=seen)
            ),
            report,
            _partition_size(index, partitions, partition),
        )

    try:
        for partition in todo:
            label = f"Comparing: partition {partition + 1} of {partitions}"
            mine = (
                [a for a in case_accounts if a % partitions == partition]
                if params["scope"] == "case"
                else None
            )

            def report(d: int, t: int, label=label, base=compared) -> None:
                compare(base + d + in_flight(), max(n_compare, 1), label)

            if mine is not None:
                size = len(mine)
                found = _with_heartbeat(
                    lambda seen, mine=mine: _case_matches(index, mine, threshold, seen or _ignore),
                    report,
                    size,
                )
            else:
                size = _partition_size(index, partitions, partition)
                found = compare_partition(partition, report)
            compared += size
            store(partition, found, label, compared)
            if child is not None:
                collect(child.ready())
        if child is not None:

            def waiting(d: int, t: int) -> None:
                compare(compared + in_flight(), max(n_compare, 1), "Comparing")

            try:
                _with_heartbeat(lambda seen: child.result(), waiting)
            except ForkedError:
                logger.warning(
                    "the sweep's second process failed; comparing its partitions here", exc_info=True
                )
            collect(child.ready())
            for partition in list(theirs):  # what the child did not deliver: compare it here
                found = compare_partition(
                    partition, lambda d, t: compare(compared + d, max(n_compare, 1), "Comparing")
                )
                collect({str(partition): (found, None)})
    finally:
        if child is not None:
            child.close()
    pairs, flags = this_run["pairs"], this_run["flags"]

    job.refresh_from_db(fields=["result", "attempts"])
    per_partition = job.result.get("partitions", {})
    result = {
        "scope": params["scope"],
        "platform": platform,
        "case_id": params.get("case_id"),
        "threshold": threshold,
        "as_of": as_of.isoformat(),
        "accounts": len(index),
        "pairs": sum(p.get("pairs", 0) for p in per_partition.values()),
        "created": sum(p.get("created", 0) for p in per_partition.values()),
        "updated": sum(p.get("updated", 0) for p in per_partition.values()),
        "recreation_flags": sum(p.get("flags", 0) for p in per_partition.values()),
        "partitions_done": sorted(job.result.get("partitions_done", [])),
        "partitions": per_partition,
    }
    message = f"{result['pairs']:,} similar pairs among {result['accounts']:,} accounts"
    if steps.progress:
        steps.progress(steps.total, steps.total, message)
    with transaction.atomic():
        record_event(
            team=team,
            user=user,
            verb=SWEEP_VERB,
            target=job,
            data={
                **{k: v for k, v in result.items() if k != "partitions"},
                "attempts": job.attempts,
                "this_run": {
                    "pairs": pairs,
                    "created": totals.created,
                    "updated": totals.updated,
                    "flags": flags,
                },
            },
        )
        finish_job(job.pk, result=result, message=message)
    return result


def _partition_size(index: Index, partitions: int, partition: int) -> int:
    mask = index.alive & ~index.reference & (index.ids % partitions == partition)
    return int(mask.sum())


def _sweep_partitions(
    send: Callable[[str, Any], None],
    index: Index,
    threshold: float,
    partitions: int,
    wanted: list[int],
    done: Counter,
    team: Team,
    job: Job,
) -> None:
    """In the sweep's forked child: compare these partitions and save their pairs on a database
    connection of its own, sending each one's pairs and write counts as it is finished (the
    parent flags re-creations and marks the partition done); ``done`` counts the accounts
    compared, for the bar. Pairs belong to one partition, so the two processes never write the
    same row."""
    from django.db import connections

    _own_connections()
    finished = 0
    for partition in wanted:

        def seen(d: int, t: int, base=finished) -> None:
            done.value = base + d

        found = list(sweep(index, threshold, partitions=partitions, partition=partition, progress=seen))
        counts = save_matches(team=team, matches=found, job=job)
        finished += _partition_size(index, partitions, partition)
        done.value = finished
        send(str(partition), (found, counts))
    connections.close_all()


# --- top-k for one account ---------------------------------------------------------------------------


def refresh_similar_for_account(*, account: Account, requested_by=None, job: Job | None = None) -> Job:
    """Compute the account's best ``TOP_K`` matches against its whole team (every platform) from
    the warm index (``team_index``), store those scoring at least ``TOP_K_MIN_SCORE``
    (``save_matches``: reviewers' statuses kept) and flag possible re-creations.

    The computation is recorded as a succeeded Job (scope ``account``, ``result["as_of"]``): that
    row is what makes the stored answer fresh. ``job`` is the queued job when a worker runs this
    (``refresh_similar_for_account_task``); without one a job row is made here. No audit event:
    bookkeeping, like the rows it writes.
    """
    team = account.team
    if job is None:
        now = timezone.now()
        job = Job.objects.create(
            team=team,
            kind=JobKind.SIMILARITY_SWEEP,
            status=JobStatus.RUNNING,
            params={"scope": "account", "account_id": account.pk, "settings": team.similarity_weights or {}},
            created_by=requested_by,
            attempts=1,
            started_at=now,
            heartbeat_at=now,
        )
    index, as_of = team_index(team=team)
    matches = []
    if account.pk in index:
        matches = [m for m in index.top_k(account.pk, TOP_K) if m.score >= TOP_K_MIN_SCORE]
    counts = save_matches(team=team, matches=matches, job=job)
    flags = flag_possible_recreations(team=team, matches=matches, job=job, user=requested_by)
    result = {
        "scope": "account",
        "account_id": account.pk,
        "as_of": as_of.isoformat(),
        "accounts": len(index),
        "pairs": len(matches),
        "created": counts.created,
        "updated": counts.updated,
        "recreation_flags": flags,
    }
    finish_job(job.pk, result=result, message=f"{len(matches)} similar accounts for @{account.handle}")
    job.refresh_from_db()
    return job


def start_similar_refresh(*, account: Account, requested_by=None) -> Job:
    """Queue ``refresh_similar_for_account`` on a worker: what an import or the creation of an
    account starts, so the account's similar accounts are ready when someone looks."""
    from cases.tasks import refresh_similar_for_account_task

    return start_job(
        team=account.team,
        kind=JobKind.SIMILARITY_SWEEP,
        task=refresh_similar_for_account_task,
        params={
            "scope": "account",
            "account_id": account.pk,
            "settings": account.team.similarity_weights or {},
        },
        created_by=requested_by,
    )


def get_similar_accounts(*, account: Account, limit: int = 20) -> tuple[list[SimilarAccount], bool]:
    """The account's similar accounts, best first: the stored answer when it is fresh
    (``cases.similarity_selectors.similarity_as_of``), else computed now
    (``refresh_similar_for_account``) and then read back the same way.
    Returns ``(results, computed)``."""
    as_of = similarity_as_of(account)
    computed = as_of is None
    if computed:
        job = refresh_similar_for_account(account=account)
        as_of = datetime.fromisoformat(job.result["as_of"])
    return list_similar_accounts(account=account, since=as_of, limit=limit), computed


# --- a case from a cluster -------------------------------------------------------------------------------


@transaction.atomic
def create_case_from_cluster(*, team: Team, account_id: int, created_by, title: str = "") -> Case:
    """Open a case holding the possible network (``similarity_selectors``) that contains
    ``account_id``, as it stands now: ``create_case`` and then ``add_account_to_case`` for each of
    its accounts (each audited, each naming its strongest suggestion and why), then one
    ``similarity.case_from_cluster`` event. Any member of the team. A cluster larger than
    ``MAX_CLUSTER_CASE_ACCOUNTS`` is refused: sweep with a higher threshold first."""
    require_member(created_by, team)
    network = get_network_containing(team=team, account_id=account_id)
    if network is None:
        raise InvalidInput("That account is in no possible network any more; reload the page.")
    if network.size > MAX_CLUSTER_CASE_ACCOUNTS:
        raise InvalidInput(
            f"This cluster has {network.size:,} accounts, more than {MAX_CLUSTER_CASE_ACCOUNTS} for one "
            "case. Run a sweep with a higher threshold to split it."
        )
    accounts = Account.objects.in_bulk(network.account_ids)
    anchor = accounts[network.key]
    signals = ", ".join(s.signal.replace("_", " ") for s in network.top_signals) or "similar accounts"
    title = title.strip() or f"Possible network around @{anchor.handle} ({network.size} accounts)"
    summary = (
        f"Made from a possible network of {network.size} accounts ({network.edges} similar pairs, "
        f"{network.accepted} accepted; best score {network.max_score:.2f}). Top signals: {signals}."
    )
    case = create_case(team=team, title=title[:300], created_by=created_by, summary=summary)
    suggestions = SimilaritySuggestion.objects.in_bulk(set(network.best_suggestion.values()))
    for account_id_ in network.account_ids:
        suggestion = suggestions.get(network.best_suggestion.get(account_id_))
        reason = "In a possible network"
        if suggestion is not None:
            reason += f" (best pair score {suggestion.score:.2f})"
        add_account_to_case(
            case=case,
            account=accounts[account_id_],
            added_by=created_by,
            reason=reason,
            suggestion=suggestion,
        )
    record_event(
        team=team,
        user=created_by,
        verb=CLUSTER_CASE_VERB,
        target=case,
        data={
            "accounts": network.account_ids,
            "anchor": network.key,
            "pairs": network.edges,
            "max_score": network.max_score,
            "top_signals": [s.signal for s in network.top_signals],
        },
    )
    return case
