"""Honest answers: "not sure" scores and zero-shot guesses among all 345 names, measured.

For models trained with the lesson recipe (:data:`~doodlekit.experiments.lessons.LESSON`, adaptive
margin) on 15 (the lesson's), 24 (the defaults) and 41 categories (every bitmap category of the
offline mirror), each against GloVe 6B 50d and the GoogleNews word2vec table:

1. Open set (:mod:`doodlekit.model.openset`): the threshold of each model is chosen on its
   validation split against the calibration categories of :func:`~doodlekit.model.openset.heldout_split`
   (10 drawings each); reported on its test split against the *other* held-out categories (25
   drawings each, the mirror's bitmap categories it did not learn among them): AUROC of each score,
   and the rates of the chosen rule (known drawings answered, unknown ones refused).
2. Zero-shot (:func:`~doodlekit.semantics.vocabulary.label_ranks`): drawings of categories none of
   the models trained on (the test categories of the 41-category model, 25 drawings each) are
   placed among all 345 label vectors (a generalised zero-shot guess: the trained labels compete
   too) and among the labels the model did not train on only; top-1 and top-10 rate of the true
   name, with chance levels.

Unknown drawings are rendered from the simplified strokes with the dataset's own rasterizer, so
they are the bitmaps the dataset would hold. Models other than the shipped lesson reference are
trained here (about 20-60 s each on 2 CPU cores) and cached in ``DOODLEKIT_ARTIFACTS``.

Run: ``python benchmarks/open_set.py`` with ``DOODLEKIT_DATA`` (and ``DOODLEKIT_VECTORS`` for the
GoogleNews table if it is not built in); writes ``benchmarks/results/open_set.json``.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from doodlekit.data import DEFAULT_CATEGORIES, UNTUNED_CATEGORIES, write_json_atomic
from doodlekit.experiments import lessons
from doodlekit.model import (
    CALIBRATION_DRAWINGS,
    SCORES,
    TEST_DRAWINGS,
    auroc,
    calibrate,
    confidence_scores,
    embed,
    heldout_split,
    unknown_bitmaps,
)
from doodlekit.semantics import LabelVectors, all_label_vectors, label_ranks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "open_set.json"
#: Category lists by size: the lesson's, the defaults, every bitmap category of the mirror.
CATEGORY_SETS: dict[int, tuple[str, ...]] = {
    15: lessons.LESSON.categories,
    24: tuple(DEFAULT_CATEGORIES),
    41: tuple(sorted(DEFAULT_CATEGORIES + UNTUNED_CATEGORIES)),
}
VECTOR_SOURCES = ("glove-6b-50d", "googlenews-quickdraw345")


def open_set(trained: Any) -> dict[str, Any]:
    """Calibrate on the calibration categories, report on the test categories and split."""
    calibration, test = heldout_split(trained.categories)
    unknown_cal, _, missing_cal = unknown_bitmaps(calibration, CALIBRATION_DRAWINGS)
    rule = calibrate(trained.model, trained.label_vectors, trained.dataset("val").images, unknown_cal,
                     categories=len(calibration) - len(missing_cal))
    unknown, _, missing = unknown_bitmaps(test, TEST_DRAWINGS)
    known = confidence_scores(trained.model, trained.dataset("test").images, trained.label_vectors)
    scores = confidence_scores(trained.model, unknown, trained.label_vectors)
    return {
        "rule": rule.to_dict(),
        "test_auroc": {name: round(auroc(known[name], scores[name]), 4) for name in SCORES},
        "test_known_answered": round(float((known[rule.score] >= rule.threshold).mean()), 4),
        "test_unknown_refused": round(float((scores[rule.score] < rule.threshold).mean()), 4),
        "test_known_drawings": int(len(known[rule.score])),
        "test_unknown_drawings": int(len(unknown)),
        "test_unknown_categories": len(test) - len(missing),
        "missing_categories": sorted(set(missing_cal) | set(missing)),
    }


def zero_shot(trained: Any, every: LabelVectors, images: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Top-1 / top-10 rate of the true name among all labels and among the untrained labels only."""
    embeddings = embed(trained.model, images)
    unseen = LabelVectors(
        [name for name in every.categories if name not in trained.categories],
        np.stack([every.vectors[every.index(name)] for name in every.categories if name not in trained.categories]),
        {name: every.how[name] for name in every.categories if name not in trained.categories},
        every.source,
    )
    result = {}
    for key, labels in (("all_345", every), ("unseen_only", unseen)):
        ranks = label_ranks(embeddings, names, labels)
        result[key] = {
            "candidates": len(labels.categories),
            "top1": round(float((ranks == 1).mean()), 4),
            "top10": round(float((ranks <= 10).mean()), 4),
            "median_rank": float(np.median(ranks)),
            "chance_top1": round(1 / len(labels.categories), 4),
            "chance_top10": round(10 / len(labels.categories), 4),
        }
    return result


def main() -> dict[str, Any]:
    """Train or load the six models, measure, write and return the results."""
    os.environ.setdefault(lessons.ENV_VAR, str(ROOT / "notebooks" / "artifacts"))
    _, shared_test = heldout_split(CATEGORY_SETS[41])
    images, labels, missing = unknown_bitmaps(shared_test, TEST_DRAWINGS)
    names = [shared_test[i] for i in labels]
    rows = []
    for count, categories in CATEGORY_SETS.items():
        for vectors in VECTOR_SOURCES:
            trained = lessons.trained(categories=categories, vectors=vectors)
            rows.append({
                "categories": count,
                "vectors": vectors,
                "open_set": open_set(trained),
                "zero_shot": zero_shot(trained, all_label_vectors(vectors), images, names),
            })
            print(json.dumps({key: rows[-1][key] for key in ("categories", "vectors")}), flush=True)
    result = {
        "what": "open-set scores and zero-shot naming among all 345 labels of lesson-recipe models (adaptive margin)",
        "recipe": {"variant": "adaptive_margin",
                   **{key: value for key, value in asdict(lessons.LESSON).items() if key != "categories"}},
        "zero_shot_drawings": int(len(images)),
        "zero_shot_categories": len(shared_test) - len(missing),
        "models": rows,
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count()},
    }
    write_json_atomic(RESULTS, result)
    return result


if __name__ == "__main__":
    out = main()
    for row in out["models"]:
        print(row["categories"], row["vectors"], json.dumps(row["open_set"]["test_auroc"]),
              row["open_set"]["rule"]["score"], row["open_set"]["test_known_answered"],
              row["open_set"]["test_unknown_refused"], json.dumps(row["zero_shot"]))
    print("->", RESULTS)
