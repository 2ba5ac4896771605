"""Zero-shot functions against hand-computed cases and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from doodlekit.data import CATEGORIES, DEFAULT_CATEGORIES
from doodlekit.retrieval import (
    choose_heldout,
    expected_random_map,
    fit_semantic_map,
    mean_average_precision,
    relevant_counts,
    zero_shot_accuracy,
    zero_shot_predict,
    zeroshot,
)
from doodlekit.semantics import LabelVectors, label_vectors

# Three unseen labels in 2-d: at 0, 90 and 45 degrees.
UNSEEN = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])


def test_predict_ranks_labels_by_cosine_not_length():
    embeddings = np.array([[5.0, 0.1], [0.2, 1.0], [1.0, 0.9]])
    assert zero_shot_predict(embeddings, UNSEEN, k=3).tolist() == [[0, 2, 1], [1, 2, 0], [2, 0, 1]]
    assert zero_shot_predict(embeddings, UNSEEN).shape == (3, 1)
    assert zero_shot_predict(embeddings, UNSEEN, k=10).shape == (3, 3)


def test_accuracy_hand_computed():
    embeddings = np.array([[5.0, 0.1], [0.2, 1.0], [1.0, 0.9], [1.0, -1.0]])
    labels = np.array([0, 2, 2, 1])
    # top-1: rows 0 and 2 right; top-2: row 1 too (2 is its second); row 3 (-45 deg) ranks 0, 2, 1.
    assert zero_shot_accuracy(embeddings, labels, UNSEEN) == pytest.approx(2 / 4)
    assert zero_shot_accuracy(embeddings, labels, UNSEEN, k=2) == pytest.approx(3 / 4)
    assert zero_shot_accuracy(embeddings, labels, UNSEEN, k=3) == 1.0
    with pytest.raises(ValueError, match="one per embedding"):
        zero_shot_accuracy(embeddings, labels[:3], UNSEEN)


def test_accuracy_takes_label_vectors_of_real_words():
    unseen = label_vectors("glove-6b-50d", ["lion", "train", "tree"])
    # The vectors of "cat", "car" and "flower" used as embeddings land on their unseen neighbours.
    near = label_vectors("glove-6b-50d", ["cat", "car", "flower"]).vectors
    assert zero_shot_predict(near, unseen)[:, 0].tolist() == [0, 1, 2]
    assert zero_shot_accuracy(near, np.array([0, 1, 2]), unseen) == 1.0


def test_expected_random_map_one_relevant_hand_computed():
    # One relevant item among 3, uniformly placed: AP = 1 / position, so E = (1 + 1/2 + 1/3) / 3.
    assert expected_random_map(np.array([0]), np.array([0, 1, 1]), k=3) == pytest.approx(11 / 18)
    # Cut at k = 2: the item beyond the cut scores 0.
    assert expected_random_map(np.array([0]), np.array([0, 1, 1]), k=2) == pytest.approx(1 / 2)
    # Everything relevant, or nothing relevant.
    assert expected_random_map(np.array([1, 1]), np.array([1, 1, 1, 1]), k=2) == pytest.approx(1.0)
    assert expected_random_map(np.array([2]), np.array([0, 1]), k=5) == 0.0


@pytest.mark.parametrize(("labels", "k"), [([0, 0, 1, 1, 1], 5), ([0, 0, 1, 1, 1, 2], 3), ([0, 1, 1, 1, 2, 2], 2)])
def test_expected_random_map_equals_the_mean_over_all_rankings(labels: list[int], k: int):
    labels = np.array(labels)
    n = labels.size
    # Leave-one-out: every item queries the others; average mAP@k over every ordering of them
    # (with k above the n - 1 candidates, the ranking holds all of them).
    maps = []
    for order in itertools.permutations(range(n - 1)):
        others = [[j for j in range(n) if j != q] for q in range(n)]
        ranking = np.array([[row[i] for i in order[:k]] for row in others])
        maps.append(mean_average_precision(ranking, labels, labels, queries_in_db=True))
    assert expected_random_map(labels, labels, k, queries_in_db=True) == pytest.approx(np.mean(maps))


def test_expected_random_map_separate_queries_matches_brute_force():
    db = np.array([0, 1, 0, 2])
    queries = np.array([0, 2, 1])
    maps = [mean_average_precision(np.tile(order, (3, 1))[:, :2], queries, db, 2)
            for order in map(np.array, itertools.permutations(range(4)))]
    assert expected_random_map(queries, db, 2) == pytest.approx(np.mean(maps))


def test_expected_random_map_counts_relevant_items_with_the_metrics_helper(monkeypatch: pytest.MonkeyPatch):
    assert relevant_counts(np.array([0, 2, 5]), np.array([0, 1, 0, 2])).tolist() == [2, 1, 0]
    assert relevant_counts(np.array([0, 2]), np.array([0, 1, 0, 2]), queries_in_db=True).tolist() == [1, 0]
    calls = []

    def counting(*args):
        calls.append(args)
        return relevant_counts(*args)

    monkeypatch.setattr(zeroshot, "relevant_counts", counting)
    assert expected_random_map(np.array([0]), np.array([0, 1, 1]), k=3) == pytest.approx(11 / 18)
    assert len(calls) == 1  # one way of counting R, shared with average_precision_at_k


def test_expected_random_map_rejects_bad_input():
    with pytest.raises(ValueError, match="every query label must occur"):
        expected_random_map(np.array([3]), np.array([0, 1]), 2, queries_in_db=True)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        expected_random_map(np.array([]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="positive integer"):
        expected_random_map(np.array([0]), np.array([0, 1]), 0)


def test_semantic_map_recovers_a_linear_relation():
    rng = np.random.default_rng(0)
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    labels = rng.integers(0, 3, 300)
    mixing = rng.standard_normal((2, 6))
    features = vectors[labels] @ mixing + 0.01 * rng.standard_normal((300, 6))
    model = fit_semantic_map(features, labels, vectors, alpha=1e-3)
    assert model.predict(features).shape == (300, 2)
    assert zero_shot_accuracy(model.predict(features), labels, vectors) == 1.0
    # An unseen label's vector mapped through the same mixing is named among unseen labels.
    unseen = np.array([[-1.0, 0.0], [0.0, -1.0]])
    assert zero_shot_predict(model.predict(unseen @ mixing), unseen)[:, 0].tolist() == [0, 1]
    with pytest.raises(ValueError, match="ints indexing the 3 rows"):
        fit_semantic_map(features, labels + 1, vectors)


def test_choose_heldout_hand_computed():
    # Two tight pairs (cat-dog, car-bus) and a loner (apple).
    names = ["cat", "dog", "car", "bus", "apple"]
    vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.8, 0.2], [0, 0, 1]])
    labels = LabelVectors(names, vectors, {name: "explicit" for name in names}, "hand-made")
    # cat and dog tie (label order wins), so dog stays seen; then car, keeping bus; then apple.
    assert choose_heldout(labels, 1) == ["cat"]
    assert choose_heldout(labels, 2) == ["cat", "car"]
    assert choose_heldout(labels, 4) == ["cat", "car", "apple"]  # dog and bus must stay seen


def test_choose_heldout_on_the_default_categories():
    labels = label_vectors("glove-6b-50d", DEFAULT_CATEGORIES)
    assert choose_heldout(labels, 3) == ["cat", "horse", "car"]  # cat and horse keep dog, car keeps train


def test_choose_heldout_breaks_the_tie_of_mutual_neighbours_by_label_order():
    """Two labels that are each other's nearest have one cosine both ways, however it is rounded:
    the first in label order is held out, in either order of the labels."""
    labels = label_vectors("googlenews-quickdraw345", CATEGORIES)
    unit = labels.vectors.astype(np.float64)
    cosines = unit @ unit.T
    np.fill_diagonal(cosines, -np.inf)
    rng = np.random.default_rng(0)
    for _ in range(40):  # with 30 labels, cosines computed one query at a time can differ in the last bit
        names = [CATEGORIES[i] for i in sorted(rng.choice(len(CATEGORIES), size=30, replace=False))]
        rows = [CATEGORIES.index(name) for name in names]
        j, k = np.unravel_index(np.argmax(cosines[np.ix_(rows, rows)]), (30, 30))  # the closest pair
        pair = {names[j], names[k]}
        assert choose_heldout(labels.subset(names), 1) == [min(pair, key=names.index)]
        assert choose_heldout(labels.subset(names[::-1]), 1) == [max(pair, key=names.index)]
