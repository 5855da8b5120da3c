# Licensed under a 3-clause BSD style license - see LICENSE
"""Mapping a VO service's answer to the archive's columns, one row per image file.

`FileRowMapper` (``archive.rows`` of a `~twomass_vo.archives.VOArchive`) reads
a TAP answer (the table's columns, mapped by ``columns``) or an SIA v2 answer
(ObsCore columns) as file rows: date, hemisphere, scan, image, band, image
type, coadd_key, position, access URL / format / size, publisher DID, and
the footprint of each row. Where the service has no date / hemisphere / scan
/ image columns (IRSA's SIA v2), they are parsed from the file path
``.../{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``.
Columns are found by name in any case, so an answer with two names that
are the same in any case (``ordate`` and ``ORDATE``) is refused: which one
is meant cannot be told.
"""

import numpy as np

from ...exceptions import ArchiveError
from ..set_keys import dhs_keys
from .answer_values import (
    check_file_rows,
    checked_footprints,
    polygon_xyz,
    service_ints,
    service_value_error,
)
from .column_text import as_numbers, as_text, band_codes, ordate_text, zfill
from .file_paths import LazyPaths
from .image_sets import parse_footprints

__all__ = ["FileRowMapper", "find_column"]

#: ObsCore columns of an SIA v2 response, per contract column.
_OBSCORE = {
    "ra": "s_ra",
    "dec": "s_dec",
    "s_region": "s_region",
    "access_url": "access_url",
    "access_format": "access_format",
    "access_estsize": "access_estsize",
    "pubdid": "obs_publisher_did",
    "band": "energy_bandpassname",
}

#: ``dataproduct_subtype`` values of image files in SIA v2 answers: IRSA writes
#: ``science`` (its ``auxiliary`` / ``weight`` rows are dropped); a twomass_vo
#: DaCHS mirror writes the image type.
_SCIENCE_SUBTYPES = ("", "science", "atlas", "quicklook")


def find_column(table, *names):
    """Return the first column of ``table`` named one of ``names`` (any case).

    None if there is none (``None`` names are skipped).
    """
    lower = {name.lower(): name for name in table.colnames}
    for name in names:
        if name is not None and name.lower() in lower:
            return table[lower[name.lower()]]
    return None


