"""Binary codes, Hamming distances and exact, deterministic Hamming ranking."""

from __future__ import annotations

import hashlib
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from doodlekit.errors import CorruptFileError, DataNotFoundError
from doodlekit.retrieval import (
    HASHERS,
    ITQ,
    ProductQuantizer,
    RandomHyperplaneLSH,
    hamming,
    hamming_distances,
    hamming_rank,
    hasher_class,
    pack_bits,
    smallest_k,
    unpack_bits,
)


def _clusters(n_per_class: int = 40, n_classes: int = 6, dim: int = 20, noise: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dim))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return (centres[labels] + noise * rng.standard_normal((labels.size, dim))).astype(np.float32), labels


def _reference_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


def _random_codes(n: int, n_bytes: int, seed: int, values: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, values, size=(n, n_bytes), dtype=np.uint8)


def test_pack_bits_is_big_endian_within_each_byte():
    bits = np.zeros((1, 16), dtype=bool)
    bits[0, 0] = True  # first bit -> most significant bit of byte 0
    bits[0, 15] = True  # last bit -> least significant bit of byte 1
    assert pack_bits(bits).tolist() == [[128, 1]]
    assert unpack_bits(pack_bits(bits)).tolist() == bits.tolist()


def test_pack_unpack_round_trip():
    bits = np.random.default_rng(1).random((7, 64)) > 0.5
    codes = pack_bits(bits)
    assert codes.shape == (7, 8) and codes.dtype == np.uint8
    np.testing.assert_array_equal(unpack_bits(codes), bits)


@pytest.mark.parametrize("bad", [np.zeros((2, 12), bool), np.zeros(8, bool)])
def test_pack_bits_rejects_widths_that_are_not_whole_bytes(bad):
    with pytest.raises(ValueError, match=r"multiple of 8|2-D"):
        pack_bits(bad)


@pytest.mark.parametrize("n_bytes", [1, 2, 3, 4, 6, 8, 16, 17, 40])
def test_hamming_distances_match_bit_counting(n_bytes):
    q, db = _random_codes(5, n_bytes, 2), _random_codes(30, n_bytes, 3)
    d = hamming_distances(q, db)
    assert d.dtype == np.int32 and d.shape == (5, 30)
    np.testing.assert_array_equal(d, _reference_distances(q, db))


def test_hamming_distances_hand_computed():
    q = np.array([[0b0000_0000, 0b0000_0000]], dtype=np.uint8)
    db = np.array([[0b0000_0000, 0b0000_0000], [0b1000_0001, 0b0000_0000], [0xFF, 0xFF]], dtype=np.uint8)
    assert hamming_distances(q, db).tolist() == [[0, 2, 16]]


@pytest.mark.parametrize("n_bytes", [2, 8, 16])
def test_lookup_table_popcount_fallback_gives_the_same_distances(monkeypatch, n_bytes):
    q, db = _random_codes(4, n_bytes, 4), _random_codes(25, n_bytes, 5)
    expected = hamming_distances(q, db)
    monkeypatch.setattr(hamming, "_popcount", hamming._popcount_table)
    np.testing.assert_array_equal(hamming_distances(q, db), expected)
    ranked = hamming_rank(q, db, 10, compiled=False)[1]
    np.testing.assert_array_equal(ranked, np.argsort(expected, axis=1, kind="stable")[:, :10])


def test_hamming_rank_breaks_ties_by_position():
    q = np.array([[0]], dtype=np.uint8)
    db = np.array([[0b11], [0b1], [0], [0b10], [0b100], [0]], dtype=np.uint8)  # distances 2 1 0 1 1 0
    distances, indices = hamming_rank(q, db, 4)
    assert indices.tolist() == [[2, 5, 1, 3]]
    assert distances.tolist() == [[0, 0, 1, 1]]


#: Every way of ranking: the numba kernel, pure numpy and faiss, as hamming_rank keyword arguments.
RANKERS = [{"compiled": True}, {"compiled": False}, {"backend": "faiss"}]
RANKER_IDS = ["numba", "numpy", "faiss"]


