# Licensed under a 3-clause BSD style license - see LICENSE
"""`TwoMassBatch`: the five modes of the 2MASS Batch Image Service.

The class shape follows astroquery's IRSA module: one object bound to an
archive, keyword-only options, validation before any work, and results as
tables (here `~twomass_vo.ImageTable`, whose rows load FITS lazily).
"""

from pathlib import Path

from . import conf, planner
from .archives import Archive, IrsaArchive, LocalArchive, SimulatedArchive
from .exceptions import InvalidQueryError

__all__ = ["TwoMassBatch"]

_COMMON = """
        band : {'all', 'J', 'H', 'Ks'}, optional
            Band(s) to retrieve (any case; ``K`` for ``Ks``). Default all three.
        image_type : {'atlas', 'quicklook'}, optional
            Atlas images (default), or Quicklook images: lossy hcompress copies
            of the Atlas images, for finding charts and positions only (a
            `~twomass_vo.exceptions.QuicklookWarning` says so)."""
_RETURNS = """
        get_query_payload : bool, optional
            Return the requests the query would send, without sending any
            (validation still runs): a list of dicts, one per request, with
            ``service`` (``'sia'`` or ``'tap'``), ``url``, and ``params`` (SIA)
            or ``query`` (ADQL) and ``uploads`` (name -> Table). Local archives
            send no requests: an empty list.

        Returns
        -------
        table : `~twomass_vo.ImageTable` or list of dict
            One row per image file; rows load lazily (``table[0].open()``). An
            empty result is an empty table with the full schema and a
            `~twomass_vo.exceptions.NoResultsWarning`. With
            ``get_query_payload=True``, the list of requests."""


def _open_archive(archive):
    if archive is None:
        return IrsaArchive()
    if isinstance(archive, Archive):
        return archive
    if isinstance(archive, str) and archive.lower() == "irsa":
        return IrsaArchive()
    if isinstance(archive, str) and archive.lower() == "sim":
        return SimulatedArchive.default()
    if isinstance(archive, str | Path) and (Path(archive) / "archive.json").exists():
        return LocalArchive(archive)
    raise InvalidQueryError(
        f"archive={archive!r}: give 'irsa' (the default), 'sim' (the simulated "
        "survey), the folder of a LocalArchive, or an Archive object"
    )