class FileRowMapper:
    """File rows of a service answer, for `~twomass_vo.archives.VOArchive`.

    Held by the archive as ``archive.rows``.

    Parameters
    ----------
    data_url_root : str or None
        Root of the file tree, for tables without an ``access_url`` column:
        the URL is ``{root}{ordate}{hem}/s{scan:03d}/image/{file}``.
    """

    def __init__(self, data_url_root=None):
        self.data_url_root = data_url_root

    def read(self, table, source, columns, url):
        """Contract columns of an answer (one row per image file).

        Parameters
        ----------
        table : `~astropy.table.Table`
            The answer.
        source : {'tap', 'sia'}
            The service that answered: a TAP answer has the table's columns
            (named by ``columns``), an SIA v2 answer ObsCore columns.
        columns : dict
            Contract name -> column name of the TAP table (see
            `~twomass_vo.archives.vo.DEFAULT_COLUMNS`).
        url : str
            The service (and table) that answered, for the messages.

        Returns
        -------
        rows : dict of ndarray
            The contract columns of the kept rows, and ``dhs``.
        keep : ndarray of bool
            Which answer rows are image files.
        corners_of : callable
            Kept-row indices -> corner vectors ``(k, 4, 3)`` (checked).

        Raises
        ------
        twomass_vo.exceptions.ArchiveError
            For an unreadable or bad value, naming ``url``, the row and the
            value.
        """
        n = len(table)
        cols = columns

        def get(key):
            names = (_OBSCORE.get(key), cols[key]) if source == "sia" else (cols[key],)
            return find_column(table, *names)

        seen = {}
        for name in table.colnames:
            if name.lower() in seen:
                raise ArchiveError(
                    f"{url}: the answer has the columns {seen[name.lower()]!r} and "
                    f"{name!r}, the same name in any case"
                )
            seen[name.lower()] = name

        keep = np.ones(n, bool)
        if source == "sia":
            subtype = find_column(table, "dataproduct_subtype")
            if subtype is not None:
                subtype = np.char.lower(as_text(subtype))
                keep &= np.isin(subtype, _SCIENCE_SUBTYPES)
            fmt = find_column(table, "access_format")
            if fmt is not None:
                fmt = np.char.lower(as_text(fmt))
                keep &= (
                    (fmt == "")
                    | (np.char.find(fmt, "fits") >= 0)
                    | (np.char.find(fmt, "gzip") >= 0)
                )
        url_col = get("access_url")
        name_col = get("file_name")
        path_source = name_col if name_col is not None else url_col
        parsed = LazyPaths(path_source, n)
        rows = {}
        text = {"ordate": "ordate", "hemisphere": "hemisphere"}
        for key in ("ordate", "hemisphere", "scanno", "image"):
            column = get(key)
            if column is None:
                value, ok = parsed[key], parsed["ok"].copy()
                if key in text:
                    ok &= np.char.str_len(value) > 0
            elif key in text:
                value = ordate_text(column) if key == "ordate" else as_text(column)
                if key == "hemisphere":
                    value = np.char.lower(value)
                ok = np.char.str_len(value) > 0
            else:
                value = as_numbers(column, np.int64, -1)
                ok = value >= 0
            rows[key] = value
            self._require(ok | ~keep, key, url, path_source, column)
        band = get("band")
        codes = band_codes(band) if band is not None else np.full(n, -1, np.int64)
        if (codes < 0).any():
            codes = np.where(codes >= 0, codes, parsed["band_code"])
        self._require((codes >= 0) | ~keep, "band", url, path_source, band)
        rows["band_code"] = codes
        kind_col = get("image_type")
        if kind_col is None and source == "sia":
            kind_col = find_column(table, "dataproduct_subtype")
        if kind_col is not None:
            first = np.char.lower(as_text(kind_col)).astype("U1")
            rows["kind"] = np.where(first == "q", 1, 0)
            unknown = (first != "q") & (first != "a")
            if unknown.any():
                rows["kind"] = np.where(unknown, parsed["kind"], rows["kind"])
                known = ~unknown | parsed["ok"] | ~keep
                self._require(known, "image_type", url, path_source, kind_col)
        else:
            rows["kind"] = parsed["kind"]
        coadd = get("coadd_key")
        rows["coadd_key"] = (
            service_ints(coadd, "coadd_key", url, keep)
            if coadd is not None
            else np.full(n, -1)
        )
        for key in ("ra", "dec"):
            column = get(key)
            rows[key] = (
                as_numbers(column, np.float64, np.nan)
                if column is not None
                else np.full(n, np.nan)
            )
        if url_col is not None:
            rows["access_url"] = as_text(url_col)
        else:
            rows["access_url"] = self._built_urls(rows, name_col)
        fmt = get("access_format")
        rows["access_format"] = (
            as_text(fmt) if fmt is not None else np.full(n, "image/fits")
        )
        rows["access_format"] = np.where(
            rows["access_format"] == "", "image/fits", rows["access_format"]
        )
        size = get("access_estsize")
        rows["access_estsize"] = (
            as_numbers(size, np.int64, -1) if size is not None else np.full(n, -1)
        )
        pubdid = get("pubdid")
        rows["pubdid"] = as_text(pubdid) if pubdid is not None else np.full(n, "")
        rows = {k: np.asarray(v)[keep] for k, v in rows.items()}
        kept = np.flatnonzero(keep)
        check_file_rows(rows, kept, url)
        rows["ordate"] = zfill(rows["ordate"].astype("U6"), 6)
        rows["hemisphere"] = rows["hemisphere"].astype("U1")
        rows["dhs"] = dhs_keys(
            rows["ordate"], rows["hemisphere"], rows["scanno"], rows["image"]
        )
        region = _footprint_source(table, source, columns)
        return rows, keep, (lambda i: checked_footprints(region, kept[i], url))

    def _require(self, ok, what, url, path_source, column):
        if ok.all():
            return
        i = int(np.flatnonzero(~ok)[0])
        shown = column if column is not None else path_source
        value = None if shown is None else shown[i]
        raise service_value_error(url, i, what, value, "cannot be read")

    def _built_urls(self, rows, name_col):
        """access_url from ``data_url_root`` and the file's identity."""
        add = np.char.add
        scan3 = zfill(rows["scanno"].astype("U3"), 3)
        folder = np.where(rows["kind"] == 1, "/ql/", "/image/")
        if name_col is not None:
            name = as_text(name_col)
        else:
            band = np.array(["j", "h", "k", "j"])[rows["band_code"]]
            kind = np.where(rows["kind"] == 1, "q", "i")
            image4 = zfill(rows["image"].astype("U4"), 4)
            name = add(add(add(add(band, kind), scan3), image4), ".fits.gz")
        head = add(add(self.data_url_root, rows["ordate"]), rows["hemisphere"])
        return add(add(add(add(head, "/s"), scan3), folder), name)


def _footprint_source(table, source, columns):
    """Return a function: response row indices -> corner vectors (k, 4, 3)."""
    corners = columns["corners"] if source == "tap" else None
    if corners is not None and all(find_column(table, c) is not None for c in corners):
        values = [
            as_numbers(find_column(table, c), np.float64, np.nan) for c in corners
        ]

        def from_corners(idx):
            ra = np.stack([values[k][idx] for k in (0, 2, 4, 6)], axis=1)
            dec = np.stack([values[k][idx] for k in (1, 3, 5, 7)], axis=1)
            return polygon_xyz(ra, dec)

        return from_corners
    name = _OBSCORE["s_region"] if source == "sia" else columns["s_region"]
    column = find_column(table, name, columns["s_region"])
    if column is None:
        raise ArchiveError(
            f"the answer has no footprint column ({name}); columns: "
            f"{', '.join(table.colnames)}"
        )

    def from_region(idx):
        return parse_footprints(column, idx)

    return from_region
