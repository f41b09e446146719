"""The combination rule, top-k, the incremental index and sweeps: partitions, idempotence,
determinism. Plain pytest, no database."""

import random
import subprocess
import sys
import time

import numpy as np
import pytest

from cases.similarity.config import DEFAULT_WEIGHTS, FAMILIES, SimilarityConfig
from cases.similarity.engine import AccountRecord, Index, Match, PostRecord, clusters, sweep
from cases.similarity.features import describe_shape, handle_shape, url_parts
from cases.similarity.signals import combine

T0 = 1_700_000_000


def _word(rng: random.Random, n: int = 7) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


def corpus(seed: int = 0, organic: int = 600) -> list[AccountRecord]:
    """Organic accounts plus three small planted networks (copy-paste + co-timing + a brand)."""
    rng = random.Random(seed)
    records = []
    for i in range(organic):
        records.append(
            AccountRecord(
                id=1000 + i,
                platform="x",
                handle=f"{_word(rng, 6)}{rng.randint(10**7, 10**8 - 1)}",  # the default shape
                display_name=f"{_word(rng, 5)} {_word(rng, 7)}",
                bio=rng.choice(["Patriot", "", "Dog lover", " ".join(_word(rng) for _ in range(5))]),
                created_at=T0 - rng.random() * 8 * 365 * 86_400,
                avatar_phash=rng.getrandbits(64),
                posts=[
                    PostRecord(
                        text=" ".join(_word(rng) for _ in range(12)) + " #news",
                        posted_at=T0 + rng.random() * 60 * 86_400,
                        links=(f"https://www.nytimes.com/{rng.getrandbits(30)}",),
                    )
                    for _ in range(4)
                ],
            )
        )
    for net in range(3):
        texts = [" ".join(_word(rng) for _ in range(14)) for _ in range(8)]
        waves = [T0 + rng.random() * 60 * 86_400 for _ in range(8)]
        for j in range(8):
            chosen = rng.sample(range(8), 5)
            records.append(
                AccountRecord(
                    id=net * 100 + j + 1,
                    platform="x",
                    handle=f"{_word(rng, 6)}{rng.randint(10**7, 10**8 - 1)}",
                    display_name=f"{_word(rng, 5)} {_word(rng, 7)}",
                    created_at=T0 - rng.random() * 8 * 365 * 86_400,
                    posts=[PostRecord(text=texts[k], posted_at=waves[k] + rng.random() * 30) for k in chosen],
                    brand_ids={net} if net == 2 else set(),
                )
            )
    rng.shuffle(records)
    return records


def pairs(matches: list[Match]) -> list[tuple[int, int]]:
    return [(m.a_id, m.b_id) for m in matches]


# ---------------------------------------------------------------- features
def test_handle_shape_folds_letters_and_counts_digits():
    assert handle_shape("jordanl61185831") == "a9{8}"
    assert handle_shape("shannon81025511") == handle_shape("@JordanL61185831")
    assert handle_shape("news_atl_24") == "a_a_9{2}"
    assert handle_shape("https://x.com/Maria") == "a"
    assert describe_shape("a9{8}") == "name + 8 digits"


def test_links_are_compared_as_written_without_fetching():
    assert url_parts("https://www.DailyMail.top/story/1/?utm=x") == ("dailymail.top/story/1", "dailymail.top")
    assert url_parts("hxxps://bild[.]pics/a") == ("bild.pics/a", "bild.pics")
    assert url_parts("https://bit.ly/3xYz")[1] == "bit.ly"


# ---------------------------------------------------------------- combination
def _scores(**values: float) -> dict[str, np.ndarray]:
    return {s: np.array([values.get(s, 0.0)]) for s in FAMILIES}


def test_one_family_alone_is_never_strong_nor_above_the_default_threshold():
    config = SimilarityConfig()
    for family in {"identity", "content", "behaviour", "infrastructure"}:
        maxed = {s: 1.0 for s, f in FAMILIES.items() if f == family}
        combined, _, agree = combine(_scores(**maxed), config)
        assert agree[0] == 1
        assert combined[0] < config.default_threshold


