"""DoodleNet: the two heads' shapes, both backbones."""

from __future__ import annotations

import pytest
import torch

from doodlekit.model import DoodleNet


@pytest.mark.parametrize(("backbone", "feature_dim"), [("small", 256), ("resnet18", 512)])
def test_heads_have_the_documented_shapes(backbone: str, feature_dim: int) -> None:
    torch.manual_seed(0)
    model = DoodleNet(num_classes=7, embed_dim=50, backbone=backbone).eval()
    x = torch.rand(3, 1, 28, 28)
    logits, embedding = model(x)
    features = model.features(x)
    assert logits.shape == (3, 7) and embedding.shape == (3, 50) and features.shape == (3, feature_dim)
    assert logits.dtype == embedding.dtype == torch.float32
    assert (features >= 0).all()
    torch.testing.assert_close(model.classifier(features), logits)
    assert model.hparams == {"num_classes": 7, "embed_dim": 50, "backbone": backbone, "feature_dim": feature_dim}


def test_hparams_rebuild_the_same_architecture() -> None:
    model = DoodleNet(5, 300, feature_dim=64)
    twin = DoodleNet(**model.hparams)
    twin.load_state_dict(model.state_dict())
    assert [p.shape for p in twin.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize("kwargs", [{"backbone": "vgg"}, {"num_classes": 1}, {"embed_dim": 0}])
def test_bad_arguments_say_what_to_pass(kwargs: dict) -> None:
    args = {"num_classes": 4, "embed_dim": 50, **kwargs}
    with pytest.raises(ValueError, match="use one of|pass len"):
        DoodleNet(**args)
