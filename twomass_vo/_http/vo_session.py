# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP session of the VO archives: bounded in-memory answers.

`TimeoutSession` is the session a `~twomass_vo.archives.VOArchive` makes
(`make_session`). A service is not trusted, so every request it sends is
bounded:

* in time: besides the per-read socket ``timeout``, an overall deadline
  (``twomass_vo.conf.request_deadline``, or the ``deadline`` of the call, or
  the `~twomass_vo._http.deadline.time_limit` the request runs in) and a
  low-speed limit (``twomass_vo.conf.low_speed_limit`` bytes per second
  over ``low_speed_time`` seconds), kept by `twomass_vo._http.deadline`: its
  watchdog shuts the request's socket down when the deadline passes or the
  answer is too slow, so that a server sending one byte per second is given
  up on after ``low_speed_time`` seconds, and headers that never end by the
  deadline;
* in memory: every answer (redirects and error documents included) is read
  in chunks, its ``gzip`` / ``deflate`` encoding undone here, chunk by
  chunk, and both the bytes received and the bytes decoded are counted
  against ``twomass_vo.conf.max_answer_size``.

Either limit raises `~twomass_vo.exceptions.ArchiveError` naming the URL.
Answers are read at once (pyvo's streamed documents included), so every
connection goes back to the pool. `TimeoutProxy` gives a session a fixed
time limit per request (for the endpoint checks), and `read_capabilities`
reads a service's VOSI capabilities with a session.
"""

import contextlib
import io
import time
import warnings
import zlib

import requests
import urllib3

from .. import conf
from ..exceptions import ArchiveError, ArchiveUnreachableError, ServiceStatusError
from .deadline import (
    DeadlineAdapter,
    current_deadline,
    low_speed,
    time_limit_end,
    watching,
)

__all__ = [
    "TimeoutProxy",
    "TimeoutSession",
    "answer_of",
    "make_session",
    "read_capabilities",
]

#: Bytes read from a socket (and decoded) per step.
_CHUNK = 1 << 16


def _expired_error(url, seconds, why, limit):
    """Return the error of a request cut by its deadline or low-speed limit.

    The service gave no answer in time: an
    `~twomass_vo.exceptions.ArchiveUnreachableError`.
    """
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname
    if limit.too_slow:
        return ArchiveUnreachableError(
            f"{url}: given up, {limit.why()} (twomass_vo.conf.low_speed_limit, "
            "low_speed_time)",
            url=url,
            host=host,
            why=limit.why(),
        )
    return ArchiveUnreachableError(
        f"{url} gave no complete answer within {seconds:g} s ({why})",
        url=url,
        host=host,
        why=f"timed out after {seconds:g} s",
    )


class _BufferedRaw(io.BytesIO):
    """An in-memory stand-in for urllib3's raw stream, read as pyvo reads it."""

    def read(self, amt=None, decode_content=None, **kwargs):
        return super().read(-1 if amt is None else amt)


class TimeoutSession(requests.Session):
    """The archive's HTTP session: bounded in time and memory, no connection left open.

    pyvo sets no time limit, and reads several documents (VOSI capabilities,
    UWS job phases) as ``stream=True`` responses whose connections it never
    releases. Here every response is read at once, within the size and time
    limits (see the module's description), its connection goes back to the
    pool, and a streamed response gets an in-memory ``raw`` with the
    (decoded) body, which is what pyvo parses.

    Parameters
    ----------
    timeout : float
        Default socket time limit in seconds of each read (``timeout`` of
        `requests.Session.request`).
    """

    def __init__(self, timeout):
        super().__init__()
        self.default_timeout = timeout
        self.mount("http://", DeadlineAdapter())
        self.mount("https://", DeadlineAdapter())
        self.headers["Accept-Encoding"] = "gzip, deflate"
        self.hooks["response"].append(_read_answer)

    def request(self, method, url, *, deadline=None, **kwargs):
        """Send a request and read its answer at once, within the limits.

        Parameters
        ----------
        method, url
            As `requests.Session.request`.
        deadline : float, optional
            Overall time limit in seconds of this request (redirects
            included); at most ``twomass_vo.conf.request_deadline``.
        **kwargs
            As `requests.Session.request` (``timeout`` defaults to the
            session's).

        Raises
        ------
        twomass_vo.exceptions.ArchiveError
            If the answer is larger than ``twomass_vo.conf.max_answer_size``
            (received or decoded), has an unknown content encoding, is not
            complete within the deadline, or is slower than the low-speed
            limit.
        """
        seconds, why = float(conf.request_deadline), "twomass_vo.conf.request_deadline"
        if deadline is not None and float(deadline) < seconds:
            seconds, why = float(deadline), "the time limit of the request"
        end = time_limit_end()
        if end is not None and end - time.monotonic() < seconds:
            seconds, why = end - time.monotonic(), "the time limit of the look-up"
            if seconds <= 0:
                raise ArchiveError(
                    f"{url}: not requested, the time limit of the look-up has passed"
                )
        timeout = kwargs.get("timeout")
        if timeout is None:
            timeout = self.default_timeout
        if isinstance(timeout, (int, float)):
            timeout = min(float(timeout), seconds)
        kwargs["timeout"] = timeout
        stream = kwargs.pop("stream", False)
        speed = low_speed(conf.low_speed_limit, conf.low_speed_time)
        with watching(time.monotonic() + seconds, speed=speed) as limit:
            try:
                response = super().request(method, url, stream=True, **kwargs)
            except requests.RequestException as exc:
                if limit.expired:
                    raise _expired_error(url, seconds, why, limit) from exc
                raise
        if limit.expired:
            response.close()
            raise _expired_error(url, seconds, why, limit)
        if stream:
            response.raw = _BufferedRaw(response.content)
        return response


def _read_answer(response, **kwargs):
    """Response hook: read the body within the limits (before requests does)."""
    deadline = current_deadline()
    limit = int(conf.max_answer_size)
    url = response.url
    try:
        body = _read_body(response, limit, url)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()  # a deadline that passed: `TimeoutSession.request` says so
        expired = deadline is not None and deadline.expired
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError) and not expired:
            raise requests.ReadTimeout(exc, response=response) from exc
        raise requests.ConnectionError(exc, response=response) from exc
    except ArchiveError:
        response.close()
        raise
    if deadline is not None and deadline.expired:
        # the socket was shut down: what was read may look complete, it is not
        response.close()
        raise requests.ConnectionError(
            f"{url}: the overall deadline passed", response=response
        )
    response._content = body
    response._content_consumed = True
    with contextlib.suppress(AttributeError):
        response.raw.release_conn()


