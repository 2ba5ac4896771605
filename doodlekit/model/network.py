"""The two-headed CNN: class logits and a semantic embedding of a 28x28 doodle."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: Backbones of :class:`DoodleNet`: ``"small"`` trains on a laptop CPU in minutes;
#: ``"resnet18"`` (torchvision's, adapted to 1 channel and 28 px, random init) wants a GPU.
BACKBONES = ("small", "resnet18")


def _conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 conv (same padding) -> 2x2 max-pool -> BatchNorm -> ReLU.

    Pooling before BatchNorm and ReLU makes those run on a quarter of the pixels
    (a quarter less time per step on CPU, where they cost as much as the convolutions).
    """
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


def _small_encoder(feature_dim: int) -> nn.Sequential:
    """(B, 1, 28, 28) -> (B, feature_dim): three conv stages (28 -> 14 -> 7 -> 3 px), then FC."""
    return nn.Sequential(
        *_conv_block(1, 32),
        *_conv_block(32, 64),
        *_conv_block(64, 128),
        nn.Flatten(),
        nn.Linear(128 * 3 * 3, feature_dim, bias=False),
        nn.BatchNorm1d(feature_dim),
        nn.ReLU(inplace=True),
    )


def _resnet18_encoder() -> tuple[nn.Module, int]:
    """torchvision's ResNet-18 with a 3x3 stride-1 one-channel stem and no max-pool (28 px input).

    torchvision is imported here, not with the module: it brings torch's compiler stack (about
    90 MB per kernel), which the small CPU backbone never needs.
    """
    import torchvision

    net = torchvision.models.resnet18(weights=None)
    net.conv1 = nn.Conv2d(1, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    feature_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, feature_dim


class DoodleNet(nn.Module):
    """A CNN encoder with two heads: class logits and an embedding in the word-vector space.

    Args:
        num_classes: C, the number of categories.
        embed_dim: D, the dimension of the label vectors (50 for GloVe 6B 50d).
        backbone: one of :data:`BACKBONES`.
        feature_dim: width of the penultimate features of ``"small"`` (ResNet-18's is 512).

    Inputs are (B, 1, 28, 28) float32 in [0, 1] (ink = 1), as the datasets give them.
    """

    def __init__(self, num_classes: int, embed_dim: int, backbone: str = "small", feature_dim: int = 256) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; use one of {', '.join(BACKBONES)}")
        if num_classes < 2 or embed_dim < 1:
            raise ValueError(
                f"DoodleNet needs num_classes >= 2 and embed_dim >= 1, got {num_classes} and {embed_dim}; "
                "pass len(categories) and the label vectors' dimension."
            )
        if backbone == "small":
            self.encoder: nn.Module = _small_encoder(feature_dim)
        else:
            self.encoder, feature_dim = _resnet18_encoder()
        self.classifier = nn.Linear(feature_dim, num_classes)
        self.embedder = nn.Linear(feature_dim, embed_dim)
        self.hparams: dict[str, Any] = {
            "num_classes": num_classes,
            "embed_dim": embed_dim,
            "backbone": backbone,
            "feature_dim": feature_dim,
        }

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features: (B, 1, 28, 28) -> (B, feature_dim) float32 (non-negative, after ReLU)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, 28, 28) -> (logits (B, C), embedding (B, D))."""
        features = self.features(x)
        return self.classifier(features), self.embedder(features)
