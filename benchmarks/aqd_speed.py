"""Search time per query: DVSQ's asymmetric quantizer distance (AQD) vs Hamming ranking at equal bits.

    python benchmarks/aqd_speed.py [--quick] [--bits 32 64] [--queries 100] [--out FILE.json]

Databases of 100k and 1M items (``--quick``: 100k only) are made from the stand-in embeddings of
``hash_quality.py`` (GloVe label vectors plus noise): ITQ codes of the embeddings repeated to size with
a little jitter, as in ``search_speed.py`` (exact repeats would let the Hamming kernel's pruning stop
early), and quantizer codes of the embeddings cycled to size (ICM-coding a million items takes longer
than the search it feeds, and AQD scans every item whatever its code).
At each code width the DVSQ quantizer (:class:`doodlekit.retrieval.VisualSemanticQuantizer`,
fitted with the label vectors) and ITQ are fitted on the stand-in embeddings; the same batch of
jittered queries is then ranked (top k, ties by position) by:

- ``aqd_numba``: :meth:`VisualSemanticQuantizer.search` with the numba kernel (the default path),
  lookup tables included;
- ``aqd_numpy``: the same with pure numpy (``compiled=False``);
- ``hamming_numba``: :func:`doodlekit.retrieval.hamming_rank` of ITQ codes, numba kernel, the
  query codes included.

Times are the best of a few runs after a warm-up, divided by the number of queries; single-threaded
(BLAS limited to ``--threads``). Both kernels are compiled before any timing. Writes
benchmarks/results/aqd_speed.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import RESULTS, machine, write_json
from hash_quality import standin_description, standin_embeddings
from search_speed import best_time, repeat_to
from threadpoolctl import threadpool_limits

from doodlekit.defaults import K
from doodlekit.retrieval import ITQ, VisualSemanticQuantizer, aqd_rank, hamming_rank

STANDIN_PER_CLASS, STANDIN_NOISE = 400, 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k items only, fewer repeats")
    parser.add_argument("--bits", type=int, nargs="+", default=[32, 64], help="code widths (multiples of 8)")
    parser.add_argument("--queries", type=int, default=100, help="queries per batch")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: per-core numbers)")
    parser.add_argument("--out", type=Path, default=RESULTS / "aqd_speed.json")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        return run(args)


def run(args: argparse.Namespace) -> int:
    """Measure and write the JSON."""
    rng = np.random.default_rng(0)
    base, _, vectors = standin_embeddings(STANDIN_PER_CLASS, STANDIN_NOISE)
    sizes = (100_000,) if args.quick else (100_000, 1_000_000)
    repeats = 2 if args.quick else 3
    queries = repeat_to(base[rng.choice(base.shape[0], args.queries, replace=False)], args.queries, rng)
    fitted = {bits: (VisualSemanticQuantizer(bits).fit(base, label_vectors=vectors.vectors), ITQ(bits).fit(base))
              for bits in args.bits}
    for quantizer, itq in fitted.values():  # compile both kernels before timing
        codes = quantizer.transform(base[:10])
        aqd_rank(quantizer.lookup_tables(queries[:1]), codes, 1, compiled=True)
        hamming_rank(itq.transform(queries[:1]), itq.transform(base[:10]), 1, compiled=True)
    codes = {bits: quantizer.transform(base) for bits, (quantizer, _) in fitted.items()}
    rows = []
    for n in sizes:
        cycle = np.arange(n) % base.shape[0]
        database = repeat_to(base, n, rng)
        for bits, (quantizer, itq) in fitted.items():
            db_codes, db_bits = codes[bits][cycle], itq.transform(database)
            runs = {
                "aqd_numba": lambda: quantizer.search(queries, db_codes, args.k, compiled=True),
                "aqd_numpy": lambda: quantizer.search(queries, db_codes, args.k, compiled=False),
                "hamming_numba": lambda: hamming_rank(itq.transform(queries), db_bits, args.k, compiled=True),
            }
            ms = {name: 1e3 * best_time(run_, repeats) / args.queries for name, run_ in runs.items()}
            same = all(np.array_equal(a, b) for a, b in zip(runs["aqd_numba"](), runs["aqd_numpy"](), strict=True))
            row = {"n_items": n, "n_bits": bits, "ms_per_query": ms,
                   "aqd_over_hamming": ms["aqd_numba"] / ms["hamming_numba"],
                   "aqd_numpy_over_numba": ms["aqd_numpy"] / ms["aqd_numba"],
                   "aqd_numba_and_numpy_identical": same}
            rows.append(row)
            print(f"{n:>9,} items, {bits} bits: " + ", ".join(f"{name} {t:.3f} ms" for name, t in ms.items())
                  + f"; AQD/Hamming {row['aqd_over_hamming']:.1f}x, identical {same}", flush=True)
        del database
    write_json(args.out, {
        "benchmark": "aqd_speed",
        "source": standin_description(STANDIN_PER_CLASS, STANDIN_NOISE),
        "embedding_dim": int(base.shape[1]),
        "queries_per_batch": args.queries,
        "k": args.k,
        "timing": f"best of {repeats} runs of the whole batch (after a warm-up), divided by the batch size; "
                  "AQD includes building the lookup tables, Hamming includes coding the queries",
        "threads": {"blas": args.threads, "kernels": 1},
        "machine": machine(),
        "rows": rows,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