def test_two_families_agreeing_make_a_strong_suggestion():
    config = SimilarityConfig()
    combined, families, agree = combine(_scores(copy_paste=0.9, co_timing=0.8), config)
    assert agree[0] == 2
    assert combined[0] > 0.8
    assert families["content"][0] > families["behaviour"][0] > 0


def test_the_default_handle_shape_alone_never_makes_a_strong_suggestion():
    index = Index.build(corpus())
    organic = [i for i in index.ids.tolist() if i >= 1000]
    for account_id in organic[:50]:
        for match in index.top_k(account_id):
            assert not match.strong
            assert match.score < 0.5


def test_weights_live_in_one_place_and_a_team_can_override_them():
    config = SimilarityConfig.from_overrides({"weights": {"content": 0.1}, "family_agree": 0.4})
    assert config.weights["content"] == 0.1
    assert config.weights["copy_paste"] == DEFAULT_WEIGHTS["copy_paste"]
    assert config.family_agree == 0.4
    with pytest.raises(ValueError, match="unknown signals"):
        SimilarityConfig.from_overrides({"weights": {"horoscope": 1.0}})
    with pytest.raises(ValueError, match="unknown similarity settings"):
        SimilarityConfig.from_overrides({"colour": "red"})


def test_a_zero_weight_turns_a_signal_off():
    records = corpus()
    index = Index.build(records, SimilarityConfig.from_overrides({"weights": {"copy_paste": 0.0}}))
    for match in index.top_k(1):
        assert "copy_paste" not in {s.signal for s in match.signals}


# ---------------------------------------------------------------- top-k
def test_top_k_ranks_the_network_first_with_reasons():
    index = Index.build(corpus())
    matches = index.top_k(1, k=20)
    assert len(matches) >= 7
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    network = {m.other(1) for m in matches[:7]}
    assert network == set(range(2, 9))
    top = matches[0]
    assert top.a_id < top.b_id
    assert 0 < top.score <= 1
    assert top.strong
    assert {"content", "behaviour"} <= set(top.families)
    details = {s.signal: s.detail for s in top.signals}
    assert "near-identical post" in details["copy_paste"]
    assert "within 60 s of each other" in details["co_timing"]
    assert top.signals_json()[0].keys() == {"signal", "score", "detail"}


def test_top_k_respects_k_and_never_returns_the_account_itself():
    index = Index.build(corpus())
    matches = index.top_k(1, k=3)
    assert len(matches) == 3
    assert all(1 in (m.a_id, m.b_id) and m.a_id != m.b_id for m in matches)


def test_reference_accounts_count_for_base_rates_but_are_never_suggested():
    records = corpus()
    source = AccountRecord(
        id=5000,
        platform="x",
        handle="senator",
        reference=True,
        posts=next(r for r in records if r.id == 1).posts,
    )
    index = Index.build([*records, source])
    assert 5000 not in {m.other(1) for m in index.top_k(1, k=50)}
    assert all(5000 not in (m.a_id, m.b_id) for m in sweep(index, 0.1))


# ---------------------------------------------------------------- incremental index
def test_an_added_account_is_queryable_at_once():
    records = corpus()
    index = Index.build(records)
    member = next(r for r in records if r.id == 1)
    clone = AccountRecord(id=7777, platform="x", handle="newcomer", posts=list(member.posts))
    started = time.perf_counter()
    index.add(clone)
    found = index.top_k(7777, k=10)
    assert time.perf_counter() - started < 1.0
    assert 1 in {m.other(7777) for m in found}
    assert 7777 in {m.other(1) for m in index.top_k(1, k=20)}


def test_adding_an_account_again_replaces_it_and_remove_forgets_it():
    records = corpus()
    index = Index.build(records)
    member = next(r for r in records if r.id == 1)
    index.add(AccountRecord(id=7777, platform="x", handle="newcomer", posts=list(member.posts)))
    index.add(AccountRecord(id=7777, platform="x", handle="newcomer"))  # now without posts
    assert 7777 not in {m.other(1) for m in index.top_k(1, k=50)}
    index.remove(2)
    assert 2 not in {m.other(1) for m in index.top_k(1, k=50)}
    assert 2 not in index


