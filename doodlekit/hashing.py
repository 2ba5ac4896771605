"""Binary codes for embeddings and exact Hamming ranking.

Hashers follow scikit-learn's estimator style (``fit(X) -> self``, ``transform``,
``fit_transform``) and turn float embeddings (N, D) into packed binary codes
(N, n_bits // 8) uint8:

- :class:`RandomHyperplaneLSH` - signs of random Gaussian projections of the centred data
  (what the original project used through FALCONN);
- :class:`ITQ` - iterative quantization (Gong & Lazebnik, CVPR 2011): PCA, then a learnt rotation;
- :class:`ProductQuantizer` - product quantization trained with faiss (the closest to DVSQ's own
  quantizer), searched with asymmetric distances rather than Hamming distances.

Bit order: bit ``j`` of a code (column ``j`` of the unpacked (N, n_bits) bits) is stored in byte
``j // 8`` at bit position ``7 - j % 8``, i.e. ``np.packbits(bits, axis=1, bitorder="big")``.

Ranking is exact and deterministic: results are sorted by distance, ties by database position
(a stable sort), whichever backend computes the distances. The "numpy" backend ranks in this
process: with a numba-compiled kernel when numba imports (it is a dependency of the kit), else
with pure numpy; ``compiled=`` picks one explicitly. The "faiss" backend uses IndexBinaryFlat.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from math import isqrt, log2, sqrt
from types import ModuleType
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

#: Rows projected at a time when hashing, so 1M x 300 float64 never sits in memory at once.
_ROWS_PER_CHUNK = 65_536
#: Query-by-database cells ranked at a time (bounds temporary memory: 8 bytes a cell for 64-bit words).
_CELLS_PER_BLOCK = 1 << 19
#: Groups per neighbour when thresholding small integers (:func:`_small_int_smallest_k`): more
#: groups give a tighter threshold but a longer partition of their minima.
_GROUPS_PER_K = 4
#: Hamming weight of every byte value, for numpy builds without ``np.bitwise_count``.
_BYTE_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1).astype(np.uint8)
#: Database items per block in the compiled kernel: about this times sqrt(N / k), rounded to a
#: power of two (whole vectors for the block minima), see :func:`_block_size`.
_BLOCK_SCALE = 2.5
#: Bit masks and shifts of the SWAR popcount of a 64-bit word (numba has no popcount for arrays;
#: LLVM turns this pattern into the CPU's popcount instruction where there is one).
_M1, _M2, _M4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S1, _S2, _S4, _S56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)

Backend = Literal["numpy", "faiss"]


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


def _check_embeddings(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Validate float embeddings (N, D) with finite values; returns them as a float array."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 2-D numeric array (N, D), got shape {X.shape} dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model that produced the embeddings")
    return X


def unit_rows(X: np.ndarray, name: str = "X") -> np.ndarray:
    """Embeddings (N, D) scaled to unit L2 norm, as float32; all-zero rows are errors."""
    X = _check_embeddings(X, name)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name} has all-zero rows, which have no direction (no cosine); drop them first")
    return (X / norms).astype(np.float32)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack (N, n_bits) booleans (or 0/1) into codes (N, n_bits // 8) uint8, big-endian bit order."""
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"bits must be a 2-D array (N, n_bits), got shape {bits.shape}")
    check_n_bits(bits.shape[1])
    return np.packbits(bits.astype(bool), axis=1, bitorder="big")


def unpack_bits(codes: np.ndarray) -> np.ndarray:
    """Unpack codes (N, B) uint8 into bits (N, 8 * B) bool; inverse of :func:`pack_bits`."""
    return np.unpackbits(check_codes(codes), axis=1, bitorder="big").astype(bool)


def _popcount_table(words: np.ndarray) -> np.ndarray:
    """Hamming weight of each unsigned integer, by byte lookup (any numpy); same shape, uint8."""
    as_bytes = words.reshape(*words.shape, 1).view(np.uint8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.uint8)


_popcount = getattr(np, "bitwise_count", _popcount_table)


