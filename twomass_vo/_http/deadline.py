# Licensed under a 3-clause BSD style license - see LICENSE
"""How an HTTP request is bounded in time: its overall deadline.

A socket ``timeout`` bounds each read, not a request: a server that sends
one byte a second, or headers that never end, keeps a request alive for
ever. Every HTTP request of twomass_vo (the downloads of
`~twomass_vo._http.fetch`, the VO queries of
`~twomass_vo._http.vo_session.TimeoutSession`) therefore runs under a
`Deadline`:

* `watching` opens one for the requests a thread sends in a ``with`` block
  (nested blocks each have their own, the outer one comes back after);
* the sessions mount a `DeadlineAdapter`, whose connections report their
  sockets (a new one as soon as it is made, so that the TLS handshake is
  covered; a kept-alive one when a request is sent on it) to the deadline
  of their thread;
* one watchdog thread, shared by every deadline, looks at those under way
  every ``Watchdog.TICK`` seconds and shuts the sockets of those that passed
  down, which ends any read blocked on them; a deadline is thus kept to
  within a tick. The watchdog thread runs only while a deadline is open.

The caller checks ``Deadline.expired`` after the block: when the watchdog
cut a request, what looked like the end of its body was not. `time_limit`
bounds a whole ``with`` block (several requests, e.g. one VO look-up) for
the sessions that consult `time_limit_end`.

A deadline may also have a **low-speed limit**, as curl's ``--speed-limit``
/ ``--speed-time``: an answer that delivers fewer than ``rate`` bytes per
second over ``seconds`` seconds is cut too, long before its deadline (a
server trickling one byte a second). The watched connections read their
answers through `CountedResponse`, which counts every byte received
(status line and headers included) for the deadline of its thread; the
watchdog compares the count with the limit every tick, over consecutive
windows of ``seconds`` from the first byte of the answer (the wait for that
first byte is the socket timeout's to bound). ``Deadline.too_slow`` then
says why the request was cut, and ``Deadline.why`` says it in words.
"""

import contextlib
import http.client
import io
import math
import os
import socket
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..exceptions import InvalidQueryError

__all__ = [
    "WATCHED_POOL_CLASSES",
    "CountedResponse",
    "Deadline",
    "DeadlineAdapter",
    "Watchdog",
    "WatchedDirectConnection",
    "current_deadline",
    "low_speed",
    "positive_seconds",
    "time_limit",
    "time_limit_end",
    "watching",
]

#: The deadline of the request under way in this thread (``deadline``) and
#: the end (monotonic time) of the `time_limit` it runs in (``end``).
_local = threading.local()


def _number(value):
    """``float(value)``, or NaN for what is not a number."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def positive_seconds(value, name):
    """Return a time limit in seconds, checked: a positive finite number.

    Parameters
    ----------
    value : float or str
        The time limit.
    name : str
        What it is (``timeout``), for the message.

    Returns
    -------
    seconds : float

    Raises
    ------
    twomass_vo.exceptions.InvalidQueryError
        (a `ValueError`) for NaN, an infinity, zero, a negative number, or
        what is not a number.
    """
    seconds = _number(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidQueryError(
            f"{name}={value!r} must be a positive finite number of seconds"
        )
    return seconds


def low_speed(rate, seconds):
    """Return a low-speed limit ``(rate, seconds)``, or None for none.

    Parameters
    ----------
    rate : float
        Bytes per second below which an answer is too slow (0: no limit).
    seconds : float
        How long it may stay below (0: no limit).

    Raises
    ------
    ValueError
        If either is negative or not a finite number.
    """
    values = []
    for name, value in (("low_speed_limit", rate), ("low_speed_time", seconds)):
        number = _number(value)
        if not (math.isfinite(number) and number >= 0):
            raise ValueError(f"{name}={value!r} must be a finite number >= 0")
        values.append(number)
    return tuple(values) if all(values) else None


class Deadline:
    """The overall deadline of a request: its sockets are shut when it passes.

    Parameters
    ----------
    deadline : float
        ``time.monotonic`` time by which the request must be over.
    speed : tuple of float, optional
        A low-speed limit ``(rate, seconds)`` (see `low_speed`): the request
        is cut as well when its answer delivers fewer than ``rate`` bytes per
        second over ``seconds`` seconds.

    Attributes
    ----------
    deadline : float
        As given.
    seconds : float
        The time the request was given, from its start.
    expired : bool
        Whether the deadline passed, or the answer was too slow, while the
        request was watched (its sockets were shut down).
    too_slow : bool
        Whether it was cut by the low-speed limit.
    received : int
        Bytes of answers received under this deadline (when it has a
        low-speed limit).
    """

    def __init__(self, deadline, *, speed=None):
        self.deadline = float(deadline)
        self.seconds = max(self.deadline - time.monotonic(), 0.0)
        self.speed = speed
        self.expired = False
        self.too_slow = False
        self.received = 0
        self._first = None  # when the first byte came (the reading thread)
        self._window = None  # (start, bytes received before it): the watchdog's
        self._done = False
        self._sockets = []
        self._lock = threading.Lock()

    def add_socket(self, sock):
        """Shut ``sock`` down when the deadline passes (at once if it has)."""
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            if self.expired:
                shut_down(sock)
            else:
                self._sockets.append(sock)

    def count(self, n):
        """Count ``n`` bytes received (the thread reading the answer)."""
        if self._first is None:
            self._first = time.monotonic()
        self.received += n

    def slowed(self, now):
        """Whether the answer has been slower than the low-speed limit (watchdog).

        The windows are consecutive spans of ``seconds`` from the first byte;
        at the end of each, fewer than ``rate * seconds`` bytes is too slow.
        """
        if self.speed is None or self._first is None:
            return False
        rate, seconds = self.speed
        start, before = self._window or (self._first, 0)
        if now - start < seconds:
            return False
        if self.received - before < rate * seconds:
            self.too_slow = True
            return True
        self._window = (now, self.received)
        return False

    def why(self):
        """Say why the request was cut (for messages)."""
        if self.too_slow:
            rate, seconds = self.speed
            return (
                f"its answer came at fewer than {rate:g} bytes/s for {seconds:g} s "
                f"({self.received} bytes received; low-speed limit)"
            )
        return f"no complete answer within {self.seconds:g} s"

    def expire(self):
        """Mark the request expired and shut its sockets down (unless finished)."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                shut_down(sock)

    def finish(self):
        """End the watch: nothing is shut down any more."""
        with self._lock:
            self._done = True
            self._sockets.clear()

    def left(self):
        """Return the seconds left (negative once passed)."""
        return self.deadline - time.monotonic()