@pytest.mark.parametrize("ranker", RANKERS, ids=RANKER_IDS)
@pytest.mark.parametrize(("n_bytes", "values"), [(2, 4), (8, 256), (16, 2), (40, 256)])  # 40 bytes: uint16 distances
def test_hamming_rank_equals_a_stable_full_sort(ranker, n_bytes, values):
    # few distinct byte values -> many ties at every distance, including at the k-th
    q, db = _random_codes(20, n_bytes, 6, values), _random_codes(500, n_bytes, 7, values)
    reference = np.argsort(_reference_distances(q, db), axis=1, kind="stable")
    for k in (1, 7, 100, 499, 500, 900):
        distances, indices = hamming_rank(q, db, k, **ranker)
        assert indices.shape == (20, min(k, 500))
        np.testing.assert_array_equal(indices, reference[:, :k])
        np.testing.assert_array_equal(distances, np.take_along_axis(hamming_distances(q, db), indices, axis=1))


@pytest.mark.parametrize("n_bytes", [8, 16])
def test_hamming_rank_of_a_database_of_repeated_codes(n_bytes):
    # near-duplicates recur with a period, as in a database of repeated items
    base, q = _random_codes(96, n_bytes, 15), _random_codes(7, n_bytes, 16)
    db = np.tile(base, (50, 1))
    db[::5, 0] ^= 1  # some copies one bit away
    reference = np.argsort(_reference_distances(q, db), axis=1, kind="stable")
    for k in (1, 49, 50, 51, 300):
        numpy_result = hamming_rank(q, db, k, compiled=False)
        np.testing.assert_array_equal(numpy_result[1], reference[:, :k])
        for ranker in (RANKERS[0], RANKERS[2]):
            for a, b in zip(numpy_result, hamming_rank(q, db, k, **ranker), strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_bytes", [8, 16, 24])  # one to three 64-bit words
def test_numba_kernel_ranks_exactly_like_numpy_and_faiss(n_bytes):
    # Enough items for blocks of many items (and a padded last block), few distinct distances,
    # near-duplicates repeating with a period, and k at, around and past every tie boundary.
    rng = np.random.default_rng(n_bytes)
    base = _random_codes(97, n_bytes, 20, values=4)
    db = np.tile(base, (31, 1))  # 3007 items
    db[rng.random(db.shape[0]) < 0.3, rng.integers(0, n_bytes)] ^= 1
    q = np.concatenate([base[:3], _random_codes(3, n_bytes, 21, values=4), np.zeros((1, n_bytes), np.uint8)])
    # k at either end of the tie around the 2nd, 32nd and 501st smallest distance, and one past
    boundaries = {
        int(np.searchsorted(row, row[k], side)) + step
        for row in np.sort(_reference_distances(q, db), axis=1)
        for k in (1, 31, 500)
        for side in ("left", "right")
        for step in (0, 1)
    }
    for k in sorted(({1, 2, 31, 32, 33, 500, 3006, 3007, 5000} | boundaries) - {0}):
        expected = hamming_rank(q, db, k, compiled=False)
        rankers = RANKERS[::2] if k in (1, 33, 500, 3007) else RANKERS[:1]  # faiss is slow with many ties
        for ranker in rankers:
            for a, b in zip(hamming_rank(q, db, k, **ranker), expected, strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"{ranker} k={k}")


def test_numba_kernel_when_every_item_ties():
    # all distances 0: every item is a candidate, and with 301 items the last block is padded
    db, q = np.zeros((301, 8), np.uint8), np.zeros((2, 8), np.uint8)
    for k in (1, 100, 150, 151, 300, 301):
        assert hamming._block_size(301, k) > 1 or k > 150
        expected = hamming_rank(q, db, k, compiled=False)
        for a, b in zip(hamming_rank(q, db, k, compiled=True), expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_numba_kernel_with_one_item_or_no_queries():
    one = _random_codes(1, 8, 22)
    distances, indices = hamming_rank(_random_codes(3, 8, 23), one, 5, compiled=True)
    assert indices.tolist() == [[0], [0], [0]]
    np.testing.assert_array_equal(distances, hamming_distances(_random_codes(3, 8, 23), one))
    distances, indices = hamming_rank(one[:0], _random_codes(50, 8, 24), 5, compiled=True)
    assert distances.shape == indices.shape == (0, 5)


@pytest.mark.parametrize("n_db", [1, 2, 7, 100, 999, 10_000, 1_000_000])
@pytest.mark.parametrize("k", [1, 3, 10, 100, 1000])
def test_kernel_blocks_are_powers_of_two_with_at_least_k_blocks(n_db, k):
    k = min(k, n_db)
    block = hamming._block_size(n_db, k)
    assert block & (block - 1) == 0 and -(-n_db // block) >= k


def test_numba_kernel_without_a_writable_cache_directory(monkeypatch):
    # A read-only install with a read-only home: numba finds no cache directory and refuses
    # cache=True; the kernel is then compiled (in memory) without a disk cache, silently.
    caching = pytest.importorskip("numba.core.caching")

    def unwritable(self):
        raise PermissionError(f"[Errno 13] Permission denied: {self.get_cache_path()!r}")

    monkeypatch.setattr(caching._CacheLocator, "ensure_cache_path", unwritable)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel = hamming._numba_kernel.__wrapped__()
    assert kernel.py_func is hamming._rank_kernel
    assert kernel.stats.cache_path is None


def test_without_numba_ranking_falls_back_to_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    assert hamming._numba_kernel.__wrapped__() is None
    monkeypatch.setattr(hamming, "_numba_kernel", hamming._numba_kernel.__wrapped__)
    q, db = _random_codes(4, 8, 25, values=4), _random_codes(300, 8, 26, values=4)
    expected = hamming_rank(q, db, 20, compiled=False)
    for a, b in zip(hamming_rank(q, db, 20), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ImportError, match=r"pip install 'numba>=0.58'"):
        hamming_rank(q, db, 20, compiled=True)


def test_faiss_backend_matches_numpy_where_faiss_ties_differ():
    # 300 identical codes: every ranking is decided by ties alone
    db = np.zeros((300, 8), dtype=np.uint8)
    db[::3, 0] = 1
    q = np.zeros((3, 8), dtype=np.uint8)
    for k in (5, 150, 299):
        numpy_result = hamming_rank(q, db, k, compiled=False)
        for ranker in (RANKERS[0], RANKERS[2]):
            for a, b in zip(hamming_rank(q, db, k, **ranker), numpy_result, strict=True):
                np.testing.assert_array_equal(a, b)


def test_hamming_rank_errors_say_what_to_do():
    a, b = _random_codes(2, 8, 0), _random_codes(5, 4, 1)
    with pytest.raises(ValueError, match="same fitted hasher"):
        hamming_rank(a, b, 3)
    with pytest.raises(ValueError, match="uint8"):
        hamming_rank(a.astype(np.int64), a, 3)
    with pytest.raises(ValueError, match="positive integer"):
        hamming_rank(a, a, 0)
    with pytest.raises(ValueError, match="'numpy' or 'faiss'"):
        hamming_rank(a, a, 1, backend="annoy")
    with pytest.raises(ValueError, match="leave it out with backend='faiss'"):
        hamming_rank(a, a, 1, backend="faiss", compiled=True)
    with pytest.raises(ValueError, match="encode a database first"):
        hamming_rank(a, a[:0], 1)


def test_missing_faiss_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    codes = _random_codes(3, 8, 0)
    with pytest.raises(ImportError, match=r"pip install 'doodlekit\[faiss\]'"):
        hamming_rank(codes, codes, 2, backend="faiss")
    with pytest.raises(ImportError, match="faiss-cpu"):
        ProductQuantizer(16).fit(np.ones((300, 4)))


def _assert_stable_top_k(values: np.ndarray, k: int) -> None:
    reference = np.argsort(values, axis=1, kind="stable")[:, :k]
    got_values, got_indices = smallest_k(values, k)
    assert got_indices.dtype == np.int64 and got_values.dtype == values.dtype
    np.testing.assert_array_equal(got_indices, reference)
    np.testing.assert_array_equal(got_values, np.take_along_axis(values, reference, axis=1))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_smallest_k_is_a_stable_top_k(dtype):
    values = np.random.default_rng(8).integers(0, 6, size=(9, 200)).astype(dtype)
    for k in (1, 13, 199, 200, 250):
        _assert_stable_top_k(values, k)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("n_cols", [1, 7, 997, 5003])  # one column, fewer than 8, a prime, many groups
def test_small_integer_top_k_with_ties_at_the_kth_value(dtype, n_cols):
    # few distinct values: the k-th value is tied many times over in every row, and rows differ
    rng = np.random.default_rng(11)
    values = (rng.integers(0, 4, size=(13, n_cols)) + 3 * np.arange(13)[:, None] % 7).astype(dtype)
    for k in sorted({1, 2, 9, n_cols // 2 + 1, n_cols, n_cols + 5}):
        _assert_stable_top_k(values, k)


def test_small_integer_top_k_rows_with_very_different_kth_values():
    # one block mixes rows whose k-th smallest value is 0, mid-range and near the top (uint16 > 255)
    rng = np.random.default_rng(12)
    values = rng.integers(0, 40_000, size=(6, 3000)).astype(np.uint16)
    values[0, ::7] = 0
    values[1] = 39_999
    values[1, -3:] = [5, 5, 7]
    values[2, :2000] = 60_000
    for k in (1, 3, 4, 50, 1000, 2999):
        _assert_stable_top_k(values, k)


def test_small_integer_top_k_of_periodic_rows():
    # a database of repeated items: equal values recur with a period (here a power of two)
    row = np.random.default_rng(13).integers(0, 64, size=256).astype(np.uint8)
    values = np.stack([np.tile(row, 40), np.tile(row[::-1], 40)])
    for k in (1, 40, 41, 100, 5000):
        _assert_stable_top_k(values, k)


def test_small_integer_top_k_of_non_contiguous_input():
    values = np.random.default_rng(14).integers(0, 9, size=(30, 400)).astype(np.uint8)
    for view in (values[:, ::3], values.T, np.asfortranarray(values)):
        for k in (1, 25):
            _assert_stable_top_k(view, k)


def test_smallest_k_of_no_rows_or_columns():
    assert [a.shape for a in smallest_k(np.zeros((0, 5), np.uint8), 3)] == [(0, 3), (0, 3)]
    assert [a.shape for a in smallest_k(np.zeros((4, 0), np.uint8), 3)] == [(4, 0), (4, 0)]


def test_ranking_in_many_small_blocks_gives_the_same_result(monkeypatch):
    q, db = _random_codes(30, 8, 9, values=8), _random_codes(400, 8, 10, values=8)
    expected = hamming_rank(q, db, 50, compiled=False)
    monkeypatch.setattr(hamming, "CELLS_PER_BLOCK", 1000)  # 2 queries per block
    for a, b in zip(hamming_rank(q, db, 50, compiled=False), expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hasher", [RandomHyperplaneLSH, ITQ])
@pytest.mark.parametrize("n_bits", [16, 32, 64, 128])
def test_hashers_make_packed_codes_deterministically(hasher, n_bits):
    X, _ = _clusters()
    codes = hasher(n_bits, random_state=3).fit_transform(X)
    assert codes.shape == (X.shape[0], n_bits // 8) and codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, hasher(n_bits, random_state=3).fit(X).transform(X))
    assert not np.array_equal(codes, hasher(n_bits, random_state=4).fit_transform(X))


@pytest.mark.parametrize("hasher", [RandomHyperplaneLSH, ITQ])
def test_hashers_centre_on_the_fit_mean(hasher):
    X, _ = _clusters()
    shifted = X + np.linspace(-5, 5, X.shape[1], dtype=np.float32)
    np.testing.assert_array_equal(hasher(32).fit_transform(X), hasher(32).fit_transform(shifted))


@pytest.mark.parametrize("hasher", [RandomHyperplaneLSH, ITQ])
def test_codes_keep_neighbours_closer_than_strangers(hasher):
    X, labels = _clusters()
    d = hamming_distances(*(2 * [hasher(64).fit_transform(X)]))
    same = labels[:, None] == labels[None, :]
    assert d[same].mean() < d[~same].mean()


def _quantisation_loss(itq: ITQ, X: np.ndarray) -> float:
    V = (X - itq.mean_) @ itq.components_ @ itq.rotation_
    return float(((np.where(V > 0, 1.0, -1.0) - V) ** 2).sum())


@pytest.mark.parametrize("n_bits", [16, 128])
def test_itq_rotation_lowers_the_quantisation_loss(n_bits):
    X, _ = _clusters(dim=50)
    trained, untrained = ITQ(n_bits, n_iter=30).fit(X), ITQ(n_bits, n_iter=0).fit(X)
    np.testing.assert_allclose(trained.rotation_ @ trained.rotation_.T, np.eye(n_bits), atol=1e-9)
    assert _quantisation_loss(trained, X) < _quantisation_loss(untrained, X)


def test_itq_lifts_orthonormally_when_bits_exceed_dimensions():
    X, _ = _clusters(dim=20)
    itq = ITQ(64).fit(X)  # 64 bits > 20 dimensions
    assert itq.components_.shape == (20, 64)
    np.testing.assert_allclose(itq.components_ @ itq.components_.T, np.eye(20), atol=1e-9)
    narrow = ITQ(16).fit(X)  # 16 bits <= 20 dimensions: orthonormal PCA directions
    np.testing.assert_allclose(narrow.components_.T @ narrow.components_, np.eye(16), atol=1e-9)


@pytest.mark.parametrize("hasher", [RandomHyperplaneLSH(16), ITQ(16), ProductQuantizer(16)])
def test_hasher_errors_say_what_to_do(hasher):
    X, _ = _clusters(n_per_class=60)
    with pytest.raises(ValueError, match="call fit"):
        hasher.transform(X)
    hasher.fit(X)
    with pytest.raises(ValueError, match="same model"):
        hasher.transform(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        hasher.transform(np.full_like(X, np.nan))


@pytest.mark.parametrize("hasher", HASHERS.values())
@pytest.mark.parametrize("n_bits", [0, 12, 8.0, True])
def test_bad_widths_are_rejected_by_fit(hasher, n_bits):
    X, _ = _clusters(n_per_class=60)
    unchecked = hasher(n_bits)  # scikit-learn style: the constructor stores, fit checks
    assert unchecked.n_bits is n_bits
    with pytest.raises(ValueError, match="multiple of 8"):
        unchecked.fit(X)


@pytest.mark.parametrize(
    ("hasher", "params", "message"),
    [
        (ITQ, {"n_iter": -1}, "n_iter must be a non-negative integer"),
        (ITQ, {"random_state": None}, "random_state must be a non-negative integer seed"),
        (RandomHyperplaneLSH, {"random_state": 1.5}, "random_state must be a non-negative integer seed"),
        (ProductQuantizer, {"random_state": -1}, "random_state must be a non-negative integer seed"),
    ],
)
def test_bad_parameters_are_rejected_by_fit(hasher, params, message):
    X, _ = _clusters(n_per_class=60)
    unchecked = hasher(16, **params)
    assert unchecked.get_params() == {**hasher(16).get_params(), **params}
    with pytest.raises(ValueError, match=message):
        unchecked.fit(X)


def test_product_quantizer_search_is_asymmetric_distance_to_decoded_items():
    X, _ = _clusters(n_per_class=60, dim=30)  # 30 dims, 4 sub-vectors: padded to 32
    pq = ProductQuantizer(32, random_state=1).fit(X)
    codes = pq.transform(X)
    assert codes.shape == (X.shape[0], 4) and codes.dtype == np.uint8
    decoded = np.concatenate([pq.centroids_[m, codes[:, m]] for m in range(4)], axis=1)[:, :30]
    queries = X[:5] / np.linalg.norm(X[:5], axis=1, keepdims=True)
    expected = ((queries[:, None, :] - decoded[None]) ** 2).sum(axis=2)
    distances, indices = pq.search(X[:5], codes, 10)
    np.testing.assert_array_equal(indices, np.argsort(expected, axis=1, kind="stable")[:, :10])
    np.testing.assert_allclose(distances, np.take_along_axis(expected, indices, axis=1), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(codes, ProductQuantizer(32, random_state=1).fit_transform(X))


def test_product_quantizer_needs_256_rows():
    with pytest.raises(ValueError, match="at least 256 rows"):
        ProductQuantizer(16).fit(np.random.default_rng(0).standard_normal((100, 8)))


#: sha256 of the codes of ``_clusters(n_per_class=60)`` with seed 0, computed before the hashers became
#: scikit-learn estimators (``ITQ(64, seed=0)`` then, ``ITQ(64, random_state=0)`` now).
_CODES_BEFORE = {
    (ITQ, 64): "40e9b50fa41d084221b2816c1440e494aff2146d38a476b8064d2e80afc26a68",  # 64 bits > 20 dims: lifted
    (ITQ, 16): "f9e2a1b511694791d2102d37d4fbcf7f83bd828b945124c19f06bc7319b1b96e",
    (RandomHyperplaneLSH, 64): "7da623813280e4a9183663367ee3e776c2c8186d1a877f04ef719275da20383d",
    (ProductQuantizer, 32): "04151220dde2cfbf7ea28441d3ded8b29a662dbf279a0c6ab1ff242b49be78b3",
}


@pytest.mark.parametrize(("hasher", "n_bits"), _CODES_BEFORE)
def test_random_state_gives_the_codes_that_seed_gave(hasher, n_bits):
    X, _ = _clusters(n_per_class=60)
    codes = hasher(n_bits, random_state=0).fit_transform(X)
    assert hashlib.sha256(codes.tobytes()).hexdigest() == _CODES_BEFORE[hasher, n_bits]


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    """One 16-bit hasher of each kind, fitted on the same clusters (360 rows: enough for PQ)."""
    X, _ = _clusters(n_per_class=60)
    return {name: kind(16, random_state=2).fit(X) for name, kind in HASHERS.items()}


@pytest.mark.parametrize("name", HASHERS)
def test_clone_gives_an_unfitted_copy_that_fits_to_the_same_codes(name, fitted):
    X, _ = _clusters(n_per_class=60)
    copy = clone(fitted[name])
    assert type(copy) is HASHERS[name] and copy.get_params() == fitted[name].get_params()
    with pytest.raises(NotFittedError, match="call fit"):
        copy.transform(X)
    np.testing.assert_array_equal(copy.fit_transform(X), fitted[name].transform(X))
    assert clone(HASHERS[name](24, random_state=5)).get_params() == HASHERS[name](24, random_state=5).get_params()


@pytest.mark.parametrize("name", HASHERS)
def test_pickle_round_trips_fitted_and_unfitted_hashers(name, fitted):
    X, _ = _clusters(n_per_class=60)
    again = pickle.loads(pickle.dumps(fitted[name]))
    np.testing.assert_array_equal(again.transform(X), fitted[name].transform(X))
    unfitted = pickle.loads(pickle.dumps(HASHERS[name](16, random_state=2)))
    assert unfitted.get_params() == fitted[name].get_params() and not hasattr(unfitted, "n_features_in_")
    np.testing.assert_array_equal(unfitted.fit_transform(X), fitted[name].transform(X))


def test_get_params_and_set_params_follow_scikit_learn():
    itq = ITQ(32)
    assert itq.get_params() == {"n_bits": 32, "n_iter": 50, "random_state": 0}
    assert itq.set_params(n_iter=5, random_state=7) is itq
    assert itq.get_params() == {"n_bits": 32, "n_iter": 5, "random_state": 7}
    assert repr(itq) == "ITQ(n_bits=32, n_iter=5, random_state=7)"
    for kind in (RandomHyperplaneLSH, ProductQuantizer):
        assert kind(16).get_params() == {"n_bits": 16, "random_state": 0}
    with pytest.raises(ValueError, match="Invalid parameter 'seed'"):
        ITQ(32).set_params(seed=1)


@pytest.mark.parametrize("name", HASHERS)
def test_feature_names_are_one_per_code_byte(name, fitted):
    X, _ = _clusters(n_per_class=60)
    names = fitted[name].get_feature_names_out()
    assert names.shape == (fitted[name].transform(X).shape[1],) == (2,)
    prefix = type(fitted[name]).__name__.lower()
    expected = ["subvector0", "subvector1"] if name == "pq" else ["bits0-7", "bits8-15"]
    assert names.tolist() == [f"{prefix}_{column}" for column in expected]
    frame = clone(fitted[name]).set_output(transform="pandas").fit_transform(X)
    assert frame.columns.tolist() == names.tolist()
    with pytest.raises(ValueError, match="one name per dimension"):
        fitted[name].get_feature_names_out(["x0", "x1"])
    with pytest.raises(NotFittedError, match="call fit"):
        HASHERS[name](16).get_feature_names_out()


@pytest.mark.parametrize("name", HASHERS)
def test_save_and_load_round_trip(name, fitted, tmp_path: Path):
    X, _ = _clusters(n_per_class=60)
    path = fitted[name].save(tmp_path / f"{name}.npz")
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.npz"], "a temp file was left behind"
    loaded = HASHERS[name].load(path)
    assert type(loaded) is HASHERS[name] and loaded.get_params() == fitted[name].get_params()
    np.testing.assert_array_equal(loaded.transform(X), fitted[name].transform(X))
    with np.load(path, allow_pickle=False) as archive:  # plain arrays only
        assert str(archive["name"]) == name and set(archive.files) == set(HASHERS[name].array_names())
    with pytest.raises(NotFittedError, match="call fit"):
        HASHERS[name](16).save(tmp_path / "unfitted.npz")
    with pytest.raises(ValueError, match=r"parameters were changed after fit .*; call fit\(X\) again"):
        clone(fitted[name]).fit(X).set_params(n_bits=32).save(tmp_path / "changed.npz")


def test_load_refuses_missing_corrupt_and_foreign_files(fitted, tmp_path: Path):
    with pytest.raises(DataNotFoundError, match=r"no saved ITQ at .*none\.npz; fit one again"):
        ITQ.load(tmp_path / "none.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match="cannot be read as a saved ITQ"):
        ITQ.load(garbage)
    lsh = fitted["lsh"].save(tmp_path / "lsh.npz")
    with pytest.raises(CorruptFileError, match=r"LSH state, not ITQ state; read it with RandomHyperplaneLSH\.load"):
        ITQ.load(lsh)
    arrays = fitted["itq"].to_arrays()
    del arrays["rotation_"]
    np.savez(partial := tmp_path / "partial.npz", **arrays)
    with pytest.raises(CorruptFileError, match=r"not a saved ITQ \(missing rotation_\)"):
        ITQ.load(partial)
    np.savez(wide := tmp_path / "wide.npz", **{**fitted["itq"].to_arrays(), "n_bits": np.int64(32)})
    with pytest.raises(CorruptFileError, match=r"projection_ is float64 \(20, 16\), but 32 bits from 20 dimensions"):
        ITQ.load(wide)


def test_hasher_registry_names_every_hasher_once():
    assert HASHERS == {"itq": ITQ, "lsh": RandomHyperplaneLSH, "pq": ProductQuantizer}
    assert hasher_class("pq") is ProductQuantizer and hasher_class("lsh", binary=True) is RandomHyperplaneLSH
    with pytest.raises(ValueError, match="unknown hasher 'sha256'; use one of 'itq', 'lsh', 'pq'"):
        hasher_class("sha256")
    with pytest.raises(ValueError, match="not binary codes.*use one of 'itq', 'lsh'"):
        hasher_class("pq", binary=True)
