# Licensed under a 3-clause BSD style license - see LICENSE
"""One HTTP(S) file, fetched with retries that respect the server.

`fetch` streams one URL into an open file, with the connections of
`twomass_vo._http.download_session` (`http.client`, or urllib3 through a proxy;
TLS verification always on, proxies, ``.netrc`` and redirects as `requests`
has them), checks the
body's length against ``Content-Length`` / ``Content-Range``, and retries
what is worth retrying:

- connection errors, timeouts and bodies cut short (the next attempt asks
  for the missing bytes only, with an HTTP ``Range`` request, and starts over
  if the server ignores it);
- HTTP 5xx and 429; a ``Retry-After`` header (seconds or an HTTP date) is
  honoured, and holds back every request to that host in this process, not
  only the one that was told -- but for an HTTP 500 whose page says the
  request can never succeed (`PERMANENT_500`: IBE's "Cutout does not
  overlap image"), which fails at once;

with exponential backoff and jitter, as a
`~twomass_vo._http.retry_policy.RetryPolicy` says: at most ``retries`` times and
within a total time budget per file (``budget``), attempts included. A
``Retry-After`` is capped (``max_retry_after``), so that no server can hold
a host back for the rest of the process.

Time is bounded, not only per socket read: every attempt has an overall
deadline (``attempt_timeout``, and never past the budget) and a low-speed
limit (``low_speed_limit`` bytes per second over ``low_speed_time``
seconds), kept by `twomass_vo._http.deadline`: the watchdog thread shuts the
connection of an attempt that passes its deadline or is too slow, so a
server that sends one byte a second is given up on after
``low_speed_time`` seconds (and retried), and headers that never end by
the deadline. Other 4xx answers,
TLS errors, bad URLs and files over the size ceiling are not retried. Every
failure ends in a `FetchError` whose message says what happened and how many
attempts were made.

Following pyvo's and astroquery's stance (no automatic retry in core), this is
the wrapper's policy, and it is visible: its settings are arguments of
`~twomass_vo.ImageTable.download` and items of `twomass_vo.conf`.
"""

import hashlib
import http.client
import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from urllib3.exceptions import HTTPError, LocationValueError, SSLError

from .deadline import positive_seconds, watching
from .download_session import RedirectError, body_reader, open_url
from .network_errors import network_failure
from .retry_policy import (  # noqa: F401 - retry_policy: still importable here
    RetryPolicy,
    hold_host,
    host_slot,
    host_wait,
    parse_retry_after,
    retry_policy,
)

__all__ = [
    "PERMANENT_500",
    "Cancelled",
    "FetchError",
    "FetchResult",
    "fetch",
]

log = logging.getLogger("twomass_vo.retrieval")

#: Bytes read from the network at a time.
CHUNK = 1 << 20

_local = threading.local()


class FetchError(OSError):
    """A file could not be fetched.

    Parameters
    ----------
    message : str
        What happened.
    retryable : bool, optional
        Whether another attempt may succeed (transient errors).
    status : int, optional
        The HTTP status, if the server answered.
    retry_after : float, optional
        Seconds the server asked to wait (``Retry-After``).
    """

    def __init__(self, message, *, retryable=False, status=None, retry_after=None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class Cancelled(Exception):
    """The run was stopped (e.g. Ctrl-C) while this file was being fetched."""


@dataclass(frozen=True)
class FetchResult:
    """What `fetch` wrote.

    Attributes
    ----------
    size : int
        Bytes written.
    sha256 : str
        Hex SHA-256 of the bytes written.
    attempts : int
        Requests made.
    """

    size: int
    sha256: str
    attempts: int


def _sleep(seconds, cancel):
    if seconds <= 0:
        return
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise Cancelled()


def _content_range_start(value):
    """Start and total of ``Content-Range: bytes START-END/TOTAL``."""
    try:
        unit, spec = value.split(" ", 1)
        span, total = spec.split("/", 1)
        start = int(span.split("-", 1)[0])
        return (
            (start, None if total.strip() == "*" else int(total))
            if unit == "bytes"
            else (None, None)
        )
    except (AttributeError, ValueError):
        return None, None


class _Body:
    """The bytes written so far, their hash, and how to start over."""

    def __init__(self, fh):
        self.fh = fh
        self.size = 0
        self.hash = hashlib.sha256()
        if fh.seek(0, 2):  # not empty (a new file is: no truncation then)
            self.reset()

    def reset(self):
        self.fh.seek(0)
        self.fh.truncate()
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, chunk):
        self.fh.write(chunk)
        self.hash.update(chunk)
        self.size += len(chunk)