def test_sweep_includes_accounts_added_since_the_build():
    records = corpus()
    index = Index.build(records)
    member = next(r for r in records if r.id == 1)
    index.add(AccountRecord(id=7777, platform="x", handle="newcomer", posts=list(member.posts)))
    assert any(m.b_id == 7777 for m in sweep(index, 0.3))
    assert 7777 in {m.other(1) for m in index.top_k(1, k=20)}  # still right after compaction


def test_an_empty_corpus_builds_an_empty_index_that_accounts_can_be_added_to():
    index = Index.build([])
    assert len(index) == 0 and list(sweep(index)) == []
    posts = [PostRecord(text=f"the very same words in post number {i}", posted_at=T0 + i) for i in range(3)]
    index.add(AccountRecord(id=1, platform="x", handle="first_one", posts=posts))
    index.add(AccountRecord(id=2, platform="x", handle="second_one", posts=posts))
    assert [m.other(1) for m in index.top_k(1)] == [2]
    assert pairs(sweep(index, 0.1)) == [(1, 2)]


def test_a_key_one_account_held_becomes_shared_evidence_when_an_added_account_holds_it():
    records = corpus()
    index = Index.build(records)
    loner = next(r for r in records if r.id == 1000)  # organic: its posts are its own
    singles = len(index.single_key)
    assert singles > 0  # held by one account: not a column...
    assert (index.df[~np.isin(index.col_kind, [2, 3, 16])] >= 2).all()  # ...every other column is shared
    copier = AccountRecord(id=7777, platform="x", handle="copycat", posts=list(loner.posts))
    index.add(copier)
    (match,) = [m for m in index.top_k(7777) if m.other(7777) == 1000]
    details = {s.signal: s.detail for s in match.signals}
    assert details["copy_paste"] == "4 near-identical posts"
    assert 7777 in {m.other(1000) for m in index.top_k(1000)}
    # the same after the index folds the added rows in, and for a third copy added after that
    assert (1000, 7777) in pairs(sweep(index, 0.0))
    index.add(AccountRecord(id=8888, platform="x", handle="copycat2", posts=list(loner.posts)))
    assert {1000, 7777} <= {m.other(8888) for m in index.top_k(8888)}
    index.remove(1000)
    assert 1000 not in {m.other(8888) for m in index.top_k(8888)}
    assert 7777 in {m.other(8888) for m in index.top_k(8888)}


def test_an_index_changed_by_adds_and_removes_sweeps_like_one_built_from_scratch():
    """Adds that make keys shared (a copy of an account's own posts), removals, replacements:
    after them the index scores exactly like a fresh build of the same accounts. (Content is
    off: added accounts keep the build's TF-IDF vocabulary by design.)"""
    config = SimilarityConfig.from_overrides({"weights": {"content": 0.0}})
    records = corpus(organic=300)
    index = Index.build(records, config)
    final = {r.id: r for r in records}
    organic_ids = sorted(i for i in final if i >= 1000)
    rng = random.Random(4)
    for n, source in enumerate(rng.sample(organic_ids, 12)):
        copy = AccountRecord(
            id=50_000 + n, platform="x", handle=f"copy{n}_of_{source}", posts=list(final[source].posts[:3])
        )
        index.add(copy)
        final[copy.id] = copy
    for gone in [*rng.sample(organic_ids, 8), 1, 50_003]:
        index.remove(gone)
        del final[gone]
    changed = AccountRecord(id=2, platform="x", handle="renamed", posts=list(final[3].posts))
    index.add(changed)
    final[2] = changed
    fresh = Index.build(list(final.values()), config)
    some = [*range(50_000, 50_012), *rng.sample(sorted(final), 25)]
    some = [a for a in some if a in final]
    assert index.moved and index.keys.extra  # not folded in yet
    assert [index.top_k(a) for a in some] == [fresh.top_k(a) for a in some]
    assert list(sweep(index, 0.2)) == list(sweep(fresh, 0.2))  # folded in (compact) first
    assert [index.top_k(a) for a in some] == [fresh.top_k(a) for a in some]


