"""Data for the similarity tests: planted networks (copy-paste + co-timing, so two signal families
agree) among organic accounts, written through factories into the test database."""

import datetime as dt
import random

import pytest

from cases.models import Account, Post
from cases.services.similarity import clear_index_cache
from tests.factories import AccountFactory
from tests.support import signed_in  # noqa: F401 (used by the tests here)

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _cold_index_cache():
    """Warm indexes live in the process; a test must not see another test's team."""
    clear_index_cache()
    yield
    clear_index_cache()


def _words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(n))


def plant_network(team, size: int, *, prefix: str, seed: int = 1, platform: str = "x") -> list[Account]:
    """``size`` accounts posting the same rare texts within seconds of each other: copy-paste and
    co-timing agree, so every pair is a strong match (score ~0.9)."""
    rng = random.Random(seed)
    texts = [_words(rng, 14) for _ in range(6)]
    waves = [T0 + dt.timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 80_000)) for _ in texts]
    accounts = []
    for i in range(size):
        account = AccountFactory(
            team=team, platform=platform, handle=f"{prefix}{i}x{rng.randint(10**5, 10**6)}", display_name=""
        )
        Post.objects.bulk_create(
            Post(
                account=account,
                external_id=f"{prefix}-{i}-{k}",
                text=text,
                posted_at=wave + dt.timedelta(seconds=i),
            )
            for k, (text, wave) in enumerate(zip(texts, waves, strict=True))
        )
        accounts.append(account)
    return accounts


def organic(team, count: int, *, seed: int = 99, platform: str = "x") -> list[Account]:
    """Accounts with their own words at their own times: nothing in common worth a suggestion."""
    rng = random.Random(seed)
    accounts = []
    for i in range(count):
        account = AccountFactory(team=team, platform=platform, handle=f"organic{seed}_{i}", display_name="")
        Post.objects.bulk_create(
            Post(
                account=account,
                external_id=f"o{seed}-{i}-{k}",
                text=_words(rng, 12),
                posted_at=T0 + dt.timedelta(seconds=rng.randint(0, 90 * 86_400)),
            )
            for k in range(3)
        )
        accounts.append(account)
    return accounts


def copy_network(team, source: list[Account], *, prefix: str, platform: str = "x") -> list[Account]:
    """New accounts posting exactly what ``source`` posted, at the same moments: re-creations."""
    accounts = []
    for i, original in enumerate(source):
        account = AccountFactory(team=team, platform=platform, handle=f"{prefix}{i}", display_name="")
        Post.objects.bulk_create(
            Post(account=account, external_id=f"{prefix}-{i}-{k}", text=post.text, posted_at=post.posted_at)
            for k, post in enumerate(original.posts.order_by("pk"))
        )
        accounts.append(account)
    return accounts


def pairs_of(suggestions) -> dict[tuple[int, int], tuple[float, list, str]]:
    return {(s.account_a_id, s.account_b_id): (s.score, s.signals, s.status) for s in suggestions}
