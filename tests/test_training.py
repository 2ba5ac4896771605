"""Training on real drawings: determinism, a short run that learns, inference, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from doodlekit.data import QuickDrawBitmaps, get_settings
from doodlekit.errors import CheckpointMismatchError, CorruptFileError, DataNotFoundError
from doodlekit.model import (
    DoodleNet,
    MultitaskLoss,
    TrainConfig,
    Trained,
    embed,
    evaluate,
    fit,
    label_metric,
    load_checkpoint,
    predict_proba,
    reconstruct,
    save_checkpoint,
    seed_everything,
    train_variant,
)
from doodlekit.retrieval import VisualSemanticQuantizer
from doodlekit.semantics import label_vectors, load_vectors

CATEGORIES = ["cat", "circle", "star", "fish"]


@pytest.fixture(scope="module")
def trained(mirror: Path) -> Trained:
    """A short adaptive-margin run on 4 real categories (about 1,600 training drawings)."""
    return train_variant("adaptive_margin", CATEGORIES, per_class=500, epochs=3, batch_size=64,
                         lr=5e-3, progress=False)


def _fit_once(config: TrainConfig) -> tuple[list[dict[str, float]], dict[str, torch.Tensor]]:
    names = CATEGORIES[:3]
    train = QuickDrawBitmaps(categories=names, per_class=150, split="train")
    val = QuickDrawBitmaps(categories=names, per_class=150, split="val")
    vectors = label_vectors("glove-6b-50d", names)
    seed_everything(config.seed)
    model = DoodleNet(len(names), vectors.dim, feature_dim=64)
    history = fit(model, train, val, MultitaskLoss(config.variant, vectors), config, progress=False)
    return history.records, model.state_dict()


@pytest.mark.usefixtures("mirror")
def test_same_seed_gives_identical_metrics_and_weights() -> None:
    config = TrainConfig(variant="fixed_margin", epochs=2, batch_size=32, augment=True, seed=3)
    (first, weights), (second, again) = _fit_once(config), _fit_once(config)
    strip = [{k: v for k, v in r.items() if k != "train_seconds"} for r in first]
    assert strip == [{k: v for k, v in r.items() if k != "train_seconds"} for r in second]
    assert all(torch.equal(weights[name], again[name]) for name in weights)
    other, _ = _fit_once(TrainConfig(variant="fixed_margin", epochs=2, batch_size=32, augment=True, seed=4))
    assert other[-1]["train_total"] != first[-1]["train_total"]
    assert not torch.are_deterministic_algorithms_enabled()  # fit restores the global setting


def test_short_training_beats_chance_and_aligns_embeddings(trained: Trained) -> None:
    history = trained.history
    assert [r["epoch"] for r in history.records] == [1, 2, 3]
    assert history.records[-1]["train_total"] < history.records[0]["train_total"]
    test = trained.dataset("test")
    scores = evaluate(trained.model, test, trained.loss())
    assert scores["top1"] > 0.7  # chance is 0.25
    assert scores["cos_true"] > scores["cos_other"] + 0.1
    assert set(scores) == {"top1", "ce", "semantic", "total", "cos_true", "cos_other"}  # 4 classes: no top-5
    assert trained.train_seconds == history.final["train_seconds"] > 0


def test_embed_and_predict_proba(trained: Trained) -> None:
    images = trained.dataset("val").images[:37]
    probs = predict_proba(trained.model, images, batch_size=16)
    assert probs.shape == (37, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    embedding = embed(trained.model, images, batch_size=16)
    features = embed(trained.model, images, which="features")
    assert embedding.shape == (37, 50) and features.shape == (37, 256)
    assert embedding.dtype == features.dtype == np.float32
    np.testing.assert_allclose(embed(trained.model, images, batch_size=37), embedding, rtol=1e-4, atol=1e-5)
    assert trained.model.training is False
    assert embed(trained.model, images[:0]).shape == (0, 50) and predict_proba(trained.model, images[:0]).shape == (0, 4)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\) uint8"):
        predict_proba(trained.model, images.astype(np.float32))
    with pytest.raises(ValueError, match="features"):
        embed(trained.model, images, which="logits")


def test_checkpoint_round_trip(trained: Trained, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind
    model, meta = load_checkpoint(path, categories=CATEGORIES, label_vectors_or_source="glove-6b-50d")
    images = trained.dataset("test").images[:20]
    np.testing.assert_array_equal(predict_proba(model, images), predict_proba(trained.model, images))
    assert meta["categories"] == CATEGORIES
    assert meta["fingerprint"] == trained.label_vectors.fingerprint
    np.testing.assert_array_equal(meta["label_vectors"].vectors, trained.label_vectors.vectors)
    assert meta["config"] == trained.config
    assert meta["metrics"]["val_top1"] == trained.history.final["val_top1"]
    assert meta["hparams"] == trained.model.hparams
    load_checkpoint(path, label_vectors_or_source=trained.label_vectors)  # ready vectors match too


def test_checkpoint_for_other_categories_fails_clearly(trained: Trained, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model.pt")
    with pytest.raises(CheckpointMismatchError, match=r"lacks 'dog'.*also has 'fish'.*categories=None"):
        load_checkpoint(path, categories=["cat", "circle", "star", "dog"])
    with pytest.raises(CheckpointMismatchError, match="another label order"):
        load_checkpoint(path, categories=list(reversed(CATEGORIES)))


def _glove_file(path: Path, words: list[str], binary: bool = False, scale: float = 1.0) -> Path:
    """The GloVe vectors of ``words`` (times ``scale``) as a word2vec file: the same numbers under another spec."""
    glove = load_vectors("glove-6b-50d")
    kv = KeyedVectors(glove.vector_size)
    kv.add_vectors(words, np.stack([glove[word] * scale for word in words]))
    kv.save_word2vec_format(str(path), binary=binary)
    return path


def test_checkpoint_loads_with_any_spec_of_the_same_vectors(trained: Trained, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model.pt")
    text = _glove_file(tmp_path / "glove-cats.txt", CATEGORIES)
    binary = _glove_file(tmp_path / "glove-cats.bin", CATEGORIES[::-1], binary=True)
    for spec in (" glove-6b-50d ", str(text), f"file:{text}", binary):  # compared by fingerprint, not by name
        model, meta = load_checkpoint(path, label_vectors_or_source=spec)
        assert meta["vector_source"] == "glove-6b-50d"


def test_checkpoint_for_other_vectors_fails_clearly(trained: Trained, tmp_path: Path, wordvectors_dir: Path) -> None:
    path = trained.save(tmp_path / "model.pt")
    other_source = f"file:{wordvectors_dir / 'googlenews-quickdraw345.w2v.txt'}"
    stored, other = trained.label_vectors.fingerprint[:12], label_vectors(other_source, CATEGORIES).fingerprint[:12]
    for wanted in (other_source, label_vectors(other_source, CATEGORIES)):
        with pytest.raises(CheckpointMismatchError) as info:
            load_checkpoint(path, label_vectors_or_source=wanted)
        message = str(info.value)
        for part in ("'glove-6b-50d'", f"fingerprint {stored}", other_source, f"fingerprint {other}", "train_variant"):
            assert part in message, (part, message)
    with pytest.raises(CheckpointMismatchError, match="cannot build label vectors for all 4 of its categories"):
        load_checkpoint(path, label_vectors_or_source=_glove_file(tmp_path / "cat-only.txt", ["cat"]))


def test_checkpoint_with_the_same_spec_over_other_vectors_fails(trained: Trained, tmp_path: Path) -> None:
    source = _glove_file(tmp_path / "vectors.txt", CATEGORIES)
    path = save_checkpoint(tmp_path / "model.pt", trained.model, categories=CATEGORIES,
                           label_vectors=label_vectors(source, CATEGORIES), config=trained.config)
    load_checkpoint(path, label_vectors_or_source=source)
    _glove_file(source, CATEGORIES, scale=-1.0)  # the same file name, other numbers
    with pytest.raises(CheckpointMismatchError, match=f"'{source}' gives for its categories"):
        load_checkpoint(path, label_vectors_or_source=source)


def test_missing_or_corrupt_checkpoint_fails_clearly(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
    good = trained.save(tmp_path / "model.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptFileError, match="not a readable doodlekit checkpoint"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CorruptFileError, match="not a doodlekit checkpoint"):
        load_checkpoint(foreign)


def test_save_refuses_categories_that_do_not_match_the_model(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(CheckpointMismatchError, match="other names"):
        save_checkpoint(tmp_path / "model.pt", trained.model, categories=["cat", "circle", "star", "dog"],
                        label_vectors=trained.label_vectors, config=trained.config)
    assert not list(tmp_path.iterdir())


def test_checkpoint_whose_weights_do_not_fit_its_model_fails_clearly(trained: Trained, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model.pt")
    payload = torch.load(path, weights_only=True)
    payload["hparams"]["feature_dim"] = 64
    torch.save(payload, path)
    with pytest.raises(CheckpointMismatchError, match="(?s)cannot rebuild.*train and save it again"):
        load_checkpoint(path)


def test_train_variant_reads_and_keeps_explicit_settings(monkeypatch: pytest.MonkeyPatch, mirror: Path,
                                                         refused_url: str, tmp_path: Path) -> None:
    monkeypatch.delenv("DOODLEKIT_DATA")
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", refused_url)  # the environment alone would fail
    settings = get_settings(data_dir=mirror, cache_dir=tmp_path)
    run = train_variant("ce", CATEGORIES[:2], per_class=40, epochs=1, batch_size=8, progress=False,
                        validate=False, settings=settings)
    assert run.settings == settings
    test = run.dataset("test")
    assert test.settings == settings and len(test) == 8
    assert not any(tmp_path.iterdir())  # read from the mirror, nothing cached


@pytest.mark.usefixtures("mirror")
def test_joint_quantizer_learns_codebooks_that_the_checkpoint_carries(tmp_path: Path) -> None:
    """The "dvsq" variant: quantization loss off in epoch 1, on after; codebooks saved and loaded."""
    run = train_variant("dvsq", CATEGORIES[:3], per_class=150, epochs=2, batch_size=32, quantizer_bits=16,
                        progress=False, validate=False)
    losses = run.history.column("train_quantization")
    assert losses[0] == 0.0 and 0 < losses[1] < 1
    assert run.codebooks.shape == (2, 256, run.label_vectors.dim)
    again = train_variant("dvsq", CATEGORIES[:3], per_class=150, epochs=2, batch_size=32, quantizer_bits=16,
                          progress=False, validate=False)
    np.testing.assert_array_equal(again.codebooks, run.codebooks)  # seeded, like the weights
    _, meta = load_checkpoint(run.save(tmp_path / "dvsq.pt"))
    np.testing.assert_array_equal(meta["codebooks"], run.codebooks)
    assert meta["config"].quantizer_bits == 16
    # the learnt codebooks code the training embeddings far better than no codes at all
    train = run.dataset("train")
    unit = embed(run.model, train.images, "embedding").astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    quantizer = VisualSemanticQuantizer.from_codebooks(meta["codebooks"], run.label_vectors.vectors)
    residual = unit - reconstruct(quantizer.transform(unit), meta["codebooks"])
    W = label_metric(run.label_vectors.vectors, unit.shape[1])
    assert np.einsum("nd,de,ne->n", residual, W, residual).mean() < 0.5 * np.einsum("nd,de,nd->n", unit, W, unit).mean()
    _, plain = load_checkpoint(train_variant("ce", CATEGORIES[:2], per_class=40, epochs=1, batch_size=8,
                                             progress=False, validate=False).save(tmp_path / "ce.pt"))
    assert plain["codebooks"] is None
    with pytest.raises(ValueError, match="needs at least 256 of them, got 64"):
        train_variant("dvsq", CATEGORIES[:2], per_class=40, epochs=1, batch_size=8, progress=False, validate=False)
