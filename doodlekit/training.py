"""Training, evaluation, inference and checkpoints of :class:`~doodlekit.models.DoodleNet`.

:func:`train_variant` is the one recipe (data, label vectors, model, loss, schedule) that
``doodlekit reproduce``, the notebooks and the doodle pad call; :func:`fit` is its loop.
Training batches the datasets' ``.images`` / ``.targets`` arrays directly with a seeded
permutation (no worker processes), so the same seed gives the same numbers on CPU.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import random
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from doodlekit.categories import DEFAULT_CATEGORIES, validate_categories
from doodlekit.datasets import QuickDrawBitmaps
from doodlekit.download import atomic_file
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError, LabelVectorError
from doodlekit.losses import DVSQ_MARGIN, VARIANTS, MultitaskLoss
from doodlekit.metrics import topk_accuracy
from doodlekit.models import DoodleNet
from doodlekit.semantics import DEFAULT_SPEC, LabelVectors, label_vectors

#: ``format`` entry of every checkpoint written by :func:`save_checkpoint`.
CHECKPOINT_FORMAT = "doodlekit-checkpoint-1"
SCHEDULES = ("onecycle", "constant")
#: Drawings per forward pass at inference; float64 activations of 256 drawings take about 50 MB.
INFER_BATCH = 256


class BitmapData(Protocol):
    """What training reads from a dataset (e.g. :class:`~doodlekit.datasets.QuickDrawBitmaps`)."""

    images: np.ndarray  # (N, 28, 28) uint8, 0 = paper, 255 = ink
    targets: np.ndarray  # (N,) int64 labels


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all plain types, so checkpoints can hold them).

    Attributes:
        variant: loss, one of ``"ce"``, ``"fixed_margin"``, ``"adaptive_margin"``.
        epochs: passes over the training set.
        batch_size: drawings per step (the last incomplete batch of an epoch is dropped).
        lr: peak learning rate of AdamW (the OneCycle maximum, or the constant rate).
        schedule: ``"onecycle"`` (warm up for ``warmup`` of the steps, then cosine down)
            or ``"constant"``.
        warmup: fraction of the steps spent warming up under ``"onecycle"``.
        weight_decay: AdamW's decoupled weight decay.
        lam: weight of the semantic loss (``CE + lam * semantic``).
        margin: the fixed margin of ``"fixed_margin"``.
        augment: light augmentation: random flip, rotation within +-10 degrees, scale
            0.9-1.1, shift within +-2 px.
        seed: seeds torch, numpy, random and the batch order.
        device: torch device string, e.g. ``"cpu"`` or ``"cuda"``.
        num_threads: torch CPU threads during training; ``None`` leaves torch's setting.
        channels_last: train in channels-last memory format (faster convolutions on CPU).
    """

    variant: str = "adaptive_margin"
    epochs: int = 3
    batch_size: int = 256
    lr: float = 4e-3
    schedule: str = "onecycle"
    warmup: float = 0.25
    weight_decay: float = 1e-4
    lam: float = 1.0
    margin: float = DVSQ_MARGIN
    augment: bool = False
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = None
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown loss variant {self.variant!r}; use one of {', '.join(VARIANTS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; use one of {', '.join(SCHEDULES)}")
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0 or not 0 < self.warmup < 1:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 2, lr > 0 and 0 < warmup < 1; got epochs={self.epochs}, "
                f"batch_size={self.batch_size}, lr={self.lr}, warmup={self.warmup}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {', '.join(sorted(unknown))}")
        return cls(**values)


@dataclass
class History:
    """Per-epoch records of :func:`fit`.

    Each record has ``epoch`` (1-based), ``lr`` (at the epoch's end), ``train_seconds``
    (cumulative time in training steps, validation excluded), ``train_ce`` /
    ``train_semantic`` / ``train_total`` (means over the epoch's steps) and, with a
    validation set, the ``val_*`` entries of :func:`evaluate`.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's record (empty before training)."""
        return dict(self.records[-1]) if self.records else {}

    def column(self, name: str) -> list[float]:
        """One entry across epochs, e.g. ``history.column("val_top1")``."""
        return [record[name] for record in self.records]

    def to_frame(self) -> Any:
        """The records as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.records).set_index("epoch")


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _run_settings(config: TrainConfig) -> Iterator[None]:
    """Deterministic algorithms (on CPU) and the thread count for the run, restored afterwards."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    try:
        if torch.device(config.device).type == "cpu":
            torch.use_deterministic_algorithms(True)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def _check_images(images: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) uint8 tensor, or a ValueError saying what to pass."""
    array = np.asarray(images)
    if array.ndim != 3 or array.shape[1:] != (28, 28) or array.dtype != np.uint8:
        raise ValueError(
            f"images must be an (N, 28, 28) uint8 array (0 = paper, 255 = ink), got {array.shape} {array.dtype}; "
            "pass dataset.images, or one drawing as image[None]"
        )
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1)


def _to_input(pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 1, 28, 28) -> float32 in [0, 1] on ``device``."""
    return pixels.to(device).float().div_(255)


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flip, rotation (+-10 deg), scale (0.9-1.1) and shift (+-2 px) of (B, 1, 28, 28) floats."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator).mul_(high - low).add_(low)

    angle = uniform(-np.pi / 18, np.pi / 18)
    scale = uniform(0.9, 1.1)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift = uniform(-2 / 14, 2 / 14), uniform(-2 / 14, 2 / 14)  # 2 px of 28 in [-1, 1] coordinates
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[0]], 1), torch.stack([sin * flip, cos, shift[1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)


def _exact_copy(model: DoodleNet, device: torch.device) -> DoodleNet:
    """The network to infer with: on CPU a float64 copy of ``model``, elsewhere ``model`` itself.

    The same float32 weights give other low-order digits on other CPUs (oneDNN, MKL and ATen pick
    kernels by instruction set and sum in other orders). Computed in float64, those differences
    stay near 1e-15, and rounding the outputs to float32 removes them, so that embeddings, codes
    and every metric downstream of fixed weights are the same on any CPU.
    """
    if device.type != "cpu":
        return model
    return copy.deepcopy(model).to(torch.float64)


def _infer(
    model: DoodleNet,
    images: np.ndarray,
    outputs: Callable[[DoodleNet, torch.Tensor], Sequence[torch.Tensor]],
    batch_size: int,
) -> list[torch.Tensor]:
    """Run ``outputs(net, x)`` over (N, 28, 28) uint8 images in eval mode; each output concatenated
    on CPU as float32. On CPU ``net`` is a float64 copy of ``model`` (see :func:`_exact_copy`)."""
    pixels = _check_images(images)
    device = next(model.parameters()).device
    net = _exact_copy(model, device)
    dtype = next(net.parameters()).dtype
    was_training = model.training
    net.eval()
    chunks: list[list[torch.Tensor]] = []
    try:
        with torch.no_grad():
            for start in range(0, max(len(pixels), 1), batch_size):  # one empty batch for no images
                x = _to_input(pixels[start : start + batch_size], device).to(dtype)
                chunks.append([out.float().cpu() for out in outputs(net, x)])
    finally:
        model.train(was_training)
    return [torch.cat(parts) for parts in zip(*chunks)]


def embed(model: DoodleNet, images: np.ndarray, which: str = "embedding", batch_size: int = INFER_BATCH) -> np.ndarray:
    """Vectors of drawings for retrieval.

    Args:
        images: (N, 28, 28) uint8.
        which: ``"embedding"`` (the semantic head, (N, D)) or ``"features"`` (the
            penultimate layer, (N, feature_dim); what the CE baseline retrieves with).

    Returns:
        (N, D) float32 numpy array (not normalised).
    """
    heads = {"embedding": lambda net, x: [net(x)[1]], "features": lambda net, x: [net.features(x)]}
    if which not in heads:
        raise ValueError(f"which must be 'embedding' or 'features', got {which!r}")
    return _infer(model, images, heads[which], batch_size)[0].numpy()


def predict_proba(model: DoodleNet, images: np.ndarray, batch_size: int = INFER_BATCH) -> np.ndarray:
    """Class probabilities (softmax of the logits): (N, 28, 28) uint8 -> (N, C) float32."""
    return _infer(model, images, lambda net, x: [net(x)[0].softmax(1)], batch_size)[0].numpy()


def evaluate(
    model: DoodleNet, dataset: BitmapData, loss: MultitaskLoss | None = None, batch_size: int = INFER_BATCH
) -> dict[str, float]:
    """Accuracy of ``model`` on a dataset, and with ``loss`` its loss parts and label-vector cosines.

    Returns:
        ``top1``, ``top5`` (when there are at least 5 classes) as fractions in [0, 1]; with
        ``loss``: ``ce``, ``semantic``, ``total`` (means over the set), ``cos_true`` (mean
        ``cos(z, v_y)``) and ``cos_other`` (mean ``max_{k != y} cos(z, v_k)``) of the embeddings.
    """
    logits, embedding = _infer(model, dataset.images, lambda net, x: net(x), batch_size)
    targets = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    scores = logits.numpy()
    result = {"top1": topk_accuracy(scores, targets.numpy(), 1)}
    if scores.shape[1] >= 5:
        result["top5"] = topk_accuracy(scores, targets.numpy(), 5)
    if loss is not None:
        vectors = loss.label_vectors
        logits, embedding, targets = logits.to(vectors.device), embedding.to(vectors.device), targets.to(vectors.device)
        with torch.no_grad():
            _, parts = loss(logits, embedding, targets)
            cosines = F.normalize(embedding.double(), dim=1) @ F.normalize(vectors.double(), dim=1).T
            true = cosines.gather(1, targets[:, None])
            other = cosines.scatter(1, targets[:, None], -torch.inf).amax(1)
        result.update(parts, cos_true=true.mean().item(), cos_other=other.mean().item())
    return result


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int) -> Any:
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=config.warmup
        )
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def fit(
    model: DoodleNet,
    train_ds: BitmapData,
    val_ds: BitmapData | None,
    loss: MultitaskLoss,
    config: TrainConfig,
    *,
    progress: bool = True,
) -> History:
    """Train ``model`` in place with AdamW, the configured schedule and ``loss``; validate every epoch.

    Batches come from ``train_ds.images`` / ``.targets`` in a seeded random order. On CPU,
    deterministic algorithms are on during the run, so the same seed gives identical
    metrics (the model's initial weights must be seeded too: :func:`train_variant` does).
    The model ends on ``config.device`` in the default (contiguous) memory format.

    Returns:
        The :class:`History`, one record per epoch.
    """
    device = torch.device(config.device)
    pixels = _check_images(train_ds.images)
    targets = torch.as_tensor(np.asarray(train_ds.targets), dtype=torch.int64)
    if len(pixels) < 2 or len(pixels) != len(targets):
        raise ValueError(
            f"the training set needs at least 2 drawings and one label per drawing, got {len(pixels)} images "
            f"and {len(targets)} labels; load more drawings per class"
        )
    batch_size = min(config.batch_size, len(pixels))
    steps_per_epoch = len(pixels) // batch_size
    history = History()
    with _run_settings(config):
        seed_everything(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        model.to(device=device, memory_format=memory_format)
        loss.to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scheduler = _scheduler(optimizer, config, config.epochs * steps_per_epoch)
        bar = tqdm(total=config.epochs * steps_per_epoch, disable=not progress, unit="step", desc=config.variant)
        train_seconds = 0.0
        try:
            for epoch in range(1, config.epochs + 1):
                model.train()
                started = time.perf_counter()
                sums: dict[str, float] = {}
                order = torch.randperm(len(pixels), generator=generator)
                for step in range(steps_per_epoch):
                    batch = order[step * batch_size : (step + 1) * batch_size]
                    x = _to_input(pixels[batch], device)
                    if config.augment:
                        x = _augment(x, generator)
                    x = x.contiguous(memory_format=memory_format)
                    logits, embedding = model(x)
                    total, parts = loss(logits, embedding, targets[batch].to(device))
                    optimizer.zero_grad(set_to_none=True)
                    total.backward()
                    optimizer.step()
                    scheduler.step()
                    for name, value in parts.items():
                        sums[name] = sums.get(name, 0.0) + value
                    bar.update()
                    bar.set_postfix(loss=f"{parts['total']:.3f}", refresh=False)
                train_seconds += time.perf_counter() - started
                record = {"epoch": epoch, "lr": scheduler.get_last_lr()[0], "train_seconds": train_seconds}
                record.update({f"train_{name}": value / steps_per_epoch for name, value in sums.items()})
                if val_ds is not None:
                    scores = evaluate(model, val_ds, loss)
                    record.update({f"val_{name}": value for name, value in scores.items()})
                    bar.set_postfix(loss=f"{record['train_total']:.3f}", val_top1=f"{scores['top1']:.3f}")
                history.records.append(record)
        finally:
            bar.close()
            model.to(memory_format=torch.contiguous_format)
    return history


def save_checkpoint(
    path: str | os.PathLike[str],
    model: DoodleNet,
    *,
    categories: Sequence[str],
    label_vectors: LabelVectors,
    config: TrainConfig,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then ``os.replace``).

    It holds only tensors and plain types (readable with ``torch.load(weights_only=True)``):
    the weights, the model's hyper-parameters, the categories in label order, the label
    vectors with their source and fingerprint, the training config and ``metrics``.

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
    payload = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()},
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
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise CorruptFileError(f"{path} is not a readable doodlekit checkpoint ({exc}). {redo}") from exc
    expected = {"format", "state_dict", "hparams", "categories", "vectors", "config", "metrics"}
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or set(payload) != expected:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CorruptFileError(
            f"{path} is not a doodlekit checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r}). {redo}"
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


def _check_vectors(stored: LabelVectors, wanted: LabelVectors | str, path: Path) -> None:
    if isinstance(wanted, LabelVectors):
        if wanted.fingerprint == stored.fingerprint:
            return
        asked = f"label vectors from {wanted.source!r} (fingerprint {wanted.fingerprint[:12]})"
    else:
        if os.fspath(wanted) == stored.source:
            return
        asked = f"vector source {os.fspath(wanted)!r}"
    raise CheckpointMismatchError(
        f"checkpoint {path} was trained with label vectors from {stored.source!r} "
        f"(fingerprint {stored.fingerprint[:12]}), not the {asked}. Its embeddings live in that space: "
        "use the checkpoint's own vectors (meta['label_vectors']), or train a model for these vectors "
        "with train_variant(..., vectors=...)."
    )


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    categories: Sequence[str] | str | None = None,
    label_vectors_or_source: LabelVectors | str | None = None,
    device: str = "cpu",
) -> tuple[DoodleNet, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Args:
        categories: when given, the checkpoint must be for exactly these names, in this order.
        label_vectors_or_source: when given, the checkpoint's label vectors must be these
            (same fingerprint) or come from this spec (same source string).
        device: where to put the model.

    Returns:
        ``(model, meta)``: the model in eval mode, and ``meta`` with ``categories``,
        ``label_vectors`` (a :class:`LabelVectors`), ``vector_source``, ``fingerprint``,
        ``hparams``, ``config`` (a :class:`TrainConfig`) and ``metrics``.

    Raises:
        DataNotFoundError: no file at ``path``.
        CorruptFileError: not a readable doodlekit checkpoint.
        CheckpointMismatchError: other categories, other vectors, or weights that do not fit the model.
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
    }
    return model.to(device).eval(), meta


