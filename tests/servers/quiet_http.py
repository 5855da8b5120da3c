# Licensed under a 3-clause BSD style license - see LICENSE
"""The base of the test servers: a threaded HTTP server on 127.0.0.1 that keeps quiet.

Every stand-in of ``tests/servers/`` (`fault_server`, `hostile_server`,
`irsa_standin`) and the small servers written inside tests build on it:

- `QuietHandler`: a request handler that does not log each request to
  stderr (subclass it, with the ``do_GET``/``do_POST`` of the server);
- `QuietHTTPServer`: a `~http.server.ThreadingHTTPServer` (daemon threads,
  address reuse) that does not print a traceback when a client hangs up
  during an answer (an `OSError`: expected of clients that give up); any
  other error is printed as before;
- `QuietServer`: such a server listening on a free port of 127.0.0.1 from
  its construction (``port`` and `QuietServer.url` are known before it
  serves), serving in a daemon thread once started, closed by
  `QuietServer.close` or at the end of a ``with`` block.

Example::

    class Hello(QuietHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

    with QuietServer(Hello) as server:
        requests.get(server.url("/hello"))
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["QuietHTTPServer", "QuietHandler", "QuietServer"]


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that writes no log line per request."""

    def log_message(self, format, *args):  # quiet
        pass


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that ignores clients hanging up mid-answer."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a client that gave up (its timeout, its deadline) breaks the answer
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class QuietServer:
    """A `QuietHTTPServer` on a free port of 127.0.0.1, served in a daemon thread.

    Parameters
    ----------
    handler : type
        The request handler class (a `QuietHandler`, usually).
    owner : object, optional
        Set as the server's ``owner`` attribute, for the handlers
        (``self.server.owner``).
    server_class : type, optional
        The server class (`QuietHTTPServer` or a subclass of it).
    poll_interval : float, optional
        Seconds between the checks of ``serve_forever`` for a shutdown.
    """

    def __init__(
        self, handler, *, owner=None, server_class=QuietHTTPServer, poll_interval=0.5
    ):
        self.httpd = server_class(("127.0.0.1", 0), handler)
        self.httpd.owner = owner
        self.port = self.httpd.server_address[1]
        self.poll_interval = poll_interval
        self.thread = None
        self._closed = False

    def url(self, path="", *, host="127.0.0.1", scheme="http"):
        """Return ``scheme://host:port`` followed by ``path``, as given."""
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self):
        """Serve in a daemon thread; returns self."""
        self.thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            daemon=True,
        )
        self.thread.start()
        return self

    def close(self, timeout=None):
        """Stop serving, close the socket and wait ``timeout`` s for the thread.

        Closing twice does nothing more.
        """
        if self._closed:
            return
        self._closed = True
        if self.thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
