# Licensed under a 3-clause BSD style license - see LICENSE
"""`TableArchive`: a 2MASS archive over a plain astropy Table, from the contract alone.

Each row of the table is one image set (J, H and Ks share one footprint):

=====================  ============================================================
column                 meaning
=====================  ============================================================
``coadd_key``          unique key of the set (int)
``ordate``             night, ``yymmdd`` (str)
``hemisphere``         ``n`` or ``s`` (str)
``scanno``, ``image``  scan number and image number (int)
``ra``, ``dec``        image centre, ICRS degrees
``corner_ra``          the four footprint corners, shape (N, 4), degrees
``corner_dec``         (in order around the footprint)
``s_region``           the footprint as ``POLYGON ICRS ...`` (str)
``url_j`` ...          the file of each band: ``url_j``, ``url_h``, ``url_k``
                       (Atlas, ``''`` where the band has no file); optional
                       ``ql_url_j``, ``ql_url_h``, ``ql_url_k`` (Quicklook)
=====================  ============================================================

The archive answers all five modes of `~twomass_vo.TwoMassBatch` (region,
positions with best image and cutouts, coadd_keys, one scan, a list of scans)
and the sources mode: it implements the four look-ups and ``files`` of
`~twomass_vo.archives.Archive`, and leaves everything else to the contract's
defaults (containment, requests, routes, closing). It imports nothing of
``twomass_vo`` but the contract (`twomass_vo.archives.base`) and the public
geometry (`twomass_vo.geometry`).
"""

from dataclasses import replace

import numpy as np
from astropy.table import Table

from twomass_vo.archives.base import BANDS, Archive, FileRefs, ImageSets
from twomass_vo.geometry import Footprints, angle_between, radec_to_xyz, xyz_to_radec

__all__ = ["TableArchive"]

#: Slack (radians) of the bounding-cap tests: look-ups may return more, never less.
_SLACK = 1e-9


