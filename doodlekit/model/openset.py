"""Open-set recognition: is a drawing one of the model's categories at all?

A classifier trained on C categories names one of them for any drawing, a house included. Three
confidence scores per drawing, higher meaning "more likely one of the known categories":

* ``"max_softmax"``: the largest class probability (Hendrycks and Gimpel, ICLR 2017);
* ``"energy"``: the log-sum-exp of the logits, minus the free energy (Liu et al., NeurIPS 2020);
* ``"label_cosine"``: the cosine of the semantic head's embedding to the nearest label vector of
  the known categories.

:func:`auroc` says how well a score separates drawings of known categories from drawings of
categories the model never saw; :func:`calibrate` chooses the score and its threshold on
*held-out* categories (:func:`heldout_split`), never on the ones a result is reported on, and
returns an :class:`OpenSetRule` that says "not sure" below the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from doodlekit.data.categories import CATEGORIES, DEFAULT_CATEGORIES, UNTUNED_CATEGORIES
from doodlekit.data.raster import rasterize_many
from doodlekit.data.settings import Settings
from doodlekit.errors import DataNotFoundError, DownloadError
from doodlekit.model.inference import infer
from doodlekit.model.network import DoodleNet
from doodlekit.semantics.labels import LabelVectors, unit_rows

#: The confidence scores, each higher for drawings that look like a known category.
SCORES = ("max_softmax", "energy", "label_cosine")
#: Simplified drawings per held-out category that :func:`calibrate` renders to choose a threshold.
CALIBRATION_DRAWINGS = 10
#: Simplified drawings per held-out category that results are reported on.
TEST_DRAWINGS = 25
#: The kit's 41 bitmap categories (the lessons' and the reproduction's): held out from calibration,
#: so that the demo drawings of the ones a model did not learn (a house, a lion) are test drawings.
_BITMAP_CATEGORIES = frozenset(DEFAULT_CATEGORIES) | frozenset(UNTUNED_CATEGORIES)


def scores_from_outputs(
    logits: np.ndarray, embeddings: np.ndarray, label_vectors: LabelVectors
) -> dict[str, np.ndarray]:
    """The :data:`SCORES` of drawings from the network's outputs.

    Args:
        logits: (N, C) class logits.
        embeddings: (N, D) semantic-head outputs, in the label vectors' space.
        label_vectors: the C known labels.

    Returns:
        score name -> (N,) float64.
    """
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1)
    energy = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    cosines = unit_rows(np.asarray(embeddings, dtype=np.float64), "embeddings", dtype=np.float64) @ np.asarray(
        label_vectors.vectors, dtype=np.float64
    ).T
    return {"max_softmax": np.exp(top - energy), "energy": energy, "label_cosine": cosines.max(axis=1)}


def confidence_scores(model: DoodleNet, images: np.ndarray, label_vectors: LabelVectors) -> dict[str, np.ndarray]:
    """The :data:`SCORES` of (N, 28, 28) uint8 bitmaps: score name -> (N,) float64 (one forward pass)."""
    logits, embeddings = (out.numpy() for out in infer(model, images, lambda net, x: net(x)))
    return scores_from_outputs(logits, embeddings, label_vectors)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Area under the ROC curve of a score: the probability that a drawing of a known category scores
    above one of an unknown category (ties count half); 0.5 is chance, 1.0 perfect separation."""
    known, unknown = np.asarray(known, dtype=np.float64), np.asarray(unknown, dtype=np.float64)
    if not known.size or not unknown.size:
        raise ValueError("auroc needs at least one known and one unknown score")
    truth = np.concatenate([np.ones(known.size), np.zeros(unknown.size)])
    return float(roc_auc_score(truth, np.concatenate([known, unknown])))


def choose_threshold(known: np.ndarray, unknown: np.ndarray) -> float:
    """The threshold t that maximises (known scores >= t) - (unknown scores >= t) rates (Youden's J).

    Candidates are the observed scores; ties go to the lowest threshold (fewer known drawings refused).
    """
    known, unknown = np.sort(np.asarray(known, dtype=np.float64)), np.sort(np.asarray(unknown, dtype=np.float64))
    candidates = np.unique(np.concatenate([known, unknown]))
    accepted = 1 - np.searchsorted(known, candidates, side="left") / known.size
    let_in = 1 - np.searchsorted(unknown, candidates, side="left") / unknown.size
    return float(candidates[int(np.argmax(accepted - let_in))])


