"""Label vectors for every one of the 345 Quick, Draw! category names, for zero-shot guesses.

A model knows the labels it trained on; its semantic head places any drawing in the word-vector
space, where every category name has a vector. :func:`all_label_vectors` builds those 345 vectors
from one source. A name the source lacks as a word (GloVe has no ``bottlecap``) gets the mean of
its parts' unit vectors, listed in :data:`COMPOUND_PARTS`.
"""

from __future__ import annotations

import os

import numpy as np
from gensim.models import KeyedVectors

from doodlekit.data.categories import CATEGORIES
from doodlekit.semantics.labels import LabelVectors, label_vectors
from doodlekit.semantics.sources import DEFAULT_SPEC, load_vectors

#: Category names written as one word that some sources lack, with the words they are made of.
COMPOUND_PARTS: dict[str, tuple[str, ...]] = {"bottlecap": ("bottle", "cap")}


def all_label_vectors(spec: KeyedVectors | str | os.PathLike[str] = DEFAULT_SPEC) -> LabelVectors:
    """Unit vectors of all 345 category names (official order) in the semantic space ``spec``.

    Names are built as :func:`~doodlekit.semantics.labels.label_vectors` builds them; a name of
    :data:`COMPOUND_PARTS` missing from the source is the mean of its parts' unit vectors
    (recorded as ``"explicit"`` in ``how``).

    Raises:
        LabelVectorError: a name the source lacks, with no parts it has.
    """
    source = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else None
    kv = load_vectors(spec) if isinstance(spec, (str, os.PathLike)) else spec
    explicit = {}
    for name, parts in COMPOUND_PARTS.items():
        if name not in kv.key_to_index and all(part in kv.key_to_index for part in parts):
            units = [kv[part] / np.linalg.norm(kv[part]) for part in parts]
            explicit[name] = np.mean(units, axis=0)
    return label_vectors(kv, CATEGORIES, explicit=explicit, source=source)


def label_ranks(embeddings: np.ndarray, names: list[str], labels: LabelVectors) -> np.ndarray:
    """Rank of each drawing's true name among ``labels`` by cosine to its embedding (1 = nearest).

    Args:
        embeddings: (N, D) semantic-head outputs, in the space of ``labels``.
        names: the N true category names, each among ``labels.categories``.
        labels: the candidate labels (e.g. :func:`all_label_vectors`).

    Returns:
        (N,) int64 ranks; a tie with the true name counts against it (pessimistic).
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[1] != labels.dim or len(names) != len(embeddings):
        raise ValueError(
            f"embeddings must be (N, {labels.dim}) with one name each, got {embeddings.shape} and {len(names)} names"
        )
    units = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    cosines = units @ np.asarray(labels.vectors, dtype=np.float64).T
    truth = cosines[np.arange(len(names)), [labels.index(name) for name in names]]
    return (cosines >= truth[:, None]).sum(axis=1).astype(np.int64)
