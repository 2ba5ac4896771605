"""DVSQ's quantizer: the kit's loss, codebook update and ICM against a port of DeepHash's, and AQD search.

The port follows ``DeepHash/model/dvsq/dvsq.py`` of thulab/DeepHash (line numbers of that file):
the loss ``cq_loss_img`` (lines 252-257), ``update_centers`` (313-340), ``update_codes_ICM``
(342-370) with its TensorFlow graph (92-119), and ``initial_centers`` (300-311). TensorFlow ops
become torch ops one for one; C is (M K, D) and codes are one-hot (N, M K), as there.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from doodlekit import plotting
from doodlekit.apps import DoodleSearch
from doodlekit.errors import CorruptFileError
from doodlekit.experiments import lessons
from doodlekit.model import (
    fit_codebooks,
    icm_encode,
    init_codebooks,
    label_metric,
    quantization_loss,
    reconstruct,
    update_codebooks,
)
from doodlekit.retrieval import (
    ITQ,
    AQDResult,
    QuantizedIndex,
    VisualSemanticQuantizer,
    aqd_rank,
    aqd_scores,
)

# ---- the port of DeepHash's DVSQ (thulab/DeepHash, DeepHash/model/dvsq/dvsq.py) ----


def port_cq_loss(img_last_layer: torch.Tensor, b_img: torch.Tensor, C: torch.Tensor,
                 word_dict: torch.Tensor) -> torch.Tensor:
    """Lines 254-257: reduce_mean(reduce_sum(square(matmul(img_last_layer - matmul(b_img, C), word_dict^T)), 1))."""
    return torch.mean(torch.sum(torch.square(torch.matmul(
        torch.subtract(img_last_layer, torch.matmul(b_img, C)), torch.transpose(word_dict, 0, 1))), 1))


def port_update_centers(img_output: np.ndarray, codes: np.ndarray, old_C: np.ndarray) -> np.ndarray:
    """Lines 321-340: C = inv(h^T h + 0.001 I) (h^T U); all-zero rows keep their old value."""
    h, U = codes, img_output
    small_residual = np.eye(h.shape[1]) * 0.001
    Uh = h.T @ U
    hh = h.T @ h + small_residual
    C_value = np.linalg.inv(hh) @ Uh
    C_sums = np.sum(np.square(C_value), axis=1)
    C_zeros_ids = np.where(C_sums < 1e-8)
    C_value[C_zeros_ids, :] = old_C[C_zeros_ids, :]
    return C_value


def port_icm(output: np.ndarray, C: np.ndarray, word_dict: np.ndarray, subspace_num: int, subcenter_num: int,
             orders: list[np.ndarray]) -> np.ndarray:
    """Lines 354-370 with the graph of lines 99-119; ``orders`` replaces ``random.shuffle(sub_list)``."""
    code = np.zeros((output.shape[0], subspace_num * subcenter_num))
    for sub_list in orders:  # range(max_iter_update_b)
        for m in sub_list:
            ICM_b_m = code[:, m * subcenter_num: (m + 1) * subcenter_num]
            ICM_C_m = C[m * subcenter_num: (m + 1) * subcenter_num]
            ICM_X_residual = output - code @ C + ICM_b_m @ ICM_C_m
            ICM_X_expand = ICM_X_residual[:, None, :]
            ICM_C_m_expand = ICM_C_m[None, :, :]
            ICM_word_dict = ((ICM_X_expand - ICM_C_m_expand).reshape(-1, output.shape[1]) @ word_dict.T).reshape(
                output.shape[0], subcenter_num, word_dict.shape[0])
            ICM_sum_squares = np.sum(np.square(ICM_word_dict), axis=2)
            ICM_best_centers = np.argmin(ICM_sum_squares, 1)
            code[:, m * subcenter_num: (m + 1) * subcenter_num] = np.eye(subcenter_num)[ICM_best_centers]
    return code


def port_initial_center_blocks(output_dim: int, subspace_num: int) -> list[slice]:
    """Lines 305-309: codebook i lives on columns i * div : (i + 1) * div, div = output_dim // subspace_num."""
    div = int(output_dim / subspace_num)
    return [slice(i * div, (i + 1) * div) for i in range(subspace_num)]


# ---- helpers ----


