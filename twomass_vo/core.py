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
from .query_methods import (
    document_query_method,
    region_text,
    size_text,
    source_text,
    square_region,
)

__all__ = ["TwoMassBatch", "open_archive"]


def open_archive(archive):
    """Return the archive an ``archive=`` option names.

    Parameters
    ----------
    archive : None, str, `~pathlib.Path` or `~twomass_vo.archives.Archive`
        None or ``'irsa'`` (IRSA), ``'sim'`` (the simulated survey), the
        folder of a `~twomass_vo.archives.LocalArchive`, or an archive object
        (returned as is).

    Returns
    -------
    archive : `~twomass_vo.archives.Archive`

    Raises
    ------
    `~twomass_vo.exceptions.InvalidQueryError`
        For anything else, naming the value.
    """
    if archive is None:
        return IrsaArchive()
    if isinstance(archive, Archive):
        return archive
    if isinstance(archive, str) and archive.lower() == "irsa":
        return IrsaArchive()
    if isinstance(archive, str) and archive.lower() == "sim":
        return SimulatedArchive.default()
    if isinstance(archive, str | Path):
        folder = Path(archive)
        if (folder / "archive.json").exists():
            return LocalArchive(archive)
        if not folder.exists():
            raise InvalidQueryError(
                f"archive={str(archive)!r}: no such folder (give 'irsa', 'sim' or "
                "the folder of a LocalArchive)"
            )
        raise InvalidQueryError(
            f"archive={str(archive)!r} is not a LocalArchive folder (it has no "
            "archive.json)"
        )
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

    Notes
    -----
    As in astroquery, the query methods may also be called on the class:
    ``TwoMassBatch.query_region(...)`` runs on a default ``TwoMassBatch()``
    (IRSA).

    Examples
    --------
    >>> from twomass_vo import TwoMassBatch
    >>> batch = TwoMassBatch(archive="sim")  # doctest: +SKIP
    >>> images = batch.query_region("10.68 41.27", 0.1, band="J")  # doctest: +SKIP
    >>> from astropy import units as u
    >>> images = batch.query_region("10.68 41.27", radius=3*u.arcmin)  # doctest: +SKIP
    """

    def __init__(self, archive=None, *, resolver=None):
        self._archive = open_archive(archive)
        self.resolver = resolver

    @property
    def archive(self):
        """The archive in use (`~twomass_vo.archives.Archive`)."""
        return self._archive

    def __repr__(self):
        return f"TwoMassBatch(archive={self._archive!r})"

    def query_region(
        self,
        center=None,
        diameter=None,
        *,
        coordinates=None,
        radius=None,
        width=None,
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
            `~twomass_vo.inputs.coordinates.parse_coordinates`, or an object name.
        diameter : float, `~astropy.units.Quantity` or str, optional
            Diameter of the circle: degrees, an angle (``0.3 * u.deg``,
            ``10 * u.arcmin``) or a str such as ``'10arcmin'``; with a
            centre, give it, ``radius`` or ``width``. Values outside [0.05, 7]
            deg are clamped, with a
            `~twomass_vo.exceptions.DiameterClampedWarning`.
        coordinates : str or `~astropy.coordinates.SkyCoord`, optional
            astroquery's name for ``center``.
        radius : float, `~astropy.units.Quantity` or str, optional
            Radius of the circle instead of its diameter (as astroquery's
            ``query_region``): ``radius=r`` is ``diameter=2 * r``.
        width : float, `~astropy.units.Quantity` or str, optional
            A square region instead of a circle (as astroquery's ``width``):
            its side, aligned with north and east at the centre; its edges
            are great circles whose midpoints lie ``width / 2`` from the
            centre. Clamped into [0.05, 4.95] deg (a square inside the
            service's largest region, 7 deg across), with a
            `~twomass_vo.exceptions.DiameterClampedWarning`.
        intersect : {'overlaps', 'covers', 'enclosed'}, optional
            ``overlaps``: some point lies in both the image and the region;
            ``covers``: the image contains the whole region; ``enclosed``:
            the region contains the whole image.
        {common}
        {returns}
        """
        from regions import SkyRegion

        from .inputs import region_size

        if coordinates is not None:
            if center is not None:
                raise InvalidQueryError(
                    "give center or coordinates (astroquery's name for it), not both"
                )
            center = coordinates
        if center is None:
            raise InvalidQueryError("query_region needs a center (or coordinates=)")
        kind, size = region_size(diameter=diameter, radius=radius, width=width)
        if isinstance(center, SkyRegion) and kind is not None:
            raise InvalidQueryError(
                f"a {type(center).__name__} is the whole region: give no "
                "diameter, radius or width with it"
            )
        if kind is None and not isinstance(center, SkyRegion):
            raise InvalidQueryError(
                "diameter is required with a centre position (or give radius= "
                "or width=)"
            )
        intersect = planner.check_intersect(intersect)
        bands = self._bands(band)
        image_type = planner.check_image_type(image_type)
        if kind == "square":
            center, size = square_region(center, size, resolver=self.resolver)
        diameter = size if kind == "circle" else None
        shape = planner.region_shape(center, diameter, resolver=self.resolver)
        if get_query_payload:
            return self._archive.payload_circle(
                shape.ra, shape.dec, shape.radius, image_type=image_type
            )
        table = planner.plan_region(
            self._archive,
            shape,
            intersect=intersect,
            bands=bands,
            image_type=image_type,
        )
        return self._record(
            table,
            region=region_text(shape),
            center=f"{shape.ra:.7f} {shape.dec:+.7f}",
            diameter=None if shape.polygon is not None else 2 * shape.radius,
            width=size if kind == "square" else None,
            intersect=intersect,
            band=band,
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
            ``ra``/``dec`` columns (decimal degrees or sexagesimal) or a
            SkyCoord column, or else an object name column (resolved
            online; next to ra/dec it is only the ``id``), and optional
            ``size`` (cutout, arcsec), ``best`` (y/n per row) and ``id``.
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
        from .dask_queries import is_dask_frame
        from .inputs import positions_request

        bands = self._bands(band)
        image_type_checked = planner.check_image_type(image_type)
        chunk = int(conf.chunk_size)
        parameters = {
            "best": best,
            "size": size_text(size),
            "band": band,
            "image_type": image_type_checked,
        }
        if is_dask_frame(table):
            options = {
                "best": best,
                "size": size,
                "resolver": self.resolver,
                "payload": get_query_payload,
            }
            return self._on_frame(
                table, "positions", bands, image_type_checked, options, parameters
            )
        table_arg = table
        request = positions_request(table, best=best, size=size, resolver=self.resolver)
        if get_query_payload:
            return self._points_payload(request, chunk)
        table = planner.plan_positions(
            self._archive,
            request,
            bands=bands,
            image_type=image_type_checked,
            chunk_size=chunk,
        )
        return self._record(
            table,
            source=source_text(table_arg),
            n_inputs=len(request.ra),
            **parameters,
        )

    def query_sources(
        self,
        table,
        *,
        link="measured",
        band="all",
        size=None,
        image_type="atlas",
        get_query_payload=False,
    ):
        """Images of catalogue sources: by default, the image that measured each.

        Parameters
        ----------
        table : `~astropy.table.Table`, pandas DataFrame, str or `~pathlib.Path`
            Catalogue rows -- the 2MASS Point Source Catalog as IRSA
            (``fp_psc``), LIneA or VizieR (II/246) serve it, or any table of
            sources -- or a table file (IPAC, VOTable, CSV, FITS, ECSV).
            Columns, in any case: ``ra`` and ``dec`` (also ``decl``,
            ``RAJ2000``/``DEJ2000``, ...); the ``id`` of the result rows from
            ``designation`` (also ``2MASS``), else ``id``, else ``pts_key`` /
            ``cntr``; for ``link="measured"``, ``coadd_key`` (also
            ``coaddKey``) or ``xdate`` (or ``date``: yymmdd or ISO),
            ``hemis`` and ``scan``; an optional ``size`` (cutout, arcsec).
        link : {'measured', 'best', 'all'}, optional
            ``measured`` (default): the image the catalogue links each source
            to -- its ``coadd_key``; where there is none, the image of the
            source's own scan that contains its position (the most centred
            when two images of the scan overlap). ``best`` / ``all``: the
            best image, or every image, containing the position, from any
            night (the positions mode).
        size : float or `~astropy.units.Quantity`, optional
            Cutout size (float: arcsec), centred on the source, for rows
            without their own ``size``.
        {common}
        {returns}
            One row per (source, image file), ``id`` the source's
            designation, ``in_ra``/``in_dec`` its position, ``dist_edge`` its
            distance to the image edges. Rows whose link finds nothing (a key
            or scan the archive does not have) are listed in the result's
            ``not_found`` table (`~twomass_vo.ImageTable.not_found`), with a
            `~twomass_vo.exceptions.NotFoundWarning`. ``best`` is decided
            only by ``link="best"``/``"all"`` (False for ``measured``).
        """
        from .dask_queries import is_dask_frame
        from .inputs.sources import sources_request
        from .source_links import plan_sources, sources_payload

        bands = self._bands(band)
        image_type_checked = planner.check_image_type(image_type)
        parameters = {
            "link": link,
            "size": size_text(size),
            "band": band,
            "image_type": image_type_checked,
        }
        if is_dask_frame(table):
            options = {"link": link, "size": size, "payload": get_query_payload}
            return self._on_frame(
                table, "sources", bands, image_type_checked, options, parameters
            )
        request = sources_request(table, link=link, size=size)
        if get_query_payload:
            return sources_payload(self._archive, request, int(conf.chunk_size))
        result = plan_sources(
            self._archive,
            request,
            bands=bands,
            image_type=image_type_checked,
            chunk_size=int(conf.chunk_size),
        )
        return self._record(
            result,
            source=source_text(table),
            n_inputs=len(request),
            **{**parameters, "link": request.link},
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
            return self._archive.payload_coadd_keys(request.coadd_key)
        table = planner.plan_coadd_keys(self._archive, request, image_type=image_type)
        return self._record(
            table,
            source=source_text(keys),
            n_inputs=len(request.coadd_key),
            band=band,
            image_type=image_type,
        )

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
        table = planner.plan_scans(self._archive, request, image_type=image_type)
        return self._record(
            table,
            date=str(request.ordate[0]),
            hemisphere=str(request.hemisphere[0]),
            scan=int(request.scanno[0]),
            image=image,
            band=band,
            image_type=image_type,
        )

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
        source = source_text(table)
        table = planner.plan_scans(self._archive, request, image_type=image_type)
        return self._record(
            table,
            source=source,
            n_inputs=len(request.ordate),
            band=band,
            image_type=image_type,
        )

    def _on_frame(self, frame, mode, bands, image_type, options, parameters):
        """Run a mode on a dask DataFrame (`twomass_vo.dask_queries`)."""
        from .dask_queries import query_frame
        from .results.image_table import ImageTable

        if options.pop("payload"):
            raise InvalidQueryError(
                "get_query_payload=True is not available for a dask DataFrame: "
                "ask it for one partition (frame.get_partition(0).compute())"
            )

        what = "position(s)" if mode == "positions" else "source(s)"
        meta = planner.query_meta(
            self._archive, mode, image_type, query=f"the {what} of a dask DataFrame"
        )
        empty = self._record(ImageTable.empty(meta=meta, warn=False), **parameters)
        options = {
            **options,
            "bands": bands,
            "image_type": image_type,
            "chunk_size": int(conf.chunk_size),
        }
        return query_frame(
            self._archive, frame, mode=mode, options=options, meta=empty.meta
        )

    def _record(self, table, **parameters):
        """Record the query's parameters, route, version and date in table.meta."""
        from .results.query_metadata import record_query

        return record_query(table, archive=self._archive, parameters=parameters)

    def _points_payload(self, request, chunk):
        """Return the requests of positions, chunk by chunk as the planner asks."""
        return [
            payload
            for start in range(0, len(request.ra), chunk)
            for payload in self._archive.payload_points(
                request.ra[start : start + chunk], request.dec[start : start + chunk]
            )
        ]

    def _scans_payload(self, request):
        return self._archive.payload_scans(
            request.ordate, request.hemisphere, request.scanno, request.image
        )

    @staticmethod
    def _bands(band):
        from .inputs import parse_band

        return parse_band(band, column="band")


for _name in (
    "query_region",
    "query_positions",
    "query_sources",
    "query_coadd_keys",
    "query_scan",
    "query_scans",
):
    setattr(TwoMassBatch, _name, document_query_method(TwoMassBatch.__dict__[_name]))
