# Licensed under a 3-clause BSD style license - see LICENSE
"""`LocalArchive`: an embedded index of image sets plus a local file store.

Storage (a folder)::

    archive.json        format, name, number of sets, index parameters
    index/<column>.npy  one NumPy file per column, rows sorted by declination zone
    files/              the file store
                        (``<ordate><hem>/s<scan>/image/<b>i<scan><image>.fits``)

Why columnar ``.npy`` files rather than an embedded database: every query
ends in vectorised NumPy geometry on these columns, and ``.npy`` files are
memory-mapped in microseconds with no decoding, no extra dependency and no
per-row conversion; the spatial index is the sort order itself (declination
zones, then RA, see `twomass_vo.sky_index`), and the two look-up indexes
(coadd_key, date-hemisphere-scan-image) are sorted key arrays searched with
`numpy.searchsorted`. An all-sky index of 1.4 million sets opens in
milliseconds and answers a 7° region in a few milliseconds.
"""

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..exceptions import ArchiveError, InputError
from ..geometry import (
    Footprints,
    angle_between,
    format_s_region,
    radec_to_xyz,
    sin_corners,
)
from ..sky_index import ZoneIndex
from .base import BANDS, Archive, FileRefs, ImageSets

__all__ = ["LocalArchive"]

FORMAT = "twomass_vo-local/1"
ZONE_HEIGHT = 0.5  # deg
WCS_COLUMNS = (
    "crval1",
    "crval2",
    "crpix1",
    "crpix2",
    "naxis1",
    "naxis2",
    "cdelt1",
    "cdelt2",
    "crota2",
)
_REQUIRED = ("coadd_key", "ordate", "hemisphere", "scanno", "image", *WCS_COLUMNS)
_STORED_DTYPES = {
    "coadd_key": np.int64,
    "ordate": "S6",
    "hemisphere": "S1",
    "scanno": np.int16,
    "image": np.int16,
    "crval1": np.float64,
    "crval2": np.float64,
    "crpix1": np.float64,
    "crpix2": np.float64,
    "naxis1": np.int32,
    "naxis2": np.int32,
    "cdelt1": np.float64,
    "cdelt2": np.float64,
    "crota2": np.float64,
}
_PATH_RE = re.compile(
    r"(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<scan>\d{3})/(?P<dir>image|ql)/"
    r"(?P<band>[jhk])(?P<kind>[iq])(?P=scan)(?P<image>\d{4})\.fits"
)
#: MIME types of the files in a local store.
ATLAS_FORMAT = "image/fits"
QUICKLOOK_FORMAT = "image/fits"  # hcompressed image extension in a FITS file


def _dhs_key(ordate, hemisphere, scanno, image):
    """One int64 per (date, hemisphere, scan, image): sortable look-up key."""
    date = np.asarray(ordate).astype(np.int64)
    hem = (np.char.lower(np.asarray(hemisphere).astype("U1")) == "s").astype(np.int64)
    return (
        (date * 2 + hem) * 1000 + np.asarray(scanno, np.int64)
    ) * 10_000 + np.asarray(image, np.int64)


