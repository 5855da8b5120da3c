# Licensed under a 3-clause BSD style license - see LICENSE
"""The requests of each IRSA route, built without network access.

`IrsaPayloads` is the part of `~twomass_vo.archives.IrsaArchive` that
builds the requests of the route its router chose
(`~twomass_vo.archives.irsa.router.IrsaRouter`) without network access (the
``payload_*`` methods, astroquery's ``get_query_payload``): SIA v2 and TAP
requests come from `~twomass_vo.archives.VOArchive`, IBE requests from
`twomass_vo.archives.irsa.ibe`, CGI requests from `twomass_vo.archives.irsa.sia1`.
Every request carries its ``route``. A region wider than IBE's largest
search box is split into boxes that cover it (`box_cover`).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...exceptions import (
    ArchiveError,
    InvalidQueryError,
)
from ...geometry import radec_to_xyz, xyz_to_radec
from ..base import ImageSets
from ..vo.query_values import validated_ints, validated_points, validated_scans
from ..vo.requests import as_request
from ..vo.sia2 import POINT_RADIUS
from .ibe import ibe_search, ibe_upload, where_coadd_keys, where_scans
from .sia1 import nearby_groups, sia1_search

__all__ = ["IrsaPayloads", "box_cover"]


def box_cover(ra, dec, radius, max_size):
    """Boxes of at most ``max_size`` degrees that together cover a circle.

    A box of width ``w`` centred on a point (as IBE and the SIA v1 CGI read
    ``POS`` + ``SIZE``: edges on the great circles ``w / 2`` east, west,
    north and south of the centre) holds the cap of radius ``w / 2`` around
    it. A circle no wider than ``max_size`` is one box; a wider one is
    covered by caps of radius ``max_size / 2`` centred on a triangular
    lattice in the circle's tangent (gnomonic) plane: the lattice covers
    that plane with discs of that radius, the circle is a disc of radius
    ``tan(radius)`` there, and the gnomonic projection never shortens a
    distance, so the caps cover the circle on the sphere.

    Parameters
    ----------
    ra, dec : float
        Centre of the circle, ICRS degrees.
    radius : float
        Its radius, degrees (0 < radius < 90).
    max_size : float
        The widest box, degrees.

    Returns
    -------
    boxes : list of tuple
        ``(ra, dec, size)`` of each box, degrees; the first is centred on
        the circle.
    """
    size = 2 * radius * (1 + 1e-9) + 1e-9
    if size <= max_size:
        return [(float(ra), float(dec), size)]
    cap = max_size / 2 * (1 - 1e-9)
    reach = np.tan(np.radians(radius)) + np.radians(cap)
    step = np.radians(cap) * np.sqrt(3)  # lattice spacing: discs of radius cap
    n = int(np.ceil(reach / step)) + 1
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1))
    x = (i + 0.5 * (j % 2)).ravel() * step
    y = j.ravel() * step * np.sqrt(3) / 2
    near = np.hypot(x, y) <= reach
    x, y = x[near], y[near]
    first = np.argsort(np.hypot(x, y), kind="stable")
    x, y = x[first], y[first]
    centre = radec_to_xyz(ra, dec)
    east = np.array([-np.sin(np.radians(ra)), np.cos(np.radians(ra)), 0.0])
    north = np.cross(centre, east)
    points = centre + x[:, None] * east + y[:, None] * north
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    box_ra, box_dec = xyz_to_radec(points)
    return [(float(a), float(d), 2 * cap) for a, d in zip(box_ra, box_dec, strict=True)]


class IrsaPayloads:
    """The requests of each route of `~twomass_vo.archives.IrsaArchive` (a mixin).

    Builds the requests of the route the archive's router chooses
    (``archive.router``, `~twomass_vo.archives.irsa.router.IrsaRouter`) and
    runs several at once (``_execute_all``, at most ``max_concurrent``).
    Reads the archive's ``router``, ``queries``, ``sia``, ``ibe_url``,
    ``sia1_url``, ``table``, ``ibe_chunk_size``, ``ibe_where_size``,
    ``ibe_max_size``, ``sia1_dataset`` and ``sia1_group_size``.
    """

    # --------------------------------------------------------------- execution
    def _run_all(self, payloads):
        """Run requests (at most ``max_concurrent`` at a time); distinct sets."""
        requests = [as_request(p, self.request_kinds) for p in payloads]
        parts = [
            self._image_sets(table, request.service)
            for request, table in zip(
                requests, self._execute_all(requests), strict=True
            )
        ]
        if not parts:
            return ImageSets.empty()
        found = ImageSets.concatenate(parts)
        _, first = np.unique(found.ref, return_index=True)
        return found.take(np.sort(first))

    def _execute_all(self, payloads):
        """Answers of several requests, in order, ``max_concurrent`` at a time.

        The answers are read in worker threads; what is made of them (the
        archive's set store) is made here, in this thread, in request order.
        The first failure (in request order) is raised once every request
        has ended.
        """
        if len(payloads) <= 1 or self.max_concurrent <= 1:
            return [self._execute(p) for p in payloads]
        with ThreadPoolExecutor(min(len(payloads), self.max_concurrent)) as pool:
            futures = [pool.submit(self._execute, p) for p in payloads]
        return [future.result() for future in futures]

    # ---------------------------------------------------------------- payloads
    def _tap_payloads(self, mode, make):
        if self.table is None:
            found = self.router.discovery
            reason = found.reason if found else "no TAP table"
            raise ArchiveError(
                f"{self!r} has no route for the {mode} mode: {reason}, and no IBE "
                "URL is configured"
            )
        return make()

    def payload_circle(self, ra, dec, radius, *, image_type="atlas"):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_circle`.

        No network access. SIA v2 (``POS=CIRCLE``) when ``sia_url`` is set,
        else IBE boxes (``POS`` + ``SIZE``, ``INTERSECT=OVERLAPS``): one, the
        circle's bounding box, or, for a circle wider than ``ibe_max_size``,
        the boxes of `box_cover`; else one SIA v1 CGI request. Quicklook
        images: one CGI request (``type=ql``) whose box covers the circle.
        """
        route = self.routes(image_type)["region"]
        if route == "sia":
            return self._tag(self.queries.circle(ra, dec, radius), route)
        if route == "tap":
            return self._tag(
                self._tap_payloads(
                    "region", lambda: self.queries.circle(ra, dec, radius)
                ),
                route,
            )
        (ra,), (dec,) = validated_points(ra, dec)
        radius = float(radius)
        if not (np.isfinite(radius) and 0 < radius <= 90):
            raise InvalidQueryError(f"radius={radius!r} must be in (0, 90] degrees")
        if route == "sia1-box":
            size = 2 * radius * (1 + 1e-9) + 1e-9
            return self._tag([self._cgi((ra, dec), size, image_type)], route)
        payloads = [
            ibe_search(self.ibe_url, pos=(a, d), size=w, intersect="OVERLAPS")
            for a, d, w in box_cover(ra, dec, radius, self.ibe_max_size)
        ]
        return self._tag(payloads, route)

    def _cgi(self, pos, size, image_type):
        return sia1_search(
            self.sia1_url,
            pos=pos,
            size=min(size, 180.0),
            image_type=image_type,
            dataset=self.sia1_dataset,
        )

    def payload_quicklook(self, ra, dec):
        """Build the CGI requests for the Quicklook files of image sets.

        No network access. The sets' centres are grouped into sky cells of
        ``sia1_group_size`` degrees (`~twomass_vo.archives.irsa.sia1.nearby_groups`);
        each cell is one request (``type=ql``) whose box holds every centre
        of the cell, so that each set is listed.

        Parameters
        ----------
        ra, dec : ndarray
            Centres of the image sets, ICRS degrees.

        Returns
        -------
        payloads : list of dict
            One request per cell, route ``sia1-files``.
        """
        ra, dec = validated_points(ra, dec)
        return self._tag(
            [
                self._cgi((a, d), width, "quicklook")
                for _, a, d, width in nearby_groups(ra, dec, self.sia1_group_size)
            ],
            "sia1-files",
        )

    def payload_points(self, ra, dec):
        """Build the requests of `~twomass_vo.archives.IrsaArchive.find_points`.

        No network access. One TAP upload per chunk when a TAP table is known,
        else one IBE upload (multipart ``POS``) per ``ibe_chunk_size``
        positions, else one SIA v2 request per position, else one SIA v1 CGI
        request per sky cell of nearby positions (its ``members``: their
        indices).
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
                [
                    self.sia.circle(a, d, POINT_RADIUS)
                    for a, d in zip(ra, dec, strict=True)
                ],
                route,
            )
        if route == "sia1-groups":
            payloads = []
            for members, a, d, width in nearby_groups(ra, dec, self.sia1_group_size):
                payload = self._cgi((a, d), width, "atlas")
                payload["members"] = members
                payloads.append(payload)
            return self._tag(payloads, route)
        return self._tag(
            self._tap_payloads("positions", lambda: self.queries.points(ra, dec)),
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
                    lambda: self.queries.coadd_keys(keys),
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
                    lambda: self.queries.scans(ordate, hemisphere, scanno, image),
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
