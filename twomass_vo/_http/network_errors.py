# Licensed under a 3-clause BSD style license - see LICENSE
"""Network failures in words: which host, and what went wrong.

A failed request reaches the user through several layers (``socket``, `ssl`,
`urllib3`, `requests`, `pyvo`, astropy's name resolver), each wrapping the
one below in a longer message (~570 characters of ``MaxRetryError(...
NewConnectionError(...))`` for one refused connection). `network_failure`
looks through an exception and everything it wraps (``__cause__``,
``__context__``, urllib3's ``reason``, pyvo's ``cause``, requests' first
argument) for the failure underneath, and says it as a `NetworkFailure`: the
host, and the cause in words -- ``cannot resolve host``, ``connection
refused``, ``timed out after 60 s``, ``connection reset``, ``TLS certificate
not trusted``, ... `unreachable_error` turns it into the
`~twomass_vo.exceptions.ArchiveUnreachableError` the archives raise, and the
command line prints `NetworkFailure.line` (exit status 3).
"""

import errno
import http.client
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..exceptions import ArchiveUnreachableError

__all__ = [
    "NetworkFailure",
    "network_failure",
    "unreachable_error",
    "wrapped_exceptions",
]

#: At most this many wrapped exceptions are looked at (a chain could loop).
_MAX_LINKS = 50
_HOST = re.compile(r"host='([^']+)'")
_URL = re.compile(r"https?://([^/:\s'\"?#]+)")
_TIMEOUT = re.compile(r"(?:timeout=|within )(\d+(?:\.\d+)?)")
#: Words of a message that say what failed, when no exception type does.
_TEXTS = (
    ("name or service not known", "cannot resolve host"),
    ("temporary failure in name resolution", "cannot resolve host"),
    ("nodename nor servname", "cannot resolve host"),
    ("failed to resolve", "cannot resolve host"),
    ("connection refused", "connection refused"),
    ("network is unreachable", "network unreachable"),
    ("timed out", "timed out"),
)
_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out",
    errno.EPIPE: "connection closed by the server",
}


@dataclass(frozen=True)
class NetworkFailure:
    """A network failure in words.

    Attributes
    ----------
    host : str or None
        The host that could not be reached.
    cause : str
        What went wrong, e.g. ``cannot resolve host``, ``connection
        refused``, ``timed out after 60 s``.
    """

    host: str | None
    cause: str

    @property
    def line(self):
        """One short line: ``cannot reach HOST: CAUSE``."""
        return f"cannot reach {self.host or 'the service'}: {self.cause}"


def wrapped_exceptions(exc):
    """Return an exception and everything it wraps, breadth first, each once.

    Parameters
    ----------
    exc : BaseException
        The exception.

    Returns
    -------
    exceptions : list of BaseException
        ``exc`` first, then what its ``__cause__``, ``__context__``,
        ``reason`` (urllib3, urllib), ``cause`` (pyvo) and first argument
        (requests) hold, and so on (at most 50).
    """
    seen, queue, out = set(), [exc], []
    while queue and len(out) < _MAX_LINKS:
        item = queue.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        out.append(item)
        queue.extend(
            [
                item.__cause__,
                item.__context__,
                getattr(item, "reason", None),  # urllib3 MaxRetryError, URLError
                getattr(item, "cause", None),  # pyvo's DAL exceptions
                *(item.args[:1] if item.args else ()),  # requests wraps urllib3
            ]
        )
    return out


def _cause(exc):
    """Return what one exception says failed (None: no network failure)."""
    import urllib3.exceptions as u3

    if isinstance(exc, ArchiveUnreachableError) and exc.why:
        return exc.why
    if isinstance(exc, socket.gaierror | u3.NameResolutionError):
        return "cannot resolve host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(exc, ssl.SSLError | u3.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, u3.NewConnectionError):  # a subclass of ConnectTimeoutError
        return None  # what is underneath says why (refused, unreachable, ...)
    if isinstance(exc, TimeoutError | u3.TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno in _ERRNOS:
        return _ERRNOS[exc.errno]
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, http.client.RemoteDisconnected | u3.ProtocolError):
        return "connection closed without an answer"
    return None


def _text_cause(exc):
    """Return what a message says failed, for errors that keep only the text."""
    text = str(exc).lower()
    for words, cause in _TEXTS:
        if words in text:
            return cause
    return None


def _host(links, url):
    """Return the host the exceptions name, else that of ``url``."""
    for exc in links:
        if isinstance(exc, ArchiveUnreachableError) and exc.host:
            return exc.host
        for holder in (getattr(exc, "pool", None), getattr(exc, "conn", None)):
            host = getattr(holder, "host", None)
            if isinstance(host, str) and host:
                return host
        request = getattr(exc, "request", None)
        if getattr(request, "url", None):
            return urlsplit(request.url).hostname
    if url:
        return urlsplit(url).hostname
    for exc in links:
        found = _HOST.search(str(exc)) or _URL.search(str(exc))
        if found:
            return found[1]
    return None


def network_failure(exc, *, url=None):
    """Find the network failure under an exception, and say it in words.

    Parameters
    ----------
    exc : BaseException
        Any exception (e.g. a `requests.ConnectionError`, a pyvo
        ``DALServiceError``, an `~twomass_vo.exceptions.ArchiveError`, a
        failed name resolution).
    url : str, optional
        The URL asked, if the exceptions do not name a host.

    Returns
    -------
    failure : `NetworkFailure` or None
        None if no network failure is underneath (an error answer of a
        server, a bad value, a file that cannot be written, ...).
    """
    links = wrapped_exceptions(exc)
    cause = next((c for c in map(_cause, links) if c is not None), None)
    if cause is None:
        texts = [
            e
            for e in links
            if isinstance(e, OSError) or "resol" in type(e).__name__.lower()
        ]
        cause = next((c for c in map(_text_cause, texts) if c is not None), None)
    if cause is None:
        return None
    if cause == "timed out":
        seconds = next((m[1] for m in map(_TIMEOUT.search, map(str, links)) if m), None)
        if seconds is not None:
            cause = f"timed out after {float(seconds):g} s"
    return NetworkFailure(_host(links, url), cause)


def unreachable_error(what, url, exc):
    """Return the `~twomass_vo.exceptions.ArchiveUnreachableError` for ``exc``, or None.

    Parameters
    ----------
    what : str
        Who could not be reached, e.g. ``TAP service`` or ``IRSA``.
    url : str
        The URL asked (its query string is left out of the message).
    exc : BaseException
        What the request raised.

    Returns
    -------
    error : `~twomass_vo.exceptions.ArchiveUnreachableError` or None
        One line, e.g. ``cannot reach the TAP service at
        http://127.0.0.1:9/tap/sync: connection refused``, with ``host``,
        ``why``, ``url``
        and the full ``detail``; None if ``exc`` is no network failure.
    """
    failure = network_failure(exc, url=url)
    if failure is None:
        return None
    where = url.split("?", 1)[0]
    return ArchiveUnreachableError(
        f"cannot reach the {what} at {where}: {failure.cause}",
        url=url,
        host=failure.host,
        why=failure.cause,
        detail=f"{type(exc).__name__}: {exc}",
    )
