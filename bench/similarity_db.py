"""The similarity sweep end to end in PostgreSQL: the sweep service reads a team's accounts and
posts from the database, builds the index, compares, and writes ``SimilaritySuggestion`` rows —
side by side with a ``pg_trgm`` self-join on the handles alone, measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python -m bench similarity_db
    SIM_DB_ACCOUNTS=100000 DATABASE_URL=... python -m bench similarity_db

The benchmark never touches the database DATABASE_URL names: it connects to the same server,
creates its own scratch database (BENCH_DB, default ``bench_sim``), migrates it, and drops it at the
end (BENCH_KEEP_DB=1 keeps it).

The corpus is bench/synthetic.py's (seed SIM_DB_SEED, default 2): SIM_DB_ACCOUNTS accounts (default
50,000, about 9 posts each; 80 % organic, 20 % default-handle-heavy organic, planted networks scaled
with the size) plus 60 reference accounts. It is loaded in this process (bulk inserts and COPY, not
timed as part of the sweep); the sweep runs in a child process, so its wall time and peak RSS are
the sweep's alone: ``run_similarity_sweep`` on a Job, with progress written to the Job row as the
worker does. Then the same sweep again (every pair is updated, none created), then the pg_trgm
join: ``CREATE EXTENSION pg_trgm``, a GIN index on the normalized handles, and
``SELECT count(*) FROM account a JOIN account b ON a.handle % b.handle AND a.id < b.id`` at
``pg_trgm.similarity_threshold`` SIM_DB_TRGM (default 0.5).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "").replace(",", "") or default)


def peak_rss_mb() -> float:
    """This process's peak RSS. On Linux from /proc (VmHWM): ru_maxrss survives exec, so a child
    would report its parent's size at fork time when that was larger."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024**2


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else None


def load_corpus(team, records, *, batch: int = 5000) -> dict[int, int]:
    """Write generated records (bench/synthetic.py) into the team: accounts, posts (a copy points
    at the reference post it copies), media brands with their domains and accounts. Returns
    generated id -> account pk. Posts go through COPY on PostgreSQL, bulk inserts elsewhere."""
    from django.db import connection
    from django.utils import timezone

    from cases.handles import normalize_handle
    from cases.models import Account, AccountKind, BrandAccount, BrandDomain, MediaBrand, Post

    now = timezone.now()
    seen: set[tuple[str, str]] = set()
    accounts = []
    for record in records:
        handle = record.handle
        while (record.platform, normalize_handle(handle)) in seen:  # generated handles can collide
            handle += "_"
        seen.add((record.platform, normalize_handle(handle)))
        accounts.append(
            Account(
                team=team,
                platform=record.platform,
                handle=handle,
                handle_normalized=normalize_handle(handle),
                display_name=record.display_name,
                bio=record.bio,
                created_on_platform=_when(record.created_at),
                avatar_phash=f"{record.avatar_phash:016x}" if record.avatar_phash is not None else "",
                kind=AccountKind.REFERENCE if record.reference else AccountKind.SUSPECT,
            )
        )
    Account.objects.bulk_create(accounts, batch_size=batch)
    pk_of = {record.id: account.pk for record, account in zip(records, accounts, strict=True)}

    # Reference posts first: copies name them. Their generated ids run in order over the
    # reference accounts sorted by id (bench/synthetic.py numbers them as it makes them).
    references = sorted((r for r in records if r.reference), key=lambda r: r.id)
    ref_posts = [
        Post(account_id=pk_of[r.id], text=p.text, posted_at=_when(p.posted_at), links=list(p.links))
        for r in references
        for p in r.posts
    ]
    Post.objects.bulk_create(ref_posts, batch_size=batch)
    post_pk = {i: post.pk for i, post in enumerate(ref_posts, start=1)}

    rows = (
        (
            pk_of[r.id],
            "",
            "",
            p.text,
            _when(p.posted_at),
            False,
            json.dumps(list(p.links)),
            post_pk.get(p.copied_from_id) if p.copied_from_id else None,
            None,
            now,
        )
        for r in records
        if not r.reference
        for p in r.posts
    )
    columns = [
        "account_id",
        "external_id",
        "url",
        "text",
        "posted_at",
        "is_repost",
        "links",
        "copied_from_id",
        "copy_similarity",
        "created_at",
    ]
    if connection.vendor == "postgresql":
        table = Post._meta.db_table
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        chunk: list[Post] = []
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            values["links"] = json.loads(values["links"])
            chunk.append(Post(**values))
            if len(chunk) == batch:
                Post.objects.bulk_create(chunk)
                chunk = []
        Post.objects.bulk_create(chunk)

    brands: dict[int, set[str]] = {}
    for record in records:
        for brand_id in record.brand_ids:
            brands.setdefault(brand_id, set()).update(record.brand_domains)
    brand_pk = {}
    for brand_id, domains in sorted(brands.items()):
        brand = MediaBrand.objects.create(team=team, name=f"Brand {brand_id}")
        BrandDomain.objects.bulk_create(BrandDomain(brand=brand, domain=d) for d in sorted(domains))
        brand_pk[brand_id] = brand.pk
    BrandAccount.objects.bulk_create(
        BrandAccount(brand_id=brand_pk[b], account_id=pk_of[r.id]) for r in records for b in r.brand_ids
    )
    return pk_of


