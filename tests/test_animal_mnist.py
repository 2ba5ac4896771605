"""Animal-MNIST: the folder and the real wheel give the same arrays, the wheel's pickles cannot run code,
splits keep exact duplicates together, and the outline transform draws contours."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from http_mirror import MirrorServer

from doodlekit.data import animal_mnist as am
from doodlekit.data import get_settings, http
from doodlekit.errors import CacheFolderError, CorruptFileError, DataNotFoundError, DoodleKitError


@pytest.fixture(scope="module")
def shared(animal_mnist_dir: Path) -> am.AnimalArrays:
    return am.read_folder(animal_mnist_dir)


@pytest.fixture
def wheel_server(animal_mnist_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MirrorServer:
    """A loopback server with the real wheel, as ``DOODLEKIT_ANIMAL_MNIST_URL``; no local folder is set."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(animal_mnist_wheel, served / am.WHEEL_NAME)
    monkeypatch.delenv(am.ROOT_ENV, raising=False)
    monkeypatch.setattr(http, "RETRY_BACKOFF_S", 0.01)
    with MirrorServer(served) as server:
        monkeypatch.setenv(am.URL_ENV, f"{server.url}/{am.WHEEL_NAME}")
        yield server


def test_the_downloaded_wheel_gives_the_shared_arrays(wheel_server: MirrorServer, shared: am.AnimalArrays,
                                                      cache_dir: Path) -> None:
    data = am.load_arrays(progress=False)
    cached = cache_dir / "animal_mnist" / am.WHEEL_NAME
    assert data.source == cached
    assert np.array_equal(data.images, shared.images) and np.array_equal(data.labels, shared.labels)
    assert data.classes == shared.classes == am.CLASSES
    assert data.images.dtype == np.uint8 and data.images.shape == (10000, 28, 28)
    assert wheel_server.bytes_sent == cached.stat().st_size
    sent = len(wheel_server.requests)
    again = am.AnimalMNIST(split="test", download=False)  # from the cache: no request
    assert len(wheel_server.requests) == sent and len(again) == 1000
    assert not list(cached.parent.glob("*.part"))


def test_a_download_that_is_not_the_wheel_is_refused_and_not_cached(wheel_server: MirrorServer, cache_dir: Path) -> None:
    wheel_server.misbehave("garbage")
    with pytest.raises(CorruptFileError, match="not the animal-mnist 0.4 wheel"):
        am.load_arrays(progress=False)
    assert not [p for p in (cache_dir / "animal_mnist").iterdir() if p.suffix != ".lock"]
    wheel_server.misbehave(None)
    assert len(am.load_arrays(progress=False).labels) == 10000


def test_a_damaged_cache_file_is_fetched_again(wheel_server: MirrorServer, cache_dir: Path) -> None:
    cached = am.fetch_wheel(progress=False)
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.raises(DataNotFoundError, match="download=False"):
        am.fetch_wheel(download=False)
    assert am.read_wheel(am.fetch_wheel(progress=False)).images.shape == (10000, 28, 28)


def test_no_folder_no_cache_and_no_download_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(am.ROOT_ENV, raising=False)
    with pytest.raises(DataNotFoundError, match=f"download=False.*{am.ROOT_ENV}"):
        am.AnimalMNIST(download=False)


def test_a_missing_server_is_a_clear_error(refused_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(am.ROOT_ENV, raising=False)
    with pytest.raises(DoodleKitError, match=f"Animal-MNIST.*{am.ROOT_ENV}"):
        am.load_arrays(url=f"{refused_url}/{am.WHEEL_NAME}", progress=False)


class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(marker))
    with pytest.raises(CorruptFileError, match=r"refused to unpickle evil\.gz: it asks for (posix|os|nt)\.system"):
        am.unpickle_arrays(payload, "evil.gz")
    assert not marker.exists()
    assert pickle.loads(payload) == 0 and marker.exists()  # the same bytes, unpickled plainly, do run it


def test_only_numeric_arrays_come_out_of_a_pickle() -> None:
    assert np.array_equal(am.unpickle_arrays(pickle.dumps(np.arange(5)), "x"), np.arange(5))
    for value in (np.array([{"a": 1}], dtype=object), [1, 2, 3]):
        with pytest.raises(CorruptFileError, match="x"):
            am.unpickle_arrays(pickle.dumps(value), "x")
    with pytest.raises(CorruptFileError, match="refused"):
        am.unpickle_arrays(b"not a pickle", "x")


def test_a_file_that_is_not_the_wheel_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / am.WHEEL_NAME
    fake.write_bytes(b"PK\x03\x04 not the wheel")
    with pytest.raises(CorruptFileError, match="SHA-256"):
        am.read_wheel(fake)


