"""The hyper-parameters of one training run (:class:`TrainConfig`), plain types so checkpoints can hold them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from doodlekit.defaults import JOINT_BITS
from doodlekit.model.losses import DVSQ_MARGIN
from doodlekit.model.variants import check_variant

SCHEDULES = ("onecycle", "constant")


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all plain types, so checkpoints can hold them).

    Attributes:
        variant: loss, a name of :data:`~doodlekit.model.variants.VARIANTS` (``"ce"``, ``"fixed_margin"``,
            ``"adaptive_margin"``, ``"dvsq"``).
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
        quantizer_bits: code width of a variant with a joint quantizer (8 bits per codebook of 256).
        quantizer_lam: weight of its quantization loss (``lam_q``); the loss is off in the first epoch.
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
    quantizer_bits: int = JOINT_BITS
    quantizer_lam: float = 1.0

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; use one of {', '.join(SCHEDULES)}")
        if self.quantizer_bits < 8 or self.quantizer_bits % 8 or self.quantizer_lam < 0:
            raise ValueError(
                f"need quantizer_bits a positive multiple of 8 and quantizer_lam >= 0; got "
                f"quantizer_bits={self.quantizer_bits}, quantizer_lam={self.quantizer_lam}"
            )
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
