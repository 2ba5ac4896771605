"""The ``doodlekit`` command (also ``python -m doodlekit``).

Each subcommand is one function ``add_<name>(subparsers)``, listed in :data:`SUBCOMMANDS`,
that adds its parser and sets its ``run`` default: a function of the parsed arguments
that returns the exit status. A :class:`~doodlekit.errors.DoodleKitError` prints one
line to stderr and exits with status 2; Ctrl-C prints ``doodlekit <command>: interrupted``
and exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from doodlekit import __version__
from doodlekit.data.quickdraw import fetch
from doodlekit.data.settings import FORMATS, Settings, get_settings
from doodlekit.defaults import VECTORS
from doodlekit.errors import DoodleKitError
from doodlekit.model.variants import VARIANTS

EXIT_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def _human_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _positive_int(text: str) -> int:
    """argparse type: a row count of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number of rows, got {text!r}")
    return int(text)


def _not_empty(text: str) -> str:
    """argparse type: a folder or URL; an empty one would silently mean the environment's."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty; leave the option out to use the environment variable")
    return text


def _given(text: str) -> str:
    """argparse type: a value that must not be empty (an empty one would silently mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty; leave the option out to use its default")
    return text


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--cache`` and ``--url``: where Quick, Draw! files come from (read by :func:`_data_settings`)."""
    parser.add_argument("--data", type=_not_empty, metavar="DIR",
                        help="read-only mirror laid out like the bucket (default: DOODLEKIT_DATA)")
    parser.add_argument("--cache", type=_not_empty, metavar="DIR",
                        help="writable cache folder (default: DOODLEKIT_CACHE, else the user cache folder)")
    parser.add_argument("--url", type=_not_empty, metavar="URL",
                        help="base URL of the bucket (default: DOODLEKIT_QUICKDRAW_URL, else Google's)")


def _data_settings(args: argparse.Namespace) -> Settings:
    """The :class:`~doodlekit.data.settings.Settings` of :func:`_add_data_options`' options, the environment
    filling in those not given."""
    return get_settings(args.url, args.data, args.cache)


def _run_fetch(args: argparse.Namespace) -> int:
    reports = fetch(args.categories, args.per_class, args.format, settings=_data_settings(args),
                    progress=not args.no_progress)
    width = max(len(r.category) for r in reports)
    for r in reports:
        print(f"{r.category:<{width}}  {r.rows:>7} rows  {r.source:<8}  {_human_bytes(r.bytes_downloaded):>10}"
              f"  {r.path}")
    total_rows = sum(r.rows for r in reports)
    total_bytes = sum(r.bytes_downloaded for r in reports)
    print(f"{'total':<{width}}  {total_rows:>7} rows  {len(reports)} categories, "
          f"{_human_bytes(total_bytes)} downloaded")
    return 0


def add_fetch(subparsers: argparse._SubParsersAction) -> None:
    """``doodlekit fetch``: make N drawings per category available locally."""
    parser = subparsers.add_parser(
        "fetch", help="fetch the first N drawings of some categories into the cache",
        description="Make the first N drawings of each category available: from the mirror (DOODLEKIT_DATA), "
                    "else the cache (DOODLEKIT_CACHE), else downloaded into the cache with Range requests.",
    )
    parser.add_argument("--categories", required=True, metavar="NAMES",
                        help='comma-separated official names, e.g. "cat,dog,hot air balloon"')
    parser.add_argument("--per-class", required=True, type=_positive_int, metavar="N",
                        help="drawings per category (fewer when the file has fewer)")
    parser.add_argument("--format", default="bitmap", choices=FORMATS, help="file format (default: bitmap)")
    _add_data_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_fetch)


def _seed_list(text: str) -> list[int]:
    """argparse type: ``"0,1,2"`` -> ``[0, 1, 2]``."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    shown = text if len(text) <= 40 else f"{text[:37]}..."
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated non-negative whole numbers, e.g. 0,1,2; got {shown!r}"
        )
    if any(len(part.lstrip("0")) > 19 or int(part) >= 2**63 for part in parts):
        raise argparse.ArgumentTypeError(f"seeds must be below 2**63 (9223372036854775808); got {shown!r}")
    return [int(part) for part in parts]


def _run_reproduce(args: argparse.Namespace) -> int:
    from doodlekit.experiments.reproduce import run

    results = run(args.out, args.categories, args.heldout, per_class=args.per_class,
                  epochs=args.epochs, seeds=args.seeds, vectors=args.vectors, quick=args.quick, force=args.force,
                  progress=not args.no_progress, settings=_data_settings(args), dataset=args.dataset)
    print(f"wrote results.json, results.md and figures/ to {args.out} in {results['elapsed_seconds']:.0f} s")
    print(results["summary"])
    return 0


