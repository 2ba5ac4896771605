"""Where data comes from: the three settings of the data layer.

=========================  =========================================================
environment variable       meaning
=========================  =========================================================
``DOODLEKIT_QUICKDRAW_URL`` base URL of the dataset bucket (default: Google's public one)
``DOODLEKIT_DATA``          a read-only local mirror laid out like the bucket
``DOODLEKIT_CACHE``         a writable cache (default: the platform's user cache dir)
``DOODLEKIT_TIMEOUT``       seconds a download may wait for the server before a try fails
                           (default 30; each file gets 3 tries)
=========================  =========================================================

:func:`get_settings` resolves them into one :class:`Settings`. Every function and dataset
that reads data takes it as ``settings=`` (``None``: :func:`get_settings` from the
environment, resolved once per call), and so do :func:`~doodlekit.model.training.train_variant`
and :func:`~doodlekit.experiments.reproduce.run`. Files are looked for in the mirror, then
the cache, then downloaded into the cache.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from doodlekit.errors import SettingsError

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
        timeout: seconds a connect or a read may wait for the server before the try fails
            (``None``: the default, :data:`doodlekit.data.http.TIMEOUT_S`, 30 s).
    """

    base_url: str
    data_dir: Path | None
    cache_dir: Path
    timeout: float | None = None


def _check_url(url: str) -> str:
    """``url`` without its trailing slash, when it is an ``http(s)://host/...`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "file" or (not parts.scheme and "://" not in url and os.path.isdir(os.path.expanduser(url))):
        raise SettingsError(
            f"the bucket URL {url!r} (--url / DOODLEKIT_QUICKDRAW_URL) is a local folder; doodlekit downloads only "
            "over http(s). Point DOODLEKIT_DATA (or --data) at the folder instead: it is read in place, "
            "without copies, and must be laid out like the bucket (numpy_bitmap/cat.npy, simplified/cat.ndjson)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"the bucket URL {url!r} (--url / DOODLEKIT_QUICKDRAW_URL) is not an http(s) URL with a host; "
            f"use e.g. {DEFAULT_BASE_URL}, or unset it for that default"
        )
    return url.rstrip("/")


def _check_timeout(value: str | float) -> float:
    """A positive, finite number of seconds."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise SettingsError(
            f"the download timeout {value!r} (DOODLEKIT_TIMEOUT / Settings.timeout) is not a positive number "
            "of seconds; use e.g. DOODLEKIT_TIMEOUT=60"
        )
    return seconds


def get_settings(
    base_url: str | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> Settings:
    """Resolve settings: arguments first, then environment variables, then defaults.

    Raises:
        SettingsError: the URL is not ``http(s)://host...`` (a ``file:`` URL or a folder points
            to DOODLEKIT_DATA instead), or the timeout is not a positive number of seconds.
    """
    url = base_url or os.environ.get("DOODLEKIT_QUICKDRAW_URL") or DEFAULT_BASE_URL
    seconds = timeout if timeout is not None else (os.environ.get("DOODLEKIT_TIMEOUT") or None)
    data = data_dir or os.environ.get("DOODLEKIT_DATA") or None
    cache = cache_dir or os.environ.get("DOODLEKIT_CACHE") or platformdirs.user_cache_dir("doodlekit")
    return Settings(
        base_url=_check_url(url),
        data_dir=Path(data).expanduser() if data else None,
        cache_dir=Path(cache).expanduser(),
        timeout=None if seconds is None else _check_timeout(seconds),
    )


def relative_path(category: str, fmt: str) -> str:
    """Path of a category's file inside the bucket, e.g. ``numpy_bitmap/hot dog.npy``."""
    if fmt not in FORMAT_LAYOUT:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    folder, suffix = FORMAT_LAYOUT[fmt]
    return f"{folder}/{category}{suffix}"
