# Licensed under a 3-clause BSD style license - see LICENSE
"""Image-set columns from an image-metadata table (IRSA's 2MASS SIA v1 response).

`sets_from_metadata_table` is what `LocalArchive.from_table` builds on: one
row per image *file* in, one row per registered image *set* out, with the
per-band download URLs of the set.
"""

from pathlib import Path

import numpy as np
from astropy.table import Table

from ...exceptions import InputError

__all__ = ["sets_from_metadata_table"]

_SYNONYMS = {
    "date": ("date", "xdate", "ordate"),
    "hem": ("hem", "hemis", "hemisphere"),
    "scan": ("scan", "scanno"),
    "image": ("image",),
    "coadd_key": ("coadd_key",),
    "band": ("band", "filter"),
    "crota2": ("crota2",),
    "download": ("download", "access_url", "url"),
    "format": ("format", "access_format"),
    "type": ("type", "image_type"),
}
_VECTORS = {
    "crval": ("crval1", "crval2"),
    "crpix": ("crpix1", "crpix2"),
    "naxis": ("naxis1", "naxis2"),
    "scale": ("scale1", "scale2"),
}


def _find(table, names):
    lower = {name.lower(): name for name in table.colnames}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def _required(table, key, names):
    column = _find(table, names)
    if column is None:
        raise InputError(
            f"is a required column of an image-metadata table; columns present: "
            f"{', '.join(table.colnames)}",
            column=names[0],
            value=None,
        )
    return column


def _pair(table, key):
    """Return a (N, 2) array from a 2-vector column or its flattened pair."""
    vector = _find(table, (key,))
    if vector is not None and np.ndim(table[vector]) == 2:
        return np.asarray(table[vector], np.float64)[:, :2]
    first, second = _VECTORS[key]
    if key == "scale" and _find(table, (first,)) is None and vector is not None:
        scale = np.asarray(table[vector], np.float64)  # one scalar scale
        return np.stack([scale, scale], axis=1)
    cols = [table[_required(table, name, (name,))] for name in (first, second)]
    return np.stack([np.asarray(c, np.float64) for c in cols], axis=1)


def _text(table, column):
    values = table[column]
    if values.dtype.kind == "S":
        values = np.char.decode(values)
    return np.char.strip(np.asarray(values).astype(str))


def _check(valid, values, column):
    bad = np.flatnonzero(~valid)
    if len(bad):
        i = int(bad[0])
        raise InputError("is not a valid value", row=i, column=column, value=values[i])


def sets_from_metadata_table(table):
    """Per-set columns (for `LocalArchive.create`) from an image-metadata table.

    Parameters
    ----------
    table : `~astropy.table.Table` or str or `~pathlib.Path`
        One row per image file (see `LocalArchive.from_table`); a path is read
        with `astropy.table.Table.read` (VOTable, IPAC, FITS, ECSV, CSV).

    Returns
    -------
    sets : dict of ndarray
        Index columns, with ``has_band`` and ``url_atlas`` /
        ``url_quicklook`` (N, 3) per-band URLs.

    Raises
    ------
    InputError
        For a missing column or a bad value, naming row, column and value.
    """
    if not isinstance(table, Table):
        path = Path(table)
        if not path.exists():
            raise InputError("does not exist", column=None, value=str(path))
        fmt = "ascii.ipac" if path.suffix.lower() in (".tbl", ".ipac") else None
        table = Table.read(path, format=fmt)
    fmt_col = _find(table, _SYNONYMS["format"])
    keep = np.ones(len(table), bool)
    if fmt_col is not None:
        keep = np.char.find(np.char.lower(_text(table, fmt_col)), "fits") >= 0
    table = table[keep]
    cols = {
        key: _required(table, key, names)
        for key, names in _SYNONYMS.items()
        if key not in ("format", "type")
    }
    n = len(table)

    date = _text(table, cols["date"])
    date = np.where(np.char.str_len(date) < 6, np.char.zfill(date, 6), date)
    _check(np.char.isdigit(date) & (np.char.str_len(date) == 6), date, cols["date"])
    hem = np.char.lower(_text(table, cols["hem"]))
    hem = np.where(
        np.char.startswith(hem, "n"),
        "n",
        np.where(np.char.startswith(hem, "s"), "s", hem),
    )
    _check(np.isin(hem, ("n", "s")), hem, cols["hem"])
    band = np.char.upper(_text(table, cols["band"]))
    band = np.where(band == "KS", "K", band)
    _check(np.isin(band, ("J", "H", "K")), band, cols["band"])
    ints = {}
    for key in ("scan", "image", "coadd_key"):
        values = np.asarray(table[cols[key]])
        try:
            ints[key] = values.astype(np.float64)
        except (TypeError, ValueError):
            ints[key] = np.full(n, np.nan)
        _check(
            np.isfinite(ints[key]) & (ints[key] == np.round(ints[key])),
            values,
            cols[key],
        )
        ints[key] = ints[key].astype(np.int64)
    kind = np.full(n, "atlas")
    type_col = _find(table, _SYNONYMS["type"])
    if type_col is not None:
        kind = np.where(
            np.char.upper(_text(table, type_col)).astype("U1") == "Q",
            "quicklook",
            "atlas",
        )
    crval, crpix, naxis, scale = (
        _pair(table, k) for k in ("crval", "crpix", "naxis", "scale")
    )
    crota2 = np.asarray(table[cols["crota2"]], np.float64)
    url = _text(table, cols["download"])

    keys, first, inverse = np.unique(
        ints["coadd_key"], return_index=True, return_inverse=True
    )
    m = len(keys)
    band_code = np.searchsorted(np.array(["H", "J", "K"]), band)
    band_code = np.array([1, 0, 2])[band_code]  # H, J, K -> J=0, H=1, K=2
    has_band = np.zeros((m, 3), bool)
    urls = {k: np.full((m, 3), "", dtype=object) for k in ("atlas", "quicklook")}
    has_band[inverse, band_code] = True
    for k in ("atlas", "quicklook"):
        sel = kind == k
        urls[k][inverse[sel], band_code[sel]] = url[sel]
    sets = {
        "coadd_key": keys,
        "ordate": date[first],
        "hemisphere": hem[first],
        "scanno": ints["scan"][first],
        "image": ints["image"][first],
        "crval1": crval[first, 0],
        "crval2": crval[first, 1],
        "crpix1": crpix[first, 0],
        "crpix2": crpix[first, 1],
        "naxis1": naxis[first, 0],
        "naxis2": naxis[first, 1],
        "cdelt1": -np.abs(scale[first, 0]),
        "cdelt2": np.abs(scale[first, 1]),
        "crota2": crota2[first],
        "has_band": has_band,
        "url_atlas": urls["atlas"].astype(str),
    }
    if (kind == "quicklook").any():
        sets["url_quicklook"] = urls["quicklook"].astype(str)
    return sets
