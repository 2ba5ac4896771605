"""What the notebooks share: one small lesson setup, and its models and searches on disk.

The first notebook that asks for a model trains it and saves it under
:func:`artifacts_dir`; later notebooks (and later runs) load it. Training is
deterministic on CPU and a freshly trained model is read back from its files before it
is returned, so a notebook gets the same numbers, and prints the same output, whether
its model was loaded or trained. Files are named by the variant and a digest of the
whole recipe, so changing any setting trains a new model instead of reusing a stale one.

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
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from doodlekit.download import write_json_atomic
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError
from doodlekit.search import DoodleSearch
from doodlekit.training import History, TrainConfig, Trained, load_checkpoint, train_variant

ENV_VAR = "DOODLEKIT_ARTIFACTS"
#: Variant whose model the doodle pad and the retrieval notebooks use by default.
DEFAULT_VARIANT = "adaptive_margin"
_RECIPE_FORMAT = "doodlekit-lesson-1"


@dataclass(frozen=True)
class Lesson:
    """The notebooks' training and search setup.

    Attributes:
        categories: category names, label order (a subset of ``DEFAULT_CATEGORIES``).
        per_class: drawings loaded per category before the 80/10/10 split.
        epochs, seed, batch_size: as in :class:`~doodlekit.training.TrainConfig`.
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
    vectors="glove-6b-50d",
    n_bits=64,
)


def artifacts_dir() -> Path:
    """Folder of the shared files: ``$DOODLEKIT_ARTIFACTS``, else ``./artifacts`` (created on demand)."""
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / "artifacts")


def _recipe(variant: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full recipe: LESSON with ``overrides`` (lesson fields or TrainConfig fields) and the variant."""
    allowed = {f.name for f in fields(Lesson)} | {f.name for f in fields(TrainConfig)} - {"variant"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(
            f"unknown lesson settings: {', '.join(unknown)}; use fields of artifacts.Lesson "
            f"({', '.join(f.name for f in fields(Lesson))}) or of training.TrainConfig"
        )
    recipe = {"format": _RECIPE_FORMAT, "variant": variant, **asdict(LESSON), **overrides}
    recipe["categories"] = list(recipe["categories"])
    return recipe


def _stem(recipe: dict[str, Any]) -> Path:
    """artifacts_dir()/<variant>-<12 hex digits of the recipe>, the files' common name."""
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    return artifacts_dir() / f"{recipe['variant']}-{digest}"


def _load_trained(stem: Path, recipe: dict[str, Any]) -> Trained:
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
    )


def trained(variant: str = DEFAULT_VARIANT, **overrides: Any) -> Trained:
    """The lesson's model of ``variant``: loaded from :func:`artifacts_dir`, else trained and saved.

    Args:
        variant: ``"ce"``, ``"fixed_margin"`` or ``"adaptive_margin"``.
        overrides: settings that differ from :data:`LESSON` (its fields, or
            :class:`~doodlekit.training.TrainConfig` fields such as ``lam``).

    Returns:
        A :class:`~doodlekit.training.Trained` read from its files (identical either way).
        Files that are missing, damaged or made with another recipe are (re)made.
    """
    recipe = _recipe(variant, overrides)
    stem = _stem(recipe)
    try:
        return _load_trained(stem, recipe)
    except (DataNotFoundError, CorruptFileError, CheckpointMismatchError):
        pass
    settings = {key: value for key, value in recipe.items() if key not in ("format", "variant", "n_bits")}
    result = train_variant(variant, progress=False, **settings)
    result.save(stem.with_suffix(".pt"))
    write_json_atomic(stem.with_suffix(".json"), {"recipe": recipe, "history": result.history.records})
    return _load_trained(stem, recipe)


def doodle_search(variant: str = DEFAULT_VARIANT, **overrides: Any) -> DoodleSearch:
    """The lesson's :class:`~doodlekit.search.DoodleSearch` over the test split, loaded or built.

    The model comes from :func:`trained` (same ``variant`` and ``overrides``); the
    gallery is its test split, hashed to ``n_bits`` ITQ codes of the embedding (of the
    penultimate features for ``"ce"``, whose embedding head is not trained).
    """
    recipe = _recipe(variant, overrides)
    model = trained(variant, **overrides)
    path = Path(f"{_stem(recipe)}-search.npz")
    try:
        return DoodleSearch.load(path, model)
    except (DataNotFoundError, CorruptFileError, CheckpointMismatchError):
        pass
    gallery = model.dataset("test")
    DoodleSearch.build(
        model, gallery.images, gallery.targets, n_bits=recipe["n_bits"],
        which="features" if variant == "ce" else "embedding", seed=recipe["seed"],
    ).save(path)
    return DoodleSearch.load(path, model)