class TableArchive(Archive):
    """A 2MASS archive over an astropy Table of image-set rows.

    Parameters
    ----------
    table : `~astropy.table.Table`
        One row per image set, with the columns listed in this module.
    name : str, optional
        The archive's name in table metadata and diagnostics.
    cutout_template : str, optional
        Server-side cutouts: a URL template with ``{access_url}``, ``{ra}``,
        ``{dec}`` and ``{size}`` (arcsec), e.g.
        ``'{access_url}?center={ra},{dec}&size={size}arcsec'``. Without it,
        rows are cut out locally (`~twomass_vo.ImageRow.cutout`).
    """

    asks_services = False  # a table in memory: no Dask service slot

    def __init__(self, table, *, name="table", cutout_template=None):
        self.table = Table(table, copy=False)
        self.name = name
        self.cutout_template = cutout_template
        t = self.table
        corners = radec_to_xyz(
            np.asarray(t["corner_ra"], float), np.asarray(t["corner_dec"], float)
        )
        self._urls = {
            "atlas": np.stack([np.asarray(t[f"url_{b}"], str) for b in "jhk"], 1)
        }
        if "ql_url_j" in t.colnames:
            self._urls["quicklook"] = np.stack(
                [np.asarray(t[f"ql_url_{b}"], str) for b in "jhk"], 1
            )
        # every set, once: the look-ups return selections of these arrays
        self._sets = ImageSets(
            ref=np.arange(len(t), dtype=np.int64),
            coadd_key=np.asarray(t["coadd_key"], np.int64),
            ordate=np.asarray(t["ordate"]).astype("U6"),
            hemisphere=np.char.lower(np.asarray(t["hemisphere"]).astype("U1")),
            scanno=np.asarray(t["scanno"], np.int64),
            image=np.asarray(t["image"], np.int64),
            ra=np.asarray(t["ra"], np.float64),
            dec=np.asarray(t["dec"], np.float64),
            corners=corners,
            has_band=self._urls["atlas"] != "",
        )
        # bounding caps of the footprints, for the candidate look-ups
        self._caps = Footprints(corners)

    @classmethod
    def from_archive(cls, archive, sets, **kwargs):
        """Write image sets of another archive into a table, and open it.

        Parameters
        ----------
        archive : `~twomass_vo.archives.Archive`
            The archive whose look-ups returned ``sets`` (asked for their
            files through the contract: `~twomass_vo.archives.Archive.files`).
        sets : `~twomass_vo.archives.ImageSets`
            The sets, with their corners.
        **kwargs
            ``name`` and ``cutout_template`` of `TableArchive`.

        Returns
        -------
        archive : `TableArchive`
            An archive over the table (``archive.table``).
        """
        corner_ra, corner_dec = xyz_to_radec(sets.corners)
        table = Table(
            {
                "coadd_key": sets.coadd_key,
                "ordate": sets.ordate,
                "hemisphere": sets.hemisphere,
                "scanno": sets.scanno,
                "image": sets.image,
                "ra": sets.ra,
                "dec": sets.dec,
                "corner_ra": corner_ra,
                "corner_dec": corner_dec,
            }
        )
        # one footprint string per set, from the file of its first band
        first = np.argmax(sets.has_band, axis=1)
        refs = archive.files(sets, first, "atlas")
        table["s_region"] = np.asarray(refs.s_region).astype(str)
        kinds = {"atlas": "url_", "quicklook": "ql_url_"}
        if not archive.serves_quicklook:
            del kinds["quicklook"]
        rows = np.arange(len(sets))
        for image_type, prefix in kinds.items():
            for code, band in enumerate("jhk"):
                has = sets.has_band[:, code]
                urls = np.full(len(sets), "", dtype=object)
                if has.any():
                    chosen = sets.take(rows[has])
                    refs = archive.files(chosen, np.full(has.sum(), code), image_type)
                    urls[has] = np.asarray(refs.access_url).astype(str)
                table[prefix + band] = urls.astype(str)
        return cls(table, **kwargs)

    def __repr__(self):
        return f"<TableArchive {self.name!r}: {len(self.table)} image sets>"

    # ------------------------------------------------------------ look-ups
    def find_circle(self, ra, dec, radius, *, image_type="atlas"):
        """Image sets whose bounding cap reaches the circle (candidates).

        Parameters
        ----------
        ra, dec, radius : float
            The circle, degrees.
        image_type : str, optional
            Ignored: every row lists both kinds of file.

        Returns
        -------
        sets : `~twomass_vo.archives.ImageSets`
            A superset of the sets overlapping the circle.
        """
        distance = angle_between(self._caps.centers, radec_to_xyz(ra, dec))
        near = distance <= np.radians(radius) + self._caps.radii + _SLACK
        return self._sets.take(np.flatnonzero(near))

    def find_points(self, ra, dec):
        """Image sets whose bounding cap holds each point (candidates).

        Parameters
        ----------
        ra, dec : ndarray
            Points, degrees.

        Returns
        -------
        sets : `~twomass_vo.archives.ImageSets`
            Candidates grouped by point, ``query_index`` the point.
        """
        points = radec_to_xyz(np.atleast_1d(ra), np.atleast_1d(dec))
        cos_cap = np.cos(np.minimum(self._caps.radii + _SLACK, np.pi))
        point, row = np.nonzero(points @ self._caps.centers.T >= cos_cap)
        return replace(self._sets.take(row), query_index=point)

    def find_coadd_keys(self, keys):
        """Image sets with the given coadd_keys.

        Parameters
        ----------
        keys : ndarray of int64
            The keys.

        Returns
        -------
        sets : `~twomass_vo.archives.ImageSets`
            The sets found, ``query_index`` the index into ``keys``.
        """
        keys = np.asarray(keys, np.int64)
        index, row = np.nonzero(keys[:, None] == self._sets.coadd_key)
        return replace(self._sets.take(row), query_index=index)

    def find_scans(self, ordate, hemisphere, scanno, image):
        """Image sets of date-hemisphere-scans.

        Parameters
        ----------
        ordate, hemisphere : ndarray of str
            ``yymmdd`` and ``n``/``s``.
        scanno, image : ndarray of int64
            Scan numbers, and image numbers (0: every image of the scan).

        Returns
        -------
        sets : `~twomass_vo.archives.ImageSets`
            The sets found, ``query_index`` the index of the request.
        """
        s = self._sets
        image = np.asarray(image, np.int64)[:, None]
        match = (
            (np.asarray(ordate, str)[:, None] == s.ordate)
            & (np.char.lower(np.asarray(hemisphere, str))[:, None] == s.hemisphere)
            & (np.asarray(scanno, np.int64)[:, None] == s.scanno)
            & ((image <= 0) | (image == s.image))
        )
        index, row = np.nonzero(match)
        return replace(s.take(row), query_index=index)

    def files(self, sets, band_code, image_type):
        """Return the file of each (set, band), from the table's URL columns.

        Parameters
        ----------
        sets : `~twomass_vo.archives.ImageSets`
            Sets of this archive (``ref`` is the table row).
        band_code : ndarray of int
            0, 1, 2 for J, H, K.
        image_type : {'atlas', 'quicklook'}
            Which kind of file.

        Returns
        -------
        refs : `~twomass_vo.archives.FileRefs`
            URLs, formats, sizes (unknown: -1) and footprints.
        """
        urls = self._urls[image_type][sets.ref, np.asarray(band_code, np.intp)]
        n = len(urls)
        return FileRefs(
            access_url=urls,
            access_format=np.full(n, "image/fits"),
            access_estsize=np.full(n, -1, np.int64),
            s_region=np.asarray(self.table["s_region"], str)[sets.ref],
        )

    # ------------------------------------------------- optional members
    @property
    def quicklook_refusal(self):
        """Why Quicklook images are refused: a table without Quicklook URLs.

        Returns
        -------
        refusal : str or None
            None when the table has ``ql_url_*`` columns.
        """
        if "quicklook" in self._urls:
            return None
        return "has no Quicklook files (its table has no ql_url_* columns)"

    @property
    def serves_quicklook(self):
        """Whether the table lists Quicklook files.

        Returns
        -------
        answer : bool
            True when it has ``ql_url_*`` columns.
        """
        return "quicklook" in self._urls

    @property
    def makes_cutouts(self):
        """Whether `cutout_urls` makes cutout URLs (a ``cutout_template``).

        Returns
        -------
        answer : bool
            True with a ``cutout_template``.
        """
        return self.cutout_template is not None

    def cutout_urls(self, access_url, ra, dec, size_arcsec):
        """Cutout URLs from the ``cutout_template`` (``''`` for no cutout).

        Parameters
        ----------
        access_url : ndarray of str
            Full-file URLs.
        ra, dec : ndarray of float
            Cutout centres, degrees.
        size_arcsec : ndarray of float
            Cutout sizes (0: none).

        Returns
        -------
        urls : ndarray of str
            One URL per row; ``''`` without a template or a size.
        """
        if self.cutout_template is None:
            return super().cutout_urls(access_url, ra, dec, size_arcsec)
        return np.array(
            [
                self.cutout_template.format(access_url=u, ra=r, dec=d, size=f"{s:g}")
                if s > 0
                else ""
                for u, r, d, s in zip(
                    np.asarray(access_url).astype(str),
                    ra,
                    dec,
                    size_arcsec,
                    strict=True,
                )
            ]
        )

    def describe(self, *, check=False):
        """Describe the archive: its name, kind, sets and bands.

        Parameters
        ----------
        check : bool, optional
            Ignored: a table in memory has no endpoint to check.

        Returns
        -------
        info : dict
            ``name``, ``kind``, ``image_sets`` and ``bands``.
        """
        return {**super().describe(), "image_sets": len(self.table), "bands": BANDS}
