"""Quality of the similarity engine on a seeded synthetic corpus (bench/synthetic.py).

    python -m bench similarity_quality
    SIM_QUALITY_SEED=3 SIM_QUALITY_ORGANIC=50000 python -m bench similarity_quality

For every signal alone and for the combination: precision@20 of the top-k query (over every
planted account), and B-cubed precision and recall of the sweep's clusters (connected
components of the pairs at or above the threshold). Items of the B-cubed average are the
planted accounts plus every account that ended up in a cluster: organic accounts left alone
are excluded, since counting them would make any method look good. A separate organic-only
control corpus reports how many accounts land in clusters of 5 or more.

The weights were tuned on seed 1; the default seed here is 2 (report on data not tuned on).
Environment: SIM_QUALITY_SEED (2), SIM_QUALITY_ORGANIC (20000), SIM_QUALITY_DEFAULT_HEAVY (5000),
SIM_QUALITY_CONTROL (25000), SIM_QUALITY_THRESHOLD (engine default, 0.5).
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict

import networkx as nx
import numpy as np

from bench.synthetic import Corpus, generate
from cases.similarity.config import SIGNALS, SimilarityConfig
from cases.similarity.engine import _partition_rows, candidate_pairs
from cases.similarity.index import Index
from cases.similarity.signals import combine, score_pairs

METHODS = (*SIGNALS, "combined")
TARGETS = {"p_at_20": 0.9, "b3_precision": 0.98, "b3_recall": 0.95, "control_share": 0.001}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def all_pair_scores(index: Index) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Every blocked candidate pair of the index with each method's score."""
    rows = _partition_rows(index, 1, 0)
    a_parts, b_parts = [], []
    per_method: dict[str, list[np.ndarray]] = defaultdict(list)
    for a, b, _ in candidate_pairs(index, rows):
        if not len(a):
            continue
        pairs = score_pairs(index, a, b)
        combined, _, _ = combine(pairs.scores, index.config)
        a_parts.append(index.ids[a])
        b_parts.append(index.ids[b])
        for signal in SIGNALS:
            per_method[signal].append(pairs.scores[signal])
        per_method["combined"].append(combined)
    empty = np.zeros(0)
    a_ids = np.concatenate(a_parts) if a_parts else empty.astype(np.int64)
    b_ids = np.concatenate(b_parts) if b_parts else empty.astype(np.int64)
    return a_ids, b_ids, {m: np.concatenate(v) if v else empty for m, v in per_method.items()}


def cluster_map(a_ids: np.ndarray, b_ids: np.ndarray, keep: np.ndarray) -> dict[int, int]:
    """account id -> cluster number, for accounts in a cluster of 2 or more."""
    graph = nx.Graph()
    graph.add_edges_from(zip(a_ids[keep].tolist(), b_ids[keep].tolist(), strict=True))
    out = {}
    for number, component in enumerate(nx.connected_components(graph)):
        for account in component:
            out[account] = number
    return out


def bcubed(corpus: Corpus, clusters: dict[int, int]) -> tuple[float, float]:
    """B-cubed precision and recall over planted accounts plus clustered accounts."""
    items = set(corpus.network) | set(clusters)
    if not items:
        return 1.0, 1.0
    members: dict[int, list[int]] = defaultdict(list)
    for account, number in clusters.items():
        members[number].append(account)
    gold_size = Counter(corpus.network.values())
    precision = recall = 0.0
    for item in items:
        gold = corpus.network.get(item)
        cluster = members[clusters[item]] if item in clusters else [item]
        if gold is None:
            correct = 1  # only itself is in its gold "cluster"
            gold_total = 1
        else:
            correct = sum(1 for other in cluster if corpus.network.get(other) == gold)
            gold_total = gold_size[gold]
        precision += correct / len(cluster)
        recall += correct / gold_total
    return precision / len(items), recall / len(items)


def precision_at_20(corpus: Corpus, index: Index) -> dict[str, float]:
    """Mean over planted accounts of (same-network accounts in the top 20) / min(20, others)."""
    sizes = Counter(corpus.network.values())
    totals = dict.fromkeys(METHODS, 0.0)
    queries = sorted(corpus.network)
    for account in queries:
        row = index.row_of[account]
        candidates = index.candidates(row)
        gold = corpus.network[account]
        want = min(20, sizes[gold] - 1)
        if not len(candidates) or want <= 0:
            continue
        pairs = score_pairs(index, np.full(len(candidates), row), candidates)
        combined, _, _ = combine(pairs.scores, index.config)
        same = np.array([corpus.network.get(int(i)) == gold for i in index.ids[candidates]])
        ids = index.ids[candidates]
        for method in METHODS:
            score = combined if method == "combined" else pairs.scores[method]
            order = np.lexsort((ids, -score))[:20]
            order = order[score[order] > 0]
            totals[method] += same[order].sum() / want
    return {m: totals[m] / len(queries) for m in METHODS}


