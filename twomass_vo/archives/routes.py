# Licensed under a 3-clause BSD style license - see LICENSE
"""Which IRSA route each batch mode takes, and the requests of each route.

`IrsaRoutes` is the part of `~twomass_vo.archives.irsa.IrsaArchive` that
decides, per mode, between SIA v2, IBE and TAP (`IrsaRoutes.routes`) and
builds the requests without network access (the ``payload_*`` methods,
astroquery's ``get_query_payload``): SIA v2 and TAP requests come from
`~twomass_vo.archives.vo.VOArchive`, IBE requests from
`twomass_vo.archives.ibe`. Every request carries its ``route``.
"""

import numpy as np

from ..exceptions import ArchiveError, InvalidQueryError
from .ibe import ibe_search, ibe_upload, where_coadd_keys, where_scans
from .service_values import validated_ints, validated_points, validated_scans
from .sia import POINT_RADIUS

__all__ = ["MODES", "ROUTES", "IrsaRoutes"]

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
}


class IrsaRoutes:
    """Routes and requests of `~twomass_vo.archives.irsa.IrsaArchive` (a mixin).

    Reads the archive's ``sia_url``, ``ibe_url``, ``tap_url``, ``table``,
    ``upload``, ``ibe_chunk_size``, ``ibe_where_size``, its discovery state
    (``_tap_table()``, ``_tap_spatial()``, ``_discovery``) and its request log.
    """

    # ------------------------------------------------------------------ routes
    def routes(self):
        """Return the route of each mode, as far as known without network access.

        Before discovery ran, a configured ``table`` counts as usable and no
        table means IBE.

        Returns
        -------
        routes : dict
            Mode -> ``'sia'``, ``'ibe-box'``, ``'tap'``, ``'tap-upload'``,
            ``'ibe-upload'``, ``'ibe-where'`` or ``'sia-per-position'``.
        """
        if self.sia_url is not None and self.sia_failure is None:
            region = "sia"
        elif self.ibe_url is not None:
            region = "ibe-box"
        else:
            region = "tap"
        if self._tap_spatial():
            points = "tap-upload"
        elif self.ibe_url is not None:
            points = "ibe-upload"
        elif self.sia_url is not None and self.sia_failure is None:
            points = "sia-per-position"
        else:
            points = "tap"
        listed = "tap" if self._tap_table() or self.ibe_url is None else "ibe-where"
        found = {"region": region, "positions": points, "coadd_keys": listed}
        return {mode: found.get(mode, listed) for mode in MODES}

    def route_url(self, route):
        """Return the service URL of a route."""
        if route.startswith("sia"):
            return self.sia_query_url
        if route.startswith("ibe"):
            return self.ibe_url
        return self.tap_url

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

    # ---------------------------------------------------------------- payloads
    def _tap_payloads(self, mode, make):
        if self.table is None:
            reason = self._discovery.reason if self._discovery else "no TAP table"
            raise ArchiveError(
                f"{self!r} has no route for the {mode} mode: {reason}, and no IBE "
                "URL is configured"
            )
        return make()

    def payload_circle(self, ra, dec, radius):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_circle`.

        No network access. SIA v2 (``POS=CIRCLE``) when ``sia_url`` is set, else
        one IBE box (``POS`` + ``SIZE`` = the circle's bounding box,
        ``INTERSECT=OVERLAPS``).
        """
        route = self.routes()["region"]
        if route == "sia":
            return self._tag(super().payload_circle(ra, dec, radius), route)
        if route == "tap":
            return self._tag(
                self._tap_payloads(
                    "region",
                    lambda: super(IrsaRoutes, self).payload_circle(ra, dec, radius),
                ),
                route,
            )
        (ra,), (dec,) = validated_points(ra, dec)
        radius = float(radius)
        if not (np.isfinite(radius) and 0 < radius <= 90):
            raise InvalidQueryError(f"radius={radius!r} must be in (0, 90] degrees")
        size = 2 * radius * (1 + 1e-9) + 1e-9
        payload = ibe_search(
            self.ibe_url, pos=(ra, dec), size=size, intersect="OVERLAPS"
        )
        return self._tag([payload], route)

    def payload_points(self, ra, dec):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_points`.

        No network access. One TAP upload per chunk when a TAP table is known,
        else one IBE upload (multipart ``POS``) per ``ibe_chunk_size``
        positions, else one SIA v2 request per position.
        """
        route = self.routes()["positions"]
        ra, dec = validated_points(ra, dec)
        if route == "ibe-upload":
            return self._tag(
                [
                    ibe_upload(
                        self.ibe_url,
                        ra[s : s + self.ibe_chunk_size],
                        dec[s : s + self.ibe_chunk_size],
                        start=s,
                    )
                    for s in range(0, len(ra), self.ibe_chunk_size)
                ],
                route,
            )
        if route == "sia-per-position":
            return self._tag(
                [self._sia(a, d, POINT_RADIUS) for a, d in zip(ra, dec, strict=True)],
                route,
            )
        return self._tag(
            self._tap_payloads(
                "positions", lambda: super(IrsaRoutes, self).payload_points(ra, dec)
            ),
            route,
        )

    def payload_coadd_keys(self, keys):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_coadd_keys`.

        No network access. TAP when a table is known, else IBE ``where=coadd_key
        IN (...)`` with at most ``ibe_where_size`` keys each.
        """
        route = self.routes()["coadd_keys"]
        if route == "tap":
            return self._tag(
                self._tap_payloads(
                    "coadd_keys",
                    lambda: super(IrsaRoutes, self).payload_coadd_keys(keys),
                ),
                route,
            )
        keys = np.unique(validated_ints(keys, "coadd_key", low=0, high=2**62))
        size = self.ibe_where_size
        return self._tag(
            [
                ibe_search(self.ibe_url, where=where_coadd_keys(keys[s : s + size]))
                for s in range(0, len(keys), size)
            ],
            route,
        )

    def payload_scans(self, ordate, hemisphere, scanno, image):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_scans`.

        No network access. TAP when a table is known, else IBE ``where=(ordate =
        'yymmdd' AND hemisphere = 'n' AND scanno = N [AND coaddno IN (...)]) OR
        ...`` with at most ``ibe_where_size`` scans each.
        """
        route = self.routes()["scans"]
        if route == "tap":
            return self._tag(
                self._tap_payloads(
                    "scans",
                    lambda: super(IrsaRoutes, self).payload_scans(
                        ordate, hemisphere, scanno, image
                    ),
                ),
                route,
            )
        ordate, hem, scanno, image = validated_scans(ordate, hemisphere, scanno, image)
        scan_keys = np.char.add(np.char.add(ordate, hem), scanno.astype("U3"))
        _, first = np.unique(scan_keys, return_index=True)
        groups = scan_keys[np.sort(first)]
        size = self.ibe_where_size
        payloads = []
        for s in range(0, len(groups), size):
            rows = np.isin(scan_keys, groups[s : s + size])
            where = where_scans(ordate[rows], hem[rows], scanno[rows], image[rows])
            payloads.append(ibe_search(self.ibe_url, where=where))
        return self._tag(payloads, route)

    @staticmethod
    def _tag(payloads, route):
        for payload in payloads:
            payload["route"] = route
        return payloads
