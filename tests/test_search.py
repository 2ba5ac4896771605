"""DoodleSearch (predictions, Hamming search, nearest meanings) and the notebooks' shared artefacts."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from doodlekit.apps import SINGLE_THREAD_QUERY, Answer, DoodleSearch
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError
from doodlekit.experiments import lessons
from doodlekit.model import Trained, embed, predict_proba
from doodlekit.retrieval import hamming_distances

#: A lesson small enough to train in seconds; test_pad.py uses the same one.
TINY = {
    "categories": ("cat", "dog", "car", "apple", "star", "circle"),
    "per_class": 150,
    "epochs": 2,
    "batch_size": 16,
    "num_threads": 1,
}


def tiny_artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One artefacts folder per test session, so the tiny model is trained once for all modules."""
    return tmp_path_factory.getbasetemp() / "doodlekit-artifacts"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Iterator[Path]:
    folder = tiny_artifacts_dir(tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(folder))
        yield folder


@pytest.fixture(scope="module")
def trained(store: Path) -> Trained:
    return lessons.trained(**TINY)


@pytest.fixture(scope="module")
def search(store: Path, trained: Trained) -> DoodleSearch:
    return lessons.doodle_search(**TINY)


@pytest.fixture(scope="module")
def queries(trained: Trained) -> tuple[np.ndarray, np.ndarray]:
    """Held-out validation bitmaps (N, 28, 28) uint8 and labels, not in the test-split gallery."""
    val = trained.dataset("val")
    return val.images, val.targets


def _same(a: Answer, b: Answer, exact: bool = True) -> None:
    """Equal answers; with ``exact=False`` floats may differ in the last bits (other batch shapes)."""
    assert a.labels == b.labels and a.neighbor_labels == b.neighbor_labels and a.meanings == b.meanings
    for name in ("neighbor_ids", "neighbor_distances", "thumbnails"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("probabilities", "meaning_scores"):
        if exact:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        else:
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-4, atol=1e-6)


def test_gallery_doodle_is_its_own_nearest(search: DoodleSearch) -> None:
    row = 7
    answer = search.answer(search.gallery[row], k=len(search.gallery))
    assert answer.neighbor_distances[0] == 0
    assert row in answer.neighbor_ids[answer.neighbor_distances == 0]
    assert np.all(np.diff(answer.neighbor_distances) >= 0)


def test_answer_agrees_with_model_index_and_label_vectors(search: DoodleSearch, queries: tuple) -> None:
    images, _ = queries
    image = images[3]
    answer = search.answer(image, top=5, k=6, meanings=4)
    probs = predict_proba(search.model, image[None])[0]
    order = np.argsort(-probs)[:5]
    assert answer.labels == tuple(search.categories[i] for i in order)
    np.testing.assert_allclose(answer.probabilities, probs[order], rtol=1e-5)
    assert np.all(np.diff(answer.probabilities) <= 0) and 0 < answer.probabilities.sum() <= 1 + 1e-6

    codes = search.hasher.transform(embed(search.model, image[None]))
    distances = hamming_distances(codes, search.index.codes)[0]
    np.testing.assert_array_equal(answer.neighbor_distances, distances[answer.neighbor_ids])
    assert answer.neighbor_distances.max() <= np.sort(distances)[5]
    assert answer.thumbnails.shape == (6, 28, 28) and answer.thumbnails.dtype == np.uint8
    np.testing.assert_array_equal(answer.thumbnails, search.gallery[answer.neighbor_ids])
    assert answer.neighbor_labels == tuple(search.categories[i] for i in search.index.labels[answer.neighbor_ids])

    z = embed(search.model, image[None])[0]
    cosines = search.label_vectors.vectors @ (z / np.linalg.norm(z))
    best = np.argsort(-cosines)[:4]
    assert answer.meanings == tuple(search.categories[i] for i in best)
    np.testing.assert_allclose(answer.meaning_scores, cosines[best], rtol=1e-4)


def test_retrieval_beats_chance_on_held_out_drawings(search: DoodleSearch, queries: tuple) -> None:
    images, labels = queries
    answers = search.query(images, k=10)
    names = np.asarray(search.categories)
    precision = np.mean([np.mean(np.asarray(a.neighbor_labels) == names[y]) for a, y in zip(answers, labels)])
    top1 = np.mean([a.labels[0] == names[y] for a, y in zip(answers, labels)])
    chance = 1 / len(names)
    assert precision > 2 * chance, f"precision@10 {precision:.2f} is not well above chance {chance:.2f}"
    assert top1 > 2 * chance, f"top-1 accuracy {top1:.2f} is not well above chance {chance:.2f}"


def test_query_many_matches_one_at_a_time(search: DoodleSearch, queries: tuple) -> None:
    images, _ = queries
    few = images[:3]
    for one, many in zip([search.answer(x) for x in few], search.query(few)):
        _same(one, many, exact=False)
    _same(search.answer(few[0].reshape(784)), search.answer(few[0]))
    many = np.concatenate([images, search.gallery])[: SINGLE_THREAD_QUERY + 1]  # the multi-threaded path
    _same(search.query(many)[-1], search.answer(many[-1]), exact=False)
    assert search.query(images[:0]) == []


