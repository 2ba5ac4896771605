"""Memory of the lesson kernels, and of the whole sequence with every kernel left running.

    python benchmarks/notebook_memory.py [--notebooks 01 03] [--out FILE.json]

Binder gives a session at most 2 GB, and JupyterLab keeps a kernel running until the learner
shuts it down (or the server culls it, see ``binder/jupyter_server_config.json``).

Method. The notebooks of ``notebooks/`` run in order (01 -> 06), each top to bottom with nbclient
in a fresh kernel of this environment's Python, in one temporary copy of ``notebooks/`` (as on
Binder: the lesson models a notebook makes there are found by the next one; ``DOODLEKIT_ARTIFACTS``
is left unset). Data come from wherever the environment says (``DOODLEKIT_DATA`` or the cache).
After a notebook's last cell, with its kernel still running, the kernel process's
``/proc/<pid>/status`` gives ``VmHWM`` (its peak resident memory) and ``VmRSS`` (resident now).
Every kernel is kept running until all have run, as for a learner who never shuts one down. The
worst moment of that sequence is the largest, over notebooks, of the notebook's peak plus the
resident memory of the kernels still open from the notebooks before it, plus the Jupyter server;
the server's own resident memory is measured on an idle ``jupyter lab`` started for the purpose.
Also reported: the worst moment when one kernel runs at a time, and when only the previous
notebook's kernel is still open (what idle-kernel culling typically leaves).

CPU build. This environment may hold PyPI's CUDA build of torch; Binder installs the CPU build
(``binder/requirements.txt``). The CUDA-only shared libraries, which the CPU build does not have
(:data:`CUDA_ONLY`: ``libtorch_cuda``, ``libc10_cuda``, cuDNN, cuBLAS, NCCL, the other ``libcu*``,
nvrtc, nvJitLink, nvshmem, and everything under ``site-packages/nvidia/``, ``cuda/bindings/`` and
``triton/``), are mapped into every kernel that imports torch; the resident pages (``Rss``) of
those mappings in ``/proc/<pid>/smaps`` after the notebook ran are subtracted from its peak and
from its resident memory. Library pages are loaded at import and stay, so the subtraction applies
to the peak too. The heap and anonymous memory that those libraries' initialisers allocate when
they load is not in their mappings; it is measured apart and subtracted too: a bare Python process
loads ``libc10`` and ``libtorch_cpu`` (as the CPU build does), then the kernel's CUDA-only
libraries (``ctypes``, ``RTLD_GLOBAL``), and the growth of its ``VmRSS`` beyond the growth of those
libraries' mappings is that memory. It is an estimate: ``libtorch_cpu`` is counted as the CUDA
wheel ships it, and memory the CUDA libraries allocate later, at run time, stays counted. On a
machine with the CPU build both subtractions are zero and the numbers are measured.

Target: the worst moment of the sequence, CPU build, <= 2,048 MB. Writes
benchmarks/results/notebook_memory.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from common import RESULTS, machine, target, write_json
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BINDER_LIMIT_MB = 2048
#: Mappings of libraries that only the CUDA build of torch loads (file path, matched anywhere).
CUDA_ONLY = re.compile(
    r"/nvidia/|/cuda/bindings/|/triton/|/lib(?:torch_cuda|c10_cuda|cudnn|cublas|nccl|cu|nvrtc|nvJitLink|nvshmem)[^/]*$"
)
CELL_TIMEOUT_S = 900


def _status_kb(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of ``/proc/<pid>/status``, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            fields[key] = int(value.split()[0])
    return fields


def cuda_only_rss_kb(pid: int) -> tuple[int, dict[str, int]]:
    """Resident kB of the CUDA-only library mappings of ``pid``: the total and the largest few, by file."""
    by_file: dict[str, int] = {}
    current = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = head[5] if len(head) > 5 and CUDA_ONLY.search(head[5]) else None
        elif current is not None and head[0] == "Rss:":
            by_file[current] = by_file.get(current, 0) + int(head[1])
    largest = dict(sorted(by_file.items(), key=lambda item: -item[1])[:8])
    return sum(by_file.values()), {Path(name).name: kb for name, kb in largest.items()}


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


_LOAD_LIBRARIES = """
import ctypes, json, os, sys
sys.path.insert(0, {here!r})
from notebook_memory import _status_kb, cuda_only_rss_kb
cpu, cuda = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for path in cpu:
    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
rss, mapped = _status_kb(os.getpid())["VmRSS"], cuda_only_rss_kb(os.getpid())[0]
todo = list(cuda)
for _ in range(len(todo)):  # in dependency order, found by retrying
    for path in list(todo):
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            todo.remove(path)
        except OSError:
            pass