def _one_hot(codes: np.ndarray, n_codewords: int) -> np.ndarray:
    """(N, M) ids -> DeepHash's (N, M K) one-hot codes."""
    eye = np.eye(n_codewords)
    return np.concatenate([eye[codes[:, m]] for m in range(codes.shape[1])], axis=1)


def _problem(seed: int, n: int = 60, dim: int = 6, n_labels: int = 4, m: int = 3, k: int = 5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim))
    V = rng.standard_normal((n_labels, dim))
    C = rng.standard_normal((m, k, dim))
    codes = rng.integers(0, k, size=(n, m))
    return X, V, C, codes


def _orders(seed: int, m: int, n_iter: int) -> list[np.ndarray]:
    """The codebook orders the kit's ICM draws for ``seed``."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(m) for _ in range(n_iter)]


# ---- kit against port ----


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantization_loss_matches_deephash_value_and_gradient(seed: int) -> None:
    X, V, C, codes = _problem(seed)
    z = torch.tensor(X, requires_grad=True)
    z_port = torch.tensor(X, requires_grad=True)
    vectors = torch.tensor(V)
    kit = quantization_loss(z, torch.tensor(reconstruct(codes, C)), vectors)
    port = port_cq_loss(z_port, torch.tensor(_one_hot(codes, C.shape[1])), torch.tensor(C.reshape(-1, X.shape[1])),
                        vectors)
    torch.testing.assert_close(kit, port, rtol=1e-12, atol=0)
    (grad,), (grad_port,) = torch.autograd.grad(kit, z), torch.autograd.grad(port, z_port)
    torch.testing.assert_close(grad, grad_port, rtol=1e-12, atol=1e-15)
    # and the closed form: d/dz mean ||V (z - Cb)||^2 = 2 / N (z - Cb) V^T V
    np.testing.assert_allclose(grad.numpy(), 2 / len(X) * (X - reconstruct(codes, C)) @ V.T @ V, rtol=1e-10)
    assert port.item() > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_codebook_update_matches_deephash(seed: int) -> None:
    X, _, C, codes = _problem(seed, k=30)  # 60 items, 30 codewords: some unused, kept as they were
    kit = update_codebooks(X, codes, C)
    port = port_update_centers(X, _one_hot(codes, C.shape[1]), C.reshape(-1, X.shape[1]))
    np.testing.assert_allclose(kit.reshape(-1, X.shape[1]), port, rtol=1e-7, atol=1e-10)  # inv vs solve
    unused = np.array([[w not in codes[:, m] for w in range(C.shape[1])] for m in range(C.shape[0])])
    assert unused.any() and np.array_equal(kit[unused], C[unused])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_iter", [1, 3])
def test_icm_matches_deephash(seed: int, n_iter: int) -> None:
    X, V, C, _ = _problem(seed)
    kit = icm_encode(X, C, label_metric(V, X.shape[1]), n_iter=n_iter, seed=seed)
    port = port_icm(X, C.reshape(-1, X.shape[1]), V, C.shape[0], C.shape[1], _orders(seed, C.shape[0], n_iter))
    np.testing.assert_array_equal(_one_hot(kit, C.shape[1]), port)
    assert kit.dtype == np.uint8 and len(np.unique(kit[:, 0])) > 1


def test_icm_lowers_the_label_weighted_error_each_sweep() -> None:
    X, V, C, _ = _problem(3, n=200, k=8)
    W = label_metric(V, X.shape[1])

    def error(codes: np.ndarray) -> float:
        residual = X - reconstruct(codes, C)
        return float(np.einsum("nd,de,ne->", residual, W, residual))

    errors = [error(icm_encode(X, C, W, n_iter=n, seed=0)) for n in (1, 2, 3)]
    assert errors[0] >= errors[1] >= errors[2]


def test_kmeans_initialisation_is_block_diagonal_like_deephash() -> None:
    X = np.random.default_rng(0).standard_normal((300, 8))
    codebooks = init_codebooks(X, 4, n_codewords=16, seed=0)
    for m, block in enumerate(port_initial_center_blocks(8, 4)):  # 8 % 4 == 0: DeepHash's blocks exactly
        outside = np.delete(codebooks[m], np.arange(8)[block], axis=1)
        assert np.all(outside == 0) and np.all(np.abs(codebooks[m][:, block]).sum(axis=1) > 0)
    np.testing.assert_array_equal(codebooks, init_codebooks(X, 4, n_codewords=16, seed=0))
    uneven = init_codebooks(np.random.default_rng(1).standard_normal((300, 7)), 2, n_codewords=16)
    assert (uneven[0][:, 4:] == 0).all() and (uneven[1][:, :4] == 0).all()  # array_split covers all 7 columns


def test_fitting_rounds_lower_the_error() -> None:
    X, V, _, _ = _problem(4, n=400, dim=8, k=16)
    W = label_metric(V, 8)
    start = init_codebooks(X, 2, n_codewords=16)

    def error(codebooks: np.ndarray, codes: np.ndarray) -> float:
        residual = X - reconstruct(codes, codebooks)
        return float(np.einsum("nd,de,ne->", residual, W, residual))

    errors = [error(*fit_codebooks(X, W, start, n_rounds=r)) for r in (0, 3)]
    assert errors[1] < errors[0]


def test_codebook_functions_refuse_bad_input() -> None:
    X, V, C, codes = _problem(0)
    with pytest.raises(ValueError, match="label_vectors must be a finite"):
        label_metric(V[:, :3], X.shape[1])
    with pytest.raises(ValueError, match="codes must be"):
        update_codebooks(X, codes[:, :2], C)
    with pytest.raises(ValueError, match="codebooks must be a"):
        icm_encode(X, C[..., :3], label_metric(V, X.shape[1]))
    with pytest.raises(ValueError, match="n_iter must be a positive integer"):
        icm_encode(X, C, label_metric(V, X.shape[1]), n_iter=0)
    with pytest.raises(ValueError, match="needs at least 256 rows"):
        init_codebooks(X, 2)


# ---- the estimator ----


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 12))
    labels = np.repeat(np.arange(6), 100)
    X = centres[labels] + 0.4 * rng.standard_normal((600, 12))
    return X, labels, centres


@pytest.fixture(scope="module")
def fitted(data):
    X, _, centres = data
    return VisualSemanticQuantizer(16, random_state=0).fit(X, label_vectors=centres)


def test_quantizer_codes_and_reconstructs(data, fitted) -> None:
    X, labels, centres = data
    codes = fitted.transform(X)
    assert codes.shape == (600, 2) and codes.dtype == np.uint8
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    W = fitted.metric_
    residual = unit - fitted.decode(codes)
    assert np.einsum("nd,de,ne->n", residual, W, residual).mean() < 0.1 * np.einsum("nd,de,nd->n", unit, W, unit).mean()
    np.testing.assert_array_equal(codes, VisualSemanticQuantizer(16, random_state=0).fit(X, label_vectors=centres)
                                  .transform(X))
    assert list(fitted.get_feature_names_out()) == [f"visualsemanticquantizer_codebook{m}" for m in (0, 1)]
    scores, rows = fitted.search(X[:20], codes, 10)
    assert (labels[rows] == labels[:20, None]).mean() > 0.9


def test_quantizer_is_a_scikit_learn_estimator(data, fitted) -> None:
    X, _, centres = data
    assert clone(fitted).get_params() == {"n_bits": 16, "n_rounds": 2, "random_state": 0}
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(X[:5]), fitted.transform(X[:5]))
    with pytest.raises(NotFittedError, match="call fit"):
        VisualSemanticQuantizer(16).transform(X)
    with pytest.raises(ValueError, match="n_bits must be a positive multiple of 8"):
        VisualSemanticQuantizer(12).fit(X)
    with pytest.raises(ValueError, match="n_rounds must be a non-negative integer"):
        VisualSemanticQuantizer(16, n_rounds=-1).fit(X)
    with pytest.raises(ValueError, match="was fitted on 12"):
        fitted.transform(X[:, :5])
    with pytest.raises(ValueError, match="label_vectors must be a finite"):
        VisualSemanticQuantizer(16).fit(X, label_vectors=centres[:, :4])
    with pytest.raises(ValueError, match="this quantizer makes 2-byte codes"):
        fitted.search(X[:2], np.zeros((5, 3), np.uint8), 2)


def test_from_codebooks_gives_the_same_quantizer(data, fitted) -> None:
    X, _, centres = data
    rebuilt = VisualSemanticQuantizer.from_codebooks(fitted.codebooks_, centres)
    np.testing.assert_allclose(rebuilt.metric_, fitted.metric_)
    np.testing.assert_array_equal(rebuilt.transform(X), fitted.transform(X))
    with pytest.raises(ValueError, match="codebooks must be"):
        VisualSemanticQuantizer.from_codebooks(np.zeros((2, 10, 12)))


def test_quantizer_save_load_round_trip(data, fitted, tmp_path: Path) -> None:
    X, _, _ = data
    loaded = VisualSemanticQuantizer.load(fitted.save(tmp_path / "q.npz"))
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.codebooks_, fitted.codebooks_)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    ITQ(16).fit(X).save(tmp_path / "itq.npz")
    with pytest.raises(CorruptFileError, match="it holds ITQ state"):
        VisualSemanticQuantizer.load(tmp_path / "itq.npz")
    with pytest.raises(CorruptFileError, match="names hasher 'dvsq'"):
        ITQ.load(tmp_path / "q.npz")


# ---- AQD search ----


def _brute_force(tables: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.stack([sum(tables[q, m, codes[:, m]] for m in range(codes.shape[1])) for q in range(len(tables))])
    order = np.stack([np.lexsort((np.arange(codes.shape[0]), -row))[:k] for row in scores])
    return np.take_along_axis(scores, order, axis=1), order


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(("n", "k"), [(1, 1), (50, 7), (500, 100), (300, 300), (40, 1000)])
def test_aqd_rank_matches_brute_force_ties_by_position(compiled: bool, n: int, k: int) -> None:
    rng = np.random.default_rng(n + k)
    tables = rng.integers(0, 4, size=(6, 3, 8)).astype(np.float64)  # few distinct sums: many ties
    codes = rng.integers(0, 8, size=(n, 3), dtype=np.uint8)
    scores, rows = aqd_rank(tables, codes, k, compiled=compiled)
    want_scores, want_rows = _brute_force(tables, codes, min(k, n))
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(scores, want_scores)
    np.testing.assert_array_equal(np.take_along_axis(aqd_scores(tables, codes), rows, axis=1), scores)


def test_aqd_rank_of_float_tables_matches_brute_force(data, fitted) -> None:
    X, _, _ = data
    codes = fitted.transform(X)
    tables = fitted.lookup_tables(X[:30])
    for compiled in (True, False):
        scores, rows = aqd_rank(tables, codes, 25, compiled=compiled)
        want_scores, want_rows = _brute_force(tables, codes, 25)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-12)
    np.testing.assert_allclose(aqd_scores(tables, codes), (X[:30] / np.linalg.norm(X[:30], axis=1, keepdims=True))
                               @ fitted.decode(codes).T, rtol=1e-9, atol=1e-12)


def test_aqd_rank_refuses_bad_input() -> None:
    tables = np.zeros((2, 3, 8))
    with pytest.raises(ValueError, match="one table per code byte"):
        aqd_rank(tables, np.zeros((4, 2), np.uint8), 2)
    with pytest.raises(ValueError, match="codeword id 9 but the tables have 8"):
        aqd_rank(tables, np.full((4, 3), 9, np.uint8), 2)
    with pytest.raises(ValueError, match="nothing to rank"):
        aqd_rank(tables, np.zeros((0, 3), np.uint8), 2)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        aqd_rank(tables, np.zeros((4, 3), np.uint8), 0)
    with pytest.raises(ValueError, match="2-D uint8"):
        aqd_rank(tables, np.zeros((4, 3), np.int64), 2)


def test_quantized_index_searches_saves_and_loads(data, fitted, tmp_path: Path) -> None:
    X, labels, _ = data
    index = QuantizedIndex(fitted)
    index.add(fitted.transform(X), labels, ids=np.arange(600) + 1000)
    found = index.search(X[:4], k=5)
    assert isinstance(found, AQDResult) and found.distances.shape == (4, 5)
    scores, rows = fitted.search(X[:4], index.codes, 5)
    np.testing.assert_array_equal(found.ids, rows + 1000)
    np.testing.assert_array_equal(found.distances, 1 - scores)
    assert (np.diff(found.distances, axis=1) >= 0).all()
    one = index.search(X[0], k=5)
    np.testing.assert_array_equal(one.ids[0], found.ids[0])
    loaded = QuantizedIndex.load(index.save(tmp_path / "aqd.npz"))
    assert len(loaded) == 600 and repr(loaded) == "QuantizedIndex(n_bits=16, size=600)"
    np.testing.assert_array_equal(loaded.search(X[:4], k=5).ids, found.ids)
    with pytest.raises(ValueError, match="the index is empty"):
        QuantizedIndex(fitted).search(X[:1])
    with pytest.raises(ValueError, match="16-bit codes"):
        index.add(np.zeros((2, 3), np.uint8), np.zeros(2, int))
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    with pytest.raises(CorruptFileError):
        QuantizedIndex.load(tmp_path / "bad.npz")


@pytest.mark.usefixtures("mirror")
def test_doodle_search_with_the_jointly_learnt_quantizer(tmp_path: Path) -> None:
    """DoodleSearch(hasher="dvsq") on the shipped lesson model: its own codebooks, AQD, save and load."""
    run = lessons.trained("dvsq")
    assert run.codebooks is not None and run.codebooks.shape == (4, 256, run.label_vectors.dim)
    gallery = run.dataset("train")
    search = DoodleSearch.build(run, gallery.images, gallery.targets, n_bits=32, hasher="dvsq")
    assert isinstance(search.index, QuantizedIndex)
    np.testing.assert_array_equal(search.hasher.codebooks_, run.codebooks)  # the learnt ones, not refitted
    test = run.dataset("test")
    queries, truth = test.images[::15], np.asarray(run.categories)[test.targets[::15]]  # 2 per class
    answers = search.query(queries, k=5)
    assert all(np.all(np.diff(a.neighbor_distances) >= 0) for a in answers)
    precision = np.mean([[label == true for label in a.neighbor_labels] for a, true in zip(answers, truth)])
    assert precision > 0.5  # chance: 1/15
    loaded = DoodleSearch.load(search.save(tmp_path / "search.npz"), run)
    again = loaded.query(queries, k=5)
    assert all(np.array_equal(a.neighbor_ids, b.neighbor_ids) for a, b in zip(answers, again, strict=True))
    fitted = DoodleSearch.build(run, gallery.images, gallery.targets, n_bits=16, hasher="dvsq")  # no 16-bit codebooks
    assert fitted.hasher.n_bits == 16 and len(fitted.answer(queries[0], k=3).neighbor_ids) == 3


def test_quantizer_figures() -> None:
    toy = np.random.default_rng(0).standard_normal((100, 2))
    codebooks = init_codebooks(toy, 2, n_codewords=4)
    fig = plotting.codebook_picture(toy, codebooks, icm_encode(toy, codebooks, np.eye(2)))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sum of two codewords", "codebook 1's codewords", "codebook 2's codewords"]
    assert ax.get_title() == "4 + 4 codewords, 16 reconstructions"
    with pytest.raises(ValueError, match="need \\(N, 2\\) points"):
        plotting.codebook_picture(np.zeros((5, 3)), codebooks, np.zeros((5, 2), int))
    curves = {"adaptive_margin": {"ITQ": {8: 0.5, 16: 0.6}, "PQ": {8: 0.7, 16: None}},
              "dvsq": {"ITQ": {8: 0.4, 16: 0.6}, "DVSQ joint": {16: 0.65}}}
    fig = plotting.coder_bits_figure(curves, {"adaptive_margin": 0.7}, ylabel="mAP@100")
    assert [ax.get_title() for ax in fig.axes] == ["adaptive margin", "adaptive margin + joint quantizer"]
    assert list(fig.axes[0].get_xticks()) == [8, 16]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["ITQ", "DVSQ joint"]
    renderer = fig.canvas.get_renderer()  # the legend lies within the figure, right of both panels
    box = legend.get_window_extent(renderer)
    assert box.x1 <= fig.bbox.x1 and all(box.x0 >= ax.get_window_extent(renderer).x1 for ax in fig.axes)
    assert len(fig.axes[0].lines[1].get_xdata()) == 1  # a width not measured is left out
