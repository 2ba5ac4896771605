"""doodlekit.model.openset and doodlekit.semantics.vocabulary: "not sure" scores and all-345 label vectors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_search import TINY, tiny_artifacts_dir

from doodlekit.data import CATEGORIES, DEFAULT_CATEGORIES, UNTUNED_CATEGORIES, load_drawings, rasterize_many
from doodlekit.experiments import lessons
from doodlekit.model import (
    SCORES,
    OpenSetRule,
    auroc,
    calibrate,
    choose_threshold,
    confidence_scores,
    heldout_split,
    scores_from_outputs,
    unknown_bitmaps,
)
from doodlekit.model.training import Trained
from doodlekit.semantics import COMPOUND_PARTS, LabelVectors, all_label_vectors, label_ranks

MIRROR = set(DEFAULT_CATEGORIES) | set(UNTUNED_CATEGORIES)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Iterator[Trained]:
    """The tiny lesson model (trained once per session, shared with test_search.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lessons.ENV_VAR, str(tiny_artifacts_dir(tmp_path_factory)))
        yield lessons.trained(**TINY)


def test_auroc_and_threshold_on_known_values() -> None:
    assert auroc([3.0, 4.0], [1.0, 2.0]) == 1.0 and auroc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert auroc([1.0], [1.0]) == 0.5
    assert choose_threshold([0.9, 0.8, 0.7], [0.1, 0.75]) == 0.8  # 2/3 answered, 0 let in
    assert choose_threshold([1.0, 2.0], [1.0, 2.0]) == 1.0  # no separation: the lowest threshold
    with pytest.raises(ValueError, match="at least one known and one unknown"):
        auroc([], [1.0])


def test_scores_from_outputs() -> None:
    labels = LabelVectors(["cat", "dog"], np.eye(2), {"cat": "explicit", "dog": "explicit"}, "test")
    scores = scores_from_outputs(np.array([[2.0, 0.0], [0.0, 0.0]]), np.array([[3.0, 0.0], [1.0, 1.0]]), labels)
    assert set(scores) == set(SCORES)
    np.testing.assert_allclose(scores["max_softmax"], [math.exp(2) / (math.exp(2) + 1), 0.5])
    np.testing.assert_allclose(scores["energy"], [math.log(math.exp(2) + 1), math.log(2)])
    np.testing.assert_allclose(scores["label_cosine"], [1.0, math.sqrt(0.5)])


def test_rule_says_unsure_below_its_threshold_and_round_trips() -> None:
    rule = OpenSetRule("energy", 2.0, {"energy": 0.8}, 0.7, 0.8, 10)
    np.testing.assert_array_equal(rule.unsure({"energy": np.array([1.0, 2.0, 3.0])}), [True, False, False])
    assert OpenSetRule.from_dict(rule.to_dict()) == rule
    with pytest.raises(ValueError, match="unknown open-set score 'entropy'"):
        OpenSetRule("entropy", 0.0)


def test_heldout_split_keeps_the_kits_bitmap_categories_out_of_calibration() -> None:
    known = lessons.LESSON.categories
    calibration, test = heldout_split(known)
    assert not set(calibration) & set(test) and not (set(calibration) | set(test)) & set(known)
    assert set(calibration) | set(test) | set(known) == set(CATEGORIES)
    assert not set(calibration) & MIRROR and {"house", "lion", "tree"} <= set(test)
    assert abs(len(calibration) - len(set(test) - MIRROR)) <= 1


@pytest.mark.usefixtures("mirror")
def test_unknown_bitmaps_render_the_strokes_and_report_missing_files() -> None:
    images, labels, missing = unknown_bitmaps(["house", "zigzag", "lion"], 3)
    assert missing == ["zigzag"]  # the offline mirror has no simplified zigzag
    np.testing.assert_array_equal(labels, [0, 0, 0, 2, 2, 2])
    expected = rasterize_many([r["drawing"] for c in ("house", "lion") for r in load_drawings(c, 3, progress=False)])
    np.testing.assert_array_equal(images, expected)


def test_calibrated_rule_refuses_unseen_categories_more_than_known_ones(tiny: Trained) -> None:
    """Real data: chosen on the calibration categories, checked on the other held-out ones."""
    calibration, test = heldout_split(tiny.categories)
    unknown, _, missing = unknown_bitmaps(calibration[::4], 5)
    rule = calibrate(tiny.model, tiny.label_vectors, tiny.dataset("val").images, unknown,
                     categories=len(calibration[::4]) - len(missing))
    assert rule.score == max(SCORES, key=lambda name: (rule.auroc[name], -SCORES.index(name)))
    assert rule.auroc[rule.score] > 0.6 and rule.known_accepted + rule.unknown_refused > 1.2
    held_out, _, _ = unknown_bitmaps([name for name in test if name in MIRROR], 10)
    known = confidence_scores(tiny.model, tiny.dataset("test").images, tiny.label_vectors)
    unseen = confidence_scores(tiny.model, held_out, tiny.label_vectors)
    assert auroc(known[rule.score], unseen[rule.score]) > 0.6
    assert rule.unsure(unseen).mean() > rule.unsure(known).mean() + 0.2


def test_all_label_vectors_cover_every_category_and_rank_the_true_name() -> None:
    glove = all_label_vectors("glove-6b-50d")
    assert glove.categories == list(CATEGORIES) and glove.vectors.shape == (345, 50)
    assert glove.how["bottlecap"] == "explicit" and COMPOUND_PARTS["bottlecap"] == ("bottle", "cap")
    ranks = label_ranks(glove.vectors[[0, 7]] * 3, [glove.categories[0], glove.categories[7]], glove)
    np.testing.assert_array_equal(ranks, [1, 1])
    opposite = label_ranks(-glove.vectors[[0]], [glove.categories[0]], glove)
    assert opposite[0] == 345
    with pytest.raises(ValueError, match=r"embeddings must be \(N, 50\)"):
        label_ranks(np.ones((2, 3)), ["cat", "dog"], glove)
