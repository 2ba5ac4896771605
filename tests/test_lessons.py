"""The lessons' shipped reference models: hashes, loading, stability, and retraining against them."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from doodlekit.errors import CorruptFileError, DataNotFoundError
from doodlekit.experiments import lessons
from doodlekit.model import VARIANTS, load_checkpoint
from doodlekit.semantics import label_vectors


@pytest.fixture
def lesson_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty artifacts folder for this test."""
    monkeypatch.setenv(lessons.ENV_VAR, str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"


@pytest.fixture
def reference_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped reference folder that artifacts reads instead of the real one."""
    folder = tmp_path / "reference"
    shutil.copytree(lessons.REFERENCE_DIR, folder)
    monkeypatch.setattr(lessons, "REFERENCE_DIR", folder)
    return folder


def test_every_variant_is_shipped_with_its_hash_and_the_lesson_recipe() -> None:
    manifest = lessons.reference_manifest()
    assert set(manifest["models"]) == set(VARIANTS)
    assert {"platform", "cpu_capability", "torch", "python"} <= set(manifest["trained_on"])
    for variant, entry in manifest["models"].items():
        path = lessons.REFERENCE_DIR / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], variant
        assert entry["recipe"] == lessons._recipe(variant, {}), f"{variant}: shipped for another recipe than LESSON"
        assert len(entry["history"]) == lessons.LESSON.epochs
        model, meta = load_checkpoint(path)  # weights_only=True inside
        assert meta["categories"] == list(lessons.LESSON.categories)
        # Loading a reference does not rebuild its label vectors (the hash pins them): check them here.
        built = label_vectors(entry["recipe"]["vectors"], entry["recipe"]["categories"])
        assert meta["label_vectors"].fingerprint == built.fingerprint, variant
        assert meta["config"].variant == variant


@pytest.mark.usefixtures("mirror")
def test_the_lesson_models_are_the_shipped_ones_and_their_metrics_are_exact(lesson_artifacts: Path) -> None:
    manifest = lessons.reference_manifest()
    for variant in ("ce", "adaptive_margin"):
        run = lessons.trained(variant)
        # Inference from fixed weights is exact to float32 on any CPU: the stored metrics come back bit for bit.
        assert lessons.evaluate_on_test(run) == manifest["models"][variant]["test"], variant
        assert run.history.records == manifest["models"][variant]["history"]
    assert not lesson_artifacts.exists() or not list(lesson_artifacts.glob("*.pt")), "nothing was trained"


def test_a_damaged_reference_file_is_a_clear_error(reference_copy: Path, lesson_artifacts: Path) -> None:
    path = reference_copy / "lesson-adaptive_margin.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the weights: torch itself would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"SHA-256.*damaged or was replaced.*retrain=True"):
        lessons.trained("adaptive_margin")


def test_a_missing_reference_file_or_manifest_is_a_clear_error(reference_copy: Path, lesson_artifacts: Path) -> None:
    (reference_copy / "lesson-ce.pt").unlink()
    with pytest.raises(DataNotFoundError, match=r"lesson-ce\.pt is missing; reinstall doodlekit"):
        lessons.trained("ce")
    (reference_copy / lessons.REFERENCE_MANIFEST).write_text("{not json")
    with pytest.raises(CorruptFileError, match="not a readable manifest"):
        lessons.trained("ce")
    (reference_copy / lessons.REFERENCE_MANIFEST).unlink()
    with pytest.raises(DataNotFoundError, match="manifest .* is missing"):
        lessons.trained("ce")


@pytest.mark.usefixtures("mirror")
def test_another_recipe_is_trained_here_not_taken_from_the_reference(reference_copy: Path, lesson_artifacts: Path) -> None:
    manifest = json.loads((reference_copy / lessons.REFERENCE_MANIFEST).read_text())
    run = lessons.trained("ce", epochs=1, per_class=60)
    assert len(run.history.records) == 1
    assert run.history.records != manifest["models"]["ce"]["history"][:1] or run.per_class == 60
    assert list(lesson_artifacts.glob("ce-*.pt")), "a locally trained model is saved in the artifacts folder"


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_retraining_with_the_recipe_lands_within_tolerance_of_the_reference(
    variant: str, lesson_artifacts: Path
) -> None:
    live = lessons.trained(variant, retrain=True)
    check = lessons.compare_with_reference(live)
    assert check.within, check.sentence()
    assert check.sentence().startswith(f"{variant}: your run matches the reference model within tolerance")
    assert ("cos_true" in check.tolerances) == (variant != "ce")
    # Loading the retrained model again gives the same model (trained once, then read from its files).
    again = lessons.trained(variant, retrain=True)
    assert lessons.evaluate_on_test(again) == check.live


def test_a_run_outside_the_tolerance_says_so_with_numbers() -> None:
    check = lessons.ReferenceCheck(
        "adaptive_margin", live={"top1": 0.70, "top5": 0.97, "cos_true": 0.62},
        reference={"top1": 0.81, "top5": 0.97, "cos_true": 0.63}, tolerances=dict(lessons.TOLERANCES),
    )
    assert not check.within
    assert check.sentence() == (
        "adaptive_margin: your run is OUTSIDE the tolerance (test top-1 ±0.04, test top-5 ±0.03, "
        "cos(z, v_y) ±0.03): test top-1 0.700 vs 0.810."
    )