# --- the sweep, in a child process --------------------------------------------------------------------


def _sweep_child() -> None:
    """Run in a fresh process: one sweep of the team, its numbers as one JSON line on stdout."""
    import django

    django.setup()
    from cases.models import SimilaritySuggestion, Team
    from cases.services.jobs import run_job
    from cases.services.similarity import create_similarity_sweep_job, run_similarity_sweep

    team = Team.objects.get(slug=os.environ["BENCH_SIM_TEAM"])
    rss_start = peak_rss_mb()
    gaps: list[tuple[float, str]] = []
    phases: dict[str, float] = {}
    rss_read: list[float] = []  # after the records are read, before the index is built
    last = [time.perf_counter()]

    started = time.perf_counter()
    job = create_similarity_sweep_job(team=team)
    with run_job(job.pk) as (running, job_progress):

        def progress(done: int, total: int, message: str = "") -> None:
            now = time.perf_counter()
            gaps.append((now - last[0], message))
            last[0] = now
            phase = message.split(":")[0]
            if phase not in phases:
                phases[phase] = now - started
                if phase.startswith("Indexing"):
                    rss_read.append(_current_rss_mb())
            job_progress(done, total, message)

        result = run_similarity_sweep(job=running, progress=progress)
    wall = time.perf_counter() - started
    running.refresh_from_db()
    print(
        json.dumps(
            {
                "wall": wall,
                "peak_rss_mb": peak_rss_mb(),
                "rss_start_mb": rss_start,
                "rss_read_mb": rss_read[0] if rss_read else 0.0,
                "longest_gap": max(gaps)[0],
                "longest_gap_before": max(gaps)[1],
                "phases": phases,
                "pairs": result["pairs"],
                "created": result["created"],
                "updated": result["updated"],
                "accounts": result["accounts"],
                "stored": SimilaritySuggestion.objects.filter(team=team).count(),
                "job_progress": [running.progress, running.total],
            }
        )
    )


def _run_child(env: dict[str, str]) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", "import bench.similarity_db as b; b._sweep_child()"],
        cwd=HERE.parent,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


# --- main ------------------------------------------------------------------------------------------------


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("skipped: bench.similarity_db needs DATABASE_URL pointing at a PostgreSQL server")
        return
    from bench.import_bundle import drop_database, scratch_database

    db_name = os.environ.get("BENCH_DB", "bench_sim")
    workdir = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    os.environ["DATABASE_URL"] = scratch_database(url, db_name)
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    try:
        run(
            accounts=env_int("SIM_DB_ACCOUNTS", 50_000),
            seed=env_int("SIM_DB_SEED", 2),
            trgm=float(os.environ.get("SIM_DB_TRGM", "0.5")),
        )
    finally:
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop_database(url, db_name)


