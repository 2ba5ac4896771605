"""Bytes moved by partial downloads versus bytes asked, per format.

Serves the offline mirror on loopback (``tests/http_mirror.py``), fetches the first N
rows of a few categories in each format into a temp cache, then extends each to 2N
rows, and writes ``benchmarks/results/fetch_bytes.json``: per fetch the bytes asked
(the N rows' bytes in the file, plus the npy header for a first bitmap fetch), the body
bytes the server sent, their ratio and the number of requests.

Run: ``python benchmarks/fetch_bytes.py`` (mirror from ``DOODLEKIT_DATA``, else
``../shared/quickdraw``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from http_mirror import MirrorServer  # noqa: E402

from doodlekit.data import PIXELS, fetch, get_settings, relative_path, write_json_atomic

MIRROR = Path(os.environ.get("DOODLEKIT_DATA", ROOT.parent / "shared" / "quickdraw")).resolve()
RESULTS = ROOT / "benchmarks" / "results" / "fetch_bytes.json"
#: (format, categories, N): N rows first, then extended to 2N.
PLAN = [
    ("bitmap", ["cat", "The Mona Lisa", "sea turtle"], 400),
    ("simplified", ["basketball", "lollipop", "nose"], 50),
    ("raw", ["line", "triangle", "stairs"], 25),
]


def _row_bytes(fmt: str, category: str, start: int, stop: int) -> int:
    """Bytes of rows ``[start, stop)`` in the mirror's file."""
    path = MIRROR / relative_path(category, fmt)
    if fmt == "bitmap":
        return (stop - start) * PIXELS
    return sum(map(len, path.read_bytes().splitlines(keepends=True)[start:stop]))


def _npy_header_bytes(category: str) -> int:
    """Length of the mirror ``.npy`` file's header."""
    return int(np.load(MIRROR / relative_path(category, "bitmap"), mmap_mode="r", allow_pickle=False).offset)


def main() -> dict:
    """Run the plan; write and return the results."""
    runs = []
    with MirrorServer(MIRROR) as server, tempfile.TemporaryDirectory() as cache:
        settings = get_settings(server.url, Path(cache) / "none", cache)
        for fmt, categories, n in PLAN:
            for category in categories:
                for start, stop in ((0, n), (n, 2 * n)):
                    server.reset_counters()
                    [report] = fetch([category], stop, fmt, settings=settings, progress=False)
                    header = _npy_header_bytes(category) if fmt == "bitmap" and start == 0 else 0
                    asked = _row_bytes(fmt, category, start, stop) + header
                    runs.append({"format": fmt, "category": category, "rows_from": start, "rows_to": report.rows,
                                 "bytes_asked": asked, "bytes_moved": server.bytes_sent,
                                 "ratio": round(server.bytes_sent / asked, 4), "requests": len(server.requests)})
    summary = {fmt: max(r["ratio"] for r in runs if r["format"] == fmt) for fmt, _, _ in PLAN}
    result = {"what": "HTTP body bytes sent by a loopback server per partial fetch, over bytes asked",
              "max_ratio_by_format": summary, "target_max_ratio": 1.1, "runs": runs}
    write_json_atomic(RESULTS, result)
    return result


if __name__ == "__main__":
    out = main()
    print(json.dumps(out["max_ratio_by_format"]), "->", RESULTS)
