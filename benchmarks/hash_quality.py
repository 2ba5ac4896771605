"""How much retrieval quality binary codes keep: mAP@100 of float cosine vs LSH / ITQ codes.

    python benchmarks/hash_quality.py [--quick] [--embeddings FILE.npz] [--noise R] [--out FILE.json]

``--embeddings`` takes an .npz with ``embeddings`` (N, D) float and ``labels`` (N,) int, and
optionally ``label_vectors`` (C, D') for the semantic numbers. Without it, a stand-in is used:
the real GloVe 6B 50-d label vectors of the default Quick, Draw! categories plus isotropic
Gaussian noise whose expected norm is ``--noise`` times the (unit) label vector's.

Leave-one-out over a fixed sample of database items as queries; all numbers come from
:func:`doodlekit.retrieval.evaluation.retrieval_report`. Target: 64-bit codes keep >= 95% of the float mAP@100.
Writes benchmarks/results/hash_quality.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import RESULTS, machine, write_json

from doodlekit.data import DEFAULT_CATEGORIES
from doodlekit.defaults import BITS, CODE_BITS, VECTORS, K
from doodlekit.retrieval import retrieval_report
from doodlekit.semantics import LabelVectors, label_vectors, load_vectors

TARGET_BITS, TARGET_RATIO = CODE_BITS, 0.95


def standin_embeddings(per_class: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, LabelVectors]:
    """Stand-in embeddings: GloVe label vectors of DEFAULT_CATEGORIES plus Gaussian noise.

    Returns (embeddings (C * per_class, 50) float32, labels (C * per_class,) int64, label vectors);
    the noise has standard deviation ``noise / sqrt(50)`` per dimension, so its expected norm is
    about ``noise`` times a label vector's.
    """
    vectors = label_vectors(load_vectors(VECTORS), DEFAULT_CATEGORIES)
    labels = np.repeat(np.arange(len(vectors), dtype=np.int64), per_class)
    rng = np.random.default_rng(seed)
    scale = noise / np.sqrt(vectors.dim)
    embeddings = vectors.vectors[labels] + scale * rng.standard_normal((labels.size, vectors.dim))
    return embeddings.astype(np.float32), labels, vectors


def standin_description(per_class: int, noise: float) -> str:
    """What the stand-in is, for the JSON output."""
    return (
        f"stand-in, not a model's embeddings: GloVe 6B 50-d label vectors of the {len(DEFAULT_CATEGORIES)} "
        f"default Quick, Draw! categories, {per_class} per class, plus N(0, ({noise}/sqrt(50))^2) noise per dimension"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller database and fewer queries")
    parser.add_argument("--embeddings", type=Path, help=".npz with embeddings (N, D), labels (N,) [, label_vectors]")
    parser.add_argument("--noise", type=float, default=1.0, help="stand-in noise norm relative to the label vectors")
    parser.add_argument("--queries", type=int, help="leave-one-out queries (default 500 quick, 2000 full)")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--out", type=Path, default=RESULTS / "hash_quality.json")
    args = parser.parse_args(argv)

    if args.embeddings:
        with np.load(args.embeddings, allow_pickle=False) as archive:
            embeddings, labels = archive["embeddings"], archive["labels"]
            vectors = archive["label_vectors"] if "label_vectors" in archive.files else None
        source = f"embeddings from {args.embeddings.name}"
    else:
        per_class = 100 if args.quick else 400
        embeddings, labels, vectors = standin_embeddings(per_class, args.noise)
        source = standin_description(per_class, args.noise)
    n_queries = min(len(labels), args.queries or (500 if args.quick else 2000))
    query_ids = np.sort(np.random.default_rng(0).choice(len(labels), size=n_queries, replace=False))

    reports = {}
    for hasher in ("lsh", "itq"):
        start = time.perf_counter()
        report = retrieval_report(
            embeddings, labels, None, None, vectors, query_ids=query_ids, bits=BITS, hasher=hasher, k=args.k
        )
        reports[hasher] = {**report.to_dict(), "seconds": time.perf_counter() - start}
        ratios = ", ".join(f"{bits}: {report.map_ratio(bits):.3f}" for bits in BITS)
        print(f"{hasher}: float mAP@{args.k} {report.cosine.map:.3f}; kept {ratios}")

    kept = reports["itq"]["hashed"][str(TARGET_BITS)]["map_ratio"]
    write_json(
        args.out,
        {
            "benchmark": "hash_quality",
            "source": source,
            "n_database": len(labels),
            "n_queries": n_queries,
            "protocol": "leave-one-out: queries are database items, excluded from their own results",
            "k": args.k,
            "reports": reports,
            "target": {
                "what": f"ITQ {TARGET_BITS}-bit mAP@{args.k} >= {TARGET_RATIO:.0%} of float cosine mAP@{args.k}",
                "ratio": kept,
                "met": bool(kept >= TARGET_RATIO),
            },
            "machine": machine(),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
