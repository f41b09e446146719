"""Each signal on its own, including the cases where a shared thing is common and so is not
evidence. Plain pytest: the engine has no Django and needs no database."""

import random

import numpy as np
import pytest

from cases.similarity.engine import AccountRecord, Index, PostRecord
from cases.similarity.signals import score_pairs

YEAR = 365 * 86_400
T0 = 1_700_000_000


def _word(rng: random.Random, n: int = 7) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def filler(n: int, *, start: int = 10_000, seed: int = 0, **overrides) -> list[AccountRecord]:
    """Ordinary accounts that share nothing in particular; ``overrides`` give all of them one
    common thing (a link, a bio, an avatar...) for the "common things" tests."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        posts = [
            PostRecord(text=" ".join(_word(rng) for _ in range(10)), posted_at=T0 + rng.random() * YEAR)
            for _ in range(3)
        ]
        fields = {
            "id": start + i,
            "platform": "x",
            "handle": _word(rng, 9),
            "display_name": f"{_word(rng, 6)} {_word(rng, 8)}",
            "bio": " ".join(_word(rng) for _ in range(6)),
            "created_at": T0 - rng.random() * 10 * YEAR,
            "avatar_phash": rng.getrandbits(64),
            "posts": posts,
        }
        for key, value in overrides.items():
            fields[key] = value(i, rng) if callable(value) else value
        out.append(AccountRecord(**fields))
    return out


def pair_scores(index: Index, a_id: int, b_id: int) -> dict[str, float]:
    pairs = score_pairs(index, np.array([index.row_of[a_id]]), np.array([index.row_of[b_id]]))
    return {name: float(values[0]) for name, values in pairs.scores.items()}


def account(account_id: int, **fields) -> AccountRecord:
    return AccountRecord(id=account_id, platform="x", **fields)


# ---------------------------------------------------------------- handle
def test_near_identical_handles_score_high_and_unrelated_ones_zero():
    index = Index.build(
        [
            *filler(300),
            account(1, handle="patriot_news_daily1"),
            account(2, handle="patriot_news_daily2"),
            account(3, handle="gardening_with_mo"),
        ]
    )
    assert pair_scores(index, 1, 2)["handle"] > 0.8
    assert pair_scores(index, 1, 3)["handle"] == 0


def test_a_rare_handle_shape_counts_and_the_default_shape_shared_by_many_does_not():
    default = filler(600, handle=lambda i, rng: f"{_word(rng, 6)}{rng.randint(10**7, 10**8 - 1)}")
    index = Index.build(
        [
            *default,
            *filler(400, start=50_000, seed=1),
            account(1, handle="usa_truth__77_x"),
            account(2, handle="eu_facts__12_y"),
        ]
    )
    assert pair_scores(index, 1, 2)["handle_shape"] > 0.9
    assert pair_scores(index, default[0].id, default[1].id)["handle_shape"] < 0.05


# ---------------------------------------------------------------- name and bio
def test_same_rare_display_name_scores_high_and_a_common_name_low():
    common = filler(300, display_name="John Smith")
    index = Index.build(
        [
            *common,
            *filler(300, start=50_000, seed=1),
            account(1, display_name="Zephyrine Quillfeather"),
            account(2, display_name="Zephyrine Quillfeather"),
        ]
    )
    assert pair_scores(index, 1, 2)["name"] > 0.9
    assert pair_scores(index, common[0].id, common[1].id)["name"] < 0.05


def test_identical_long_bio_scores_high():
    bio = "Independent journalist exposing corruption in Brussels and Washington since 2016"
    index = Index.build([*filler(300), account(1, bio=bio), account(2, bio=bio)])
    assert pair_scores(index, 1, 2)["bio"] > 0.9


def test_one_word_bio_shared_by_hundreds_is_not_evidence():
    patriots = filler(400, bio="Patriot")
    index = Index.build([*patriots, *filler(600, start=50_000, seed=1)])
    assert pair_scores(index, patriots[0].id, patriots[1].id)["bio"] < 0.01


def test_a_rare_but_short_bio_is_weak_evidence():
    index = Index.build([*filler(300), account(1, bio="Quillfeather"), account(2, bio="Quillfeather")])
    assert 0 < pair_scores(index, 1, 2)["bio"] < 0.5


def test_empty_bios_score_zero():
    index = Index.build([*filler(300), account(1, bio=""), account(2, bio="")])
    assert pair_scores(index, 1, 2)["bio"] == 0


# ---------------------------------------------------------------- copy-paste
def test_near_identical_posts_score_high():
    texts = [
        "The sanctions are destroying our farmers and nobody in the capital cares about it",
        "Energy prices doubled again this winter while ministers fly in private jets",
        "Our border is open and the media refuses to report what is happening there",
    ]
    a = account(1, posts=[PostRecord(text=t) for t in texts])
    # the copies: other case, a URL, an emoji, a mention and a hashtag do not hide them
    b = account(2, posts=[PostRecord(text=f"@someone {t.upper()} 🔥 https://t.co/x #truth") for t in texts])
    index = Index.build([*filler(300), a, b])
    assert pair_scores(index, 1, 2)["copy_paste"] > 0.6
    (match,) = [m for m in index.top_k(1, k=5) if m.other(1) == 2]
    assert "3 near-identical posts" in {s.detail for s in match.signals if s.signal == "copy_paste"}


def test_copies_of_the_same_source_post_count_even_when_reworded():
    a = account(1, posts=[PostRecord(text=f"first wording {i}", copied_from_id=900 + i) for i in range(3)])
    b = account(2, posts=[PostRecord(text=f"other words {i}", copied_from_id=900 + i) for i in range(3)])
    index = Index.build([*filler(300), a, b])
    assert pair_scores(index, 1, 2)["copy_paste"] > 0.6


def test_a_text_posted_by_two_accounts_says_more_than_one_posted_by_thousands():
    viral = "Thoughts and prayers to everyone affected by the storm tonight"
    rare = "The mayor's cousin got the harbour contract without any tender at all"
    crowd = filler(2000, posts=lambda i, rng: [PostRecord(text=viral)])
    index = Index.build(
        [*crowd, account(1, posts=[PostRecord(text=rare)]), account(2, posts=[PostRecord(text=rare)])]
    )
    rare_score = pair_scores(index, 1, 2)["copy_paste"]
    viral_score = pair_scores(index, crowd[0].id, crowd[1].id)["copy_paste"]
    assert viral_score < 0.01 < rare_score


# ---------------------------------------------------------------- content
def test_accounts_posting_in_the_same_words_have_content_similarity():
    rng = random.Random(5)
    jargon = [_word(rng) for _ in range(30)]

    def posts(seed: int) -> list[PostRecord]:
        r = random.Random(seed)
        return [PostRecord(text=" ".join(r.choice(jargon) for _ in range(12))) for _ in range(6)]

    index = Index.build([*filler(300), account(1, posts=posts(1)), account(2, posts=posts(2))])
    assert pair_scores(index, 1, 2)["content"] > 0.5
    assert pair_scores(index, 1, 10_000)["content"] < 0.05


# ---------------------------------------------------------------- links, hashtags, mentions
def test_a_shared_typosquat_domain_scores_and_a_major_outlet_shared_by_a_thousand_does_not():
    outlet = filler(
        1000, posts=lambda i, rng: [PostRecord(text="read this", links=(f"https://www.nytimes.com/a/{i}",))]
    )

    def fake(account_id: int) -> AccountRecord:
        links = tuple(f"https://dailymail.top/story-{account_id}-{i}" for i in range(3))
        return account(account_id, posts=[PostRecord(text="read this #exposed", links=links)])

    index = Index.build([*outlet, fake(1), fake(2)])
    assert pair_scores(index, outlet[0].id, outlet[1].id)["links"] < 0.01
    rare = pair_scores(index, 1, 2)["links"]
    assert rare > 0.3
    (match,) = [m for m in index.top_k(1, k=5) if m.other(1) == 2]
    (links,) = [s for s in match.signals if s.signal == "links"]
    assert "dailymail.top" in links.detail


def test_same_rare_urls_score_higher_than_same_domain():
    same_url = (PostRecord(text="x", links=("https://smallblog.net/p/1",)),)
    index = Index.build(
        [
            *filler(300),
            account(1, posts=same_url),
            account(2, posts=same_url),
            account(3, posts=(PostRecord(text="x", links=("https://smallblog.net/p/2",)),)),
        ]
    )
    assert pair_scores(index, 1, 2)["links"] > pair_scores(index, 1, 3)["links"] > 0


# ---------------------------------------------------------------- co-timing and creation
def test_posting_within_the_same_minute_again_and_again_scores_and_chance_does_not():
    times = [T0 + day * 86_400 + 3_600 for day in range(8)]
    a = account(1, posts=[PostRecord(text=f"a {i}", posted_at=t) for i, t in enumerate(times)])
    b = account(2, posts=[PostRecord(text=f"b {i}", posted_at=t + 25) for i, t in enumerate(times)])
    c = account(3, posts=[PostRecord(text=f"c {i}", posted_at=t + 5_000) for i, t in enumerate(times)])
    index = Index.build([*filler(300), a, b, c])
    assert pair_scores(index, 1, 2)["co_timing"] > 0.9
    assert pair_scores(index, 1, 3)["co_timing"] == 0
    (match,) = [m for m in index.top_k(1, k=5) if m.other(1) == 2]
    assert any(s.detail.startswith("8 posts within 60 s") for s in match.signals)


def test_accounts_created_in_one_burst_score_and_ordinary_sign_ups_do_not():
    burst = [account(i, created_at=T0 + i * 60) for i in range(1, 21)]
    organic = filler(2000)
    index = Index.build([*organic, *burst])
    assert pair_scores(index, 1, 2)["creation"] > 0.9
    scores = [pair_scores(index, organic[i].id, organic[i + 1].id)["creation"] for i in range(0, 200, 2)]
    assert max(scores) == 0


# ---------------------------------------------------------------- brand
def test_accounts_amplifying_the_same_brand_domain():
    index = Index.build(
        [
            *filler(300),
            account(1, brand_domains={"bild.pics"}),
            account(2, posts=[PostRecord(text="news", links=("https://bild.pics/article-1",))]),
            account(3, brand_ids={7}),
            account(4, brand_ids={7}),
        ]
    )
    assert pair_scores(index, 1, 2)["brand"] > 0.8  # one names it, the other links to it
    assert pair_scores(index, 3, 4)["brand"] > 0.8
    assert pair_scores(index, 1, 3)["brand"] == 0
    (match,) = [m for m in index.top_k(1, k=5) if m.other(1) == 2]
    assert "same brand domain bild.pics" in {s.detail for s in match.signals}


# ---------------------------------------------------------------- avatar
def test_same_or_near_identical_rare_avatar_scores_high():
    photo = 0x0123_4567_89AB_CDEF
    index = Index.build(
        [
            *filler(300),
            account(1, avatar_phash=photo),
            account(2, avatar_phash=photo ^ 0b101),  # re-encoded: 2 bits differ
            account(3, avatar_phash=photo ^ ((1 << 64) - 1)),  # a different picture
        ]
    )
    assert pair_scores(index, 1, 2)["avatar"] > 0.7
    assert pair_scores(index, 1, 3)["avatar"] == 0


def test_stock_avatar_shared_by_many_is_not_evidence():
    stock = filler(300, avatar_phash=0xDEAD_BEEF_0000_FFFF)
    index = Index.build([*stock, *filler(700, start=50_000, seed=1)])
    assert pair_scores(index, stock[0].id, stock[1].id)["avatar"] < 0.01


def test_accounts_without_avatars_are_not_alike_on_avatar():
    index = Index.build([*filler(300), account(1), account(2)])
    assert pair_scores(index, 1, 2)["avatar"] == 0


@pytest.mark.parametrize("signal", ["handle", "name", "bio", "copy_paste", "links", "avatar"])
def test_unrelated_ordinary_accounts_score_zero(signal):
    index = Index.build(filler(500))
    assert pair_scores(index, 10_000, 10_001)[signal] < 0.05