class TwoMassBatch:
    """The 2MASS Batch Image Service: five batch modes over one archive.

    Parameters
    ----------
    archive : str or `~twomass_vo.archives.Archive`, optional
        ``"irsa"`` (the default: `~twomass_vo.archives.IrsaArchive`, IRSA's
        SIA v2, IBE and TAP services), ``"sim"`` (the whole simulated survey, built
        once and cached, offline), the folder of a
        `~twomass_vo.archives.LocalArchive`, or any archive object, e.g. a
        `~twomass_vo.archives.VOArchive` on a data centre's mirror.
    resolver : callable, optional
        Object-name resolver ``str -> SkyCoord`` for centres and position
        tables (default: astropy's Sesame name resolution; 2MASS designations
        are decoded offline).

    Examples
    --------
    >>> from twomass_vo import TwoMassBatch
    >>> batch = TwoMassBatch(archive="sim")  # doctest: +SKIP
    >>> images = batch.query_region("10.68 41.27", 0.1, band="J")  # doctest: +SKIP
    """

    def __init__(self, archive=None, *, resolver=None):
        self._archive = _open_archive(archive)
        self.resolver = resolver

    @property
    def archive(self):
        """The archive in use (`~twomass_vo.archives.Archive`)."""
        return self._archive

    def __repr__(self):
        return f"TwoMassBatch(archive={self._archive!r})"

    def query_region(
        self,
        center,
        diameter=None,
        *,
        intersect="overlaps",
        band="all",
        image_type="atlas",
        get_query_payload=False,
    ):
        """Images that overlap, cover or are enclosed by a region.

        Parameters
        ----------
        center : str, `~astropy.coordinates.SkyCoord` or `~regions.SkyRegion`
            A `~regions.CircleSkyRegion` or a convex `~regions.PolygonSkyRegion`,
            or the region centre: coordinates in any format of
            `~twomass_vo.coords.parse_coordinates`, or an object name.
        diameter : float or `~astropy.units.Quantity`, optional
            Diameter of the circle (float: degrees); required with a centre.
            Values outside [0.05, 7] deg are clamped, with a
            `~twomass_vo.exceptions.DiameterClampedWarning`.
        intersect : {'overlaps', 'covers', 'enclosed'}, optional
            ``overlaps``: some point lies in both the image and the region;
            ``covers``: the image contains the whole region; ``enclosed``:
            the region contains the whole image.
        {common}
        {returns}
        """
        intersect = planner.check_intersect(intersect)
        bands = self._bands(band)
        shape = planner.region_shape(center, diameter, resolver=self.resolver)
        image_type = planner.check_image_type(image_type)
        if get_query_payload:
            return self._payload("circle", shape.ra, shape.dec, shape.radius)
        return planner.plan_region(
            self._archive,
            shape,
            intersect=intersect,
            bands=bands,
            image_type=image_type,
        )

    def query_positions(
        self,
        table,
        *,
        best=False,
        size=None,
        band="all",
        image_type="atlas",
        get_query_payload=False,
    ):
        """Images containing each position of a list.

        Parameters
        ----------
        table : `~astropy.table.Table` or str or `~pathlib.Path`
            Positions: a table or a file (IPAC, VOTable, CSV, FITS, ECSV) with
            ``ra``/``dec`` columns (decimal degrees or sexagesimal) or an object
            name column, and optional ``size`` (cutout, arcsec), ``best``
            (y/n per row) and ``id``.
        best : bool, optional
            Keep only the best image set of each position: the one whose
            smallest distance from the position to its four edges is largest.
            A row's own ``best`` value overrides this.
        size : float or `~astropy.units.Quantity`, optional
            Cutout size (float: arcsec) for rows without their own ``size``.
        {common}
        {returns}
            A separate row is returned per (position, image), with
            ``dist_edge`` and ``best`` filled in.
        """
        from .inputs import positions_request

        bands = self._bands(band)
        image_type_checked = planner.check_image_type(image_type)
        request = positions_request(table, best=best, size=size, resolver=self.resolver)
        chunk = int(conf.chunk_size)
        if get_query_payload:  # the planner asks the archive chunk by chunk
            return [
                payload
                for start in range(0, len(request.ra), chunk)
                for payload in self._payload(
                    "points",
                    request.ra[start : start + chunk],
                    request.dec[start : start + chunk],
                )
            ]
        return planner.plan_positions(
            self._archive,
            request,
            bands=bands,
            image_type=image_type_checked,
            chunk_size=chunk,
        )

    def query_coadd_keys(
        self, keys, *, band="all", image_type="atlas", get_query_payload=False
    ):
        """Images of a list of coadd_keys.

        Parameters
        ----------
        keys : int, sequence of int, `~astropy.table.Table`, str or `~pathlib.Path`
            Keys, or a table/file with a ``coadd_key`` column and optional
            ``band`` (j/h/k/a per row) and ``id`` columns. Rows that reference
            an image already referenced are dropped.
        {common}
        {returns}
        """
        from .inputs import coadd_keys_request

        request = coadd_keys_request(keys, band=band)
        image_type = planner.check_image_type(image_type)
        if get_query_payload:
            return self._payload("coadd_keys", request.coadd_key)
        return planner.plan_coadd_keys(self._archive, request, image_type=image_type)

    def query_scan(
        self,
        date,
        hemisphere,
        scan,
        *,
        image=None,
        band="all",
        image_type="atlas",
        get_query_payload=False,
    ):
        """Images of one date-hemisphere-scan (a 2MASS tile: 23 image sets).

        Parameters
        ----------
        date : str
            Night of the observation, strictly ``yymmdd`` (e.g. ``'971031'``).
        hemisphere : str
            ``n`` / ``north`` (Mt. Hopkins) or ``s`` / ``south`` (CTIO).
        scan : int
            Nightly scan number, 1 to 999.
        image : int, optional
            One image number; None (or <= 0) for all images of the scan.
        {common}
        {returns}
        """
        from .inputs import scan_request

        request = scan_request(date, hemisphere, scan, image=image, band=band)
        image_type = planner.check_image_type(image_type)
        if get_query_payload:
            return self._scans_payload(request)
        return planner.plan_scans(self._archive, request, image_type=image_type)

    def query_scans(
        self, table, *, band="all", image_type="atlas", get_query_payload=False
    ):
        """Images of a list of date-hemisphere-scans.

        Parameters
        ----------
        table : `~astropy.table.Table` or str or `~pathlib.Path`
            Table or file with ``xdate`` (or ``date``/``ordate``), ``hem``,
            ``scan`` and optional ``image`` (null/empty/<=0: all 23), ``band``
            (j/h/k/a) and ``id`` columns. Rows that reference an image already
            referenced are dropped.
        {common}
        {returns}
        """
        from .inputs import scans_request

        request = scans_request(table, band=band)
        image_type = planner.check_image_type(image_type)
        if get_query_payload:
            return self._scans_payload(request)
        return planner.plan_scans(self._archive, request, image_type=image_type)

    def _payload(self, kind, *args):
        """Return the requests a look-up would send (``get_query_payload``).

        Archives that send no requests (local ones) have no ``payload_*``
        methods: their payload is an empty list.
        """
        make = getattr(self._archive, f"payload_{kind}", None)
        return [] if make is None else make(*args)

    def _scans_payload(self, request):
        return self._payload(
            "scans", request.ordate, request.hemisphere, request.scanno, request.image
        )

    @staticmethod
    def _bands(band):
        from .inputs import parse_band

        return parse_band(band, column="band")


for _name in (
    "query_region",
    "query_positions",
    "query_coadd_keys",
    "query_scan",
    "query_scans",
):
    _method = getattr(TwoMassBatch, _name)
    _method.__doc__ = _method.__doc__.replace(
        "        {common}", _COMMON.strip("\n")
    ).replace("        {returns}", _RETURNS.strip("\n"))
