"""The in-memory index of a team's accounts: keys, base rates, inverted lists, content vectors.

Build it once from records (``Index.build``), add or replace accounts one at a time (``add``: the
account is queryable as soon as the call returns), ask for an account's most similar accounts
(``top_k``), or hand it to ``engine.sweep`` for all pairs above a threshold.

Layout: every distinct key held by two or more accounts is a column; ``df[col]`` is how many live
accounts hold it (the base rate). Account -> keys and key -> accounts are CSR arrays (``Ragged``)
built in bulk; accounts added later live in small side arrays until ``compact()`` folds them in
(automatically once they reach a tenth of the index).

Keys held by one account only (most post texts, passages and links: 90 % of the distinct keys)
cannot be shared evidence until a second account holds them, so they are not columns: they sit
in one sorted array (``single_key``, with the row that holds each) and become a column the
moment an added account holds one too. Name, bio and avatar keys stay columns even when one
account holds them: those signals weigh what an account holds alone.

A key is ``kind << 48 | hash >> shift``: its kind, then the top bits of its 64-bit hash. The
build sorts ``hash >> shift << shift | row`` codes, one plain integer sort per kind, which
groups every key's holders in row order, merges a row's repeats and numbers the columns at once
(no hash table, no argsort); ``shift`` leaves room for the row number (2^shift > rows).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from cases.similarity.config import SimilarityConfig
from cases.similarity.features import (
    BLOCK_WEIGHT,
    CURATED_KINDS,
    LABELLED_KINDS,
    AccountRecord,
    Batch,
    Kind,
    extract_batch,
)
from cases.similarity.forked import Forked, can_fork
from cases.similarity.ragged import Ragged

if TYPE_CHECKING:
    from cases.similarity.signals import Match

Progress = Callable[[int, int], None]

KIND_SHIFT = 48
KEY_MASK = (1 << KIND_SHIFT) - 1
# Kinds that stay columns when one account holds them (their signals weigh an account's own keys).
PROTECTED_KINDS = frozenset({int(Kind.NAME_TOKEN), int(Kind.BIO_TOKEN), int(Kind.AVATAR_BAND)})
BUILD_BATCH = 5000
_EMPTY_U64 = np.zeros(0, dtype=np.uint64)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_LABELLED = np.array(sorted(int(k) for k in LABELLED_KINDS), dtype=np.int8)
_LABEL_FORMAT = {int(Kind.HASHTAG): "#{}", int(Kind.MENTION): "@{}", int(Kind.BRAND): "brand #{}"}


# Content weights (unit vectors' components) as float16: a cosine moves by ~1e-3 at most, and
# the content signal ramps from 0.15 to 0.65; half the memory of float32.
CONTENT_DTYPE = np.float16


def _small_indptr(indptr: np.ndarray) -> np.ndarray:
    """A CSR row pointer as int32 while it fits."""
    return indptr.astype(np.int32) if indptr[-1] < np.iinfo(np.int32).max else indptr


def _shift_for(rows: int) -> int:
    """Bits kept for the row number in a sort code: room for the rows, and for 4x growth."""
    return max(16, int(rows).bit_length() + 2)


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts, in a sorted array."""
    if not len(values):
        return _EMPTY_I64
    flags = np.empty(len(values), dtype=bool)
    flags[0] = True
    np.not_equal(values[1:], values[:-1], out=flags[1:])
    return np.flatnonzero(flags)


def _top_terms(indptr: np.ndarray, cols: np.ndarray, weights: np.ndarray, keep: int):
    """Keep each row's ``keep`` heaviest terms, and any tied with the last of them (the same set
    whatever the column order), L2-normalise; columns stay in their order within a row.
    Returns (indptr, cols int32, weights float32).

    Only rows longer than ``keep`` are ranked: one in-place integer sort of ``row << 32 |
    ~weight bits`` (a positive float32's bits order as the float does) finds each such row's
    cutoff weight, with no argsort and no per-row Python."""
    weights = np.asarray(weights, dtype=np.float32)
    lengths = np.diff(indptr).astype(np.int64)
    long_rows = np.flatnonzero(lengths > keep)
    if len(long_rows):
        row_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        in_long = lengths[row_of] > keep
        bits = weights.view(np.uint32)
        code = (row_of[in_long].astype(np.uint64) << np.uint64(32)) | (
            np.uint64(0xFFFFFFFF) - bits[in_long].astype(np.uint64)
        )
        code.sort()
        first = np.cumsum(lengths[long_rows]) - lengths[long_rows]
        cutoff = np.zeros(len(lengths), dtype=np.uint64)
        cutoff[long_rows] = np.uint64(0xFFFFFFFF) - (code[first + keep - 1] & np.uint64(0xFFFFFFFF))
        del code
        keep_mask = bits.astype(np.uint64) >= cutoff[row_of]
        cols, weights, row_of = cols[keep_mask], weights[keep_mask], row_of[keep_mask]
        lengths = np.bincount(row_of, minlength=len(lengths))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
    owner = np.repeat(np.arange(len(lengths)), lengths)
    norms = np.sqrt(np.bincount(owner, weights=weights.astype(np.float64) ** 2, minlength=len(lengths)))
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = (weights / norms[owner]).astype(np.float32)
    return indptr, cols.astype(np.int32), weights