def _buffer():
    """Return the read buffer of this thread (`CHUNK` bytes), reused per file."""
    buffer = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = memoryview(bytearray(CHUNK))
    return buffer


class _Pending:
    """Bytes received into this thread's buffer and not yet written to the body.

    They are written (and hashed) once the buffer is full, when the body
    ends, and before any error is raised (`flush`), so that no byte read is
    lost: a retry asks only for the rest.
    """

    def __init__(self, body, view):
        self.body = body
        self.view = view
        self.filled = 0

    @property
    def size(self):
        """Bytes received: written and pending."""
        return self.body.size + self.filled

    def free(self):
        """Return the free part of the buffer."""
        return self.view[self.filled :]

    def flush(self):
        """Write and hash the pending bytes."""
        if self.filled:
            chunk, self.filled = self.view[: self.filled], 0
            self.body.write(chunk)


def _identity_reader(fp):
    """``fill(view)`` for an identity body of `http.client`: bytes read into ``view``.

    One ``recv`` at a time (``readinto1``: what has arrived, never past the
    announced length), so that the deadline and ``cancel`` are looked at
    between reads, and an error loses none of the bytes read before it; the
    connection stays usable for the next request.
    """
    if fp.chunked:
        return fp.readinto

    def fill(view):
        left = len(view) if fp.length is None else min(len(view), fp.length)
        if fp.fp is None or left == 0:
            return 0
        n = fp.fp.readinto1(view[:left])
        if fp.length is not None:
            fp.length -= n
            if fp.length == 0:
                fp.read()  # the body is complete: http.client closes it
        return n

    return fill


def _stream(raw, body, expected, max_size, cancel, on_bytes, limit, *, decode=False):
    """Copy the body of the answer ``raw``, keeping every byte read.

    An identity body is read straight from the `http.client` response into
    this thread's buffer, one ``recv`` at a time (`_identity_reader`; no new
    bytes object per read), and written and hashed once per `CHUNK` bytes
    (`_Pending`): one write and one hash update per MiB, not per ``recv``,
    so that the worker threads hand the GIL over far less often. An encoded
    body goes through urllib3's decoder (``read1``), each decoded chunk
    written as it comes. Bytes are counted (``on_bytes``) as they arrive.
    urllib3 drops the bytes of a read that ends in an error, and raises
    ``IncompleteRead`` for a body shorter than announced, losing them too;
    we check the length ourselves, so that a retry asks only for the rest.
    """
    if hasattr(raw, "enforce_content_length"):  # urllib3's: we check it ourselves
        raw.enforce_content_length = False
    fp = body_reader(raw)
    if decode or not isinstance(fp, http.client.HTTPResponse):
        read1 = getattr(raw, "read1", None) or raw.read
        pending = _Pending(body, None)

        def fill():
            chunk = read1(CHUNK, decode_content=True)
            body.write(chunk)
            return len(chunk)

    else:
        read_into = _identity_reader(fp)
        pending = _Pending(body, _buffer())

        def fill():
            n = read_into(pending.free())
            pending.filled += n
            if pending.filled == CHUNK:
                pending.flush()
            return n

    try:
        while n := _received(fill, pending):
            if on_bytes is not None:
                on_bytes(n)
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if limit.left() <= 0:
                limit.expire()
                raise _too_slow(limit, pending.size)
            if max_size is not None and pending.size > max_size:
                raise FetchError(
                    f"the body goes past the per-file ceiling of {max_size} bytes"
                )
    finally:
        pending.flush()  # no byte read is lost: a retry asks for the rest
    if expected is not None and body.size != expected:
        raise FetchError(
            f"the body was cut short: {body.size} of {expected} bytes",
            retryable=expected > body.size,
        )


def _received(fill, pending):
    """Run ``fill()``; turn a transport error into a `FetchError`."""
    try:
        return fill()
    except SSLError as exc:
        raise FetchError(f"TLS error: {exc}") from None
    except (HTTPError, OSError, http.client.HTTPException) as exc:
        raise FetchError(
            f"{type(exc).__name__} after {pending.size} bytes: {exc}", retryable=True
        ) from None


def _let_go(response):
    """Give a fully read connection back to the pool; close any other one."""
    fp = body_reader(response)
    if fp is None or not fp.isclosed():
        response.close()  # the rest of the body must not be read as an answer
    response.release_conn()


