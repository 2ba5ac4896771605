"""HammingIndex: add, search, save and load, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from doodlekit.errors import CorruptFileError, DataNotFoundError
from doodlekit.retrieval import HammingIndex, hamming_rank


def _codes(n: int, n_bytes: int = 8, seed: int = 0, values: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, values, size=(n, n_bytes), dtype=np.uint8)


@pytest.fixture
def index() -> HammingIndex:
    index = HammingIndex(64)
    index.add(_codes(50, seed=1, values=4), np.array(["cat", "dog"] * 25))
    index.add(_codes(30, seed=2, values=4), np.array(["banana"] * 30))
    return index


def test_search_returns_distances_ids_and_labels_like_hamming_rank(index):
    queries = _codes(5, seed=3, values=4)
    distances, ids, labels = index.search(queries, k=12)
    expected_distances, expected_rows = hamming_rank(queries, index.codes, 12)
    np.testing.assert_array_equal(distances, expected_distances)
    np.testing.assert_array_equal(ids, expected_rows)  # default ids number items in insertion order
    assert labels.shape == (5, 12) and labels.dtype.kind == "U"
    all_labels = np.array(["cat", "dog"] * 25 + ["banana"] * 30)
    np.testing.assert_array_equal(labels, all_labels[expected_rows])


def test_custom_ids_are_returned(index):
    tagged = HammingIndex(64)
    tagged.add(index.codes, index.labels, ids=np.arange(80) * 10 + 7)
    result = tagged.search(index.codes[:3], k=4)
    np.testing.assert_array_equal(result.ids, index.search(index.codes[:3], k=4).ids * 10 + 7)


def test_one_code_is_one_query(index):
    result = index.search(index.codes[17], k=3)
    assert result.ids.shape == (1, 3)
    assert result.distances[0, 0] == 0


def test_k_larger_than_the_index_returns_everything(index):
    result = index.search(_codes(2, seed=4), k=1000)
    assert result.ids.shape == (2, 80)
    assert sorted(result.ids[0].tolist()) == list(range(80))


def test_faiss_backend_gives_identical_results(index):
    queries = _codes(6, seed=5, values=4)
    for k in (1, 20, 80):
        got, expected = index.search(queries, k, backend="faiss"), index.search(queries, k)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_searching_after_adding_more_sees_the_new_items(index):
    code = np.full((1, 8), 0b1010_1010, dtype=np.uint8)
    index.search(code, 1)
    index.add(code, np.array(["new"]))
    result = index.search(code, 1)
    assert result.labels.tolist() == [["new"]] and result.ids.tolist() == [[80]]


def test_empty_index_says_to_add_first():
    with pytest.raises(ValueError, match="empty; add"):
        HammingIndex(32).search(_codes(1, 4), 5)


def test_code_width_mismatch_is_explained(index):
    with pytest.raises(ValueError, match="32-bit codes but this index holds 64-bit"):
        index.search(_codes(1, 4), 5)
    with pytest.raises(ValueError, match="same 64-bit hasher"):
        index.add(_codes(3, 16), np.zeros(3, int))


@pytest.mark.parametrize(
    ("labels", "ids", "message"),
    [
        (np.zeros(2, int), None, "one label per code"),
        (np.array([object()] * 3), None, "integers or strings"),
        (np.zeros(3, int), None, "either integer labels or string labels"),
        (np.array(["a", "b", "c"]), np.array([0, 1, 2]), "unique"),
        (np.array(["a", "b", "c"]), np.array([0.5, 1, 2]), "integer array"),
    ],
)
def test_bad_adds_are_rejected(index, labels, ids, message):
    with pytest.raises(ValueError, match=message):
        index.add(_codes(3), labels, ids)
    assert len(index) == 80


@pytest.mark.parametrize("labels", [np.array(["cat", "hot dog", "The Mona Lisa"] * 4), np.arange(12) % 5])
def test_save_load_round_trip(tmp_path, labels):
    index = HammingIndex(128)
    index.add(_codes(12, 16, seed=6), labels, ids=np.arange(12)[::-1])
    path = index.save(tmp_path / "gallery.npz")
    loaded = HammingIndex.load(path)
    assert loaded.n_bits == 128 and len(loaded) == 12
    np.testing.assert_array_equal(loaded.codes, index.codes)
    np.testing.assert_array_equal(loaded.labels, labels)
    assert loaded.labels.dtype == labels.dtype
    np.testing.assert_array_equal(loaded.search(index.codes[:2], 5).ids, index.search(index.codes[:2], 5).ids)
    assert [p.name for p in tmp_path.iterdir()] == ["gallery.npz"]  # no temp file left behind
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)


def test_save_replaces_an_existing_file(tmp_path, index):
    path = tmp_path / "index.npz"
    HammingIndex(64).save(path)
    index.save(path)
    assert len(HammingIndex.load(path)) == 80


def test_load_errors_say_what_to_do(tmp_path, index):
    with pytest.raises(DataNotFoundError, match="save"):
        HammingIndex.load(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match="rebuild"):
        HammingIndex.load(garbage)
    partial = tmp_path / "partial.npz"
    np.savez(partial, codes=index.codes)
    with pytest.raises(CorruptFileError, match="missing format_version"):
        HammingIndex.load(partial)


def test_load_never_unpickles(tmp_path, index):
    path = tmp_path / "pickled.npz"
    np.savez(
        path, format_version=1, n_bits=64, codes=index.codes, ids=index.ids, labels=np.array(index.labels, dtype=object)
    )
    with pytest.raises(CorruptFileError, match="rebuild"):
        HammingIndex.load(path)


def test_inconsistent_file_is_corrupt(tmp_path, index):
    path = tmp_path / "bad.npz"
    np.savez(path, format_version=1, n_bits=32, codes=index.codes, ids=index.ids, labels=index.labels)
    with pytest.raises(CorruptFileError, match="inconsistent"):
        HammingIndex.load(path)
