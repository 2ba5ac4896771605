"""HTTP Range downloads with resume, retries and progress.

Internal helpers of :mod:`doodlekit.data.quickdraw`. A :class:`Transfer` is one remote
file; :func:`iter_range` yields bytes ``[start, end)`` of it with ``Range`` requests,
retrying transient failures (5xx, reset or stalled connections) from the byte where
the last try stopped. A server that ignores ``Range`` (``200`` + the whole body) is
read only as far as asked; one that answers a ``Range`` with fewer bytes than asked (an
honest short ``206``) is asked again from where it stopped. Any reply that does not
confirm the range asked (a ``206`` with a matching ``Content-Range``) is read from byte 0.
Files are written through :mod:`doodlekit.data.files`.
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from doodlekit.errors import (
    DataNotFoundError,
    DoodleKitError,
    DownloadError,
    OfflineError,
)

#: Bytes read from the socket per ``read`` call.
CHUNK_BYTES = 16 * 1024
#: Seconds a connect or a read may stall before the try counts as failed (default of
#: ``Settings.timeout`` / ``DOODLEKIT_TIMEOUT``).
TIMEOUT_S = 30.0
#: Extra tries after a transient failure (each resumes where the previous one stopped).
RETRIES = 2
#: Pause before retry ``k`` (0-based) is ``RETRY_BACKOFF_S * 2**k`` seconds.
RETRY_BACKOFF_S = 0.25
#: Smallest ``Range`` asked for when fetching lines (bounds the overshoot of the last request).
MIN_LINE_CHUNK = 512
#: Bytes per line assumed before any line has arrived (below both ndjson formats' mean).
LINE_BYTES_GUESS = 256

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_OFFLINE_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
_OFFLINE_HINT = "to work offline, set DOODLEKIT_DATA (or --data) to a local mirror laid out like the bucket"


class _TransientError(Exception):
    """A failure worth retrying (server hiccup, reset or stalled connection)."""


@dataclass
class Transfer:
    """One remote file being read: its URL, the bytes moved so far and its size once known.

    Attributes:
        url: the file's URL (already percent-encoded).
        bar: progress bar counting bytes moved (disabled when progress is off).
        bytes_moved: response-body bytes read from the network, discarded ones included.
        remote_size: size of the remote file in bytes, once a response told it.
        range_ignored: the server answered a ``Range`` request with the whole body.
        timeout: seconds a connect or read may stall (``None``: :data:`TIMEOUT_S`).
    """

    url: str
    bar: tqdm
    bytes_moved: int = 0
    remote_size: int | None = None
    range_ignored: bool = False
    timeout: float | None = None

    @property
    def timeout_s(self) -> float:
        """The timeout in force, in seconds."""
        return TIMEOUT_S if self.timeout is None else self.timeout


@contextmanager
def transfer(url: str, *, desc: str, progress: bool = True, total: int | None = None,
             timeout: float | None = None) -> Iterator[Transfer]:
    """Open a :class:`Transfer` of ``url`` with a tqdm bar (bytes) named ``desc``."""
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
              leave=False) as bar:
        yield Transfer(url=url, bar=bar, timeout=timeout)


def _bad_header(url: str, name: str, value: str) -> DownloadError:
    return DownloadError(f"{url} sent an unreadable {name} header {value[:80]!r}; the server (or a proxy) "
                         "is broken, try again later or another DOODLEKIT_QUICKDRAW_URL (--url)")


def _header_int(t: Transfer, name: str, value: str | None) -> int | None:
    """A non-negative integer header (e.g. ``Content-Length``), ``None`` when absent."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise _bad_header(t.url, name, value)
    return int(value)


def _content_range(value: str | None, url: str = "the server") -> tuple[int | None, int | None]:
    """Parse ``Content-Range: bytes a-b/size`` (or ``bytes */size``) into ``(a, size)``.

    Raises:
        DownloadError: the header is there but is not of that form.
    """
    if not value:
        return None, None
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*", value)
    if m is None:
        raise _bad_header(url, "Content-Range", value)
    start = None if m[1] is None else int(m[1])
    return start, None if m[3] == "*" else int(m[3])


def _is_offline(reason: object) -> bool:
    """Whether a connection failure means the host cannot be reached at all."""
    return isinstance(reason, socket.gaierror) or (
        isinstance(reason, OSError) and reason.errno in _OFFLINE_ERRNOS
    )


