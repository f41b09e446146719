"""The engine's two questions, over an ``Index``: *top-k for one account* (``Index.top_k``) and
*all pairs above a threshold* (``sweep``), plus the clusters those pairs form.

A sweep is split into ``partitions`` by the lower account id of each pair (``a_id % partitions``):
every pair belongs to exactly one partition, the same one whatever order the index was built in,
so a Celery chord can run the partitions in parallel and a killed partition can be run again
with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import networkx as nx
import numpy as np

from cases.similarity.config import SimilarityConfig
from cases.similarity.features import AccountRecord, PostRecord
from cases.similarity.index import Index
from cases.similarity.signals import Match, Signal, matches_for_pairs

__all__ = [
    "AccountRecord",
    "Index",
    "Match",
    "PostRecord",
    "Signal",
    "SimilarityConfig",
    "candidate_pairs",
    "clusters",
    "sweep",
]

Progress = Callable[[int, int], None]


def _partition_rows(index: Index, partitions: int, partition: int) -> np.ndarray:
    if partitions < 1 or not 0 <= partition < partitions:
        raise ValueError(f"partition {partition} of {partitions}")
    rows = np.flatnonzero(index.alive & ~index.reference & (index.ids % partitions == partition))
    return rows[np.argsort(index.ids[rows], kind="stable")]


def candidate_pairs(
    index: Index, rows: np.ndarray, *, chunk_rows: int = 500
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Blocking: for chunks of ``rows``, the pairs (row, other) with other's id above row's whose
    shared rare keys reach blocking weight 1. Yields (a_rows, b_rows, rows done)."""
    weights, postings = index.blocking_matrices()
    usable = index.alive & ~index.reference
    for start in range(0, len(rows), chunk_rows):
        chunk = rows[start : start + chunk_rows]
        product = (weights[chunk] @ postings).tocoo()
        a = chunk[product.row]
        b = product.col.astype(np.int64)
        keep = (product.data >= 0.999) & usable[b] & (index.ids[b] > index.ids[a])
        yield a[keep], b[keep], min(start + chunk_rows, len(rows))


def sweep(
    index: Index,
    threshold: float | None = None,
    *,
    partitions: int = 1,
    partition: int = 0,
    progress: Progress | None = None,
    chunk_rows: int = 500,
) -> Iterator[Match]:
    """All pairs of this partition scoring at least ``threshold``, ordered by (a_id, b_id).

    Reference accounts and removed accounts are never paired. The index is compacted first, so
    accounts added since the build are included. ``progress(done, total)`` counts accounts.
    """
    threshold = index.config.default_threshold if threshold is None else threshold
    index.compact()
    index.blocking_matrices()  # built once per index; before the first report, not inside a chunk
    rows = _partition_rows(index, partitions, partition)
    total = len(rows)
    if progress:
        progress(0, total)
    # pairs read handles and names row by row: decode the packed strings once for the sweep
    index.handles.unpacked(True)
    index.names.unpacked(True)
    try:
        for a, b, done in candidate_pairs(index, rows, chunk_rows=chunk_rows):
            found = matches_for_pairs(index, a, b, threshold=threshold)
            found.sort(key=lambda m: (m.a_id, m.b_id))
            yield from found
            if progress:
                progress(done, total)
    finally:
        index.handles.unpacked(False)
        index.names.unpacked(False)


def clusters(matches: Iterable[Match], min_size: int = 2, *, strong_only: bool = False) -> list[list[int]]:
    """Connected components of the match graph ("possible networks"), largest first; each
    cluster's ids sorted."""
    graph = nx.Graph()
    for match in matches:
        if strong_only and not match.strong:
            continue
        graph.add_edge(match.a_id, match.b_id, weight=match.score)
    found = [sorted(c) for c in nx.connected_components(graph) if len(c) >= min_size]
    found.sort(key=lambda c: (-len(c), c[0]))
    return found
