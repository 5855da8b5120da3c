# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP connections of each download thread.

A download is one ``GET`` of a large file, many times over: what costs
is what every request does besides moving the bytes. `requests` prepares,
merges and wraps each request in Python (about 1 ms a request, under the
GIL that the worker threads share), which made a plain
``ThreadPoolExecutor`` + `requests` loop faster than the download engine
once the engine hashes every byte. The engine therefore sends its file
requests on the standard library's `http.client` connections (direct
connections, the common case) or with `urllib3` (the library under
`requests`; through a proxy, and to decode a body that a server encoded
although asked not to), and does here, once per thread and host, what
`requests` would do on every request:

- **TLS verification** always on, with the CA bundle `requests` would use
  (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else `certifi`'s);
- **proxies** from the environment (``HTTP(S)_PROXY``, ``ALL_PROXY``,
  ``NO_PROXY``, read by `requests.utils`), with their credentials; a SOCKS
  proxy needs PySocks, as with `requests`;
- **credentials** from ``~/.netrc`` for their host only, else those of the
  URL's own user info (``https://user:password@host/...``), sent as Basic
  authentication, never in the request line;
- **redirects** followed (at most `MAX_REDIRECTS`), to ``http(s)`` URLs
  only, the credentials of each hop being those of its own host (none are
  carried to another host);
- **keep-alive**: one direct connection per thread and host
  (`~twomass_vo._http.deadline.WatchedDirectConnection`; one checked for a
  close by the server before it is used again), and one
  `urllib3.PoolManager` per thread and proxy, whose pools are the watched
  ones of `twomass_vo._http.deadline`: the overall deadline of each attempt
  (`~twomass_vo._http.fetch`) shuts a connection down whatever the server does;
  all made again when a variable of `ENVIRONMENT` changes, closed when
  their thread ends, and never shared with a forked child.

`open_url` sends one request and gives back the answer unread; the
streaming of its body into a file, the checks and the retries are
`twomass_vo._http.fetch`'s.
"""

import http.client
import importlib.util
import os
import platform
import select
import ssl
import threading
import weakref
from urllib.parse import quote, unquote, urljoin, urlparse, urlsplit

import urllib3

from .deadline import WATCHED_POOL_CLASSES, WatchedDirectConnection

__all__ = [
    "ENVIRONMENT",
    "MAX_REDIRECTS",
    "DirectResponse",
    "RedirectError",
    "body_reader",
    "ca_bundle",
    "host_settings",
    "open_url",
    "user_agent",
]

#: Redirects followed for one request (as many as `requests` follows).
MAX_REDIRECTS = 30
_REDIRECTS = (301, 302, 303, 307, 308)

_local = threading.local()


def _forget_connections():
    """In a forked child: drop the connections it shares with its parent."""
    global _local
    _local = threading.local()


if hasattr(os, "register_at_fork"):  # a process pool's forked workers
    os.register_at_fork(after_in_child=_forget_connections)


class RedirectError(ValueError):
    """A redirect that is not followed: to a non-HTTP URL, or one too many."""


def user_agent():
    """Return the User-Agent of every request: package, requests, Python versions.

    Returns
    -------
    agent : str
        E.g. ``twomass_vo/0.1 requests/2.32 Python/3.11 (Linux)``.
    """
    import requests

    from ..version import version

    return (
        f"twomass_vo/{version} requests/{requests.__version__} "
        f"Python/{platform.python_version()} ({platform.system()})"
    )


def ca_bundle():
    """Return the CA certificates that verify servers, as `requests` finds them.

    Returns
    -------
    path : str
        ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` if set (a file or a
        folder of certificates), else the bundle of `certifi`.
    """
    found = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if found:
        return found
    from requests.certs import where  # certifi's bundle, as requests has it

    return where()


#: The environment variables that the connections depend on (proxies, CA
#: bundle, ``.netrc``): when one changes, a thread makes its connections and
#: looks its hosts up again, as `requests` would read them on every request.
ENVIRONMENT = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NETRC",
    "HOME",
)


class _ThreadState:
    """The connections and look-ups of one thread, for one environment."""

    def __init__(self, environment):
        self.environment = environment
        self.managers = {}  # proxy URL -> urllib3 pool manager
        self.hosts = {}  # (scheme, netloc) -> (proxy, auth)
        self.direct = {}  # (scheme, host, port) -> WatchedDirectConnection
        self.tls_context = None  # of the direct HTTPS connections
        # closed when the thread ends (its state is dropped), not left to the GC
        weakref.finalize(self, _close_all, self.direct)

    def close(self):
        for manager in self.managers.values():
            manager.clear()  # close the connections made for the old settings
        _close_all(self.direct)


def _close_all(connections):
    for connection in connections.values():
        connection.close()


def _thread_state():
    """Return this thread's `_ThreadState` for the environment as it is."""
    environment = tuple(map(os.environ.get, ENVIRONMENT))
    state = getattr(_local, "state", None)
    if state is None or state.environment != environment:
        if state is not None:
            state.close()
        state = _local.state = _ThreadState(environment)
    return state


def _manager(state, proxy):
    """Return this thread's urllib3 pool manager for the proxy URL ``proxy``."""
    managers = state.managers
    manager = managers.get(proxy)
    if manager is not None:
        return manager
    bundle = ca_bundle()
    tls = {"cert_reqs": "CERT_REQUIRED"}  # never switched off
    tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    if proxy.lower().startswith("socks"):
        # urllib3.contrib.socks without PySocks warns (DependencyWarning: an
        # exception where warnings are errors) before its ImportError: look first
        if importlib.util.find_spec("socks") is None:
            raise ValueError(
                f"the proxy {proxy} is a SOCKS proxy: install PySocks to use it"
            )
        from urllib3.contrib.socks import SOCKSProxyManager

        manager = SOCKSProxyManager(proxy, **tls)  # its pools are its own
    else:
        user = _credentials(proxy)
        headers = urllib3.make_headers(proxy_basic_auth=user) if user else None
        manager = urllib3.ProxyManager(proxy, proxy_headers=headers, **tls)
        manager.pool_classes_by_scheme = dict(WATCHED_POOL_CLASSES)
    managers[proxy] = manager
    return manager


def _credentials(url):
    """``user:password`` of a URL's user info (unquoted), or None."""
    parsed = urlparse(url)
    if not parsed.username:
        return None
    return f"{unquote(parsed.username)}:{unquote(parsed.password or '')}"


def host_settings(url):
    """Return the proxy and the credentials of ``url``'s host.

    As `requests` finds them in the environment; looked up once per thread
    and host, and again when a variable of `ENVIRONMENT` changes.

    Parameters
    ----------
    url : str
        The URL.

    Returns
    -------
    proxy : str or None
        The proxy URL for ``url`` (None: a direct connection).
    auth : tuple or None
        ``(user, password)`` from ``.netrc`` for the host, else from the
        URL's user info (as `requests` chooses), or None.
    """
    return _host_settings(_thread_state(), url)


def _host_settings(state, url):
    from requests.utils import (
        get_auth_from_url,
        get_environ_proxies,
        get_netrc_auth,
        select_proxy,
    )

    hosts = state.hosts
    parsed = urlparse(url)
    key = (parsed.scheme, parsed.netloc)
    found = hosts.get(key)
    if found is None:
        proxy = select_proxy(url, get_environ_proxies(url))
        auth = get_netrc_auth(url)
        if auth is None and "@" in parsed.netloc:
            auth = get_auth_from_url(url)
            auth = auth if any(auth) else None
        found = hosts[key] = (proxy or None, auth)
    return found


def _without_user_info(url):
    """``url`` without ``user:password@`` (a proxy would see it in the request line)."""
    parsed = urlparse(url)
    if "@" not in parsed.netloc:
        return url
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()


def open_url(url, *, headers, timeout):
    """Send ``GET url`` and return the final answer, its body unread.

    Redirects are followed (`MAX_REDIRECTS` at most), each hop with its own
    host's proxy and credentials; the body of a redirect is not read (its
    connection is closed).

    Parameters
    ----------
    url : str
        An ``http(s)`` URL.
    headers : dict
        Request headers (User-Agent and Accept are added).
    timeout : float
        Seconds to connect, and seconds without a byte before a read gives
        up.

    Returns
    -------
    response : `DirectResponse` or `urllib3.response.HTTPResponse`
        The answer (``status``, ``reason``, ``headers``), its body to be
        read (`body_reader`); release its connection (``release_conn``)
        once the body is read whole, else ``close`` it.
    url : str
        The URL that gave it (after redirects).

    Raises
    ------
    RedirectError
        For a redirect to a non-HTTP URL, or past `MAX_REDIRECTS`.
    ssl.SSLError or urllib3.exceptions.SSLError
        When the server's certificate is not trusted, or TLS fails.
    OSError, http.client.HTTPException or urllib3.exceptions.HTTPError
        When the request fails otherwise (connection, timeouts, a bad
        answer).
    ValueError
        For a URL that cannot be sent, or a SOCKS proxy without PySocks.
    """
    sent = {"User-Agent": _agent(), "Accept": "*/*", **headers}
    state = _thread_state()
    for _ in range(MAX_REDIRECTS + 1):
        proxy, auth = _host_settings(state, url)
        hop = dict(sent)
        if auth is not None:
            hop.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        plain = _without_user_info(url) if "@" in url else url
        if proxy is None:  # the common case: a direct connection (http.client)
            response = _direct(state, plain, hop, timeout)
        else:  # the proxy manager sends the absolute URI (or a CONNECT tunnel)
            response = _through_proxy(state, proxy, plain, hop, timeout)
        location = response.headers.get("Location")
        if response.status not in _REDIRECTS or location is None:
            return response, url
        response.close()
        response.release_conn()
        target = urljoin(url, location.strip())
        if urlparse(target).scheme not in ("http", "https"):
            raise RedirectError(f"redirected to a non-HTTP URL {target!r}")
        url = target
    raise RedirectError(f"more than {MAX_REDIRECTS} redirects")


def _through_proxy(state, proxy, url, headers, timeout):
    """Send ``GET url`` through ``proxy`` with this thread's urllib3 manager."""
    return _manager(state, proxy).urlopen(
        "GET",
        url,
        headers=headers,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        redirect=False,
        preload_content=False,
        decode_content=False,
    )


class DirectResponse:
    """An answer read on a direct connection, with urllib3's release methods.

    Attributes
    ----------
    status : int
        The HTTP status.
    reason : str
        Its reason phrase.
    headers : `http.client.HTTPMessage`
        The headers (``get`` ignores case).
    response : `http.client.HTTPResponse`
        The answer, its body to be read.
    """

    def __init__(self, response, connection):
        self.response = response
        self.status = response.status
        self.reason = response.reason
        self.headers = response.headers
        self._connection = connection

    def close(self):
        """Drop the connection (its body was not read whole)."""
        self.response.close()
        self._connection.close()

    def release_conn(self):
        """Nothing to give back: the connection stays this thread's, kept alive."""


def body_reader(response):
    """Return the `http.client.HTTPResponse` to read the body of an answer from.

    Parameters
    ----------
    response : `DirectResponse` or `urllib3.response.HTTPResponse`
        An answer of `open_url`.

    Returns
    -------
    reader : `http.client.HTTPResponse` or None
        Its standard-library response (read it with ``readinto``), or None
        if urllib3 holds the body some other way (then read it through
        urllib3).
    """
    if isinstance(response, DirectResponse):
        return response.response
    reader = getattr(response, "_fp", None)  # urllib3's own http.client answer
    return reader if isinstance(reader, http.client.HTTPResponse) else None


def _tls_context(state):
    if state.tls_context is None:
        bundle = ca_bundle()  # verification and host names: never switched off
        where = {"capath" if os.path.isdir(bundle) else "cafile": bundle}
        state.tls_context = ssl.create_default_context(**where)
    return state.tls_context


def _dropped(sock):
    """Whether a kept-alive connection was closed, or sent what nobody asked."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _direct(state, url, headers, timeout):
    """Send ``GET url`` on this thread's direct connection to its host.

    Returns a `DirectResponse`, or, for an answer whose body is encoded
    (the server ignored ``Accept-Encoding: identity``), a
    `urllib3.response.HTTPResponse` around it, which decodes it.
    """
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    key = (parts.scheme, parts.hostname, parts.port)
    connection = state.direct.get(key)
    if connection is None:
        connection = state.direct[key] = WatchedDirectConnection(
            parts.hostname,
            parts.port or (443 if tls else 80),  # given: "::1" is no host:port
            timeout=timeout,
            tls_context=_tls_context(state) if tls else None,
        )
    elif connection.sock is not None and _dropped(connection.sock):
        connection.close()  # made again by the request
    connection.timeout = timeout
    if connection.sock is not None and connection.sock.gettimeout() != timeout:
        connection.sock.settimeout(timeout)  # a system call: only if it changed
    target = quote(parts.path or "/", safe=_PATH_SAFE) + (
        "?" + quote(parts.query, safe=_QUERY_SAFE) if parts.query else ""
    )
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
    except BaseException:
        connection.close()
        raise
    encoding = response.headers.get("Content-Encoding", "identity")
    if encoding.strip().lower() not in ("", "identity"):
        # asked for identity, got e.g. gzip: urllib3 decodes it (its close()
        # drops this connection, unless the body was read whole)
        return urllib3.HTTPResponse(
            body=response,
            headers=dict(response.headers.items()),
            status=response.status,
            reason=response.reason,
            preload_content=False,
            decode_content=True,
            original_response=response,
            connection=connection,
            enforce_content_length=False,
        )
    return DirectResponse(response, connection)


#: Characters left as they are in a request's path and query (the others are
#: percent-encoded, as urllib3 does).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def _agent():
    agent = getattr(_local, "agent", None)
    if agent is None:
        agent = _local.agent = user_agent()
    return agent