def _too_large(url, limit, what):
    return ArchiveError(
        f"the answer of {url} is larger than {limit} bytes ({what}); "
        "twomass_vo.conf.max_answer_size sets the limit"
    )


def _read_body(response, limit, url):
    """Return the decoded body of a streamed response, at most ``limit`` bytes."""
    raw = response.raw
    if raw is None or response._content_consumed:
        return response._content or b""
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > limit:
        raise _too_large(url, limit, f"Content-Length {length}")
    encodings = [
        e.strip().lower()
        for e in response.headers.get("Content-Encoding", "").split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    for encoding in encodings:
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise ArchiveError(
                f"the answer of {url} has content encoding {encoding!r} "
                "(gzip or deflate expected)"
            )
    received = 0

    def wire():
        nonlocal received
        while True:
            chunk = raw.read(_CHUNK, decode_content=False)
            if not chunk:
                return
            received += len(chunk)
            if received > limit:
                raise _too_large(url, limit, "received")
            yield chunk

    chunks = wire()
    for encoding in reversed(encodings):  # the last one applied is undone first
        chunks = _inflate(chunks, deflate=encoding == "deflate", url=url)
    out = io.BytesIO()
    for piece in chunks:
        if out.tell() + len(piece) > limit:
            raise _too_large(url, limit, "decoded")
        out.write(piece)
    return out.getvalue()


def _inflate(chunks, *, deflate, url):
    """Decode gzip (or zlib / raw deflate) chunks, at most `_CHUNK` bytes a step."""
    decoder = None
    for chunk in chunks:
        data = chunk
        while data:
            if decoder is None:
                decoder = zlib.decompressobj(_wbits(data, deflate))
            try:
                piece = decoder.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise ArchiveError(f"the answer of {url} is not valid {exc}") from None
            if piece:
                yield piece
            data = decoder.unconsumed_tail
            if decoder.eof:  # a gzip member ends: another may follow
                data = decoder.unused_data
                decoder = None
            elif not data and len(piece) == _CHUNK:
                data = b""
                while True:  # drain what the decoder still holds
                    piece = decoder.decompress(b"", _CHUNK)
                    if piece:
                        yield piece
                    if len(piece) < _CHUNK:
                        break
    if decoder is not None and not decoder.eof:
        raise ArchiveError(f"the answer of {url} ends inside its compressed body")


def _wbits(data, deflate):
    """Return the zlib ``wbits`` of a body: gzip, or deflate (zlib or raw)."""
    if not deflate:
        return 16 + zlib.MAX_WBITS
    zlib_header = (
        len(data) >= 2
        and (data[0] & 0x0F) == 8
        and ((data[0] << 8) | data[1]) % 31 == 0
    )
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


def make_session(timeout):
    """Return a new `TimeoutSession` with the twomass_vo + pyvo user agent.

    Parameters
    ----------
    timeout : float
        Default socket time limit in seconds of each read.
    """
    from pyvo.utils import http

    from ..version import version

    session = TimeoutSession(timeout)
    session.headers["User-Agent"] = f"twomass_vo/{version} {http.USER_AGENT}"
    return session


class TimeoutProxy:
    """A session with a fixed time limit per request (for ``VOArchive.check``).

    With a `TimeoutSession`, the limit is the overall deadline of each
    request as well as its socket timeout.
    """

    def __init__(self, session, timeout):
        self._session = session
        self._timeout = timeout

    def _call(self, method, url, **kwargs):
        kwargs["timeout"] = self._timeout
        if isinstance(self._session, TimeoutSession):
            kwargs["deadline"] = self._timeout
        return getattr(self._session, method)(url, **kwargs)

    def get(self, url, **kwargs):
        """GET with the fixed time limit."""
        return self._call("get", url, **kwargs)

    def post(self, url, **kwargs):
        """POST with the fixed time limit."""
        return self._call("post", url, **kwargs)

    def delete(self, url, **kwargs):
        """DELETE with the fixed time limit."""
        return self._call("delete", url, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


def read_capabilities(session, base, timeout):
    """Return the VOSI capabilities of a service ([] if unreadable).

    Read with ``session`` (``timeout`` seconds per request) and closed at once
    (pyvo's own capability reader streams and leaves the connection open).
    An answer over the size or time limits of a `TimeoutSession` raises
    `~twomass_vo.exceptions.ArchiveError`.
    """
    from pyvo.io.vosi import parse_capabilities

    try:
        with session.get(
            base.rstrip("/") + "/capabilities", timeout=timeout
        ) as response:
            response.raise_for_status()
            content = response.content
        with warnings.catch_warnings():  # a best-effort probe: stay quiet
            warnings.simplefilter("ignore")
            return list(parse_capabilities(io.BytesIO(content)))
    except (requests.RequestException, ValueError):
        return []


def answer_of(session, method, url, *, unreachable, what, **kwargs):
    """Send one request of a non-VO service (IBE, a CGI); return its answer.

    Parameters
    ----------
    session : `requests.Session`
        The archive's session (its time and byte limits apply).
    method : {'GET', 'POST'}
        The HTTP method.
    url : str
        Where to send it.
    unreachable : callable
        ``unreachable(url, exc)`` -> `~twomass_vo.exceptions.ArchiveError`
        for a connection failure or a timeout.
    what : str
        The service, for the messages (``IBE search``, ``SIA v1 CGI``).
    **kwargs
        As `requests.Session.request` (``params``, ``data``, ``files``).

    Returns
    -------
    response : `requests.Response`
        An HTTP 200 answer, read within the limits.

    Raises
    ------
    twomass_vo.exceptions.ServiceStatusError
        For another status, with the start of the answer (printable ASCII).
    twomass_vo.exceptions.ArchiveError
        For any other failure of the request.
    """
    try:
        response = session.request(method, url, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise unreachable(url, exc) from exc
    except requests.RequestException as exc:
        raise ArchiveError(f"{what} request to {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise ServiceStatusError(
            f"{what} {url} answered HTTP {response.status_code}: "
            f"{printable(response.content)}",
            status=response.status_code,
        )
    return response


def printable(content, limit=500):
    """Return the start of an answer as one line of printable ASCII.

    Parameters
    ----------
    content : bytes
        The answer.
    limit : int, optional
        Most characters kept.

    Returns
    -------
    text : str
        Its first characters, every other byte a blank, blanks collapsed.
    """
    text = content[: limit * 4].decode("ascii", "replace")
    text = "".join(c if c.isascii() and c.isprintable() else " " for c in text)
    return " ".join(text.split())[:limit]
