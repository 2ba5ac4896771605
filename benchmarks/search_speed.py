"""Search time per query: Hamming ranking (numba kernel, pure numpy) vs float cosine brute force vs faiss.

    python benchmarks/search_speed.py [--quick] [--embeddings FILE.npy] [--queries 100] [--out FILE.json]

Databases of 10k, 100k and 1M items (``--quick``: 10k and 100k) are made by repeating real
embeddings to size with a little jitter (so repeats are not exact duplicates): ``--embeddings``
takes an (N, D) float .npy; without it, the stand-in of ``hash_quality.py`` (GloVe label vectors
plus noise) is used, and the JSON says so. Codes are 64-bit ITQ codes fitted on the
un-repeated embeddings. Each method ranks the same batch of queries (top k, ties by position):

- ``numba_hamming``: :func:`doodlekit.retrieval.hamming.hamming_rank` with its numba-compiled kernel
  (``compiled=True``; what the "numpy" backend runs by default);
- ``numpy_hamming``: the same with pure numpy (``compiled=False``, the fallback without numba);
- ``float_cosine``: :func:`doodlekit.retrieval.metrics.cosine_rank` on pre-normalised float32 rows;
- ``faiss_binary_flat``: faiss IndexBinaryFlat's own search (its ties are not by position);
- ``faiss_backend``: ``hamming_rank(..., backend="faiss")``, re-sorted to the kit's tie order.

Times are the best of a few runs after a warm-up, divided by the number of queries. The numba
kernel is compiled before any timing, into an empty temporary cache directory
(``NUMBA_CACHE_DIR``), so the reported compile time is a real compile, not a cache load. Also
measured: one query at a time against a 10k-item :class:`doodlekit.retrieval.index.HammingIndex` (the
doodle pad's case, default backend).

Targets (for the default, compiled path): Hamming >= 20x faster than float brute force at 100k,
and within 2x of faiss. BLAS and faiss run on ``--threads`` threads (default 1, like both Hamming
paths, which are single-threaded). Writes benchmarks/results/search_speed.json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch

import numpy as np
from common import RESULTS, machine, target, write_json
from hash_quality import standin_description, standin_embeddings
from threadpoolctl import threadpool_limits

from doodlekit.defaults import CODE_BITS, K
from doodlekit.retrieval import ITQ, HammingIndex, cosine_rank, hamming_rank, import_faiss

N_BITS = CODE_BITS
STANDIN_PER_CLASS, STANDIN_NOISE = 400, 1.0
JITTER = 0.05  # repeat jitter, in units of the embeddings' per-dimension standard deviation


def best_time(run: Callable[[], Any], repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds (after one warm-up run)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def repeat_to(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, D) float32: rows of ``base`` cycled to n rows, plus jitter."""
    rows = base[np.arange(n) % base.shape[0]]
    return (rows + JITTER * base.std(axis=0) * rng.standard_normal(rows.shape, dtype=np.float32)).astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (the float baseline normalises its gallery once, untimed)."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def compile_time() -> dict[str, Any]:
    """Seconds to import numba and to compile the ranking kernel for 64-bit codes (first call).

    Call with ``NUMBA_CACHE_DIR`` set to an empty directory before numba is imported, so that
    the first call compiles rather than loads an earlier run's cache.
    """
    fresh = "numba" not in sys.modules and bool(os.environ.get("NUMBA_CACHE_DIR"))
    start = time.perf_counter()
    numba = importlib.import_module("numba")
    imported = time.perf_counter()
    codes = np.zeros((1, N_BITS // 8), dtype=np.uint8)
    hamming_rank(codes, codes, 1, compiled=True)
    return {
        "numba": numba.__version__,
        "import_s": imported - start,
        "compile_s": time.perf_counter() - imported,
        "fresh_cache": fresh,
    }


def pad_latency(hasher: ITQ, base: np.ndarray, rng: np.random.Generator, n_items: int = 10_000) -> dict[str, float]:
    """Milliseconds for single-query searches of a 10k-item HammingIndex, as the doodle pad does."""
    index = HammingIndex(N_BITS)
    index.add(hasher.transform(repeat_to(base, n_items, rng)), np.zeros(n_items, dtype=np.int64))
    queries = hasher.transform(repeat_to(base, 200, rng))
    index.search(queries[0], 10)
    times = []
    for code in queries:
        start = time.perf_counter()
        index.search(code, 10)
        times.append(time.perf_counter() - start)
    return {
        "n_items": n_items,
        "k": 10,
        "median_ms": 1e3 * float(np.median(times)),
        "p95_ms": 1e3 * float(np.percentile(times, 95)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k items only, fewer repeats")
    parser.add_argument("--embeddings", type=Path, help="an (N, D) float .npy of real embeddings")
    parser.add_argument("--queries", type=int, default=100, help="queries per batch")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and faiss threads (default 1: per-core numbers)")
    parser.add_argument("--out", type=Path, default=RESULTS / "search_speed.json")
    args = parser.parse_args(argv)
    faiss = import_faiss()
    faiss.omp_set_num_threads(args.threads)
    # NUMBA_CACHE_DIR is read when numba is first imported, in compile_time()
    with (
        tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir,
        patch.dict(os.environ, {"NUMBA_CACHE_DIR": cache_dir}),
        threadpool_limits(limits=args.threads),
    ):
        return run(args, faiss)


def run(args: argparse.Namespace, faiss: ModuleType) -> int:
    """Measure and write the JSON."""
    rng = np.random.default_rng(0)
    compiled = compile_time()
    print(
        f"numba {compiled['numba']}: import {compiled['import_s']:.2f} s, "
        f"compile of the ranking kernel {compiled['compile_s']:.2f} s (not in the timings below)"
    )

    if args.embeddings:
        base = np.load(args.embeddings, allow_pickle=False).astype(np.float32)
        source = f"embeddings from {args.embeddings.name}"
    else:
        base = standin_embeddings(STANDIN_PER_CLASS, STANDIN_NOISE)[0]
        source = standin_description(STANDIN_PER_CLASS, STANDIN_NOISE)
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    repeats = 2 if args.quick else 5
    hasher = ITQ(N_BITS).fit(base)
    queries = repeat_to(base[rng.choice(base.shape[0], args.queries, replace=False)], args.queries, rng)
    query_codes, query_units = hasher.transform(queries), unit(queries)

    rows = []
    for n in sizes:
        database = repeat_to(base, n, rng)
        db_codes, db_units = hasher.transform(database), unit(database)
        del database
        index = faiss.IndexBinaryFlat(N_BITS)
        index.add(db_codes)
        runs = {
            "numba_hamming": partial(hamming_rank, query_codes, db_codes, args.k, compiled=True),
            "numpy_hamming": partial(hamming_rank, query_codes, db_codes, args.k, compiled=False),
            "float_cosine": partial(cosine_rank, query_units, db_units, args.k, normalized=True),
            "faiss_binary_flat": partial(index.search, query_codes, args.k),
            "faiss_backend": partial(hamming_rank, query_codes, db_codes, args.k, backend="faiss"),
        }
        seconds = {name: best_time(run, repeats) for name, run in runs.items()}
        numba_result, numpy_result, faiss_result = (
            hamming_rank(query_codes, db_codes, args.k, **options)
            for options in ({"compiled": True}, {"compiled": False}, {"backend": "faiss"})
        )
        identical = all(
            np.array_equal(a, b) and np.array_equal(a, c)
            for a, b, c in zip(numba_result, numpy_result, faiss_result, strict=True)
        )
        ms = {name: 1e3 * s / args.queries for name, s in seconds.items()}
        row = {
            "n_items": n,
            "ms_per_query": ms,
            "float_over_numba_hamming": ms["float_cosine"] / ms["numba_hamming"],
            "float_over_numpy_hamming": ms["float_cosine"] / ms["numpy_hamming"],
            "numba_hamming_over_faiss": ms["numba_hamming"] / ms["faiss_binary_flat"],
            "numpy_hamming_over_faiss": ms["numpy_hamming"] / ms["faiss_binary_flat"],
            "numpy_over_numba_hamming": ms["numpy_hamming"] / ms["numba_hamming"],
            "numba_numpy_and_faiss_backend_rankings_identical": identical,
        }
        rows.append(row)
        timings = ", ".join(f"{name} {t:.4f} ms" for name, t in ms.items())
        ratios = (
            f"float/numba {row['float_over_numba_hamming']:.1f}x, float/numpy {row['float_over_numpy_hamming']:.1f}x, "
            f"numba/faiss {row['numba_hamming_over_faiss']:.2f}x, numpy/faiss {row['numpy_hamming_over_faiss']:.2f}x, "
            f"identical {identical}"
        )
        print(f"{n:>9,} items: {timings}; {ratios}")

    at_100k = next(row for row in rows if row["n_items"] == 100_000)
    pad = pad_latency(hasher, base, rng)
    print(f"doodle pad: one query among {pad['n_items']:,} codes, median {pad['median_ms']:.3f} ms")
    write_json(
        args.out,
        {
            "benchmark": "search_speed",
            "source": source,
            "embedding_dim": int(base.shape[1]),
            "n_bits": N_BITS,
            "hasher": repr(hasher),
            "queries_per_batch": args.queries,
            "k": args.k,
            "timing": f"best of {repeats} runs of the whole batch (after a warm-up), divided by the batch size",
            "float_baseline": "cosine_rank on pre-normalised float32 rows: numpy matmul + stable top-k",
            "numba_compile": compiled,
            "threads": {
                "faiss": faiss.omp_get_max_threads(),
                "blas": args.threads,
                "numba_and_numpy_hamming": 1,
                "why": "both Hamming paths are single-threaded; limiting the others to the same number of "
                "threads compares work per core, and keeps numbers stable on a shared machine",
            },
            "sizes": rows,
            "doodle_pad": pad,
            "targets": {
                "float_over_numba_hamming_at_100k": target(">=", 20, at_100k["float_over_numba_hamming"]),
                "numba_hamming_over_faiss_at_100k": target("<=", 2, at_100k["numba_hamming_over_faiss"]),
                "doodle_pad_median_ms": target("<", 10, pad["median_ms"]),
            },
            "machine": machine(),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
