"""Doodles that find silhouettes: the Quick, Draw! lesson models search Animal-MNIST (sketch-based retrieval).

The lesson models (:func:`~doodlekit.experiments.lessons.trained`, shipped reference weights) never saw a
silhouette. Here they embed Animal-MNIST's silhouettes (float64 inference, so the numbers are the same on
every CPU) and are searched with real Quick, Draw! doodles of the four animals the lessons trained on
(:data:`SEEN_ANIMALS`), drawings the models never trained on. The other six animals have no Quick, Draw!
training data; their silhouettes are classified zero-shot among all ten animal labels through the semantic
head (CE: a ridge map from its features to the label vectors, fitted on the lesson's training split).
Silhouettes are filled, doodles are outlines: every number is measured on the silhouettes as they are
(``"filled"``) and on their :func:`~doodlekit.data.animal_mnist.outline` (``"outline"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from doodlekit.apps.search import DoodleSearch
from doodlekit.data.animal_mnist import CLASSES, AnimalMNIST, outline
from doodlekit.data.quickdraw import load_bitmaps
from doodlekit.data.settings import Settings
from doodlekit.defaults import CODE_BITS, K
from doodlekit.experiments.lessons import LESSON, trained
from doodlekit.model.inference import embed, predict_proba
from doodlekit.model.training import Trained
from doodlekit.model.variants import VARIANTS
from doodlekit.reference import REFERENCE_DIR
from doodlekit.retrieval.evaluation import retrieval_report
from doodlekit.retrieval.zeroshot import fit_semantic_map, zero_shot_predict
from doodlekit.semantics.labels import LabelVectors, label_vectors

#: Animals with Quick, Draw! training data in the lessons (queries and retrieval), in Animal-MNIST label order.
SEEN_ANIMALS: tuple[str, ...] = tuple(name for name in CLASSES if name in LESSON.categories)
#: The other six: never drawn for the lesson models, only classified zero-shot.
UNSEEN_ANIMALS: tuple[str, ...] = tuple(name for name in CLASSES if name not in LESSON.categories)
#: How the silhouettes are shown to the models.
STYLES = ("filled", "outline")
#: Doodle queries per seen animal: bitmap rows from :data:`LESSON`'s ``per_class`` on, which no lesson model
#: trained, validated or was tested on.
QUERIES_PER_ANIMAL = 100
#: Precision cut-off of the retrieval table.
TOP = 10
#: The shipped ``results.json`` of ``doodlekit reproduce --dataset animal-mnist`` (seeds 0, 1, 2), in REFERENCE_DIR.
ANIMAL_RESULTS = "reproduce-animal-mnist.json"


@dataclass(frozen=True)
class Silhouettes:
    """Animal-MNIST images as a gallery.

    Attributes:
        images: ``(N, 28, 28)`` uint8, filled or outlined. labels: ``(N,)`` int64 indices into :data:`CLASSES`.
        style: ``"filled"`` or ``"outline"``.
    """

    images: np.ndarray
    labels: np.ndarray
    style: str


def silhouettes(style: str = "filled", split: str = "test", *, settings: Settings | None = None) -> Silhouettes:
    """Animal-MNIST's ``split`` (seeded, split seed 0; ``"test"``: 100 per animal) as a gallery of ``style``."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    data = AnimalMNIST(split=split, settings=settings)
    images = outline(data.images) if style == "outline" else data.images
    return Silhouettes(images, data.targets, style)


def doodle_queries(per_animal: int = QUERIES_PER_ANIMAL, *, settings: Settings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Quick, Draw! doodles of :data:`SEEN_ANIMALS` that the lesson models never saw.

    Returns:
        ``(images (Q, 28, 28) uint8, labels (Q,) int64 indices into CLASSES)``, ``per_animal`` of each.
    """
    start = LESSON.per_class
    images, labels = [], []
    for name in SEEN_ANIMALS:
        rows = load_bitmaps(name, start + per_animal, settings=settings, progress=False)[start:]
        images.append(rows.reshape(-1, 28, 28))
        labels.append(np.full(len(rows), CLASSES.index(name), dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def animal_vectors() -> LabelVectors:
    """The ten animals' label vectors, from the word vectors the lesson models trained with (:data:`LESSON`'s)."""
    return label_vectors(LESSON.vectors, list(CLASSES))


def semantic_vectors(model: Trained, variant: str, images: np.ndarray) -> np.ndarray:
    """Where ``images`` land in the word-vector space: the semantic embedding, or for variants that retrieve
    with features (CE), a ridge map of them fitted on the lesson's training split (``(N, D)`` float32)."""
    which = VARIANTS[variant].retrieves_with
    if which == "embedding":
        return embed(model.model, images)
    train = model.dataset("train")
    ridge = fit_semantic_map(embed(model.model, train.images, which), train.targets, model.label_vectors)
    return ridge.predict(embed(model.model, images, which)).astype(np.float32)


