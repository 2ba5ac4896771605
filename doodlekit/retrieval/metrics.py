"""Classification, retrieval and semantic metrics, as pure numpy functions on arrays.

Conventions used throughout:

- A *ranking* is an int array (Q, k) of database rows, best first, as returned by
  :func:`cosine_rank`, :func:`doodlekit.retrieval.hamming.hamming_rank` or
  :meth:`doodlekit.retrieval.hashers.ProductQuantizer.search` (indices part). Float and hashed
  rankings feed the same metric code.
- Relevance is same-class: database item j is relevant to query q iff their labels are equal.
- Leave-one-out: when the queries are database items, the query itself is removed from its
  ranking (:func:`drop_self`) and is not counted among its relevant items (``queries_in_db``).
- ``label_vectors`` are a :class:`~doodlekit.semantics.LabelVectors` or its (C, D) ``.vectors``;
  labels used with them are ints indexing its rows.
- mAP@k uses **AP@k normalised by min(k, R)**:
  ``AP@k = (1 / min(k, R)) * sum_{i <= k} P(i) * rel(i)``, with P(i) the precision of the top i
  and R the number of relevant items in the database; a query with R = 0 scores 0. A perfect
  ranking scores 1. (DVSQ's and HashNet's evaluation code divide by the number of relevant items
  *retrieved* within k instead, which never gives less, and drop queries that retrieve none:
  :func:`mean_average_precision_deephash` computes that convention, for comparison with them.)
- Precision within Hamming radius r: among the database items within distance r of the query,
  the fraction that are relevant; a query with no item within r scores 0 (the DVSQ/DSH convention)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from doodlekit.retrieval.arrays import check_k, smallest_k
from doodlekit.retrieval.hamming import hamming_distances
from doodlekit.semantics.labels import LabelVectors, similarity_matrix, unit_rows

#: Query-by-database cells computed at a time (bounds temporary memory).
_CELLS_PER_BLOCK = 1 << 23


def check_labels(labels: np.ndarray, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per row, got {labels.shape}")
    return labels


def _ranking(ranking: np.ndarray, n_query: int, n_db: int, k: int | None) -> np.ndarray:
    """Validate a ranking (Q, width) against the database size; returns its first k columns."""
    ranking = np.asarray(ranking)
    if ranking.ndim != 2 or ranking.shape[0] != n_query or ranking.dtype.kind not in "iu":
        raise ValueError(
            f"ranking must be an int array ({n_query}, k) of database rows, got {ranking.dtype} {ranking.shape}"
        )
    if ranking.size and (ranking.min() < 0 or ranking.max() >= n_db):
        raise ValueError(f"ranking holds rows outside the database of {n_db} items; rank against the same database")
    if k is None:
        return ranking
    if check_k(k) > ranking.shape[1]:
        raise ValueError(f"k={k} exceeds the ranking's {ranking.shape[1]} columns; rank with a larger k")
    return ranking[:, :k]


def _label_rows(labels: np.ndarray, n_classes: int, name: str, what: str = "rows of label_vectors") -> np.ndarray:
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= n_classes)):
        raise ValueError(f"{name} must be ints indexing the {n_classes} {what}")
    return labels


def cosine_rank(
    query_embeddings: np.ndarray, db_embeddings: np.ndarray, k: int, *, normalized: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force float ranking: the k most cosine-similar database rows of each query.

    Args:
        query_embeddings: (Q, D) float.
        db_embeddings: (N, D) float.
        k: neighbours per query; more than N gives all N.
        normalized: the rows are already unit length (e.g. a gallery normalised once), so the
            normalisation pass is skipped; inputs are then used as given (as float32).

    Returns:
        (cosine similarities (Q, min(k, N)) float32, descending; indices (Q, min(k, N)) int64),
        ties by database position.
    """
    if normalized:
        queries, database = (np.asarray(x, dtype=np.float32) for x in (query_embeddings, db_embeddings))
    else:
        queries = unit_rows(query_embeddings, "query_embeddings")
        database = unit_rows(db_embeddings, "db_embeddings")
    if queries.ndim != 2 or database.ndim != 2 or queries.shape[1] != database.shape[1]:
        raise ValueError(
            f"queries {queries.shape} and database {database.shape} must be 2-D with the same number of dimensions"
        )
    k = min(check_k(k), database.shape[0])
    similarities = np.empty((queries.shape[0], k), dtype=np.float32)
    indices = np.empty((queries.shape[0], k), dtype=np.int64)
    step = max(1, _CELLS_PER_BLOCK // database.shape[0])
    for start in range(0, queries.shape[0], step):
        block = slice(start, start + step)
        negated, indices[block] = smallest_k(-(queries[block] @ database.T), k)
        similarities[block] = -negated
    return similarities, indices


def drop_self(ranking: np.ndarray, query_ids: np.ndarray) -> np.ndarray:
    """Remove each query's own row from a ranking (Q, k + 1) -> (Q, k).

    ``query_ids`` (Q,) are the queries' rows in the database. Where a query is not in its
    ranking, the last column is dropped instead, so the result is always the top k of the others.
    """
    ranking = np.asarray(ranking)
    query_ids = np.asarray(query_ids)
    if ranking.ndim != 2 or ranking.shape[1] < 2 or query_ids.shape != (ranking.shape[0],):
        raise ValueError(
            "drop_self needs a ranking (Q, k + 1) with k >= 1 and query_ids (Q,), "
            f"got {ranking.shape} and {query_ids.shape}"
        )
    is_self = ranking == query_ids[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    return ranking[~is_self].reshape(ranking.shape[0], ranking.shape[1] - 1)


def relevance(ranking: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray) -> np.ndarray:
    """(Q, k) bool: whether each ranked database item has its query's label."""
    db_labels = np.asarray(db_labels)
    query_labels = np.asarray(query_labels)
    ranking = _ranking(ranking, query_labels.shape[0], db_labels.shape[0], None)
    return db_labels[ranking] == check_labels(query_labels, ranking.shape[0], "query_labels")[:, None]


def precision_at_k(ranking: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray, k: int | None = None) -> float:
    """Mean over queries of the fraction of the top k that is relevant (k defaults to the ranking width)."""
    rel = relevance(_ranking(ranking, len(query_labels), len(db_labels), k), query_labels, db_labels)
    return float(rel.mean()) if rel.size else 0.0


def relevant_counts(query_labels: np.ndarray, db_labels: np.ndarray, queries_in_db: bool = False) -> np.ndarray:
    """R per query (Q,) int64: how many of ``db_labels`` (N,) equal its label in ``query_labels`` (Q,),
    less one when ``queries_in_db`` (each query is one of those items)."""
    classes, counts = np.unique(db_labels, return_counts=True)
    position = np.clip(np.searchsorted(classes, query_labels), 0, classes.size - 1)
    found = classes[position] == query_labels
    return np.where(found, counts[position], 0) - int(queries_in_db)


def average_precision_at_k(
    ranking: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    k: int | None = None,
    *,
    queries_in_db: bool = False,
) -> np.ndarray:
    """AP@k per query (Q,) float64, normalised by min(k, R) (see the module docstring).

    Args:
        ranking: (Q, >= k) database rows, best first (the query itself already removed when
            ``queries_in_db``).
        query_labels: (Q,) labels; db_labels: (N,) labels.
        k: cut-off; defaults to the ranking width.
        queries_in_db: the queries are database items, so each has one relevant item fewer.
    """
    query_labels = np.asarray(query_labels)
    db_labels = np.asarray(db_labels)
    rel = relevance(_ranking(ranking, len(query_labels), len(db_labels), k), query_labels, db_labels)
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, rel.shape[1] + 1)
    normaliser = np.minimum(rel.shape[1], relevant_counts(query_labels, db_labels, queries_in_db))
    summed = (precision * rel).sum(axis=1)
    return np.divide(summed, normaliser, out=np.zeros_like(summed), where=normaliser > 0)


def mean_average_precision(
    ranking: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    k: int | None = None,
    *,
    queries_in_db: bool = False,
) -> float:
    """mAP@k: the mean of :func:`average_precision_at_k` over queries."""
    return float(average_precision_at_k(ranking, query_labels, db_labels, k, queries_in_db=queries_in_db).mean())


def mean_average_precision_deephash(
    ranking: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray, k: int | None = None
) -> float:
    """mAP@k as DeepHash's ``get_mAPs`` computes it: AP@k divided by the relevant items *retrieved*
    in the top k, averaged over the queries that retrieve at least one (0.0 when none does).

    Args: as :func:`average_precision_at_k` (the query itself already removed for leave-one-out).
    """
    rel = relevance(_ranking(ranking, len(query_labels), len(db_labels), k), query_labels, db_labels)
    hits = rel.sum(axis=1)
    precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    kept = hits > 0
    return float(((precision * rel).sum(axis=1)[kept] / hits[kept]).mean()) if kept.any() else 0.0


def precision_within_radius(
    query_codes: np.ndarray,
    db_codes: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    radius: int = 2,
    *,
    query_ids: np.ndarray | None = None,
) -> float:
    """Mean precision of the items within Hamming ``radius`` of each query; 0 for an empty ball.

    Args:
        query_codes: (Q, B) uint8; db_codes: (N, B) uint8 packed codes.
        query_labels: (Q,); db_labels: (N,) labels.
        radius: inclusive Hamming radius in bits.
        query_ids: (Q,) rows of the queries in the database (leave-one-out): each is excluded
            from its own ball.
    """
    query_labels = check_labels(query_labels, len(query_codes), "query_labels")
    db_labels = check_labels(db_labels, len(db_codes), "db_labels")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer number of bits, got {radius!r}")
    precisions = np.zeros(len(query_codes))
    step = max(1, _CELLS_PER_BLOCK // max(1, len(db_codes)))
    for start in range(0, len(query_codes), step):
        block = slice(start, start + step)
        within = hamming_distances(query_codes[block], db_codes) <= radius
        if query_ids is not None:
            within[np.arange(within.shape[0]), np.asarray(query_ids)[block]] = False
        n_within = within.sum(axis=1)
        n_relevant = (within & (db_labels[None, :] == query_labels[block, None])).sum(axis=1)
        precisions[block] = np.divide(n_relevant, n_within, out=np.zeros(n_within.shape), where=n_within > 0)
    return float(precisions.mean())


def semantic_precision_at_k(
    ranking: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    label_vectors: LabelVectors | np.ndarray,
    k: int | None = None,
) -> float:
    """Mean cosine between each query's label vector and the label vectors of its top k items.

    1.0 when every retrieved item has the query's label; wrong items still score by how
    close their label is in meaning (e.g. cat -> dog beats cat -> bicycle).
    """
    cosines = similarity_matrix(label_vectors)
    query_labels = _label_rows(np.asarray(query_labels), cosines.shape[0], "query_labels")
    db_labels = _label_rows(np.asarray(db_labels), cosines.shape[0], "db_labels")
    top = _ranking(ranking, len(query_labels), len(db_labels), k)
    return float(cosines[query_labels[:, None], db_labels[top]].mean())


@dataclass(frozen=True)
class MissSimilarity:
    """How close in meaning the top result lands when it has the wrong label.

    Attributes:
        similarity: mean cosine between the query's label vector and its wrong top result's
            label vector, over the missed queries (NaN when there is no miss).
        random_similarity: the chance level for the same misses: mean expected cosine between
            the query's label and the label of a uniformly random database item of another
            label (NaN when there is no miss).
        n_misses: queries whose top result has another label.
        n_queries: all queries.
    """

    similarity: float
    random_similarity: float
    n_misses: int
    n_queries: int


def miss_similarity(
    ranking: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray, label_vectors: LabelVectors | np.ndarray
) -> MissSimilarity:
    """Semantic similarity on misses of the top result, with a random-wrong-label baseline."""
    cosines = similarity_matrix(label_vectors).astype(np.float64)
    n_classes = cosines.shape[0]
    query_labels = _label_rows(np.asarray(query_labels), n_classes, "query_labels")
    db_labels = _label_rows(np.asarray(db_labels), n_classes, "db_labels")
    top = db_labels[_ranking(ranking, len(query_labels), len(db_labels), 1)[:, 0]]
    missed = top != query_labels
    if not missed.any():
        return MissSimilarity(float("nan"), float("nan"), 0, len(query_labels))
    class_counts = np.bincount(db_labels, minlength=n_classes).astype(np.float64)
    other_counts = class_counts.sum() - class_counts  # database items of another label, per label
    expected = (cosines @ class_counts - np.diag(cosines) * class_counts) / np.where(other_counts > 0, other_counts, 1)
    return MissSimilarity(
        similarity=float(cosines[query_labels[missed], top[missed]].mean()),
        random_similarity=float(expected[query_labels[missed]].mean()),
        n_misses=int(missed.sum()),
        n_queries=len(query_labels),
    )


def alignment(embeddings: np.ndarray, labels: np.ndarray, label_vectors: LabelVectors | np.ndarray) -> float:
    """Spearman correlation between class-centroid cosines and label-vector cosines.

    Centroids are means of the unit-normalised embeddings (N, D) of each class present in
    ``labels``; the upper triangles (pairs of distinct classes) of the two cosine matrices are
    compared. 1 means the embedding space orders class pairs exactly as the word vectors do.
    Needs at least 3 classes.
    """
    unit = unit_rows(embeddings, "embeddings")
    label_cos = similarity_matrix(label_vectors)
    labels = _label_rows(check_labels(labels, unit.shape[0], "labels"), label_cos.shape[0], "labels")
    classes, inverse = np.unique(labels, return_inverse=True)
    if classes.size < 3:
        raise ValueError(f"alignment needs embeddings of at least 3 classes, got {classes.size}")
    sums = np.zeros((classes.size, unit.shape[1]))
    np.add.at(sums, inverse, unit)
    centroids = unit_rows(sums, "class centroids")
    upper = np.triu_indices(classes.size, k=1)
    centroid_cos = (centroids @ centroids.T)[upper]
    return float(spearmanr(centroid_cos, label_cos[np.ix_(classes, classes)][upper]).statistic)
