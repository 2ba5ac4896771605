"""A loopback HTTP server that stands in for the Quick, Draw! bucket in tests and benchmarks.

It serves a folder laid out like the bucket (percent-encoded paths), speaks ``Range``
(``206`` + ``Content-Range``, ``416`` past the end), counts the body bytes it sends and
logs every request. It can be told to misbehave for the next requests:

- ``"reset"``: send half the body, then reset the connection (TCP RST);
- ``"500"``: answer 500 Internal Server Error;
- ``"404"``: answer 404 Not Found;
- ``"ignore_range"``: answer 200 with the whole file whatever ``Range`` says;
- ``"slow"``: send the body in 1 KiB pieces, ``delay`` seconds apart;
- ``"short"``: answer a ``Range`` with at most :data:`SHORT_BYTES` bytes, honestly
  (``206`` + a ``Content-Range`` for what is sent), as some servers and proxies do;
- ``"bad_length"`` / ``"bad_range"``: send a non-numeric ``Content-Length`` / ``Content-Range``;
- ``"long"``: answer a ``Range`` with up to :data:`SHORT_BYTES` bytes more than asked, honestly;
- ``"wrong_range"``: answer a ``Range`` with the bytes from one byte later, honestly (``Content-Range`` says so);
- ``"html"``: answer 200 with a small HTML page whatever was asked (a proxy's or captive portal's page);
- ``"garbage"``: send the bytes asked with the right headers, each replaced by ``0xff`` (not UTF-8).

:meth:`MirrorServer.script` sets a different mode (or none) for each of the next requests.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

MODES = ("reset", "500", "404", "ignore_range", "slow", "short", "bad_length", "bad_range", "long", "wrong_range",
         "html", "garbage")
#: The body of an ``"html"`` reply.
HTML_PAGE = b"<!DOCTYPE html>\n<html><body><h1>Proxy error</h1><p>Please sign in.</p></body></html>\n"
#: Most bytes a ``"short"`` reply sends.
SHORT_BYTES = 4096
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One request the server answered: URL path (decoded), ``Range`` header, status."""

    path: str
    range: str | None
    status: int


class MirrorServer:
    """Serve ``root`` on ``127.0.0.1`` at a free port; use as a context manager.

    Attributes:
        url: base URL, e.g. ``http://127.0.0.1:54321``.
        bytes_sent: response-body bytes handed to sockets so far (counted before each write,
            so a client never sees a byte not yet counted).
        requests: every request answered, in order.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.bytes_sent = 0
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._mode: str | None = None
        self._times: int | None = None
        self._delay = 0.0
        self._script: list[str | None] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="http-mirror", daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "MirrorServer":
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def misbehave(self, mode: str | None, times: int | None = None, delay: float = 0.05) -> None:
        """Misbehave as ``mode`` for the next ``times`` requests (all when None); ``None`` behaves."""
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
        with self._lock:
            self._mode, self._times, self._delay = mode, times, delay

    def script(self, modes: list[str | None]) -> None:
        """Misbehave as ``modes[k]`` for the ``k``-th next request (``None``: behave), then as :meth:`misbehave` said."""
        unknown = [mode for mode in modes if mode is not None and mode not in MODES]
        if unknown:
            raise ValueError(f"unknown modes {unknown}; use some of {MODES}")
        with self._lock:
            self._script = list(modes)

    def reset_counters(self) -> None:
        """Forget the bytes sent and the requests logged so far."""
        with self._lock:
            self.bytes_sent = 0
            self.requests.clear()

    def _take_mode(self) -> tuple[str | None, float]:
        with self._lock:
            if self._script:
                return self._script.pop(0), self._delay
            mode = self._mode
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._mode, self._times = None, None
            return mode, self._delay

    def _log(self, path: str, range_header: str | None, status: int) -> None:
        with self._lock:
            self.requests.append(Request(path, range_header, status))

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n


def _handler_class(server: MirrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path).lstrip("/")
            range_header = self.headers.get("Range")
            mode, delay = server._take_mode()
            target = (server.root / path).resolve()
            if mode in ("404", "500") or not target.is_file() or server.root not in target.parents:
                status = 500 if mode == "500" else 404
                server._log(path, range_header, status)
                self.send_error(status)
                return
            if mode == "html":
                server._log(path, range_header, 200)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(HTML_PAGE)))
                self.end_headers()
                server._count(len(HTML_PAGE))
                self.wfile.write(HTML_PAGE)
                return
            size = target.stat().st_size
            start, end = 0, size
            match = _RANGE.match(range_header or "")
            status = 200
            if match and mode != "ignore_range":
                start = int(match[1])
                end = min(size, int(match[2]) + 1) if match[2] else size
                if mode == "short":
                    end = min(end, start + SHORT_BYTES)
                elif mode == "long":
                    end = min(size, end + SHORT_BYTES)
                elif mode == "wrong_range":
                    start, end = min(start + 1, size), min(end + 1, size)
                if start >= size:
                    server._log(path, range_header, 416)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            server._log(path, range_header, status)
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", "lots" if mode == "bad_length" else str(end - start))
            if status == 206:
                self.send_header("Content-Range", "bytes a-b/c" if mode == "bad_range"
                                 else f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            stop = start + (end - start) // 2 if mode == "reset" else end
            piece = 1024 if mode == "slow" else 64 * 1024
            try:
                with open(target, "rb") as fh:
                    fh.seek(start)
                    pos = start
                    while pos < stop:
                        data = fh.read(min(piece, stop - pos))
                        if mode == "slow":
                            time.sleep(delay)
                        elif mode == "garbage":
                            data = b"\xff" * len(data)
                        server._count(len(data))
                        self.wfile.write(data)
                        pos += len(data)
                if mode == "reset":
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
