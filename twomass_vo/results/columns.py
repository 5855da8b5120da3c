# Licensed under a 3-clause BSD style license - see LICENSE
"""The column contract of `~twomass_vo.ImageTable`: names, types, units, UCDs.

`COLUMNS` lists every column of a result (name, dtype, unit, UCD,
description -- the data contract of the design); `DISPLAY_FIRST` the
columns a printed table shows first; `make_column` builds one
with its metadata (and ObsCore utype where there is one) and `column_data`
converts the values given for it, keeping ASCII bytes as they are.
"""

import numpy as np
from astropy.table import Column

__all__ = [
    "COLUMNS",
    "COLUMN_NAMES",
    "DISPLAY_FIRST",
    "OBSCORE_UTYPES",
    "column_data",
    "display_order",
    "make_column",
]

# name, dtype, unit, UCD, description -- the data contract of DESIGN.md.
COLUMNS = (
    (
        "scntr",
        "i8",
        None,
        "meta.id",
        "0-based index of the input row (position, key, DHS) that produced this row",
    ),
    ("id", "U", None, "meta.id", "The user's identifier of that input row, if any"),
    (
        "in_ra",
        "f8",
        "deg",
        "pos.eq.ra",
        "Input position (positions and region modes), ICRS right ascension",
    ),
    (
        "in_dec",
        "f8",
        "deg",
        "pos.eq.dec",
        "Input position (positions and region modes), ICRS declination",
    ),
    (
        "coadd_key",
        "i8",
        None,
        "meta.id;obs.image",
        "Unique key of the 2MASS image set (same for J, H and Ks)",
    ),
    (
        "ordate",
        "U6",
        None,
        "time.epoch;obs",
        "Observation reference date of the night, yymmdd",
    ),
    (
        "hemisphere",
        "U1",
        None,
        "meta.code;instr.obsty",
        "Observatory hemisphere: n = Mt. Hopkins, s = CTIO",
    ),
    ("scanno", "i4", None, "meta.number;obs.sequence", "Nightly scan number"),
    (
        "image",
        "i4",
        None,
        "meta.number;obs.image",
        "Image number within the scan (closest frame to the image centre)",
    ),
    ("band", "U1", None, "instr.bandpass", "2MASS band: J, H or K (Ks)"),
    (
        "image_type",
        "U9",
        None,
        "meta.code;obs.image",
        "atlas or quicklook (lossy hcompress: not for photometry)",
    ),
    (
        "ra",
        "f8",
        "deg",
        "pos.eq.ra;meta.main",
        "Image centre (CRVAL1), ICRS right ascension",
    ),
    (
        "dec",
        "f8",
        "deg",
        "pos.eq.dec;meta.main",
        "Image centre (CRVAL2), ICRS declination",
    ),
    (
        "s_region",
        "U",
        None,
        "pos.outline;obs.field",
        "Footprint to the outer pixel edges, POLYGON ICRS ra1 dec1 ... ra4 dec4",
    ),
    (
        "dist_edge",
        "f8",
        "arcsec",
        "pos.angDistance",
        "Positions mode: smallest distance from the position to the 4 image edges",
    ),
    (
        "best",
        "?",
        None,
        "meta.code",
        "Positions mode: whether this is the best (most centred) image set for "
        "the position",
    ),
    ("access_url", "U", None, "meta.ref.url", "URL of the full image file"),
    ("access_format", "U", None, "meta.code.mime", "MIME type of the image file"),
    (
        "access_estsize",
        "i8",
        "kbyte",
        "phys.size;meta.file",
        "Estimated size of the image file",
    ),
    (
        "cutout_url",
        "U",
        None,
        "meta.ref.url",
        "URL of the cutout, when a cutout size was asked for and the archive "
        "makes cutouts",
    ),
    (
        "cutout_size",
        "f8",
        "arcsec",
        "phys.angSize",
        "Requested cutout width and height (0: the full image)",
    ),
)

#: Names of the contract columns, in table order.
COLUMN_NAMES = tuple(c[0] for c in COLUMNS)
#: The columns a printed table shows first: what names the image file (band,
#: date, hemisphere, scan, image; its image set), then the input row. The
#: other columns follow in table order (the files keep the contract's order).
DISPLAY_FIRST = (
    "band",
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    "coadd_key",
    "id",
    "scntr",
)
#: ObsCore utypes of the columns that have one.
OBSCORE_UTYPES = {
    "access_url": "obscore:Access.Reference",
    "access_format": "obscore:Access.Format",
    "access_estsize": "obscore:Access.Size",
    "s_region": "obscore:Char.SpatialAxis.Coverage.Support.Area",
    "ra": "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
    "dec": "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
}


def display_order(names):
    """Return column names in display order: `DISPLAY_FIRST` first, then the rest.

    Parameters
    ----------
    names : sequence of str
        The table's column names.

    Returns
    -------
    names : list of str
        The same names, those of `DISPLAY_FIRST` (that are present) first.
    """
    first = [name for name in DISPLAY_FIRST if name in names]
    return first + [name for name in names if name not in DISPLAY_FIRST]


def make_column(name, unit, ucd, description, data):
    """Return a `~astropy.table.Column` with its unit, UCD, ObsCore utype and text."""
    meta = {"ucd": ucd}
    if name in OBSCORE_UTYPES:
        meta["utype"] = OBSCORE_UTYPES[name]
    return Column(
        data, name=name, unit=unit, description=description, meta=meta, copy=False
    )


def column_data(name, dtype, values, n):
    """Return the values of one contract column as an array (fill values if None)."""
    if values is None:
        if dtype.startswith("U"):
            return np.zeros(n, dtype="U1")
        if dtype == "f8":
            return np.zeros(n) if name == "cutout_size" else np.full(n, np.nan)
        return np.zeros(n, dtype=dtype)
    arr = np.asarray(values)
    if dtype.startswith("U"):
        # ASCII bytes are kept as they are (a quarter of the memory; read out
        # as str), and so are unicode strings of any width
        if arr.dtype.kind not in "US":
            arr = arr.astype(str if dtype == "U" else dtype)
    else:
        arr = arr.astype(dtype, copy=False)
    return arr