@dataclass
class Trained:
    """The result of :func:`train_variant`.

    Attributes:
        model: the trained :class:`DoodleNet` (eval mode, on the config's device).
        label_vectors: the label vectors it was trained against.
        history: per-epoch records.
        config: the training config.
        categories: names in label order.
        train_seconds: time spent in training steps (validation excluded).
        per_class: drawings per class loaded before the split.
        split_seed: seed of the train/val/test split.
    """

    model: DoodleNet
    label_vectors: LabelVectors
    history: History
    config: TrainConfig
    categories: list[str]
    train_seconds: float
    per_class: int | None
    split_seed: int

    def dataset(self, split: str = "test") -> QuickDrawBitmaps:
        """The ``"train"``, ``"val"`` or ``"test"`` split this model was trained / validated / is tested on."""
        return QuickDrawBitmaps(categories=self.categories, per_class=self.per_class, split=split, seed=self.split_seed)

    def loss(self) -> MultitaskLoss:
        """The loss the model was trained with (for :func:`evaluate`)."""
        return MultitaskLoss(self.config.variant, self.label_vectors, self.config.lam, self.config.margin)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """:func:`save_checkpoint` with the last epoch's record as metrics."""
        return save_checkpoint(
            path, self.model, categories=self.categories, label_vectors=self.label_vectors,
            config=self.config, metrics=self.history.final,
        )