grown = _status_kb(os.getpid())["VmRSS"] - rss
print(json.dumps({{"unloaded": todo, "heap_kb": grown - (cuda_only_rss_kb(os.getpid())[0] - mapped)}}))
"""


def cuda_initialiser_heap_kb(pid: int) -> int:
    """Memory the CUDA-only libraries mapped in ``pid`` allocate outside their mappings when loaded (kB).

    Measured in a bare Python process (see the module docstring); 0 when ``pid`` maps none.
    """
    libraries: list[str] = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) > 5 and ".so" in fields[5] and fields[5] not in libraries:
            libraries.append(fields[5])
    cuda = [path for path in libraries if CUDA_ONLY.search(path)]
    if not cuda:
        return 0
    cpu = [path for name in ("libc10.so", "libtorch_cpu.so")
           for path in libraries if path.endswith(f"/torch/lib/{name}")]
    code = _LOAD_LIBRARIES.format(here=str(Path(__file__).resolve().parent))
    run = subprocess.run([sys.executable, "-c", code, json.dumps(cpu), json.dumps(cuda)],
                         capture_output=True, text=True, check=True)
    found = json.loads(run.stdout)
    if found["unloaded"]:
        raise RuntimeError(f"could not load {found['unloaded']} on their own")
    return max(0, int(found["heap_kb"]))


def run_notebook(path: Path, cwd: Path) -> tuple[KernelManager, dict[str, Any]]:
    """Execute ``path`` in a fresh kernel with working folder ``cwd``; the kernel is left running."""
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    pid = km.provisioner.process.pid
    status = _status_kb(pid)
    mapped_kb, cuda_files = cuda_only_rss_kb(pid)
    heap_kb = cuda_initialiser_heap_kb(pid)
    cuda_kb = mapped_kb + heap_kb
    return km, {
        "seconds": round(seconds, 1),
        "peak_rss_mb": _mb(status["VmHWM"]),
        "rss_after_mb": _mb(status["VmRSS"]),
        "cuda_only_libraries_rss_mb": _mb(mapped_kb),
        "cuda_only_largest_mb": {name: _mb(kb) for name, kb in cuda_files.items()},
        "cuda_only_initialiser_heap_mb": _mb(heap_kb),
        "cpu_build_estimate": {
            "peak_rss_mb": _mb(status["VmHWM"] - cuda_kb),
            "rss_after_mb": _mb(status["VmRSS"] - cuda_kb),
        },
    }


def jupyter_server_rss_mb(scratch: Path) -> float:
    """Resident memory of an idle ``jupyter lab`` (no kernel), a few seconds after it answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(8)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(scratch / "config"), JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"))
    command = [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={scratch}",
               "--allow-root"]
    with open(scratch / "server.log", "w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5).close()
                break
            except (urllib.error.URLError, OSError) as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (scratch / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"jupyter lab did not start:\n{log}") from exc
                time.sleep(0.3)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=30).close()  # serve the page once
        time.sleep(2)
        return _mb(_status_kb(proc.pid)["VmRSS"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(prefixes: list[str] | None, out: Path) -> dict[str, Any]:
    """Run the benchmark; write and return the results."""
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if prefixes:
        paths = [path for path in paths if any(path.name.startswith(prefix) for prefix in prefixes)]
    os.environ.pop("DOODLEKIT_ARTIFACTS", None)
    results: dict[str, Any] = {}
    kernels: list[KernelManager] = []
    with tempfile.TemporaryDirectory(prefix="doodlekit-memory-") as scratch:
        lessons = Path(scratch) / "notebooks"
        shutil.copytree(NOTEBOOKS, lessons, ignore=shutil.ignore_patterns("artifacts", ".ipynb_checkpoints"))
        try:
            for path in paths:
                print(f"running {path.name} ...", flush=True)
                km, results[path.name] = run_notebook(lessons / path.name, lessons)
                kernels.append(km)
                print(json.dumps(results[path.name]), flush=True)
        finally:
            for km in kernels:
                km.shutdown_kernel(now=True)
        server_dir = Path(scratch) / "server"
        server_dir.mkdir()
        server_mb = jupyter_server_rss_mb(server_dir)

    def worst_moment(peak: str, after: str, of: dict[str, Any]) -> float:
        open_before, worst = 0.0, 0.0
        for name in results:
            entry = of(results[name])
            worst = max(worst, open_before + entry[peak])
            open_before += entry[after]
        return round(worst + server_mb, 1)

    cuda = worst_moment("peak_rss_mb", "rss_after_mb", lambda entry: entry)
    cpu = worst_moment("peak_rss_mb", "rss_after_mb", lambda entry: entry["cpu_build_estimate"])
    cpu_entries = [entry["cpu_build_estimate"] for entry in results.values()]
    previous_open = max((before["rss_after_mb"] if before else 0.0) + entry["peak_rss_mb"]
                        for before, entry in zip([None, *cpu_entries[:-1]], cpu_entries))
    largest_cpu = max(entry["cpu_build_estimate"]["peak_rss_mb"] for entry in results.values())
    result = {
        "what": "resident memory (MB) of each lesson kernel and of the sequence with every kernel left running",
        "method": "nbclient, fresh kernel per notebook, /proc/<pid>/status VmHWM and VmRSS after the last cell; "
                  "CPU build = minus the resident pages of CUDA-only libraries in /proc/<pid>/smaps (see docstring)",
        "torch": importlib.metadata.version("torch"),
        "notebooks": results,
        "jupyter_server_rss_mb": server_mb,
        "sequence_all_kernels_open_worst_mb": {"cuda_build": cuda, "cpu_build_estimate": cpu},
        "one_kernel_at_a_time_worst_mb": {"cpu_build_estimate": round(largest_cpu + server_mb, 1)},
        "previous_kernel_still_open_worst_mb": {"cpu_build_estimate": round(previous_open + server_mb, 1)},
        "binder_limit_mb": BINDER_LIMIT_MB,
        "fits_binder_all_open_cpu_build": target("<=", BINDER_LIMIT_MB, cpu),
        "machine": machine(),
    }
    write_json(out, result)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="*", metavar="PREFIX", help="only notebooks whose names start so")
    parser.add_argument("--out", type=Path, default=RESULTS / "notebook_memory.json")
    args = parser.parse_args()
    summary = main(args.notebooks, args.out)
    print(json.dumps({key: summary[key] for key in (
        "jupyter_server_rss_mb", "sequence_all_kernels_open_worst_mb", "one_kernel_at_a_time_worst_mb",
        "previous_kernel_still_open_worst_mb", "fits_binder_all_open_cpu_build")}, indent=1))
