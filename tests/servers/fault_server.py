# Licensed under a 3-clause BSD style license - see LICENSE
"""A local HTTP server for the retrieval tests: serves files, injects faults.

`FaultServer` listens on 127.0.0.1 only (a free port), serves files from
memory (``bytes``) or from disk (`~pathlib.Path`, sent with ``sendfile``),
answers ``Range`` requests (206), keeps connections alive (HTTP/1.1), speaks
HTTPS when given an `ssl.SSLContext`, and injects faults on demand:

- scripted, per path: ``server.script("a.fits", [("status", 500), "ok"])``
  -- one fault per request, in order, then normal answers;
- at random: ``server.chaos(seed, rate, kinds)`` -- each request gets a fault
  drawn from ``kinds`` with probability ``rate``.

Faults: ``("status", code)``, ``("retry_after", code, value)`` (a 429/503
with a ``Retry-After`` header), ``("reset", fraction)`` (send that fraction of
the body, then reset the connection), ``("short", fraction)`` (send that
fraction, then close cleanly: a body shorter than its ``Content-Length``),
``("slow", seconds)`` (wait before answering), ``("stall", seconds)`` (send
half the body, then wait), ``("html",)`` (a 200 error page instead of the
file), ``("norange",)`` (ignore the ``Range`` header), ``("length", n)``
(announce ``Content-Length: n`` and send nothing), ``("gzip",)`` (a
gzip-encoded body, although the client asked for ``identity``),
``("trickle", seconds)`` (announce the whole body, then send one byte every
``seconds``: a server that never times a socket out, and never ends),
``("headers_forever", seconds)`` (send the status line, then one header byte
every ``seconds``, never ending the headers), ``("redirect", location,
status)`` (answer ``status``, e.g. 302, with ``Location: location``, as is:
relative or absolute, any scheme; the path need not be a file),
``("hangup",)`` (send the whole file on a kept-alive connection, then close
it: a server whose idle connections time out between two requests).

Every request is logged (`requests`: path, time, Range, status, request line,
headers, the client's address: one per connection), connections are counted
as they are accepted (`connections`: the TLS handshake, if any, comes after),
and the largest number of requests waiting for their answer at once is kept
(`max_active`: from a request's arrival until its answer starts).
A request for an absolute URI (``GET http://host/a.fits``, as sent to a
proxy) is answered with the file of its path, so the server doubles as a
recording HTTP proxy.

Run it as a script to serve a folder (for the benchmark)::

    python tests/servers/fault_server.py ROOT [--latency SECONDS]

which prints ``PORT <n>`` on stdout once listening.
"""

import argparse
import gzip
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlparse

from quiet_http import QuietHandler, QuietHTTPServer, QuietServer

__all__ = ["FaultServer", "Request"]

HTML = b"<html><body><h1>Service temporarily unavailable</h1></body></html>\n"


@dataclass
class Request:
    """One request the server received."""

    path: str
    time: float
    range: str | None
    status: int = 0
    fault: object = None
    line: str = ""
    headers: object = None  # an email.message.Message: case-insensitive
    client: tuple = ()