def test_a_bad_folder_is_a_clear_error(tmp_path: Path, shared: am.AnimalArrays) -> None:
    with pytest.raises(DataNotFoundError, match="lacks images.npy, labels.npy, classes.txt"):
        am.read_folder(tmp_path)
    np.save(tmp_path / "images.npy", shared.images[:10].astype(np.float32))
    np.save(tmp_path / "labels.npy", shared.labels[:10] + 20)
    (tmp_path / "classes.txt").write_text("\n".join(am.CLASSES))
    with pytest.raises(CorruptFileError, match=r"not uint8 \(N, 28, 28\).*labels run from 2\d to 2\d"):
        am.read_folder(tmp_path)
    np.save(tmp_path / "labels.npy", np.array([{"x": 1}] * 10, dtype=object))
    with pytest.raises(CorruptFileError, match="cannot be read"):
        am.read_folder(tmp_path)


def test_the_folder_variable_is_read(animal_mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(am.ROOT_ENV, str(animal_mnist_dir))
    assert am.load_arrays(download=False).source == animal_mnist_dir


def test_splits_are_seeded_disjoint_and_keep_duplicates_together(shared: am.AnimalArrays) -> None:
    groups = am.duplicate_groups(shared.images)
    assert len(groups) - len(np.unique(groups)) == 284
    parts = {s: am.animal_split(shared.labels, groups, shared.classes, s, seed=3) for s in ("train", "val", "test")}
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(10000))
    side = np.empty(10000, dtype=int)
    for k, rows in enumerate(parts.values()):
        side[rows] = k
    for leader in np.unique(groups[groups != np.arange(10000)]):
        members = np.nonzero(groups == leader)[0]
        assert len(set(side[members])) == 1, f"duplicates {members} are split"
        assert len({shared.images[m].tobytes() for m in members}) == 1
    for s, share in zip(parts, (0.8, 0.1, 0.1)):
        counts = np.bincount(shared.labels[parts[s]], minlength=10)
        assert np.all(np.abs(counts - share * 1000) <= 2), (s, counts)
    again = am.animal_split(shared.labels, groups, shared.classes, "test", seed=3)
    other = am.animal_split(shared.labels, groups, shared.classes, "test", seed=4)
    assert np.array_equal(again, parts["test"]) and not np.array_equal(other, parts["test"])


def test_the_dataset_keeps_some_classes_relabelled(animal_mnist_dir: Path, shared: am.AnimalArrays) -> None:
    ds = am.AnimalMNIST(animal_mnist_dir, "test", classes="horse,cat", transform=am.Outline())
    assert ds.categories == ["horse", "cat"] and len(ds) == 200
    assert np.array_equal(np.asarray(am.CLASSES)[shared.labels[ds.indices]],
                          np.asarray(ds.categories)[ds.targets])
    image, label = ds[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and label == int(ds.targets[0])
    assert torch.equal(image, torch.from_numpy(am.outline(ds.images[0])).float().div(255)[None])
    with pytest.raises(ValueError, match="among bear"):
        am.AnimalMNIST(animal_mnist_dir, classes=["unicorn"])


def test_outline_turns_a_filled_square_into_its_contour() -> None:
    square = np.zeros((28, 28), dtype=np.uint8)
    square[8:20, 8:20] = 255
    outer, inner, both = (am.outline(square, side=side) for side in ("outer", "inner", "both"))
    assert np.array_equal(outer, am.outline(square))  # the default
    for ring in (outer, inner, both):
        assert ring[14, 14] == 0 and ring[0, 0] == 0  # inside and outside are flat
    assert outer[7, 14] == outer[20, 14] == 255 and outer[8, 14] == 0  # just outside the square
    assert inner[8, 14] == inner[19, 14] == 255 and inner[7, 14] == 0  # just inside it
    assert np.array_equal(both, outer | inner)
    assert [(r > 0).sum() for r in (outer, inner, both)] == [14 * 14 - 12 * 12, 12 * 12 - 10 * 10, 14 * 14 - 10 * 10]
    corner = np.full((28, 28), 255, dtype=np.uint8)
    assert am.outline(corner, side="inner")[0, 0] == 255  # beyond the border is background: contours close there
    with pytest.raises(ValueError, match="uint8"):
        am.outline(square.astype(float))
    with pytest.raises(ValueError, match="side in"):
        am.outline(square, side="left")


def test_the_settings_cache_is_where_the_wheel_goes(wheel_server: MirrorServer, tmp_path: Path) -> None:
    settings = get_settings(cache_dir=tmp_path / "elsewhere")
    assert am.fetch_wheel(settings=settings, progress=False) == tmp_path / "elsewhere" / "animal_mnist" / am.WHEEL_NAME


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(am.ROOT_ENV, raising=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheFolderError, match="DOODLEKIT_CACHE"):
        am.fetch_wheel(settings=get_settings(cache_dir=blocker), progress=False)