def measure(
    model: Trained, variant: str, gallery: Silhouettes, queries: np.ndarray, query_labels: np.ndarray,
    animals: LabelVectors,
) -> dict[str, float]:
    """The cross-domain numbers of one model on one gallery.

    Returns:
        ``map@100`` / ``precision@10``: doodles of the seen animals searching the gallery by float cosine of
        the vectors the variant retrieves with; ``map@100_hash64``: the same with 64-bit ITQ codes fitted on
        the gallery; ``zero_shot_top1``: the unseen animals' silhouettes, nearest of the ten animal label
        vectors; ``zero_shot_top1_among_unseen``: the same among the six unseen labels only (chance 1/6, the
        protocol of ``reproduce``); ``seen_semantic_top1``: the seen animals' silhouettes among the ten labels;
        ``class_head_top1``:
        the seen animals' silhouettes classified by the class head among the lesson's categories.
    """
    which = VARIANTS[variant].retrieves_with
    db = embed(model.model, gallery.images, which)
    found = embed(model.model, queries, which)
    ranked = retrieval_report(db, gallery.labels, found, query_labels, bits=(CODE_BITS,), k=K)
    top = retrieval_report(db, gallery.labels, found, query_labels, bits=(), k=TOP)
    semantic = semantic_vectors(model, variant, gallery.images)
    guessed = zero_shot_predict(semantic, animals)[:, 0]
    unseen_ids = np.array([CLASSES.index(name) for name in UNSEEN_ANIMALS])
    unseen = np.isin(gallery.labels, unseen_ids)
    among_unseen = unseen_ids[zero_shot_predict(semantic[unseen], animals.vectors[unseen_ids])[:, 0]]
    seen = ~unseen
    lesson = [model.categories.index(CLASSES[label]) for label in gallery.labels[seen]]
    head = np.argmax(predict_proba(model.model, gallery.images[seen]), axis=1)
    return {
        f"map@{K}": ranked.cosine.map,
        f"precision@{TOP}": top.cosine.precision,
        f"map@{K}_hash{CODE_BITS}": ranked.hashed[CODE_BITS].map,
        "zero_shot_top1": float(np.mean(guessed[unseen] == gallery.labels[unseen])),
        "zero_shot_top1_among_unseen": float(np.mean(among_unseen == gallery.labels[unseen])),
        "seen_semantic_top1": float(np.mean(guessed[seen] == gallery.labels[seen])),
        "class_head_top1": float(np.mean(head == np.asarray(lesson))),
    }


def cross_domain(
    variants: Sequence[str] = ("ce", "fixed_margin", "adaptive_margin"),
    styles: Sequence[str] = STYLES,
    *,
    split: str = "test",
    per_animal: int = QUERIES_PER_ANIMAL,
    settings: Settings | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`measure` for every lesson model (shipped reference weights) and gallery style.

    Returns:
        ``{variant: {style: numbers}}``.
    """
    queries, query_labels = doodle_queries(per_animal, settings=settings)
    galleries = {style: silhouettes(style, split, settings=settings) for style in styles}
    animals = animal_vectors()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for variant in variants:
        model = trained(variant, settings=settings)
        results[variant] = {style: measure(model, variant, gallery, queries, query_labels, animals)
                            for style, gallery in galleries.items()}
    return results


def silhouette_search(
    variant: str = "adaptive_margin", style: str = "outline", split: str = "test", *, settings: Settings | None = None,
) -> DoodleSearch:
    """A :class:`~doodlekit.apps.search.DoodleSearch` of a lesson model over Animal-MNIST's silhouettes (``style``),
    hashed to :data:`~doodlekit.defaults.CODE_BITS`-bit ITQ codes: the doodle pad can search it. Its thumbnails are
    the filled silhouettes whatever ``style`` the model was shown."""
    model = trained(variant, settings=settings)
    gallery = silhouettes(style, split, settings=settings)
    search = DoodleSearch.build(model, gallery.images, gallery.labels, n_bits=LESSON.n_bits,
                                which=VARIANTS[variant].retrieves_with, seed=LESSON.seed, gallery_categories=CLASSES)
    if style != "filled":
        search.gallery = silhouettes("filled", split, settings=settings).images
    return search


def chance(gallery: Silhouettes, query_labels: np.ndarray) -> dict[str, float]:
    """What a random ranking or guess scores: precision@10 (the share of each query's animal in the gallery)
    and zero-shot top-1 among the ten labels and among the six unseen ones."""
    share = np.bincount(gallery.labels, minlength=len(CLASSES)) / len(gallery.labels)
    return {f"precision@{TOP}": float(share[query_labels].mean()), "zero_shot_top1": 1 / len(CLASSES),
            "zero_shot_top1_among_unseen": 1 / len(UNSEEN_ANIMALS)}


def animal_results() -> dict[str, Any]:
    """The shipped results of ``doodlekit reproduce --dataset animal-mnist`` (:data:`ANIMAL_RESULTS`)."""
    return json.loads((REFERENCE_DIR / ANIMAL_RESULTS).read_text())


def seed_table(results: dict[str, Any], metrics: Sequence[str]) -> Any:
    """``metrics`` of a ``reproduce`` results dict as ``"mean ± sd"`` strings (3 decimals): a pandas DataFrame,
    one row per metric (zero-shot ones prefixed ``zero_shot_``), one column per variant."""
    import pandas as pd

    def cell(variant: str, metric: str) -> str:
        if metric.startswith("zero_shot_"):
            numbers = results["zero_shot"][variant]
            key = metric.removeprefix("zero_shot_")
            mean, sd = numbers[key], numbers[f"{key}_sd"]
        else:
            mean, sd = results["variants"][variant][metric]["mean"], results["variants"][variant][metric]["sd"]
        return f"{mean:.3f}" + ("" if sd is None else f" ± {sd:.3f}")

    variants = [v for v in results["variants"] if v in VARIANTS]
    return pd.DataFrame({VARIANTS[v].display_name: [cell(v, m) for m in metrics] for v in variants}, index=list(metrics))


def table(results: dict[str, dict[str, dict[str, float]]]) -> Any:
    """``results`` of :func:`cross_domain` as a pandas DataFrame: one row per (variant, style), metrics as columns."""
    import pandas as pd

    rows = {(VARIANTS[variant].display_name, style): numbers
            for variant, by_style in results.items() for style, numbers in by_style.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.names = ["model", "silhouettes"]
    return frame
