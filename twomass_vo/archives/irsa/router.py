# Licensed under a 3-clause BSD style license - see LICENSE
"""Which IRSA route each batch mode takes: choice, TAP discovery and fallback.

`IrsaRouter` is held by `~twomass_vo.archives.IrsaArchive` as
``archive.router``. It owns what the archive learns while it runs: the TAP
image table found in ``TAP_SCHEMA`` (`~twomass_vo.archives.irsa.discovery`),
the routes that failed as services (SIA v2, IBE, a TAP table that cannot
answer), and the log of the requests of the last look-up. From these it
chooses the route of each mode (`IrsaRouter.routes`) and runs a look-up
with its fallbacks (`IrsaRouter.look_up`). The archive's own settings are
never rewritten: its ``table`` and ``columns`` are read from the router.
"""

from ...exceptions import ArchiveError, ArchiveUnreachableError, ServiceStatusError
from ..vo.adql import checked_columns
from .discovery import Discovery, discover_image_table

__all__ = ["MODES", "ROUTES", "IrsaRouter"]

#: The five batch modes and the look-up each one uses.
MODES = {
    "region": "circle",
    "positions": "points",
    "coadd_keys": "coadd_keys",
    "scan": "scans",
    "scans": "scans",
}

#: The routes, and what each one sends.
ROUTES = {
    "sia": "one SIA v2 request (POS=CIRCLE)",
    "ibe-box": "one IBE search, POS + SIZE box, INTERSECT=OVERLAPS",
    "tap": "TAP queries on the discovered image table",
    "tap-upload": "one TAP query per chunk of uploaded positions",
    "ibe-upload": "one IBE search per chunk of positions (multipart POS upload)",
    "ibe-where": "IBE searches with where (coadd_key IN / ordate, hemisphere, scanno)",
    "sia-per-position": "one SIA v2 request per position (no TAP table, no IBE)",
    "sia1-box": "one request of IRSA's SIA v1 CGI, POS + SIZE covering the region",
    "sia1-groups": "one SIA v1 CGI request per sky cell of nearby positions",
    "sia1-files": "SIA v1 CGI requests at the image sets found (Quicklook files)",
}


def _service_failure(exc):
    """Whether ``exc`` is a failed request (HTTP error, not a VOTable).

    Not an error document the service answered (a query error), a truncated
    answer or bad values: those are reported, not routed around.
    """
    from pyvo.dal.exceptions import DALProtocolError

    cause = exc.__cause__
    return isinstance(cause, DALProtocolError)