def train_variant(
    variant: str,
    categories: Sequence[str] | str = DEFAULT_CATEGORIES,
    *,
    per_class: int | None = None,
    epochs: int = TrainConfig.epochs,
    seed: int = 0,
    vectors: str | LabelVectors = DEFAULT_SPEC,
    progress: bool = True,
    backbone: str = "small",
    split_seed: int = 0,
    validate: bool = True,
    **overrides: Any,
) -> Trained:
    """The kit's training recipe: load the data and label vectors, build the model, :func:`fit`.

    Args:
        variant: ``"ce"``, ``"fixed_margin"`` or ``"adaptive_margin"``.
        categories: names (or one comma-separated string); label ``k`` is ``categories[k]``.
        per_class: drawings per class before the 80/10/10 split (``None``: all there are).
        epochs, seed: as in :class:`TrainConfig`.
        vectors: a spec for :func:`~doodlekit.semantics.load_vectors`, or ready label vectors.
        progress: show a progress bar.
        backbone: ``"small"`` (CPU) or ``"resnet18"`` (GPU).
        split_seed: seed of the train/val/test split (kept apart from ``seed`` so that
            runs with different seeds are tested on the same drawings).
        validate: evaluate on the validation split after every epoch.
        overrides: any other :class:`TrainConfig` field (``lr``, ``lam``, ``augment``, ``device``...).
    """
    config = TrainConfig(variant=variant, epochs=epochs, seed=seed, **overrides)
    names = validate_categories(categories if isinstance(categories, str) else list(categories))
    if isinstance(vectors, LabelVectors):
        if vectors.categories != names:
            raise LabelVectorError(
                f"the label vectors are for {len(vectors)} names ({', '.join(vectors.categories[:5])}, ...), "
                f"not for the {len(names)} categories asked for; build them with label_vectors(spec, categories)."
            )
        labels = vectors
    else:
        labels = label_vectors(vectors, names)
    train_ds = QuickDrawBitmaps(categories=names, per_class=per_class, split="train", seed=split_seed)
    val_ds = QuickDrawBitmaps(categories=names, per_class=per_class, split="val", seed=split_seed) if validate else None
    seed_everything(seed)
    model = DoodleNet(len(names), labels.dim, backbone=backbone)
    loss = MultitaskLoss(variant, labels, lam=config.lam, margin=config.margin)
    history = fit(model, train_ds, val_ds, loss, config, progress=progress)
    model.eval()
    return Trained(
        model=model, label_vectors=labels, history=history, config=config, categories=names,
        train_seconds=history.final["train_seconds"], per_class=per_class, split_seed=split_seed,
    )