def shut_down(sock):
    """Shut a connection down from another thread (TLS sockets included).

    The shutdown goes through a duplicate of the file descriptor: it ends
    the reads blocked on the socket, without touching the TLS state that the
    reading thread owns.
    """
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


class Watchdog:
    """One daemon thread that expires the deadlines that pass (or are too slow).

    It looks at the deadlines under way every `TICK` seconds (so a deadline,
    and a low-speed limit, is kept to within a tick), and ends when none is
    left; opening and
    closing a deadline only adds it to or removes it from a set (no wake-up
    per request).
    """

    TICK = 0.1

    def __init__(self):
        self._active = set()
        self._lock = threading.Lock()
        self._thread = None

    def watch(self, deadline):
        """Expire ``deadline`` when it passes (until `forget`)."""
        with self._lock:
            self._active.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="twomass_vo-watchdog", daemon=True
                )
                self._thread.start()

    def forget(self, deadline):
        """Stop watching ``deadline``."""
        with self._lock:
            self._active.discard(deadline)

    def _run(self):
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                if not self._active:
                    self._thread = None
                    return
                due = [d for d in self._active if d.deadline <= now or d.slowed(now)]
                self._active.difference_update(due)
            for deadline in due:
                deadline.expire()


#: The watchdog of every deadline.
WATCHDOG = Watchdog()


@contextlib.contextmanager
def watching(deadline, *, speed=None):
    """Run the requests this thread sends in the block under a deadline.

    Parameters
    ----------
    deadline : float
        ``time.monotonic`` time by which they must be over.
    speed : tuple of float, optional
        A low-speed limit ``(rate, seconds)`` (`low_speed`) for their answers.

    Yields
    ------
    limit : `Deadline`
        Check ``limit.expired`` after the block: the watchdog shut the
        connection down (what looked like the end of a body was not);
        ``limit.why()`` says why.
    """
    limit = Deadline(deadline, speed=speed)
    outer = getattr(_local, "deadline", None)
    WATCHDOG.watch(limit)
    _local.deadline = limit
    try:
        yield limit
    finally:
        _local.deadline = outer
        limit.finish()
        WATCHDOG.forget(limit)


def current_deadline():
    """Return the `Deadline` of this thread's request under way, or None."""
    return getattr(_local, "deadline", None)


@contextlib.contextmanager
def time_limit(seconds):
    """Run the requests of a ``with`` block within ``seconds`` in all.

    The sessions that consult `time_limit_end` (the VO archives'
    `~twomass_vo._http.vo_session.TimeoutSession`) cut the deadline of
    every request sent in this thread inside the block to what remains, and
    refuse a request started after it has passed. Nested limits keep the
    earlier end.

    Parameters
    ----------
    seconds : float
        The time limit of the whole block.
    """
    outer = getattr(_local, "end", None)
    end = time.monotonic() + float(seconds)
    _local.end = end if outer is None else min(end, outer)
    try:
        yield
    finally:
        _local.end = outer


