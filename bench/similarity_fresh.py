"""How soon a newly imported account is queryable (issue 4: "a newly imported account is queryable
within 1 s"): the time from an import's commit to (a) its similar accounts stored by the worker's
refresh and (b) the API's answer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        python -m bench similarity_fresh
    SIM_FRESH_ACCOUNTS=100000 SIM_FRESH_TRIALS=9 ... python -m bench similarity_fresh

Like bench/similarity_db.py it never touches the database DATABASE_URL names: it creates a scratch
database (BENCH_DB, default ``bench_fresh``) on that server and drops it at the end (BENCH_KEEP_DB=1
keeps it). The team is bench/synthetic.py's corpus (seed SIM_FRESH_SEED, default 2) of
SIM_FRESH_ACCOUNTS accounts (default 20,000, ~9 posts each). A real Celery worker runs in a child
process (``celery worker --pool solo``) on the configured broker — Redis recommended: kombu's
filesystem transport polls once a second, which this benchmark would measure.

Each trial adds a new account with the handle shape of a planted copy-paste network's member and
that member's posts, at the same moments. Three kinds of trial take turns:

- **worker**: from the import's commit until the refresh the import queued has stored a
  suggestion pairing the new account with the member it copies; then the API asked once
  (``GET /api/accounts/{id}/similar/``), with its latency and whether it answered from the stored
  rows or computed on the spot (``X-Similar-Source``);
- **API at once** (``api``): the same import, then the API asked straight away (before any worker
  result), as a client that polls right after an import would;
- **service**: no import — the account and its posts made through ``create_account`` and
  ``create_post`` in one transaction (as a capture or a script does); from its commit until the
  refresh ``create_account`` queued has stored the suggestion.

The first two pass ``import_bundle`` (as the import job runs it) a one-account bundle. The service
trials run first (a third of the trials), then worker and API trials alternate, each trial
``SETTLE_SECONDS`` after the previous one's refresh finished. The warm index of a
process (``cases.services.similarity.team_index``) follows new and changed accounts incrementally,
imports included (the importer stamps ``updated_at`` on every account it changes, posts
included); it rebuilds only when brands, brand domains or brand links change.

Both processes are warm first (one refresh on the worker, one API answer here), as a running
deployment is. Exits non-zero only when something fails.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POLL_SECONDS = 0.002
# worker: an import, then the worker's refresh; api: an import, then the API at once; service: an
# account and its posts made through the services in one transaction (a capture, a script).
MODES = ("worker", "api", "service")
# Between trials: longer than the services' clock slack (5 s), so that one trial's writes never
# count as "changed since" for the next one's warm index.
SETTLE_SECONDS = 6.0
QUEUE = "bench-similarity-fresh"
WAIT_SECONDS = 120.0


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "").replace(",", "") or default)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("skipped: bench.similarity_fresh needs DATABASE_URL pointing at a PostgreSQL server")
        return
    from bench.import_bundle import drop_database, scratch_database

    db_name = os.environ.get("BENCH_DB", "bench_fresh")
    workdir = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    os.environ["DATABASE_URL"] = scratch_database(url, db_name)
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the API is asked through Django's test client
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    children: list[subprocess.Popen] = []
    try:
        run(
            accounts=env_int("SIM_FRESH_ACCOUNTS", 20_000),
            trials=env_int("SIM_FRESH_TRIALS", 6),
            seed=env_int("SIM_FRESH_SEED", 2),
            children=children,
        )
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            drop_database(url, db_name)


def _wait(condition, what: str) -> float:
    """Poll ``condition`` until true; the perf_counter() at which it was first seen true."""
    deadline = time.perf_counter() + WAIT_SECONDS
    while True:
        if condition():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(POLL_SECONDS)


def run(*, accounts: int, trials: int, seed: int, children: list[subprocess.Popen]) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Q

    call_command("migrate", verbosity=0)
    from bench.similarity_db import load_corpus
    from bench.synthetic import generate
    from cases.models import Account, Job, JobStatus, Membership, Post, Role, SimilaritySuggestion, Team
    from cases.services.accounts import create_account, create_post
    from cases.services.imports import import_bundle
    from cases.services.similar_refresh import queue_similar_refresh
    from cases.services.tokens import create_token

    team = Team.objects.create(slug="bench-fresh", name="Bench fresh accounts")
    user = get_user_model().objects.create_user(username="bench", password=None)
    Membership.objects.create(team=team, user=user, role=Role.MODERATOR)
    organic = int(accounts * 0.8)
    corpus = generate(
        seed, organic=organic, default_heavy=accounts - organic, network_scale=max(1.0, accounts / 25_000)
    )
    pk_of = load_corpus(team, corpus.records)
    loaded_at = time.monotonic()
    n_accounts = Account.objects.filter(team=team).count()
    n_posts = Post.objects.filter(account__team=team).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    members = sorted(pk_of[i] for i, name in corpus.network.items() if name == "copy_default_a")
    broker = settings.CELERY_BROKER_URL.split("://")[0]

    # A queue of its own: a worker on a shared broker must not take anyone else's tasks (they name
    # rows of another database), and theirs must not wait behind these.
    from annotator.celery import app

    app.conf.task_default_queue = QUEUE
    command = [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "solo"]
    worker = subprocess.Popen(
        [*command, "--loglevel", "WARNING", "--queues", QUEUE], cwd=HERE.parent, env=os.environ.copy()
    )
    children.append(worker)

    def refresh_jobs():
        return Job.objects.filter(params__scope="accounts")

    # Warm both processes: the worker's index (one refresh of an old account), and this one's
    # (one API answer), as a deployment that has been running is.
    with transaction.atomic():
        queue_similar_refresh(team=team, account_ids=[members[0]])
    _wait(lambda: refresh_jobs().filter(status=JobStatus.SUCCEEDED).exists(), "the warm-up refresh")
    from rest_framework.test import APIClient

    _, secret = create_token(user=user, name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    warm = time.perf_counter()
    assert api.get(f"/api/accounts/{members[1]}/similar/").status_code == 200
    warm_api = time.perf_counter() - warm
    # An import refreshes what changed since it started, less a few seconds of clock slack: the
    # corpus must be older than that, or the first import would refresh all of it.
    time.sleep(max(0.0, 6 - (time.monotonic() - loaded_at)))

    rng = random.Random(seed)
    rows = []
    services = trials // 3
    order = ["service"] * services + [MODES[i % 2] for i in range(trials - services)]
    for trial in range(trials):
        original = Account.objects.get(pk=members[2 + trial])
        handle = re.sub(r"\d", lambda _: str(rng.randint(0, 9)), original.handle)
        if handle == original.handle or not re.search(r"\d", handle):
            handle = f"{original.handle}{trial}"
        lines = [{"type": "account", "platform": original.platform, "handle": handle}]
        for k, post in enumerate(original.posts.order_by("pk")):
            lines.append(
                {
                    "type": "post",
                    "platform": original.platform,
                    "account": handle,
                    "external_id": f"fresh-{trial}-{k}",
                    "text": post.text,
                    "posted_at": post.posted_at.isoformat() if post.posted_at else None,
                    "links": post.links,
                }
            )
        # The service trials first: after an import, the warm indexes rebuild (see the docstring).
        mode = order[trial]
        started = time.perf_counter()
        if mode == "service":
            with transaction.atomic():
                made = create_account(team=team, platform=original.platform, handle=handle, created_by=user)
                for post in original.posts.order_by("pk"):
                    create_post(
                        account=made,
                        text=post.text,
                        posted_at=post.posted_at,
                        links=post.links,
                        created_by=user,
                    )
        else:
            bundle = io.BytesIO("\n".join(json.dumps(line) for line in lines).encode())
            bundle.name = f"fresh-{trial}.jsonl"
            import_bundle(team=team, source=bundle, user=user)
        committed = time.perf_counter()
        new = Account.objects.get(team=team, handle=handle)
        pair = Q(account_a=new, account_b=original) | Q(account_a=original, account_b=new)
        row = {"mode": mode, "import": committed - started}
        if mode != "api":
            stored_at = _wait(
                lambda pair=pair: SimilaritySuggestion.objects.filter(
                    pair, job__params__scope="accounts"
                ).exists(),
                "the refresh's suggestion",
            )
            row["stored"] = stored_at - committed
            asked = time.perf_counter()
            response = api.get(f"/api/accounts/{new.pk}/similar/")
            row["api"] = time.perf_counter() - asked
        else:
            response = api.get(f"/api/accounts/{new.pk}/similar/")
            row["api"] = time.perf_counter() - committed
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        row["source"] = response["X-Similar-Source"]
        row["found"] = any(r["account"]["id"] == original.pk for r in results[:20])
        row["score"] = next((r["score"] for r in results if r["account"]["id"] == original.pk), 0.0)
        rows.append(row)
        # Let this trial's refresh finish before the next import, so trials do not queue up.
        _wait(
            lambda new=new: (
                refresh_jobs()
                .filter(params__account_ids__contains=[new.pk], status=JobStatus.SUCCEEDED)
                .exists()
            ),
            "the trial's refresh",
        )
        time.sleep(SETTLE_SECONDS)
    refreshes = [
        (j.finished_at - j.started_at).total_seconds()
        for j in refresh_jobs().exclude(pk=refresh_jobs().order_by("pk").first().pk)
        if j.finished_at and j.started_at
    ]

    print(
        f"PostgreSQL, {os.cpu_count()} CPUs, broker {broker}; team of {n_accounts:,} accounts and "
        f"{n_posts:,} posts (bench/synthetic.py seed {seed}); both processes warm "
        f"(first API answer here took {warm_api:.2f} s)"
    )
    print()
    columns = ("trial", "mode", "import", "stored", "API", "source", "found", "score")
    print("{:>5} {:<7} {:>7} {:>7} {:>7} {:<9} {:<6} {:>5}".format(*columns))
    for i, row in enumerate(rows):
        stored = f"{row['stored']:.3f}" if "stored" in row else "—"
        print(
            f"{i:>5} {row['mode']:<7} {row['import']:>7.3f} {stored:>7} {row['api']:>7.3f} "
            f"{row['source']:<9} {'yes' if row['found'] else 'NO':<6} {row['score']:>5.2f}"
        )
    stored = [r["stored"] for r in rows if r["mode"] == "worker"]
    at_once = [r["api"] for r in rows if r["mode"] == "api"]
    after = [r["api"] for r in rows if r["mode"] == "worker"]
    made = [r["stored"] for r in rows if r["mode"] == "service"]
    print()
    if stored:
        print(
            f"import commit -> suggestion stored by the worker: median {statistics.median(stored):.3f} s, "
            f"max {max(stored):.3f} s (refresh job itself: median {statistics.median(refreshes):.3f} s)"
        )
        print(f"API right after that: median {statistics.median(after):.3f} s")
    if at_once:
        print(
            f"import commit -> API answer, asked at once: median {statistics.median(at_once):.3f} s, "
            f"max {max(at_once):.3f} s"
        )
    if made:
        print(
            f"account + posts made through the services -> suggestion stored by the worker: median "
            f"{statistics.median(made):.3f} s, max {max(made):.3f} s (no import: the warm index follows)"
        )
    found = sum(r["found"] for r in rows)
    worst = max([*stored, *at_once]) if stored or at_once else 0.0
    print(
        f"the copied account in the new account's answer: {found} of {len(rows)}; "
        f"'queryable within 1 s': {'met' if worst <= 1.0 and found == len(rows) else 'NOT met'} "
        f"(worst {worst:.3f} s)"
    )


if __name__ == "__main__":
    main()
