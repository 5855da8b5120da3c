# Licensed under a 3-clause BSD style license - see LICENSE
"""The result table of every query: one row per image file, loaded lazily.

`ImageTable` is an `astropy.table.Table` whose columns follow the data contract
of the project (units, descriptions and UCDs on every column, so that a VOTable
written from it is VO-friendly), and whose rows are `ImageRow` objects with
lazy loaders: `ImageRow.open`, `ImageRow.cutout` and `ImageRow.download`.
Nothing is fetched until one of them is called. The column contract
(`COLUMNS`) lives in `twomass_vo.results.columns`.
"""

import warnings

from astropy.table import Column, Row, Table
from astropy.table.pprint import TableFormatter

from ..exceptions import NoResultsWarning
from .columns import (
    COLUMN_NAMES,
    COLUMNS,
    column_data,
    display_order,
    make_column,
)

__all__ = ["COLUMNS", "ImageRow", "ImageTable", "empty_image_table"]


class ImageRow(Row):
    """A row of an `ImageTable`: one image file, with lazy loaders.

    Nothing is read or fetched until `open`, `cutout` or `download` is called;
    the opened file is cached on the table, so a second `open` costs nothing.
    """

    def _loader(self):
        from ..archives.simulated.archive import SimulatedStores
        from ..retrieval.loaders import Loader

        table = self.table
        loader = getattr(table, "_loader", None)
        if loader is None:
            # rows of no archive (read back from a file): the simulated
            # stores still make their files
            archive = table.archive if table.archive is not None else SimulatedStores()
            loader = table._loader = Loader(archive=archive)
        return loader

    def open(self, *, decompress=True):
        """Open the full image file.

        Parameters
        ----------
        decompress : bool, optional
            For Quicklook files, which are stored hcompress-compressed: return
            a plain primary HDU with the decompressed pixels (default), or the
            file as stored (a compressed image extension).

        Returns
        -------
        hdul : `~astropy.io.fits.HDUList`
            The image, read once and cached on the table.
        """
        return self._loader().open(self["access_url"], decompress=decompress)

    def cutout(self, size=None, *, center=None):
        """Return a cutout of the image.

        The archive's cutout service is used when the row has a ``cutout_url``
        and no other size or centre is asked for; otherwise the cutout is made
        locally with `~astropy.nddata.Cutout2D` from the full image.

        Parameters
        ----------
        size : `~astropy.units.Quantity` or float, optional
            Width and height of the square cutout (float: arcsec). Default: the
            row's ``cutout_size``.
        center : `~astropy.coordinates.SkyCoord`, optional
            Centre of the cutout. Default: the input position (``in_ra``,
            ``in_dec``) or, where there is none, the image centre.

        Returns
        -------
        hdul : `~astropy.io.fits.HDUList`
            A primary HDU with the cutout pixels and an updated WCS header.
        """
        from ..retrieval.loaders import angle_arcsec, cutout_center, row_value

        row_size = float(row_value(self, "cutout_size", 0.0))
        size_arcsec = row_size if size is None else angle_arcsec(size, "size")
        if not size_arcsec > 0:
            raise ValueError(
                "cutout() needs a positive size: this row has no cutout_size"
            )
        url = str(row_value(self, "cutout_url", ""))
        if url and center is None and size_arcsec == row_size:
            return self._loader().open(url, decompress=True)
        if center is None:
            ra, dec = cutout_center(self)
        else:
            center = center.icrs
            ra, dec = center.ra.deg, center.dec.deg
        return self._loader().local_cutout(self["access_url"], ra, dec, size_arcsec)

    def download(self, folder, *, decompress=True, overwrite=False):
        """Write the image file (or the row's cutout) into ``folder``.

        The file name is built from the row's validated metadata (date,
        hemisphere, scan, image, band; the input row for cutouts), never from
        what a server says, and the file is always written inside ``folder``.

        Parameters
        ----------
        folder : str or `~pathlib.Path`
            Target folder, created if missing.
        decompress : bool, optional
            Decompress Quicklook files (default) or keep them hcompressed.
        overwrite : bool, optional
            Replace an existing file of the same name; by default it is kept.

        Returns
        -------
        path : `~pathlib.Path`
            The file written (or found).
        """
        return self._loader().download_row(
            self, folder, decompress=decompress, overwrite=overwrite
        )

    def preview(self, ax=None, *, size=None, center=None, **kwargs):
        """Draw the J/H/Ks colour composite of this row's image set.

        Needs matplotlib (the ``plot`` extra). See
        `twomass_vo.results.preview.plot_preview`.

        Parameters
        ----------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
            Axes with the composite's WCS; a new figure by default.
        size : `~astropy.units.Quantity` or float, optional
            Cutout size (float: arcsec); default the row's ``cutout_size``,
            or the full images.
        center : `~astropy.coordinates.SkyCoord`, optional
            Cutout centre, marked on the picture; default the input position
            when the image holds it, else the image centre
            (`~twomass_vo.results.preview.preview_center`).
        **kwargs
            ``mark``, ``stretch`` and ``Q`` of
            `~twomass_vo.results.preview.plot_preview`.

        Returns
        -------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`
            The axes.
        """
        from .preview import plot_preview

        return plot_preview(self, ax, size=size, center=center, **kwargs)


