"""Metrics against hand-computed cases, plus properties (perfect ranking -> 1, ...)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from doodlekit.model import topk_accuracy
from doodlekit.retrieval import (
    alignment,
    average_precision_at_k,
    cosine_rank,
    drop_self,
    hamming_rank,
    mean_average_precision,
    mean_average_precision_deephash,
    miss_similarity,
    precision_at_k,
    precision_within_radius,
    retrieval_report,
    semantic_precision_at_k,
)

# Two queries, five database items (labels 0 1 0 1 0).
DB_LABELS = np.array([0, 1, 0, 1, 0])
QUERY_LABELS = np.array([0, 1])
RANKING = np.array([[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]])

# Label vectors in 2-d: cos(0, 1) = 0, cos(0, 2) = cos(1, 2) = 1/sqrt(2).
LABEL_VECTORS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
R2 = 1 / math.sqrt(2)


def test_topk_accuracy_hand_computed():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    labels = np.array([1, 1, 0])
    assert topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)  # only row 0 is right
    assert topk_accuracy(scores, labels, 2) == pytest.approx(1.0)  # row 1: 2nd; row 2: tie 0.2/0.2 -> class 0 first
    with pytest.raises(ValueError, match="exceeds the 3 classes"):
        topk_accuracy(scores, labels, 5)


def test_average_precision_hand_computed():
    # query 0: relevant at ranks 1, 3, 5 -> (1 + 2/3 + 3/5) / min(5, R=3) = 34/45
    # query 1: relevant at ranks 2, 4 -> (1/2 + 2/4) / min(5, R=2) = 1/2
    np.testing.assert_allclose(average_precision_at_k(RANKING, QUERY_LABELS, DB_LABELS), [34 / 45, 1 / 2])
    assert mean_average_precision(RANKING, QUERY_LABELS, DB_LABELS) == pytest.approx((34 / 45 + 1 / 2) / 2)
    # k = 3: query 0 (1 + 2/3) / min(3, 3) = 5/9; query 1 (1/2) / min(3, 2) = 1/4
    np.testing.assert_allclose(average_precision_at_k(RANKING, QUERY_LABELS, DB_LABELS, 3), [5 / 9, 1 / 4])


def test_average_precision_leave_one_out_counts_one_relevant_item_fewer():
    # the queries are db items 0 (label 0) and 1 (label 1), removed from their rankings
    ranking = np.array([[2, 1, 4, 3], [3, 0, 2, 4]])
    # query 0: R = 3 - 1 = 2, relevant at ranks 1, 3 -> (1 + 2/3) / 2 = 5/6
    # query 1: R = 2 - 1 = 1, relevant at rank 1 -> 1 / 1
    np.testing.assert_allclose(
        average_precision_at_k(ranking, QUERY_LABELS, DB_LABELS, queries_in_db=True), [5 / 6, 1.0]
    )


def test_average_precision_is_zero_without_relevant_items():
    assert average_precision_at_k(np.array([[0, 1]]), np.array([7]), DB_LABELS).tolist() == [0.0]


def test_precision_at_k_hand_computed():
    assert precision_at_k(RANKING, QUERY_LABELS, DB_LABELS, 3) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert precision_at_k(RANKING, QUERY_LABELS, DB_LABELS, 1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="rank with a larger k"):
        precision_at_k(RANKING, QUERY_LABELS, DB_LABELS, 6)


def test_perfect_and_worst_rankings():
    rng = np.random.default_rng(0)
    db_labels = rng.integers(0, 4, size=60)
    query_labels = rng.integers(0, 4, size=10)
    relevant_first = np.argsort(db_labels[None, :] != query_labels[:, None], axis=1, kind="stable")
    assert mean_average_precision(relevant_first, query_labels, db_labels, 10) == pytest.approx(1.0)
    assert mean_average_precision(relevant_first, query_labels, db_labels) == pytest.approx(1.0)
    assert mean_average_precision(relevant_first[:, ::-1], query_labels, db_labels, 10) < 1.0
    assert mean_average_precision(relevant_first[:, ::-1], query_labels, db_labels, 5) == 0.0
    shuffled = rng.permuted(relevant_first, axis=1)
    assert 0 < mean_average_precision(shuffled, query_labels, db_labels, 20) < 1


def test_rankings_outside_the_database_are_rejected():
    with pytest.raises(ValueError, match="outside the database of 5 items"):
        mean_average_precision(RANKING + 1, QUERY_LABELS, DB_LABELS)


def test_drop_self():
    ranking = np.array([[3, 0, 1], [2, 0, 4], [5, 6, 1]])
    assert drop_self(ranking, np.array([0, 2, 9])).tolist() == [[3, 1], [0, 4], [5, 6]]


def test_precision_within_radius_hand_computed():
    db_codes = np.array([[0b0000], [0b0001], [0b0011], [0b0111], [0b1010]], dtype=np.uint8)  # 0 1 2 3 2 bits
    db_labels = np.array([0, 1, 0, 0, 1])
    queries = np.array([[0b0000], [0b1111_0000]], dtype=np.uint8)  # the 2nd is >= 4 bits from all
    # query 0 (label 0): items 0, 1, 2, 4 within 2 bits, 0 and 2 relevant -> 1/2; query 1: empty ball -> 0
    assert precision_within_radius(queries, db_codes, np.array([0, 0]), db_labels, 2) == pytest.approx(0.25)
    # radius 0: query 0 sees only item 0 (relevant) -> 1
    assert precision_within_radius(queries, db_codes, np.array([0, 0]), db_labels, 0) == pytest.approx(0.5)
    # leave-one-out: query = db item 0 (label 0) -> ball {1, 2, 4}, relevant {2} -> 1/3
    assert precision_within_radius(db_codes[:1], db_codes, db_labels[:1], db_labels, 2, query_ids=np.array([0])) == (
        pytest.approx(1 / 3)
    )


def test_semantic_precision_hand_computed():
    db_labels = np.array([0, 1, 2])
    ranking = np.array([[0, 2], [1, 0]])
    # query label 0: cos(0, 0) = 1, cos(0, 2) = 1/sqrt(2); query label 1: cos(1, 1) = 1, cos(1, 0) = 0
    expected = (1 + R2 + 1 + 0) / 4
    assert semantic_precision_at_k(ranking, np.array([0, 1]), db_labels, LABEL_VECTORS) == pytest.approx(expected)
    assert semantic_precision_at_k(ranking, np.array([0, 1]), db_labels, LABEL_VECTORS, 1) == pytest.approx(1.0)


def test_miss_similarity_hand_computed():
    db_labels = np.array([0, 1, 2, 2])
    ranking = np.array([[2], [0], [1]])  # tops: label 2, label 0, label 1
    got = miss_similarity(ranking, np.array([0, 1, 1]), db_labels, LABEL_VECTORS)
    # misses: query 0 -> 2 (1/sqrt 2); query 1 -> 0 (0); query 2 is a hit
    assert (got.n_misses, got.n_queries) == (2, 3)
    assert got.similarity == pytest.approx((R2 + 0) / 2)
    # chance for label 0: random other-label item is label 1 (1 item) or 2 (2 items): (0 + 2/sqrt 2) / 3;
    # for label 1: label 0 (1 item) or 2 (2 items): (0 + 2/sqrt 2) / 3
    assert got.random_similarity == pytest.approx(2 * R2 / 3)


def test_miss_similarity_without_misses_is_nan():
    got = miss_similarity(np.array([[0]]), np.array([0]), np.array([0, 1]), LABEL_VECTORS)
    assert got.n_misses == 0 and math.isnan(got.similarity) and math.isnan(got.random_similarity)


def test_alignment_is_one_when_centroids_are_the_label_vectors():
    vectors = np.random.default_rng(1).standard_normal((6, 8))
    labels = np.repeat(np.arange(6), 3)
    assert alignment(vectors[labels], labels, vectors) == pytest.approx(1.0)
    permuted = vectors[[1, 2, 3, 4, 5, 0]]
    assert alignment(permuted[labels], labels, vectors) < 0.9
    with pytest.raises(ValueError, match="at least 3 classes"):
        alignment(vectors[:2], np.array([0, 1]), vectors)


def test_cosine_rank_orders_by_cosine_and_ties_by_position():
    db = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    similarities, indices = cosine_rank(np.array([[3.0, 0.0]]), db, 3)
    assert indices.tolist() == [[0, 2, 3]]  # items 0 and 2 tie at cosine 1
    np.testing.assert_allclose(similarities, [[1.0, 1.0, R2]], rtol=1e-6)
    with pytest.raises(ValueError, match="all-zero"):
        cosine_rank(np.zeros((1, 2)), db, 1)


def _clustered(seed: int = 0):
    rng = np.random.default_rng(seed)
    label_vectors = rng.standard_normal((5, 16))
    labels = np.repeat(np.arange(5), 60)
    embeddings = label_vectors[labels] + 0.6 * rng.standard_normal((labels.size, 16))
    return embeddings.astype(np.float32), labels, label_vectors


def test_retrieval_report_agrees_with_the_metric_functions():
    embeddings, labels, label_vectors = _clustered()
    query_ids = np.arange(0, 300, 7)
    report = retrieval_report(embeddings, labels, None, None, label_vectors, query_ids=query_ids, bits=(16, 64), k=20)
    ranking = drop_self(cosine_rank(embeddings[query_ids], embeddings, 21)[1], query_ids)
    assert report.cosine.map == pytest.approx(
        mean_average_precision(ranking, labels[query_ids], labels, queries_in_db=True)
    )
    assert set(report.hashed) == {16, 64} and report.n_queries == query_ids.size
    assert 0.5 < report.cosine.map <= 1 and 0 < report.hashed[64].map <= 1
    assert report.hashed[64].precision_radius is not None and report.alignment > 0.5
    for scores in (report.cosine, *report.hashed.values()):
        assert scores.semantic_precision is not None
        assert (scores.miss_similarity is None) == (scores.random_miss_similarity is None) == (scores.n_misses == 0)
    json.dumps(report.to_dict())


def test_retrieval_report_with_separate_queries_lsh_and_pq():
    embeddings, labels, label_vectors = _clustered()
    queries, query_labels = embeddings[::10] + 0.01, labels[::10]
    lsh = retrieval_report(embeddings, labels, queries, query_labels, bits=(32,), hasher="lsh", k=10)
    assert lsh.n_queries == 30 and lsh.cosine.semantic_precision is None
    assert lsh.map_ratio(32) == pytest.approx(lsh.hashed[32].map / lsh.cosine.map)
    pq = retrieval_report(embeddings, labels, queries, query_labels, label_vectors, bits=(32,), hasher="pq", k=10)
    assert pq.hashed[32].precision_radius is None and 0 < pq.hashed[32].map <= 1
    with pytest.raises(ValueError, match="query_labels too"):
        retrieval_report(embeddings, labels, queries, None)
    with pytest.raises(ValueError, match="unknown hasher 'sha256'; use one of 'itq', 'lsh', 'pq'"):
        retrieval_report(embeddings, labels, hasher="sha256")
    with pytest.raises(ValueError, match=r"database rows in \[0, 300\)"):
        retrieval_report(embeddings, labels, query_ids=np.array([0, 300]))


def test_hash_and_float_rankings_feed_the_same_metrics():
    labels = np.repeat(np.arange(4), 5)
    one_hot = np.eye(4)[labels]
    codes = np.packbits(np.repeat(one_hot, 2, axis=1).astype(bool), axis=1)  # one 8-bit code per class
    _, hash_ranking = hamming_rank(codes, codes, 5)
    _, float_ranking = cosine_rank(one_hot, one_hot, 5)
    np.testing.assert_array_equal(hash_ranking, float_ranking)  # same-class items first, by position
    assert mean_average_precision(hash_ranking, labels, labels) == pytest.approx(1.0)


def test_semantic_metrics_need_labels_that_index_the_label_vectors():
    with pytest.raises(ValueError, match="indexing the 3 rows"):
        semantic_precision_at_k(np.array([[0]]), np.array([3]), np.array([0]), LABEL_VECTORS)


def _port_deephash_get_maps(q_output, q_labels, db_output, db_labels, Rs):
    """thulab/DeepHash, DeepHash/evaluation/__init__.py lines 8-23 (``get_mAPs``, inner-product distance)."""
    dist = -q_output @ db_output.T
    unsorted_ids = np.argpartition(dist, Rs - 1)[:, :Rs]
    APx = []
    for i in range(dist.shape[0]):
        label = q_labels[i, :].copy()
        label[label == 0] = -1
        idx = unsorted_ids[i, :]
        idx = idx[np.argsort(dist[i, :][idx])]
        imatch = np.sum(np.equal(db_labels[idx[0:Rs], :], label), 1) > 0
        rel = np.sum(imatch)
        Lx = np.cumsum(imatch)
        Px = Lx.astype(float) / np.arange(1, Rs + 1, 1)
        if rel != 0:
            APx.append(np.sum(Px * imatch) / rel)
    return np.mean(np.array(APx))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deephash_map_matches_a_port_of_deephash(seed: int):
    rng = np.random.default_rng(seed)
    db, queries = rng.standard_normal((300, 8)), rng.standard_normal((40, 8))
    db_labels, query_labels = rng.integers(0, 12, 300), rng.integers(0, 12, 40)
    ranking = np.argsort(-(queries @ db.T), axis=1, kind="stable")[:, :20]
    eye = np.eye(12)
    port = _port_deephash_get_maps(queries, eye[query_labels], db, eye[db_labels], 20)
    ours = mean_average_precision_deephash(ranking, query_labels, db_labels)
    assert ours == pytest.approx(port, rel=1e-12)
    assert ours >= mean_average_precision(ranking, query_labels, db_labels)  # never less than the kit's


def test_deephash_map_drops_queries_without_hits():
    # query 0 finds its class at ranks 1 and 3 (AP = (1 + 2/3) / 2), query 1 finds nothing (dropped)
    ranking = np.array([[0, 1, 2], [0, 1, 2]])
    assert mean_average_precision_deephash(ranking, np.array([1, 5]), np.array([1, 2, 1])) == pytest.approx(5 / 6)
    assert mean_average_precision_deephash(ranking, np.array([5, 5]), np.array([1, 2, 1])) == 0.0
