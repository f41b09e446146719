"""Rows of variable length (an account's keys, its content terms, its post times).

A frozen CSR part, fast to read in bulk with numpy, plus rows appended since the last compaction,
kept as small arrays. The index folds the appended rows into the frozen part when it compacts.
"""

from __future__ import annotations

import numpy as np


class Ragged:
    def __init__(self, indptr: np.ndarray, values: np.ndarray, data: np.ndarray | None = None) -> None:
        indptr = np.asarray(indptr)
        self.indptr = indptr if indptr.dtype in (np.int32, np.int64) else indptr.astype(np.int64)
        self.values = values
        self.data = data
        self.extra: list[tuple[np.ndarray, np.ndarray | None]] = []

    @classmethod
    def from_rows(cls, rows: list[np.ndarray], dtype, data_rows: list[np.ndarray] | None = None) -> Ragged:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        values = np.concatenate(rows).astype(dtype, copy=False) if rows else np.zeros(0, dtype=dtype)
        data = None
        if data_rows is not None:
            data = np.concatenate(data_rows) if data_rows else np.zeros(0, dtype=np.float32)
        return cls(indptr, values, data)

    @property
    def n_main(self) -> int:
        return len(self.indptr) - 1

    def __len__(self) -> int:
        return self.n_main + len(self.extra)

    def append(self, values: np.ndarray, data: np.ndarray | None = None) -> int:
        self.extra.append((values, data))
        return len(self) - 1

    def row(self, row: int) -> tuple[np.ndarray, np.ndarray | None]:
        if row < self.n_main:
            lo, hi = self.indptr[row], self.indptr[row + 1]
            return self.values[lo:hi], None if self.data is None else self.data[lo:hi]
        return self.extra[row - self.n_main]

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(owner, values, data) of the given rows, flattened; ``owner[i]`` is the position in
        ``rows`` that entry i belongs to. Entries come in row order, each row's in stored order."""
        rows = np.asarray(rows, dtype=np.int64)
        main = rows < self.n_main
        if main.all():
            return self._gather_main(rows, np.arange(len(rows), dtype=np.int64))
        parts = [self._gather_main(rows[main], np.flatnonzero(main))]
        for pos in np.flatnonzero(~main):
            values, data = self.extra[rows[pos] - self.n_main]
            parts.append((np.full(len(values), pos, dtype=np.int64), values, data))
        owner = np.concatenate([p[0] for p in parts])
        order = np.argsort(owner, kind="stable")
        values = np.concatenate([np.asarray(p[1], dtype=self.values.dtype) for p in parts])[order]
        data = None
        if self.data is not None:
            data = np.concatenate([np.asarray(p[2], dtype=self.data.dtype) for p in parts])[order]
        return owner[order], values, data

    def _gather_main(self, rows: np.ndarray, positions: np.ndarray):
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        total = int(lengths.sum())
        owner = np.repeat(positions, lengths)
        # index of each entry: its row's start plus its offset inside the row
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        index = np.repeat(starts, lengths) + offsets
        data = None if self.data is None else self.data[index]
        return owner, self.values[index], data