class RowMap:
    """Account id -> row: two sorted arrays for the build, a dict for changes since."""

    def __init__(self, ids: np.ndarray | None = None) -> None:
        ids = np.zeros(0, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        self._ids = ids[order]
        self._rows = order.astype(np.int64)
        self._changed: dict[int, int | None] = {}  # None: removed
        self._len = len(ids)

    def _frozen(self, account_id: int) -> int | None:
        pos = int(np.searchsorted(self._ids, account_id))
        if pos < len(self._ids) and self._ids[pos] == account_id:
            return int(self._rows[pos])
        return None

    def get(self, account_id, default=None):
        try:
            account_id = int(account_id)
        except (TypeError, ValueError):
            return default
        if account_id in self._changed:
            row = self._changed[account_id]
            return default if row is None else row
        row = self._frozen(account_id)
        return default if row is None else row

    def __getitem__(self, account_id) -> int:
        row = self.get(account_id)
        if row is None:
            raise KeyError(account_id)
        return row

    def __contains__(self, account_id) -> bool:
        return self.get(account_id) is not None

    def __setitem__(self, account_id: int, row: int) -> None:
        if account_id not in self:
            self._len += 1
        self._changed[int(account_id)] = int(row)

    def pop(self, account_id: int) -> int:
        row = self[account_id]
        self._changed[int(account_id)] = None
        self._len -= 1
        return row

    def __len__(self) -> int:
        return self._len

    def nbytes(self) -> int:
        return self._ids.nbytes + self._rows.nbytes + 100 * len(self._changed)


class Strings:
    """A column of strings packed as UTF-8 in one buffer: ~1/4 of a list of str objects."""

    def __init__(self, values: list[str] | None = None) -> None:
        values = values or []
        encoded = [v.encode() for v in values]
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=self.offsets[1:])
        self.data = b"".join(encoded)
        self.extra: list[str] = []
        self._cache: list[str] | None = None

    @property
    def n_main(self) -> int:
        return len(self.offsets) - 1

    def __len__(self) -> int:
        return self.n_main + len(self.extra)

    def __getitem__(self, row: int) -> str:
        row = int(row)
        if self._cache is not None:
            return self._cache[row]
        if row < self.n_main:
            return self.data[self.offsets[row] : self.offsets[row + 1]].decode()
        return self.extra[row - self.n_main]

    def take(self, rows: np.ndarray) -> list[str]:
        if self._cache is not None:
            cache = self._cache
            return [cache[r] for r in rows.tolist()]
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows) or rows.max() < self.n_main:
            data = self.data
            starts = self.offsets[rows].tolist()
            ends = self.offsets[rows + 1].tolist()
            return [data[lo:hi].decode() for lo, hi in zip(starts, ends, strict=True)]
        get = self.__getitem__
        return [get(r) for r in rows.tolist()]

    def append(self, value: str) -> None:
        self.extra.append(value)
        if self._cache is not None:
            self._cache.append(value)

    def unpacked(self, on: bool) -> None:
        """Keep a decoded list while a sweep reads the column pair by pair (``on``), or drop it."""
        if not on:
            self._cache = None
        elif self._cache is None:
            self._cache = [self[r] for r in range(len(self))]

    def subset(self, rows: np.ndarray) -> Strings:
        return Strings(self.take(rows))

    def nbytes(self) -> int:
        return len(self.data) + self.offsets.nbytes + sum(len(s) + 57 for s in self.extra)


# Lists of at least this many records are extracted on two cores (IndexBuilder.add_parallel).
PARALLEL_MIN = 50_000


