"""Packed binary codes and exact Hamming ranking.

Bit ``j`` of a code (column ``j`` of the unpacked (N, n_bits) bits) is stored in byte ``j // 8`` at
bit position ``7 - j % 8`` (:func:`pack_bits`). Ranking is exact and deterministic: sorted by
distance, ties by database position, whichever backend computes the distances. The "numpy"
backend ranks in this process, with a numba-compiled kernel when numba imports (a dependency of
the kit) else with pure numpy; the "faiss" backend uses ``IndexBinaryFlat``."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from math import log2, sqrt
from typing import Literal

import numpy as np

from doodlekit.retrieval.arrays import (
    CELLS_PER_BLOCK,
    _small_int_smallest_k,
    check_codes,
    check_k,
    check_n_bits,
    import_faiss,
)

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


def check_nonempty(db_codes: np.ndarray) -> int:
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
    k = min(check_k(k), check_nonempty(db_codes))
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
    step = max(1, CELLS_PER_BLOCK // n_db)
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
