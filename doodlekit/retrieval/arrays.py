"""Argument checks and array helpers shared by the retrieval modules: code widths, packed codes,
embeddings, k, and an exact top-k with ties broken by position (:func:`smallest_k`)."""

from __future__ import annotations

import importlib
from functools import lru_cache
from math import isqrt
from types import ModuleType

import numpy as np

#: Query-by-database cells ranked at a time (bounds temporary memory: 8 bytes a cell for 64-bit words).
CELLS_PER_BLOCK = 1 << 19
#: Groups per neighbour when thresholding small integers (:func:`_small_int_smallest_k`): more
#: groups give a tighter threshold but a longer partition of their minima.
_GROUPS_PER_K = 4


def import_faiss() -> ModuleType:
    """Import faiss on first use, with an error that says how to install it."""
    try:
        return importlib.import_module("faiss")
    except ImportError as exc:
        raise ImportError(
            "faiss is needed for product quantization and the faiss search backend but is not "
            "installed; install it with `pip install 'doodlekit[faiss]'` (faiss-cpu) or use "
            "backend='numpy'"
        ) from exc


def check_n_bits(n_bits: int) -> int:
    """Return ``n_bits`` if it is a positive multiple of 8, else raise ValueError."""
    if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)) or n_bits <= 0 or n_bits % 8:
        raise ValueError(f"n_bits must be a positive multiple of 8 (e.g. 16, 32, 64, 128), got {n_bits!r}")
    return int(n_bits)


def check_k(k: int) -> int:
    """Return ``k`` as an int if it is a positive integer, else raise ValueError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_codes(codes: np.ndarray, name: str = "codes") -> np.ndarray:
    """Validate packed codes: a 2-D uint8 array (N, n_bits // 8); returns it C-contiguous."""
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] == 0:
        raise ValueError(
            f"{name} must be packed binary codes, a 2-D uint8 array (N, n_bits // 8), got "
            f"dtype {codes.dtype} and shape {codes.shape}; make them with a hasher's transform() or pack_bits()"
        )
    return np.ascontiguousarray(codes)


def check_embeddings(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Validate float embeddings (N, D) with finite values; returns them as a float array."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 2-D numeric array (N, D), got shape {X.shape} dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model that produced the embeddings")
    return X


def smallest_k(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest entries of each row, ascending, ties by column (a stable top-k).

    Each row keeps the columns whose value is <= a threshold at or above its k-th smallest
    value, then stably sorts just those. Small unsigned integers (uint8, uint16: Hamming
    distances) get every row's threshold at once from group minima (:func:`_small_int_smallest_k`);
    other dtypes find each row's exact k-th value with ``np.partition``.

    Args:
        values: (Q, N) array, integer or float (no NaN).
        k: how many per row; more than N gives all N.

    Returns:
        (values (Q, min(k, N)) of the input dtype, indices (Q, min(k, N)) int64).
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array (Q, N), got shape {values.shape}")
    k = min(check_k(k), values.shape[1])
    if k == 0 or values.shape[0] == 0:
        return values[:, :k], np.empty((values.shape[0], k), dtype=np.int64)
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return _small_int_smallest_k(np.ascontiguousarray(values), k)
    indices = np.empty((values.shape[0], k), dtype=np.int64)
    for i, row in enumerate(values):
        threshold = np.partition(row, k - 1)[k - 1]
        candidates = np.flatnonzero(row <= threshold)
        indices[i] = candidates[np.argsort(row[candidates], kind="stable")[:k]]
    return np.take_along_axis(values, indices, axis=1), indices


@lru_cache(maxsize=64)
def _prime_at_least(n: int) -> int:
    """The smallest prime >= n (n >= 2)."""
    while any(n % divisor == 0 for divisor in range(2, isqrt(n) + 1)):
        n += 1
    return n


def _small_int_smallest_k(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`smallest_k` of small unsigned integers (Q, N), C-contiguous, Q >= 1, 1 <= k <= N.

    Threshold: column j is in group ``j % G``, G the smallest prime >= ``_GROUPS_PER_K * k``
    (capped at N; prime so that periodic layouts, e.g. a database of repeated items, still
    spread near-duplicates over the groups). The group minima of the first N // G * G columns
    take one elementwise pass. A row's k-th smallest group minimum is attained by k distinct
    columns, so it is >= the row's k-th smallest value: all of the top k are <= it, and few others.
    Selection: one comparison marks those columns; 8-column words of the mask with no mark are
    skipped; the marked columns, in (row, column) order, are stably sorted by (row, value), and
    the first k of each row kept, so ties stay in column order.
    """
    n_rows, n_cols = values.shape
    n_groups = min(n_cols, _prime_at_least(_GROUPS_PER_K * k))
    n_stripes = n_cols // n_groups
    minima = np.minimum.reduce(values[:, : n_stripes * n_groups].reshape(n_rows, n_stripes, n_groups), axis=1)
    threshold = np.partition(minima, k - 1, axis=1)[:, k - 1]
    mask = np.empty(-(-values.size // 8) * 8, dtype=bool)  # whole 8-byte words
    mask[values.size :] = False
    np.less_equal(values, threshold[:, None], out=mask[: values.size].reshape(values.shape))
    words = mask.view(np.uint64)
    marked_words = np.flatnonzero(words != 0)
    marked_bytes = np.flatnonzero(words[marked_words].view(bool))
    marked = marked_words[marked_bytes >> 3] * 8 + (marked_bytes & 7)  # flat positions, ascending
    rows, columns = np.divmod(marked, n_cols)
    found = values.ravel()[marked]
    levels = int(threshold.max()) + 1
    keys = (rows * levels + found).astype(np.min_scalar_type(n_rows * levels - 1))  # uint16: radix sort
    order = np.argsort(keys, kind="stable")
    first = np.searchsorted(marked, np.arange(n_rows) * n_cols)  # each row's first marked position
    top = order[first[:, None] + np.arange(k)]
    return found[top], columns[top]
