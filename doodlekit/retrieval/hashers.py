"""Hashers: float embeddings (N, D) -> codes (N, n_bits // 8) uint8, as scikit-learn estimators.

- :class:`RandomHyperplaneLSH` - signs of random Gaussian projections of the centred data
  (what the original project used through FALCONN);
- :class:`ITQ` - iterative quantization (Gong & Lazebnik, CVPR 2011): PCA, then a learnt rotation;
- :class:`ProductQuantizer` - product quantization trained with faiss, searched with asymmetric
  distances rather than Hamming distances (DVSQ's own quantizer, whose codebooks span the whole space
  and are learnt through the label vectors, is :mod:`doodlekit.retrieval.quantization`).

They are scikit-learn transformers (``BaseEstimator``, ``TransformerMixin``): the constructor
only stores its parameters, ``fit`` checks them, ``random_state`` is an integer seed (the same
seed gives the same codes), fitted attributes end in ``_``, and ``sklearn.base.clone``,
``get_params`` / ``set_params`` and pickling work. Each one saves its parameters and fitted state
to a ``.npz`` file of plain arrays (:meth:`save`, :meth:`load`); :data:`HASHERS` names them.
Binary codes are packed as :func:`~doodlekit.retrieval.hamming.pack_bits` packs them.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from doodlekit.data.files import read_npz, write_npz
from doodlekit.errors import CorruptFileError
from doodlekit.retrieval.arrays import (
    CELLS_PER_BLOCK,
    check_codes,
    check_embeddings,
    check_k,
    check_n_bits,
    import_faiss,
    smallest_k,
)
from doodlekit.retrieval.hamming import check_nonempty, pack_bits
from doodlekit.semantics.labels import unit_rows

#: Rows projected at a time when hashing, so 1M x 300 float64 never sits in memory at once.
_ROWS_PER_CHUNK = 65_536
#: ``format`` entry of every file written by a hasher's ``save``.
HASHER_FORMAT = "doodlekit-hasher-1"


def _check_random_state(random_state: Any) -> int:
    """Return ``random_state`` as an int if it is a non-negative integer seed, else raise ValueError."""
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(
            f"random_state must be a non-negative integer seed (e.g. 0), got {random_state!r}; "
            "doodlekit hashers are always seeded, so the same seed gives the same codes"
        )
    return int(random_state)


def _pad(X: np.ndarray, n_sub: int) -> np.ndarray:
    """X (N, D) zero-padded to (N, n_sub * ceil(D / n_sub))."""
    return np.pad(X, ((0, 0), (0, -(-X.shape[1] // n_sub) * n_sub - X.shape[1])))


class _Hasher(TransformerMixin, BaseEstimator):
    """What every hasher shares: fitted checks, feature names, and saving to / loading from ``.npz``.

    Subclasses list the names of their fitted arrays in ``_FITTED``, give their expected shapes in
    :meth:`_fitted_shapes` and name their output columns in :meth:`_column_names`;
    ``n_features_in_`` (D) is set by every ``fit``.
    """

    _FITTED: ClassVar[tuple[str, ...]]
    n_features_in_: int

    def _check_params(self) -> None:
        """Raise ValueError for an invalid parameter (called by ``fit`` and :meth:`from_arrays`)."""
        check_n_bits(self.n_bits)
        _check_random_state(self.random_state)

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _check_width(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} dimensions but the {type(self).__name__} was fitted on "
                f"{self.n_features_in_}; hash embeddings from the same model it was fitted on"
            )

    def _fitted_shapes(self) -> dict[str, tuple[int, ...]]:
        """Expected shape of each fitted array, from ``n_bits`` and ``n_features_in_``."""
        raise NotImplementedError

    def _check_fitted_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """ValueError unless each fitted array in ``arrays`` is float with the shape the parameters give."""
        for attribute, shape in self._fitted_shapes().items():
            value = np.asarray(arrays[attribute])
            if value.shape != shape or value.dtype.kind != "f":
                raise ValueError(
                    f"{attribute} is {value.dtype} {value.shape}, but {self.n_bits} bits from "
                    f"{self.n_features_in_} dimensions need float {shape}"
                )

    def _column_names(self) -> list[str]:
        raise NotImplementedError

    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's parameters, which are also ``get_params()``'s keys."""
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names (n_bits // 8,) of the output columns, one per code byte (object array).

        Codes are packed, so the output has one column per byte, not per bit: scikit-learn's
        usual ``itq0 .. itq63`` would name 64 columns of an 8-column output. The names say what
        each byte holds (``itq_bits0-7``, ...; ``productquantizer_subvector0``, ...), which is what
        ``set_output(transform="pandas")`` and ``ColumnTransformer`` need. ``input_features``, if
        given, must have one name per fitted dimension; the names do not depend on it.
        """
        self._check_fitted()
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names but the {type(self).__name__} was fitted "
                f"on {self.n_features_in_} dimensions; pass one name per dimension or None"
            )
        return np.asarray(self._column_names(), dtype=object)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted hasher as plain arrays: ``format``, ``name`` (its key in :data:`HASHERS`), its
        parameters (int64 scalars), ``n_features_in_`` and its fitted arrays; what :meth:`save` writes."""
        self._check_fitted()
        self._check_params()
        name = self._saved_name()
        if name is None:
            raise ValueError(f"{type(self).__name__} is not in HASHERS, so a file could not say which hasher to load")
        fitted = {attribute: getattr(self, attribute) for attribute in self._FITTED}
        try:
            self._check_fitted_arrays(fitted)
        except ValueError as exc:
            raise ValueError(f"the parameters were changed after fit ({exc}); call fit(X) again") from exc
        return {
            "format": np.str_(HASHER_FORMAT),
            "name": np.str_(name),
            **{param: np.int64(value) for param, value in self.get_params().items()},
            "n_features_in_": np.int64(self.n_features_in_),
            **fitted,
        }

    @classmethod
    def _saved_name(cls) -> str | None:
        """The name a saved file gives this class: its key in :data:`HASHERS` (None if it has none)."""
        return next((key for key, kind in HASHERS.items() if kind is cls), None)

    @classmethod
    def array_names(cls) -> tuple[str, ...]:
        """The names of the arrays that :meth:`to_arrays` gives (and :meth:`save` writes) for this class."""
        return ("format", "name", *cls._param_names(), "n_features_in_", *cls._FITTED)

    @classmethod
    def _check_kind(cls, arrays: Mapping[str, np.ndarray]) -> None:
        """ValueError unless ``arrays`` has this doodlekit's hasher format and names this class."""
        if str(arrays["format"]) != HASHER_FORMAT:
            raise ValueError(f"hasher format {str(arrays['format'])!r}, this doodlekit reads {HASHER_FORMAT!r}")
        name = str(arrays["name"])
        if name != cls._saved_name():
            if name not in HASHERS:
                raise ValueError(f"it names hasher {name!r}, which is not one of {', '.join(map(repr, HASHERS))}")
            kind = HASHERS[name].__name__
            raise ValueError(f"it holds {kind} state, not {cls.__name__} state; read it with {kind}.load(path)")

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Self:
        """The fitted hasher whose :meth:`to_arrays` gave ``arrays``.

        Raises:
            ValueError: saying what is missing or wrong when ``arrays`` are not a consistent fitted
                hasher of this class.
        """
        missing = [key for key in cls.array_names() if key not in arrays]
        if missing:
            raise ValueError(f"not a saved hasher (missing {', '.join(missing)})")
        cls._check_kind(arrays)
        integers = (*cls._param_names(), "n_features_in_")
        bad = [key for key in integers if arrays[key].shape != () or arrays[key].dtype.kind not in "iu"]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be integer scalars")
        hasher = cls(**{param: int(arrays[param]) for param in cls._param_names()})
        hasher._check_params()
        hasher.n_features_in_ = int(arrays["n_features_in_"])
        if hasher.n_features_in_ < 1:
            raise ValueError(f"n_features_in_ must be at least 1, got {hasher.n_features_in_}")
        hasher._check_fitted_arrays(arrays)
        for attribute in cls._FITTED:
            setattr(hasher, attribute, arrays[attribute])
        return hasher

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted hasher to ``path`` (.npz of plain arrays, atomically); returns the path."""
        return write_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a hasher of this class written by :meth:`save` (nothing is unpickled).

        Raises:
            DataNotFoundError: no file at ``path``.
            CorruptFileError: not a readable saved hasher of this class (the message says which
                class holds it when it is another hasher).
        """
        what, redo = f"saved {cls.__name__}", f"fit one again and save it with {cls.__name__}(...).fit(X).save(path)"
        try:
            cls._check_kind(read_npz(path, ("format", "name"), what=what, remedy=redo))
            return cls.from_arrays(read_npz(path, cls.array_names(), what=what, remedy=redo))
        except CorruptFileError:
            raise
        except ValueError as exc:
            raise CorruptFileError(f"{path} is not a usable {what}: {exc}; {redo}") from exc


class _ProjectionHasher(_Hasher):
    """Codes = signs of (X - mean_) @ projection_; subclasses learn mean_ and projection_ in fit."""

    _FITTED: ClassVar[tuple[str, ...]] = ("mean_", "projection_")
    mean_: np.ndarray  # (D,) float64
    projection_: np.ndarray  # (D, n_bits) float64

    def __init__(self, n_bits: int, random_state: int = 0) -> None:
        self.n_bits = n_bits
        self.random_state = random_state

    def _fitted_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"mean_": (self.n_features_in_,), "projection_": (self.n_features_in_, self.n_bits)}

    def _column_names(self) -> list[str]:
        prefix = type(self).__name__.lower()
        return [f"{prefix}_bits{8 * byte}-{8 * byte + 7}" for byte in range(self.projection_.shape[1] // 8)]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes (N, n_bits // 8) uint8 of embeddings X (N, D); bit j is 1 where projection j > 0."""
        self._check_fitted()
        X = check_embeddings(X)
        self._check_width(X)
        codes = np.empty((X.shape[0], self.projection_.shape[1] // 8), dtype=np.uint8)
        for start in range(0, X.shape[0], _ROWS_PER_CHUNK):
            chunk = np.asarray(X[start : start + _ROWS_PER_CHUNK], dtype=np.float64) - self.mean_
            codes[start : start + _ROWS_PER_CHUNK] = pack_bits(chunk @ self.projection_ > 0)
        return codes


class RandomHyperplaneLSH(_ProjectionHasher):
    """Random-hyperplane LSH (Charikar 2002): bit j = sign of a Gaussian projection of X - mean.

    Centring on the fit data's mean makes the hyperplanes pass through the data's centre, so
    bits are balanced; the projections are i.i.d. N(0, 1), drawn from ``random_state``.

    Args:
        n_bits: code width, a positive multiple of 8.
        random_state: integer seed of the projections.

    Attributes (after fit): ``n_features_in_`` (D), ``mean_`` (D,), ``projection_`` (D, n_bits).
    """

    def fit(self, X: np.ndarray, y: None = None) -> RandomHyperplaneLSH:
        """Learn the mean of X (N, D) and draw (D, n_bits) Gaussian projections; ``y`` is ignored."""
        self._check_params()
        X = check_embeddings(X)
        rng = np.random.default_rng(_check_random_state(self.random_state))
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.projection_ = rng.standard_normal((X.shape[1], check_n_bits(self.n_bits)))
        self.n_features_in_ = X.shape[1]
        return self


def _random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random (n, n) orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


class ITQ(_ProjectionHasher):
    """Iterative quantization (Gong & Lazebnik 2011): PCA, then a rotation minimising ||B - V R||.

    With D >= n_bits: centre X, project on the top n_bits principal directions (no whitening)
    to get V, and alternate ``B = sign(V R)`` and the orthogonal Procrustes update of R
    for ``n_iter`` iterations from a random rotation drawn from ``random_state``.

    With n_bits > D (e.g. 64 or 128 bits from 50-d GloVe-sized embeddings) PCA has only D
    directions: all D are kept and lifted into n_bits dimensions by a random matrix with
    orthonormal rows (D, n_bits), which preserves all distances; the rotation is then learnt in
    n_bits dimensions as usual. The extra bits are extra (learnt) hyperplanes through the same
    D-dimensional data, like LSH bits but balanced and decorrelated by the rotation.

    Args:
        n_bits: code width, a positive multiple of 8.
        n_iter: rotation updates, a non-negative integer (0 keeps the random rotation).
        random_state: integer seed of the random rotation (and of the lift when n_bits > D).

    Attributes (after fit): ``n_features_in_`` (D), ``mean_`` (D,), ``components_`` (D, n_bits)
    PCA basis (lifted when n_bits > D), ``rotation_`` (n_bits, n_bits),
    ``projection_`` = components_ @ rotation_ (D, n_bits).
    """

    _FITTED: ClassVar[tuple[str, ...]] = ("mean_", "components_", "rotation_", "projection_")

    def __init__(self, n_bits: int, n_iter: int = 50, random_state: int = 0) -> None:
        super().__init__(n_bits, random_state)
        self.n_iter = n_iter

    def _check_params(self) -> None:
        super()._check_params()
        n_iter = self.n_iter
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative integer, got {n_iter!r}")

    def _fitted_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            **super()._fitted_shapes(),
            "components_": (self.n_features_in_, self.n_bits),
            "rotation_": (self.n_bits, self.n_bits),
        }

    def fit(self, X: np.ndarray, y: None = None) -> ITQ:
        """Learn mean, PCA basis and rotation from embeddings X (N, D); ``y`` is ignored."""
        self._check_params()
        X = check_embeddings(X)
        # The matrices here are at most n_bits wide: BLAS threads only add synchronisation,
        # which on a busy 2-core machine makes the fit tens of times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit(X, int(self.n_bits), int(self.n_iter), _check_random_state(self.random_state))
        self.n_features_in_ = X.shape[1]
        return self

    def _fit(self, X: np.ndarray, n_bits: int, n_iter: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        centred = np.asarray(X, dtype=np.float64) - self.mean_
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(eigvals, kind="stable")[::-1][:n_bits]
        # Fix each direction's sign (largest entry positive) so the basis does not depend on LAPACK.
        basis = eigvecs[:, order]
        basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(basis.shape[1])])
        if basis.shape[1] < n_bits:
            basis = basis @ _random_orthogonal(n_bits, rng)[: basis.shape[1]]
        self.components_ = basis
        V = centred @ basis
        rotation = _random_orthogonal(n_bits, rng)
        for _ in range(n_iter):
            B = np.where(V @ rotation > 0, 1.0, -1.0)
            u, _, vt = np.linalg.svd(V.T @ B)
            rotation = u @ vt
        self.rotation_ = rotation
        self.projection_ = basis @ rotation


class ProductQuantizer(_Hasher):
    """Product quantization (Jégou et al. 2011) trained with faiss, searched by asymmetric distance.

    Embeddings are L2-normalised (so squared L2 distance ranks like cosine), zero-padded to a
    multiple of M = n_bits // 8 dimensions and split into M sub-vectors; each sub-vector is
    coded by one byte, the index of its nearest of 256 k-means centroids. A code is therefore
    (N, n_bits // 8) uint8 like the binary hashers', but its bytes are centroid ids, not bits:
    search with :meth:`search` (asymmetric distance: float query against coded database), not
    with Hamming distance. Needs faiss (``pip install 'doodlekit[faiss]'``) and >= 256 fit rows.

    Only numpy arrays are kept (faiss's quantizer is rebuilt from ``centroids_`` to encode), so a
    fitted quantizer pickles, clones and saves like the other hashers.

    Args:
        n_bits: code width, a positive multiple of 8 (M = n_bits // 8 sub-vectors).
        random_state: integer seed of faiss's k-means.

    Attributes (after fit): ``n_features_in_`` (D), ``centroids_`` (M, 256, dsub) float32,
    dsub = ceil(D / M).
    """

    _FITTED: ClassVar[tuple[str, ...]] = ("centroids_",)
    centroids_: np.ndarray  # (M, 256, dsub) float32

    def __init__(self, n_bits: int, random_state: int = 0) -> None:
        self.n_bits = n_bits
        self.random_state = random_state

    @property
    def n_subquantizers(self) -> int:
        """M, the number of sub-vectors (one byte each)."""
        return self.n_bits // 8

    def _fitted_shapes(self) -> dict[str, tuple[int, ...]]:
        n_sub = self.n_subquantizers
        return {"centroids_": (n_sub, 256, -(-self.n_features_in_ // n_sub))}

    def _column_names(self) -> list[str]:
        return [f"productquantizer_subvector{m}" for m in range(self.centroids_.shape[0])]

    def _fitted_data(self, X: np.ndarray) -> np.ndarray:
        """Unit-normalised float32 copy of X (N, D), zero-padded to (N, M * dsub), for this fitted quantizer."""
        self._check_fitted()
        X = unit_rows(X)
        self._check_width(X)
        return _pad(X, self.centroids_.shape[0])

    def fit(self, X: np.ndarray, y: None = None) -> ProductQuantizer:
        """Train the M codebooks of 256 centroids on X (N >= 256, D) with faiss k-means; ``y`` is ignored."""
        self._check_params()
        faiss = import_faiss()
        X = unit_rows(X)
        data = _pad(X, check_n_bits(self.n_bits) // 8)
        if data.shape[0] < 256:
            raise ValueError(f"product quantization needs at least 256 rows to fit 256 centroids, got {data.shape[0]}")
        pq = faiss.ProductQuantizer(data.shape[1], self.n_bits // 8, 8)
        pq.cp.seed = _check_random_state(self.random_state)
        pq.cp.min_points_per_centroid = 1
        pq.train(data)
        self.centroids_ = faiss.vector_to_array(pq.centroids).reshape(pq.M, pq.ksub, pq.dsub)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Codes (N, M) uint8: for each sub-vector of X (N, D), the id of its nearest centroid."""
        data = self._fitted_data(X)
        faiss = import_faiss()
        n_sub, _, dsub = self.centroids_.shape
        pq = faiss.ProductQuantizer(n_sub * dsub, n_sub, 8)
        faiss.copy_array_to_vector(np.ascontiguousarray(self.centroids_, dtype=np.float32).ravel(), pq.centroids)
        return pq.compute_codes(data)

    def search(self, query_embeddings: np.ndarray, db_codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Asymmetric-distance search: float queries (Q, D) against coded database (N, M).

        Returns (squared L2 distances (Q, min(k, N)) float32 between unit query and decoded item,
        ascending; indices (Q, min(k, N)) int64 database rows), ties by position.
        """
        queries = self._fitted_data(query_embeddings)
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


#: Every hasher by name; "pq" makes centroid-id codes, not binary ones (no Hamming search).
HASHERS: dict[str, type[_Hasher]] = {"itq": ITQ, "lsh": RandomHyperplaneLSH, "pq": ProductQuantizer}
#: A name in :data:`HASHERS`, for type hints.
HasherName = Literal["itq", "lsh", "pq"]


def hasher_class(name: str, *, binary: bool = False) -> type[_Hasher]:
    """The hasher class called ``name`` in :data:`HASHERS`; with ``binary``, only Hamming hashers.

    Raises:
        ValueError: an unknown name (the message lists :data:`HASHERS`), or "pq" when ``binary``.
    """
    if name not in HASHERS:
        names = ", ".join(map(repr, HASHERS))
        raise ValueError(f"unknown hasher {name!r}; use one of {names} (doodlekit.retrieval.HASHERS)")
    if binary and not issubclass(HASHERS[name], _ProjectionHasher):
        binary_names = ", ".join(repr(key) for key, kind in HASHERS.items() if issubclass(kind, _ProjectionHasher))
        raise ValueError(
            f"hasher {name!r} ({HASHERS[name].__name__}) makes centroid ids, not binary codes, so it cannot be "
            f"searched by Hamming distance; use one of {binary_names}"
        )
    return HASHERS[name]
