"""Checkpoints of :class:`~doodlekit.model.network.DoodleNet`: written atomically, read with
``torch.load(weights_only=True)``, checked against the categories and label vectors asked for.

A checkpoint also stores ``state_sha256``, the SHA-256 of its weights (:func:`state_dict_sha256`),
checked on load: torch ignores the zip's CRCs, so a flipped byte in the weights would
otherwise load silently. Checkpoints written before it was added (the kit's reference lesson
models among them) have none and still load; the lessons check those files' own SHA-256,
pinned in ``doodlekit/reference/lesson-models.json``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from doodlekit.data.categories import validate_categories
from doodlekit.data.files import atomic_file
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError, LabelVectorError
from doodlekit.model.config import TrainConfig
from doodlekit.model.network import DoodleNet
from doodlekit.semantics.labels import LabelVectors
from doodlekit.semantics.labels import label_vectors as build_label_vectors  # not save_checkpoint's argument

#: ``format`` entry of every checkpoint written by :func:`save_checkpoint`.
CHECKPOINT_FORMAT = "doodlekit-checkpoint-1"
#: Entries of a checkpoint; ``state_sha256`` is absent from those written before it was added.
_ENTRIES = frozenset({"format", "state_dict", "hparams", "categories", "vectors", "config", "metrics"})
_DIGEST = "state_sha256"
#: Optional entry: the codebooks (M, K, D) float64 a model learnt jointly (a variant with a joint quantizer).
_CODEBOOKS = "codebooks"


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """Hex SHA-256 of a state dict: per tensor in name order, its name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(
    path: str | os.PathLike[str],
    model: DoodleNet,
    *,
    categories: Sequence[str],
    label_vectors: LabelVectors,
    config: TrainConfig,
    metrics: dict[str, float] | None = None,
    codebooks: np.ndarray | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then ``os.replace``).

    It holds only tensors and plain types (readable with ``torch.load(weights_only=True)``):
    the weights, the model's hyper-parameters, the categories in label order, the label
    vectors with their source and fingerprint, the training config and ``metrics``; and
    ``codebooks`` (M, K, D), when the model learnt a quantizer jointly.

    Returns:
        The path written.
    """
    path = Path(path)
    categories = list(categories)
    if categories != label_vectors.categories or len(categories) != model.hparams["num_classes"]:
        if categories == label_vectors.categories:
            relation = "the same names"
        elif set(categories) == set(label_vectors.categories):
            relation = "the same names in another order"
        else:
            relation = "other names"
        raise CheckpointMismatchError(
            f"cannot save: the model has {model.hparams['num_classes']} classes, and categories "
            f"({len(categories)} names) and the label vectors ({len(label_vectors)} names) hold {relation}; "
            "pass the categories and label vectors the model was trained with"
        )
    state_dict = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": state_dict,
        _DIGEST: state_dict_sha256(state_dict),
        "hparams": dict(model.hparams),
        "categories": categories,
        "vectors": {
            "source": label_vectors.source,
            "fingerprint": label_vectors.fingerprint,
            "how": dict(label_vectors.how),
            "vectors": torch.from_numpy(np.array(label_vectors.vectors)),
        },
        "config": config.to_dict(),
        "metrics": {name: float(value) for name, value in (metrics or {}).items()},
    }
    if codebooks is not None:
        payload[_CODEBOOKS] = torch.from_numpy(np.array(codebooks, dtype=np.float64))
    with atomic_file(path) as out:
        torch.save(payload, out.raw)
    return path


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """The payload of a checkpoint file, or DataNotFoundError / CorruptFileError."""
    if not path.is_file():
        raise DataNotFoundError(
            f"no checkpoint at {path}: the file does not exist. Check the path, or train and save one "
            "(train_variant(...).save(path))."
        )
    redo = "Delete it and save the checkpoint again (train_variant(...).save(path))."
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, IndexError,
            zipfile.BadZipFile) as exc:
        reason = f"{type(exc).__name__}: {exc}" if isinstance(exc, (KeyError, IndexError)) else str(exc)
        raise CorruptFileError(
            f"{path} is not a readable doodlekit checkpoint (not a torch file, or a damaged one: {reason}). {redo}"
        ) from exc
    if (not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT
            or set(payload) - {_DIGEST, _CODEBOOKS} != _ENTRIES):
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CorruptFileError(
            f"{path} is not a doodlekit checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r}). {redo}"
        )
    if _DIGEST in payload:  # older checkpoints have none: their weights are not checked here
        state = payload["state_dict"]
        try:
            found = state_dict_sha256(state)
        except (AttributeError, TypeError, RuntimeError) as exc:
            raise CorruptFileError(f"{path} is damaged: its weights are not a state dict of tensors ({exc}). "
                                   f"{redo}") from exc
        if found != payload[_DIGEST]:
            raise CorruptFileError(
                f"{path} is damaged: its weights do not match the SHA-256 recorded when it was saved "
                f"({found[:12]}... instead of {str(payload[_DIGEST])[:12]}...), so some bytes changed on disk "
                f"or in a copy. {redo}"
            )
    return payload


def _stored_label_vectors(payload: dict[str, Any], path: Path) -> LabelVectors:
    stored = payload["vectors"]
    vectors = LabelVectors(payload["categories"], stored["vectors"].numpy(), stored["how"], stored["source"])
    if vectors.fingerprint != stored["fingerprint"]:
        raise CorruptFileError(
            f"{path} is damaged: its label vectors do not match their recorded fingerprint. "
            "Delete it and save the checkpoint again."
        )
    return vectors


def _check_categories(stored: list[str], wanted: Sequence[str] | str, path: Path) -> None:
    asked = validate_categories(wanted if isinstance(wanted, str) else list(wanted))
    if asked == stored:
        return
    missing = [name for name in asked if name not in stored]
    extra = [name for name in stored if name not in asked]
    differences = [f"{label} {', '.join(map(repr, names))}" for label, names in
                   (("it lacks", missing), ("it also has", extra)) if names]
    what = "; ".join(differences) or "the same names in another label order"
    raise CheckpointMismatchError(
        f"checkpoint {path} was trained on {len(stored)} other categories than the {len(asked)} asked for ({what}). "
        f"Load it with categories=None to use its own ({', '.join(stored[:5])}{', ...' if len(stored) > 5 else ''}), "
        "or train a model for these categories with train_variant(...)."
    )


def _check_vectors(stored: LabelVectors, wanted: LabelVectors | str | os.PathLike[str], path: Path) -> None:
    """Raise unless ``wanted`` (label vectors, or a spec built for the checkpoint's categories) has the
    stored vectors' fingerprint: the same numbers, however the spec is written."""
    if isinstance(wanted, LabelVectors):
        if wanted.fingerprint == stored.fingerprint:
            return
        asked = f"label vectors from {wanted.source!r} (fingerprint {wanted.fingerprint[:12]})"
    else:
        spec = os.fspath(wanted)
        try:
            built = build_label_vectors(spec, stored.categories)
        except LabelVectorError:
            asked = f"vectors of {spec!r}, which cannot build label vectors for all {len(stored)} of its categories"
        else:
            if built.fingerprint == stored.fingerprint:
                return
            asked = f"label vectors that {spec!r} gives for its categories (fingerprint {built.fingerprint[:12]})"
    raise CheckpointMismatchError(
        f"checkpoint {path} was trained with label vectors from {stored.source!r} "
        f"(fingerprint {stored.fingerprint[:12]}), not the {asked}. Its embeddings live in that space: "
        "use the checkpoint's own vectors (meta['label_vectors']), load it with the source it was trained "
        "with, or train a model for these vectors with train_variant(..., vectors=...)."
    )


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    categories: Sequence[str] | str | None = None,
    label_vectors_or_source: LabelVectors | str | os.PathLike[str] | None = None,
    device: str = "cpu",
) -> tuple[DoodleNet, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Args:
        categories: when given, the checkpoint must be for exactly these names, in this order.
        label_vectors_or_source: when given, the checkpoint's label vectors must be these, or
            what this spec gives for the checkpoint's categories: the same fingerprint either
            way (a spec is loaded and its label vectors built to compare).
        device: where to put the model.

    Returns:
        ``(model, meta)``: the model in eval mode, and ``meta`` with ``categories``,
        ``label_vectors`` (a :class:`LabelVectors`), ``vector_source``, ``fingerprint``,
        ``hparams``, ``config`` (a :class:`TrainConfig`), ``metrics`` and ``codebooks`` ((M, K, D)
        float64 jointly learnt codebooks, or None).

    Raises:
        DataNotFoundError: no file at ``path``.
        CorruptFileError: not a readable doodlekit checkpoint.
        CheckpointMismatchError: other categories, other vectors, or weights that do not fit the model.
        VectorSourceError: a spec in ``label_vectors_or_source`` that cannot be loaded.
    """
    path = Path(path)
    payload = _read_checkpoint(path)
    stored_vectors = _stored_label_vectors(payload, path)
    if categories is not None:
        _check_categories(payload["categories"], categories, path)
    if label_vectors_or_source is not None:
        _check_vectors(stored_vectors, label_vectors_or_source, path)
    try:
        model = DoodleNet(**payload["hparams"])
        model.load_state_dict(payload["state_dict"])
        config = TrainConfig.from_dict(payload["config"])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointMismatchError(
            f"checkpoint {path} holds a model or config that this doodlekit cannot rebuild "
            f"(DoodleNet({payload['hparams']}): {exc}). It was written by another version of doodlekit: "
            "train and save it again."
        ) from exc
    meta = {
        "categories": list(payload["categories"]),
        "label_vectors": stored_vectors,
        "vector_source": stored_vectors.source,
        "fingerprint": stored_vectors.fingerprint,
        "hparams": dict(payload["hparams"]),
        "config": config,
        "metrics": dict(payload["metrics"]),
        "codebooks": payload[_CODEBOOKS].numpy() if _CODEBOOKS in payload else None,
    }
    return model.to(device).eval(), meta
