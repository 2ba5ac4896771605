"""DVSQ's quantizer for search: an estimator, asymmetric quantizer distance (AQD) and an index.

:class:`VisualSemanticQuantizer` codes unit-length embeddings (N, D) as (N, M) bytes, M = n_bits // 8:
the ids of one codeword in each of M codebooks of 256 codewords, whose sum approximates the
embedding with the error measured through the label vectors (learnt as
:mod:`doodlekit.model.codebooks` learns them; fitted after training here, or taken from a model
trained jointly with them, :meth:`~VisualSemanticQuantizer.from_codebooks`).

AQD ranks database items by the inner product of the float query ``q`` with the item's
reconstruction ``C b = sum_m C[m, b_m]``, as DeepHash's ``get_mAPs_AQD`` does. Per query it is
a sum of M table lookups, ``T[m, k] = q . C[m, k]``; :func:`aqd_rank` sums them with a
numba-compiled kernel (or pure numpy) and keeps the exact top k, ties broken by database position.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np

from doodlekit.data.files import read_npz, write_npz
from doodlekit.errors import CorruptFileError
from doodlekit.model.codebooks import N_CODEWORDS, fit_codebooks, icm_encode, init_codebooks, label_metric, reconstruct
from doodlekit.retrieval.arrays import CELLS_PER_BLOCK, check_codes, check_k, smallest_k
from doodlekit.retrieval.hamming import check_nonempty
from doodlekit.retrieval.hashers import _check_random_state, _Hasher
from doodlekit.retrieval.index import HammingIndex
from doodlekit.semantics.labels import unit_rows

#: ``name`` entry of a saved quantizer (beside the hashers' names in :data:`~doodlekit.retrieval.HASHERS`).
QUANTIZER_NAME = "dvsq"
#: Prefix of the quantizer's arrays in a saved :class:`QuantizedIndex`.
_QUANTIZER = "quantizer."
_INDEX_FORMAT = "doodlekit-aqd-index-1"


def _check_n_rounds(n_rounds: Any) -> int:
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 0:
        raise ValueError(f"n_rounds must be a non-negative integer (codebook updates), got {n_rounds!r}")
    return int(n_rounds)


class VisualSemanticQuantizer(_Hasher):
    """DVSQ's quantizer: M = n_bits // 8 codebooks of 256 codewords, fitted with a label-vector metric.

    ``fit`` unit-normalises X, starts the codebooks from k-means on M sub-spaces, then alternates
    ``n_rounds`` times ICM codes and the closed-form codebook update
    (:func:`~doodlekit.model.codebooks.fit_codebooks`). The error is measured as
    ``||V (z - C b)||^2`` with ``fit``'s ``label_vectors`` V (L, D), or as plain squared error without.
    Codes are (N, M) uint8 codeword ids, searched by :meth:`search` (AQD), not by Hamming distance.

    Args:
        n_bits: code width, a positive multiple of 8 (8 bits per codebook).
        n_rounds: codebook updates after k-means, a non-negative integer.
        random_state: integer seed of k-means and of ICM's codebook order.

    Attributes (after fit): ``n_features_in_`` (D), ``codebooks_`` (M, 256, D) float64,
    ``metric_`` (D, D) float64, ``W = V^T V`` of the unit label vectors (identity without them).
    """

    _FITTED: ClassVar[tuple[str, ...]] = ("codebooks_", "metric_")
    codebooks_: np.ndarray
    metric_: np.ndarray

    def __init__(self, n_bits: int, n_rounds: int = 2, random_state: int = 0) -> None:
        self.n_bits = n_bits
        self.n_rounds = n_rounds
        self.random_state = random_state

    @classmethod
    def _saved_name(cls) -> str:
        return QUANTIZER_NAME

    def _check_params(self) -> None:
        super()._check_params()
        _check_n_rounds(self.n_rounds)

    @property
    def n_codebooks(self) -> int:
        """M, the number of codebooks (one byte of code each)."""
        return self.n_bits // 8

    def _fitted_shapes(self) -> dict[str, tuple[int, ...]]:
        dim = self.n_features_in_
        return {"codebooks_": (self.n_codebooks, N_CODEWORDS, dim), "metric_": (dim, dim)}

    def _column_names(self) -> list[str]:
        return [f"visualsemanticquantizer_codebook{m}" for m in range(self.n_codebooks)]

    def _unit(self, X: np.ndarray, name: str = "X") -> np.ndarray:
        self._check_fitted()
        X = unit_rows(X, name, dtype=np.float64)
        self._check_width(X)
        return X

    def fit(self, X: np.ndarray, y: None = None, *, label_vectors: np.ndarray | None = None) -> VisualSemanticQuantizer:
        """Learn the codebooks from X (N >= 256, D) and label vectors (L, D) or None; ``y`` is ignored."""
        self._check_params()
        X = unit_rows(X, dtype=np.float64)
        vectors = None if label_vectors is None else unit_rows(label_vectors, "label_vectors", dtype=np.float64)
        metric = label_metric(vectors, X.shape[1])
        seed = _check_random_state(self.random_state)
        start = init_codebooks(X, self.n_codebooks, seed=seed)
        self.codebooks_, _ = fit_codebooks(X, metric, start, _check_n_rounds(self.n_rounds), seed=seed)
        self.metric_ = metric
        self.n_features_in_ = X.shape[1]
        return self

    @classmethod
    def from_codebooks(
        cls, codebooks: np.ndarray, label_vectors: np.ndarray | None = None, random_state: int = 0
    ) -> VisualSemanticQuantizer:
        """A fitted quantizer with given codebooks (M, 256, D), e.g. those a model learnt jointly
        (a checkpoint's ``meta["codebooks"]``), measuring error through ``label_vectors`` (L, D)."""
        codebooks = np.asarray(codebooks, dtype=np.float64)
        if codebooks.ndim != 3 or codebooks.shape[1] != N_CODEWORDS or codebooks.shape[0] < 1:
            raise ValueError(f"codebooks must be (M, {N_CODEWORDS}, D), got shape {codebooks.shape}")
        quantizer = cls(8 * codebooks.shape[0], n_rounds=0, random_state=random_state)
        quantizer._check_params()
        vectors = None if label_vectors is None else unit_rows(label_vectors, "label_vectors", dtype=np.float64)
        quantizer.metric_ = label_metric(vectors, codebooks.shape[2])
        quantizer.codebooks_ = codebooks
        quantizer.n_features_in_ = codebooks.shape[2]
        return quantizer

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes (N, M) uint8 of embeddings X (N, D), by ICM (seeded by ``random_state``)."""
        X = self._unit(X)
        return icm_encode(X, self.codebooks_, self.metric_, seed=_check_random_state(self.random_state))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructions ``C b`` (N, D) float64 of codes (N, M) uint8."""
        self._check_fitted()
        return reconstruct(self._check_codes(codes, "codes"), self.codebooks_)

    def _check_codes(self, codes: np.ndarray, name: str) -> np.ndarray:
        codes = check_codes(codes, name)
        if codes.shape[1] != self.n_codebooks:
            raise ValueError(
                f"{name} have {codes.shape[1]} bytes but this quantizer makes {self.n_codebooks}-byte codes; "
                "encode them with this quantizer's transform()"
            )
        return codes

    def lookup_tables(self, query_embeddings: np.ndarray) -> np.ndarray:
        """AQD's tables (Q, M, 256) float64: inner products of the unit queries with every codeword."""
        return np.einsum("qd,mkd->qmk", self._unit(query_embeddings, "query_embeddings"), self.codebooks_)

    def search(
        self, query_embeddings: np.ndarray, db_codes: np.ndarray, k: int, *, compiled: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """AQD search of float queries (Q, D) among coded items (N, M): :func:`aqd_rank` of their tables.

        Returns (scores (Q, min(k, N)) float64 inner products with the reconstructions, descending;
        indices (Q, min(k, N)) int64 database rows), ties by position.
        """
        db_codes = self._check_codes(db_codes, "db_codes")
        return aqd_rank(self.lookup_tables(query_embeddings), db_codes, k, compiled=compiled)


def aqd_scores(tables: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
    """Scores (Q, N) float64: ``sum_m tables[q, m, db_codes[i, m]]``, summed over m in order."""
    scores = np.zeros((tables.shape[0], db_codes.shape[0]))
    for m in range(tables.shape[1]):
        scores += tables[:, m, db_codes[:, m]]
    return scores


def aqd_rank(
    tables: np.ndarray, db_codes: np.ndarray, k: int, *, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k best items of each query by AQD score, ties by database position.

    Args:
        tables: (Q, M, K) float lookup tables (:meth:`VisualSemanticQuantizer.lookup_tables`).
        db_codes: (N, M) uint8 codeword ids, each below K.
        k: results per query; more than N gives all N.
        compiled: None runs the numba-compiled kernel when numba imports and pure numpy otherwise;
            True insists on the kernel, False on numpy. All give identical results.

    Returns:
        (scores (Q, min(k, N)) float64, descending; indices (Q, min(k, N)) int64).
    """
    tables = np.ascontiguousarray(tables, dtype=np.float64)
    db_codes = check_codes(db_codes, "db_codes")
    if tables.ndim != 3 or tables.shape[1] != db_codes.shape[1]:
        raise ValueError(
            f"tables must be (Q, M, K) with M = {db_codes.shape[1]} (one table per code byte), got {tables.shape}"
        )
    if db_codes.size and int(db_codes.max()) >= tables.shape[2]:
        raise ValueError(f"db_codes hold codeword id {int(db_codes.max())} but the tables have {tables.shape[2]}")
    k = min(check_k(k), check_nonempty(db_codes))
    kernel = None if compiled is False else _numba_kernel()
    if kernel is None and compiled:
        raise ImportError("compiled=True needs numba, which is not installed; install it or leave compiled out")
    scores = np.empty((tables.shape[0], k))
    indices = np.empty((tables.shape[0], k), dtype=np.int64)
    if kernel is not None:
        kernel(tables, db_codes, k, scores, indices)
        return scores, indices
    step = max(1, CELLS_PER_BLOCK // db_codes.shape[0])
    for start in range(0, tables.shape[0], step):
        negated, indices[start : start + step] = smallest_k(-aqd_scores(tables[start : start + step], db_codes), k)
        scores[start : start + step] = -negated
    return scores, indices


@lru_cache(maxsize=1)
def _numba_kernel() -> Callable[..., None] | None:
    """:func:`_aqd_kernel` compiled with numba (cached on disk where it can be), or None without numba."""
    try:
        import numba
    except ImportError:
        return None
    try:
        return numba.njit(nogil=True, cache=True)(_aqd_kernel)
    except RuntimeError:  # no writable cache directory
        return numba.njit(nogil=True)(_aqd_kernel)


def _aqd_kernel(
    tables: np.ndarray, db_codes: np.ndarray, k: int, out_scores: np.ndarray, out_indices: np.ndarray
) -> None:
    """Exact top k by (score descending, position) of each query, written into the outputs.

    Written for numba; single-threaded. Per query, each item's score is the sum of its M table
    entries (in codebook order, as :func:`aqd_scores`). A binary heap holds the k best so far with
    the worst (lowest score, then latest position) at its root; a later item enters only with a
    higher score than the root's (on a tie it ranks after it). The k are then sorted by position
    and stably by score.

    Args:
        tables: (Q, M, K) float64, C-contiguous; db_codes: (N, M) uint8; k: 1 <= k <= N.
        out_scores: (Q, k) float64; out_indices: (Q, k) int64.
    """
    n_queries, n_codebooks, _ = tables.shape
    n_items = db_codes.shape[0]
    heap_scores = np.empty(k)
    heap_items = np.empty(k, np.int64)
    for query in range(n_queries):
        table = tables[query]
        size = 0
        for item in range(n_items):
            score = 0.0
            for m in range(n_codebooks):
                score += table[m, db_codes[item, m]]
            if size < k:  # sift up past parents that rank after it (a lower score; ties come earlier)
                slot = size
                size += 1
                while slot > 0:
                    parent = (slot - 1) // 2
                    if heap_scores[parent] < score:
                        break
                    heap_scores[slot], heap_items[slot] = heap_scores[parent], heap_items[parent]
                    slot = parent
                heap_scores[slot], heap_items[slot] = score, item
            elif score > heap_scores[0]:  # replace the root, sift down past children that rank after it
                slot = 0
                while True:
                    child = 2 * slot + 1
                    if child >= k:
                        break
                    right = child + 1
                    if right < k and (heap_scores[right] < heap_scores[child] or (
                            heap_scores[right] == heap_scores[child] and heap_items[right] > heap_items[child])):
                        child = right
                    if heap_scores[child] > score or (heap_scores[child] == score and heap_items[child] < item):
                        break
                    heap_scores[slot], heap_items[slot] = heap_scores[child], heap_items[child]
                    slot = child
                heap_scores[slot], heap_items[slot] = score, item
        by_item = np.argsort(heap_items)
        order = by_item[np.argsort(-heap_scores[by_item], kind="mergesort")]
        out_scores[query] = heap_scores[order]
        out_indices[query] = heap_items[order]


class AQDResult(NamedTuple):
    """Nearest items per query by AQD, best first, ties by insertion order (unpacks as a tuple).

    Attributes:
        distances: (Q, k) float64 asymmetric distances ``1 - q . C b`` (unit query, reconstructed item).
        ids: (Q, k) int64 ids of the items found.
        labels: (Q, k) their labels.
    """

    distances: np.ndarray
    ids: np.ndarray
    labels: np.ndarray


class QuantizedIndex(HammingIndex):
    """Exact AQD search over the codes of one fitted :class:`VisualSemanticQuantizer`.

    Items are added as codes (:meth:`~HammingIndex.add`, as in a Hamming index); queries are float
    embeddings (Q, D), searched by their lookup tables.

    Example::

        quantizer = VisualSemanticQuantizer(32).fit(gallery, label_vectors=vectors)
        index = QuantizedIndex(quantizer)
        index.add(quantizer.transform(gallery), gallery_labels)
        distances, ids, labels = index.search(query_embeddings, k=10)
    """

    def __init__(self, quantizer: VisualSemanticQuantizer) -> None:
        quantizer._check_fitted()
        super().__init__(quantizer.n_bits)
        self.quantizer = quantizer

    def __repr__(self) -> str:
        return f"QuantizedIndex(n_bits={self.n_bits}, size={len(self)})"

    def search(self, query_embeddings: np.ndarray, k: int = 10, *, compiled: bool | None = None) -> AQDResult:
        """The k nearest items of each query embedding (Q, D), or of one embedding (D,)."""
        if len(self) == 0:
            raise ValueError("the index is empty; add(codes, labels) before searching")
        queries = np.asarray(query_embeddings)
        scores, rows = self.quantizer.search(queries[None] if queries.ndim == 1 else queries, self.codes, k,
                                             compiled=compiled)
        return AQDResult(1.0 - scores, self.ids[rows], self.labels[rows])

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index and its quantizer to ``path`` (.npz of plain arrays, atomically)."""
        return write_npz(path, {
            "format": np.str_(_INDEX_FORMAT), "codes": self.codes, "labels": self.labels, "ids": self.ids,
            **{_QUANTIZER + name: array for name, array in self.quantizer.to_arrays().items()},
        })

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read an index written by :meth:`save` (nothing is unpickled)."""
        redo = "rebuild it and save it with QuantizedIndex.save()"
        keys = ("format", "codes", "labels", "ids", *(_QUANTIZER + n for n in VisualSemanticQuantizer.array_names()))
        arrays = read_npz(path, keys, what="doodlekit AQD index", remedy=redo)
        try:
            if str(arrays["format"]) != _INDEX_FORMAT:
                raise ValueError(f"format {str(arrays['format'])!r}, this doodlekit reads {_INDEX_FORMAT!r}")
            quantizer = VisualSemanticQuantizer.from_arrays(
                {name.removeprefix(_QUANTIZER): array for name, array in arrays.items() if name.startswith(_QUANTIZER)})
            index = cls(quantizer)
            index.add(arrays["codes"], arrays["labels"], arrays["ids"])
        except ValueError as exc:
            raise CorruptFileError(f"{path} holds an inconsistent AQD index ({exc}); {redo}") from exc
        return index

