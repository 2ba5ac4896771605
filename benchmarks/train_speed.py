"""Training time and accuracy of the three loss variants at an equal budget, on CPU.

    python benchmarks/train_speed.py [--quick] [--threads 2] [--out FILE.json]

Full: the 41 bitmap categories of the offline mirror (DEFAULT_CATEGORIES + UNTUNED_CATEGORIES),
every drawing they have (80/10/10 split), the :func:`doodlekit.model.training.train_variant` recipe,
one run per variant (``"ce"``, ``"fixed_margin"``, ``"adaptive_margin"``), same seed and steps.
``--quick``: 1,000 drawings per class and 1 epoch (a smoke run; its numbers are not the targets').

Per variant: test top-1 / top-5, training time (wall seconds in training steps, and the
process's CPU seconds), and how close the embeddings sit to the label vectors on the test
split: mean ``cos(z, v_y)`` and mean ``max_{k != y} cos(z, v_k)`` (for ``"ce"`` the embedding
head is untrained, so those two are only a reference).

Targets (full run): top-1 >= 0.88 within 300 s of training for every variant, and each
multitask variant within 1 point of CE. The machine may be shared: the JSON records the load
average before and after; wall times on a busy machine overstate the cost.
Writes benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import os

# Threads that wait for work sleep instead of spinning: on a shared, busy machine spinning
# OpenMP threads make training several times slower. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
from common import RESULTS, machine, target, write_json  # noqa: E402

from doodlekit.data import DEFAULT_CATEGORIES, UNTUNED_CATEGORIES
from doodlekit.model import VARIANTS, TrainConfig, evaluate, train_variant

CATEGORIES = list(DEFAULT_CATEGORIES) + list(UNTUNED_CATEGORIES)
TOP1_TARGET, SECONDS_TARGET, GAP_TARGET = 0.88, 300.0, 0.01


def run_variant(variant: str, per_class: int | None, epochs: int, threads: int) -> dict[str, Any]:
    """Train one variant with the recipe; its test numbers and times."""
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    trained = train_variant(variant, CATEGORIES, per_class=per_class, epochs=epochs, num_threads=threads,
                            progress=sys.stderr.isatty(), validate=False)
    cpu_seconds, wall_seconds = time.process_time() - cpu_started, time.perf_counter() - wall_started
    test = evaluate(trained.model, trained.dataset("test"), trained.loss())
    print(f"{variant}: top1 {test['top1']:.4f} in {trained.train_seconds:.0f} s", flush=True)
    return {
        "test": test,
        "train_seconds": trained.train_seconds,
        "cpu_seconds": cpu_seconds,
        "wall_seconds_with_data_loading": wall_seconds,
        "train_drawings": int(len(trained.dataset("train"))),
        "config": trained.config.to_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 drawings per class and 1 epoch")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated loss variants")
    parser.add_argument("--out", type=Path, default=RESULTS / "train_speed.json")
    args = parser.parse_args(argv)

    per_class = 1000 if args.quick else None
    epochs = args.epochs or (1 if args.quick else TrainConfig.epochs)
    before = machine()
    runs = {variant: run_variant(variant, per_class, epochs, args.threads) for variant in args.variants.split(",")}
    result: dict[str, Any] = {
        "benchmark": "train_speed",
        "mode": "quick" if args.quick else "full",
        "categories": len(CATEGORIES),
        "per_class": per_class,
        "epochs": epochs,
        "torch": torch.__version__,
        "threads": args.threads,
        "machine_before": before,
        "load_average_1min_after": os.getloadavg()[0],
        "runs": runs,
    }
    if not args.quick:
        targets = {}
        for variant, run in runs.items():
            targets[f"{variant}_top1"] = target(">=", TOP1_TARGET, run["test"]["top1"])
            targets[f"{variant}_train_seconds"] = target("<=", SECONDS_TARGET, run["train_seconds"])
            if variant != "ce" and "ce" in runs:
                targets[f"{variant}_top1_gap_to_ce"] = target(
                    "<=", GAP_TARGET, runs["ce"]["test"]["top1"] - run["test"]["top1"]
                )
        result["targets"] = targets
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
