# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP session of each download thread, and the deadline of each request.

`session` gives every thread its own `requests.Session` (TLS verification
always on; connections kept alive), whose connections report their sockets
to the request under way, so that a watchdog thread can shut a request down
when its deadline (`watching`) passes: a server that sends one byte a
second, or headers that never end, is given up on in time, which a socket
timeout alone cannot do.
"""

import contextlib
import os
import platform
import socket
import threading
import time
from urllib.parse import urlparse

__all__ = ["Deadline", "host_settings", "session", "user_agent", "watching"]

_local = threading.local()


class Deadline:
    """One request's deadline; the watchdog shuts its sockets when it passes.

    Parameters
    ----------
    deadline : float
        `time.monotonic` time by which the request must be over.

    Attributes
    ----------
    seconds : float
        The time the request was given, from its start.
    expired : bool
        Whether the watchdog cut the request.
    """

    def __init__(self, deadline):
        self.deadline = deadline
        self.seconds = max(deadline - time.monotonic(), 0.0)
        self.expired = False
        self._done = False
        self._sockets = []
        self._lock = threading.Lock()

    def add_socket(self, sock):
        """Shut ``sock`` down if the deadline passes (at once if it has)."""
        with self._lock:
            if self.expired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def expire(self):
        """Mark the request expired and shut its sockets down."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self):
        """End the watch: nothing is shut down any more."""
        with self._lock:
            self._done = True
            self._sockets.clear()

    def left(self):
        """Return the seconds left."""
        return self.deadline - time.monotonic()


def _shut(sock):
    """Shut a connection down from another thread (TLS sockets included)."""
    try:
        fd = sock.fileno()
        if fd < 0:
            return
        dup = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()


class _Watchdog:
    """One daemon thread that expires the deadlines that pass.

    It looks at the attempts under way every `TICK` seconds (so a deadline
    is kept to within a tick), and ends when none is left; starting and
    ending an attempt only adds it to or removes it from a set (no wake-up
    per request).
    """

    TICK = 0.1

    def __init__(self):
        self._active = set()
        self._lock = threading.Lock()
        self._thread = None

    def watch(self, entry):
        with self._lock:
            self._active.add(entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="twomass_vo-watchdog", daemon=True
                )
                self._thread.start()

    def forget(self, entry):
        with self._lock:
            self._active.discard(entry)

    def _run(self):
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                if not self._active:
                    self._thread = None
                    return
                due = [e for e in self._active if e.deadline <= now]
                self._active.difference_update(due)
            for entry in due:
                entry.expire()


_WATCHDOG = _Watchdog()


@contextlib.contextmanager
def watching(deadline):
    """Run the requests of this thread's session under a deadline.

    Parameters
    ----------
    deadline : float
        `time.monotonic` time by which they must be over.

    Yields
    ------
    limit : `Deadline`
        Check ``limit.expired`` after the block: the watchdog shut the
        connection down (what looked like the end of a body was not).
    """
    limit = Deadline(deadline)
    _WATCHDOG.watch(limit)
    _local.attempt = limit
    try:
        yield limit
    finally:
        _local.attempt = None
        limit.finish()
        _WATCHDOG.forget(limit)


def _deadline_session(session):
    """Mount adapters whose connections report their sockets to the attempt."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def register(sock):
        entry = getattr(_local, "attempt", None)
        if entry is not None and sock is not None:
            entry.add_socket(sock)

    class _Conn(HTTPConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            register(sock)
            return sock

        def request(self, *args, **kwargs):
            register(self.sock)  # a kept-alive connection: no new socket
            return super().request(*args, **kwargs)

    class _ConnS(HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            register(sock)
            return sock

        def request(self, *args, **kwargs):
            register(self.sock)
            return super().request(*args, **kwargs)

    class _Pool(HTTPConnectionPool):
        ConnectionCls = _Conn

    class _PoolS(HTTPSConnectionPool):
        ConnectionCls = _ConnS

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _PoolS}

    session.mount("http://", _Adapter())
    session.mount("https://", _Adapter())
    return session


def user_agent():
    """Return the User-Agent of every request: package, requests, Python versions.

    Returns
    -------
    agent : str
        E.g. ``twomass_vo/0.1 requests/2.32 Python/3.11 (Linux)``.
    """
    import requests

    from .version import version

    return (
        f"twomass_vo/{version} requests/{requests.__version__} "
        f"Python/{platform.python_version()} ({platform.system()})"
    )


def session():
    """Return this thread's `requests.Session` (sessions are not thread-safe).

    What requests reads from the environment on every request (proxies,
    ``no_proxy``, a CA bundle, ``.netrc``), costing about 1 ms a request, is
    read once per thread and host instead (`host_settings`).
    """
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = requests.Session()
        session.headers["User-Agent"] = user_agent()
        session.trust_env = False  # read once per host by host_settings
        session.verify = (  # never switched off; requests' own variables
            os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or True
        )
        _local.session = _deadline_session(session)
        _local.hosts = {}
    return session


def host_settings(url):
    """Return the proxies and ``.netrc`` credentials of ``url``'s host.

    As requests finds them in the environment; looked up once per thread
    and host (call `session` first).

    Parameters
    ----------
    url : str
        The URL.

    Returns
    -------
    proxies : dict
        For the ``proxies=`` argument of requests.
    auth : tuple or None
        For the ``auth=`` argument.
    """
    from requests.utils import get_environ_proxies, get_netrc_auth

    parsed = urlparse(url)
    key = (parsed.scheme, parsed.netloc)
    found = _local.hosts.get(key)
    if found is None:
        found = _local.hosts[key] = (get_environ_proxies(url), get_netrc_auth(url))
    return found