def test_bad_inputs_say_what_to_pass(search: DoodleSearch, trained: Trained) -> None:
    with pytest.raises(ValueError, match=r"uint8"):
        search.answer(np.zeros((28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        search.query(np.zeros((2, 27, 27), dtype=np.uint8))
    gallery = search.gallery[:10]
    with pytest.raises(ValueError, match="integer labels"):
        DoodleSearch.build(trained, gallery, np.full(10, 99))
    with pytest.raises(ValueError, match="integer labels"):
        DoodleSearch.build(trained, gallery, np.zeros(9, dtype=np.int64))
    with pytest.raises(ValueError, match="unknown hasher 'sha256'; use one of 'itq', 'lsh', 'pq'"):
        DoodleSearch.build(trained, gallery, np.zeros(10, dtype=np.int64), hasher="sha256")
    with pytest.raises(ValueError, match="'pq' .*not binary codes.*use one of 'itq', 'lsh'"):
        DoodleSearch.build(trained, gallery, np.zeros(10, dtype=np.int64), hasher="pq")


def test_save_and_load_give_the_same_answers(search: DoodleSearch, trained: Trained, tmp_path: Path) -> None:
    lsh = DoodleSearch.build(trained, search.gallery, search.index.labels, n_bits=32, hasher="lsh", which="features")
    path = lsh.save(tmp_path / "lsh.npz")
    assert not [p for p in tmp_path.iterdir() if p != path], "a temp file was left behind"
    loaded = DoodleSearch.load(path, trained)
    assert repr(loaded) == repr(lsh) and "32-bit RandomHyperplaneLSH codes of the features" in repr(loaded)
    for image in search.gallery[:3]:
        _same(loaded.answer(image), lsh.answer(image))
    assert loaded.hasher.get_params() == lsh.hasher.get_params() == {"n_bits": 32, "random_state": 0}


def test_save_stores_the_hasher_through_its_own_state(search: DoodleSearch, trained: Trained, tmp_path: Path) -> None:
    path = search.save(tmp_path / "search.npz")
    with np.load(path, allow_pickle=False) as archive:
        for name, array in search.hasher.to_arrays().items():
            np.testing.assert_array_equal(archive[f"hasher.{name}"], array)
    loaded = DoodleSearch.load(path, trained)
    assert type(loaded.hasher) is type(search.hasher) and loaded.hasher.get_params() == search.hasher.get_params()
    np.testing.assert_array_equal(loaded.hasher.transform(embed(trained.model, search.gallery[:20], search.which)),
                                  search.index.codes[:20])


def test_load_refuses_missing_corrupt_and_mismatched_files(
    search: DoodleSearch, trained: Trained, tmp_path: Path
) -> None:
    with pytest.raises(DataNotFoundError, match="DoodleSearch.build"):
        DoodleSearch.load(tmp_path / "none.npz", trained)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match="build the search again"):
        DoodleSearch.load(garbage, trained)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, codes=np.zeros((2, 8), np.uint8))
    with pytest.raises(CorruptFileError, match=r"not a doodle search file \(missing"):
        DoodleSearch.load(foreign, trained)
    path = search.save(tmp_path / "search.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = dict(archive)
    np.savez(as_pq := tmp_path / "pq.npz", **{**arrays, "hasher.name": np.str_("pq")})
    with pytest.raises(CorruptFileError, match=r"inconsistent doodle search \(hasher 'pq' .*not binary codes"):
        DoodleSearch.load(as_pq, trained)
    np.savez(narrow := tmp_path / "narrow.npz", **{**arrays, "hasher.n_bits": np.int64(32)})
    with pytest.raises(CorruptFileError, match=r"inconsistent doodle search \(projection_ .* need float"):
        DoodleSearch.load(narrow, trained)
    old = {key: value for key, value in arrays.items() if not key.startswith("hasher.")}
    old.update(format=np.str_("doodlekit-search-1"), hasher=np.str_("itq"), mean=search.hasher.mean_,
               projection=search.hasher.projection_)
    np.savez(before := tmp_path / "before.npz", **old)  # written by the doodlekit before hashers saved themselves
    with pytest.raises(CorruptFileError, match="build the search again"):
        DoodleSearch.load(before, trained)
    other = copy.deepcopy(trained)
    with torch.no_grad():
        next(other.model.parameters()).add_(0.01)
    with pytest.raises(CheckpointMismatchError, match="another model"):
        DoodleSearch.load(path, other)


def test_artifacts_are_loaded_with_the_same_numbers(store: Path, trained: Trained, search: DoodleSearch) -> None:
    files = sorted(store.iterdir())
    stamps = [p.stat().st_mtime_ns for p in files]
    again = lessons.trained(**TINY)
    assert again.history.records == trained.history.records and again.categories == list(TINY["categories"])
    for (name, a), (_, b) in zip(trained.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name
    reloaded = lessons.doodle_search(**TINY)
    _same(reloaded.answer(search.gallery[0]), search.answer(search.gallery[0]))
    assert [p.stat().st_mtime_ns for p in sorted(store.iterdir())] == stamps, "loading rewrote files"
    assert {p.suffix for p in files} == {".pt", ".json", ".npz"}


def test_damaged_search_file_is_rebuilt_identically(store: Path, search: DoodleSearch) -> None:
    (path,) = store.glob("*-search.npz")
    path.write_bytes(b"damaged")
    rebuilt = lessons.doodle_search(**TINY)
    _same(rebuilt.answer(search.gallery[1]), search.answer(search.gallery[1]))


def test_other_settings_make_other_files(store: Path) -> None:
    assert lessons._stem(lessons._recipe("adaptive_margin", TINY)) != lessons._stem(
        lessons._recipe("adaptive_margin", {**TINY, "epochs": 3})
    )
    with pytest.raises(ValueError, match="unknown lesson settings: colour"):
        lessons.trained(colour="red")


def test_artifacts_dir_defaults_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lessons.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert lessons.artifacts_dir() == tmp_path / "artifacts"
    monkeypatch.setenv(lessons.ENV_VAR, os.fspath(tmp_path / "elsewhere"))
    assert lessons.artifacts_dir() == tmp_path / "elsewhere"
