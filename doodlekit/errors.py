"""Exceptions raised by doodlekit.

Every error says what went wrong and what to do about it. All derive from
:class:`DoodleKitError`, so ``except DoodleKitError`` catches any of them.
"""

from __future__ import annotations


class DoodleKitError(Exception):
    """Base class of every doodlekit error."""


class UnknownCategoryError(DoodleKitError, ValueError):
    """A category name that is not one of the 345 official Quick, Draw! names."""


class DataNotFoundError(DoodleKitError, FileNotFoundError):
    """A data file that is in none of the places looked in (mirror, cache, server)."""


class DownloadError(DoodleKitError, OSError):
    """A download that failed (server error, reset connection, bad reply)."""


class OfflineError(DownloadError):
    """No network: the server could not be reached at all."""


class CacheFolderError(DoodleKitError, OSError):
    """A cache folder (or file in it) that cannot be written or read: read-only, a file, a folder in a file's place."""


class CorruptFileError(DoodleKitError, ValueError):
    """A data or cache file whose contents are not what its format promises."""


class SettingsError(DoodleKitError, ValueError):
    """A data-layer setting (URL, folder, timeout) that cannot work, e.g. ``--url notaurl``."""


class VectorSourceError(DoodleKitError, ValueError):
    """A word-vector source spec that cannot be resolved or loaded."""


class LabelVectorError(DoodleKitError, KeyError):
    """Category names for which no label vector can be built from a source."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointMismatchError(DoodleKitError, ValueError):
    """A checkpoint made for other categories, other vectors or another model."""


class OutputExistsError(DoodleKitError, FileExistsError):
    """An output folder that holds something other than an unfinished run of the same configuration."""


class RunConfigError(DoodleKitError, ValueError):
    """Arguments of a reproduce run that do not fit together (e.g. held-out names not among the categories)."""