def _as_words(codes: np.ndarray) -> np.ndarray:
    """View codes (N, B) uint8 as (W, N) words of the widest unsigned dtype dividing B bytes."""
    width = codes.shape[1]
    itemsize = next(size for size in (8, 4, 2, 1) if width % size == 0)
    return np.ascontiguousarray(codes.view(np.dtype(f"<u{itemsize}")).T)


def _distance_block(query_words: np.ndarray, db_words: np.ndarray, n_bits: int) -> np.ndarray:
    """Hamming distances (Q, N) between (W, Q) and (W, N) words, in the smallest unsigned dtype
    holding n_bits (uint8 up to 255 bits)."""
    out = _popcount(query_words[0][:, None] ^ db_words[0][None, :]).astype(np.min_scalar_type(n_bits), copy=False)
    for q_word, db_word in zip(query_words[1:], db_words[1:], strict=True):
        out += _popcount(q_word[:, None] ^ db_word[None, :])
    return out


def _check_pair(query_codes: np.ndarray, db_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    query_codes = check_codes(query_codes, "query_codes")
    db_codes = check_codes(db_codes, "db_codes")
    if query_codes.shape[1] != db_codes.shape[1]:
        raise ValueError(
            f"query codes have {8 * query_codes.shape[1]} bits but database codes have "
            f"{8 * db_codes.shape[1]}; encode both with the same fitted hasher"
        )
    return query_codes, db_codes


def _check_nonempty(db_codes: np.ndarray) -> int:
    """Number of database codes, which must be at least one to rank anything."""
    if db_codes.shape[0] == 0:
        raise ValueError("db_codes holds no codes, so there is nothing to rank; encode a database first")
    return db_codes.shape[0]


def hamming_distances(query_codes: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
    """Hamming distances (Q, N) int32, in bits, between codes (Q, B) and (N, B) uint8.

    The whole matrix at once: to find nearest codes in a large database use :func:`hamming_rank`,
    which works in blocks.
    """
    query_codes, db_codes = _check_pair(query_codes, db_codes)
    return _distance_block(_as_words(query_codes), _as_words(db_codes), 8 * db_codes.shape[1]).astype(np.int32)


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


def _faiss_rank(query_codes: np.ndarray, db_codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """faiss IndexBinaryFlat search, re-sorted by (distance, position) so it matches numpy exactly."""
    faiss = import_faiss()
    n_db = db_codes.shape[0]
    index = faiss.IndexBinaryFlat(8 * db_codes.shape[1])
    index.add(db_codes)
    distances = np.empty((query_codes.shape[0], k), dtype=np.int32)
    indices = np.empty((query_codes.shape[0], k), dtype=np.int64)
    fetch = min(n_db, 2 * k)
    pending = np.arange(query_codes.shape[0])
    while pending.size:
        dist, idx = index.search(query_codes[pending], fetch)
        # Every tie at the k-th distance is present once a farther item was fetched (or all were).
        complete = np.ones(pending.size, bool) if fetch == n_db else dist[:, -1] > dist[:, k - 1]
        order = np.lexsort((idx[complete], dist[complete]), axis=1)[:, :k]
        distances[pending[complete]] = np.take_along_axis(dist[complete], order, axis=1)
        indices[pending[complete]] = np.take_along_axis(idx[complete], order, axis=1)
        pending = pending[~complete]
        fetch = min(n_db, 2 * fetch)
    return distances, indices


def hamming_rank(
    query_codes: np.ndarray,
    db_codes: np.ndarray,
    k: int,
    *,
    backend: Backend = "numpy",
    compiled: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest database codes of each query by Hamming distance, ties by position.

    Args:
        query_codes: (Q, B) uint8 packed codes.
        db_codes: (N, B) uint8 packed codes.
        k: neighbours per query; more than N gives all N.
        backend: "numpy" (in this process) or "faiss" (IndexBinaryFlat); all give identical results.
        compiled: for the "numpy" backend, None runs the numba-compiled kernel when numba imports
            and pure numpy otherwise; True insists on the kernel, False on pure numpy.

    Returns:
        (distances (Q, min(k, N)) int32 in bits, indices (Q, min(k, N)) int64 database rows).
    """
    query_codes, db_codes = _check_pair(query_codes, db_codes)
    k = min(check_k(k), _check_nonempty(db_codes))
    if backend not in ("numpy", "faiss"):
        raise ValueError(f"unknown backend {backend!r}; use 'numpy' or 'faiss'")
    if backend == "faiss":
        if compiled is not None:
            raise ValueError("compiled= chooses how the 'numpy' backend ranks; leave it out with backend='faiss'")
        return _faiss_rank(query_codes, db_codes, k)
    return rank_words(_as_words(query_codes), _as_words(db_codes), 8 * db_codes.shape[1], k, compiled=compiled)


def prepare_words(codes: np.ndarray) -> np.ndarray:
    """Codes (N, B) uint8 as (W, N) machine words, the layout :func:`rank_words` searches."""
    return _as_words(check_codes(codes))


def rank_words(
    query_words: np.ndarray, db_words: np.ndarray, n_bits: int, k: int, *, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hamming_rank`, numpy backend (``compiled`` as there), on words from :func:`prepare_words` (no checks)."""
    n_query, n_db = query_words.shape[1], db_words.shape[1]
    k = min(k, n_db)
    kernel = None if compiled is False else _numba_kernel()
    if kernel is None and compiled:
        raise ImportError(
            "compiled=True needs numba, which is not installed; install it with `pip install 'numba>=0.58'` "
            "or leave compiled out to rank with pure numpy"
        )
    distances = np.empty((n_query, k), dtype=np.int32)
    indices = np.empty((n_query, k), dtype=np.int64)
    if kernel is not None:
        block = _block_size(n_db, k)
        dtype = np.min_scalar_type(n_bits)
        scratch = np.empty(-(-n_db // block) * block, dtype=dtype)
        scratch[n_db:] = np.iinfo(dtype).max  # pads the last block, farther than any real distance
        kernel(np.ascontiguousarray(query_words), np.ascontiguousarray(db_words), k, block, scratch, distances, indices)
        return distances, indices
    step = max(1, _CELLS_PER_BLOCK // n_db)
    for start in range(0, n_query, step):
        block_rows = slice(start, start + step)
        block_distances = _distance_block(query_words[:, block_rows], db_words, n_bits)
        distances[block_rows], indices[block_rows] = _small_int_smallest_k(block_distances, k)
    return distances, indices


def _block_size(n_db: int, k: int) -> int:
    """Items per block of the compiled kernel: a power of two near ``_BLOCK_SCALE * sqrt(n_db / k)``
    and at most ``n_db // k``, so that there are at least k blocks.

    The kernel's cost is about a fixed cost per block (its minimum) plus a cost per item of the
    ~k blocks it scans for candidates, so it is least near sqrt(n_db / k) items per block.
    """
    return 1 << max(0, min(round(log2(_BLOCK_SCALE * sqrt(n_db / k))), (n_db // k).bit_length() - 1))


@lru_cache(maxsize=1)
def _numba_kernel() -> Callable[..., None] | None:
    """:func:`_rank_kernel` compiled with numba (lazily, per argument types), or None without numba.

    Compiled code is cached on disk (``__pycache__`` next to this file, else numba's user-wide
    cache directory, or ``NUMBA_CACHE_DIR``) so later processes load it instead of compiling;
    where none of those is writable numba refuses ``cache=True``, and the kernel is compiled
    afresh in each process instead.
    """
    try:
        import numba
    except ImportError:
        return None
    try:
        return numba.njit(nogil=True, cache=True)(_rank_kernel)
    except RuntimeError:  # "cannot cache function ...: no locator available" (no writable cache directory)
        return numba.njit(nogil=True)(_rank_kernel)


def _rank_kernel(
    query_words: np.ndarray,
    db_words: np.ndarray,
    k: int,
    block: int,
    scratch: np.ndarray,
    out_distances: np.ndarray,
    out_indices: np.ndarray,
) -> None:
    """Exact top k by (Hamming distance, position) of each query, written into the outputs.

    Written for numba (see :func:`_numba_kernel`); single-threaded. Per query:

    1. distances to all N items, word by word (XOR and a SWAR popcount), into ``scratch``;
    2. the minimum of each block of ``block`` consecutive items; the k-th smallest block minimum
       (from a histogram: distances are small integers) is attained by k distinct items, so it is
       a threshold >= the k-th smallest distance, and every item of the top k lies in a block whose
       minimum is <= it;
    3. the items <= the threshold in those blocks, in position order, are counted by distance,
       which gives the k-th smallest distance and each smaller distance's first output slot;
       they are then placed in (distance, position) order, ties at the k-th distance by position.

    Args:
        query_words: (W, Q) unsigned words of the query codes, C-contiguous.
        db_words: (W, N) words of the database codes, same dtype, C-contiguous.
        k: results per query, 1 <= k <= N.
        block: items per block, with ceil(N / block) >= k.
        scratch: (ceil(N / block) * block,) unsigned integers wider than the largest distance;
            entries from N on are padding and must hold the dtype's maximum.
        out_distances: (Q, k) int32, filled with distances in bits.
        out_indices: (Q, k) int64, filled with database positions.
    """
    n_words, n_queries = query_words.shape
    n_items = db_words.shape[1]
    n_blocks = scratch.shape[0] // block
    distances = scratch[:n_items]
    blocks = scratch.reshape(n_blocks, block)
    minima = np.empty(n_blocks, scratch.dtype)
    counts = np.zeros(8 * db_words.itemsize * n_words + 1, np.int64)  # one per possible distance
    candidates = np.empty(scratch.shape[0], np.int64)  # the append below also writes (then drops) padding
    for query in range(n_queries):
        for word in range(n_words):
            x = query_words[word, query]
            row = db_words[word]
            for i in range(n_items):
                v = np.uint64(x ^ row[i])
                v = v - ((v >> _S1) & _M1)
                v = (v & _M2) + ((v >> _S2) & _M2)
                v = (v + (v >> _S4)) & _M4
                if word == 0:
                    distances[i] = (v * _H01) >> _S56
                else:
                    distances[i] += (v * _H01) >> _S56
        top = 0
        for b in range(n_blocks):
            smallest = blocks[b, 0]
            for i in range(block):
                smallest = min(smallest, blocks[b, i])
            minima[b] = smallest
            top = max(top, smallest)
        counts[: top + 1] = 0
        for b in range(n_blocks):
            counts[minima[b]] += 1
        threshold = 0
        total = counts[0]
        while total < k:
            threshold += 1
            total += counts[threshold]
        n_candidates = 0
        for b in range(n_blocks):
            if minima[b] <= threshold:
                for i in range(block):
                    candidates[n_candidates] = b * block + i
                    n_candidates += blocks[b, i] <= threshold  # branch-free append
        counts[: threshold + 1] = 0
        for c in range(n_candidates):
            counts[distances[candidates[c]]] += 1
        # k-th smallest distance; counts[d] becomes the first output slot of distance d <= it
        kth = 0
        total = 0
        while True:
            count = counts[kth]
            counts[kth] = total
            total += count
            if total >= k:
                break
            kth += 1
        for c in range(n_candidates):
            position = candidates[c]
            distance = distances[position]
            if distance <= kth:
                slot = counts[distance]
                if slot < k:
                    out_distances[query, slot] = distance
                    out_indices[query, slot] = position
                    counts[distance] = slot + 1


class _ProjectionHasher:
    """Codes = signs of (X - mean_) @ projection_; subclasses learn mean_ and projection_ in fit."""

    mean_: np.ndarray  # (D,) float64
    projection_: np.ndarray  # (D, n_bits) float64

    def __init__(self, n_bits: int, seed: int = 0) -> None:
        self.n_bits = check_n_bits(n_bits)
        self.seed = seed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_bits={self.n_bits}, seed={self.seed})"

    def fit(self, X: np.ndarray) -> _ProjectionHasher:
        raise NotImplementedError

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes (N, n_bits // 8) uint8 of embeddings X (N, D); bit j is 1 where projection j > 0."""
        if not hasattr(self, "projection_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")
        X = _check_embeddings(X)
        if X.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} dimensions but the hasher was fitted on {self.mean_.shape[0]}; "
                "hash embeddings from the same model it was fitted on"
            )
        codes = np.empty((X.shape[0], self.n_bits // 8), dtype=np.uint8)
        for start in range(0, X.shape[0], _ROWS_PER_CHUNK):
            chunk = np.asarray(X[start : start + _ROWS_PER_CHUNK], dtype=np.float64) - self.mean_
            codes[start : start + _ROWS_PER_CHUNK] = pack_bits(chunk @ self.projection_ > 0)
        return codes

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)


class RandomHyperplaneLSH(_ProjectionHasher):
    """Random-hyperplane LSH (Charikar 2002): bit j = sign of a Gaussian projection of X - mean.

    Centring on the fit data's mean makes the hyperplanes pass through the data's centre, so
    bits are balanced; the projections are i.i.d. N(0, 1), drawn from ``seed``.
    """

    def fit(self, X: np.ndarray) -> RandomHyperplaneLSH:
        """Learn the mean of X (N, D) and draw (D, n_bits) Gaussian projections."""
        X = _check_embeddings(X)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.projection_ = np.random.default_rng(self.seed).standard_normal((X.shape[1], self.n_bits))
        return self


def _random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random (n, n) orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


class ITQ(_ProjectionHasher):
    """Iterative quantization (Gong & Lazebnik 2011): PCA, then a rotation minimising ||B - V R||.

    With D >= n_bits: centre X, project on the top n_bits principal directions (no whitening)
    to get V, and alternate ``B = sign(V R)`` and the orthogonal Procrustes update of R
    for ``n_iter`` iterations from a random rotation drawn from ``seed``.

    With n_bits > D (e.g. 64 or 128 bits from 50-d GloVe-sized embeddings) PCA has only D
    directions: all D are kept and lifted into n_bits dimensions by a random matrix with
    orthonormal rows (D, n_bits), which preserves all distances; the rotation is then learnt in
    n_bits dimensions as usual. The extra bits are extra (learnt) hyperplanes through the same
    D-dimensional data, like LSH bits but balanced and decorrelated by the rotation.

    Attributes (after fit): ``mean_`` (D,), ``components_`` (D, n_bits) PCA basis (lifted when
    n_bits > D), ``rotation_`` (n_bits, n_bits), ``projection_`` = components_ @ rotation_.
    """

    def __init__(self, n_bits: int, n_iter: int = 50, seed: int = 0) -> None:
        super().__init__(n_bits, seed)
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")
        self.n_iter = int(n_iter)

    def __repr__(self) -> str:
        return f"ITQ(n_bits={self.n_bits}, n_iter={self.n_iter}, seed={self.seed})"

    def fit(self, X: np.ndarray) -> ITQ:
        """Learn mean, PCA basis and rotation from embeddings X (N, D)."""
        X = _check_embeddings(X)
        # The matrices here are at most n_bits wide: BLAS threads only add synchronisation,
        # which on a busy 2-core machine makes the fit tens of times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit(X)
        return self

    def _fit(self, X: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        centred = np.asarray(X, dtype=np.float64) - self.mean_
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(eigvals, kind="stable")[::-1][: self.n_bits]
        # Fix each direction's sign (largest entry positive) so the basis does not depend on LAPACK.
        basis = eigvecs[:, order]
        basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(basis.shape[1])])
        if basis.shape[1] < self.n_bits:
            basis = basis @ _random_orthogonal(self.n_bits, rng)[: basis.shape[1]]
        self.components_ = basis
        V = centred @ basis
        rotation = _random_orthogonal(self.n_bits, rng)
        for _ in range(self.n_iter):
            B = np.where(V @ rotation > 0, 1.0, -1.0)
            u, _, vt = np.linalg.svd(V.T @ B)
            rotation = u @ vt
        self.rotation_ = rotation
        self.projection_ = basis @ rotation


class ProductQuantizer:
    """Product quantization (Jégou et al. 2011) trained with faiss, searched by asymmetric distance.

    Embeddings are L2-normalised (so squared L2 distance ranks like cosine), zero-padded to a
    multiple of M = n_bits // 8 dimensions and split into M sub-vectors; each sub-vector is
    coded by one byte, the index of its nearest of 256 k-means centroids. A code is therefore
    (N, n_bits // 8) uint8 like the binary hashers', but its bytes are centroid ids, not bits:
    search with :meth:`search` (asymmetric distance: float query against coded database), not
    with Hamming distance. Needs faiss (``pip install 'doodlekit[faiss]'``) and >= 256 fit rows.
    """

    centroids_: np.ndarray  # (M, 256, dsub) float32

    def __init__(self, n_bits: int, seed: int = 0) -> None:
        self.n_bits = check_n_bits(n_bits)
        self.seed = seed

    def __repr__(self) -> str:
        return f"ProductQuantizer(n_bits={self.n_bits}, seed={self.seed})"

    @property
    def n_subquantizers(self) -> int:
        """M, the number of sub-vectors (one byte each)."""
        return self.n_bits // 8

    def _prepare(self, X: np.ndarray, fitted: bool = True) -> np.ndarray:
        """Unit-normalised, zero-padded float32 (N, M * dsub) copy of X (N, D)."""
        X = unit_rows(X)
        if fitted:
            if not hasattr(self, "centroids_"):
                raise ValueError("this ProductQuantizer is not fitted yet; call fit(X) first")
            if X.shape[1] != self.dim_:
                raise ValueError(
                    f"X has {X.shape[1]} dimensions but the quantizer was fitted on {self.dim_}; "
                    "quantize embeddings from the same model it was fitted on"
                )
        padded_dim = -(-X.shape[1] // self.n_subquantizers) * self.n_subquantizers
        return np.pad(X, ((0, 0), (0, padded_dim - X.shape[1])))

    def fit(self, X: np.ndarray) -> ProductQuantizer:
        """Train the M codebooks of 256 centroids on X (N >= 256, D) with faiss k-means."""
        faiss = import_faiss()
        data = self._prepare(X, fitted=False)
        if data.shape[0] < 256:
            raise ValueError(f"product quantization needs at least 256 rows to fit 256 centroids, got {data.shape[0]}")
        self.dim_ = X.shape[1]
        pq = faiss.ProductQuantizer(data.shape[1], self.n_subquantizers, 8)
        pq.cp.seed = self.seed
        pq.cp.min_points_per_centroid = 1
        pq.train(data)
        self._pq = pq
        self.centroids_ = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes (N, M) uint8: for each sub-vector of X (N, D), the id of its nearest centroid."""
        data = self._prepare(X)
        return self._pq.compute_codes(data)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    def search(self, query_embeddings: np.ndarray, db_codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Asymmetric-distance search: float queries (Q, D) against coded database (N, M).

        Returns (squared L2 distances (Q, min(k, N)) float32 between unit query and decoded item,
        ascending; indices (Q, min(k, N)) int64 database rows), ties by position.
        """
        queries = self._prepare(query_embeddings)
        db_codes = check_codes(db_codes, "db_codes")
        n_sub, _, dsub = self.centroids_.shape
        if db_codes.shape[1] != n_sub:
            raise ValueError(
                f"db_codes have {db_codes.shape[1]} bytes but this quantizer makes {n_sub}-byte codes; "
                "encode the database with this quantizer's transform()"
            )
        queries = queries.reshape(-1, n_sub, dsub)
        centroid_sq = (self.centroids_**2).sum(axis=-1)
        k = min(check_k(k), _check_nonempty(db_codes))
        distances = np.empty((queries.shape[0], k), dtype=np.float32)
        indices = np.empty((queries.shape[0], k), dtype=np.int64)
        step = max(1, _CELLS_PER_BLOCK // db_codes.shape[0])
        for start in range(0, queries.shape[0], step):
            block = queries[start : start + step]
            # tables[q, m, c] = squared distance of query q's sub-vector m to centroid c of codebook m.
            tables = (
                (block**2).sum(axis=-1)[..., None]
                - 2 * np.einsum("qmd,mcd->qmc", block, self.centroids_)
                + centroid_sq[None]
            )
            adc = np.zeros((block.shape[0], db_codes.shape[0]), dtype=np.float32)
            for m in range(n_sub):
                adc += tables[:, m, db_codes[:, m]]
            distances[start : start + step], indices[start : start + step] = smallest_k(adc, k)
        return distances, indices