def run(*, accounts: int, seed: int, trgm: float) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from bench.synthetic import generate
    from cases.models import Account, Post, SimilaritySuggestion, Team
    from cases.similarity.engine import Index, sweep

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]

    started = time.perf_counter()
    organic = int(accounts * 0.8)
    corpus = generate(
        seed, organic=organic, default_heavy=accounts - organic, network_scale=max(1.0, accounts / 25_000)
    )
    generated = time.perf_counter() - started
    team = Team.objects.create(slug="bench-sim", name="Bench similarity")
    started = time.perf_counter()
    pk_of = load_corpus(team, corpus.records)
    loaded = time.perf_counter() - started
    n_accounts = Account.objects.filter(team=team).count()
    n_posts = Post.objects.filter(account__team=team).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    env = {**os.environ, "BENCH_SIM_TEAM": team.slug}
    first = _run_child(env)
    again = _run_child(env)

    # The same sweep in process, on the generated records: what went through the database should
    # be what the engine finds without it (ids mapped; handles that collided were renamed).
    started = time.perf_counter()
    index = Index.build(corpus.records)
    in_process = {
        (min(pk_of[m.a_id], pk_of[m.b_id]), max(pk_of[m.a_id], pk_of[m.b_id])) for m in sweep(index, 0.5)
    }
    in_process_seconds = time.perf_counter() - started
    del index
    stored = set(SimilaritySuggestion.objects.filter(team=team).values_list("account_a", "account_b"))
    agreement = len(in_process & stored) / max(len(in_process | stored), 1)
    planted_accounts = {pk_of[i] for i in corpus.network}
    in_pairs = {a for pair in stored for a in pair}
    covered = len(planted_accounts & in_pairs) / max(len(planted_accounts), 1)
    organic_in_pairs = len(in_pairs - planted_accounts)

    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        started = time.perf_counter()
        cursor.execute(
            f"CREATE INDEX bench_handle_trgm ON {table} USING gin (handle_normalized gin_trgm_ops)"
        )
        gin = time.perf_counter() - started
        cursor.execute("ANALYZE")
        cursor.execute(f"SET pg_trgm.similarity_threshold = {trgm:.2f}")
        started = time.perf_counter()
        cursor.execute(
            f"SELECT count(*) FROM {table} a JOIN {table} b "  # noqa: S608 - constants only
            "ON a.handle_normalized %% b.handle_normalized AND a.id < b.id "
            "WHERE a.team_id = %s AND b.team_id = %s",
            [team.pk, team.pk],
        )
        trgm_pairs = cursor.fetchone()[0]
        trgm_seconds = time.perf_counter() - started

    print(f"PostgreSQL {server}, {os.cpu_count()} CPUs, scratch database (dropped afterwards)")
    print(
        f"corpus: {n_accounts:,} accounts, {n_posts:,} posts, {len(corpus.network):,} of them planted "
        f"(seed {seed}); generated in {generated:.1f} s, "
        f"loaded in {loaded:.1f} s (not part of the sweep)"
    )
    print()
    for label, numbers in (("sweep, first run", first), ("sweep, again (all updates)", again)):
        phases = numbers["phases"]
        steps = ", ".join(f"{name.lower()} from {at:.1f} s" for name, at in phases.items())
        print(
            f"{label}: {numbers['wall']:.1f} s wall end to end (read from PG, index, compare, write); "
            f"{numbers['pairs']:,} pairs, {numbers['created']:,} created, {numbers['updated']:,} updated; "
            f"peak RSS {numbers['peak_rss_mb']:,.0f} MB ({numbers['rss_start_mb']:,.0f} MB at start, "
            f"{numbers['rss_read_mb']:,.0f} MB with the records read); "
            f"longest gap between progress reports {numbers['longest_gap']:.2f} s "
            f"(ending at “{numbers['longest_gap_before']}”)"
        )
        print(f"  phases: {steps}")
    print(
        f"stored suggestions: {first['stored']:,}; the same sweep in process on the generated records: "
        f"{len(in_process):,} pairs in {in_process_seconds:.1f} s (build + sweep, no database); "
        f"agreement (Jaccard) {agreement:.4f}"
    )
    print(
        f"planted accounts in a stored pair: {covered:.3f} of {len(planted_accounts):,}; "
        f"organic accounts in a stored pair: {organic_in_pairs:,}"
    )
    print(
        f"pg_trgm self-join on handles (threshold {trgm}): {trgm_seconds:.1f} s for {trgm_pairs:,} pairs "
        f"(GIN index built in {gin:.1f} s, not counted)"
    )
    print(
        f"ratio: the pg_trgm join on handles alone takes {trgm_seconds / first['wall']:.2f}x the time of "
        f"the whole sweep (all signals, read + compute + write)"
    )
    target = "met" if first["wall"] <= 30 and first["peak_rss_mb"] <= 2048 else "NOT met"
    print(
        f"issue targets at 100k accounts / 1M posts (<= 30 s, <= 2 GB): {target} at this size "
        f"({n_accounts:,} accounts / {n_posts:,} posts)"
    )


if __name__ == "__main__":
    main()
