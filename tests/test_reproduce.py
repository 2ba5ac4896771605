"""``doodlekit reproduce`` end to end on a tiny real configuration, its resume, and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doodlekit import cli
from doodlekit.data import (
    DEFAULT_CATEGORIES,
    UNTUNED_CATEGORIES,
    QuickDrawBitmaps,
    get_settings,
)
from doodlekit.defaults import BITS, CODE_BITS, K
from doodlekit.errors import OutputExistsError, RunConfigError, UnknownCategoryError
from doodlekit.experiments import (
    DEFAULT_EPOCHS,
    DEFAULT_HELDOUT,
    DEFAULT_PER_CLASS,
    DEFAULT_SEEDS,
    KEYS,
    QUICK_EPOCHS,
    QUICK_PER_CLASS,
    REFERENCE_RESULTS,
    REFERENCE_TOLERANCES,
    ResultKeys,
    make_config,
    reference_check,
    reference_results,
    report,
    reproduce,
    run,
)
from doodlekit.model import VARIANTS
from doodlekit.retrieval import expected_random_map
from doodlekit.semantics import DEFAULT_SPEC, label_vectors

CATEGORIES = ["cat", "dog", "car", "apple", "star", "lion", "train"]
HELDOUT = ["lion", "train"]
TINY = {"per_class": 80, "epochs": 1, "seeds": [0]}  # 320 training drawings: the joint quantizer needs 256
CLI_TINY = ["--categories", ",".join(CATEGORIES), "--heldout", ",".join(HELDOUT), "--per-class", "80",
            "--epochs", "1", "--seeds", "0", "--no-progress"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> tuple[Path, dict[str, Any]]:
    """One tiny reproduce run (5 seen + 2 held-out categories, 80 drawings each, 1 epoch, 1 seed).

    Its data settings are explicit: the environment names no mirror and a URL where nothing listens
    (the discard port), so every drawing must come from ``settings``. Tests that use it are ``slow``.
    """
    out = tmp_path_factory.mktemp("reproduce") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DOODLEKIT_DATA")
        patch.setenv("DOODLEKIT_QUICKDRAW_URL", "http://127.0.0.1:9")
        settings = get_settings(data_dir=mirror)
        return out, run(out, CATEGORIES, HELDOUT, progress=False, settings=settings, **TINY)


@pytest.mark.slow
def test_results_json_has_every_key_in_range(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, results = tiny
    assert json.loads((out / "results.json").read_text()) == results
    config = results["config"]
    assert config["categories"] == CATEGORIES and config["heldout"] == HELDOUT
    assert (config["per_class"], config["epochs"], config["seeds"], config["vectors"]) == (80, 1, [0], DEFAULT_SPEC)
    assert {"python", "torch", "numpy", "gensim", "doodlekit", "faiss-cpu"} <= set(config["versions"])
    assert config["recipe"]["batch_size"] > 0 and "variant" not in config["recipe"]
    chance_map = results["baselines"][f"map@{K}"]
    assert results["baselines"]["top1"] == pytest.approx(1 / 5) and 0 < chance_map < 1
    assert set(results["variants"]) == set(VARIANTS)
    for variant, metrics in results["variants"].items():
        assert list(metrics) == [metric.key for metric in KEYS.metrics()], variant  # one table of keys
        for key, entry in metrics.items():
            assert set(entry) == {"mean", "sd", "per_seed"} and entry["sd"] is None and len(entry["per_seed"]) == 1
            value = entry["mean"]
            if key.endswith("seconds"):
                assert value > 0
            elif key == "alignment_spearman":
                assert -1 <= value <= 1
            elif value is not None:
                assert 0 <= value <= 1, (variant, key, value)
        # Even barely trained, same-class drawings are found far above a random ranking.
        assert metrics[f"map@{K}"]["mean"] > chance_map + 0.1
        assert metrics["top5"]["mean"] == 1.0  # five seen classes
    assert "adaptive margin (1 seed): top-1" in results["summary"] and "chance 0.500" in results["summary"]


@pytest.mark.slow
def test_zero_shot_against_exact_chance(tiny: tuple[Path, dict[str, Any]]) -> None:
    _, results = tiny
    heldout = QuickDrawBitmaps(categories=HELDOUT, per_class=80, split="test", seed=0)
    chance_map = expected_random_map(heldout.targets, heldout.targets, K, queries_in_db=True)
    assert set(results["zero_shot"]) == set(VARIANTS)
    for variant, entry in results["zero_shot"].items():
        assert entry["chance"] == 0.5 and entry[f"chance_map@{K}"] == pytest.approx(chance_map)
        assert 0 <= entry["top1"] <= 1 and entry[f"map@{K}"] > chance_map, variant
        assert entry["per_seed"]["top1"] == [entry["top1"]]
    assert "ridge" in results["zero_shot"]["ce"]["method"]


@pytest.mark.slow
def test_report_and_figures_are_written(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, results = tiny
    text = (out / "results.md").read_text()
    assert results["summary"] in text and "## Protocol" in text and "leave-one-out" in text
    for row in (f"`map@{K}_hash{CODE_BITS}`", "`top1`", "`alignment_spearman`", "top-1 among unseen labels"):
        assert row in text
    for name in ("map_vs_bits", "umap"):
        png = out / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
        assert f"(figures/{name}.png)" in text
    for variant in VARIANTS:
        record = json.loads((out / "runs" / f"{variant}-seed0.json").read_text())
        assert record["variant"] == variant and record["train_config"]["variant"] == variant
        with np.load(out / "runs" / f"{variant}-seed0.npz", allow_pickle=False) as saved:
            assert saved["coords"].shape == (len(saved["labels"]), 2)
            assert set(saved["labels"].tolist()) == set(range(len(CATEGORIES)))  # seen and held out


@pytest.mark.slow
def test_cli_resumes_the_same_configuration_without_training(tiny: tuple[Path, dict[str, Any]], mirror: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DOODLEKIT_DATA")
    out, results = tiny
    runs = sorted((out / "runs").iterdir())
    before = {path: path.stat().st_mtime_ns for path in runs}
    # Where the drawings come from is not part of the configuration: --data resumes the run too.
    assert cli.main(["reproduce", "--out", str(out), *CLI_TINY, "--data", str(mirror)]) == 0
    printed = capsys.readouterr().out
    assert results["summary"] in printed and str(out) in printed
    assert {path: path.stat().st_mtime_ns for path in runs} == before  # nothing retrained
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["variants"] == results["variants"] and resumed["zero_shot"] == results["zero_shot"]
    assert (resumed["reused_runs"], results["reused_runs"]) == (len(VARIANTS), 0)
    assert resumed["runs_seconds"] == results["runs_seconds"] > resumed["elapsed_seconds"]


def test_cli_refuses_a_folder_of_something_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["reproduce", "--out", str(tmp_path), *CLI_TINY]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "is not empty" in err and "--force" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_other_configuration_in_the_same_folder_is_refused(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny
    with pytest.raises(OutputExistsError, match="holds no runs of this configuration"):
        run(out, CATEGORIES, HELDOUT, progress=False, **{**TINY, "epochs": 2})


@pytest.mark.parametrize(
    ("heldout", "message"),
    [("lion,horse", "'horse' are not among the categories"),
     ("lion", "at least 2 held out"),
     (",".join(CATEGORIES[2:]), "at least 3 left to train on")],
)
def test_bad_heldout_is_a_clear_error(heldout: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RunConfigError, match=message):
        run(tmp_path / "out", CATEGORIES, heldout, progress=False, **TINY)
    assert not (tmp_path / "out").exists()


def test_bad_arguments_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out")
    assert cli.main(["reproduce", "--out", out, "--categories", "cat,dog,hot-dog,car,star"]) == cli.EXIT_ERROR
    assert 'did you mean "hot dog"' in capsys.readouterr().err
    assert cli.main(["reproduce", "--out", out, *CLI_TINY, "--heldout", "lion,horse"]) == cli.EXIT_ERROR
    assert "not among the categories" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["reproduce", "--out", out, "--seeds", "0,x"])
    assert exc.value.code == 2 and "comma-separated non-negative whole numbers" in capsys.readouterr().err
    assert cli.main(["reproduce", "--out", out, *CLI_TINY, "--epochs", "0"]) == cli.EXIT_ERROR
    assert "epochs >= 1" in capsys.readouterr().err
    with pytest.raises(RunConfigError, match="distinct"):
        make_config(CATEGORIES, HELDOUT, seeds=[1, 1])
    with pytest.raises(UnknownCategoryError, match="did you mean"):
        make_config(CATEGORIES, "lion,trian")


def test_defaults_and_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config()
    assert config.categories == DEFAULT_CATEGORIES and config.heldout == DEFAULT_HELDOUT
    assert (config.per_class, config.epochs, config.seeds) == (DEFAULT_PER_CLASS, DEFAULT_EPOCHS, DEFAULT_SEEDS)
    assert len(config.seen) == len(DEFAULT_CATEGORIES) - 3 and not set(config.seen) & set(DEFAULT_HELDOUT)
    quick = make_config(quick=True)
    assert len(quick.seeds) == 1 and quick.per_class == QUICK_PER_CLASS
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"default: {DEFAULT_PER_CLASS}; --quick: {QUICK_PER_CLASS}" in text
    assert f"default: {DEFAULT_EPOCHS}; --quick: {QUICK_EPOCHS})" in text and f"default: {','.join(map(str, DEFAULT_SEEDS))};" in text
    assert ",".join(DEFAULT_HELDOUT) in text and f"default: {DEFAULT_SPEC})" in text


def test_other_categories_get_held_out_names_chosen_for_them() -> None:
    untuned = make_config(UNTUNED_CATEGORIES)
    assert untuned.heldout == ("alarm clock", "dragon", "sea turtle") and len(untuned.seen) == 14


def test_the_reference_results_are_shipped_with_their_machine_and_match_themselves() -> None:
    for name in REFERENCE_RESULTS:
        reference = reference_results(name)
        expected = make_config(quick=name == "quick").to_dict()
        assert {key: reference["config"][key] for key in expected} == expected, name
        machine = reference["config"]["machine"]
        assert machine["platform"] and machine["cpus"] >= 1 and machine["torch_cpu_capability"], name
        assert "torch" in reference["config"]["versions"]
        check = reference_check(reference)
        assert check is not None and check["reference"] == name and check["within"]
        assert len(check["rows"]) == len(VARIANTS) * len(REFERENCE_TOLERANCES)
    with pytest.raises(ValueError, match="unknown reference 'nightly'"):
        reference_results("nightly")


def test_the_result_keys_are_one_table_with_the_kits_defaults() -> None:
    assert KEYS.map() == f"map@{K}" and KEYS.map("itq", CODE_BITS) == f"map@{K}_hash{CODE_BITS}"
    assert KEYS.map("lsh", 16) == f"map@{K}_lsh16"
    assert KEYS.hashed(KEYS.miss) == f"miss_semantic_similarity_hash{CODE_BITS}"
    keys = [metric.key for metric in KEYS.metrics()]
    assert len(set(keys)) == len(keys) and {KEYS.map("itq", b) for b in BITS} <= set(keys)
    assert set(REFERENCE_TOLERANCES) - {KEYS.zero_shot(KEYS.top1), KEYS.zero_shot(KEYS.map())} <= set(keys)
    for name in REFERENCE_RESULTS:  # the shipped results were written by the same table
        reference = reference_results(name)
        assert ResultKeys.of(reference) == KEYS
        for variant, metrics in reference["variants"].items():
            assert list(metrics) == keys, (name, variant)


def test_the_report_renders_the_shipped_reference_from_the_key_table() -> None:
    reference = reference_results("quick")
    text = report.markdown(reference)
    for metric in KEYS.metrics():
        assert f"| `{metric.key}`: {metric.description} |" in text
    for variant in VARIANTS.values():
        assert f"- {variant.display_name}: {variant.loss}; retrieves with" in text
    assert report.summary_line(reference).startswith("adaptive margin (1 seed): top-1 ")
    (ax,) = report.map_vs_bits_figure(reference).axes
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[:3] == ["CE, ITQ codes", "CE, LSH codes", "CE, float cosine"] and len(legend) == 3 * len(VARIANTS)
    assert [tick for tick in ax.get_xticks()] == list(BITS)
    rng = np.random.default_rng(0)
    maps = {v: (rng.normal(size=(30, 2)), np.arange(30) % 3) for v in VARIANTS}
    umap = report.umap_figure(maps, ["cat", "dog", "car"])
    assert [axes.get_title() for axes in umap.axes][:len(VARIANTS)] == [v.display_name for v in VARIANTS.values()]


@pytest.mark.slow
def test_another_configuration_has_no_reference_and_says_so(tiny: tuple[Path, dict[str, Any]]) -> None:
    out, results = tiny
    assert results["reference_check"] is None
    assert "No shipped reference run has this configuration" in (out / "results.md").read_text()


def test_a_run_outside_the_tolerance_is_flagged() -> None:
    reference = reference_results("quick")
    moved = json.loads(json.dumps(reference))
    moved["variants"]["adaptive_margin"]["top1"]["mean"] -= 2 * REFERENCE_TOLERANCES["top1"]
    check = reference_check(moved)
    assert check is not None and not check["within"]
    outside = [(row["variant"], row["metric"]) for row in check["rows"] if not row["within"]]
    assert outside == [("adaptive_margin", "top1")]


@pytest.mark.slow
def test_a_fresh_quick_run_lands_within_tolerance_of_the_shipped_reference(tmp_path: Path) -> None:
    results = run(tmp_path / "out", quick=True, progress=False)
    check = results["reference_check"]
    assert check is not None and check["reference"] == "quick"
    outside = [row for row in check["rows"] if not row["within"]]
    assert not outside, f"outside the tolerance of the shipped --quick reference: {outside}"
    report_text = (tmp_path / "out" / "results.md").read_text()
    assert "## Against the shipped reference" in report_text and "every number is within its tolerance" in report_text


@pytest.mark.usefixtures("mirror")
def test_a_run_builds_its_label_vectors_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation, the held-out choice, and the seen and held-out label vectors share one build."""
    calls: list[tuple[Any, ...]] = []
    passed: dict[str, Any] = {}

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return label_vectors(*args, **kwargs)

    class Stop(Exception):
        pass

    def first_run(config: Any, variant: str, seed: int, seen_labels: Any, heldout: Any, heldout_labels: Any,
                  *rest: Any, **kwargs: Any) -> None:
        passed.update(config=config, seen=seen_labels, heldout=heldout_labels)
        raise Stop  # no training: only what run() prepared is looked at

    monkeypatch.setattr(reproduce, "label_vectors", counting)
    monkeypatch.setattr(reproduce, "_one_run", first_run)
    with pytest.raises(Stop):
        run(tmp_path / "out", CATEGORIES, progress=False, **TINY)  # held-out names chosen from the vectors
    assert len(calls) == 1
    config = passed["config"]
    for labels, names in ((passed["seen"], config.seen), (passed["heldout"], config.heldout)):
        direct = label_vectors(DEFAULT_SPEC, names)  # what each of them used to be built as
        assert labels.categories == direct.categories and labels.fingerprint == direct.fingerprint
        np.testing.assert_array_equal(labels.vectors, direct.vectors)