class _DisplayFormatter(TableFormatter):
    """Prints (``print``, ``repr``, ``pprint``, HTML) a result identity first.

    The columns that name the image file (`~twomass_vo.results.columns.DISPLAY_FIRST`)
    come first, so that a terminal too narrow for every column still shows
    them; the table itself keeps its column order. A selection of columns
    (``images["coadd_key", "band"]``) shows in the order it was made.
    """

    def _pformat_table(self, table, *args, **kwargs):
        names = display_order(table.colnames)
        # whole results only: a selection of columns shows in its own order
        whole = set(COLUMN_NAMES) <= set(table.colnames)
        if whole and names != table.colnames:  # a view: no data copied
            table = Table(
                [table.columns[name] for name in names], meta=table.meta, copy=False
            )
        return super()._pformat_table(table, *args, **kwargs)


class ImageTable(Table):
    """Table of 2MASS image files found by a `~twomass_vo.TwoMassBatch` query.

    One row per image file, with the columns of the data contract
    (`COLUMNS`): the input row that produced it (``scntr``, ``id``,
    ``in_ra``, ``in_dec``), the image identity (``coadd_key``, ``ordate``,
    ``hemisphere``, ``scanno``, ``image``, ``band``, ``image_type``), its
    footprint (``ra``, ``dec``, ``s_region``), the positions-mode
    ``dist_edge`` and ``best``, and ObsCore access columns (``access_url``,
    ``access_format``, ``access_estsize``, ``cutout_url``).

    Rows are `ImageRow` objects: ``table[0].open()`` returns the FITS
    `~astropy.io.fits.HDUList`, ``table[0].cutout(30 * u.arcsec)`` a cutout and
    ``table[0].download(folder)`` a file.

    Attributes
    ----------
    archive : `~twomass_vo.archives.Archive` or None
        The archive the rows came from; it makes simulated files on demand.
        Tables read from disk have none, and load from ``access_url``.
    not_found : `~astropy.table.Table` or None
        For `~twomass_vo.TwoMassBatch.query_sources`: the input rows whose
        link found no image, with their 0-based input ``row`` and the
        ``reason`` (a copy of the table keeps it; other results, slices and
        tables read from disk have None).

    Notes
    -----
    In query results the ASCII string columns (``ordate``, ``hemisphere``,
    ``band``, ``image_type``, ``s_region``, ``access_url``, ``access_format``,
    ``cutout_url``) are stored as bytes: a quarter of the memory of unicode,
    which matters for million-row results. astropy hands their elements out
    as `str`, so ``table[0]["access_url"]`` is a `str` all the same. Columns
    holding one value on every row (``image_type``, and usually
    ``access_format``, ``access_estsize`` and ``cutout_url``) are read-only
    views of that one value, costing nothing per row; to change their values
    assign a whole new column (``table["image_type"] = ...``); slices, copies
    and sorted tables hold ordinary arrays.
    """

    Row = ImageRow
    not_found = None
    TableFormatter = _DisplayFormatter

    def __init__(self, *args, archive=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.archive = archive

    def _new_from_slice(self, slice_, **kwargs):
        new = super()._new_from_slice(slice_, **kwargs)
        new.archive = getattr(self, "archive", None)
        return new

    def copy(self, copy_data=True):
        """Return a copy of the table, keeping its archive.

        Parameters
        ----------
        copy_data : bool, optional
            Copy the column data (default) or share it.

        Returns
        -------
        table : `ImageTable`
            The copy.
        """
        new = super().copy(copy_data=copy_data)
        new.archive = getattr(self, "archive", None)
        new.not_found = self.not_found
        return new

    @classmethod
    def from_columns(cls, columns, *, archive=None, meta=None, copy=True):
        """Build a table with the full schema from a dict of arrays.

        Parameters
        ----------
        columns : dict
            Column name to array; missing contract columns are filled with
            empty values (``''``, NaN, 0, False).
        archive : `~twomass_vo.archives.Archive`, optional
            The archive the rows came from.
        meta : dict, optional
            Table metadata (query description).
        copy : bool, optional
            Copy the arrays (default). With `False` the table holds the given
            arrays themselves (and read-only broadcast views stay views).

        Returns
        -------
        table : `ImageTable`
            The table; extra (non-contract) columns are appended unchanged.
        """
        unknown = set(columns) - set(COLUMN_NAMES)
        n = len(next(iter(columns.values()), ()))
        cols = []
        for name, dtype, unit, ucd, description in COLUMNS:
            data = column_data(name, dtype, columns.get(name), n)
            cols.append(make_column(name, unit, ucd, description, data))
        for name in columns:
            if name in unknown:
                cols.append(Column(columns[name], name=name))
        return cls(cols, archive=archive, meta=meta or {}, copy=copy)

    @classmethod
    def empty(cls, *, archive=None, meta=None, warn=True):
        """Return an empty table with the full schema, warning `NoResultsWarning`.

        Parameters
        ----------
        archive : `~twomass_vo.archives.Archive`, optional
            The archive that was queried.
        meta : dict, optional
            Table metadata (query description).
        warn : bool, optional
            Emit the `~twomass_vo.exceptions.NoResultsWarning` (default).

        Returns
        -------
        table : `ImageTable`
            Zero rows, every contract column with its unit and UCD.
        """
        if warn:
            what = (meta or {}).get("query", "the query")
            warnings.warn(
                f"No 2MASS images found for {what}.", NoResultsWarning, stacklevel=3
            )
        return cls.from_columns({}, archive=archive, meta=meta)

    def download(
        self,
        folder,
        *,
        max_workers=None,
        executor=None,
        max_bytes=2**30,
        progress=True,
        retries=None,
        timeout=None,
        overwrite=False,
        decompress=True,
    ):
        """Write the files of all rows into ``folder``: parallel, budgeted, resumable.

        Full images, decompressed Quicklook images and cutouts (rows with a
        ``cutout_size``) go through the same path (`twomass_vo.retrieval`):
        files named from validated metadata, written atomically and checked
        (length, FITS structure), recorded with their URL, size and SHA-256 in
        a manifest in the folder. Files already there and complete are not
        fetched again, so an interrupted run, run again, goes on where it
        stopped. ``http(s)`` transfers are retried after transient failures.

        Parameters
        ----------
        folder : str or `~pathlib.Path`
            Target folder, created if missing.
        max_workers : int, optional
            Parallel transfers (default ``twomass_vo.conf.max_workers``, 8).
        executor : `concurrent.futures.Executor` or ``distributed.Client``, optional
            Where the transfers run: by default a pool of ``max_workers``
            threads; any executor; or a Dask client, so that a cluster shares
            the work (the folder must then be visible to every worker).
        max_bytes : int, str, `~astropy.units.Quantity` or None, optional
            Byte budget (default 1 GiB, the old service's limit; ``"1GiB"``,
            ``"500MB"`` and ``1 * u.GB`` are accepted): no new transfer starts
            once the bytes received reach it, and the rows not started are
            ``deferred``. `None` for no limit.
        progress : bool or callable, optional
            One aggregate bar (files and bytes) on a terminal; nothing when
            stderr is not a terminal or with `False`. A callable is called as
            ``progress(files_done, files_total, bytes_done, bytes_total)``
            after each file.
        retries : int or `~twomass_vo._http.retry_policy.RetryPolicy`, optional
            Retries per file (default ``twomass_vo.conf.retries``).
        timeout : float, optional
            Seconds per request (default ``twomass_vo.conf.timeout``).
        overwrite : bool, optional
            Fetch again and replace files already in the folder.
        decompress : bool, optional
            Write Quicklook files decompressed (default) or hcompressed.

        Returns
        -------
        table : `ImageTable`
            A copy of this table with three more columns: ``local_path``,
            ``status`` (``ok``: written; ``cached``: already there;
            ``failed``: see ``error``; ``deferred``: over the budget) and
            ``error``. Its ``deferred`` and ``failed`` rows can be passed to
            `download` again.
        """
        from ..retrieval.downloads import download

        return download(
            self,
            folder,
            max_workers=max_workers,
            executor=executor,
            max_bytes=max_bytes,
            progress=progress,
            retries=retries,
            timeout=timeout,
            overwrite=overwrite,
            decompress=decompress,
        )

    def to_regions(self):
        """Footprints of the image sets as `regions` shapes, for DS9 or CRTF files.

        See `twomass_vo.results.moc.footprint_regions`.

        Returns
        -------
        regions : `~regions.Regions`
            One `~regions.PolygonSkyRegion` per image set (J, H and Ks share
            a footprint), in the order of the rows, labelled with its date,
            hemisphere, scan, image and bands (e.g. ``971031n scan 96 image
            197: J/H/Ks``).
        """
        from .moc import footprint_regions

        return footprint_regions(self)

    def broadcast(
        self, hub=None, *, client=None, images=False, footprints=False, **kwargs
    ):
        """Send the table to the SAMP clients (TOPCAT, Aladin, ...) of a hub.

        See `twomass_vo.results.samp.broadcast`.

        Parameters
        ----------
        hub : SAMP hub server, optional
            An in-process hub; by default the session's hub (lock file).
        client : SAMP integrated client, optional
            A connected client to send with; by default one for this call.
        images : bool, optional
            Also send the image files (``image.load.fits``).
        footprints : bool, optional
            Also send the coverage MOC (``coverage.load.moc.fits``).
        **kwargs
            ``folder`` and ``timeout`` of `twomass_vo.results.samp.broadcast`.

        Returns
        -------
        sent : dict
            MType -> ids of the clients that loaded it.
        """
        from .samp import broadcast

        return broadcast(
            self, hub, client=client, images=images, footprints=footprints, **kwargs
        )

    def to_moc(self, *, max_depth=13):
        """Coverage of the footprints as a MOC, for Aladin (needs mocpy).

        See `twomass_vo.results.moc.footprints_moc`.

        Parameters
        ----------
        max_depth : int, optional
            HEALPix depth of the finest cells (13: about 26 arcsec).

        Returns
        -------
        moc : `mocpy.MOC`
            The union of the footprints; ``moc.save(path)`` writes a MOC FITS
            file.
        """
        from .moc import footprints_moc

        return footprints_moc(self, max_depth=max_depth)

    def plot(self, ax=None, **options):
        """Plot the footprints on a sky projection (needs matplotlib).

        A new figure shows a TAN projection centred on the result, or an
        all-sky map with zoomed panels when the result spans more than 60
        degrees; the J, H and Ks images of a set share one outline
        (``J/H/Ks``); best images, cutouts, the query region and the input
        positions are drawn. See `twomass_vo.results.plotting.plot_footprints`.

        Parameters
        ----------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
            Axes to draw on; by default a new figure.
        **options
            The keyword options of `~twomass_vo.results.plotting.plot_footprints`:
            ``color_by`` (``'band'`` or ``'best'``), ``show_region``,
            ``show_positions``, ``show_cutouts``, ``projection``
            (``'auto'``, ``'TAN'``, ``'AIT'``, ``'MOL'``), ``zooms`` and
            ``npix``.

        Returns
        -------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`
            The axes.
        """
        from .plotting import plot_footprints

        return plot_footprints(self, ax, **options)

    def preview(self, position, ax=None, *, size=None, **kwargs):
        """Draw the J/H/Ks colour composite of the best image set at a position.

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord`
            The position, marked on the picture.
        ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
            Axes with the composite's WCS; a new figure by default.
        size : `~astropy.units.Quantity` or float, optional
            Cutout size around the position (float: arcsec); default the
            full images.
        **kwargs
            ``stretch`` and ``Q`` of `~twomass_vo.results.preview.composite`.

        Returns
        -------
        ax : `~astropy.visualization.wcsaxes.WCSAxes`
            The axes.
        """
        from .preview import table_preview

        return table_preview(self, position, ax, size=size, **kwargs)


def empty_image_table(*, archive=None, meta=None, warn=True):
    """Shortcut for `ImageTable.empty`.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`, optional
        The archive that was queried.
    meta : dict, optional
        Table metadata.
    warn : bool, optional
        Emit the `~twomass_vo.exceptions.NoResultsWarning` (default).

    Returns
    -------
    table : `ImageTable`
        Zero rows with the full schema.
    """
    return ImageTable.empty(archive=archive, meta=meta, warn=warn)
