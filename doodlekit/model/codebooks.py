"""Learning DVSQ's codebooks (Cao, Long, Wang and Liu, CVPR 2017): the quantization loss, k-means
initialisation, the closed-form codebook update and ICM encoding.

An item's embedding ``z`` (D,) is approximated by the sum of one codeword from each of M codebooks,
``C b = sum_m C[m, b_m]``, with ``C`` (M, K, D) and its code ``b`` (M,) in ``[0, K)`` (K = 256: one
byte per codebook). The error counts only through the label vectors ``V`` (rows ``v_c``, (L, D)):
``||V (z - C b)||^2 = sum_c (v_c . (z - C b))^2``, the squared errors of the inner products that
semantic search ranks by. ``W = V^T V`` (D, D) is that metric (:func:`label_metric`).

Faithful to ``DeepHash/model/dvsq/dvsq.py`` (thulab/DeepHash): codebooks span the whole space and
start block-diagonal, from k-means on M sub-spaces; the update is least squares with a 0.001 ridge,
keeping a codeword that comes out all-zero (unused); ICM starts with no codeword chosen and visits
the codebooks in a random order, ``n_iter`` times. Here the order comes from a seeded generator,
sub-spaces split the D dimensions as evenly as ``np.array_split`` does (DeepHash drops the last
``D % M`` dimensions), and k-means is scikit-learn's seeded ``KMeans``, not ``MiniBatchKMeans``.
The retrieval side (an estimator and asymmetric search) is :mod:`doodlekit.retrieval.quantization`.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse

#: Codewords per codebook (one byte of code each).
N_CODEWORDS = 256
#: Ridge added to the codebook update's normal equations (DeepHash's ``smallResidual``).
RIDGE = 1e-3
#: ICM sweeps over the codebooks per encoding (DeepHash's ``max_iter_update_b``).
ICM_ITERATIONS = 3
#: Rows encoded at a time (bounds the (rows, K) score matrix).
_ROWS_PER_CHUNK = 16_384


def quantization_loss(
    embedding: torch.Tensor, reconstruction: torch.Tensor, label_vectors: torch.Tensor
) -> torch.Tensor:
    """DVSQ's quantization loss: the batch mean of ``||V (z - C b)||^2``.

    Args:
        embedding: (N, D) float embeddings ``z``.
        reconstruction: (N, D) their quantized approximations ``C b`` (held fixed by the caller).
        label_vectors: (L, D) label vectors ``V``, used as given.

    Returns:
        A scalar tensor.
    """
    return ((embedding - reconstruction) @ label_vectors.T).square().sum(dim=1).mean()


def label_metric(label_vectors: np.ndarray | None, dim: int) -> np.ndarray:
    """``W = V^T V`` (D, D) float64 of label vectors (L, D); the identity (plain squared error) for None."""
    if label_vectors is None:
        return np.eye(dim)
    vectors = np.asarray(label_vectors, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[1] != dim or not np.isfinite(vectors).all():
        raise ValueError(
            f"label_vectors must be a finite (L, {dim}) array, one row per label in the embedding's space, "
            f"got shape {vectors.shape}"
        )
    return vectors.T @ vectors


def _check_codebooks(codebooks: np.ndarray, dim: int | None = None) -> np.ndarray:
    codebooks = np.asarray(codebooks, dtype=np.float64)
    if codebooks.ndim != 3 or codebooks.shape[0] < 1 or codebooks.shape[1] < 1 or (
            dim is not None and codebooks.shape[2] != dim):
        raise ValueError(
            f"codebooks must be a (M, K, D) array{'' if dim is None else f' with D = {dim}'}, got shape "
            f"{codebooks.shape}; make them with init_codebooks()"
        )
    return codebooks


def init_codebooks(X: np.ndarray, n_codebooks: int, n_codewords: int = N_CODEWORDS, seed: int = 0) -> np.ndarray:
    """Codebooks (M, K, D) float64 from k-means on M sub-spaces of X (N >= K, D >= M).

    Codebook m is zero outside its sub-space (the m-th of ``np.array_split(range(D), M)``) and
    holds there the K centroids of k-means on X's columns of that sub-space, seeded by ``seed``.
    """
    from sklearn.cluster import KMeans  # here: searching with learnt codebooks never loads it

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < n_codewords or X.shape[1] < n_codebooks or n_codebooks < 1:
        raise ValueError(
            f"k-means initialisation of {n_codebooks} codebooks of {n_codewords} codewords needs at least "
            f"{n_codewords} rows and {n_codebooks} columns, got X of shape {X.shape}"
        )
    codebooks = np.zeros((n_codebooks, n_codewords, X.shape[1]))
    for m, columns in enumerate(np.array_split(np.arange(X.shape[1]), n_codebooks)):
        kmeans = KMeans(n_clusters=n_codewords, n_init=1, max_iter=50, random_state=seed + m)
        codebooks[m][:, columns] = kmeans.fit(X[:, columns]).cluster_centers_
    return codebooks


def reconstruct(codes: np.ndarray, codebooks: np.ndarray) -> np.ndarray:
    """``C b`` (N, D) float64: the sum over m of codeword ``codes[:, m]`` of codebook m."""
    codebooks = _check_codebooks(codebooks)
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != codebooks.shape[0]:
        raise ValueError(f"codes must be (N, {codebooks.shape[0]}), one codeword id per codebook; got {codes.shape}")
    out = np.zeros((codes.shape[0], codebooks.shape[2]))
    for m in range(codebooks.shape[0]):
        out += codebooks[m][codes[:, m]]
    return out


def update_codebooks(X: np.ndarray, codes: np.ndarray, codebooks: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """The closed-form codebook update: ``C = (B^T B + ridge I)^-1 B^T X``, B the (N, M K) one-hot codes.

    It minimises ``||X - B C||^2 + ridge ||C||^2``, which also minimises the label-weighted error for
    any ``W`` (the normal equations differ only by the factor W on the right). A codeword that comes
    out all-zero (used by no item) keeps its value from ``codebooks`` (M, K, D), as in DeepHash.

    Returns:
        New codebooks (M, K, D) float64.
    """
    X = np.asarray(X, dtype=np.float64)
    codebooks = _check_codebooks(codebooks, X.shape[1])
    n_codebooks, n_codewords, dim = codebooks.shape
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape != (X.shape[0], n_codebooks) or codes.min(initial=0) < 0 or codes.max(initial=0) >= n_codewords:
        raise ValueError(f"codes must be (N, {n_codebooks}) ids in [0, {n_codewords}) for X (N, D), got {codes.shape}")
    columns = (codes + np.arange(n_codebooks) * n_codewords).ravel()
    rows = np.repeat(np.arange(X.shape[0]), n_codebooks)
    one_hot = sparse.csr_matrix((np.ones(columns.size), (rows, columns)), shape=(X.shape[0], n_codebooks * n_codewords))
    gram = (one_hot.T @ one_hot).toarray() + ridge * np.eye(n_codebooks * n_codewords)
    solved = np.linalg.solve(gram, one_hot.T @ X).reshape(n_codebooks, n_codewords, dim)
    unused = (solved**2).sum(axis=-1) < 1e-8
    solved[unused] = codebooks[unused]
    return solved


def icm_encode(
    X: np.ndarray, codebooks: np.ndarray, metric: np.ndarray, n_iter: int = ICM_ITERATIONS, seed: int = 0
) -> np.ndarray:
    """Codes (N, M) uint8 of X (N, D) by iterated conditional modes under ``metric`` W (D, D).

    Starting with no codeword chosen, each sweep visits the codebooks in a random order (seeded)
    and gives every item, for codebook m, the codeword c minimising ``(r - c)^T W (r - c)``, r = the
    item minus its other chosen codewords; ties go to the lowest codeword id.
    """
    X = np.asarray(X, dtype=np.float64)
    codebooks = _check_codebooks(codebooks, X.shape[1])
    n_codebooks, n_codewords, _ = codebooks.shape
    if n_codewords > 256:
        raise ValueError(f"codes are bytes, so at most 256 codewords per codebook, got {n_codewords}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer (ICM sweeps), got {n_iter!r}")
    rng = np.random.default_rng(seed)
    projected = codebooks @ metric  # (M, K, D): W c for every codeword
    norms = np.einsum("mkd,mkd->mk", projected, codebooks)  # c^T W c
    codes = np.zeros((X.shape[0], n_codebooks), dtype=np.uint8)
    chosen = np.zeros(n_codebooks, dtype=bool)
    approximation = np.zeros_like(X)
    for _ in range(n_iter):
        for m in rng.permutation(n_codebooks):
            if chosen[m]:
                approximation -= codebooks[m][codes[:, m]]
            residual = X - approximation
            for start in range(0, X.shape[0], _ROWS_PER_CHUNK):
                block = residual[start : start + _ROWS_PER_CHUNK]
                codes[start : start + _ROWS_PER_CHUNK, m] = np.argmin(norms[m] - 2 * block @ projected[m].T, axis=1)
            approximation += codebooks[m][codes[:, m]]
            chosen[m] = True
    return codes


def fit_codebooks(
    X: np.ndarray, metric: np.ndarray, codebooks: np.ndarray, n_rounds: int = 1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n_rounds`` alternations of ICM codes and the codebook update from ``codebooks`` (M, K, D).

    Returns:
        (codebooks (M, K, D) float64, codes (N, M) uint8 of X under the returned codebooks).
    """
    for round_ in range(n_rounds):
        codebooks = update_codebooks(X, icm_encode(X, codebooks, metric, seed=seed + round_), codebooks)
    return codebooks, icm_encode(X, codebooks, metric, seed=seed + n_rounds)