def _seconds(value):
    return f"{value:.0f}" if value >= 1000 else f"{value:g}"


def _too_slow(limit, received):
    if limit.too_slow:
        return FetchError(f"given up: {limit.why()}", retryable=True)
    return FetchError(
        f"no complete answer within {limit.seconds:.1f} s ({received} bytes "
        "received): the attempt's deadline passed",
        retryable=True,
    )


def _attempt(url, body, *, timeout, max_size, cancel, on_bytes, deadline, speed):
    """One request, stopped at ``deadline`` (`time.monotonic`) at the latest.

    Stopped as well when its answer is slower than ``speed`` (a low-speed
    limit, or None). Raises `FetchError` (retryable or not) unless the body
    is complete.
    """
    with watching(deadline, speed=speed) as limit:
        try:
            _request(url, body, timeout, max_size, cancel, on_bytes, limit)
            if limit.expired:  # cut by the watchdog: what looked like an end was not
                body.reset()
                raise _too_slow(limit, body.size)
        except FetchError as exc:
            if limit.expired:
                raise _too_slow(limit, body.size) from None
            raise exc from None


def _request(url, body, timeout, max_size, cancel, on_bytes, limit):
    headers = {"Accept-Encoding": "identity"}
    ranged = body.size > 0
    if ranged:
        headers["Range"] = f"bytes={body.size}-"
    timeout = max(min(timeout, limit.left()), 0.001)
    try:
        response, _ = open_url(url, headers=headers, timeout=timeout)
    except RedirectError as exc:
        raise FetchError(str(exc)) from None
    except (SSLError, ssl.SSLError) as exc:  # urllib3's, or of a direct connection
        raise FetchError(f"TLS error: {exc}") from None
    except LocationValueError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    except (HTTPError, OSError, http.client.HTTPException) as exc:
        failure = network_failure(exc, url=url)  # in words: host and cause
        text = failure.line if failure else f"{type(exc).__name__}: {exc}"
        raise FetchError(text, retryable=True) from None
    except ValueError as exc:  # a bad URL; a SOCKS proxy without PySocks
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    try:
        _answer(response, body, ranged, max_size, cancel, on_bytes, limit)
    finally:
        _let_go(response)