def check_one_core_and_two_cores_agree() -> None:
    """Build the same corpus serially and with the forked extraction; every array must match."""
    import cases.similarity.index as index_module

    records = corpus(organic=900)
    index_module.PARALLEL_MIN = 10**9
    serial = Index.build(records)
    index_module.PARALLEL_MIN = 100
    index_module.BUILD_BATCH = 128
    used = []
    add_parallel = index_module.IndexBuilder.add_parallel
    index_module.IndexBuilder.add_parallel = lambda self, *args: (
        used.append(add_parallel(self, *args)) or used[-1]
    )
    parallel = Index.build(records)
    assert used == [True], "the build did not fork"
    for name in ("ids", "col_key", "df", "single_key", "post_rows", "term_key"):
        assert np.array_equal(getattr(serial, name), getattr(parallel, name)), name
    assert np.array_equal(serial.keys.values, parallel.keys.values)
    assert np.array_equal(serial.content.data, parallel.content.data)
    assert list(sweep(serial, 0.2)) == list(sweep(parallel, 0.2))


def test_the_index_is_the_same_whether_extracted_on_one_core_or_two():
    # In a fresh interpreter: the build forks only in a single-threaded process, and the test
    # process has other threads (live servers, workers) by the time this runs in the suite.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.unit.test_similarity_engine import check_one_core_and_two_cores_agree as c; c()",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


# ---------------------------------------------------------------- sweep
def test_sweep_finds_the_planted_networks_and_no_organic_cluster():
    index = Index.build(corpus())
    found = clusters(sweep(index))
    assert sorted(map(tuple, found)) == [tuple(range(n * 100 + 1, n * 100 + 9)) for n in range(3)]


def test_sweep_partitions_cover_exactly_the_pairs_of_a_single_sweep():
    index = Index.build(corpus())
    single = list(sweep(index, 0.2))
    parts = [m for p in range(4) for m in sweep(index, 0.2, partitions=4, partition=p)]
    assert len(single) > 20
    assert len(parts) == len(set(pairs(parts)))  # no pair twice
    assert sorted(parts, key=lambda m: (m.a_id, m.b_id)) == single
    assert all(m.a_id < m.b_id and m.score >= 0.2 for m in single)


def test_a_partition_run_twice_gives_the_same_result():
    index = Index.build(corpus())
    assert list(sweep(index, 0.2, partitions=3, partition=1)) == list(
        sweep(index, 0.2, partitions=3, partition=1)
    )


def test_same_input_same_output_whatever_the_record_order():
    records = corpus()
    first = list(sweep(Index.build(records), 0.2))
    assert first == list(sweep(Index.build(records), 0.2))
    shuffled = list(records)
    random.Random(9).shuffle(shuffled)
    second = list(sweep(Index.build(shuffled), 0.2))
    assert pairs(first) == pairs(second)
    assert [m.score for m in first] == pytest.approx([m.score for m in second], abs=1e-3)


def test_sweep_reports_progress():
    index = Index.build(corpus())
    calls = []
    list(sweep(index, progress=lambda done, total: calls.append((done, total)), chunk_rows=100))
    assert calls[0][0] == 0
    assert calls[-1][0] == calls[-1][1] == len(index)
    assert len(calls) > 3


def test_bad_partition_is_refused():
    index = Index.build(corpus(organic=10))
    with pytest.raises(ValueError):
        list(sweep(index, partitions=2, partition=2))


def test_the_engine_imports_nothing_from_django():
    code = (
        "import sys, cases.similarity.engine; "
        "bad = sorted(m for m in sys.modules if m.startswith(('django', 'cases.models'))); "
        "sys.exit(', '.join(bad) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