def evaluate(corpus: Corpus, config: SimilarityConfig, threshold: float) -> dict:
    started = time.perf_counter()
    index = Index.build(corpus.records, config)
    built = time.perf_counter() - started
    a_ids, b_ids, scores = all_pair_scores(index)
    swept = time.perf_counter() - started - built
    result: dict = {"build_s": built, "sweep_s": swept, "candidates": len(a_ids), "methods": {}}
    p20 = precision_at_20(corpus, index)
    for method in METHODS:
        clusters = cluster_map(a_ids, b_ids, scores[method] >= threshold)
        precision, recall = bcubed(corpus, clusters)
        organic_clustered = sum(1 for i in clusters if i not in corpus.network)
        result["methods"][method] = {
            "p_at_20": p20[method],
            "b3_precision": precision,
            "b3_recall": recall,
            "organic_clustered": organic_clustered,
        }
        if method == "combined":
            result["clusters"] = clusters
    return result


def control_share(
    seed: int, organic: int, config: SimilarityConfig, threshold: float
) -> tuple[float, int, int]:
    """Share of an organic-only corpus's accounts in clusters of 5 or more (combined score)."""
    corpus = generate(seed, organic=organic, default_heavy=organic // 4, networks=False)
    index = Index.build(corpus.records, config)
    a_ids, b_ids, scores = all_pair_scores(index)
    clusters = cluster_map(a_ids, b_ids, scores["combined"] >= threshold)
    sizes = Counter(clusters.values())
    in_big = sum(1 for i in clusters if sizes[clusters[i]] >= 5)
    accounts = sum(1 for r in corpus.records if not r.reference)
    return in_big / accounts, in_big, accounts


def main() -> None:
    seed = _env_int("SIM_QUALITY_SEED", 2)
    organic = _env_int("SIM_QUALITY_ORGANIC", 20_000)
    heavy = _env_int("SIM_QUALITY_DEFAULT_HEAVY", 5_000)
    control = _env_int("SIM_QUALITY_CONTROL", 25_000)
    config = SimilarityConfig()
    threshold = float(os.environ.get("SIM_QUALITY_THRESHOLD", config.default_threshold))

    corpus = generate(seed, organic=organic, default_heavy=heavy)
    planted = len(corpus.network)
    print(
        f"seed {seed} (weights tuned on seed 1): {len(corpus.records)} accounts, "
        f"{sum(len(r.posts) for r in corpus.records)} posts, {planted} planted in "
        f"{len(set(corpus.network.values()))} networks; threshold {threshold}"
    )
    result = evaluate(corpus, config, threshold)
    print(
        f"index build {result['build_s']:.1f} s, blocking + scoring {result['sweep_s']:.1f} s, "
        f"{result['candidates']} candidate pairs"
    )
    print()
    print(f"{'method':<14} {'P@20':>6} {'B3 prec':>8} {'B3 rec':>7} {'B3 F1':>6} {'organic in clusters':>20}")
    best_single = ("", 0.0)
    for method in METHODS:
        m = result["methods"][method]
        f1 = 2 * m["b3_precision"] * m["b3_recall"] / max(m["b3_precision"] + m["b3_recall"], 1e-9)
        m["f1"] = f1
        if method != "combined" and f1 > best_single[1]:
            best_single = (method, f1)
        print(
            f"{method:<14} {m['p_at_20']:>6.3f} {m['b3_precision']:>8.3f} {m['b3_recall']:>7.3f} {f1:>6.3f} "
            f"{m['organic_clustered']:>20}"
        )

    clusters = result["clusters"]
    print("\nper planted network (combined): share of members in their network's largest cluster")
    members: dict[str, list[int]] = defaultdict(list)
    for account, network in corpus.network.items():
        members[network].append(account)
    for network in sorted(members):
        found = Counter(clusters[i] for i in members[network] if i in clusters)
        largest = found.most_common(1)[0][1] if found else 0
        population = corpus.population[members[network][0]]
        print(f"  {network:<20} {population:<28} {largest:>3}/{len(members[network]):<3}")
    by_population = Counter(corpus.population[i] for i in clusters if i not in corpus.network)
    print(f"organic accounts in clusters (main corpus), by population: {dict(by_population) or 'none'}")

    share, in_big, accounts = control_share(seed + 1000, control, config, threshold)
    print(
        f"\norganic-only control (seed {seed + 1000}, {accounts} accounts incl. a default-handle-heavy "
        f"quarter): {in_big} in clusters of 5+ = {share:.4%} (target <= 0.1%)"
    )

    combined = result["methods"]["combined"]
    print("\ntargets:")
    checks = [
        ("precision@20 >= 0.9", combined["p_at_20"] >= TARGETS["p_at_20"]),
        ("B-cubed precision >= 0.98", combined["b3_precision"] >= TARGETS["b3_precision"]),
        ("B-cubed recall >= 0.95", combined["b3_recall"] >= TARGETS["b3_recall"]),
        ("control in clusters of 5+ <= 0.1%", share <= TARGETS["control_share"]),
        (
            f"combined F1 {combined['f1']:.3f} > best single ({best_single[0]} {best_single[1]:.3f})",
            combined["f1"] > best_single[1],
        ),
    ]
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {label}")


if __name__ == "__main__":
    main()