def relative_paths(ordate, hemisphere, scanno, image, band_code, image_type):
    """Relative file-store paths, vectorised.

    Parameters
    ----------
    ordate, hemisphere : ndarray of str
        ``yymmdd`` and ``n``/``s``.
    scanno, image : ndarray of int
        Scan and image numbers.
    band_code : ndarray of int
        0, 1, 2 for J, H, K.
    image_type : {'atlas', 'quicklook'}
        Atlas files live in ``image/``, Quicklook files in ``ql/``.

    Returns
    -------
    paths : ndarray of str
        E.g. ``001022s/s062/image/ji0620186.fits``.
    """
    add = np.char.add
    scan3 = np.char.zfill(np.asarray(scanno).astype("U3"), 3)
    image4 = np.char.zfill(np.asarray(image).astype("U4"), 4)
    band = np.array(["j", "h", "k"])[np.asarray(band_code)]
    folder, kind = ("/image/", "i") if image_type == "atlas" else ("/ql/", "q")
    head = add(
        add(
            add(np.asarray(ordate).astype("U6"), np.asarray(hemisphere).astype("U1")),
            "/s",
        ),
        scan3,
    )
    tail = add(add(add(add(band, kind), scan3), image4), ".fits")
    return add(add(head, folder), tail)


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

    def __init__(self, path=None, *, _columns=None, _meta=None):
        if _columns is not None:  # in-memory archive (from_table without a path)
            self.path, self.meta, self.columns = None, dict(_meta), _columns
        else:
            self.path = Path(path)
            meta_file = self.path / "archive.json"
            try:
                self.meta = json.loads(meta_file.read_text())
            except (OSError, ValueError) as exc:
                raise ArchiveError(
                    f"{self.path} is not a twomass_vo LocalArchive: {exc}"
                ) from None
            if self.meta.get("format") != FORMAT:
                raise ArchiveError(
                    f"{meta_file}: unknown format {self.meta.get('format')!r}"
                )
            self.columns = {
                f.stem: np.load(f, mmap_mode="r")
                for f in sorted((self.path / "index").glob("*.npy"))
            }
            missing = [c for c in _REQUIRED if c not in self.columns]
            if missing:
                raise ArchiveError(f"{self.path}: index columns missing: {missing}")
        self.name = self.meta.get("name", "local")
        self.search_radius = float(self.meta["search_radius"])
        self.zones = ZoneIndex(
            self.columns["crval1"],
            self.columns["crval2"],
            zone_height=float(self.meta["zone_height"]),
        )
        if self.path is not None:
            self.files_dir = self.path / self.meta.get("files", "files")
            self.files_uri = self.files_dir.resolve().as_uri() + "/"
        else:
            self.files_dir = self.files_uri = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {len(self)} image sets>"

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
        columns, meta = cls._index_columns(
            sets, name=name or path.name, extra_meta=extra_meta
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.mkdir keeps the umask's permissions (mkdtemp would make it 0700,
        # unreadable for a server such as DaCHS running as another user)
        tmp = path.parent / f".{path.name}-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            (tmp / "index").mkdir()
            for column, values in columns.items():
                np.save(tmp / "index" / f"{column}.npy", values)
            (tmp / "files").mkdir()
            (tmp / "archive.json").write_text(json.dumps(meta, indent=2))
            if path.exists():
                if (path / "archive.json").exists():
                    raise ArchiveError(f"{path} already holds an archive")
                path.rmdir()  # an empty folder may be replaced
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(path)

    @classmethod
    def _index_columns(cls, sets, *, name, extra_meta=None):
        missing = [c for c in _REQUIRED if c not in sets]
        if missing:
            raise InputError(
                f"required index columns missing: {missing}", column=missing[0]
            )
        columns = {c: np.asarray(sets[c]).astype(_STORED_DTYPES[c]) for c in _REQUIRED}
        n = len(columns["coadd_key"])
        keys, first = np.unique(columns["coadd_key"], return_index=True)
        if len(keys) != n:
            dup = np.setdiff1d(np.arange(n), first)[0]
            raise InputError(
                "is a duplicate coadd_key",
                row=int(dup),
                column="coadd_key",
                value=int(columns["coadd_key"][dup]),
            )
        columns["has_band"] = np.asarray(
            sets.get("has_band", np.ones((n, 3), bool)), bool
        )
        if "scandir" in sets:
            columns["scandir"] = np.asarray(sets["scandir"]).astype("S1")
        for kind in ("url_atlas", "url_quicklook"):
            if kind in sets:
                columns[kind] = np.asarray(sets[kind]).astype("U").astype("S")
        wcs = [columns[c] for c in WCS_COLUMNS]
        corners = sin_corners(*wcs) if n else np.zeros((0, 4, 3))
        centre = radec_to_xyz(columns["crval1"], columns["crval2"])
        radius = (
            float(np.degrees(angle_between(centre[:, None, :], corners).max()))
            if n
            else 0.0
        )
        columns["s_region"] = (
            format_s_region(corners).astype("S") if n else np.zeros(0, "S1")
        )
        order = ZoneIndex.sort_order(
            columns["crval1"], columns["crval2"], zone_height=ZONE_HEIGHT
        )
        columns = {c: v[order] for c, v in columns.items()}
        columns["key_order"] = np.argsort(columns["coadd_key"], kind="stable")
        dhs = _dhs_key(
            columns["ordate"],
            columns["hemisphere"],
            columns["scanno"],
            columns["image"],
        )
        columns["dhs_order"] = np.argsort(dhs, kind="stable")
        columns["dhs_sorted"] = dhs[columns["dhs_order"]]
        meta = {
            "format": FORMAT,
            "name": name,
            "n_sets": n,
            "zone_height": ZONE_HEIGHT,
            "search_radius": radius * (1 + 1e-9) + 1e-9,
            "files": "files",
            **(extra_meta or {}),
        }
        return columns, meta

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
        from .metadata_table import sets_from_metadata_table

        sets = sets_from_metadata_table(table)
        if path is not None:
            return cls.create(path, sets, name=name)
        columns, meta = cls._index_columns(sets, name=name)
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
            Centre of the patch (any format of `~twomass_vo.coords.parse_coordinates`).
        radius : float or `~astropy.units.Quantity`
            Radius (a float is in degrees), at most 5 deg.

        Returns
        -------
        archive : `LocalArchive`
            The new archive.
        """
        from .simulated import simulate_patch

        return simulate_patch(cls, path, center, radius)

    # ------------------------------------------------------------------ look-ups
    def _sets(self, rows, query_index=None):
        rows = np.asarray(rows, np.int64)
        col = self.columns
        wcs = [np.asarray(col[c][rows]) for c in WCS_COLUMNS]
        return ImageSets(
            ref=rows,
            coadd_key=np.asarray(col["coadd_key"][rows], np.int64),
            ordate=col["ordate"][rows].astype("U6"),
            hemisphere=col["hemisphere"][rows].astype("U1"),
            scanno=np.asarray(col["scanno"][rows], np.int64),
            image=np.asarray(col["image"][rows], np.int64),
            ra=wcs[0].astype(np.float64),
            dec=wcs[1].astype(np.float64),
            corners=sin_corners(*wcs) if len(rows) else np.zeros((0, 4, 3)),
            has_band=np.asarray(col["has_band"][rows], bool),
            query_index=None
            if query_index is None
            else np.asarray(query_index, np.int64),
        )

    def find_circle(self, ra, dec, radius):  # noqa: D102 (documented in Archive)
        rows = self.zones.query_circle(ra, dec, radius + self.search_radius)
        return self._sets(rows)

    def find_points(self, ra, dec):  # noqa: D102
        points, rows = self.zones.query_pairs(ra, dec, self.search_radius)
        return self._sets(rows, points)

    def find_coadd_keys(self, keys):  # noqa: D102
        keys = np.asarray(keys, np.int64)
        sorted_keys = self.columns["coadd_key"][self.columns["key_order"]]
        pos = np.searchsorted(sorted_keys, keys).clip(0, max(len(sorted_keys) - 1, 0))
        found = (
            np.flatnonzero(sorted_keys[pos] == keys)
            if len(sorted_keys)
            else np.zeros(0, int)
        )
        return self._sets(self.columns["key_order"][pos[found]], found)

    def find_scans(self, ordate, hemisphere, scanno, image):  # noqa: D102
        image = np.asarray(image, np.int64)
        lo = _dhs_key(ordate, hemisphere, scanno, np.where(image > 0, image, 0))
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
        rows = sets.ref
        band_code = np.asarray(band_code, np.int64)
        url_column = f"url_{image_type}"
        n = len(rows)
        if url_column in self.columns:
            urls = self.columns[url_column][rows, band_code].astype("U")
        elif self.files_uri is not None:
            rel = relative_paths(
                sets.ordate,
                sets.hemisphere,
                sets.scanno,
                sets.image,
                band_code,
                image_type,
            )
            urls = np.char.add(self.files_uri, rel)
        else:
            urls = np.zeros(n, "U1")
        size = int(self.meta.get(f"estsize_{image_type}", -1))
        fmt = ATLAS_FORMAT if image_type == "atlas" else QUICKLOOK_FORMAT
        return FileRefs(
            access_url=urls,
            access_format=np.full(n, fmt),
            access_estsize=np.full(n, size, np.int64),
            s_region=np.asarray(self.columns["s_region"][rows]),  # ASCII bytes
        )

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
        key = _dhs_key(
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
        return Footprints(self._sets(rows).corners)

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
