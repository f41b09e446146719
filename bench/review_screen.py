"""The review screen and "claim next" at scale: server time per request, p50 and p95, in a team of
100,000 accounts, for an account with 500 posts (half of them copies shown side by side), 50
similar-account suggestions and 30 evidence items — side by side with a baseline account (5 posts,
nothing else) rendered by the same code in the same run.

    python -m bench review_screen                                    # SQLite, in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x python -m bench review_screen

With a PostgreSQL DATABASE_URL the benchmark connects to that server, creates its own scratch
database (BENCH_DB, default ``bench_review``), migrates it and drops it at the end (BENCH_KEEP_DB=1
keeps it). Without one it uses a SQLite file in a temporary directory. Targets (the issue's): review
screen p95 < 150 ms, claim next p95 < 50 ms.

Environment: BENCH_ACCOUNTS (100,000), BENCH_POSTS (500), BENCH_SUGGESTIONS (50),
BENCH_QUEUE_ITEMS (2,000), BENCH_ROUNDS (100).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.scratch import scratch_django

REVIEW_P95_MS = 150
CLAIM_P95_MS = 50
TEXT = (
    "the treasury warned that it could run out of cash to pay the government's bills as soon as june "
    "seniors on medicare now pay no more than a month for insulin that is real relief for families"
)
WORDS = TEXT.split(" ")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "").replace("_", "").replace(",", "") or default)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    with scratch_django("bench_review"):
        ok = run(
            accounts=env_int("BENCH_ACCOUNTS", 100_000),
            posts=env_int("BENCH_POSTS", 500),
            suggestions=env_int("BENCH_SUGGESTIONS", 50),
            queue_items=env_int("BENCH_QUEUE_ITEMS", 2_000),
            rounds=env_int("BENCH_ROUNDS", 100),
        )
    if not ok:
        sys.exit(1)


def build(*, accounts: int, posts: int, suggestions: int, queue_items: int):
    """The team, its accounts, the busy account and the baseline account, each with a lease."""
    from django.contrib.auth import get_user_model

    from cases.models import (
        Account,
        AccountKind,
        CaseAccount,
        EvidenceKind,
        Post,
        Role,
        SimilaritySuggestion,
        Technique,
    )
    from cases.services.accounts import create_media_brand
    from cases.services.cases import create_case
    from cases.services.evidence import record_evidence
    from cases.services.queues import claim_next_item, create_queue_from_case
    from cases.services.teams import add_member, create_team

    team = create_team(slug="bench", name="Bench")
    users = get_user_model().objects
    moderator = users.create_user(username="bench-mod", password="x")  # noqa: S106 (a scratch database)
    lead = users.create_user(username="bench-lead", password="x")  # noqa: S106
    add_member(team=team, user=moderator, role=Role.MODERATOR)
    add_member(team=team, user=lead, role=Role.LEAD)

    start = datetime(2023, 1, 1, tzinfo=UTC)
    Account.objects.bulk_create(
        (
            Account(
                team=team,
                platform="x",
                handle=f"user{i:07d}",
                handle_normalized=f"user{i:07d}",
                display_name=f"User {i}",
                bio="Love peace and truth.",
                profile_url=f"https://x.com/user{i:07d}",
                followers=i % 900,
                following=i % 300,
                language="en",
                kind=AccountKind.REFERENCE if i == 0 else AccountKind.SUSPECT,
                created_on_platform=start - timedelta(days=i % 1000),
            )
            for i in range(accounts)
        ),
        batch_size=5_000,
    )
    ids = list(Account.objects.filter(team=team).order_by("pk").values_list("pk", flat=True))
    reference, busy, small = (Account.objects.get(pk=pk) for pk in ids[:3])

    sources = Post.objects.bulk_create(
        Post(
            account=reference,
            text=" ".join(WORDS[i % 10 : i % 10 + 18]),
            posted_at=start + timedelta(hours=i),
        )
        for i in range(posts // 2)
    )
    Post.objects.bulk_create(
        (
            Post(
                account=busy,
                text=("BREAKING " if i % 3 else "")
                + (sources[i // 2].text if i % 2 else " ".join(WORDS[:12])),
                posted_at=start + timedelta(hours=i, minutes=5),
                copied_from=sources[i // 2] if i % 2 else None,
                copy_similarity=0.9 if i % 2 else None,
                links=[f"https://news{i}.example/a"] if i % 5 == 0 else [],
            )
            for i in range(posts)
        ),
        batch_size=1_000,
    )
    Post.objects.bulk_create(Post(account=small, text=f"post {i}", posted_at=start) for i in range(5))
    signals = [
        {"signal": "copy_paste", "score": 0.93, "detail": "12 near-identical posts"},
        {
            "signal": "handle_shape",
            "score": 0.4,
            "detail": "handle shape name + 7 digits, like 99,000 others",
        },
        {"signal": "timing", "score": 0.7, "detail": "posts in the same minute 4 times"},
    ]
    SimilaritySuggestion.objects.bulk_create(
        SimilaritySuggestion(
            team=team, account_a=busy, account_b_id=ids[10 + n], score=0.5 + n / 200, signals=signals
        )
        for n in range(suggestions)
    )
    create_media_brand(
        team=team,
        name="Bild (clone)",
        impersonates="Bild",
        domains=["bild.pics", "bild.asia", "bild.work"],
        accounts=[(busy, "amplifies")],
    )

    case = create_case(team=team, title="Bench network", created_by=lead)
    CaseAccount.objects.bulk_create(
        CaseAccount(case=case, account_id=pk) for pk in [busy.pk, *ids[3 : 3 + queue_items]]
    )
    techniques = list(Technique.objects.order_by("order")[:3])
    for n in range(30):
        record_evidence(
            case=case,
            kind=EvidenceKind.NOTE,
            captured_by=lead,
            account=busy,
            title=f"Observation {n}",
            captured_text="Same bio as the network; posts in office hours.",
            techniques=techniques,
        )
    small_case = create_case(team=team, title="Baseline", created_by=lead)
    CaseAccount.objects.create(case=small_case, account=small)

    busy_queue = create_queue_from_case(case=case, name="Busy", created_by=lead)
    small_queue = create_queue_from_case(case=small_case, name="Baseline", created_by=lead)
    busy_lease = claim_next_item(queue=busy_queue, user=moderator)
    assert busy_lease.item.account_id == busy.pk, "the busy account is the queue's first item"
    small_lease = claim_next_item(queue=small_queue, user=moderator)
    claim_queue = create_queue_from_case(case=case, name="Claims", created_by=lead, labels_per_item=3)
    return moderator, busy_lease, small_lease, claim_queue


def timed(call, rounds: int) -> list[float]:
    for _ in range(5):  # warm caches and connections
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(*, accounts: int, posts: int, suggestions: int, queue_items: int, rounds: int) -> bool:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    call_command("migrate", verbosity=0)
    # No collectstatic here: plain static URLs instead of the manifest's hashed names.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}):
        return measure(
            accounts=accounts, posts=posts, suggestions=suggestions, queue_items=queue_items, rounds=rounds
        )


def measure(*, accounts: int, posts: int, suggestions: int, queue_items: int, rounds: int) -> bool:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from cases.models import Assignment
    from cases.services.queues import release_item

    started = time.perf_counter()
    moderator, busy, small, claim_queue = build(
        accounts=accounts, posts=posts, suggestions=suggestions, queue_items=queue_items
    )
    print(
        f"{connection.vendor}: {accounts:,} accounts, busy account with {posts} posts and {suggestions} "
        f"suggestions, {queue_items:,} queue items; built in {time.perf_counter() - started:.1f} s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    client = Client()
    client.force_login(moderator)

    def get(lease):
        def call():
            response = client.get(reverse("frontend:work-review", args=[lease.pk]))
            assert response.status_code == 200, response.status_code

        return call

    claim_url = reverse("frontend:work-claim", args=[claim_queue.pk])

    def claim():
        response = client.post(claim_url)
        assert response.status_code == 302, response.status_code

    results = {
        "review screen, baseline (5 posts)": timed(get(small), rounds),
        f"review screen ({posts} posts, {suggestions} suggestions)": timed(get(busy), rounds),
    }
    # Each claim is a fresh one: the lease is released, untimed, before the next.
    claim_samples = []
    for _ in range(rounds + 5):
        t0 = time.perf_counter()
        claim()
        claim_samples.append((time.perf_counter() - t0) * 1000)
        lease = Assignment.objects.filter(user=moderator, item__queue=claim_queue, state="active").first()
        release_item(assignment=lease, user=moderator)
    results["claim next (POST, redirect)"] = claim_samples[5:]

    baseline_p95 = percentile(results["review screen, baseline (5 posts)"], 0.95)
    print(f"\n{'':46} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 vs baseline':>16}")
    for name, samples in results.items():
        p95 = percentile(samples, 0.95)
        print(
            f"{name:46} {statistics.median(samples):8.1f} {p95:8.1f} {max(samples):8.1f} "
            f"{p95 / baseline_p95:15.2f}x"
        )
    review_p95 = percentile(results[f"review screen ({posts} posts, {suggestions} suggestions)"], 0.95)
    claim_p95 = percentile(results["claim next (POST, redirect)"], 0.95)
    ok = review_p95 < REVIEW_P95_MS and claim_p95 < CLAIM_P95_MS
    print(
        f"\ntargets: review p95 {review_p95:.0f} ms (< {REVIEW_P95_MS}), claim p95 {claim_p95:.0f} ms "
        f"(< {CLAIM_P95_MS}): {'met' if ok else 'NOT MET'}"
    )
    return ok
