"""Training losses: cross-entropy, and DVSQ's cosine hinge losses against label vectors.

Notation: a batch of N embeddings ``z`` (N, D) with labels ``y`` (N,) int64, and C label
vectors ``v`` (C, D) (any length; only their directions count). ``cos(z, v_k)`` is the
cosine similarity.

Normalisation follows DVSQ's code (``cos_loss`` in ``net.py`` of Cao et al.'s
cvpr17-dvsq, for both ``cos_margin_multi_label`` and ``cos_softmargin_multi_label``):
the hinge terms are summed over the batch and over the classes and divided by
``N * C`` (DVSQ divides by ``n_class * sum(labels)``, i.e. ``C * N`` for single labels).
So a loss is the batch mean of ``(1 / C) * sum_{k != y} max(0, margin - cos(z, v_y) + cos(z, v_k))``.
DVSQ's sum also runs over ``k = y``; that term is ``max(0, delta(y, y)) = 0`` for the
adaptive margin and the constant ``m / C`` (no gradient) for a fixed margin ``m``, which
is left out here so that a perfectly separated batch has loss 0.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from doodlekit.model.variants import check_variant
from doodlekit.semantics.labels import LabelVectors

#: DVSQ's fixed cosine margin (``margin_param`` in its ``run_dvsq.sh``).
DVSQ_MARGIN = 0.7


def cross_entropy_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy ``-log softmax(logits)[y]`` over the batch.

    Args:
        logits: (N, C) float class scores.
        targets: (N,) int64 labels in ``[0, C)``.

    Returns:
        A scalar tensor.
    """
    return F.cross_entropy(logits, targets)


def cosine_hinge_loss(
    embedding: torch.Tensor, targets: torch.Tensor, label_vectors: torch.Tensor, margins: torch.Tensor
) -> torch.Tensor:
    """DVSQ's cosine hinge with a margin per (label, other class) pair.

    ``loss = 1 / (N C) * sum_i sum_{k != y_i} max(0, margins[y_i, k] - cos(z_i, v_{y_i}) + cos(z_i, v_k))``

    Args:
        embedding: (N, D) float embeddings ``z``.
        targets: (N,) int64 labels ``y``.
        label_vectors: (C, D) float label vectors ``v`` (normalised here).
        margins: (C, C) float margins; row ``y`` holds the margins of label ``y``.

    Returns:
        A scalar tensor.
    """
    cosines = F.normalize(embedding, dim=1) @ F.normalize(label_vectors, dim=1).T
    positive = cosines.gather(1, targets[:, None])
    hinge = F.relu(margins[targets] - positive + cosines)
    others = torch.ones_like(hinge).scatter_(1, targets[:, None], 0.0)
    return (hinge * others).sum() / hinge.numel()


def fixed_margin_loss(
    embedding: torch.Tensor, targets: torch.Tensor, label_vectors: torch.Tensor, margin: float = DVSQ_MARGIN
) -> torch.Tensor:
    """Fixed-margin cosine hinge: ``margins[y, k] = m`` for every pair (DVSQ's alternative).

    ``loss = 1 / (N C) * sum_i sum_{k != y_i} max(0, m - cos(z_i, v_{y_i}) + cos(z_i, v_k))``

    Args:
        embedding: (N, D) float embeddings; targets: (N,) int64 labels;
        label_vectors: (C, D) float; margin: ``m``, DVSQ used 0.7.
    """
    num_classes = label_vectors.shape[0]
    margins = torch.full((num_classes, num_classes), float(margin), dtype=embedding.dtype, device=embedding.device)
    return cosine_hinge_loss(embedding, targets, label_vectors, margins)


def adaptive_margin_loss(
    embedding: torch.Tensor, targets: torch.Tensor, label_vectors: torch.Tensor
) -> torch.Tensor:
    """Adaptive-margin cosine hinge (DVSQ's loss): the margin is ``delta(y, k) = 1 - cos(v_y, v_k)``.

    ``loss = 1 / (N C) * sum_i sum_{k != y_i} max(0, delta(y_i, k) - cos(z_i, v_{y_i}) + cos(z_i, v_k))``

    Semantically close labels (cat, dog) ask for a small gap, unrelated ones for a large one.

    Args:
        embedding: (N, D) float embeddings; targets: (N,) int64 labels; label_vectors: (C, D) float.
    """
    unit = F.normalize(label_vectors, dim=1)
    return cosine_hinge_loss(embedding, targets, label_vectors, 1.0 - unit @ unit.T)


class MultitaskLoss(nn.Module):
    """``CE(logits, y) + lam * semantic(embedding, y)``, the semantic term chosen by ``variant``.

    Args:
        variant: a name of :data:`~doodlekit.model.variants.VARIANTS`: ``"ce"`` (no semantic term),
            ``"fixed_margin"`` or ``"adaptive_margin"``.
        label_vectors: :class:`~doodlekit.semantics.LabelVectors` or a (C, D) array.
        lam: weight of the semantic term.
        margin: the fixed margin of ``"fixed_margin"`` (ignored otherwise).

    ``forward(logits (N, C), embedding (N, D), targets (N,))`` returns ``(total, parts)``:
    the scalar tensor to minimise and a dict of floats ``{"ce", "semantic", "total"}``
    (``"semantic"`` is the unweighted term; 0.0 for a variant without one, ``"ce"``).
    """

    def __init__(
        self,
        variant: str,
        label_vectors: LabelVectors | np.ndarray,
        lam: float = 1.0,
        margin: float = DVSQ_MARGIN,
    ) -> None:
        super().__init__()
        self.semantic = check_variant(variant).semantic
        vectors = label_vectors.vectors if isinstance(label_vectors, LabelVectors) else np.asarray(label_vectors)
        self.variant = variant
        self.lam = float(lam)
        self.margin = float(margin)
        self.register_buffer("label_vectors", torch.tensor(vectors, dtype=torch.float32))

    def forward(
        self, logits: torch.Tensor, embedding: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        ce = cross_entropy_loss(logits, targets)
        if not self.semantic:
            return ce, {"ce": ce.item(), "semantic": 0.0, "total": ce.item()}
        if self.variant == "fixed_margin":
            semantic = fixed_margin_loss(embedding, targets, self.label_vectors, self.margin)
        else:
            semantic = adaptive_margin_loss(embedding, targets, self.label_vectors)
        total = ce + self.lam * semantic
        return total, {"ce": ce.item(), "semantic": semantic.item(), "total": total.item()}

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}, lam={self.lam}, margin={self.margin}"
