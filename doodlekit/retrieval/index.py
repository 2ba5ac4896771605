"""A small exact Hamming index: packed codes with labels and ids, searchable and savable.

It is what the live doodle pad queries after every stroke: one query among ~10k codes takes
well under a millisecond (``benchmarks/search_speed.py`` measures it). Files are ``.npz``
archives of plain arrays (labels as int or unicode arrays, never objects), written atomically
and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from doodlekit.data.files import read_npz, write_npz
from doodlekit.errors import CorruptFileError
from doodlekit.retrieval.arrays import check_codes, check_k, check_n_bits
from doodlekit.retrieval.hamming import Backend, hamming_rank, prepare_words, rank_words

_FORMAT_VERSION = 1
_KEYS = ("format_version", "n_bits", "codes", "labels", "ids")


class SearchResult(NamedTuple):
    """Nearest codes per query, nearest first, ties by insertion order (unpacks as a tuple).

    Attributes:
        distances: (Q, k) int32 Hamming distances in bits.
        ids: (Q, k) int64 ids of the items found.
        labels: (Q, k) their labels (the index's label dtype: int or unicode).
    """

    distances: np.ndarray
    ids: np.ndarray
    labels: np.ndarray


def _check_labels(labels: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must be a 1-D array with one label per code ({n}), got shape {labels.shape}")
    if labels.dtype.kind not in "iuU":
        raise ValueError(
            f"labels must be integers or strings (a unicode array), got dtype {labels.dtype}; "
            "convert them, e.g. np.asarray(labels, dtype=str)"
        )
    return labels


class HammingIndex:
    """Exact k-nearest-neighbour search over packed binary codes of one width.

    Args:
        n_bits: code width in bits (a multiple of 8); every added or queried code must match.

    Attributes:
        codes: (N, n_bits // 8) uint8, labels: (N,) int or unicode, ids: (N,) int64, in insertion
            order; read-only (grow the index with :meth:`add`).

    Example::

        index = HammingIndex(64)
        index.add(ITQ(64).fit_transform(gallery), gallery_labels)
        distances, ids, labels = index.search(query_codes, k=10)
    """

    def __init__(self, n_bits: int) -> None:
        self.n_bits = check_n_bits(n_bits)
        self.codes = np.empty((0, self.n_bits // 8), dtype=np.uint8)
        self.labels: np.ndarray = np.empty(0, dtype=np.int64)
        self.ids = np.empty(0, dtype=np.int64)
        self._words: np.ndarray | None = None

    def __len__(self) -> int:
        return self.codes.shape[0]

    def __repr__(self) -> str:
        return f"HammingIndex(n_bits={self.n_bits}, size={len(self)})"

    def _check_width(self, codes: np.ndarray, what: str) -> np.ndarray:
        codes = check_codes(codes, what)
        if codes.shape[1] * 8 != self.n_bits:
            raise ValueError(
                f"{what} are {codes.shape[1] * 8}-bit codes but this index holds {self.n_bits}-bit codes; "
                f"encode them with the same {self.n_bits}-bit hasher as the index"
            )
        return codes

    def add(self, codes: np.ndarray, labels: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Append codes (n, n_bits // 8) uint8 with labels (n,) int or str and unique ids (n,) int.

        Without ids, items are numbered by insertion order (0, 1, 2, ... across calls).
        """
        codes = self._check_width(codes, "codes")
        n = codes.shape[0]
        labels = _check_labels(labels, n)
        if len(self) and (labels.dtype.kind == "U") != (self.labels.dtype.kind == "U"):
            raise ValueError(
                f"labels of dtype {labels.dtype} cannot join an index labelled with {self.labels.dtype}; "
                "use either integer labels or string labels throughout"
            )
        if ids is None:
            ids = np.arange(len(self), len(self) + n, dtype=np.int64)
        ids = np.asarray(ids)
        if ids.shape != (n,) or ids.dtype.kind not in "iu":
            raise ValueError(f"ids must be a 1-D integer array with one id per code ({n}), got {ids.dtype} {ids.shape}")
        all_ids = np.concatenate([self.ids, ids.astype(np.int64)])
        if np.unique(all_ids).size != all_ids.size:
            raise ValueError("ids must be unique across the index; pass new ids or leave ids=None to number items")
        self.codes = np.concatenate([self.codes, codes])
        self.labels = np.concatenate([self.labels, labels]) if len(self.ids) else labels.copy()
        self.ids = all_ids
        for array in (self.codes, self.labels, self.ids):
            array.setflags(write=False)
        self._words = None

    def search(self, query_codes: np.ndarray, k: int = 10, *, backend: Backend = "numpy") -> SearchResult:
        """The k nearest items of each query code (Q, n_bits // 8) uint8, or of one code (n_bits // 8,).

        More than ``len(self)`` asks for everything: results then have ``len(self)`` columns.
        The "numpy" and "faiss" backends give identical results.
        """
        if len(self) == 0:
            raise ValueError("the index is empty; add(codes, labels) before searching")
        query_codes = np.asarray(query_codes)
        query_codes = self._check_width(query_codes[None] if query_codes.ndim == 1 else query_codes, "query codes")
        if backend == "numpy":
            if self._words is None:
                self._words = prepare_words(self.codes)
            distances, rows = rank_words(prepare_words(query_codes), self._words, self.n_bits, check_k(k))
        else:
            distances, rows = hamming_rank(query_codes, self.codes, k, backend=backend)
        return SearchResult(distances, self.ids[rows], self.labels[rows])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path`` (.npz, atomically: temp file then rename); returns the path."""
        return write_npz(
            path,
            {
                "format_version": np.int64(_FORMAT_VERSION),
                "n_bits": np.int64(self.n_bits),
                "codes": self.codes,
                "labels": self.labels,
                "ids": self.ids,
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> HammingIndex:
        """Read an index written by :meth:`save` (no pickles are ever loaded)."""
        path = Path(path)
        arrays = read_npz(path, _KEYS, what="doodlekit Hamming index", remedy="rebuild it with HammingIndex.save()")
        if int(arrays["format_version"]) != _FORMAT_VERSION:
            raise CorruptFileError(
                f"{path} has index format {int(arrays['format_version'])}, this doodlekit reads "
                f"{_FORMAT_VERSION}; rebuild it with this version's HammingIndex.save()"
            )
        try:
            index = cls(int(arrays["n_bits"]))
            index.add(arrays["codes"], arrays["labels"], arrays["ids"])
        except ValueError as exc:
            raise CorruptFileError(f"{path} holds an inconsistent index ({exc}); rebuild it") from exc
        return index
