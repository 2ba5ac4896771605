"""One call that measures retrieval: float cosine search and hashed codes of several lengths,
mAP@k, precision, and the semantic measures (:func:`retrieval_report`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from doodlekit.defaults import BITS, K
from doodlekit.retrieval.arrays import check_k
from doodlekit.retrieval.hamming import hamming_rank
from doodlekit.retrieval.hashers import HasherName, ProductQuantizer, hasher_class
from doodlekit.retrieval.metrics import (
    alignment,
    check_labels,
    cosine_rank,
    drop_self,
    mean_average_precision,
    miss_similarity,
    precision_at_k,
    precision_within_radius,
    semantic_precision_at_k,
)
from doodlekit.semantics.labels import LabelVectors


@dataclass(frozen=True)
class RetrievalScores:
    """Retrieval numbers of one ranking method (float cosine or one code width).

    Attributes: ``map`` (mAP@k), ``precision`` (precision@k), ``precision_radius`` (precision within
    the Hamming radius; None for float and PQ), ``semantic_precision`` (semantic precision@k),
    ``miss_similarity`` / ``random_miss_similarity`` / ``n_misses`` (see :class:`MissSimilarity`);
    semantic fields are None without label vectors, the two miss similarities also without misses.
    """

    map: float
    precision: float
    precision_radius: float | None = None
    semantic_precision: float | None = None
    miss_similarity: float | None = None
    random_miss_similarity: float | None = None
    n_misses: int | None = None


@dataclass(frozen=True)
class RetrievalReport:
    """Float and hashed retrieval numbers computed by :func:`retrieval_report`.

    Attributes:
        cosine: scores of the float cosine brute-force ranking (the baseline).
        hashed: scores per code width in bits.
        alignment: :func:`alignment` of the database embeddings (None without label vectors).
        hasher, k, radius, n_queries, n_database: the settings and sizes used.
    """

    cosine: RetrievalScores
    hashed: dict[int, RetrievalScores]
    alignment: float | None
    hasher: str
    k: int
    radius: int
    n_queries: int
    n_database: int

    def map_ratio(self, n_bits: int) -> float | None:
        """Hashed mAP@k at ``n_bits`` as a fraction of the float mAP@k (None when that is 0)."""
        return self.hashed[n_bits].map / self.cosine.map if self.cosine.map else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (hashed keyed by str(bits), each with its ``map_ratio``)."""
        out = asdict(self)
        out["hashed"] = {str(bits): {**asdict(s), "map_ratio": self.map_ratio(bits)} for bits, s in self.hashed.items()}
        return out


def _scores(
    ranking: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    label_vectors: LabelVectors | np.ndarray | None,
    queries_in_db: bool,
    precision_radius: float | None = None,
) -> RetrievalScores:
    semantic: dict[str, Any] = {}
    if label_vectors is not None:
        misses = miss_similarity(ranking, query_labels, db_labels, label_vectors)
        semantic = {
            "semantic_precision": semantic_precision_at_k(ranking, query_labels, db_labels, label_vectors),
            "miss_similarity": misses.similarity if misses.n_misses else None,
            "random_miss_similarity": misses.random_similarity if misses.n_misses else None,
            "n_misses": misses.n_misses,
        }
    return RetrievalScores(
        map=mean_average_precision(ranking, query_labels, db_labels, queries_in_db=queries_in_db),
        precision=precision_at_k(ranking, query_labels, db_labels),
        precision_radius=precision_radius,
        **semantic,
    )


def retrieval_report(
    db_embeddings: np.ndarray,
    db_labels: np.ndarray,
    query_embeddings: np.ndarray | None = None,
    query_labels: np.ndarray | None = None,
    label_vectors: LabelVectors | np.ndarray | None = None,
    *,
    query_ids: np.ndarray | None = None,
    bits: Sequence[int] = BITS,
    hasher: HasherName = "itq",
    k: int = K,
    radius: int = 2,
    seed: int = 0,
) -> RetrievalReport:
    """Float cosine and hashed retrieval numbers in one call.

    The hasher (a name in :data:`~doodlekit.retrieval.HASHERS`: "itq", "lsh" or "pq") is fitted
    on the database embeddings for each width in ``bits``; binary codes are ranked by Hamming
    distance, PQ codes by asymmetric distance.

    Args:
        db_embeddings: (N, D) float; db_labels: (N,) int labels (rows of ``label_vectors``).
        query_embeddings, query_labels: separate queries (Q, D) and (Q,); when omitted, the
            database items at ``query_ids`` (default: all) are the queries, leave-one-out.
        label_vectors: (C, D') label vectors for the semantic metrics and alignment; optional.
        query_ids: leave-one-out queries as database rows; only without ``query_embeddings``.
        bits: code widths; hasher: which hasher; k: ranking cut-off; radius: Hamming radius.
        seed: ``random_state`` of every hasher.
    """
    db_embeddings = np.asarray(db_embeddings)
    db_labels = check_labels(db_labels, db_embeddings.shape[0], "db_labels")
    kind = hasher_class(hasher)
    leave_one_out = query_embeddings is None
    if leave_one_out:
        query_ids = np.arange(len(db_labels)) if query_ids is None else np.asarray(query_ids)
        if (
            query_ids.ndim != 1
            or query_ids.dtype.kind not in "iu"
            or (query_ids.size and (query_ids.min() < 0 or query_ids.max() >= len(db_labels)))
        ):
            raise ValueError(f"query_ids must be a 1-D array of database rows in [0, {len(db_labels)})")
        query_embeddings, query_labels = db_embeddings[query_ids], db_labels[query_ids]
    elif query_ids is not None or query_labels is None:
        raise ValueError("with query_embeddings pass query_labels too, and no query_ids (those are for leave-one-out)")
    query_embeddings = np.asarray(query_embeddings)
    query_labels = check_labels(query_labels, query_embeddings.shape[0], "query_labels")
    width = check_k(k) + int(leave_one_out)

    def finish(ranking: np.ndarray) -> np.ndarray:
        return drop_self(ranking, query_ids) if leave_one_out else ranking

    common = (query_labels, db_labels, label_vectors, leave_one_out)
    cosine = _scores(finish(cosine_rank(query_embeddings, db_embeddings, width)[1]), *common)
    hashed = {}
    for n_bits in bits:
        model = kind(n_bits, random_state=seed).fit(db_embeddings)
        db_codes = model.transform(db_embeddings)
        if isinstance(model, ProductQuantizer):
            hashed[n_bits] = _scores(finish(model.search(query_embeddings, db_codes, width)[1]), *common)
            continue
        query_codes = db_codes[query_ids] if leave_one_out else model.transform(query_embeddings)
        in_radius = precision_within_radius(query_codes, db_codes, query_labels, db_labels, radius, query_ids=query_ids)
        ranking = finish(hamming_rank(query_codes, db_codes, width)[1])
        hashed[n_bits] = _scores(ranking, *common, precision_radius=in_radius)
    return RetrievalReport(
        cosine=cosine,
        hashed=hashed,
        alignment=None if label_vectors is None else alignment(db_embeddings, db_labels, label_vectors),
        hasher=hasher,
        k=int(k),
        radius=int(radius),
        n_queries=len(query_labels),
        n_database=len(db_labels),
    )
