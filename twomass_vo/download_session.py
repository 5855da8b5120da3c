# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP connections of each download thread, straight on urllib3.

A download is one ``GET`` of a large file, many times over: what costs
is what every request does besides moving the bytes. `requests` prepares,
merges and wraps each request in Python (about 1 ms a request, under the
GIL that the worker threads share), which made a plain
``ThreadPoolExecutor`` + `requests` loop faster than the download engine
once the engine hashes every byte. The engine therefore sends its file
requests with `urllib3` (the library under `requests`) and does here, once
per thread and host, what `requests` would do on every request:

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
- **keep-alive**: one `urllib3.PoolManager` per thread and proxy, whose
  connection pools are the watched ones of `twomass_vo.http_deadline`, so
  that the overall deadline of each attempt (`~twomass_vo.fetch`) shuts a
  connection down whatever the server does; made again when a variable of
  `ENVIRONMENT` changes, and never shared with a forked child.

`open_url` sends one request and gives back the answer unread; the
streaming of its body into a file, the checks and the retries are
`twomass_vo.fetch`'s.
"""

import importlib.util
import os
import platform
import threading
from urllib.parse import unquote, urljoin, urlparse

from .http_deadline import WATCHED_POOL_CLASSES

__all__ = [
    "ENVIRONMENT",
    "MAX_REDIRECTS",
    "RedirectError",
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

    from .version import version

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
        self.managers = {}  # proxy (None: none) -> pool manager
        self.hosts = {}  # (scheme, netloc) -> (proxy, auth)

    def close(self):
        for manager in self.managers.values():
            manager.clear()  # close the connections made for the old settings


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
    """Return this thread's pool manager for ``proxy`` (None: no proxy)."""
    managers = state.managers
    manager = managers.get(proxy)
    if manager is not None:
        return manager
    import urllib3

    bundle = ca_bundle()
    tls = {"cert_reqs": "CERT_REQUIRED"}  # never switched off
    tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    if proxy is None:
        manager = urllib3.PoolManager(**tls)
    elif proxy.lower().startswith("socks"):
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
    if not proxy or not proxy.lower().startswith("socks"):
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
    response : `urllib3.response.HTTPResponse`
        The answer (status, reason, headers), its body to be read; release
        its connection (``release_conn``) once the body is read whole, else
        ``close`` it.
    url : str
        The URL that gave it (after redirects).

    Raises
    ------
    RedirectError
        For a redirect to a non-HTTP URL, or past `MAX_REDIRECTS`.
    urllib3.exceptions.HTTPError
        When the request fails (connection, TLS, timeouts).
    ValueError
        For a SOCKS proxy without PySocks.
    """
    import urllib3

    sent = {"User-Agent": _agent(), "Accept": "*/*", **headers}
    limit = urllib3.Timeout(connect=timeout, read=timeout)
    state = _thread_state()
    for _ in range(MAX_REDIRECTS + 1):
        proxy, auth = _host_settings(state, url)
        hop = dict(sent)
        if auth is not None:
            hop.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        plain = _without_user_info(url) if "@" in url else url
        options = {
            "headers": hop,
            "timeout": limit,
            "retries": False,
            "redirect": False,
            "preload_content": False,
            "decode_content": False,
        }
        response = _manager(state, proxy).urlopen("GET", plain, **options)
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


def _agent():
    agent = getattr(_local, "agent", None)
    if agent is None:
        agent = _local.agent = user_agent()
    return agent