class _Server(QuietHTTPServer):
    request_queue_size = 128


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FaultServer/1.0"

    def setup(self):
        owner = self.server.owner
        with owner._lock:
            owner.connections += 1
        if owner.ssl_context is not None:  # handshake here, not in the accept loop
            self.request = owner.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        super().finish()
        if self.server.owner.ssl_context is not None:
            self.request.close()  # the TLS socket: the server closes the plain one

    def do_GET(self):
        owner = self.server.owner
        path = unquote(urlparse(self.path).path).lstrip("/")
        entry = Request(
            path,
            time.monotonic(),
            self.headers.get("Range"),
            line=self.requestline,
            headers=self.headers,
            client=tuple(self.client_address),
        )
        fault = owner._next_fault(path)
        entry.fault = fault
        with owner._lock:
            owner.requests.append(entry)
            owner.active += 1
            owner.max_active = max(owner.max_active, owner.active)
        try:
            if owner.latency:
                time.sleep(owner.latency)
        finally:
            # A request stops counting before any byte of its answer is sent:
            # the client, which holds its slot until it has read the whole
            # answer, may otherwise start its next request before this thread
            # gets here, and one client request would count twice.
            with owner._lock:
                owner.active -= 1
        self._answer(owner, path, fault, entry)

    def _send_status(self, entry, code, body=b"", headers=()):
        entry.status = code
        self.send_response(code)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, owner, path, fault, entry):
        kind = fault[0] if fault else "ok"
        if kind == "redirect":
            _, location, code = fault
            self._send_status(entry, code, b"moved\n", [("Location", location)])
            return
        data = owner._data(path)
        if data is None:
            self._send_status(entry, 404, b"not found\n")
            return
        if kind == "status":
            self._send_status(entry, fault[1], b"error\n")
            return
        if kind == "retry_after":
            self._send_status(entry, fault[1], b"later\n", [("Retry-After", fault[2])])
            return
        if kind == "slow":
            time.sleep(fault[1])
        if kind == "html":
            self._send_status(entry, 200, HTML, [("Content-Type", "text/html")])
            return
        if kind == "gzip":  # encoded although the client asked for identity
            raw = data if isinstance(data, bytes) else data.read_bytes()
            self._send_status(
                entry, 200, gzip.compress(raw), [("Content-Encoding", "gzip")]
            )
            return
        if kind == "trickle":
            self._trickle(entry, data, fault[1], headers_only=False)
            return
        if kind == "headers_forever":
            self._trickle(entry, data, fault[1], headers_only=True)
            return
        if kind == "length":
            entry.status = 200
            self.send_response(200)
            self.send_header("Content-Length", str(fault[1]))
            self.end_headers()
            self.wfile.flush()
            self._close(reset=False)
            return
        size = len(data) if isinstance(data, bytes) else data.stat().st_size
        start = 0
        wanted = self.headers.get("Range")
        if wanted and owner.ranges and kind != "norange":
            try:
                unit, spec = wanted.split("=", 1)
                start = int(spec.split("-", 1)[0])
                assert unit == "bytes"
            except (ValueError, AssertionError):
                start = -1
            if not 0 <= start < size:
                self._send_status(
                    entry, 416, b"", [("Content-Range", f"bytes */{size}")]
                )
                return
        entry.status = 206 if start else 200
        self.send_response(entry.status)
        self.send_header("Content-Type", "application/fits")
        self.send_header("Accept-Ranges", "bytes" if owner.ranges else "none")
        self.send_header("Content-Length", str(size - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.end_headers()
        count = size - start
        if kind in ("reset", "short", "stall"):
            fraction = 0.5 if kind == "stall" else fault[1]
            count = int(count * fraction)
        self._send_body(data, start, count)
        if kind == "stall":
            time.sleep(fault[1])
            self._close(reset=False)
        elif kind in ("reset", "short", "hangup"):
            self._close(reset=kind == "reset")

    def _trickle(self, entry, data, interval, *, headers_only):
        """One byte every ``interval`` seconds until the client goes away."""
        entry.status = 200
        size = len(data) if isinstance(data, bytes) else data.stat().st_size
        if headers_only:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            byte = b"a"
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            byte = b"S"
        self.close_connection = True
        stop = self.server.owner._stopping
        try:
            while not stop.is_set():
                self.wfile.write(byte)
                self.wfile.flush()
                stop.wait(interval)
        except OSError:  # the client gave up: what is expected
            pass

    def _send_body(self, data, start, count):
        if count <= 0:
            self.wfile.flush()
            return
        if isinstance(data, bytes):
            self.wfile.write(data[start : start + count])
            self.wfile.flush()
            return
        self.wfile.flush()
        with open(data, "rb") as fh:
            self.connection.sendfile(fh, start, count)

    def _close(self, *, reset):
        self.wfile.flush()
        self.close_connection = True
        if reset:  # RST instead of FIN
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
        else:
            self.connection.shutdown(socket.SHUT_WR)


class FaultServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 that serves files and injects faults.

    Parameters
    ----------
    files : dict of str to bytes or `~pathlib.Path`, optional
        URL path (no leading slash) to content.
    root : `~pathlib.Path`, optional
        Serve any file under this folder too (paths relative to it).
    latency : float, optional
        Seconds added before every answer.
    ranges : bool, optional
        Whether ``Range`` requests are answered (206).
    ssl_context : `ssl.SSLContext`, optional
        Serve HTTPS with this server-side context (its certificate and key
        loaded); plain HTTP by default.
    """

    def __init__(
        self, files=None, *, root=None, latency=0.0, ranges=True, ssl_context=None
    ):
        self.files = dict(files or {})
        self.root = None if root is None else Path(root).resolve()
        self.latency = latency
        self.ranges = ranges
        self.ssl_context = ssl_context
        self.requests = []
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self._scripts = {}
        self._chaos = None
        self._stopping = threading.Event()
        self._quiet = QuietServer(
            _Handler, owner=self, server_class=_Server, poll_interval=0.05
        )
        self.port = self._quiet.port

    # -- content
    def _data(self, path):
        if path in self.files:
            return self.files[path]
        if self.root is not None:
            candidate = (self.root / path).resolve()
            if candidate.is_file() and self.root in candidate.parents:
                return candidate
        return None

    def url(self, path, *, host="127.0.0.1"):
        """Return the URL of ``path`` on this server (``host``: a name of 127.0.0.1)."""
        scheme = "http" if self.ssl_context is None else "https"
        return self._quiet.url(f"/{path}", host=host, scheme=scheme)

    # -- faults
    def script(self, path, faults):
        """Answer the next requests for ``path`` with these faults ("ok": none)."""
        with self._lock:
            self._scripts[path] = [None if f == "ok" else f for f in faults]

    def chaos(self, seed, rate, kinds):
        """Inject a fault drawn from ``kinds`` into a request with probability rate."""
        self._chaos = (random.Random(seed), rate, list(kinds))

    def _next_fault(self, path):
        with self._lock:
            script = self._scripts.get(path)
            if script:
                return script.pop(0)
            if self._chaos is not None:
                rng, rate, kinds = self._chaos
                if rng.random() < rate:
                    return kinds[rng.randrange(len(kinds))]
        return None

    def requests_for(self, path):
        """Return the requests received for ``path``, in order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- life
    def start(self):
        """Serve in a daemon thread; returns self."""
        self._quiet.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        self._stopping.set()
        self._quiet.close(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def http_date(seconds_from_now):
    """An HTTP date (for ``Retry-After``) this many seconds from now."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)


def main(argv=None):
    """Serve a folder until stdin closes or the process is stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=600.0, help="stop after")
    args = parser.parse_args(argv)
    server = FaultServer(root=args.root, latency=args.latency).start()
    print(f"PORT {server.port}", flush=True)
    try:
        time.sleep(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
