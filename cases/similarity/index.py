"""The in-memory index of a team's accounts: keys, base rates, inverted lists, content vectors.

Build it once from records (``Index.build``), add or replace accounts one at a time (``add``: the
account is queryable as soon as the call returns), ask for an account's most similar accounts
(``top_k``), or hand it to ``engine.sweep`` for all pairs above a threshold.

Layout: every distinct key is a column; ``df[col]`` is how many live accounts hold it (the base
rate). Account -> keys and key -> accounts are CSR arrays (``Ragged``) built in bulk; accounts
added later live in small side arrays until ``compact()`` folds them in (automatically once they
reach a tenth of the index).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from cases.similarity.config import SimilarityConfig
from cases.similarity.features import BLOCK_WEIGHT, CURATED_KINDS, AccountRecord, Features, extract, hash_keys
from cases.similarity.ragged import Ragged

if TYPE_CHECKING:
    from cases.similarity.signals import Match

Progress = Callable[[int, int], None]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _top_terms(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Keep each row's ``keep`` heaviest terms and re-normalise: bounds memory per account."""
    matrix = matrix.tocsr()
    lengths = np.diff(matrix.indptr)
    if lengths.max(initial=0) > keep:
        rows = np.repeat(np.arange(matrix.shape[0]), lengths)
        order = np.lexsort((-matrix.data, rows))
        rank = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], lengths)
        kept = order[rank < keep]
        matrix = sparse.csr_matrix(
            (matrix.data[kept], (rows[kept], matrix.indices[kept])), shape=matrix.shape, dtype=np.float32
        )
    matrix.sort_indices()
    return normalize(matrix).astype(np.float32)


