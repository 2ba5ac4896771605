"""Zero-shot recognition and retrieval of categories left out of training (DeViSE-style).

A model whose embedding lives in the word-vector space can name a doodle of a category it
never saw: rank the label vectors of the *unseen* categories by cosine to the doodle's
embedding and take the best ("flat hit@k among unseen labels", Frome et al., DeViSE,
NeurIPS 2013). A model without such an embedding (the cross-entropy baseline) gets one from
:func:`fit_semantic_map`, a ridge regression from its features onto the label vectors of
the categories it was trained on.

:func:`choose_heldout` picks categories to leave out of training so that each keeps a close
semantic neighbour among the trained ones (a lion when cats and dogs are seen).

Chance levels, to read the numbers against: a uniform guess among C unseen labels is right
with probability 1 / C; the mAP@k of a uniformly random ranking is computed exactly by
:func:`expected_random_map` (it is close to, but not, the class prior).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from doodlekit.retrieval.arrays import check_k
from doodlekit.retrieval.metrics import cosine_rank, relevant_counts
from doodlekit.semantics.labels import LabelVectors


def _vectors(label_vectors: LabelVectors | np.ndarray) -> np.ndarray:
    return label_vectors.vectors if isinstance(label_vectors, LabelVectors) else np.asarray(label_vectors)


def zero_shot_predict(embeddings: np.ndarray, label_vectors: LabelVectors | np.ndarray, k: int = 1) -> np.ndarray:
    """The k labels whose vectors are most cosine-similar to each embedding, best first.

    Args:
        embeddings: (N, D) float, in the label vectors' space.
        label_vectors: the candidate labels, a :class:`LabelVectors` or (C, D) array
            (for zero-shot: the unseen categories only).
        k: labels per row; more than C gives all C.

    Returns:
        (N, min(k, C)) int64 rows of ``label_vectors``, ties by row.
    """
    return cosine_rank(embeddings, _vectors(label_vectors), k)[1]


def zero_shot_accuracy(
    embeddings: np.ndarray, labels: np.ndarray, label_vectors: LabelVectors | np.ndarray, k: int = 1
) -> float:
    """Fraction of rows whose true label (N,) int, a row of ``label_vectors``, is among its k nearest labels."""
    labels = np.asarray(labels)
    predicted = zero_shot_predict(embeddings, label_vectors, k)
    if labels.shape != (predicted.shape[0],):
        raise ValueError(f"labels must have shape ({predicted.shape[0]},), one per embedding, got {labels.shape}")
    return float((predicted == labels[:, None]).any(axis=1).mean())


def expected_random_map(
    query_labels: np.ndarray, db_labels: np.ndarray, k: int, *, queries_in_db: bool = False
) -> float:
    """The exact expected mAP@k of a uniformly random ranking: the chance level of retrieval.

    mAP@k as in :mod:`doodlekit.retrieval.metrics` (AP@k normalised by min(k, R)). A query with R
    relevant among M candidates (the database, less itself when ``queries_in_db``) has

    ``E[AP@k] = 1 / min(k, R) * sum_{i=1}^{min(k, M)} R / (M i) * (1 + (i - 1) (R - 1) / (M - 1))``

    since position i is relevant with probability R / M and, given that, each of the
    i - 1 positions above it is relevant with probability (R - 1) / (M - 1). A query with
    R = 0 scores 0, as in :func:`~doodlekit.retrieval.metrics.average_precision_at_k`.

    Args:
        query_labels: (Q,) labels; db_labels: (N,) labels.
        k: ranking cut-off.
        queries_in_db: the queries are database items (leave-one-out).

    Returns:
        The mean of E[AP@k] over the queries.
    """
    query_labels, db_labels = np.asarray(query_labels), np.asarray(db_labels)
    k = check_k(k)
    if query_labels.ndim != 1 or db_labels.ndim != 1 or query_labels.size == 0:
        raise ValueError(
            f"query_labels (Q,) and db_labels (N,) must be non-empty 1-D arrays, got {query_labels.shape} "
            f"and {db_labels.shape}"
        )
    relevant = relevant_counts(query_labels, db_labels, queries_in_db)
    candidates = db_labels.size - int(queries_in_db)
    if candidates < 1 or relevant.min() < 0:
        raise ValueError("with queries_in_db=True every query label must occur in db_labels, and the database "
                         "must hold at least one item besides the query")
    ranks = np.arange(1, min(k, candidates) + 1, dtype=np.float64)
    expected = np.zeros(query_labels.size)
    for r in np.unique(relevant[relevant > 0]):
        pair = (r - 1) / (candidates - 1) if candidates > 1 else 0.0
        terms = r / (candidates * ranks) * (1 + (ranks - 1) * pair)
        expected[relevant == r] = terms.sum() / min(k, r)
    return float(expected.mean())


def fit_semantic_map(
    features: np.ndarray, labels: np.ndarray, label_vectors: LabelVectors | np.ndarray, alpha: float = 1.0
) -> Ridge:
    """A linear map from a model's features into the word-vector space, for models without one.

    Ridge regression (scikit-learn, with intercept) of each item's label vector on its
    features; ``.predict(features (M, F)) -> (M, D)`` then feeds :func:`zero_shot_predict`.
    Fit it on the seen categories' training items only (never on the unseen ones).

    Args:
        features: (N, F) float; labels: (N,) int rows of ``label_vectors``;
        label_vectors: (C, D) label vectors of the training categories; alpha: ridge penalty.
    """
    features, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
    targets = np.asarray(_vectors(label_vectors), dtype=np.float64)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"features must be (N, F) with labels (N,), got {features.shape} and {labels.shape}")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= targets.shape[0]:
        raise ValueError(f"labels must be ints indexing the {targets.shape[0]} rows of label_vectors")
    return Ridge(alpha=alpha).fit(features, targets[labels])


def choose_heldout(labels: LabelVectors, n: int) -> list[str]:
    """``n`` categories to hold out of training for zero-shot, each with a close neighbour that stays seen.

    Greedy: repeatedly hold out the category whose nearest still-seen label (cosine) is
    closest, skipping categories that are the nearest neighbour of one already held out
    (so each held-out label keeps its neighbour in training). Ties by label order: two labels
    that are each other's nearest have the same cosine both ways (one symmetric float64 matrix),
    so the first of them is held out.

    Returns:
        Up to ``n`` names, in the order chosen (fewer when every other category is such a neighbour).
    """
    vectors = labels.vectors.astype(np.float64)
    cosines = vectors @ vectors.T
    cosines = (cosines + cosines.T) / 2  # exactly symmetric (numpy computes A @ A.T so already; this keeps it so)
    held: list[int] = []
    kept: set[int] = set()
    while len(held) < n:
        best, best_cos, best_neighbour = None, -np.inf, None
        for row in range(len(labels)):
            if row in held or row in kept:
                continue
            others = cosines[row].copy()
            others[[row, *held]] = -np.inf
            neighbour = int(np.argmax(others))  # the first of equals: ties by label order
            if others[neighbour] > best_cos:
                best, best_cos, best_neighbour = row, others[neighbour], neighbour
        if best is None:
            break
        held.append(best)
        kept.add(best_neighbour)
    return [labels.categories[row] for row in held]
