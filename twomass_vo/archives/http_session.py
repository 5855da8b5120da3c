# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP session of the VO archives: where requests are sent and answers read.

`TimeoutSession` is the session a `~twomass_vo.archives.vo.VOArchive` makes
(`make_session`): every request gets a default time limit and every answer is
read at once (pyvo's streamed documents included). `TimeoutProxy` gives an
existing session a fixed time limit (for the endpoint checks), and
`read_capabilities` reads a service's VOSI capabilities with a session.
"""

import io
import warnings

import requests

__all__ = ["TimeoutProxy", "TimeoutSession", "make_session", "read_capabilities"]


class _BufferedRaw(io.BytesIO):
    """An in-memory stand-in for urllib3's raw stream, read as pyvo reads it."""

    def read(self, amt=None, decode_content=None, **kwargs):
        return super().read(-1 if amt is None else amt)


class TimeoutSession(requests.Session):
    """The archive's HTTP session: default time limit, no connection left open.

    pyvo sets no time limit, and reads several documents (VOSI capabilities,
    UWS job phases) as ``stream=True`` responses whose connections it never
    releases. Here every response is read at once, its connection goes back to
    the pool, and a streamed response gets an in-memory ``raw`` with the
    (decoded) body, which is what pyvo parses.
    """

    def __init__(self, timeout):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        """Send a request (default time limit) and read its answer at once."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        stream = kwargs.pop("stream", False)
        response = super().request(method, url, stream=False, **kwargs)
        if stream:
            response.raw = _BufferedRaw(response.content)
        return response


def make_session(timeout):
    """Return a new `TimeoutSession` with the twomass_vo + pyvo user agent.

    Parameters
    ----------
    timeout : float
        Default time limit in seconds of each request.
    """
    from pyvo.utils import http

    from ..version import version

    session = TimeoutSession(timeout)
    session.headers["User-Agent"] = f"twomass_vo/{version} {http.USER_AGENT}"
    return session


class TimeoutProxy:
    """A session with a fixed request timeout (for `VOArchive.check`)."""

    def __init__(self, session, timeout):
        self._session = session
        self._timeout = timeout

    def _call(self, method, url, **kwargs):
        kwargs["timeout"] = self._timeout
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