class IrsaRouter:
    """Route choice, TAP table discovery and fallback of an IRSA archive.

    Parameters
    ----------
    sia : `~twomass_vo.archives.vo.sia2.SiaClient`
        The archive's SIA v2 service (its ``url`` None: no SIA v2).
    tap_url : str
        IRSA's TAP base URL.
    ibe_url, sia1_url : str or None
        IBE's search URL and the SIA v1 CGI (None: not used).
    table : str or None
        The configured TAP image table (None: found by discovery, if any).
    columns : dict
        The configured columns (validated, see
        `~twomass_vo.archives.vo.adql.checked_columns`).
    discover : bool
        Read ``TAP_SCHEMA`` before using TAP; False: ``table`` and
        ``columns`` are used as given.
    upload : bool
        Whether TAP uploads are on (positions by TAP need them).
    """

    def __init__(
        self, sia, tap_url, ibe_url, sia1_url, *, table, columns, discover, upload
    ):
        self.sia = sia
        self.tap_url = tap_url
        self.ibe_url = ibe_url
        self.sia1_url = sia1_url
        self.configured_table = table
        self.configured_columns = dict(columns)
        self.discover = bool(discover)
        self.upload = bool(upload)
        #: What discovery found (a `~twomass_vo.archives.irsa.discovery.Discovery`),
        #: or None before it ran.
        self.discovery = None
        if not self.discover:
            self.discovery = Discovery(
                table,
                dict(columns),
                reason="configured (TAP_SCHEMA not read)"
                if table
                else "no table configured and discovery off",
            )
        self._columns = self._columns_of(self.discovery)
        #: Why SIA v2 is no longer used for regions (None while it answers).
        self.sia_failure = None
        #: Why IBE searches (boxes, uploads) are no longer used (None while
        #: IBE answers): regions and positions then go to the SIA v1 CGI.
        self.ibe_failure = None
        self._log = None
        self._depth = 0

    # -------------------------------------------------------------- TAP table
    def _columns_of(self, found):
        if found is not None and found.table is not None:
            return checked_columns(found.columns)
        return dict(self.configured_columns)

    @property
    def table(self):
        """The TAP image table in use: discovered, else configured (or None)."""
        if self.discovery is not None:
            return self.discovery.table
        return self.configured_table

    @property
    def columns(self):
        """The columns of `table`: discovered, else configured."""
        return self._columns

    def discover_table(self, session):
        """Find the TAP image table once (``TAP_SCHEMA``); return the `Discovery`.

        Parameters
        ----------
        session : `requests.Session`
            The session of the ``TAP_SCHEMA`` queries.

        Raises
        ------
        requests.ConnectionError, requests.Timeout
            When the TAP service cannot be reached (the archive says so).
        """
        if self.discovery is None:
            from pyvo.dal import TAPService

            service = TAPService(self.tap_url, session=session)
            self._use(
                discover_image_table(
                    service,
                    table=self.configured_table,
                    configured=self.configured_columns,
                )
            )
        return self.discovery

    def _use(self, found):
        self.discovery = found
        self._columns = self._columns_of(found)

    def tap_table(self):
        """Whether a usable TAP table is known (without network access)."""
        if self.discovery is not None:
            return self.discovery.table is not None
        return self.configured_table is not None

    def tap_spatial(self):
        """Whether positions can go to TAP (a spatial table, uploads on)."""
        if self.discovery is not None:
            return self.discovery.spatial and self.upload
        return (
            self.configured_table is not None
            and self.upload
            and bool(self.configured_columns["s_region"])
        )

    # ------------------------------------------------------------------ routes
    def routes(self, image_type="atlas"):
        """Return the route of each mode, as far as known without network access.

        Before discovery ran, a configured ``table`` counts as usable and no
        table means IBE. A route that failed (``sia_failure``,
        ``ibe_failure``) is no longer chosen: regions then go to IBE, then to
        the SIA v1 CGI; positions to IBE, SIA v2, then the CGI.

        Parameters
        ----------
        image_type : {'atlas', 'quicklook'}, optional
            For Quicklook images, regions go to the SIA v1 CGI (``type=ql``),
            the only IRSA service that lists them; the other modes find their
            image sets as for Atlas images, then ask the CGI for the
            Quicklook files (``sia1-files``).

        Returns
        -------
        routes : dict
            Mode -> ``'sia'``, ``'ibe-box'``, ``'sia1-box'``, ``'tap'``,
            ``'tap-upload'``, ``'ibe-upload'``, ``'sia-per-position'``,
            ``'sia1-groups'`` or ``'ibe-where'`` (see `ROUTES`).
        """
        sia = self.sia.url is not None and self.sia_failure is None
        ibe = self.ibe_url is not None and self.ibe_failure is None
        cgi = self.sia1_url is not None
        if image_type == "quicklook" and cgi:
            region = "sia1-box"
        elif sia:
            region = "sia"
        elif ibe:
            region = "ibe-box"
        elif cgi:
            region = "sia1-box"
        else:
            region = "tap"
        if self.tap_spatial():
            points = "tap-upload"
        elif ibe:
            points = "ibe-upload"
        elif sia:
            points = "sia-per-position"
        elif cgi:
            points = "sia1-groups"
        else:
            points = "tap"
        listed = "tap" if self.tap_table() or self.ibe_url is None else "ibe-where"
        found = {"region": region, "positions": points, "coadd_keys": listed}
        return {mode: found.get(mode, listed) for mode in MODES}

    def route_url(self, route):
        """Return the service URL of a route."""
        if route.startswith("sia1"):
            return self.sia1_url
        if route.startswith("sia"):
            return self.sia.query_url
        if route.startswith("ibe"):
            return self.ibe_url
        return self.tap_url

    def record(self, route, url):
        """Log one request of the current look-up (its route and service URL)."""
        if self._log is not None:
            self._log.append((route, url))

    def route_info(self):
        """Routes and service URLs of the last look-up (for table metadata).

        Returns
        -------
        info : dict
            ``route`` (routes used, comma-separated) and ``route_urls`` (the
            service URLs asked, space-separated); empty before any look-up.
        """
        if not self._log:
            return {}
        routes = list(dict.fromkeys(r for r, _ in self._log))
        urls = list(dict.fromkeys(u for _, u in self._log))
        return {"route": ", ".join(routes), "route_urls": " ".join(urls)}

    # ---------------------------------------------------------------- fallback
    def look_up(self, mode, call, image_type="atlas", *, discover):
        """Run a look-up: discovery first, log its requests, fall back.

        When a route fails as a service (SIA v2 or IBE answering an HTTP
        error, a TAP query on the undiscovered table failing), the failure is
        remembered here and ``call`` runs again, on the route `routes` then
        chooses; an unreachable IRSA is not routed around.

        Parameters
        ----------
        mode : str
            One of `MODES`.
        call : callable
            Runs the look-up (on the route `routes` gives); returns its sets.
        image_type : {'atlas', 'quicklook'}, optional
            The image type asked for.
        discover : callable
            Finds the TAP table (the archive's ``discover_table``): called
            first when the mode could take a TAP route and discovery is on
            and has not run.
        """
        outer = self._depth == 0
        if outer:
            self._log = []
        self._depth += 1
        try:
            needs_tap = mode != "region" or self.routes()["region"] == "tap"
            if self.discovery is None and self.discover and needs_tap:
                discover()
            tried = set()
            while True:
                route = self.routes(image_type)[mode]
                tried.add(route)
                try:
                    return call()
                except ArchiveUnreachableError:
                    raise  # one message; another route of the same host would fail too
                except ArchiveError as exc:
                    if not self.failed(route, exc):
                        raise
                    if self.routes(image_type)[mode] in tried:
                        raise
        finally:
            self._depth -= 1

    def failed(self, route, exc):
        """Remember that ``route`` failed as a service; whether another may answer.

        Parameters
        ----------
        route : str
            The route that failed (see `ROUTES`).
        exc : twomass_vo.exceptions.ArchiveError
            How it failed.
        """
        if route in ("sia", "sia-per-position") and _service_failure(exc):
            if self.ibe_url is None and self.sia1_url is None:
                return False
            instead = "IBE" if self.ibe_url else "IRSA's SIA v1 CGI"
            self.sia_failure = f"SIA v2 failed ({exc}); {instead} is used instead"
            return True
        if route in ("ibe-box", "ibe-upload") and isinstance(exc, ServiceStatusError):
            if self.sia1_url is None:
                return False
            self.ibe_failure = (
                f"IBE failed ({exc}); IRSA's SIA v1 CGI is used instead for "
                "regions and positions"
            )
            return True
        if route in ("tap", "tap-upload") and self.ibe_url:
            # the table is not confirmed: a missing table or column, or a
            # query it cannot run -- IBE, which is, answers instead
            self._use(
                Discovery(None, reason=f"TAP query failed ({exc}); IBE is used instead")
            )
            return True
        return False
