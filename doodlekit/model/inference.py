"""Running a trained :class:`~doodlekit.model.network.DoodleNet`: embeddings, probabilities, accuracy.

On CPU every forward pass runs on a float64 copy of the model and rounds its outputs to float32
(:func:`exact_copy`), so the same weights give the same numbers on any CPU. This module is what
serving code (the doodle search and pad) needs; it imports nothing of training."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from doodlekit.data.raster import as_bitmaps
from doodlekit.model.losses import MultitaskLoss
from doodlekit.model.network import DoodleNet

#: Drawings per forward pass at inference; float64 activations of 256 drawings take about 50 MB.
INFER_BATCH = 256


class BitmapData(Protocol):
    """What training reads from a dataset (e.g. :class:`~doodlekit.data.datasets.QuickDrawBitmaps`)."""

    images: np.ndarray  # (N, 28, 28) uint8, 0 = paper, 255 = ink
    targets: np.ndarray  # (N,) int64 labels


def as_pixels(images: np.ndarray) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) uint8 tensor, or a ValueError saying what to pass
    (:func:`~doodlekit.data.raster.as_bitmaps`)."""
    return torch.from_numpy(np.ascontiguousarray(as_bitmaps(images, rows=False))).unsqueeze(1)


def to_input(pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (B, 1, 28, 28) -> float32 in [0, 1] on ``device``."""
    return pixels.to(device).float().div_(255)


def exact_copy(model: DoodleNet) -> DoodleNet:
    """The network to infer with: on CPU a float64 copy of ``model`` (eval mode), elsewhere ``model`` itself.

    Keep it to infer many times with the same weights (pass it as :func:`infer`'s ``net``): copying
    costs more than one forward pass over one drawing.

    The same float32 weights give other low-order digits on other CPUs (oneDNN, MKL and ATen pick
    kernels by instruction set and sum in other orders). Computed in float64, those differences
    stay near 1e-15, and rounding the outputs to float32 removes them, so that embeddings, codes
    and every metric downstream of fixed weights are the same on any CPU.
    """
    if next(model.parameters()).device.type != "cpu":
        return model
    return copy.deepcopy(model).to(torch.float64).eval()


def infer(
    model: DoodleNet,
    images: np.ndarray,
    outputs: Callable[[DoodleNet, torch.Tensor], Sequence[torch.Tensor]],
    batch_size: int = INFER_BATCH,
    *,
    net: DoodleNet | None = None,
) -> list[torch.Tensor]:
    """Run ``outputs(net, x)`` over (N, 28, 28) uint8 images in eval mode; each output concatenated
    on CPU as float32. ``net`` is :func:`exact_copy` of ``model``, made here unless given."""
    pixels = as_pixels(images)
    device = next(model.parameters()).device
    net = exact_copy(model) if net is None else net
    dtype = next(net.parameters()).dtype
    was_training = model.training
    net.eval()
    chunks: list[list[torch.Tensor]] = []
    try:
        with torch.no_grad():
            for start in range(0, max(len(pixels), 1), batch_size):  # one empty batch for no images
                x = to_input(pixels[start : start + batch_size], device).to(dtype)
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
    return infer(model, images, heads[which], batch_size)[0].numpy()


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose true label is among the k highest scores (N, C); ties by class index."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be a 2-D array (N, C) and labels (N,), one per row; got {scores.shape} and {labels.shape}"
        )
    n_classes = scores.shape[1]
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= n_classes)):
        raise ValueError(f"labels must be ints indexing the {n_classes} columns of scores")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n_classes:
        raise ValueError(f"k={k} exceeds the {n_classes} classes")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def predict_logits(model: DoodleNet, images: np.ndarray, batch_size: int = INFER_BATCH) -> np.ndarray:
    """Class logits (before the softmax): (N, 28, 28) uint8 -> (N, C) float32."""
    return infer(model, images, lambda net, x: [net(x)[0]], batch_size)[0].numpy()


def predict_proba(model: DoodleNet, images: np.ndarray, batch_size: int = INFER_BATCH) -> np.ndarray:
    """Class probabilities (softmax of the logits): (N, 28, 28) uint8 -> (N, C) float32."""
    return infer(model, images, lambda net, x: [net(x)[0].softmax(1)], batch_size)[0].numpy()


def evaluate(
    model: DoodleNet, dataset: BitmapData, loss: MultitaskLoss | None = None, batch_size: int = INFER_BATCH
) -> dict[str, float]:
    """Accuracy of ``model`` on a dataset, and with ``loss`` its loss parts and label-vector cosines.

    Returns:
        ``top1``, ``top5`` (when there are at least 5 classes) as fractions in [0, 1]; with
        ``loss``: ``ce``, ``semantic``, ``total`` (means over the set), ``cos_true`` (mean
        ``cos(z, v_y)``) and ``cos_other`` (mean ``max_{k != y} cos(z, v_k)``) of the embeddings.
    """
    logits, embedding = infer(model, dataset.images, lambda net, x: net(x), batch_size)
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