def _return_freed_memory() -> None:
    """Hand the build's freed scratch memory back to the OS (glibc keeps it otherwise, and the
    process's RSS would stay at the build's peak for the rest of a sweep)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class IndexBuilder:
    """Builds an index from batches of records, so that a caller reading the database never
    holds more than one batch of records: ``add(batch)`` as they come, then ``finish()``.
    ``brand_domains``: the fake-brand domains of the accounts to be indexed (a link to one of
    them also counts as a shared brand domain)."""

    def __init__(self, config: SimilarityConfig | None = None, brand_domains: Iterable[str] = ()) -> None:
        self.config = config or SimilarityConfig()
        self.brand_domains = {d.lower() for d in brand_domains}
        self._domains = frozenset(self.brand_domains)
        self._batches: list[Batch] = []
        self._urls: dict[str, tuple[str, str]] = {}
        self.count = 0

    def add(self, records: Sequence[AccountRecord]) -> None:
        if records:
            self._batches.append(self.extract(records))
            self.count += len(records)

    def extract(self, records: Sequence[AccountRecord]) -> Batch:
        """One batch's features, without adding them (``add_batches`` does)."""
        return extract_batch(records, self.config, self._domains, self._urls)

    def add_batches(self, batches: Iterable[Batch]) -> None:
        """Batches extracted elsewhere (``extract``, here or in a forked child), in order."""
        for batch in batches:
            self._batches.append(batch)
            self.count += len(batch)

    def add_parallel(self, records: list[AccountRecord], progress: Progress | None = None) -> bool:
        """Extract a large list of records on two cores: a forked child takes the second half
        (it sees the records through fork, without copying them; its arrays come back pickled)
        while this process does the first. Extraction is nine tenths of a build. Returns False,
        doing nothing, where that is not possible or not worth it: small lists, one CPU, no
        ``fork``, other threads running (``forked.can_fork``)."""
        if len(records) < PARALLEL_MIN or not can_fork():
            return False
        half = (len(records) // 2 // BUILD_BATCH + 1) * BUILD_BATCH

        def theirs(send) -> list[Batch]:
            starts = range(half, len(records), BUILD_BATCH)
            return [self.extract(records[i : i + BUILD_BATCH]) for i in starts]

        with Forked(theirs) as child:
            for start in range(0, half, BUILD_BATCH):
                self.add(records[start : min(start + BUILD_BATCH, half)])
                if progress:
                    progress(min(2 * (start + BUILD_BATCH), len(records)), len(records))
            batches = child.result()
        self.add_batches(batches)
        return True

    def finish(self) -> Index:
        index = Index(self.config)
        index.brand_domains = set(self.brand_domains)
        batches, self._batches, self._urls = self._batches, [], {}
        index._install(batches)
        del batches
        _return_freed_memory()
        return index


class Index:
    def __init__(self, config: SimilarityConfig | None = None) -> None:
        self.config = config or SimilarityConfig()
        self.ids = np.zeros(0, dtype=np.int64)
        self.row_of = RowMap()
        self.platform_codes = np.zeros(0, dtype=np.int16)
        self.platform_names: list[str] = []
        self.reference = np.zeros(0, dtype=bool)
        self.alive = np.zeros(0, dtype=bool)
        self.handles = Strings()
        self.names = Strings()
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
        self.shift = 16
        # columns: sorted keys of the frozen part, then columns added since (extra_cols)
        self.col_key = np.zeros(0, dtype=np.uint64)
        self.col_kind = np.zeros(0, dtype=np.int8)
        self.df = np.zeros(0, dtype=np.int32)
        self.n_frozen_cols = 0
        self.extra_cols: dict[int, int] = {}
        # keys one account held at the build: sorted keys and their rows
        self.single_key = np.zeros(0, dtype=np.uint64)
        self.single_row = np.zeros(0, dtype=np.int32)
        self.moved: dict[int, int] = {}  # row -> the row it was copied to (its keys grew)
        # inverted lists: key -> rows, frozen CSR plus rows added since
        self.post_indptr = np.zeros(1, dtype=np.int64)
        self.post_rows = np.zeros(0, dtype=np.int32)
        self.extra_postings: dict[int, list[int]] = {}
        self.labels: dict[int, str] = {}  # column key -> the value as written (LABELLED_KINDS)
        self.brand_domains: set[str] = set()
        # content: sorted term keys of the vocabulary and their idf
        self.term_key = np.zeros(0, dtype=np.uint64)
        self.idf = np.zeros(0, dtype=np.float32)
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
        """Index every record; the last version of an id wins. ``progress(done, total)`` is
        called every few thousand records. (``IndexBuilder`` reads a stream of batches.)"""
        records = records if isinstance(records, list) else list(records)
        builder = IndexBuilder(config, {d for r in records for d in r.brand_domains})
        total = len(records)
        if not builder.add_parallel(records, progress):
            for start in range(0, total, BUILD_BATCH):
                builder.add(records[start : start + BUILD_BATCH])
                if progress and start + BUILD_BATCH < total:
                    progress(start + BUILD_BATCH, total)
        index = builder.finish()
        if progress:
            progress(total, total)
        return index

    def _install(self, batches: list[Batch]) -> None:
        ids = np.concatenate([b.ids for b in batches] or [_EMPTY_I64])
        n_all = len(ids)
        offsets = np.zeros(len(batches) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in batches], out=offsets[1:])
        # the last version of an id wins
        keep = np.ones(n_all, dtype=bool)
        _, last = np.unique(ids[::-1], return_index=True)
        if len(last) < n_all:
            keep[:] = False
            keep[n_all - 1 - last] = True
        new_row = np.cumsum(keep) - 1
        n = int(keep.sum())
        self.shift = _shift_for(n)

        def rows_of(values):  # a per-row array of all batches, without the replaced rows
            return values[keep] if n < n_all else values

        self.ids = rows_of(ids)
        self.row_of = RowMap(self.ids)
        platforms = [p for b in batches for p in b.platforms]
        self.platform_names = sorted(set(platforms))
        code_of = {p: i for i, p in enumerate(self.platform_names)}
        self.platform_codes = rows_of(
            np.fromiter((code_of[p] for p in platforms), dtype=np.int16, count=n_all)
        )
        del platforms
        self.reference = rows_of(np.concatenate([b.reference for b in batches] or [np.zeros(0, bool)]))
        self.alive = np.ones(n, dtype=bool)
        self.n_alive = n
        kept = np.flatnonzero(keep).tolist() if n < n_all else None

        def strings(name):
            values = [v for b in batches for v in getattr(b, name)]
            return [values[i] for i in kept] if kept is not None else values

        self.handles = Strings(strings("handles"))
        self.names = Strings(strings("names"))
        self.shape_ids = {}
        self.shape_names = []
        self.shapes = np.fromiter((self._shape_id(s) for s in strings("shapes")), dtype=np.int32, count=n)
        self.shape_df = np.bincount(self.shapes, minlength=len(self.shape_names)).astype(np.int64)
        self.created = rows_of(np.concatenate([b.created for b in batches] or [np.zeros(0)]))
        self.avatar = rows_of(np.concatenate([b.avatar for b in batches] or [_EMPTY_U64]))
        self.has_avatar = rows_of(np.concatenate([b.has_avatar for b in batches] or [np.zeros(0, bool)]))

        # post times
        lengths = np.concatenate([np.diff(b.time_indptr) for b in batches] or [_EMPTY_I64])
        times = np.concatenate([b.times for b in batches] or [np.zeros(0)])
        if n < n_all:
            times = times[np.repeat(keep, lengths)]
            lengths = lengths[keep]
        self.n_posts = lengths.astype(np.int32)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        self.times = Ragged(_small_indptr(indptr), times)

        shift = np.uint64(self.shift)

        def packed(take: Callable[[Batch], tuple[np.ndarray, np.ndarray] | None]) -> np.ndarray:
            """``hash >> shift << shift | global row`` of one kind of entries, batch by batch,
            computed in place in each batch's array (the batch gives it up: ``take``)."""
            pieces = []
            for i, batch in enumerate(batches):
                got = take(batch)
                if got is None:
                    continue
                owner, hashes = got
                row = owner.astype(np.int64) + offsets[i]
                if n < n_all:
                    ok = keep[row]
                    row, hashes = new_row[row[ok]], hashes[ok]
                hashes >>= shift
                hashes <<= shift
                hashes |= row.astype(np.uint64)
                pieces.append(hashes)
            if not pieces:
                return np.zeros(0, dtype=np.uint64)
            return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]

        labels: dict[int, str] = {}
        for b in batches:
            for kind, values in b.labels.items():
                high = np.uint64(kind) << np.uint64(KIND_SHIFT)
                labels.update(
                    zip(
                        (np.fromiter(values, np.uint64, len(values)) >> shift | high).tolist(),
                        values.values(),
                        strict=True,
                    )
                )
            b.labels.clear()
        kinds = sorted({k for b in batches for k in b.keys})
        self._install_keys(n, ((kind, packed(lambda b, k=kind: b.keys.pop(k, None))) for kind in kinds))
        self.labels = {
            int(k): labels[int(k)]
            for k in self.col_key[np.isin(self.col_kind, _LABELLED)].tolist()
            if int(k) in labels
        }
        del labels

        def terms(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
            got, batch.terms = batch.terms, (_EMPTY_I64, _EMPTY_U64)
            return got

        self._install_content(n, packed(terms))
        self._update_spans()

    def _install_keys(self, n: int, codes: Iterable[tuple[int, np.ndarray]]) -> None:
        """Columns from the ``key << shift | row`` codes of each kind, kinds in ascending order
        (one kind's codes at a time in memory): see the module's docstring."""
        shift = np.uint64(self.shift)
        row_mask = np.uint64((1 << self.shift) - 1)
        col_keys, dfs, post_rows, single_keys, single_rows = [], [], [], [], []
        n_cols = 0
        for kind, code in codes:
            if not len(code):
                continue
            code.sort()  # in place: the codes were made for this
            code = code[_run_starts(code)]  # a row holding a key twice holds it once
            key = code >> shift
            rows = (code & row_mask).astype(np.int32)
            del code
            starts = _run_starts(key)
            df = np.diff(starts, append=len(key))
            high = np.uint64(kind) << np.uint64(KIND_SHIFT)
            shared = np.ones(len(starts), dtype=bool) if kind in PROTECTED_KINDS else df >= 2
            alone = starts[~shared]
            single_keys.append(key[alone] | high)
            single_rows.append(rows[alone])
            in_shared = np.repeat(shared, df)
            col_keys.append(key[starts[shared]] | high)
            dfs.append(df[shared])
            post_rows.append(rows[in_shared])
            n_cols += int(shared.sum())
        self.col_key = np.concatenate(col_keys or [_EMPTY_U64])
        self.col_kind = (self.col_key >> np.uint64(KIND_SHIFT)).astype(np.int8)
        self.df = np.concatenate(dfs or [np.zeros(0, np.int64)]).astype(np.int32)
        self.n_frozen_cols = len(self.col_key)
        self.extra_cols = {}
        self.single_key = np.concatenate(single_keys or [_EMPTY_U64])
        self.single_row = np.concatenate(single_rows or [np.zeros(0, np.int32)]).astype(np.int32)
        self.moved = {}
        post_indptr = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(self.df, out=post_indptr[1:])
        self.post_rows = np.concatenate(post_rows or [np.zeros(0, np.int32)]).astype(np.int32)
        small = post_indptr[-1] < np.iinfo(np.int32).max
        self.post_indptr = post_indptr.astype(np.int32 if small else np.int64)
        self.extra_postings = {}
        # row -> columns: the transpose (a counting sort: columns come out ascending in a row)
        inverted = sparse.csr_matrix(
            (np.ones(len(self.post_rows), dtype=np.int8), self.post_rows, self.post_indptr), shape=(n_cols, n)
        )
        forward = inverted.T.tocsr()
        forward.sort_indices()
        self.keys = Ragged(_small_indptr(forward.indptr), forward.indices.astype(np.int32))
        self._blocking = None

    def _install_content(self, n: int, code: np.ndarray) -> None:
        """TF-IDF over words and hashtags, as scikit-learn's ``TfidfVectorizer(sublinear_tf=True,
        min_df=2, max_df=0.5)`` computes it, keeping each account's ``content_terms`` strongest.
        ``code``: ``term << shift | row`` for every use of a term (sorted here, in place)."""
        shift = np.uint64(self.shift)
        code.sort()
        starts = _run_starts(code)
        tf = np.minimum(np.diff(starts, append=len(code)), 0xFFFF).astype(np.uint64)
        code = code[starts]  # one per (term, row), in term order
        del starts
        term = code >> shift
        term_starts = _run_starts(term)
        df = np.diff(term_starts, append=len(term))
        usable = (df >= 2) & (df <= 0.5 * n)
        self.term_key = term[term_starts[usable]]
        del term, term_starts
        self.idf = (np.log((1.0 + n) / (1.0 + df[usable])) + 1.0).astype(np.float32)
        if not len(self.term_key):
            self.content = Ragged(
                np.zeros(n + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
            )
            return
        in_usable = np.repeat(usable, df)
        cols = np.repeat((np.cumsum(usable) - 1).astype(np.uint64), df)[in_usable]
        code = code[in_usable]
        tf = tf[in_usable]
        del in_usable
        col_bits = max(len(self.term_key).bit_length(), 1)
        if self.shift + col_bits + 16 > 64:  # a vocabulary too large to pack: scipy's counting sort
            rows = (code & np.uint64((1 << self.shift) - 1)).astype(np.int64)
            weights = ((1.0 + np.log(tf)) * self.idf[cols]).astype(np.float32)
            matrix = sparse.csr_matrix(
                (weights, (rows, cols.astype(np.int64))), shape=(n, len(self.term_key))
            )
            matrix.sort_indices()
            indptr, cols, weights = matrix.indptr.astype(np.int64), matrix.indices, matrix.data
        else:
            # row-major, columns ascending: one more in-place sort of row | column | tf codes
            code &= np.uint64((1 << self.shift) - 1)
            code <<= np.uint64(col_bits + 16)
            code |= (cols << np.uint64(16)) | tf
            del cols, tf
            code.sort()
            rows = (code >> np.uint64(col_bits + 16)).astype(np.int64)
            cols = ((code >> np.uint64(16)) & np.uint64((1 << col_bits) - 1)).astype(np.int32)
            tf = (code & np.uint64(0xFFFF)).astype(np.float32)
            del code
            weights = ((1.0 + np.log(tf)) * self.idf[cols]).astype(np.float32)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
            del rows
        indptr, cols, data = _top_terms(indptr, cols, weights, self.config.content_terms)
        self.content = Ragged(
            _small_indptr(indptr), cols.astype(self._term_dtype()), data.astype(CONTENT_DTYPE)
        )

    def _content_row(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The content vector of one account's terms (hashes), with the build's vocabulary."""
        if not len(self.term_key) or not len(hashes):
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        key = hashes >> np.uint64(self.shift)
        pos = np.searchsorted(self.term_key, key)
        pos[pos == len(self.term_key)] = 0
        found = self.term_key[pos] == key
        cols, tf = np.unique(pos[found], return_counts=True)
        if not len(cols):
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        weights = (1.0 + np.log(tf)) * self.idf[cols]
        _, cols, data = _top_terms(np.array([0, len(cols)]), cols, weights, self.config.content_terms)
        return cols.astype(self._term_dtype()), data.astype(CONTENT_DTYPE)

    def _term_dtype(self):
        """Content columns as uint16 while the vocabulary fits (half the memory), else int32."""
        return np.uint16 if len(self.term_key) <= np.iinfo(np.uint16).max else np.int32

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

    @property
    def platforms(self) -> list[str]:
        return [self.platform_names[c] for c in self.platform_codes.tolist()]

    def platform_of(self, row: int) -> str:
        return self.platform_names[self.platform_codes[row]]

    def _append_row(
        self,
        account_id,
        platform,
        reference,
        handle,
        name,
        shape_id,
        created,
        avatar,
        has_avatar,
        times,
        cols,
        content_cols,
        content_data,
    ) -> int:
        row = len(self.ids)
        self.ids = np.append(self.ids, np.int64(account_id))
        self.row_of[int(account_id)] = row
        if platform not in self.platform_names:
            self.platform_names.append(platform)
        self.platform_codes = np.append(self.platform_codes, np.int16(self.platform_names.index(platform)))
        self.reference = np.append(self.reference, bool(reference))
        self.alive = np.append(self.alive, True)
        self.handles.append(handle)
        self.names.append(name)
        self.shapes = np.append(self.shapes, np.int32(shape_id))
        self.created = np.append(self.created, created)
        self.avatar = np.append(self.avatar, np.uint64(avatar))
        self.has_avatar = np.append(self.has_avatar, bool(has_avatar))
        self.n_posts = np.append(self.n_posts, np.int32(len(times)))
        self.times.append(times)
        self.keys.append(cols)
        for col in cols.tolist():
            self.extra_postings.setdefault(col, []).append(row)
        self.content.append(content_cols, content_data)
        self._blocking = None
        return row

    def _resolve(self, row: int) -> int | None:
        """The live row holding what ``row`` held (rows move when they gain a column)."""
        while row in self.moved:
            row = self.moved[row]
        return row if self.alive[row] else None

    def _move(self, row: int, new_cols: list[int]) -> int:
        """Copy a live row to the end with more columns (a key it held alone is now shared)."""
        cols, _ = self.keys.row(row)
        content_cols, content_data = self.content.row(row)
        if content_data is None:
            content_data = np.zeros(len(content_cols), np.float32)
        self.alive[row] = False
        account_id = int(self.ids[row])
        moved = self._append_row(
            account_id,
            self.platform_of(row),
            self.reference[row],
            self.handles[row],
            self.names[row],
            self.shapes[row],
            self.created[row],
            self.avatar[row],
            self.has_avatar[row],
            self.times.row(row)[0],
            np.union1d(cols, np.asarray(new_cols, dtype=np.int32)).astype(np.int32),
            content_cols,
            content_data,
        )
        self.moved[row] = moved
        return moved

    def add(self, record: AccountRecord) -> None:
        """Add or replace one account; it is queryable (and counts in base rates) on return."""
        if record.id in self.row_of:
            self.remove(record.id)
        new_brands = {d.lower() for d in record.brand_domains} - self.brand_domains
        self.brand_domains |= new_brands
        batch = extract_batch([record], self.config, frozenset(self.brand_domains))
        shift = np.uint64(self.shift)
        keys, kinds = [], []
        for kind, (_, hashes) in batch.keys.items():
            keys.append((hashes >> shift) | (np.uint64(kind) << np.uint64(KIND_SHIFT)))
            kinds.append(np.full(len(hashes), kind, dtype=np.int8))
        all_keys = np.unique(np.concatenate(keys or [_EMPTY_U64]))
        cols = self._cols_for(all_keys)
        for kind, values in batch.labels.items():
            high = np.uint64(kind) << np.uint64(KIND_SHIFT)
            for h, value in values.items():
                self.labels[int((np.uint64(h) >> shift) | high)] = value
        sid = self._shape_id(batch.shapes[0])
        if sid >= len(self.shape_df):
            self.shape_df = np.append(self.shape_df, np.zeros(sid + 1 - len(self.shape_df), np.int64))
        self.shape_df[sid] += 1
        content_cols, content_data = self._content_row(batch.terms[1])
        times = batch.times
        self._append_row(
            record.id,
            record.platform,
            record.reference,
            batch.handles[0],
            batch.names[0],
            sid,
            batch.created[0],
            batch.avatar[0],
            batch.has_avatar[0],
            times,
            np.unique(cols),
            content_cols,
            content_data,
        )
        self.df[np.unique(cols)] += 1
        self.n_alive += 1
        if len(times):
            self.post_span = max(self.post_span, float(times[-1] - self.times.values.min(initial=times[0])))
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

    def _cols_for(self, keys: np.ndarray) -> np.ndarray:
        """Columns of an added account's (distinct) keys: existing ones, keys one account held
        until now (that account gains the column), or new ones."""
        cols = np.empty(len(keys), dtype=np.int32)
        frozen = self.col_key[: self.n_frozen_cols]
        pos = np.searchsorted(frozen, keys)
        clipped = np.minimum(pos, max(len(frozen) - 1, 0))
        found = (pos < len(frozen)) & (frozen[clipped] == keys) if len(frozen) else np.zeros(len(keys), bool)
        cols[found] = pos[found]
        new_keys, promote = [], {}
        for i in np.flatnonzero(~found).tolist():
            key = int(keys[i])
            col = self.extra_cols.get(key)
            if col is None:
                col = self.extra_cols[key] = self.n_frozen_cols + len(self.extra_cols)
                new_keys.append(key)
                at = int(np.searchsorted(self.single_key, keys[i]))
                if at < len(self.single_key) and self.single_key[at] == keys[i]:
                    holder = self._resolve(int(self.single_row[at]))
                    if holder is not None:
                        promote.setdefault(holder, []).append(col)
            cols[i] = col
        if new_keys:
            new = np.asarray(new_keys, dtype=np.uint64)
            self.col_key = np.append(self.col_key, new)
            self.col_kind = np.append(self.col_kind, (new >> np.uint64(KIND_SHIFT)).astype(np.int8))
            self.df = np.append(self.df, np.zeros(len(new), dtype=np.int32))
        for holder, new_cols in promote.items():
            self._move(holder, new_cols)
            self.df[new_cols] += 1
        return cols

    def compact(self) -> None:
        """Fold added accounts into the frozen arrays and drop removed ones. Rows are renumbered;
        ids are not. Content keeps the vocabulary it was fitted on at build time."""
        if not self.keys.extra and self.alive.all():
            return
        rows = np.flatnonzero(self.alive)
        n = len(rows)
        new_row = np.full(len(self.ids), -1, dtype=np.int64)
        new_row[rows] = np.arange(n)
        owner, cols, _ = self.keys.gather(rows)
        # keys held by one account: follow moved rows, drop dead ones
        single_rows = self.single_row.astype(np.int64)
        if self.moved:
            redirect = np.arange(len(self.ids))
            for old, new in self.moved.items():
                redirect[old] = new
            for _ in range(len(self.moved)):
                following = redirect[single_rows]
                if np.array_equal(following, single_rows):
                    break
                single_rows = following
        single_new = new_row[single_rows] if len(single_rows) else _EMPTY_I64
        live_single = single_new >= 0
        new_shift = max(self.shift, _shift_for(n)) if n >= (1 << self.shift) // 2 else self.shift
        delta = np.uint64(new_shift - self.shift)
        key_mask = np.uint64(KEY_MASK)
        all_keys = np.concatenate([self.col_key[cols], self.single_key[live_single]])
        all_rows = np.concatenate([owner, single_new[live_single]])
        all_kinds = (all_keys >> np.uint64(KIND_SHIFT)).astype(np.int64)
        all_keys = (all_keys & key_mask) >> delta
        shift = np.uint64(new_shift)
        codes = [
            (kind, (all_keys[all_kinds == kind] << shift) | all_rows[all_kinds == kind].astype(np.uint64))
            for kind in np.unique(all_kinds).tolist()
        ]
        del all_keys, all_rows, all_kinds
        if delta:
            self.labels = {
                int(((np.uint64(k) & key_mask) >> delta) | (np.uint64(k) & ~key_mask)): v
                for k, v in self.labels.items()
            }
            self.term_key = self.term_key >> delta
        c_owner, c_cols, c_data = self.content.gather(rows)
        t_owner, t_values, _ = self.times.gather(rows)

        handles = self.handles.take(rows)
        names = self.names.take(rows)
        self.ids = self.ids[rows]
        self.row_of = RowMap(self.ids)
        self.platform_codes = self.platform_codes[rows]
        self.reference = self.reference[rows]
        self.alive = np.ones(n, dtype=bool)
        self.handles = Strings(handles)
        self.names = Strings(names)
        self.shapes = self.shapes[rows]
        self.created = self.created[rows]
        self.avatar = self.avatar[rows]
        self.has_avatar = self.has_avatar[rows]
        self.n_posts = self.n_posts[rows]
        c_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(c_owner, minlength=n), out=c_indptr[1:])
        self.content = Ragged(c_indptr, c_cols, c_data)
        t_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(t_owner, minlength=n), out=t_indptr[1:])
        self.times = Ragged(t_indptr, t_values)
        self.shift = new_shift
        self._install_keys(n, codes)
        self._update_spans()

    def memory_bytes(self) -> int:
        """Approximate size of the index: its arrays, packed strings and dicts."""
        total = 0
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
            elif isinstance(value, Ragged):
                total += value.indptr.nbytes + value.values.nbytes
                total += 0 if value.data is None else value.data.nbytes
                total += sum(v.nbytes + (0 if d is None else d.nbytes) + 100 for v, d in value.extra)
            elif isinstance(value, (Strings, RowMap)):
                total += value.nbytes()
        total += sum(len(s) + 57 + 100 for s in self.labels.values())
        total += 100 * (len(self.extra_cols) + len(self.moved)) + sum(
            8 * len(v) + 100 for v in self.extra_postings.values()
        )
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

    def col_label(self, col: int) -> str:
        """The key as an explanation names it ("#tag", "@name", "bild.pics"), or ""."""
        value = self.labels.get(int(self.col_key[col]))
        return _LABEL_FORMAT.get(int(self.col_kind[col]), "{}").format(value) if value else ""

    def col_labels(self, cols: Iterable[int]) -> list[str]:
        return [label for label in map(self.col_label, cols) if label]

    # ------------------------------------------------------------------ blocking
    def candidates(self, row: int) -> np.ndarray:
        """Rows worth scoring against ``row``: they share rare keys whose blocking weights add up
        to 1 (best first, at most ``query_candidates``), or, when there are few, the best of the rest."""
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
        limit = self.config.query_candidates
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
