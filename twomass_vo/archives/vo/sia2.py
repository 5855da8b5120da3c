# Licensed under a 3-clause BSD style license - see LICENSE
"""SIA v2 querying: the requests, the query endpoint and their execution.

`SiaQueries` is the part of `~twomass_vo.archives.VOArchive` that makes
SIA v2 requests (``POS=CIRCLE ra dec r`` plus ``COLLECTION`` and an explicit
``MAXREC``) and finds the query endpoint in the service's VOSI capabilities;
`run_sia_query` runs one. Positions are searched by SIA v2 only as a
fallback, one small circle (`POINT_RADIUS`) per position, when the TAP
service takes no uploads.
"""

from ..._http.vo_session import read_capabilities
from ...exceptions import InvalidQueryError
from .query_values import check_url, format_number

__all__ = ["POINT_RADIUS", "SiaQueries", "run_sia_query"]

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


class SiaQueries:
    """SIA v2 requests of `~twomass_vo.archives.VOArchive` (a mixin).

    Reads the archive's ``sia_url``, ``collection``, ``sia_maxrec``,
    ``sia_capabilities``, ``session`` and ``timeout``.
    """

    def _sia(self, ra, dec, radius):
        circle = f"{format_number(ra)} {format_number(dec)} {format_number(radius)}"
        params = {"POS": f"CIRCLE {circle}"}
        if self.collection is not None:
            params["COLLECTION"] = self.collection
        params["MAXREC"] = str(self.sia_maxrec)
        return {"service": "sia", "url": self.sia_query_url, "params": params}

    @property
    def sia_query_url(self):
        """The SIA v2 query endpoint: ``sia_url``, or the one its capabilities name.

        Until the capabilities have been read (on the first SIA v2 look-up,
        when ``sia_capabilities`` is true) this is ``sia_url`` itself.
        """
        return self._sia_endpoint or self.sia_url

    def _resolve_sia(self, session=None):
        """Read ``{sia_url}/capabilities`` once for the query endpoint.

        As pyvo's `~pyvo.dal.SIA2Service` does: the access URL of the
        ``ivo://ivoa.net/std/SIA#query-2.0`` capability. When the service has
        no (readable) capabilities, ``sia_url`` is the query endpoint.
        """
        if self.sia_url is None or not self.sia_capabilities or self._sia_endpoint:
            return
        endpoint = self.sia_url
        found = None
        capabilities = read_capabilities(
            session or self.session, self.sia_url, self.timeout
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
                endpoint = self.sia_url
        self._sia_endpoint = endpoint
