"""Torch datasets: items, per-class caps, seeded stable splits, downloads into the settings' cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from http_mirror import MirrorServer
from torch.utils.data import DataLoader

from doodlekit.data import QuickDrawBitmaps, QuickDrawStrokes, get_settings, split_indices
from doodlekit.errors import DataNotFoundError


def _rows(mirror: Path, category: str) -> np.ndarray:
    return np.load(mirror / "numpy_bitmap" / f"{category}.npy", allow_pickle=False)


def test_splits_are_disjoint_cover_everything_and_follow_the_fractions() -> None:
    parts = {split: split_indices(1000, "cat", split) for split in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [800, 100, 100]
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(1000))
    assert np.array_equal(split_indices(1000, "cat", "all"), np.arange(1000))
    assert len(split_indices(1000, "cat", "val", fractions=(0.5, 0.3, 0.2))) == 300
    for part in parts.values():
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)


def test_splits_are_seeded_per_category() -> None:
    assert np.array_equal(split_indices(500, "cat", "test", seed=3), split_indices(500, "cat", "test", seed=3))
    assert not np.array_equal(split_indices(500, "cat", "test", seed=3), split_indices(500, "cat", "test", seed=4))
    assert not np.array_equal(split_indices(500, "cat", "test"), split_indices(500, "dog", "test"))


@pytest.mark.parametrize(("split", "fractions", "message"), [("dev", (0.8, 0.1, 0.1), "unknown split"),
                                                              ("train", (0.8, 0.1), "3 non-negative"),
                                                              ("train", (0.8, 0.3, 0.1), "summing to 1")])
def test_bad_split_arguments(split: str, fractions: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_indices(100, "cat", split, fractions=fractions)  # type: ignore[arg-type]


def test_bitmap_items_match_the_mirror(mirror: Path) -> None:
    ds = QuickDrawBitmaps(categories=["cat", "The Mona Lisa"], per_class=100, split="val")
    assert ds.categories == ["cat", "The Mona Lisa"] and len(ds) == 20
    assert ds.images.shape == (20, 28, 28) and ds.images.dtype == np.uint8
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == [0] * 10 + [1] * 10
    image, label = ds[12]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and label == 1
    assert 0 <= image.min() and image.max() <= 1
    row = split_indices(100, "The Mona Lisa", "val")[2]
    expected = _rows(mirror, "The Mona Lisa")[row].reshape(28, 28)
    assert torch.equal(image[0], torch.from_numpy(expected).float() / 255)


@pytest.mark.usefixtures("mirror")
def test_split_does_not_change_when_categories_are_added() -> None:
    alone = QuickDrawBitmaps(categories=["cat"], per_class=200, split="test")
    more = QuickDrawBitmaps(categories=["dog", "bee", "cat"], per_class=200, split="test")
    assert np.array_equal(alone.images, more.images[more.targets == 2])
    train = QuickDrawBitmaps(categories=["dog", "bee", "cat"], per_class=200, split="train")
    as_bytes = {img.tobytes() for img in train.images[train.targets == 2]}
    assert not as_bytes & {img.tobytes() for img in more.images[more.targets == 2]}


def test_per_class_caps_at_what_the_file_has(mirror: Path) -> None:
    available = len(_rows(mirror, "The Mona Lisa"))
    ds = QuickDrawBitmaps(categories=["The Mona Lisa", "cat"], per_class=available + 500, split="all")
    assert np.bincount(ds.targets).tolist() == [available, available + 500]


def test_transform_and_dataloader_batches(mirror: Path) -> None:
    ds = QuickDrawBitmaps(categories=["cat", "dog"], per_class=300, transform=lambda x: 1 - x)
    images, labels = next(iter(DataLoader(ds, batch_size=256, shuffle=False)))
    assert images.shape == (256, 1, 28, 28) and labels.dtype == torch.int64
    assert torch.equal(images[5], ds[5][0]) and labels[5].item() == ds[5][1]
    assert torch.equal(images[5][0], 1 - torch.from_numpy(ds.images[5]).float() / 255)


def test_settings_cache_is_where_download_fills_it(remote: MirrorServer, tmp_path: Path, mirror: Path) -> None:
    settings = get_settings(cache_dir=tmp_path)
    ds = QuickDrawBitmaps(["cat"], 40, "all", settings=settings)
    assert ds.settings == settings and f"cache {tmp_path}" in repr(ds)
    assert np.array_equal(ds.images.reshape(40, -1), _rows(mirror, "cat")[:40])
    assert json.loads((tmp_path / "numpy_bitmap" / "cat.npy.json").read_text())["rows"] == 40
    again = QuickDrawBitmaps(["cat"], 40, "all", settings=settings, download=False)
    assert np.array_equal(again.images, ds.images)
    strokes = QuickDrawStrokes(["cat"], 5, settings=settings)
    assert len(strokes) == 5 and (tmp_path / "simplified" / "cat.ndjson").is_file()


def test_explicit_settings_read_the_mirror_without_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                   mirror: Path) -> None:
    monkeypatch.delenv("DOODLEKIT_DATA")
    monkeypatch.setenv("DOODLEKIT_QUICKDRAW_URL", "http://127.0.0.1:9/nowhere")  # would fail if used
    ds = QuickDrawBitmaps(["cat"], 30, "all", settings=get_settings(data_dir=mirror))
    assert np.array_equal(ds.images.reshape(30, -1), _rows(mirror, "cat")[:30])
    assert f"mirror {mirror}" in repr(ds)


def test_download_off_and_data_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DOODLEKIT_DATA")
    with pytest.raises(DataNotFoundError, match=r"'cat'.*download=False"):
        QuickDrawBitmaps(["cat"], settings=get_settings(cache_dir=tmp_path), download=False)
    with pytest.raises(DataNotFoundError, match=r"'cat'.*download=False"):
        QuickDrawStrokes(["cat"], settings=get_settings(cache_dir=tmp_path), download=False)


@pytest.mark.parametrize("fmt", ["simplified", "raw"])
def test_stroke_items_and_records(mirror: Path, fmt: str) -> None:
    ds = QuickDrawStrokes(categories="cat,hot dog", per_class=10, fmt=fmt)
    lines = (mirror / fmt / "hot dog.ndjson").read_text().splitlines()[:10]
    drawing, label = ds[13]
    expected = json.loads(lines[3])
    assert label == 1 and drawing == expected["drawing"]
    assert ds.records[13] == {k: v for k, v in expected.items() if k != "drawing"}
    assert {"word", "countrycode", "recognized", "key_id"} <= set(ds.records[0])
    assert len(ds) == len(ds.drawings) == len(ds.records) == 20


@pytest.mark.usefixtures("mirror")
def test_stroke_splits_and_transform() -> None:
    full = QuickDrawStrokes(categories=["cat"], per_class=20)
    test = QuickDrawStrokes(categories=["cat"], per_class=20, split="test", transform=len)
    keep = split_indices(20, "cat", "test")
    assert [record["key_id"] for record in test.records] == [full.records[i]["key_id"] for i in keep]
    assert test[0][0] == len(full.drawings[keep[0]])
