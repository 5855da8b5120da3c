# Licensed under a 3-clause BSD style license - see LICENSE
"""`LocalArchive`: an embedded index of image sets plus a local file store.

Storage (a folder)::

    archive.json        format, name, number of sets, index parameters
    index/<column>.npy  one NumPy file per column, rows sorted by declination zone;
                        format 2 adds the footprint geometry of every set
                        (``corners``, ``normals``, ``centers``, ``radii``,
                        ``reversed``), so that queries never rebuild it
    files/              the file store
                        (``<ordate><hem>/s<scan>/image/<b>i<scan><image>.fits``)

Why columnar ``.npy`` files rather than an embedded database: every query
ends in vectorised NumPy geometry on these columns, and ``.npy`` files are
memory-mapped in microseconds with no decoding, no extra dependency and no
per-row conversion; the spatial index is the sort order itself (declination
zones, then RA, see `twomass_vo.geometry.sky_index`), and the two look-up indexes
(coadd_key, date-hemisphere-scan-image) are sorted key arrays searched with
`numpy.searchsorted`. An all-sky index of 1.4 million sets opens in
milliseconds and answers a 7° region in a few milliseconds.
"""

import json
import mmap
import re
from pathlib import Path

import numpy as np

from ...exceptions import ArchiveError
from ...geometry import (
    Footprints,
    contains_distance,
    radec_to_xyz,
    sin_corners,
)
from ...geometry.sky_index import ZoneIndex
from ..base import BANDS, Archive, FileRefs, ImageSets
from ..set_keys import dhs_keys as dhs_key
from .index_builder import (
    FORMAT as FORMAT,  # re-exported: the format this version writes
)
from .index_builder import (
    READABLE_FORMATS,
    REQUIRED_COLUMNS,
    base_columns,
    index_columns,
    write_index_folder,
)
from .index_builder import (
    ZONE_HEIGHT as ZONE_HEIGHT,  # re-exported
)
from .index_files import (
    FOOTPRINT_COLUMNS,
    GEOMETRY_COLUMNS,
    WCS_COLUMNS,
    buffer_address,
    map_npy,
)
from .store_paths import join_codes, relative_path_codes, relative_paths

__all__ = ["LocalArchive"]

_RELEASE_ROWS = 10_000
#: Bytes of a mapped column read at once by `LocalArchive._gather_released`.
_RELEASE_BLOCK = 1 << 23
_PATH_RE = re.compile(
    r"(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<scan>\d{3})/(?P<dir>image|ql)/"
    r"(?P<band>[jhk])(?P<kind>[iq])(?P=scan)(?P<image>\d{4})\.fits"
)
#: MIME types of the files in a local store.
ATLAS_FORMAT = "image/fits"
QUICKLOOK_FORMAT = "image/fits"  # hcompressed image extension in a FITS file