def _answer(response, body, ranged, max_size, cancel, on_bytes, limit):
    """Check the status and headers of ``response``, then stream its body."""
    status = response.status
    if status == 416 and ranged:
        body.reset()
        raise FetchError("HTTP 416 for a resumed request", retryable=True)
    if status in (429,) or 500 <= status <= 599:
        if status == 500 and _says_permanent(response):
            raise FetchError(
                f"HTTP 500 {response.reason}: the cutout does not overlap the "
                "image (the server says so; not retried)",
                status=status,
            )
        raise FetchError(
            f"HTTP {status} {response.reason}",
            retryable=True,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status not in (200, 206):
        raise FetchError(f"HTTP {status} {response.reason}", status=status)
    length = response.headers.get("Content-Length")
    length = int(length) if length and length.isdigit() else None
    if status == 206:
        start, total = _content_range_start(response.headers.get("Content-Range"))
        if not ranged or start != body.size:
            body.reset()
            raise FetchError(
                "the server answered a range that was not asked for", retryable=True
            )
        expected = (
            total if total is not None else (None if length is None else start + length)
        )
    else:
        if ranged:  # the server ignored the Range header: start over
            body.reset()
        expected = length
    if max_size is not None and expected is not None and expected > max_size:
        raise FetchError(
            f"the file is {expected} bytes, over the per-file ceiling of "
            f"{max_size} bytes"
        )
    encoded = response.headers.get("Content-Encoding", "identity")
    if encoded.lower() in ("", "identity"):
        _stream(response, body, expected, max_size, cancel, on_bytes, limit)
        return
    # asked for identity, got e.g. gzip: decode; no length, no resume
    try:
        _stream(response, body, None, max_size, cancel, on_bytes, limit, decode=True)
    except FetchError:
        body.reset()
        raise


#: What the page of an HTTP 500 says when the request itself can never
#: succeed: IBE's data service answers a cutout that misses its image so
#: ("Cutout does not overlap image"); retrying it would only repeat it.
PERMANENT_500 = (b"cutout does not overlap image",)

#: Bytes of an HTTP 500 page read to look for `PERMANENT_500`.
_ERROR_PAGE = 4096


def _says_permanent(response):
    """Whether the (short) page of an HTTP 500 says the request cannot succeed."""
    reader = body_reader(response)
    try:
        page = (response if reader is None else reader).read(_ERROR_PAGE)
    except (HTTPError, OSError, http.client.HTTPException, ValueError):
        return False
    page = b" ".join(page.lower().split())
    return any(phrase in page for phrase in PERMANENT_500)


def fetch(
    url,
    fh,
    *,
    timeout=60.0,
    policy=None,
    max_size=None,
    cancel=None,
    on_bytes=None,
    rng=None,
):
    """Stream ``url`` into ``fh``, retrying transient failures.

    Parameters
    ----------
    url : str
        An ``http://`` or ``https://`` URL.
    fh : file object
        Open for writing and reading in binary mode, seekable and
        truncatable (an attempt that must start over truncates it).
    timeout : float, optional
        Seconds to connect, and seconds without a byte before a read gives up.
    policy : `~twomass_vo._http.retry_policy.RetryPolicy`, optional
        Retries, backoff, time budget, per-attempt deadline, low-speed limit
        and the cap of ``Retry-After`` (default ``RetryPolicy()``).
    max_size : int, optional
        Per-file ceiling in bytes: a larger file fails at once.
    cancel : `threading.Event`, optional
        Set it to stop (between chunks and during waits): raises `Cancelled`.
    on_bytes : callable, optional
        Called with the length of each chunk written (progress).
    rng : `random.Random`, optional
        Source of the backoff jitter.

    Returns
    -------
    result : `FetchResult`
        Size and SHA-256 of the body, and the number of requests made.

    Raises
    ------
    FetchError
        When the file could not be fetched: a non-retryable answer, or the
        retries or the time budget are used up.
    twomass_vo.exceptions.InvalidQueryError
        If ``timeout`` is not a positive finite number.
    Cancelled
        When ``cancel`` was set.
    """
    from .. import conf

    timeout = positive_seconds(timeout, "timeout")
    policy = RetryPolicy() if policy is None else policy
    rng = random if rng is None else rng
    per_host = int(conf.max_per_host)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise FetchError(f"not an http(s) URL: {url!r}")
    host = parsed.netloc
    start = time.monotonic()
    deadline = start + policy.budget
    body = _Body(fh)
    attempt = 0
    while True:
        hold = host_wait(host)
        if hold > deadline - time.monotonic():
            raise FetchError(
                f"the server asked to wait {hold:.1f} s before the next request to "
                f"{host}, more than the time budget left"
                + (f" (after {attempt} attempts)" if attempt else "")
            )
        _sleep(hold, cancel)
        now = time.monotonic()
        if attempt and now >= deadline:
            raise FetchError(
                f"the time budget of {policy.budget:g} s is used up "
                f"(after {attempt} attempts)"
            )
        attempt += 1
        try:
            with host_slot(host, per_host, cancel):
                _attempt(
                    url,
                    body,
                    timeout=timeout,
                    max_size=max_size,
                    cancel=cancel,
                    on_bytes=on_bytes,
                    deadline=min(now + policy.attempt_timeout, max(deadline, now)),
                    speed=policy.speed,
                )
        except InterruptedError:  # cancelled while waiting for a slot
            raise Cancelled() from None
        except FetchError as exc:
            tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            if not exc.retryable:
                raise FetchError(f"{exc} ({tries})", status=exc.status) from None
            if attempt > policy.retries:
                raise FetchError(
                    f"{exc} (gave up after {tries})", status=exc.status
                ) from None
            wait = policy.delay(attempt - 1, rng)
            asked = ""
            if exc.retry_after is not None:
                capped = min(exc.retry_after, policy.max_retry_after)
                hold_host(host, capped)
                wait = max(wait, capped)
                asked = f"the server asked to wait {_seconds(exc.retry_after)} s" + (
                    f" (capped at {capped:g} s)" if capped < exc.retry_after else ""
                )
            left = deadline - time.monotonic()
            if wait > left:
                why = asked if asked and capped > left else "the time budget is used up"
                raise FetchError(
                    f"{exc} ({tries}; {why}, {max(left, 0):.1f} s of the "
                    f"{policy.budget:g} s budget left)",
                    status=exc.status,
                ) from None
            log.info("retrying %s in %.2f s after %s: %s", url, wait, tries, exc)
            _sleep(wait, cancel)
            continue
        return FetchResult(
            size=body.size, sha256=body.hash.hexdigest(), attempts=attempt
        )
