"""Torch datasets of Quick, Draw! bitmaps and strokes, in torchvision's shape (without importing it).

Both take a per-class cap and a seeded train/val/test split made per category
(:func:`split_indices`), so a category's split depends only on the seed, its name and
its row count, never on which other categories are loaded with it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from doodlekit.data.categories import DEFAULT_CATEGORIES, validate_categories
from doodlekit.data.quickdraw import load_bitmaps, load_drawings
from doodlekit.data.settings import Settings, get_settings

SPLITS = ("train", "val", "test", "all")


def split_indices(
    rows: int,
    category: str,
    split: str = "train",
    *,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> np.ndarray:
    """Row indices of one category's ``split`` among its first ``rows`` rows.

    The rows are permuted by ``np.random.default_rng([seed, crc32(category)])`` and cut
    into train/val/test by ``fractions`` (floored cumulative bounds; test takes the rest).
    The three splits are disjoint and together are all rows; ``"all"`` is every row.

    Returns:
        ``(k,)`` int64 array of sorted row indices.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1 (train, val, test), got {fractions}")
    if split == "all":
        return np.arange(rows, dtype=np.int64)
    order = np.random.default_rng([seed, zlib.crc32(category.encode())]).permutation(rows)
    train_end, val_end = (np.floor(np.cumsum(fractions[:2]) * rows)).astype(int)
    part = {"train": order[:train_end], "val": order[train_end:val_end], "test": order[val_end:]}[split]
    return np.sort(part).astype(np.int64)


class QuickDrawBitmaps(torch.utils.data.Dataset):
    """28x28 Quick, Draw! bitmaps of some categories, labelled by their index in ``categories``.

    Items are ``(image, label)``: ``image`` a float32 tensor (1, 28, 28) in [0, 1] (ink = 1)
    passed through ``transform`` when given, ``label`` an int. ``settings`` says where the
    files are (``None``: :func:`~doodlekit.data.settings.get_settings` from the environment);
    ``download=False`` reads only what is on disk.

    Attributes:
        categories: the category names; label ``k`` is ``categories[k]``.
        settings: where the drawings were read from (mirror, cache, URL).
        images: ``(N, 28, 28)`` uint8 array (0 = paper, 255 = ink).
        targets: ``(N,)`` int64 array of labels.
    """

    def __init__(
        self,
        categories: Sequence[str] | str = DEFAULT_CATEGORIES,
        per_class: int | None = 1000,
        split: str = "train",
        *,
        seed: int = 0,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        transform: Callable[[torch.Tensor], Any] | None = None,
        settings: Settings | None = None,
        download: bool = True,
        progress: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.transform = transform
        self.categories = validate_categories(categories)
        self.split = split
        images, targets = [], []
        for label, name in enumerate(self.categories):
            rows = load_bitmaps(name, per_class, settings=self.settings, progress=progress, download=download)
            keep = split_indices(len(rows), name, split, seed=seed, fractions=fractions)
            images.append(rows[keep].reshape(-1, 28, 28))
            targets.append(np.full(len(keep), label, dtype=np.int64))
        self.images = np.concatenate(images)
        self.targets = np.concatenate(targets)
        self._pixels = torch.from_numpy(self.images)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self._pixels[index].unsqueeze(0).float().div_(255)
        return (self.transform(image) if self.transform else image), int(self.targets[index])

    def __getitems__(self, indices: list[int]) -> list[tuple[Any, int]]:
        """A batch of items at once (used by ``DataLoader``): one float conversion for all."""
        images = torch.from_numpy(self.images[indices]).unsqueeze(1).float().div_(255).unbind(0)
        if self.transform:
            images = [self.transform(image) for image in images]
        return list(zip(images, self.targets[indices].tolist()))

    def __repr__(self) -> str:
        where = f"mirror {self.settings.data_dir}, " if self.settings.data_dir else ""
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Data: {where}cache {self.settings.cache_dir}\n"
                f"    Split: {self.split}\n    Categories: {len(self.categories)}")


class QuickDrawStrokes(torch.utils.data.Dataset):
    """Quick, Draw! stroke drawings of some categories, labelled by their index in ``categories``.

    Items are ``(drawing, label)``: ``drawing`` the list of strokes (``[xs, ys]`` per stroke
    in a 0-255 box for ``fmt="simplified"``; ``[xs, ys, t_ms]`` in canvas pixels for
    ``"raw"``), passed through ``transform`` when given; ``label`` an int. ``settings`` and
    ``download`` as in :class:`QuickDrawBitmaps`.

    Attributes:
        categories: the category names; label ``k`` is ``categories[k]``.
        settings: where the drawings were read from (mirror, cache, URL).
        drawings: the drawings, in item order.
        records: per item the ndjson metadata (``word``, ``countrycode``, ``timestamp``,
            ``recognized``, ``key_id``), without the drawing.
        targets: ``(N,)`` int64 array of labels.
    """

    def __init__(
        self,
        categories: Sequence[str] | str = DEFAULT_CATEGORIES,
        per_class: int | None = 25,
        split: str = "all",
        *,
        fmt: str = "simplified",
        seed: int = 0,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        transform: Callable[[list], Any] | None = None,
        settings: Settings | None = None,
        download: bool = True,
        progress: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.categories = validate_categories(categories)
        self.transform = transform
        self.drawings: list[list] = []
        self.records: list[dict[str, Any]] = []
        targets = []
        for label, name in enumerate(self.categories):
            found = load_drawings(name, per_class, fmt=fmt, settings=self.settings, progress=progress,
                                  download=download)
            keep = split_indices(len(found), name, split, seed=seed, fractions=fractions)
            for i in keep:
                record = dict(found[i])
                self.drawings.append(record.pop("drawing"))
                self.records.append(record)
            targets.append(np.full(len(keep), label, dtype=np.int64))
        self.targets = np.concatenate(targets)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        drawing = self.drawings[index]
        return (self.transform(drawing) if self.transform else drawing), int(self.targets[index])
