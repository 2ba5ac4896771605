"""Training :class:`~doodlekit.model.network.DoodleNet`: the loop (:func:`fit`) and the kit's recipe.

:func:`train_variant` is the one recipe (data, label vectors, model, loss, schedule) that
``doodlekit reproduce`` and the lessons call; :func:`fit` is its loop. Training batches the
datasets' ``.images`` / ``.targets`` arrays directly with a seeded permutation (no worker
processes), so the same seed gives the same numbers on one CPU. Serving code never imports this
module: inference is :mod:`doodlekit.model.inference`, checkpoints :mod:`doodlekit.model.checkpoints`.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from doodlekit.data.categories import DEFAULT_CATEGORIES, validate_categories
from doodlekit.data.datasets import QuickDrawBitmaps
from doodlekit.data.settings import Settings, get_settings
from doodlekit.errors import LabelVectorError
from doodlekit.model.checkpoints import save_checkpoint
from doodlekit.model.codebooks import (
    N_CODEWORDS,
    fit_codebooks,
    init_codebooks,
    label_metric,
    quantization_loss,
    reconstruct,
)
from doodlekit.model.config import TrainConfig
from doodlekit.model.inference import BitmapData, as_pixels, evaluate, to_input
from doodlekit.model.losses import MultitaskLoss
from doodlekit.model.network import DoodleNet
from doodlekit.model.variants import check_variant
from doodlekit.semantics.labels import LabelVectors, label_vectors
from doodlekit.semantics.sources import DEFAULT_SPEC


@dataclass
class History:
    """Per-epoch records of :func:`fit`.

    Each record has ``epoch`` (1-based), ``lr`` (at the epoch's end), ``train_seconds``
    (cumulative time in training steps, validation excluded), ``train_ce`` /
    ``train_semantic`` / ``train_total`` (means over the epoch's steps) and, with a
    validation set, the ``val_*`` entries of :func:`evaluate`. A variant with a joint quantizer
    also records ``train_quantization`` (its unweighted loss, 0 in the first epoch) and keeps the
    final ``codebooks`` (M, K, D) (else None).
    """

    records: list[dict[str, float]] = field(default_factory=list)
    codebooks: np.ndarray | None = None

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


#: Drawings per forward pass when the joint quantizer embeds the training set.
_EMBED_BATCH = 1024


class _JointQuantizer:
    """DVSQ's alternation inside :func:`fit`: codebooks C and codes b of the training drawings.

    After every epoch (:meth:`update`) the training drawings are embedded (eval mode, no
    augmentation) and unit-normalised; the first time, C starts from k-means on sub-spaces; then C
    and b take one round of ICM and the closed-form update, and the codes are re-encoded by ICM
    (:func:`~doodlekit.model.codebooks.fit_codebooks`). Between updates, network steps see C b as
    fixed targets of :meth:`loss` (as DeepHash does, the loss is off until the first update).
    Embeddings are unit-normalised because the hinge only sees directions: quantizing raw
    embeddings would let the network shrink the quantization loss by shrinking its outputs.
    """

    def __init__(self, pixels: torch.Tensor, label_vectors: torch.Tensor, config: TrainConfig) -> None:
        if len(pixels) < N_CODEWORDS:
            raise ValueError(
                f"the {config.variant!r} variant learns codebooks of {N_CODEWORDS} codewords from the training "
                f"drawings, so it needs at least {N_CODEWORDS} of them, got {len(pixels)}; load more drawings per class"
            )
        self.pixels = pixels
        self.vectors = F.normalize(label_vectors, dim=1)
        self.metric = label_metric(self.vectors.double().cpu().numpy(), label_vectors.shape[1])
        self.n_codebooks = config.quantizer_bits // 8
        self.seed = config.seed
        self.codebooks: np.ndarray | None = None
        self.targets: torch.Tensor | None = None
        self.updates = 0

    def loss(self, embedding: torch.Tensor, batch: torch.Tensor) -> torch.Tensor | None:
        """The quantization loss of a batch's embeddings (B, D) against their fixed C b; None before the first update."""
        if self.targets is None:
            return None
        return quantization_loss(F.normalize(embedding, dim=1), self.targets[batch], self.vectors)

    def update(self, model: DoodleNet, device: torch.device, memory_format: torch.memory_format) -> None:
        """Embed the training set with ``model``, then refresh C and b."""
        model.eval()
        with torch.no_grad():
            chunks = [model(to_input(self.pixels[start : start + _EMBED_BATCH], device)
                            .contiguous(memory_format=memory_format))[1]
                      for start in range(0, len(self.pixels), _EMBED_BATCH)]
        model.train()
        unit = F.normalize(torch.cat(chunks).double(), dim=1).cpu().numpy()
        if self.codebooks is None:
            self.codebooks = init_codebooks(unit, self.n_codebooks, seed=self.seed)
        self.codebooks, codes = fit_codebooks(unit, self.metric, self.codebooks, seed=self.seed + 2 * self.updates)
        self.targets = torch.as_tensor(reconstruct(codes, self.codebooks), dtype=torch.float32, device=device)
        self.updates += 1


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
    The model ends on ``config.device`` in the default (contiguous) memory format. A variant with
    a joint quantizer adds ``config.quantizer_lam`` times DVSQ's quantization loss and learns the
    codebooks between epochs (:class:`_JointQuantizer`); they end in ``History.codebooks``.

    Returns:
        The :class:`History`, one record per epoch.
    """
    device = torch.device(config.device)
    pixels = as_pixels(train_ds.images)
    targets = torch.as_tensor(np.asarray(train_ds.targets), dtype=torch.int64)
    if len(pixels) < 2 or len(pixels) != len(targets):
        raise ValueError(
            f"the training set needs at least 2 drawings and one label per drawing, got {len(pixels)} images "
            f"and {len(targets)} labels; load more drawings per class"
        )
    batch_size = min(config.batch_size, len(pixels))
    steps_per_epoch = len(pixels) // batch_size
    history = History()
    joint = _JointQuantizer(pixels, loss.label_vectors, config) if check_variant(config.variant).joint_quantizer else None
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
                    x = to_input(pixels[batch], device)
                    if config.augment:
                        x = _augment(x, generator)
                    x = x.contiguous(memory_format=memory_format)
                    logits, embedding = model(x)
                    total, parts = loss(logits, embedding, targets[batch].to(device))
                    if joint is not None:
                        quantization = joint.loss(embedding, batch)
                        if quantization is not None:
                            total = total + config.quantizer_lam * quantization
                        parts = {**parts, "quantization": 0.0 if quantization is None else quantization.item(),
                                 "total": total.item()}
                    optimizer.zero_grad(set_to_none=True)
                    total.backward()
                    optimizer.step()
                    scheduler.step()
                    for name, value in parts.items():
                        sums[name] = sums.get(name, 0.0) + value
                    bar.update()
                    bar.set_postfix(loss=f"{parts['total']:.3f}", refresh=False)
                if joint is not None:
                    joint.update(model, device, memory_format)
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
    history.codebooks = None if joint is None else joint.codebooks
    return history


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
        settings: where its drawings are read from (``None``: the environment's, when read).
        data: the ``split -> dataset`` function it was trained with, or ``None`` for Quick, Draw! bitmaps.
        codebooks: (M, K, D) float64 codebooks learnt jointly (a variant with a joint quantizer), else None.
    """

    model: DoodleNet
    label_vectors: LabelVectors
    history: History
    config: TrainConfig
    categories: list[str]
    train_seconds: float
    per_class: int | None
    split_seed: int
    settings: Settings | None = None
    data: Callable[[str], BitmapData] | None = None
    codebooks: np.ndarray | None = None

    def dataset(self, split: str = "test") -> BitmapData:
        """The ``"train"``, ``"val"`` or ``"test"`` split this model was trained / validated / is tested on."""
        if self.data is not None:
            return self.data(split)
        return QuickDrawBitmaps(self.categories, self.per_class, split, seed=self.split_seed, settings=self.settings)

    def loss(self) -> MultitaskLoss:
        """The loss the model was trained with (for :func:`evaluate`)."""
        return MultitaskLoss(self.config.variant, self.label_vectors, self.config.lam, self.config.margin)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """:func:`save_checkpoint` with the last epoch's record as metrics."""
        return save_checkpoint(
            path, self.model, categories=self.categories, label_vectors=self.label_vectors,
            config=self.config, metrics=self.history.final, codebooks=self.codebooks,
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
    settings: Settings | None = None,
    data: Callable[[str], BitmapData] | None = None,
    **overrides: Any,
) -> Trained:
    """The kit's training recipe: load the data and label vectors, build the model, :func:`fit`.

    Args:
        variant: ``"ce"``, ``"fixed_margin"``, ``"adaptive_margin"`` or ``"dvsq"`` (adaptive margin with
            a joint quantizer).
        categories: names (or one comma-separated string); label ``k`` is ``categories[k]``.
        per_class: drawings per class before the 80/10/10 split (``None``: all there are).
        epochs, seed: as in :class:`TrainConfig`.
        vectors: a spec for :func:`~doodlekit.semantics.load_vectors`, or ready label vectors.
        progress: show a progress bar.
        backbone: ``"small"`` (CPU) or ``"resnet18"`` (GPU).
        split_seed: seed of the train/val/test split (kept apart from ``seed`` so that
            runs with different seeds are tested on the same drawings).
        validate: evaluate on the validation split after every epoch.
        settings: where the drawings are read from (``None``: the environment's, resolved once);
            kept in the result, so that :meth:`Trained.dataset` reads from the same place.
        data: another dataset than Quick, Draw! bitmaps: a function of the split (``"train"``, ``"val"``,
            ``"test"``) returning a dataset whose labels follow ``categories`` (e.g. a
            :class:`~doodlekit.data.animal_mnist.AnimalMNIST`); ``per_class`` and ``split_seed`` are then its own.
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
    settings = settings or get_settings()

    def quickdraw(split: str) -> BitmapData:
        return QuickDrawBitmaps(names, per_class, split, seed=split_seed, settings=settings)

    load = data or quickdraw
    train_ds = load("train")
    val_ds = load("val") if validate else None
    seed_everything(seed)
    model = DoodleNet(len(names), labels.dim, backbone=backbone)
    loss = MultitaskLoss(variant, labels, lam=config.lam, margin=config.margin)
    history = fit(model, train_ds, val_ds, loss, config, progress=progress)
    model.eval()
    return Trained(
        model=model, label_vectors=labels, history=history, config=config, categories=names,
        train_seconds=history.final["train_seconds"], per_class=per_class, split_seed=split_seed, settings=settings,
        data=data,
        codebooks=history.codebooks,
    )