def add_reproduce(subparsers: argparse._SubParsersAction) -> None:
    """``doodlekit reproduce``: the three losses over seeds at equal budget, into results.json / results.md."""
    parser = subparsers.add_parser(
        "reproduce", help="train CE, fixed and adaptive margin over seeds and write the results report",
        description=f"Train every variant ({', '.join(VARIANTS)}) for every seed at equal budget, "
                    "measure classification, retrieval (float and binary codes), semantic and zero-shot numbers, "
                    "and write results.json, results.md and figures to --out. Rerunning with the same arguments "
                    "resumes an interrupted run. Defaults take about 9 minutes on 2 CPU cores, --quick about 1.",
    )
    parser.add_argument("--out", required=True, type=_given, metavar="DIR",
                        help="output folder (created; must be empty, "
                        "or hold an unfinished run of the same arguments, unless --force)")
    parser.add_argument("--dataset", default="quickdraw", choices=("quickdraw", "animal-mnist"),
                        help="quickdraw (default) or animal-mnist: 10 animals' silhouettes, read from "
                             "DOODLEKIT_ANIMAL_MNIST or the animal-mnist wheel (downloaded into --cache)")
    parser.add_argument("--categories", type=_given, metavar="NAMES",
                        help="comma-separated official names (default: the 24 default categories; "
                             "animal-mnist: its 10 animals)")
    parser.add_argument("--heldout", type=_given, metavar="NAMES",
                        help="categories among --categories left out of training, for zero-shot (default: "
                             "lion,train,tree with the default categories, cat,sheep,zebra on animal-mnist, else up to 3 chosen to keep a close "
                             "neighbour in training)")
    parser.add_argument("--per-class", type=_positive_int, metavar="N",
                        help="drawings per category before the 80/10/10 split (default: 2000; --quick: 800)")
    parser.add_argument("--epochs", type=int, metavar="E",
                        help="epochs of every run (default: 3; --quick: 2); on animal-mnist 12, with --quick 6")
    parser.add_argument("--seeds", type=_seed_list, metavar="LIST", help="training seeds (default: 0,1,2; --quick: 0)")
    parser.add_argument("--vectors", default=VECTORS, type=_given, metavar="SPEC",
                        help=f"word-vector source of the label vectors (default: {VECTORS})")
    parser.add_argument("--quick", action="store_true", help="one seed, smaller budget (about 1 minute)")
    parser.add_argument("--force", action="store_true", help="retrain and overwrite the results in a non-empty --out")
    _add_data_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_reproduce)


def _run_lesson_models(args: argparse.Namespace) -> int:
    from doodlekit.experiments.lessons import REFERENCE_MANIFEST, write_reference

    manifest = write_reference(args.out)
    for variant, entry in manifest["models"].items():
        test = entry["test"]
        print(f"{variant:<16} {entry['file']:<28} sha256 {entry['sha256'][:16]}...  test top-1 {test['top1']:.3f}")
    print(f"wrote {args.out / REFERENCE_MANIFEST}")
    return 0


def add_lesson_models(subparsers: argparse._SubParsersAction) -> None:
    """``doodlekit lesson-models``: train the lessons' reference models (for maintainers)."""
    parser = subparsers.add_parser(
        "lesson-models", help="train the lessons' reference models with the lesson recipe (for maintainers)",
        description="Train the three lesson models with doodlekit.experiments.lessons.LESSON's recipe and write "
                    "them, with their SHA-256, recipe, history and test metrics, into --out. The kit ships the "
                    "result in doodlekit/reference/, which the notebooks use so that their numbers are the same on "
                    "every machine. About a minute on 2 CPU cores.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    parser.set_defaults(run=_run_lesson_models)


#: The subcommands: each adds its parser and sets ``run``.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_fetch, add_reproduce, add_lesson_models]


def build_parser() -> argparse.ArgumentParser:
    """The ``doodlekit`` argument parser with every subcommand in :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(prog="doodlekit", description="Doodle recognition and similarity search kit.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``doodlekit`` command; return its exit status (2 on a doodlekit error, 130 on Ctrl-C)."""
    args = build_parser().parse_args(argv)
    # Idle OpenMP threads sleep instead of spinning: on a busy machine spinning made training
    # 3-5x slower. Set before a subcommand first imports torch; an explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        return args.run(args)
    except DoodleKitError as exc:
        print(f"doodlekit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback; files are written atomically
        print(f"doodlekit {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