def time_limit_end():
    """Return the end (``time.monotonic``) of this thread's `time_limit`, or None."""
    return getattr(_local, "end", None)


def _register(sock):
    deadline = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.add_socket(sock)


class _CountedRaw(io.RawIOBase):
    """A socket's raw reader that counts what it reads for a deadline."""

    def __init__(self, raw, deadline):
        super().__init__()
        self._raw = raw
        self._deadline = deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self._raw.readinto(buffer)
        if n:
            self._deadline.count(n)
        return n

    def fileno(self):
        return self._raw.fileno()

    def close(self):
        if not self.closed:
            self._raw.close()
        super().close()


class _CountedSocket:
    """What `http.client.HTTPResponse` asks of a socket: a counted ``makefile``."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode):
        raw = self._sock.makefile(mode, buffering=0)  # the socket's own SocketIO
        return io.BufferedReader(_CountedRaw(raw, self._deadline))


class CountedResponse(http.client.HTTPResponse):
    """An HTTP answer whose bytes count toward the low-speed limit of its thread.

    The status line, the headers and the body, as they are received from
    the socket: the deadline of the thread (`watching`) that has a low-speed
    limit sees every byte; without one, this is `http.client.HTTPResponse`.
    """

    def __init__(self, sock, *args, **kwargs):
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and deadline.speed is not None:
            sock = _CountedSocket(sock, deadline)
        super().__init__(sock, *args, **kwargs)


class _WatchedRequests:
    """Report a kept-alive connection's socket to the deadline of each request.

    Its answers are `CountedResponse` objects.
    """

    response_class = CountedResponse

    def request(self, *args, **kwargs):
        _register(self.sock)  # a kept-alive connection: no new socket
        return super().request(*args, **kwargs)


class _WatchedSocket(_WatchedRequests):
    """Report the socket of a urllib3 connection to the deadline of its thread."""

    def _new_conn(self):
        sock = super()._new_conn()
        _register(sock)  # before the TLS handshake, which it then bounds
        return sock


class WatchedHTTPConnection(_WatchedSocket, HTTPConnection):
    """An HTTP connection whose socket the deadline of its thread watches."""


class WatchedHTTPSConnection(_WatchedSocket, HTTPSConnection):
    """An HTTPS connection whose socket (TLS handshake included) is watched."""


class WatchedDirectConnection(_WatchedRequests, http.client.HTTPConnection):
    """A standard-library connection whose socket the deadline of its thread watches.

    The downloads' direct connections (no proxy; `twomass_vo._http.download_session`):
    the TCP socket is reported as soon as it is made, before the TLS
    handshake (which it then bounds), and again with every request sent on
    it when it is kept alive.

    Parameters
    ----------
    host : str
        Host name or address.
    port : int, optional
        Port (default 443 with ``tls_context``, else 80).
    timeout : float, optional
        Socket timeout, seconds (each connect and read).
    tls_context : `ssl.SSLContext`, optional
        For HTTPS: the context that wraps the socket (verification as it
        says; the server name is checked against ``host``).
    """

    def __init__(self, host, port=None, *, timeout=None, tls_context=None):
        if tls_context is not None:
            self.default_port = 443  # the Host header omits the default port
        super().__init__(host, port, timeout=timeout)
        self.tls_context = tls_context

    def connect(self):
        """Connect (TCP), report the socket, then shake hands (TLS)."""
        super().connect()
        _register(self.sock)
        if self.tls_context is not None:
            self.sock = self.tls_context.wrap_socket(
                self.sock, server_hostname=self.host
            )


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    """A pool of `WatchedHTTPConnection`."""

    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    """A pool of `WatchedHTTPSConnection`."""

    ConnectionCls = WatchedHTTPSConnection


#: The connection pool classes of a `urllib3.PoolManager` whose connections
#: are watched: its ``pool_classes_by_scheme``.
WATCHED_POOL_CLASSES = {
    "http": WatchedHTTPConnectionPool,
    "https": WatchedHTTPSConnectionPool,
}


class DeadlineAdapter(HTTPAdapter):
    """The transport adapter whose connections a `Deadline` can shut down.

    Mount it on a `requests.Session` for ``http://`` and ``https://``;
    requests through an HTTP(S) proxy are watched too (not through a SOCKS
    proxy, whose pools are its own).
    """

    def init_poolmanager(self, *args, **kwargs):
        """Make the pool manager, with watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(WATCHED_POOL_CLASSES)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        """Return the manager of ``proxy``, with watched connection pools."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme.get("http") is HTTPConnectionPool:
            manager.pool_classes_by_scheme = dict(WATCHED_POOL_CLASSES)
        return manager
