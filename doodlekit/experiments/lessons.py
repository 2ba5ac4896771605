"""What the notebooks share: one small lesson setup, its reference models, and searches on disk.

Training amplifies the last digits in which CPUs differ (oneDNN, MKL and ATen pick kernels by
instruction set), so a lesson model retrained on another machine is another model. The kit
therefore ships the lesson's models, trained once with :data:`LESSON`'s recipe, inside the
package (:data:`REFERENCE_DIR`, each file with its SHA-256 and the recipe that made it in
``lesson-models.json``). :func:`trained` returns them by default; ``trained(variant,
retrain=True)`` trains with the same recipe on this machine instead, and
:func:`compare_with_reference` says whether such a run landed within :data:`TOLERANCES` of the
reference. Everything computed from fixed weights (inference runs in float64, see
:mod:`doodlekit.model.training`) is the same on every CPU.

Locally trained models and the searches built on any model are saved under
:func:`artifacts_dir` and loaded by later notebooks (and later runs). Files are named by the
variant and a digest of the whole recipe, so changing any setting trains a new model instead of
reusing a stale one.

=========================  =========================================================
environment variable       meaning
=========================  =========================================================
``DOODLEKIT_ARTIFACTS``    folder of the shared files (default: ``artifacts`` under
                           the current directory, i.e. ``notebooks/artifacts``)
=========================  =========================================================
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from doodlekit.apps.search import DoodleSearch
from doodlekit.data.datasets import split_indices
from doodlekit.data.files import write_json_atomic
from doodlekit.data.quickdraw import load_bitmaps, load_drawings
from doodlekit.data.raster import rasterize
from doodlekit.data.settings import Settings
from doodlekit.defaults import CODE_BITS, VECTORS
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError
from doodlekit.model.checkpoints import load_checkpoint
from doodlekit.model.config import TrainConfig
from doodlekit.model.inference import evaluate
from doodlekit.model.training import History, Trained, train_variant
from doodlekit.model.variants import VARIANTS
from doodlekit.reference import REFERENCE_DIR

ENV_VAR = "DOODLEKIT_ARTIFACTS"
#: Variant whose model the doodle pad and the retrieval notebooks use by default.
DEFAULT_VARIANT = "adaptive_margin"
_RECIPE_FORMAT = "doodlekit-lesson-1"
#: Manifest of the reference lesson models in :data:`~doodlekit.reference.REFERENCE_DIR`.
REFERENCE_MANIFEST = "lesson-models.json"
_MANIFEST_FORMAT = "doodlekit-reference-models-1"
#: How far a model retrained with the lesson recipe may land from the shipped reference, on the
#: lesson's test split (450 drawings), by metric of :func:`~doodlekit.model.inference.evaluate`. Another
#: CPU's rounding changes a training run about as much as another seed does; over 5 seeds and 3
#: CPU kernel sets (AVX-512, AVX2, SSE4.1 with one thread) the standard deviations were at most
#: 0.011 (top-1), 0.007 (top-5) and 0.007 (cos(z, v_y), semantic variants), so each tolerance is
#: about 4 of them. ``cos_true`` is compared only for the variants that train the embedding head.
TOLERANCES = {"top1": 0.04, "top5": 0.03, "cos_true": 0.03}


@dataclass(frozen=True)
class Lesson:
    """The notebooks' training and search setup.

    Attributes:
        categories: category names, label order (a subset of ``DEFAULT_CATEGORIES``).
        per_class: drawings loaded per category before the 80/10/10 split.
        epochs, seed, batch_size: as in :class:`~doodlekit.model.config.TrainConfig`.
        num_threads: torch CPU threads while training. One thread gives the same numbers on
            every machine, and for this small model it is also the fastest: on 2 busy cores,
            2 threads trained 10x slower (threads spin waiting for each other).
        vectors: word-vector spec of the label vectors.
        n_bits: width of the binary codes of the search index.
    """

    categories: tuple[str, ...]
    per_class: int
    epochs: int
    seed: int
    batch_size: int
    num_threads: int
    vectors: str
    n_bits: int


#: Four semantic families (animals, vehicles, fruit, sky) plus shapes; one variant trains
#: in about 10 s of CPU time (under 20 s on 2 busy cores).
LESSON = Lesson(
    categories=(
        "cat", "dog", "horse", "bird", "fish",
        "car", "bicycle", "airplane",
        "apple", "banana",
        "cloud", "moon", "star",
        "circle", "square",
    ),
    per_class=300,
    epochs=3,
    seed=0,
    batch_size=64,
    num_threads=1,
    vectors=VECTORS,
    n_bits=CODE_BITS,
)


#: Stroke drawings per category that the lessons read at most: what ``binder/postBuild`` prefetches.
STROKE_ROWS = 200
#: A rendered drawing within this mean absolute difference (grey levels of 255) of a bitmap row is
#: that row's drawing: rendered by doodlekit from its raw strokes, a drawing is its row byte for byte
#: 95% of the time and within a few grey levels otherwise; two different drawings of one category
#: differ by 25 or more.
SAME_DRAWING = 10.0


def unseen_drawings(
    category: str, fmt: str = "raw", n: int | None = None, *, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Stroke drawings of ``category`` that the lesson models never trained or validated on.

    Most stroke drawings in the files are also bitmap rows (Google rendered every bitmap from
    a drawing's strokes), so a demo drawing can secretly be training data. Each drawing among
    the first :data:`STROKE_ROWS` is rendered and dropped when it matches one of the category's
    training or validation rows of :data:`LESSON` (within :data:`SAME_DRAWING`); drawings of
    categories outside the lesson are all unseen. ``settings``: where the files are
    (``None``: the environment's).

    Returns:
        Up to ``n`` (default: all) drawing records (dicts as
        :func:`~doodlekit.data.quickdraw.load_drawings` gives them), in file order.
    """
    drawings = load_drawings(category, STROKE_ROWS, fmt=fmt, settings=settings, progress=False)
    if category in LESSON.categories:
        rows = load_bitmaps(category, LESSON.per_class, settings=settings, progress=False).reshape(-1, 28, 28)
        seen = np.concatenate([split_indices(len(rows), category, split, seed=0) for split in ("train", "val")])
        seen_rows = rows[seen].astype(np.int16)
        drawings = [
            record for record in drawings
            if np.abs(seen_rows - rasterize(record["drawing"], fmt=fmt)).mean(axis=(1, 2)).min() > SAME_DRAWING
        ]
    return drawings[:n]


