# Licensed under a 3-clause BSD style license - see LICENSE
"""A hostile VO service on 127.0.0.1, for the tests of bounded VO queries.

`HostileServer` listens on a free port of 127.0.0.1 and answers every request
to a path (any method, query string ignored) with the behaviour set for it
by `HostileServer.route`:

- ``("body", data, headers)``: a normal answer (``Content-Length``);
- ``("status", code, data, headers)``: the same with another HTTP status;
- ``("gzip_bomb", decoded_bytes)``: a small gzip body (``Content-Encoding:
  gzip``) that decodes to ``decoded_bytes`` zero bytes;
- ``("huge", size)``: ``size`` bytes sent as fast as the client reads them,
  without ``Content-Length`` (the end is the closed connection);
- ``("drip", data, seconds)``: the headers at once (with the right
  ``Content-Length``), then the body one byte every ``seconds``;
- ``("headers_forever", seconds)``: the status line, then a header line
  that grows by one byte every ``seconds`` and never ends;
- ``("redirect", location, status)``: a redirect (e.g. 303, as UWS does);
- ``("redirect_bomb", location, decoded_bytes)``: a 303 whose body is a
  gzip bomb;
- ``("silent",)``: the request is read, and never answered (the connection
  stays open until the server stops).

Every request is logged (`log`: method and path). Run it as a script to
serve one behaviour on every path (for ``benchmarks/hostile_vo.py``)::

    python tests/servers/hostile_server.py gzip_bomb 1073741824
    python tests/servers/hostile_server.py drip 100 1.0

which prints ``PORT <n>`` once listening.
"""

import argparse
import threading
import time
import zlib
from urllib.parse import urlsplit

from quiet_http import QuietHandler, QuietServer

__all__ = ["HostileServer", "gzip_of_zeros"]


def gzip_of_zeros(size):
    """A gzip member of ``size`` zero bytes (about ``size / 1030`` bytes long)."""
    encoder = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = []
    left = size
    while left:
        step = min(left, len(block))
        parts.append(encoder.compress(block[:step]))
        left -= step
    parts.append(encoder.flush())
    return b"".join(parts)


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HostileVO/1.0"

    def do_GET(self):
        self._answer()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._answer()

    def do_DELETE(self):
        self._answer()

    def _answer(self):
        owner = self.server.owner
        path = urlsplit(self.path).path
        owner.log.append((self.command, path))
        behaviour = owner.routes.get(path, owner.default)
        if behaviour is None:
            self._send(404, b"no such path\n", {"Content-Type": "text/plain"})
            return
        kind, *args = behaviour
        getattr(self, "_" + kind)(*args)

    def _send(self, status, data, headers):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self, data, headers=None):
        self._send(200, data, {"Content-Type": "text/xml", **(headers or {})})

    def _status(self, code, data, headers=None):
        self._send(code, data, {"Content-Type": "text/xml", **(headers or {})})

    def _redirect(self, location, status=303):
        self._send(status, b"", {"Location": location})

    def _redirect_bomb(self, location, decoded_bytes):
        data = self.server.owner.bomb(decoded_bytes)
        self._send(
            303,
            data,
            {
                "Location": location,
                "Content-Type": "text/html",
                "Content-Encoding": "gzip",
            },
        )

    def _gzip_bomb(self, decoded_bytes):
        data = self.server.owner.bomb(decoded_bytes)
        self._send(200, data, {"Content-Type": "text/xml", "Content-Encoding": "gzip"})

    def _huge(self, size):
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = b"<" * (1 << 20)
        left = size
        while left > 0 and not self.server.owner.stopping.is_set():
            self.wfile.write(block[: min(left, len(block))])
            left -= len(block)

    def _drip(self, data, seconds):
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        for i in range(len(data)):
            if self.server.owner.stopping.wait(seconds):
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()

    def _silent(self):
        self.server.owner.stopping.wait()
        self.close_connection = True

    def _headers_forever(self, seconds):
        # one header line, one byte every ``seconds``: within every limit of
        # http.client (100 headers, 64 kB a line) for hours
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Still-Coming: ")
        self.wfile.flush()
        while not self.server.owner.stopping.wait(seconds):
            self.wfile.write(b"a")
            self.wfile.flush()
        self.close_connection = True


class HostileServer:
    """A local HTTP server whose answers break the rules on purpose.

    Parameters
    ----------
    routes : dict, optional
        Path -> behaviour (see the module's description).
    default : tuple, optional
        Behaviour of the paths without a route (default: 404).
    """

    def __init__(self, routes=None, *, default=None):
        self.routes = dict(routes or {})
        self.default = default
        self.log = []
        self.stopping = threading.Event()
        self._bombs = {}
        self._server = None

    def bomb(self, decoded_bytes):
        """The gzip body of a bomb (made once per size)."""
        if decoded_bytes not in self._bombs:
            self._bombs[decoded_bytes] = gzip_of_zeros(decoded_bytes)
        return self._bombs[decoded_bytes]

    def route(self, path, behaviour):
        """Answer ``path`` with ``behaviour`` from now on."""
        self.routes[path] = behaviour

    def url(self, path=""):
        """The URL of ``path`` on this server."""
        return self._server.url(path)

    def start(self):
        self._server = QuietServer(_Handler, owner=self).start()
        self.port = self._server.port
        return self

    def stop(self):
        self.stopping.set()
        self._server.close(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("gzip_bomb", "drip", "headers_forever"))
    parser.add_argument("args", nargs="*", type=float)
    args = parser.parse_args(argv)
    if args.kind == "gzip_bomb":
        behaviour = ("gzip_bomb", int(args.args[0]))
    elif args.kind == "drip":
        behaviour = ("drip", b"<" * int(args.args[0]), args.args[1])
    else:
        behaviour = ("headers_forever", args.args[0])
    server = HostileServer(default=behaviour).start()
    if args.kind == "gzip_bomb":
        server.bomb(behaviour[1])
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
