"""Where data comes from: the three settings of the data layer.

=========================  =========================================================
environment variable       meaning
=========================  =========================================================
``DOODLEKIT_QUICKDRAW_URL`` base URL of the dataset bucket (default: Google's public one)
``DOODLEKIT_DATA``          a read-only local mirror laid out like the bucket
``DOODLEKIT_CACHE``         a writable cache (default: the platform's user cache dir)
=========================  =========================================================

:func:`get_settings` resolves them into one :class:`Settings`. Every function and dataset
that reads data takes it as ``settings=`` (``None``: :func:`get_settings` from the
environment, resolved once per call), and so do :func:`~doodlekit.model.training.train_variant`
and :func:`~doodlekit.experiments.reproduce.run`. Files are looked for in the mirror, then
the cache, then downloaded into the cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full"
FORMATS = ("bitmap", "simplified", "raw")
#: Folder (and file suffix) of each format, exactly as in the bucket.
FORMAT_LAYOUT = {
    "bitmap": ("numpy_bitmap", ".npy"),
    "simplified": ("simplified", ".ndjson"),
    "raw": ("raw", ".ndjson"),
}


@dataclass(frozen=True)
class Settings:
    """Resolved data-layer settings: where to read and write Quick, Draw! files.

    Build one with :func:`get_settings` (which fills what is not given from the environment),
    e.g. ``get_settings(cache_dir="scratch")``; change one field with ``dataclasses.replace``.

    Attributes:
        base_url: bucket URL without a trailing slash.
        data_dir: read-only mirror, or ``None`` when there is none.
        cache_dir: writable cache folder (created on first write).
    """

    base_url: str
    data_dir: Path | None
    cache_dir: Path


def get_settings(
    base_url: str | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Settings:
    """Resolve settings: arguments first, then environment variables, then defaults."""
    url = base_url or os.environ.get("DOODLEKIT_QUICKDRAW_URL") or DEFAULT_BASE_URL
    data = data_dir or os.environ.get("DOODLEKIT_DATA") or None
    cache = cache_dir or os.environ.get("DOODLEKIT_CACHE") or platformdirs.user_cache_dir("doodlekit")
    return Settings(
        base_url=url.rstrip("/"),
        data_dir=Path(data).expanduser() if data else None,
        cache_dir=Path(cache).expanduser(),
    )


def relative_path(category: str, fmt: str) -> str:
    """Path of a category's file inside the bucket, e.g. ``numpy_bitmap/hot dog.npy``."""
    if fmt not in FORMAT_LAYOUT:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    folder, suffix = FORMAT_LAYOUT[fmt]
    return f"{folder}/{category}{suffix}"