def artifacts_dir() -> Path:
    """Folder of the shared files: ``$DOODLEKIT_ARTIFACTS``, else ``./artifacts`` (created on demand)."""
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / "artifacts")


def _recipe(variant: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full recipe: LESSON with ``overrides`` (lesson fields or TrainConfig fields) and the variant."""
    allowed = {f.name for f in fields(Lesson)} | {f.name for f in fields(TrainConfig)} - {"variant"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(
            f"unknown lesson settings: {', '.join(unknown)}; use fields of lessons.Lesson "
            f"({', '.join(f.name for f in fields(Lesson))}) or of training.TrainConfig"
        )
    recipe = {"format": _RECIPE_FORMAT, "variant": variant, **asdict(LESSON), **overrides}
    recipe["categories"] = list(recipe["categories"])
    return recipe


def _train_arguments(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as keyword arguments of :func:`~doodlekit.model.training.train_variant`."""
    return {key: value for key, value in recipe.items() if key not in ("format", "variant", "n_bits")}


def _stem(recipe: dict[str, Any]) -> Path:
    """artifacts_dir()/<variant>-<12 hex digits of the recipe>, the files' common name."""
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    return artifacts_dir() / f"{recipe['variant']}-{digest}"


def _load_trained(stem: Path, recipe: dict[str, Any], settings: Settings | None) -> Trained:
    """The Trained saved at ``stem`` (.pt checkpoint and .json recipe with history)."""
    sidecar = stem.with_suffix(".json")
    if not sidecar.is_file():
        raise DataNotFoundError(f"no training record at {sidecar}")
    try:
        stored = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{sidecar} is not a readable training record ({exc})") from exc
    if not isinstance(stored, dict) or stored.get("recipe") != recipe or not isinstance(stored.get("history"), list):
        raise CheckpointMismatchError(f"{sidecar} records another recipe than {recipe}")
    model, meta = load_checkpoint(
        stem.with_suffix(".pt"), categories=recipe["categories"], label_vectors_or_source=recipe["vectors"]
    )
    history = History(stored["history"])
    return Trained(
        model=model,
        label_vectors=meta["label_vectors"],
        history=history,
        config=meta["config"],
        categories=meta["categories"],
        train_seconds=history.final["train_seconds"],
        per_class=recipe["per_class"],
        split_seed=0,
        settings=settings,
        codebooks=meta["codebooks"],
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reference_manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest of the shipped reference models: per variant its file, SHA-256, recipe,
    training history, test metrics, and the machine and versions that trained it."""
    path = (folder or REFERENCE_DIR) / REFERENCE_MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DataNotFoundError(
            f"the reference lesson models' manifest {path} is missing; reinstall doodlekit, or train the "
            "lesson models on this machine with lessons.trained(variant, retrain=True)"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path} is not a readable manifest ({exc}); reinstall doodlekit") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _MANIFEST_FORMAT:
        raise CorruptFileError(f"{path} is not a {_MANIFEST_FORMAT!r} manifest; reinstall doodlekit")
    return manifest


def _load_reference(variant: str, entry: dict[str, Any], folder: Path, settings: Settings | None) -> Trained:
    """The shipped model of ``variant``, after checking its file against the manifest's SHA-256."""
    path = folder / entry["file"]
    if not path.is_file():
        raise DataNotFoundError(
            f"the reference lesson model {path} is missing; reinstall doodlekit, or train it on this machine "
            f"with lessons.trained({variant!r}, retrain=True)"
        )
    found = _sha256(path)
    if found != entry["sha256"]:
        raise CorruptFileError(
            f"the reference lesson model {path} has SHA-256 {found[:16]}..., not the {entry['sha256'][:16]}... "
            f"recorded in {REFERENCE_MANIFEST}: the file is damaged or was replaced. Reinstall doodlekit, or "
            f"train the model on this machine with lessons.trained({variant!r}, retrain=True)"
        )
    recipe = entry["recipe"]
    # The SHA-256 pins the file, its label vectors included, so they are not rebuilt from the spec here
    # (that would load the whole word-vector source into every lesson kernel); tests/test_lessons.py
    # checks that the shipped vectors are the ones the spec builds.
    model, meta = load_checkpoint(path, categories=recipe["categories"])
    history = History(entry["history"])
    return Trained(
        model=model, label_vectors=meta["label_vectors"], history=history, config=meta["config"],
        categories=meta["categories"], train_seconds=history.final["train_seconds"],
        per_class=recipe["per_class"], split_seed=0, settings=settings, codebooks=meta["codebooks"],
    )


def trained(
    variant: str = DEFAULT_VARIANT, *, retrain: bool = False, settings: Settings | None = None, **overrides: Any
) -> Trained:
    """The lesson's model of ``variant``: the shipped reference, or one trained on this machine.

    Args:
        variant: ``"ce"``, ``"fixed_margin"`` or ``"adaptive_margin"``.
        retrain: train with the recipe on this machine instead of using the shipped reference
            (saved under :func:`artifacts_dir` and loaded from there by later calls). Its numbers
            differ from the reference's in the digits that depend on the CPU; see
            :func:`compare_with_reference`.
        settings: where the drawings are read from when training and by ``.dataset()``
            (``None``: the environment's). Not part of the recipe.
        overrides: settings that differ from :data:`LESSON` (its fields, or
            :class:`~doodlekit.model.config.TrainConfig` fields such as ``lam``). A recipe other
            than the reference's is always trained locally.

    Returns:
        A :class:`~doodlekit.model.training.Trained` read from its files (identical whether it was
        just trained or loaded). Local files that are missing, damaged or made with another
        recipe are (re)made.

    Raises:
        CorruptFileError: the shipped reference file does not match its recorded SHA-256.
    """
    recipe = _recipe(variant, overrides)
    if not retrain:
        entry = reference_manifest()["models"].get(variant)
        if entry is not None and entry["recipe"] == recipe:
            return _load_reference(variant, entry, REFERENCE_DIR, settings)
    stem = _stem(recipe)
    try:
        return _load_trained(stem, recipe, settings)
    except (DataNotFoundError, CorruptFileError, CheckpointMismatchError):
        pass
    result = train_variant(variant, progress=False, settings=settings, **_train_arguments(recipe))
    result.save(stem.with_suffix(".pt"))
    write_json_atomic(stem.with_suffix(".json"), {"recipe": recipe, "history": result.history.records})
    return _load_trained(stem, recipe, settings)


def evaluate_on_test(run: Trained) -> dict[str, float]:
    """:func:`~doodlekit.model.inference.evaluate` of ``run`` on its test split, with its own loss."""
    return evaluate(run.model, run.dataset("test"), run.loss())


@dataclass(frozen=True)
class ReferenceCheck:
    """A model trained here, measured against the shipped reference of the same variant.

    Attributes:
        variant: the loss variant.
        live, reference: test metrics (:func:`evaluate_on_test`) of the two models.
        tolerances: the allowed absolute difference of each compared metric.
    """

    variant: str
    live: dict[str, float]
    reference: dict[str, float]
    tolerances: dict[str, float]

    @property
    def differences(self) -> dict[str, float]:
        """live - reference, per compared metric."""
        return {name: self.live[name] - self.reference[name] for name in self.tolerances}

    @property
    def within(self) -> bool:
        """Whether every compared metric is within its tolerance."""
        return all(abs(self.differences[name]) <= limit for name, limit in self.tolerances.items())

    def sentence(self) -> str:
        """A verdict that reads the same on every machine whose run is within tolerance."""
        limits = ", ".join(f"{_METRIC_NAMES[name]} ±{limit:.2f}" for name, limit in self.tolerances.items())
        if self.within:
            return f"{self.variant}: your run matches the reference model within tolerance ({limits})."
        outside = ", ".join(
            f"{_METRIC_NAMES[name]} {self.live[name]:.3f} vs {self.reference[name]:.3f}"
            for name, limit in self.tolerances.items() if abs(self.differences[name]) > limit
        )
        return f"{self.variant}: your run is OUTSIDE the tolerance ({limits}): {outside}."


_METRIC_NAMES = {"top1": "test top-1", "top5": "test top-5", "cos_true": "cos(z, v_y)"}


def compare_with_reference(run: Trained, variant: str | None = None) -> ReferenceCheck:
    """Test metrics of ``run`` (trained with the lesson recipe) against the shipped reference.

    ``cos_true`` is compared only for variants that train the embedding head (:attr:`Variant.semantic
    <doodlekit.model.variants.Variant.semantic>`; not ``"ce"``).
    """
    variant = variant or run.config.variant
    tolerances = {name: limit for name, limit in TOLERANCES.items()
                  if name != "cos_true" or VARIANTS[variant].semantic}
    reference = trained(variant, settings=run.settings)
    return ReferenceCheck(variant, evaluate_on_test(run), evaluate_on_test(reference), tolerances)


def write_reference(
    folder: Path, variants: Sequence[str] = tuple(VARIANTS), *, settings: Settings | None = None
) -> dict[str, Any]:
    """Train the lesson models with :data:`LESSON`'s recipe and write them as the reference.

    Writes ``lesson-<variant>.pt`` and :data:`REFERENCE_MANIFEST` into ``folder`` (the kit ships
    :data:`REFERENCE_DIR`); returns the manifest. For maintainers: ``doodlekit lesson-models``.
    ``settings``: where the drawings are read from (``None``: the environment's).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = {}
    for variant in variants:
        recipe = _recipe(variant, {})
        result = train_variant(variant, progress=False, settings=settings, **_train_arguments(recipe))
        path = result.save(folder / f"lesson-{variant}.pt")
        models[variant] = {
            "file": path.name, "sha256": _sha256(path), "recipe": recipe, "history": result.history.records,
            "test": evaluate_on_test(result),
        }
    manifest = {
        "format": _MANIFEST_FORMAT,
        "trained_on": {
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
        },
        "models": models,
    }
    write_json_atomic(folder / REFERENCE_MANIFEST, manifest)
    return manifest


def doodle_search(
    variant: str = DEFAULT_VARIANT, *, settings: Settings | None = None, **overrides: Any
) -> DoodleSearch:
    """The lesson's :class:`~doodlekit.apps.search.DoodleSearch` over the test split, loaded or built.

    The model comes from :func:`trained` (same ``variant``, ``settings`` and ``overrides``); the
    gallery is its test split, hashed to ``n_bits`` ITQ codes of the vectors the variant retrieves
    with (:attr:`Variant.retrieves_with <doodlekit.model.variants.Variant.retrieves_with>`: the
    embedding, or the penultimate features for ``"ce"``, whose embedding head is not trained).
    """
    recipe = _recipe(variant, overrides)
    model = trained(variant, settings=settings, **overrides)
    path = Path(f"{_stem(recipe)}-search.npz")
    try:
        return DoodleSearch.load(path, model)
    except (DataNotFoundError, CorruptFileError, CheckpointMismatchError):
        pass
    gallery = model.dataset("test")
    DoodleSearch.build(
        model, gallery.images, gallery.targets, n_bits=recipe["n_bits"],
        which=VARIANTS[variant].retrieves_with, seed=recipe["seed"],
    ).save(path)
    return DoodleSearch.load(path, model)
