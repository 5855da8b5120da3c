# Licensed under a 3-clause BSD style license - see LICENSE
"""SIA v2 querying: the requests, the query endpoint and their execution.

`SiaClient` is the SIA v2 service of a `~twomass_vo.archives.VOArchive`
(``archive.sia``): it makes SIA v2 requests (``POS=CIRCLE ra dec r`` plus
``COLLECTION`` and an explicit ``MAXREC``), finds the query endpoint in
the service's VOSI capabilities and runs them (`run_sia_query`).
Positions are searched by SIA v2 only as a fallback, one small circle
(`POINT_RADIUS`) per position, when the TAP service takes no uploads.
"""

from ..._http.vo_session import read_capabilities
from ...exceptions import InvalidQueryError
from .query_values import check_url, format_number

__all__ = ["POINT_RADIUS", "SiaClient", "run_sia_query"]

#: Circle radius (degrees) that stands for a point in the per-position SIA v2
#: fallback: any positive radius gives a superset of the images containing the
#: point; the planner tests containment exactly.
POINT_RADIUS = 1e-4

_SIA2_STANDARD = "ivo://ivoa.net/std/sia#query-2.0"


def run_sia_query(session, url, params):
    """Run one SIA v2 request; return pyvo's results.

    Parameters
    ----------
    session : `requests.Session`
        The session that sends the request.
    url : str
        The query endpoint.
    params : dict
        The request parameters (``MAXREC`` included).
    """
    from pyvo.dal import SIA2Query

    query = SIA2Query(url, session=session)
    query.update(params)
    query.maxrec = int(params["MAXREC"])
    return query.execute()


class SiaClient:
    """An SIA v2 service: its requests, its query endpoint, their execution.

    Held by `~twomass_vo.archives.VOArchive` as ``archive.sia``, as pyvo's
    `~pyvo.dal.SIA2Service` holds a service URL: the endpoint is read from
    the service's VOSI capabilities on first use (`resolve`).

    Parameters
    ----------
    url : str or None
        The service's base URL or its query endpoint (None: no SIA v2).
    session : `requests.Session`
        The session that sends every request (the archive's).
    timeout : float
        Time limit in seconds of the capabilities request.
    collection : str, optional
        ``COLLECTION`` constraint of every request.
    maxrec : int, optional
        ``MAXREC`` of every request.
    capabilities : bool, optional
        Read ``{url}/capabilities`` for the query endpoint (`resolve`);
        False: ``url`` is the query endpoint.
    """

    def __init__(
        self,
        url,
        session,
        timeout,
        *,
        collection=None,
        maxrec=100_000,
        capabilities=True,
    ):
        self.url = url
        self.session = session
        self.timeout = timeout
        self.collection = collection
        self.maxrec = int(maxrec)
        self.capabilities = bool(capabilities)
        self._endpoint = None

    def circle(self, ra, dec, radius):
        """Return the request of one circle (``POS=CIRCLE ra dec r``).

        Parameters
        ----------
        ra, dec, radius : float
            Centre and radius, degrees (validated by the caller).

        Returns
        -------
        payload : dict
            ``{"service": "sia", "url", "params"}``, ``COLLECTION`` and
            ``MAXREC`` included.
        """
        circle = f"{format_number(ra)} {format_number(dec)} {format_number(radius)}"
        params = {"POS": f"CIRCLE {circle}"}
        if self.collection is not None:
            params["COLLECTION"] = self.collection
        params["MAXREC"] = str(self.maxrec)
        return {"service": "sia", "url": self.query_url, "params": params}

    @property
    def query_url(self):
        """The query endpoint: ``url``, or the one its capabilities name.

        Until the capabilities have been read (on the first SIA v2 look-up,
        when ``capabilities`` is true) this is ``url`` itself.
        """
        return self._endpoint or self.url

    def resolve(self, session=None):
        """Read ``{url}/capabilities`` once for the query endpoint.

        As pyvo's `~pyvo.dal.SIA2Service` does: the access URL of the
        ``ivo://ivoa.net/std/SIA#query-2.0`` capability. When the service has
        no (readable) capabilities, ``url`` is the query endpoint.

        Parameters
        ----------
        session : `requests.Session`, optional
            Session of this request (default: the client's).
        """
        if self.url is None or not self.capabilities or self._endpoint:
            return
        endpoint = self.url
        found = None
        capabilities = read_capabilities(
            session or self.session, self.url, self.timeout
        )
        for capability in capabilities:
            if str(capability.standardid or "").lower() == _SIA2_STANDARD:
                urls = [u.content for i in capability.interfaces for u in i.accessurls]
                found = urls[0] if urls else None
                break
        if found:
            try:
                endpoint = check_url(found.rstrip("?&"), "SIA v2 query endpoint")
            except InvalidQueryError:
                endpoint = self.url
        self._endpoint = endpoint

    def run(self, payload):
        """Run one request of `circle`; return pyvo's results."""
        return run_sia_query(self.session, payload["url"], payload["params"])