class LocalArchive(Archive):
    """An embedded archive: a columnar index of image sets plus a file store.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        Folder written by `LocalArchive.create`, `LocalArchive.simulate` or
        `LocalArchive.from_table` (with a path).

    Raises
    ------
    ArchiveError
        If the folder is not a `LocalArchive`.

    Examples
    --------
    >>> from twomass_vo.archives import LocalArchive
    >>> patch = tmp_path / "patch"
    >>> archive = LocalArchive.simulate(patch, "10.68 41.27", 0.1)  # doctest: +SKIP
    >>> LocalArchive(tmp_path / "patch")  # doctest: +SKIP
    <LocalArchive 'patch': 12 image sets>
    """

    name = "local"

    #: A local archive asks no service (no Dask service slot is needed).
    asks_services = False

    def __init__(self, path=None, *, _columns=None, _meta=None):
        if _columns is not None:  # in-memory archive (from_table without a path)
            self.path, self.meta, self.columns = None, dict(_meta), _columns
            self._maps = {}
        else:
            self.path = Path(path)
            meta_file = self.path / "archive.json"
            try:
                self.meta = json.loads(meta_file.read_text())
            except (OSError, ValueError) as exc:
                raise ArchiveError(
                    f"{self.path} is not a twomass_vo LocalArchive: {exc}"
                ) from None
            if self.meta.get("format") not in READABLE_FORMATS:
                raise ArchiveError(
                    f"{meta_file}: unknown format {self.meta.get('format')!r}"
                )
            self._maps = {}
            self.columns = {}
            for f in sorted((self.path / "index").glob("*.npy")):
                self.columns[f.stem], self._maps[f.stem] = map_npy(f)
            missing = [c for c in REQUIRED_COLUMNS if c not in self.columns]
            if missing:
                raise ArchiveError(f"{self.path}: index columns missing: {missing}")
        self._mapped_much = False
        self.name = self.meta.get("name", "local")
        self.search_radius = float(self.meta["search_radius"])
        self.zones = ZoneIndex(
            self.columns["crval1"],
            self.columns["crval2"],
            zone_height=float(self.meta["zone_height"]),
            xyz=self.columns.get("center_xyz"),
        )
        if self.path is not None:
            self.files_dir = self.path / self.meta.get("files", "files")
            self.files_uri = self.files_dir.resolve().as_uri() + "/"
        else:
            self.files_dir = self.files_uri = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {len(self)} image sets>"

    def __getstate__(self):
        if self.path is None:
            return self.__dict__
        return {"path": str(self.path)}  # mapped again when unpickled

    def __setstate__(self, state):
        if set(state) == {"path"}:
            LocalArchive.__init__(self, state["path"])
        else:
            self.__dict__.update(state)

    def __len__(self):
        return len(self.columns["coadd_key"])

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, path, sets, *, name=None, extra_meta=None):
        """Write a new archive folder from per-set columns.

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Folder to create (must not hold an archive already).
        sets : dict of array-like
            One row per image set: ``coadd_key``, ``ordate``, ``hemisphere``,
            ``scanno``, ``image``, ``crval1``, ``crval2``, ``crpix1``,
            ``crpix2``, ``naxis1``, ``naxis2``, ``cdelt1``, ``cdelt2``,
            ``crota2``; optionally ``has_band`` (N, 3) and ``url_atlas`` /
            ``url_quicklook`` (N, 3) absolute URLs per band.
        name : str, optional
            Name of the archive (default: the folder name).
        extra_meta : dict, optional
            More metadata for ``archive.json``.

        Returns
        -------
        archive : `LocalArchive`
            The new archive, opened.
        """
        path = Path(path)
        columns, meta = base_columns(
            sets, name=name or path.name, extra_meta=extra_meta
        )
        write_index_folder(path, columns, meta)
        return cls(path)

    @classmethod
    def from_table(cls, table, *, path=None, name="from_table"):
        """Build an archive from an image-metadata table (IRSA's SIA v1 columns).

        Parameters
        ----------
        table : `~astropy.table.Table` or str or `~pathlib.Path`
            One row per image file with ``date``, ``hem``, ``scan``,
            ``image``, ``coadd_key``, ``band``, ``crval``, ``crpix``,
            ``naxis``, ``scale`` (2-vectors; scale in deg/pixel), ``crota2``,
            ``download`` and ``format`` -- or flattened ``crval1``,
            ``crval2``, ... -- in any case. Rows whose ``format`` is not FITS
            (the ``text/html`` rows of SIA v1) are skipped. A positive
            ``scale`` along axis 1 is taken as RA increasing to the left
            (``CDELT1 = -scale``), as in every 2MASS file. A ``type`` column
            with ``Q`` marks Quicklook files.
        path : str or `~pathlib.Path`, optional
            Write the archive there; by default it lives in memory.
        name : str, optional
            Name of the archive.

        Returns
        -------
        archive : `LocalArchive`
            An archive whose ``access_url`` values are the table's ``download`` URLs.
        """
        from .image_metadata import sets_from_metadata_table

        sets = sets_from_metadata_table(table)
        if path is not None:
            return cls.create(path, sets, name=name)
        columns, meta = index_columns(sets, name=name)
        return cls(_columns=columns, _meta=meta)

    @classmethod
    def simulate(cls, path, center, radius):
        """Create a simulated survey patch: index plus FITS files.

        The patch holds every image set of the simulated survey
        (`~twomass_vo.archives.SimulatedArchive`) that overlaps the circle,
        with its J, H and Ks Atlas and Quicklook files written to the store
        (about 2 MB per Atlas file). The pixels are synthetic.

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Folder to create.
        center : str or `~astropy.coordinates.SkyCoord`
            Centre of the patch (any format of
            `~twomass_vo.inputs.coordinates.parse_coordinates`).
        radius : float or `~astropy.units.Quantity`
            Radius (a float is in degrees), at most 5 deg.

        Returns
        -------
        archive : `LocalArchive`
            The new archive.
        """
        from ..simulated.patches import simulate_patch

        return simulate_patch(cls, path, center, radius)

    # ------------------------------------------------------------------ look-ups
    def _sets(self, rows, query_index=None, *, with_corners=True):
        rows = np.asarray(rows, np.int64)
        col = self.columns
        wcs = [np.asarray(col[c][rows]) for c in WCS_COLUMNS[:2]]
        return ImageSets(
            ref=rows,
            coadd_key=np.asarray(col["coadd_key"][rows], np.int64),
            ordate=col["ordate"][rows].astype("U6"),
            hemisphere=col["hemisphere"][rows].astype("U1"),
            scanno=np.asarray(col["scanno"][rows], np.int64),
            image=np.asarray(col["image"][rows], np.int64),
            ra=wcs[0].astype(np.float64),
            dec=wcs[1].astype(np.float64),
            corners=self._corners(rows) if with_corners else None,
            has_band=np.asarray(col["has_band"][rows], bool),
            query_index=None
            if query_index is None
            else np.asarray(query_index, np.int64),
        )

    @property
    def has_geometry(self):
        """Whether the index stores the footprint geometry (format 2).

        Returns
        -------
        stored : bool
            False for folders of format 1, whose footprints are computed per
            query from the WCS columns (the same values, more slowly).
        """
        return all(c in self.columns for c in GEOMETRY_COLUMNS)

    def _corners(self, rows):
        if not len(rows):
            return np.zeros((0, 4, 3))
        if "corners" in self.columns:
            return np.asarray(self.columns["corners"][rows])
        wcs = [np.asarray(self.columns[c][rows]) for c in WCS_COLUMNS]
        return sin_corners(*wcs)

    def set_footprints(self, sets):
        """Footprints of image sets of this archive, from the stored geometry.

        Parameters
        ----------
        sets : `~twomass_vo.archives.ImageSets`
            Sets returned by this archive's look-ups.

        Returns
        -------
        footprints : `~twomass_vo.geometry.Footprints`
            Equal, bit for bit, to ``Footprints(sets.corners)``; read from
            the index when it stores the geometry, else computed.
        """
        if not self.has_geometry:
            return super().set_footprints(sets)
        return self._stored_footprints(np.asarray(sets.ref, np.int64))

    def _stored_footprints(self, rows):
        col = self.columns
        corners, *parts = FOOTPRINT_COLUMNS
        return Footprints.from_stored(
            lambda: np.asarray(col[corners][rows]),
            *(np.asarray(col[c][rows]) for c in parts),
        )

    def contain_sets(self, sets, points, *, index=None):
        """`~twomass_vo.archives.Archive.contain_sets` from the stored edge normals.

        Parameters
        ----------
        sets : `~twomass_vo.archives.ImageSets`
            Sets returned by this archive's look-ups.
        points : ndarray of float, shape (M, 3)
            Unit vectors.
        index : ndarray of int, shape (M,), optional
            The set of each point (default: point ``i`` and set ``i``).

        Returns
        -------
        inside : ndarray of bool
            Whether each point lies in its set (boundary inclusive).
        distance : ndarray of float
            Signed edge distance, radians (the generic values, bit for bit).
        """
        if not self.has_geometry:
            return super().contain_sets(sets, points, index=index)
        rows = np.asarray(sets.ref, np.int64)
        return self._contain_rows(rows if index is None else rows[index], points)

    def _contain_rows(self, rows, points):
        """`contain_sets` of index rows (one per point), from the stored normals."""
        return contains_distance(np.asarray(self.columns["normals"][rows]), points)

    def contain_points(self, ra, dec, *, with_corners=True):  # noqa: D102
        if not self.has_geometry:
            return super().contain_points(ra, dec, with_corners=with_corners)
        # the candidates' rows only: their other columns are read for the kept
        points, rows = self.zones.query_pairs(ra, dec, self.search_radius)
        inside, distance = self._contain_rows(rows, radec_to_xyz(ra, dec)[points])
        sets = self._sets(rows[inside], points[inside], with_corners=with_corners)
        # a large look-up maps much of the index: released when the result's
        # files are asked for (not between the chunks of one query)
        self._mapped_much |= len(rows) > _RELEASE_ROWS
        return sets, distance[inside]

    def _gather_released(self, column, rows):
        """``column[rows]``, read block by block of the index, pages released.

        For a mapped column read at many scattered rows: at most one block
        of its pages is resident at a time (rather than, through the kernel's
        read-around, most of the file).
        """
        values = self.columns[column]
        mapped = self._maps.get(column)
        if mapped is None or not hasattr(mapped, "madvise"):
            return np.asarray(values[rows])
        order = np.argsort(rows, kind="stable")
        ranked = rows[order]
        out = np.empty(len(rows), values.dtype)
        row_bytes = max(values.strides[0], 1)
        step = max(1, _RELEASE_BLOCK // row_bytes)
        offset = values.__array_interface__["data"][0] - buffer_address(mapped)
        for lo, hi in zip(
            np.searchsorted(ranked, np.arange(0, len(values), step)),
            np.searchsorted(ranked, np.arange(step, len(values) + step, step)),
            strict=True,
        ):
            if hi > lo:
                out[order[lo:hi]] = values[ranked[lo:hi]]
                first = ranked[lo] * row_bytes + offset
                last = (ranked[hi - 1] + 1) * row_bytes + offset
                start = first - first % mmap.PAGESIZE
                mapped.madvise(mmap.MADV_DONTNEED, start, last - start)
        return out

    def _release(self, *columns):
        """Drop the mapped pages of index columns read by a large look-up.

        They stay in the page cache (a later read costs a page fault, not a
        disk read) but no longer count in this process's resident memory.
        """
        for column in columns:
            mapped = self._maps.get(column)
            if mapped is not None and hasattr(mapped, "madvise"):
                mapped.madvise(mmap.MADV_DONTNEED)

    def find_circle(self, ra, dec, radius, *, image_type="atlas"):  # noqa: D102
        rows = self.zones.query_circle(ra, dec, radius + self.search_radius)
        return self._sets(rows)

    def find_points(self, ra, dec):  # noqa: D102
        points, rows = self.zones.query_pairs(ra, dec, self.search_radius)
        return self._sets(rows, points)

    def _key_rows(self, keys):
        """Index rows of the keys found: (index into ``keys``, row)."""
        keys = np.asarray(keys, np.int64)
        sorted_keys = getattr(self, "_sorted_keys", None)
        if sorted_keys is None:  # gathered once (11 MB for the whole survey)
            order = self.columns["key_order"]
            sorted_keys = self._sorted_keys = np.asarray(
                self.columns["coadd_key"][order]
            )
        pos = np.searchsorted(sorted_keys, keys).clip(0, max(len(sorted_keys) - 1, 0))
        found = (
            np.flatnonzero(sorted_keys[pos] == keys)
            if len(sorted_keys)
            else np.zeros(0, int)
        )
        return found, np.asarray(self.columns["key_order"][pos[found]], np.int64)

    def find_coadd_keys(self, keys):  # noqa: D102
        found, rows = self._key_rows(keys)
        return self._sets(rows, found)

    def contain_keys(self, keys, ra, dec, *, with_corners=True):  # noqa: D102
        if not self.has_geometry:
            return super().contain_keys(keys, ra, dec, with_corners=with_corners)
        point, rows = self._key_rows(keys)
        inside, distance = self._contain_rows(
            rows, radec_to_xyz(np.asarray(ra)[point], np.asarray(dec)[point])
        )
        return self._sets(rows, point, with_corners=with_corners), inside, distance

    def find_scans(self, ordate, hemisphere, scanno, image):  # noqa: D102
        image = np.asarray(image, np.int64)
        lo = dhs_key(ordate, hemisphere, scanno, np.where(image > 0, image, 0))
        hi = np.where(image > 0, lo, lo + 9999)
        sorted_keys = self.columns["dhs_sorted"]
        start = np.searchsorted(sorted_keys, lo, side="left")
        stop = np.searchsorted(sorted_keys, hi, side="right")
        counts = stop - start
        request = np.repeat(np.arange(len(lo)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        positions = np.repeat(start, counts) + offsets
        return self._sets(self.columns["dhs_order"][positions], request)

    # ------------------------------------------------------------------ files
    def files(self, sets, band_code, image_type):  # noqa: D102
        refs = self.files_for_table(sets, band_code, image_type)
        return FileRefs(
            access_url=np.asarray(refs.access_url).astype("U"),
            access_format=np.array(refs.access_format),
            access_estsize=np.array(refs.access_estsize),
            s_region=refs.s_region,  # ASCII bytes
        )

    def files_for_table(self, sets, band_code, image_type):  # noqa: D102
        rows = sets.ref
        band_code = np.asarray(band_code, np.int64)
        url_column = f"url_{image_type}"
        n = len(rows)
        if url_column in self.columns:
            urls = np.asarray(self.columns[url_column][rows, band_code])
        elif self.files_uri is not None:
            urls = self._store_urls(sets, band_code, image_type)
        else:
            urls = np.zeros(n, "U1")
        size = int(self.meta.get(f"estsize_{image_type}", -1))
        fmt = ATLAS_FORMAT if image_type == "atlas" else QUICKLOOK_FORMAT
        if self._mapped_much:
            self._release(*self._maps)
            self._mapped_much = False
        if n > _RELEASE_ROWS:  # a chunk of a large result: pages read, not kept
            s_region = self._gather_released("s_region", rows)
            self._release(url_column)
        else:
            s_region = np.asarray(self.columns["s_region"][rows])  # ASCII bytes
        # the same for every row: read-only views that cost nothing per row
        return FileRefs(
            access_url=urls,
            access_format=np.broadcast_to(np.array(fmt), (n,)),
            access_estsize=np.broadcast_to(np.array(size, np.int64), (n,)),
            s_region=s_region,
        )

    def _store_urls(self, sets, band_code, image_type):
        """``file://`` URLs of store files (ASCII bytes assembled at fixed widths)."""
        args = (sets.ordate, sets.hemisphere, sets.scanno, sets.image, band_code)
        codes = relative_path_codes(*args, image_type)
        if codes is not None and self.files_uri.isascii():
            prefix = self.files_uri.encode("ascii")
            codes = join_codes(len(codes), [prefix, codes])
            return codes.view(f"S{codes.shape[1]}").reshape(len(codes))
        return np.char.add(self.files_uri, relative_paths(*args, image_type))

    def local_path(self, url):
        """Return the store file of ``url``, or None if the URL is not this store's.

        Parameters
        ----------
        url : str
            An ``access_url``.

        Returns
        -------
        path : `~pathlib.Path` or None
            The file (which may not exist if the store is incomplete).
        """
        if self.files_uri is None or not str(url).startswith(self.files_uri):
            return None
        relative = str(url)[len(self.files_uri) :]
        if not _PATH_RE.fullmatch(relative):
            raise ValueError(f"{url!r} is not a file of this archive's store")
        path = self.files_dir / relative
        if not path.exists():
            self._make_file(relative, path)
        return path

    def _make_file(self, relative, path):
        """Make a missing store file (a hook for the simulated archive)."""

    def set_row(self, relative):
        """Index row and band of a store path.

        Parameters
        ----------
        relative : str
            Path relative to the file store.

        Returns
        -------
        row : int
            Index row of the image set.
        band_code : int
            0, 1, 2 for J, H, K.
        image_type : str
            ``atlas`` or ``quicklook``.
        """
        match = _PATH_RE.fullmatch(relative)
        if match is None:
            raise ValueError(f"{relative!r} is not a store path")
        key = dhs_key(
            [match["ordate"]],
            [match["hem"]],
            [int(match["scan"])],
            [int(match["image"])],
        )[0]
        sorted_keys = self.columns["dhs_sorted"]
        pos = int(np.searchsorted(sorted_keys, key))
        if pos >= len(sorted_keys) or sorted_keys[pos] != key:
            raise ValueError(f"{relative!r}: no such image set in {self!r}")
        kind = "atlas" if match["kind"] == "i" else "quicklook"
        return int(self.columns["dhs_order"][pos]), "jhk".index(match["band"]), kind

    def footprints(self, rows):
        """Footprints of index rows.

        Parameters
        ----------
        rows : array-like of int
            Index rows.

        Returns
        -------
        footprints : `~twomass_vo.geometry.Footprints`
            Their exact footprints.
        """
        rows = np.asarray(rows, np.int64)
        if self.has_geometry:
            return self._stored_footprints(rows)
        return Footprints(self._corners(rows))

    def describe(self, *, check=False):  # noqa: D102
        info = super().describe()
        info.update(
            path=None if self.path is None else str(self.path),
            image_sets=len(self),
            bands=list(BANDS),
            files=None if self.files_dir is None else str(self.files_dir),
        )
        if check:
            places = {"index": self.path, "files": self.files_dir}
            info["endpoints"] = {
                name: {
                    "url": None if place is None else Path(place).resolve().as_uri(),
                    "ok": place is None or Path(place).is_dir(),
                    "detail": "in memory" if place is None else "folder",
                }
                for name, place in places.items()
            }
        return info
