"""Label vectors: one unit vector per category name, built from a word-vector source
(:mod:`doodlekit.semantics.sources`), with their cosine similarities and DVSQ's adaptive margins.

:func:`label_vectors` builds a :class:`LabelVectors` (compared by its ``fingerprint``; a
:meth:`~LabelVectors.subset` keeps its rows bit for bit; :meth:`~LabelVectors.keyed_vectors` hands
it to gensim); :func:`similarity_matrix` and :func:`adaptive_margins` give the (C, C) cosine matrix
and the DVSQ margins ``delta(j, k) = 1 - cos(v_j, v_k)``; :func:`nearest_labels` lists the closest
labels of a name or vector. :func:`unit_rows` is the kit's one row normaliser, for embeddings too."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from gensim.models import KeyedVectors
from numpy.typing import DTypeLike

from doodlekit.data.categories import validate_categories, validate_category
from doodlekit.errors import LabelVectorError
from doodlekit.semantics.sources import DEFAULT_SPEC, load_vectors

#: Words left out when a label vector is the mean of a name's words.
STOP_WORDS = frozenset({"a", "an", "and", "of", "the"})


@dataclass(frozen=True, eq=False, repr=False)
class LabelVectors:
    """Unit vectors of category names in one semantic space.

    Attributes:
        categories: the C names, in label order.
        vectors: (C, D) float32, L2-normalised rows, read-only (rows are normalised on creation).
        how: name -> how its vector was built: ``"token 'cat'"``, ``"phrase token 'hot_dog'"``,
            ``"mean of 'hot', 'dog'"`` or ``"explicit"``.
        source: the spec (or a description) of the semantic space.
    """

    categories: list[str]
    vectors: np.ndarray
    how: dict[str, str]
    source: str

    def __post_init__(self) -> None:
        categories = list(self.categories)
        vectors = _label_rows(self.vectors).astype(np.float32)
        if vectors.shape[0] != len(categories) or set(self.how) != set(categories):
            raise LabelVectorError(
                f"label vectors need one row and one 'how' entry per category: got {vectors.shape[0]} rows "
                f"and {len(self.how)} entries for {len(categories)} categories; build them with label_vectors()."
            )
        vectors.setflags(write=False)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "how", {name: self.how[name] for name in categories})

    def __len__(self) -> int:
        return len(self.categories)

    def __repr__(self) -> str:
        return f"LabelVectors({len(self)} names, {self.dim}-d, source={self.source!r})"

    @property
    def dim(self) -> int:
        """D, the dimension of the semantic space."""
        return int(self.vectors.shape[1])

    @property
    def fingerprint(self) -> str:
        """sha256 hex digest of the category order and the vectors rounded to 4 decimals.

        Checkpoints record it to detect a model trained with other label vectors.
        """
        digest = hashlib.sha256(json.dumps(self.categories).encode("utf-8"))
        digest.update(f"{self.vectors.shape}".encode("ascii"))
        digest.update(np.rint(self.vectors.astype(np.float64) * 1e4).astype("<i4").tobytes())
        return digest.hexdigest()

    def subset(self, categories: Iterable[str] | str) -> LabelVectors:
        """The label vectors of some of these names, in the order given: the same rows, bit for bit.

        Building label vectors for all categories once and taking subsets gives exactly what
        :func:`label_vectors` gives for each subset (every row is built on its own), without
        reading the source again.

        Raises:
            UnknownCategoryError / LabelVectorError: a name that is not official / not among these.
        """
        names = validate_categories(categories if isinstance(categories, str) else list(categories))
        vectors = self.vectors[[self.index(name) for name in names]]
        vectors.setflags(write=False)
        part = object.__new__(LabelVectors)  # the rows are unit already: normalising again could move a bit
        for field, value in (("categories", names), ("vectors", vectors),
                             ("how", {name: self.how[name] for name in names}), ("source", self.source)):
            object.__setattr__(part, field, value)
        return part

    def keyed_vectors(self) -> KeyedVectors:
        """These label vectors as a gensim :class:`~gensim.models.KeyedVectors`: keys are the category
        names, vectors the (C, D) rows in float64 (so that gensim computes cosines in float64).

        For gensim's own queries, e.g. ``labels.keyed_vectors().most_similar("cat", topn=3)``.
        Built once and shared: do not add to it.
        """
        return self._keyed

    @cached_property
    def _keyed(self) -> KeyedVectors:
        kv = KeyedVectors(self.dim, dtype=np.float64)
        kv.add_vectors(self.categories, self.vectors.astype(np.float64))
        kv.vectors.setflags(write=False)
        return kv

    def index(self, name: str) -> int:
        """Row of ``name``.

        Raises:
            UnknownCategoryError: ``name`` is not an official category.
            LabelVectorError: an official category that these label vectors do not hold.
        """
        if name in self.how:
            return self.categories.index(name)
        validate_category(name)
        raise LabelVectorError(
            f"{name!r} is not among these {len(self)} label vectors ({self.source}); "
            "build label vectors for categories that include it, or query with a vector."
        )

    def report(self) -> str:
        """A readable table of how each name was built, with counts by kind."""
        width = max(len(name) for name in self.categories)
        kinds = Counter(how.split(" '")[0] for how in self.how.values())
        lines = [
            f"{len(self)} label vectors, {self.dim}-d, from {self.source!r} (fingerprint {self.fingerprint[:12]})",
            f"{'name':<{width}}  built from",
            *(f"{name:<{width}}  {self.how[name]}" for name in self.categories),
            "by kind: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items()),
        ]
        return "\n".join(lines)


def label_vectors(
    kv: KeyedVectors | str | os.PathLike[str],
    categories: Iterable[str] | str,
    *,
    explicit: Mapping[str, np.ndarray] | None = None,
    source: str | None = None,
) -> LabelVectors:
    """Build one unit vector per category name from a semantic space.

    For each name, in order:

    1. ``explicit[name]`` if given (a (D,) vector) -> ``"explicit"``;
    2. the name's own token, or a phrase token for a multi-word name: the name as is, then
       ``"_"``-joined, each as given, lowercase, first letter upper and title case
       (``cat``, ``t-shirt``, ``hot_dog``, ``The_Mona_Lisa``) -> ``"token 'cat'"`` /
       ``"phrase token 'hot_dog'"``;
    3. for a multi-word name, the mean of its unit word vectors (words split at spaces,
       ``_`` and ``-``; :data:`STOP_WORDS` dropped; each word as given, lowercase or
       capitalised) -> ``"mean of 'hot', 'dog'"``. Every content word must be found.

    Averaging is a crude model of a phrase: "hot dog" lands near "dog" (see
    :func:`nearest_labels`); an explicit vector or a source with phrase tokens avoids it.

    Args:
        kv: the semantic space, or a spec for :func:`load_vectors`.
        categories: official category names (a list, or one comma-separated string).
        explicit: name -> (D,) vector, used as is (then normalised) for those names.
        source: recorded in the result; defaults to the spec, or a description of ``kv``.

    Raises:
        LabelVectorError: names with no vector; the message lists every one and why.
        UnknownCategoryError: a name that is not an official category.
    """
    if isinstance(kv, (str, os.PathLike)):
        source = source or os.fspath(kv)
        kv = load_vectors(kv)
    source = source or f"KeyedVectors({len(kv)} words, {kv.vector_size}-d)"
    names = validate_categories(categories if isinstance(categories, str) else list(categories))
    explicit = dict(explicit or {})
    stray = sorted(set(explicit) - set(names))
    if stray:
        raise LabelVectorError(
            f"explicit vectors given for names that are not among the categories: {', '.join(map(repr, stray))}; "
            "give explicit vectors only for names you also pass in categories."
        )
    rows: list[np.ndarray] = []
    how: dict[str, str] = {}
    failures: dict[str, str] = {}
    for name in names:
        if name in explicit:
            vector, note = _explicit_vector(explicit[name], kv.vector_size)
        else:
            vector, note = _build(kv, name)
        if vector is None:
            failures[name] = note
        else:
            rows.append(vector)
            how[name] = note
    if failures:
        listing = "\n".join(f"  - {name!r}: {why}" for name, why in failures.items())
        other = "'word2vec-google-news-300'" if source == DEFAULT_SPEC else f"'{DEFAULT_SPEC}'"
        raise LabelVectorError(
            f"cannot build label vectors for {len(failures)} of {len(names)} names from {source}:\n{listing}\n"
            f"Use a source that has them (e.g. {other}, a gensim-data model or another word2vec file), "
            f"leave them out of the categories, or pass explicit={{name: vector of {kv.vector_size} floats}} for them."
        )
    return LabelVectors(names, np.stack(rows), how, source)


def _unit(vector: np.ndarray) -> np.ndarray | None:
    """``vector`` / its L2 norm as float64, or None for a zero or non-finite vector."""
    vector = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    return vector / norm if np.isfinite(norm) and norm > 0 else None


def _not_unit(vector: np.ndarray) -> str:
    """Why ``vector`` has no unit vector (:func:`_unit` gave None): NaN / infinite values, or all zeros."""
    values = np.asarray(vector, dtype=np.float64)
    if np.isnan(values).any():
        return "a vector with NaN values"
    if not np.isfinite(values).all() or not np.isfinite(np.linalg.norm(values)):
        return "a vector with infinite (or overflowing) values"
    return "a zero vector"


def _explicit_vector(value: np.ndarray, dim: int) -> tuple[np.ndarray | None, str]:
    vector = np.asarray(value, dtype=np.float64)
    if vector.shape != (dim,):
        return None, f"explicit vector has shape {vector.shape}, the source needs ({dim},)"
    unit = _unit(vector)
    return (unit, "explicit") if unit is not None else (None, "explicit vector is zero or not finite")


def _token_candidates(text: str) -> list[str]:
    """``text`` and its case variants, without repeats, in the order tried."""
    variants = (text, text.lower(), text[:1].upper() + text[1:], text.title())
    return list(dict.fromkeys(variants))


def _find(kv: KeyedVectors, candidates: list[str]) -> str | None:
    return next((token for token in candidates if kv.has_index_for(token)), None)


def _build(kv: KeyedVectors, name: str) -> tuple[np.ndarray | None, str]:
    """(unit vector, how) by the token / phrase-token / mean rule, or (None, why not)."""
    words = [word for word in re.split(r"[\s_-]+", name) if word]
    phrases = list(dict.fromkeys((name, "_".join(name.split()))))
    token = _find(kv, [c for phrase in phrases for c in _token_candidates(phrase)])
    kind = "token" if len(words) == 1 else "phrase token"
    if token is not None:
        vector = kv.get_vector(token)
        unit = _unit(vector)
        return (unit, f"{kind} {token!r}") if unit is not None else (None, f"{kind} {token!r} has {_not_unit(vector)}")
    tried = " or ".join(repr(p) for p in phrases)
    if len(words) == 1:
        return None, f"no token {tried} (nor its case variants)"
    content = [word for word in words if word.lower() not in STOP_WORDS] or words
    found = [_find(kv, _token_candidates(word)) for word in content]
    missing = [word for word, token in zip(content, found) if token is None]
    if missing:
        return None, f"no phrase token {tried}, and words missing for a mean: {', '.join(map(repr, missing))}"
    units = [_unit(kv.get_vector(token)) for token in found]
    how = f"mean of {', '.join(map(repr, found))}"
    bad = [(token, _not_unit(kv.get_vector(token))) for token, u in zip(found, units) if u is None]
    if bad:
        return None, f"{how}: {', '.join(f'{token!r} has {why}' for token, why in bad)}"
    mean = _unit(np.mean(units, axis=0))
    return (mean, how) if mean is not None else (None, f"{how}: a zero vector")


def unit_rows(X: np.ndarray, name: str = "X", *, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Rows of X (N, D) scaled to unit L2 norm, as ``dtype``: the kit's one row normaliser.

    Embeddings for search take the float32 default (float32 input is normalised in float32);
    label vectors and the centroid analyses ask for float64 (computed in float64 throughout).
    Integer input is computed in float64.

    Raises:
        ValueError: X is not a non-empty 2-D numeric array, holds NaN or infinite values, or has
            an all-zero row (no direction); the message calls X ``name``.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 2-D numeric array (N, D), got shape {X.shape} dtype {X.dtype}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model that produced the embeddings")
    X = X.astype(np.result_type(X.dtype if X.dtype.kind == "f" else np.float64, dtype), copy=False)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name} has all-zero rows, which have no direction (no cosine); drop them first")
    return (X / norms).astype(dtype, copy=False)


def _label_rows(vectors: np.ndarray) -> np.ndarray:
    """(C, D) float64 with L2-normalised rows; LabelVectorError for anything else."""
    try:
        return unit_rows(vectors, "label vectors", dtype=np.float64)
    except ValueError as exc:
        raise LabelVectorError(
            f"label vectors must be a non-empty (C, D) array of finite, non-zero rows; got shape {np.shape(vectors)}. "
            "Pass a LabelVectors (from label_vectors()) or its .vectors."
        ) from exc


def similarity_matrix(labels: LabelVectors | np.ndarray) -> np.ndarray:
    """(C, C) float32 cosine similarities of label vectors (rows need not be unit length).

    Symmetric (numpy computes ``A @ A.T`` as one triangle), in [-1, 1], unit diagonal
    (float64 rounding error vanishes in float32).
    """
    unit = _label_rows(labels.vectors if isinstance(labels, LabelVectors) else labels)
    return (unit @ unit.T).astype(np.float32)


def adaptive_margins(labels: LabelVectors | np.ndarray) -> np.ndarray:
    """(C, C) float32 DVSQ margins ``delta(j, k) = 1 - cos(v_j, v_k)``, in [0, 2], zero diagonal."""
    return 1.0 - similarity_matrix(labels)


def nearest_labels(labels: LabelVectors, query: str | np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` labels closest in cosine to ``query``, best first, as ``(name, cosine)``.

    ``query`` is a category name among ``labels`` (itself excluded) or a (D,) vector.
    gensim computes every label's cosine on :meth:`LabelVectors.keyed_vectors`, in float64
    (``KeyedVectors.cosine_similarities``), and a stable sort ranks them, so that ties keep label
    order (``most_similar`` rounds the query to float32, and its top-k does not keep ties in order).

    Raises:
        UnknownCategoryError / LabelVectorError: a name that is not official / not in ``labels``.
        LabelVectorError: a vector that is not (D,), or is zero.
    """
    kv = labels.keyed_vectors()
    exclude = None
    if isinstance(query, str):
        exclude = labels.index(query)
        vector = kv[query]
    else:
        if np.shape(query) != (labels.dim,) or _unit(query) is None:
            raise LabelVectorError(
                f"a query vector must be a finite, non-zero ({labels.dim},) array; got shape {np.shape(query)}. "
                "Pass a vector of this semantic space, or a category name."
            )
        vector = np.asarray(query, dtype=np.float64)
    cosine = kv.cosine_similarities(vector, kv.vectors)  # (C,) float64, label order
    order = [int(i) for i in np.argsort(-cosine, kind="stable") if i != exclude]
    return [(labels.categories[i], float(cosine[i])) for i in order[: max(k, 0)]]
