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
with pure numpy; ``compiled=`` picks one explicitly. The "faiss" backend uses IndexBinaryFlat."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from doodlekit.retrieval.arrays import (
    CELLS_PER_BLOCK,
    check_codes,
    check_embeddings,
    check_k,
    check_n_bits,
    import_faiss,
    smallest_k,
    unit_rows,
)
from doodlekit.retrieval.hamming import check_nonempty, pack_bits

#: Rows projected at a time when hashing, so 1M x 300 float64 never sits in memory at once.
_ROWS_PER_CHUNK = 65_536


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
        X = check_embeddings(X)
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
        X = check_embeddings(X)
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
        X = check_embeddings(X)
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
        k = min(check_k(k), check_nonempty(db_codes))
        distances = np.empty((queries.shape[0], k), dtype=np.float32)
        indices = np.empty((queries.shape[0], k), dtype=np.int64)
        step = max(1, CELLS_PER_BLOCK // db_codes.shape[0])
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