class Index:
    def __init__(self, config: SimilarityConfig | None = None) -> None:
        self.config = config or SimilarityConfig()
        self.ids = np.zeros(0, dtype=np.int64)
        self.row_of: dict[int, int] = {}
        self.platforms: list[str] = []
        self.reference = np.zeros(0, dtype=bool)
        self.alive = np.zeros(0, dtype=bool)
        self.handles: list[str] = []
        self.names: list[str] = []
        self.shapes = np.zeros(0, dtype=np.int32)
        self.shape_names: list[str] = []
        self.shape_ids: dict[str, int] = {}
        self.shape_df = np.zeros(0, dtype=np.int64)
        self.created = np.zeros(0, dtype=np.float64)
        self.avatar = np.zeros(0, dtype=np.uint64)
        self.has_avatar = np.zeros(0, dtype=bool)
        self.n_posts = np.zeros(0, dtype=np.int32)
        self.times = Ragged(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.float64))
        self.keys = Ragged(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32))
        self.content = Ragged(
            np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, np.float32)
        )
        # columns: sorted hashes of the frozen part, then columns added since (extra_cols)
        self.col_hash = np.zeros(0, dtype=np.uint64)
        self.col_kind = np.zeros(0, dtype=np.int8)
        self.df = np.zeros(0, dtype=np.int32)
        self.n_frozen_cols = 0
        self.extra_cols: dict[int, int] = {}
        self.extra_hashes: list[int] = []
        # inverted lists: key -> rows, frozen CSR plus rows added since
        self.post_indptr = np.zeros(1, dtype=np.int64)
        self.post_rows = np.zeros(0, dtype=np.int32)
        self.extra_postings: dict[int, list[int]] = {}
        self.labels: dict[int, str] = {}
        self.brand_domains: set[str] = set()
        self.vectorizer: TfidfVectorizer | None = None
        self.n_alive = 0
        # time spans for chance estimates
        self.post_span = 1.0
        self.created_rate = 0.0  # accounts created per second, over the created span
        self._blocking: tuple[sparse.csr_matrix, sparse.csr_matrix] | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        records: Iterable[AccountRecord],
        config: SimilarityConfig | None = None,
        progress: Progress | None = None,
    ) -> Index:
        """Index every record. ``progress(done, total)`` is called every few thousand records."""
        index = cls(config)
        records = list(records)
        index.brand_domains = {d.lower() for r in records for d in r.brand_domains}
        brand_domains = frozenset(index.brand_domains)
        total = len(records)
        features: list[Features] = []
        seen: dict[int, int] = {}
        for i, record in enumerate(records):
            if record.id in seen:  # the last version of an account wins
                features[seen[record.id]] = None  # type: ignore[call-overload]
            seen[record.id] = len(features)
            features.append(extract(record, index.config, brand_domains))
            if progress and (i + 1) % 5000 == 0:
                progress(i + 1, total)
        keep = [i for i, f in enumerate(features) if f is not None]
        records = [records[i] for i in keep]
        features = [features[i] for i in keep]
        index._install(records, features)
        if progress:
            progress(total, total)
        return index

    def _install(self, records: list[AccountRecord], features: list[Features]) -> None:
        n = len(records)
        self.ids = np.fromiter((r.id for r in records), dtype=np.int64, count=n)
        self.row_of = {int(i): row for row, i in enumerate(self.ids)}
        self.platforms = [r.platform for r in records]
        self.reference = np.fromiter((r.reference for r in records), dtype=bool, count=n)
        self.alive = np.ones(n, dtype=bool)
        self.n_alive = n
        self.handles = [f.handle for f in features]
        self.names = [f.name for f in features]
        self.shape_ids = {}
        self.shape_names = []
        shapes = np.empty(n, dtype=np.int32)
        for row, f in enumerate(features):
            shapes[row] = self._shape_id(f.shape)
        self.shapes = shapes
        self.shape_df = np.bincount(shapes, minlength=len(self.shape_names)).astype(np.int64)
        self.created = np.fromiter((f.created_at for f in features), dtype=np.float64, count=n)
        self.avatar = np.fromiter((f.avatar for f in features), dtype=np.uint64, count=n)
        self.has_avatar = np.fromiter((f.has_avatar for f in features), dtype=bool, count=n)
        times = [f.post_times for f in features]
        self.n_posts = np.fromiter((len(t) for t in times), dtype=np.int32, count=n)
        self.times = Ragged.from_rows(times, np.float64)
        for f in features:
            self.labels.update(f.labels)

        self._install_keys(*hash_keys(features))

        docs = [f.content_tokens for f in features]
        self.vectorizer = TfidfVectorizer(
            analyzer=_identity, sublinear_tf=True, min_df=2, max_df=0.5, dtype=np.float32
        )
        try:
            matrix = self.vectorizer.fit_transform(docs)
        except ValueError:  # no term in two accounts: content has nothing to compare
            self.vectorizer = None
            matrix = sparse.csr_matrix((n, 1), dtype=np.float32)
        matrix = _top_terms(matrix, self.config.content_terms)
        self.content = Ragged(matrix.indptr, matrix.indices.astype(np.int32), matrix.data)
        self._update_spans()

    def _install_keys(self, indptr: np.ndarray, hashes: np.ndarray, kinds: np.ndarray) -> None:
        n = len(indptr) - 1
        vocab, inverse = np.unique(hashes, return_inverse=True)
        col_kind = np.zeros(len(vocab), dtype=np.int8)
        col_kind[inverse] = kinds
        forward = sparse.csr_matrix(
            (np.ones(len(inverse), dtype=np.float32), inverse.astype(np.int32), indptr),
            shape=(n, len(vocab)),
        )
        forward.sum_duplicates()
        forward.sort_indices()
        self.keys = Ragged(forward.indptr, forward.indices.astype(np.int32))
        alive_rows = np.repeat(self.alive, np.diff(forward.indptr))
        self.df = np.bincount(forward.indices[alive_rows], minlength=len(vocab)).astype(np.int32)
        self.col_hash = vocab.astype(np.uint64)
        self.col_kind = col_kind
        self.n_frozen_cols = len(vocab)
        self.extra_cols = {}
        self.extra_hashes = []
        inverted = forward.T.tocsr()
        # int32 while it fits: one entry per distinct key, tens of millions at 1M accounts
        small = inverted.indptr[-1] < np.iinfo(np.int32).max
        self.post_indptr = inverted.indptr.astype(np.int32 if small else np.int64)
        self.post_rows = inverted.indices.astype(np.int32)
        self.extra_postings = {}
        self._blocking = None

    def _shape_id(self, shape: str) -> int:
        sid = self.shape_ids.get(shape)
        if sid is None:
            sid = self.shape_ids[shape] = len(self.shape_names)
            self.shape_names.append(shape)
        return sid

    def _update_spans(self) -> None:
        live_times = self.times.values
        if len(live_times):
            self.post_span = max(float(live_times.max() - live_times.min()), 86400.0)
        created = self.created[np.isfinite(self.created) & self.alive]
        if len(created) > 1:
            span = max(float(created.max() - created.min()), 86400.0)
            self.created_rate = len(created) / span

    # ------------------------------------------------------------------ incremental
    def __len__(self) -> int:
        return self.n_alive

    def __contains__(self, account_id: object) -> bool:
        return account_id in self.row_of

    @property
    def n_cols(self) -> int:
        return len(self.col_kind)

    def add(self, record: AccountRecord) -> None:
        """Add or replace one account; it is queryable (and counts in base rates) on return."""
        if record.id in self.row_of:
            self.remove(record.id)
        new_brands = {d.lower() for d in record.brand_domains} - self.brand_domains
        self.brand_domains |= new_brands
        f = extract(record, self.config, frozenset(self.brand_domains))
        row = len(self.ids)
        self.ids = np.append(self.ids, np.int64(record.id))
        self.row_of[record.id] = row
        self.platforms.append(record.platform)
        self.reference = np.append(self.reference, record.reference)
        self.alive = np.append(self.alive, True)
        self.n_alive += 1
        self.handles.append(f.handle)
        self.names.append(f.name)
        sid = self._shape_id(f.shape)
        if sid >= len(self.shape_df):
            self.shape_df = np.append(self.shape_df, np.zeros(sid + 1 - len(self.shape_df), np.int64))
        self.shape_df[sid] += 1
        self.shapes = np.append(self.shapes, np.int32(sid))
        self.created = np.append(self.created, f.created_at)
        self.avatar = np.append(self.avatar, np.uint64(f.avatar))
        self.has_avatar = np.append(self.has_avatar, f.has_avatar)
        self.n_posts = np.append(self.n_posts, np.int32(len(f.post_times)))
        self.times.append(f.post_times)
        self.labels.update(f.labels)

        _, hashes, kinds = hash_keys([f])
        cols = np.unique(self._cols_for(hashes, kinds))
        self.keys.append(cols)
        self.df[cols] += 1
        for col in cols.tolist():
            self.extra_postings.setdefault(col, []).append(row)

        if self.vectorizer is not None and f.content_tokens:
            vector = _top_terms(self.vectorizer.transform([f.content_tokens]), self.config.content_terms)
            self.content.append(vector.indices.astype(np.int32), vector.data)
        else:
            self.content.append(np.zeros(0, np.int32), np.zeros(0, np.float32))
        self._blocking = None
        if len(f.post_times):
            self.post_span = max(self.post_span, float(f.post_times[-1] - self.times.values.min(initial=0)))
        if len(self.keys.extra) > max(10_000, len(self.ids) // 10):
            self.compact()

    def add_many(self, records: Iterable[AccountRecord]) -> None:
        for record in records:
            self.add(record)

    def remove(self, account_id: int) -> None:
        """Forget an account: it stops being returned and stops counting in base rates."""
        row = self.row_of.pop(account_id)
        self.alive[row] = False
        self.n_alive -= 1
        cols, _ = self.keys.row(row)
        self.df[cols] -= 1
        self.shape_df[self.shapes[row]] -= 1
        self._blocking = None

    def _cols_for(self, hashes: np.ndarray, kinds: np.ndarray) -> np.ndarray:
        cols = np.empty(len(hashes), dtype=np.int32)
        pos = np.searchsorted(self.col_hash[: self.n_frozen_cols], hashes)
        pos_clipped = np.minimum(pos, max(self.n_frozen_cols - 1, 0))
        found = (
            (pos < self.n_frozen_cols) & (self.col_hash[pos_clipped] == hashes)
            if self.n_frozen_cols
            else (np.zeros(len(hashes), dtype=bool))
        )
        cols[found] = pos[found]
        new_kinds, new_hashes = [], []
        for i in np.flatnonzero(~found).tolist():
            h = int(hashes[i])
            col = self.extra_cols.get(h)
            if col is None:
                col = self.extra_cols[h] = self.n_frozen_cols + len(self.extra_hashes)
                self.extra_hashes.append(h)
                new_kinds.append(kinds[i])
                new_hashes.append(h)
            cols[i] = col
        if new_kinds:
            self.col_kind = np.append(self.col_kind, np.asarray(new_kinds, dtype=np.int8))
            self.col_hash = np.append(self.col_hash, np.asarray(new_hashes, dtype=np.uint64))
            self.df = np.append(self.df, np.zeros(len(new_kinds), dtype=np.int32))
        return cols

    def compact(self) -> None:
        """Fold added accounts into the frozen arrays and drop removed ones. Rows are renumbered;
        ids are not. Content keeps the vocabulary it was fitted on at build time."""
        if not self.keys.extra and self.alive.all():
            return
        rows = np.flatnonzero(self.alive)
        owner, cols, _ = self.keys.gather(rows)
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=len(rows)), out=indptr[1:])
        hashes = self.col_hash[cols]
        kinds = self.col_kind[cols]
        c_owner, c_cols, c_data = self.content.gather(rows)
        t_owner, t_values, _ = self.times.gather(rows)

        self.ids = self.ids[rows]
        self.row_of = {int(i): row for row, i in enumerate(self.ids)}
        self.platforms = [self.platforms[r] for r in rows.tolist()]
        self.reference = self.reference[rows]
        self.alive = np.ones(len(rows), dtype=bool)
        self.handles = [self.handles[r] for r in rows.tolist()]
        self.names = [self.names[r] for r in rows.tolist()]
        self.shapes = self.shapes[rows]
        self.created = self.created[rows]
        self.avatar = self.avatar[rows]
        self.has_avatar = self.has_avatar[rows]
        self.n_posts = self.n_posts[rows]
        c_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(c_owner, minlength=len(rows)), out=c_indptr[1:])
        self.content = Ragged(c_indptr, c_cols, c_data)
        t_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(t_owner, minlength=len(rows)), out=t_indptr[1:])
        self.times = Ragged(t_indptr, t_values)
        self._install_keys(indptr, hashes, kinds)
        self._update_spans()

    def memory_bytes(self) -> int:
        """Approximate size of the index: its arrays plus its Python lists, strings and dicts."""
        total = 0
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
            elif isinstance(value, Ragged):
                total += value.indptr.nbytes + value.values.nbytes
                total += 0 if value.data is None else value.data.nbytes
                total += sum(v.nbytes + (0 if d is None else d.nbytes) + 100 for v, d in value.extra)
        total += sum(sys.getsizeof(s) for s in self.handles) + sys.getsizeof(self.handles)
        total += sum(sys.getsizeof(s) for s in self.names) + sys.getsizeof(self.names)
        total += sys.getsizeof(self.row_of) + 32 * len(self.row_of)  # int keys and values
        total += sys.getsizeof(self.labels) + sum(sys.getsizeof(s) + 32 for s in self.labels.values())
        total += sys.getsizeof(self.platforms)
        if self.vectorizer is not None:
            vocabulary = self.vectorizer.vocabulary_
            total += sys.getsizeof(vocabulary) + sum(sys.getsizeof(w) + 32 for w in vocabulary)
            total += self.vectorizer.idf_.nbytes
        return total

    # ------------------------------------------------------------------ base rates
    def rarity(self, df: np.ndarray) -> np.ndarray:
        """What holding a key in common is worth, from how many accounts hold it: 1 for two
        accounts, falling with log(df), 0 from the cap (5 % of accounts, at least 100) on."""
        cap = self.config.rarity_cap(self.n_alive)
        df = np.maximum(np.asarray(df, dtype=np.float64), 2.0)
        return np.clip(np.log(cap / df) / math.log(cap / 2.0), 0.0, 1.0)

    def block_cap(self) -> int:
        return self.config.block_cap(self.n_alive)

    def block_weights(self, cols: np.ndarray) -> np.ndarray:
        """How much holding key ``col`` in common counts towards comparing two accounts: the
        kind's weight (``BLOCK_WEIGHT``) times a rarity that reaches 0 at the block cap
        (max(50, 0.5 % of accounts)), so a popular article's URL needs company and a link to a
        2-account blog does not. Curated kinds (brands) keep their weight up to the cap."""
        cap = self.block_cap()
        df = self.df[cols]
        kind = self.col_kind[cols]
        rare = np.clip(np.log(cap / np.maximum(df, 2.0)) / math.log(cap / 2.0), 0.0, 1.0)
        rare = np.where(np.isin(kind, CURATED_KINDS), 1.0, rare)
        usable = (df >= 2) & (df <= cap)
        return np.where(usable, BLOCK_WEIGHT[kind] * rare, 0.0)

    def col_labels(self, cols: Iterable[int]) -> list[str]:
        labels = []
        for col in cols:
            label = self.labels.get(int(self.col_hash[col]))
            if label:
                labels.append(label)
        return labels

    # ------------------------------------------------------------------ blocking
    def candidates(self, row: int) -> np.ndarray:
        """Rows worth scoring against ``row``: they share rare keys whose blocking weights add up
        to 1 (best first, at most a few thousand), or, when there are few, the best of the rest."""
        cols, _ = self.keys.row(row)
        if not len(cols):
            return np.zeros(0, dtype=np.int64)
        df = self.df[cols]
        weight = self.block_weights(cols)
        usable = weight > 0
        cols, df, weight = cols[usable], df[usable], weight[usable]
        order = np.argsort(df, kind="stable")
        budget = np.cumsum(df[order]) <= self.config.query_postings
        budget[: min(len(budget), 8)] = True  # the eight rarest keys are always read
        order = order[budget]
        cols, weight = cols[order], weight[order]
        rarity = self.rarity(df[order])
        rows, weights, values = self._postings(cols, weight, rarity)
        if not len(rows):
            return rows
        unique, inverse = np.unique(rows, return_inverse=True)
        block = np.bincount(inverse, weights=weights)
        value = np.bincount(inverse, weights=values)
        ok = self.alive[unique] & ~self.reference[unique] & (unique != row)
        unique, block, value = unique[ok], block[ok], value[ok]
        strong = block >= 0.999
        limit = 2000
        picked = unique[strong]
        if len(picked) > limit:
            picked = picked[np.argsort(-value[strong], kind="stable")[:limit]]
        if len(picked) < 50:
            rest = np.flatnonzero(~strong)
            rest = rest[np.argsort(-value[rest], kind="stable")[: 50 - len(picked)]]
            picked = np.concatenate([picked, unique[rest]])
        return np.sort(picked)

    def _postings(self, cols: np.ndarray, weight: np.ndarray, rarity: np.ndarray):
        frozen = cols < self.n_frozen_cols
        fc = cols[frozen]
        starts = self.post_indptr[fc]
        lengths = self.post_indptr[fc + 1] - starts
        offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        rows = [self.post_rows[np.repeat(starts, lengths) + offsets].astype(np.int64)]
        weights = [np.repeat(weight[frozen], lengths)]
        values = [np.repeat(weight[frozen] * rarity[frozen], lengths)]
        if self.extra_postings:
            for i, col in enumerate(cols.tolist()):
                extra = self.extra_postings.get(col)
                if extra:
                    rows.append(np.asarray(extra, dtype=np.int64))
                    weights.append(np.full(len(extra), weight[i]))
                    values.append(np.full(len(extra), weight[i] * rarity[i]))
        return np.concatenate(rows), np.concatenate(weights), np.concatenate(values)

    def blocking_matrices(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """(W, P): W[row, key] is the key's blocking weight when the key is rare enough to block
        on, P[key, row] says the row holds the key. W[rows] @ P sums the weights of shared keys."""
        if self._blocking is None:
            self.compact()
            n = len(self.ids)
            cols = self.keys.values
            per_col = self.block_weights(np.arange(self.n_cols)).astype(np.float32)
            data = per_col[cols]
            # copies: eliminate_zeros() works in place and must not touch the index's own arrays
            weights = sparse.csr_matrix((data, cols.copy(), self.keys.indptr.copy()), shape=(n, self.n_cols))
            weights.eliminate_zeros()
            postings = sparse.csr_matrix(
                (np.ones(len(self.post_rows), dtype=np.float32), self.post_rows, self.post_indptr),
                shape=(self.n_cols, n),
            )
            self._blocking = (weights, postings)
        return self._blocking

    # ------------------------------------------------------------------ queries
    def top_k(self, account_id: int, k: int = 20) -> list[Match]:
        """The ``k`` accounts most similar to ``account_id``, best first, each with its reasons."""
        from cases.similarity.signals import matches_for_pairs

        row = self.row_of[account_id]
        candidates = self.candidates(row)
        if not len(candidates):
            return []
        return matches_for_pairs(self, np.full(len(candidates), row), candidates, limit=k)
