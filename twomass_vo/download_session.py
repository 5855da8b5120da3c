# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP session of each download thread.

`session` gives every thread its own `requests.Session` (sessions are not
thread-safe): TLS verification always on, connections kept alive, and a
`~twomass_vo.http_deadline.DeadlineAdapter` mounted, so that a request sent
in a `~twomass_vo.http_deadline.watching` block is cut when its overall
deadline passes (see `twomass_vo.http_deadline`). `host_settings` reads
what requests would read from the environment once per thread and host.
The streaming of a body into a file is `twomass_vo.fetch`'s.
"""

import os
import platform
import threading
from urllib.parse import urlparse

from .http_deadline import DeadlineAdapter

__all__ = ["host_settings", "session", "user_agent"]

_local = threading.local()


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
        session.mount("http://", DeadlineAdapter())
        session.mount("https://", DeadlineAdapter())
        _local.session = session
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
