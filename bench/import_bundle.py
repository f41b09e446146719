"""Bundle import into PostgreSQL: posts per second, peak memory, and how much faster than the obvious
one-save()-per-row import, measured side by side in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python -m bench import_bundle

The benchmark never touches the database DATABASE_URL names: it connects to the same server,
creates its own scratch database (BENCH_DB, default ``bench_import``), migrates it, and drops it at
the end (BENCH_KEEP_DB=1 keeps it). Files go to a temporary directory.

Environment: BENCH_POSTS (1,000,000), BENCH_ACCOUNTS (10,000), BENCH_NAIVE_POSTS (20,000),
BENCH_SEED (20230829).
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORDS = (
    "the", "government", "must", "stop", "lying", "about", "economy", "people", "deserve", "truth",
    "prices", "energy", "sanctions", "war", "peace", "border", "security", "families", "jobs",
    "inflation", "taxes", "schools", "health", "care", "congress", "senate", "president", "election",
    "vote", "fraud", "media", "freedom", "europe", "america", "china", "russia", "ukraine",
)  # fmt: skip
FIRST = ("emily", "grace", "linda", "nancy", "megan", "daniel", "kevin", "brian", "tyler", "jason")
LAST = ("miller", "hughes", "turner", "lopez", "walker", "baker", "young", "carter", "evans", "parker")
START = datetime(2023, 1, 1, tzinfo=UTC)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "").replace(",", "") or default)


def generate(path: Path, *, accounts: int, posts: int, seed: int) -> None:
    """A bundle of ``accounts`` account lines then ``posts`` post lines, the same for a seed."""
    rng = random.Random(seed)
    handles = [f"{rng.choice(FIRST)}{rng.choice(LAST)}{i:08d}" for i in range(accounts)]
    dumps = json.dumps
    with path.open("w", encoding="utf-8") as out:
        for i, handle in enumerate(handles):
            out.write(
                dumps(
                    {
                        "type": "account",
                        "platform": "x",
                        "handle": handle,
                        "external_id": str(10**12 + i),
                        "display_name": handle[:-8].title(),
                        "bio": " ".join(rng.choices(WORDS, k=rng.randint(3, 12))),
                        "profile_url": f"https://x.com/{handle}",
                        "created_at": (START - timedelta(days=rng.randint(0, 3000))).isoformat(),
                        "followers": rng.randint(0, 50_000),
                        "following": rng.randint(0, 2_000),
                        "language": "en",
                    }
                )
                + "\n"
            )
        for i in range(posts):
            post: dict[str, Any] = {
                "type": "post",
                "platform": "x",
                "account": handles[rng.randrange(accounts)],
                "external_id": str(10**15 + i),
                "text": " ".join(rng.choices(WORDS, k=rng.randint(8, 40))),
                "posted_at": (START + timedelta(seconds=rng.randrange(365 * 86400))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "is_repost": rng.random() < 0.2,
            }
            if rng.random() < 0.3:
                post["links"] = [f"https://news{rng.randrange(500)}.example/{rng.randrange(10**6)}"]
            out.write(dumps(post) + "\n")


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024**2


def scratch_database(url: str, name: str) -> str:
    """Create (or recreate) the scratch database on the server ``url`` points at; its URL."""
    import psycopg
    from psycopg import sql

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


def drop_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def naive_import(team, path: Path) -> None:
    """The obvious way: a query or two and a save() per line, each in its own transaction."""
    from cases.handles import normalize_handle
    from cases.models import Account, Post

    with path.open(encoding="utf-8") as lines:
        for line in lines:
            obj = json.loads(line)
            if obj["type"] == "account":
                Account.objects.update_or_create(
                    team=team,
                    platform=obj["platform"],
                    handle_normalized=normalize_handle(obj["handle"]),
                    defaults={
                        "handle": obj["handle"],
                        "external_id": obj.get("external_id", ""),
                        "display_name": obj.get("display_name", ""),
                        "bio": obj.get("bio", ""),
                        "profile_url": obj.get("profile_url", ""),
                        "created_on_platform": datetime.fromisoformat(obj["created_at"]),
                        "followers": obj.get("followers"),
                        "following": obj.get("following"),
                        "language": obj.get("language", ""),
                    },
                )
            elif obj["type"] == "post":
                account = Account.objects.get(
                    team=team, platform=obj["platform"], handle_normalized=normalize_handle(obj["account"])
                )
                Post.objects.update_or_create(
                    account=account,
                    external_id=obj["external_id"],
                    defaults={
                        "text": obj.get("text", ""),
                        "posted_at": datetime.fromisoformat(obj["posted_at"]),
                        "is_repost": obj.get("is_repost", False),
                        "links": obj.get("links", []),
                    },
                )


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("skipped: bench.import_bundle needs DATABASE_URL pointing at a PostgreSQL server")
        return
    posts = env_int("BENCH_POSTS", 1_000_000)
    accounts = env_int("BENCH_ACCOUNTS", 10_000)
    naive_posts = env_int("BENCH_NAIVE_POSTS", 20_000)
    naive_accounts = max(1, min(accounts, naive_posts // 100))
    seed = env_int("BENCH_SEED", 20230829)
    db_name = os.environ.get("BENCH_DB", "bench_import")

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ["DATABASE_URL"] = scratch_database(url, db_name)
    os.environ["VAR_DIR"] = str(workdir / "var")  # broker folders and media stay out of var/
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    try:
        run(
            workdir,
            posts=posts,
            accounts=accounts,
            naive_posts=naive_posts,
            naive_accounts=naive_accounts,
            seed=seed,
        )
    finally:
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop_database(url, db_name)


def run(
    workdir: Path, *, posts: int, accounts: int, naive_posts: int, naive_accounts: int, seed: int
) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from cases.models import Account, AuditEvent, Post, Team
    from cases.services.imports import import_bundle

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]

    big = workdir / "bundle.jsonl"
    started = time.perf_counter()
    generate(big, accounts=accounts, posts=posts, seed=seed)
    generated = time.perf_counter() - started
    small = workdir / "slice.jsonl"
    generate(small, accounts=naive_accounts, posts=naive_posts, seed=seed + 1)
    size_mb = big.stat().st_size / 1024**2
    rss_before = peak_rss_mb()

    fast_team = Team.objects.create(slug="bench-fast", name="Bench fast")
    started = time.perf_counter()
    first = import_bundle(team=fast_team, source=big)
    fast_seconds = time.perf_counter() - started
    rss_import = peak_rss_mb()
    assert first["posts"]["created"] == posts and first["rejected"]["total"] == 0, first

    rows = (Account.objects.count(), Post.objects.count(), AuditEvent.objects.count())
    started = time.perf_counter()
    again = import_bundle(team=fast_team, source=big)
    reimport_seconds = time.perf_counter() - started
    unchanged = (
        again["posts"]["unchanged"] == posts
        and again["accounts"]["unchanged"] == accounts
        and all(again[k]["created"] == again[k]["updated"] == 0 for k in ("accounts", "posts"))
        and (Account.objects.count(), Post.objects.count(), AuditEvent.objects.count()) == rows
    )

    slice_team = Team.objects.create(slug="bench-slice", name="Bench slice")
    started = time.perf_counter()
    import_bundle(team=slice_team, source=small)
    slice_seconds = time.perf_counter() - started

    naive_team = Team.objects.create(slug="bench-naive", name="Bench naive")
    started = time.perf_counter()
    naive_import(naive_team, small)
    naive_seconds = time.perf_counter() - started
    assert Post.objects.filter(account__team=naive_team).count() == naive_posts

    fast_rate = posts / fast_seconds
    reimport_rate = posts / reimport_seconds
    slice_rate = naive_posts / slice_seconds
    naive_rate = naive_posts / naive_seconds
    print(f"PostgreSQL {server}, {os.cpu_count()} CPUs, scratch database (dropped afterwards)")
    print(
        f"file: {accounts:,} accounts + {posts:,} posts, {size_mb:,.0f} MB of JSON Lines "
        f"(generated in {generated:.1f} s, seed {seed})"
    )
    print()
    print(f"{'':42}{'posts':>11}{'seconds':>9}{'posts/s':>10}{'vs naive':>10}")
    table = [
        ("import, fresh", posts, fast_seconds, fast_rate),
        ("re-import, same file (nothing changes)", posts, reimport_seconds, reimport_rate),
        ("import, 20k slice", naive_posts, slice_seconds, slice_rate),
        ("naive save() per row, same slice", naive_posts, naive_seconds, naive_rate),
    ]
    for label, count, seconds, rate in table:
        print(f"{label:42}{count:>11,}{seconds:>9.1f}{rate:>10,.0f}{rate / naive_rate:>9.0f}x")
    print()
    verdict = "met" if fast_rate >= 20_000 else "NOT met"
    print(f"target >= 20,000 posts/s: {verdict} ({fast_rate / 20_000:.2f}x the target)")
    print(
        f"re-import vs fresh import: {reimport_rate / fast_rate:.2f}x the speed; nothing changed: {unchanged}"
    )
    print(
        f"peak RSS: {rss_import:,.0f} MB after the import ({rss_before:,.0f} MB before it); "
        f"file {size_mb:,.0f} MB; target < 500 MB: {'met' if rss_import < 500 else 'NOT met'}"
    )
    if not unchanged:
        raise SystemExit("re-import changed rows: idempotency broken")


if __name__ == "__main__":
    main()
