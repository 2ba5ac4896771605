"""Losses against naive per-sample loops: values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from doodlekit.model import (
    VARIANTS,
    VECTOR_KINDS,
    MultitaskLoss,
    TrainConfig,
    adaptive_margin_loss,
    check_variant,
    cross_entropy_loss,
    display_name,
    fixed_margin_loss,
)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum() / (a.norm() * b.norm())


def _naive_hinge(z: torch.Tensor, y: torch.Tensor, v: torch.Tensor, margin: float | None) -> torch.Tensor:
    """sum_i sum_{k != y_i} max(0, delta - cos(z_i, v_y) + cos(z_i, v_k)) / (N C).

    ``delta`` is ``margin``, or ``1 - cos(v_y, v_k)`` when ``margin`` is None.
    """
    n, c = z.shape[0], v.shape[0]
    total = z.new_zeros(())
    for i in range(n):
        yi = int(y[i])
        for k in range(c):
            if k == yi:
                continue
            delta = margin if margin is not None else 1 - _cos(v[yi], v[k])
            total = total + torch.clamp(delta - _cos(z[i], v[yi]) + _cos(z[i], v[k]), min=0)
    return total / (n * c)


def _naive_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    terms = [-(logits[i, int(y[i])] - torch.log(torch.exp(logits[i]).sum())) for i in range(len(y))]
    return torch.stack(terms).mean()


def _inputs(seed: int, n: int = 7, c: int = 5, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(c, d, generator=g, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, c, (n,), generator=g)
    return z, v, logits, y


def _assert_same(fast: torch.Tensor, slow: torch.Tensor, wrt: tuple[torch.Tensor, ...]) -> None:
    torch.testing.assert_close(fast, slow)
    for got, want in zip(torch.autograd.grad(fast, wrt), torch.autograd.grad(slow, wrt)):
        torch.testing.assert_close(got, want)
    assert slow.item() > 0  # random inputs violate some margins: the comparison is not 0 == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_matches_loop(seed: int) -> None:
    _, _, logits, y = _inputs(seed)
    _assert_same(cross_entropy_loss(logits, y), _naive_ce(logits, y), (logits,))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("margin", [0.7, 0.2])
def test_fixed_margin_matches_loop(seed: int, margin: float) -> None:
    z, v, _, y = _inputs(seed)
    _assert_same(fixed_margin_loss(z, y, v, margin), _naive_hinge(z, y, v, margin), (z, v))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adaptive_margin_matches_loop(seed: int) -> None:
    z, v, _, y = _inputs(seed)
    _assert_same(adaptive_margin_loss(z, y, v), _naive_hinge(z, y, v, None), (z, v))


def test_adaptive_margin_is_zero_on_the_label_vector_and_scale_free() -> None:
    _, v, _, _ = _inputs(3)
    y = torch.tensor([0, 1, 2, 3, 4, 2])
    on_label = v.detach()[y] * torch.tensor([[0.5], [2.0], [1.0], [3.0], [1.0], [7.0]], dtype=torch.float64)
    assert adaptive_margin_loss(on_label, y, v).item() == pytest.approx(0.0, abs=1e-12)
    assert fixed_margin_loss(on_label, y, v, 0.7).item() > 0  # a fixed margin still pushes close labels apart
    z = torch.randn(6, v.shape[1], dtype=torch.float64)
    torch.testing.assert_close(adaptive_margin_loss(z * 5, y, v * 3), adaptive_margin_loss(z, y, v))


@pytest.mark.parametrize("variant", ["ce", "fixed_margin", "adaptive_margin"])
def test_multitask_total_is_ce_plus_lambda_semantic(variant: str) -> None:
    z, v, logits, y = _inputs(4)
    loss = MultitaskLoss(variant, v.detach().float().numpy(), lam=0.3, margin=0.5)
    total, parts = loss(logits.float(), z.float(), y)
    ce = F.cross_entropy(logits.float(), y).item()
    semantic = {
        "ce": 0.0,
        "fixed_margin": _naive_hinge(z, y, v, 0.5).item(),
        "adaptive_margin": _naive_hinge(z, y, v, None).item(),
    }[variant]
    assert parts["ce"] == pytest.approx(ce, rel=1e-5)
    assert parts["semantic"] == pytest.approx(semantic, rel=1e-5)
    assert parts["total"] == pytest.approx(ce + 0.3 * semantic, rel=1e-5)
    assert total.item() == pytest.approx(parts["total"], rel=1e-6)
    assert all(isinstance(value, float) for value in parts.values())


def test_multitask_ce_variant_ignores_the_embedding() -> None:
    z, v, logits, y = _inputs(5)
    total, _ = MultitaskLoss("ce", v.detach().numpy())(logits, z, y)
    grad_logits, grad_z = torch.autograd.grad(total, (logits, z), allow_unused=True)
    assert grad_z is None and grad_logits.abs().sum() > 0


def test_multitask_rejects_an_unknown_variant() -> None:
    with pytest.raises(ValueError, match="adaptive_margin"):
        MultitaskLoss("triplet", torch.eye(3).numpy())


def test_the_variants_table_drives_the_loss_and_names_every_variant() -> None:
    assert list(VARIANTS) == ["ce", "fixed_margin", "adaptive_margin", "dvsq"]
    assert [name for name, variant in VARIANTS.items() if variant.joint_quantizer] == ["dvsq"]
    for name, variant in VARIANTS.items():
        assert variant.name == name and variant.retrieves_with in VECTOR_KINDS
        # a variant retrieves with its embedding exactly when its loss trains that embedding
        assert variant.semantic == (variant.retrieves_with == "embedding")
        assert MultitaskLoss(name, torch.eye(3).numpy()).semantic == variant.semantic
        assert display_name(name) == variant.display_name
    assert display_name("mine") == "mine"
    with pytest.raises(ValueError, match="variant 'triplet'; use one of ce, fixed_margin, adaptive_margin, dvsq"):
        check_variant("triplet")
    with pytest.raises(ValueError, match="unknown loss variant 'triplet'"):
        TrainConfig(variant="triplet")