@dataclass(frozen=True)
class OpenSetRule:
    """Say "not sure" when a drawing's ``score`` is below ``threshold``.

    Attributes:
        score: one of :data:`SCORES`.
        threshold: the least score of an answer given with confidence.
        auroc: score name -> AUROC on the calibration drawings (known: validation split; unknown:
            the calibration categories of :func:`heldout_split`).
        known_accepted: fraction of the known calibration drawings at or above the threshold.
        unknown_refused: fraction of the unknown calibration drawings below it.
        calibration_categories: how many held-out categories the threshold was chosen on.
    """

    score: str
    threshold: float
    auroc: dict[str, float] = field(default_factory=dict)
    known_accepted: float = float("nan")
    unknown_refused: float = float("nan")
    calibration_categories: int = 0

    def __post_init__(self) -> None:
        if self.score not in SCORES:
            raise ValueError(f"unknown open-set score {self.score!r}; use one of {SCORES}")

    def unsure(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        """(N,) bool: True where the drawing's score is below the threshold."""
        return np.asarray(scores[self.score]) < self.threshold

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready values (:meth:`from_dict` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> OpenSetRule:
        """A rule from :meth:`to_dict`'s values."""
        return cls(**values)


def heldout_split(known: Iterable[str]) -> tuple[list[str], list[str]]:
    """Categories a model did not train on, as (calibration, test), official order.

    The kit's 41 bitmap categories that are not ``known`` are all test categories (so a demo
    drawing of one of them never chose the threshold); the other unknown categories alternate,
    the first to calibration, the next to test.
    """
    known = set(known)
    others = [name for name in CATEGORIES if name not in known and name not in _BITMAP_CATEGORIES]
    test = sorted([name for name in CATEGORIES if name not in known and name in _BITMAP_CATEGORIES] + others[1::2],
                  key=CATEGORIES.index)
    return others[::2], test


def unknown_bitmaps(
    categories: Iterable[str], per_category: int, *, settings: Settings | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Bitmaps of the first ``per_category`` simplified drawings of each category, rendered as the dataset did.

    Returns:
        (N, 28, 28) uint8 images, (N,) int64 index into ``categories`` of each, and the categories
        that have no stroke file where the data is (e.g. ``zigzag`` in the offline mirror), skipped.
    """
    from doodlekit.data.quickdraw import load_drawings  # on use: the pad, which imports this module, loads no loaders

    categories = list(categories)
    images, labels, missing = [], [], []
    for index, category in enumerate(categories):
        try:
            records = load_drawings(category, per_category, settings=settings, progress=False)
        except (DataNotFoundError, DownloadError):  # not in the mirror and no network to fetch it
            missing.append(category)
            continue
        images.append(rasterize_many([record["drawing"] for record in records]))
        labels.append(np.full(len(records), index, dtype=np.int64))
    if not images:
        return np.zeros((0, 28, 28), dtype=np.uint8), np.zeros(0, dtype=np.int64), missing
    return np.concatenate(images), np.concatenate(labels), missing


def calibrate(
    model: DoodleNet,
    label_vectors: LabelVectors,
    known_images: np.ndarray,
    unknown_images: np.ndarray,
    *,
    score: str | None = None,
    categories: int = 0,
) -> OpenSetRule:
    """Choose the open-set score and threshold of a model on drawings it did not train on.

    Args:
        model: the trained network; label_vectors: its C labels (the known categories).
        known_images: (N, 28, 28) uint8 drawings of known categories it did not train on (its
            validation split).
        unknown_images: (M, 28, 28) uint8 drawings of the calibration categories of
            :func:`heldout_split` (:func:`unknown_bitmaps`), never of the categories results are
            reported on.
        score: one of :data:`SCORES`, or None for the one with the highest AUROC here.
        categories: how many categories ``unknown_images`` come from (recorded in the rule).
    """
    known = confidence_scores(model, known_images, label_vectors)
    unknown = confidence_scores(model, unknown_images, label_vectors)
    areas = {name: round(auroc(known[name], unknown[name]), 6) for name in SCORES}
    chosen = score or max(SCORES, key=lambda name: (areas[name], -SCORES.index(name)))
    threshold = choose_threshold(known[chosen], unknown[chosen])
    return OpenSetRule(
        score=chosen,
        threshold=threshold,
        auroc=areas,
        known_accepted=float((known[chosen] >= threshold).mean()),
        unknown_refused=float((unknown[chosen] < threshold).mean()),
        calibration_categories=categories,
    )