def _open(t: Transfer, start: int, end: int | None) -> http.client.HTTPResponse | None:
    """Send the ``Range`` request for ``[start, end)``; ``None`` when ``start`` is past the end."""
    last = "" if end is None else str(end - 1)
    request = urllib.request.Request(t.url, headers={"Range": f"bytes={start}-{last}", "User-Agent": "doodlekit"})
    try:
        response = urllib.request.urlopen(request, timeout=t.timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416:
            t.remote_size = _content_range(exc.headers.get("Content-Range"), t.url)[1]
            return None
        if exc.code == 404:
            raise DataNotFoundError(f"{t.url} answered 404 Not Found") from None
        message = f"{t.url} answered {exc.code} {exc.reason}"
        if exc.code in _TRANSIENT_STATUS:
            raise _TransientError(message) from None
        raise DownloadError(f"{message}; check DOODLEKIT_QUICKDRAW_URL (or --url), or {_OFFLINE_HINT}") from None
    except urllib.error.URLError as exc:
        if _is_offline(exc.reason):
            host = urlsplit(t.url).netloc
            raise OfflineError(f"cannot reach {host} ({exc.reason}): the network seems down; {_OFFLINE_HINT}") from None
        raise _TransientError(f"cannot connect to {t.url}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _TransientError(f"cannot connect to {t.url}: {exc!r}") from None
    try:
        return _check_reply(t, response, start, end)
    except BaseException:
        response.close()
        raise


def _check_reply(t: Transfer, response: http.client.HTTPResponse, start: int,
                 end: int | None) -> http.client.HTTPResponse:
    """Record what the reply says of the remote file; refuse a ``206`` for another range."""
    if getattr(response, "status", None) == 206:
        got_start, size = _content_range(response.headers.get("Content-Range"), t.url)
        if got_start != start:
            response.close()
            raise DownloadError(f"{t.url} sent bytes from {got_start} when asked from {start}; "
                                "the server mishandles Range requests, try another DOODLEKIT_QUICKDRAW_URL")
        t.remote_size = size if size is not None else t.remote_size
    else:
        t.range_ignored = start > 0 or end is not None
        length = _header_int(t, "Content-Length", response.headers.get("Content-Length"))
        t.remote_size = length if length is not None else t.remote_size
    return response


def _read_body(t: Transfer, response: http.client.HTTPResponse, start: int, end: int | None) -> Iterator[bytes]:
    """Yield the body of one response from remote byte ``start`` up to ``end``."""
    expected = _header_int(t, "Content-Length", response.headers.get("Content-Length"))
    received = 0
    # Only a 206 (checked by _check_reply) starts at ``start``; anything else (200, or a
    # status-less reply such as a file: URL's) is the whole file from byte 0.
    skip = 0 if getattr(response, "status", None) == 206 else start
    pos = start
    while end is None or pos < end:
        if skip:
            data = response.read(min(CHUNK_BYTES, skip))
        else:
            data = response.read(CHUNK_BYTES if end is None else min(CHUNK_BYTES, end - pos))
        if not data:
            if expected is not None and received < expected:
                raise _TransientError(f"connection closed after {received} of {expected} bytes")
            if skip:  # a whole "file" that ends before the byte asked from: not the file we are reading
                raise DownloadError(
                    f"{t.url} answered a request for the bytes from {start} with a whole body of only {received} "
                    "bytes (a proxy's or login page, or the file changed on the server); nothing of it was kept. "
                    "Try again later, or another DOODLEKIT_QUICKDRAW_URL (--url)"
                )
            return
        received += len(data)
        t.bytes_moved += len(data)
        t.bar.update(len(data))
        if skip:
            skip -= len(data)
            continue
        pos += len(data)
        yield data


def iter_range(t: Transfer, start: int, end: int | None = None) -> Iterator[bytes]:
    """Yield bytes ``[start, end)`` of the remote file (to its end when ``end`` is None).

    Stops early, without error, where the remote file ends. Transient failures are
    retried :data:`RETRIES` times, each resuming from the first byte not yet yielded.

    Raises:
        DataNotFoundError: the server answered 404.
        OfflineError: the host could not be reached at all (refused, DNS, no route).
        DownloadError: a non-transient HTTP error, or transient ones that outlasted the retries.
    """
    pos = start
    failures = 0
    while True:
        try:
            response = _open(t, pos, end)
            if response is None:
                return
            with response:
                asked_from = pos
                for data in _read_body(t, response, pos, end):
                    pos += len(data)
                    yield data
                short = getattr(response, "status", None) == 206 and pos > asked_from
            limits = [x for x in (end, t.remote_size) if x is not None]
            if short and (not limits or pos < min(limits)):
                continue  # an honest short 206: ask for the rest (each answer moved us on, so this ends)
            return
        except DoodleKitError:
            raise
        except (_TransientError, OSError, http.client.HTTPException) as exc:
            failures += 1
            if failures > RETRIES:
                raise DownloadError(_failure_message(t, exc, start, pos)) from None
            time.sleep(RETRY_BACKOFF_S * 2 ** (failures - 1))


def _failure_message(t: Transfer, exc: BaseException, start: int, pos: int) -> str:
    """Why the last try failed, how much arrived and what to do."""
    arrived = (f"{pos - start} bytes of the range from byte {start} arrived and nothing partial was kept")
    timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
    if timed_out:
        return (f"downloading {t.url} timed out: the server sent nothing for {t.timeout_s:g} s, "
                f"{RETRIES + 1} tries in a row; {arrived}. To wait longer, set DOODLEKIT_TIMEOUT (seconds, "
                f"now {t.timeout_s:g}) or Settings.timeout; or try again later, or {_OFFLINE_HINT}")
    return (f"downloading {t.url} failed after {RETRIES + 1} tries ({exc}); {arrived}. "
            f"Try again later, or {_OFFLINE_HINT}")


def copy_range(t: Transfer, start: int, end: int, sink: BinaryIO) -> None:
    """Write remote bytes ``[start, end)`` to ``sink``.

    Raises:
        DownloadError: the remote file ends before ``end`` (besides :func:`iter_range`'s errors).
    """
    pos = start
    for data in iter_range(t, start, end):
        sink.write(data)
        pos += len(data)
    if pos < end:
        raise DownloadError(f"{t.url} ended at byte {pos}, before byte {end} that its header promises; "
                            "the remote file is truncated, try another DOODLEKIT_QUICKDRAW_URL")


def copy_lines(t: Transfer, start: int, n: int | None, sink: BinaryIO,
               line_bytes: float | None = None) -> tuple[int, bool]:
    """Write whole lines of the remote file from byte ``start`` to ``sink``: ``n`` of them, or all.

    Bytes come in ``Range`` chunks sized by :func:`_line_chunk` from the mean line length
    (``line_bytes`` at first when given, e.g. from the cache; then the lines seen), so the
    bytes moved exceed the bytes kept by a few percent for a few dozen lines or more.

    Returns:
        ``(lines, eof)``: lines written; True when the remote file's end was reached.
    """
    pos, lines, written = start, 0, 0
    pending = bytearray()
    eof = False
    while n is None or lines < n:
        if t.remote_size is not None and pos >= t.remote_size:
            eof = True
            break
        end = None
        if n is not None and not t.range_ignored:
            if lines:
                known, per_line = lines, written / lines
            else:
                known, per_line = (10, line_bytes) if line_bytes else (0, 0.0 if pending else LINE_BYTES_GUESS)
            end = pos + _line_chunk(n - lines, known, per_line, len(pending))
        asked_from = pos
        for data in iter_range(t, pos, end):
            pos += len(data)
            pending += data
            cut = _cut_after_lines(pending, None if n is None else n - lines)
            if cut:
                sink.write(pending[:cut])
                lines += pending.count(b"\n", 0, cut)
                written += cut
                del pending[:cut]
            if n is not None and lines >= n:
                break
        if end is None or pos < end or pos == asked_from:
            eof = n is None or lines < n
            break
    if eof and pending:
        sink.write(pending)
        lines += 1
    return lines, eof


def _line_chunk(left: int, known: int, per_line: float, pending: int) -> int:
    """Bytes to ask for next when ``left`` more lines are needed and ``pending`` bytes of them are held.

    ``per_line`` is the mean length of ``known`` lines; with ``known`` 0 it is a low guess,
    or 0 once part of the first line is held (the request then doubles what is held).
    The share asked of the expected need, ``1 - 2 * sqrt(1/known + 1/left)`` clipped to
    [0.3, 0.9], shrinks with the relative spread of that expectation, so the last request
    rarely overshoots much; a line far longer than the mean grows by half of what is held.
    """
    spread = (1 / known + 1 / left) ** 0.5 if known else 0.0
    share = min(0.9, max(0.3, 1 - 2 * spread))
    return max(MIN_LINE_CHUNK, int(share * (left * per_line - pending)), pending // 2 if known else pending)


def _cut_after_lines(buf: bytearray, n: int | None) -> int:
    """Length of the prefix of ``buf`` holding its first ``n`` whole lines (all when None)."""
    if n is None or buf.count(b"\n") <= n:
        return buf.rfind(b"\n") + 1
    cut = 0
    for _ in range(n):
        cut = buf.index(b"\n", cut) + 1
    return cut
