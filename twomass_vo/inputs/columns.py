# Licensed under a 3-clause BSD style license - see LICENSE
"""Columns of input tables: finding them, and parsing their values row by row.

Columns are found by name, in any case, with the synonyms of
`COLUMN_SYNONYMS` (the first synonym found wins), so that an
`~twomass_vo.ImageTable` (``ordate``, ``hemisphere``, ``scanno``) can be fed
back into the coadd_key and DHS modes.  The helpers here turn a column into
numpy values and a null mask, parse integers, floats, bands and identifiers
one column at a time (vectorised), and raise
`~twomass_vo.exceptions.InputError` naming the row, the column and the value
of the first bad entry.
"""

import numpy as np
from astropy import units as u

from ..exceptions import InputError
from .tables import null_words
from .values import BAND_CODES

__all__ = [
    "COLUMN_SYNONYMS",
    "angle_unit_factor",
    "ascii_digits",
    "column_floats",
    "column_ints",
    "column_values",
    "digits_value",
    "find_input_column",
    "map_strings",
    "missing_column_error",
    "plain_value",
    "raise_first_bad",
    "row_bands",
    "row_ids",
    "string_codes",
]


#: Accepted column names of each input quantity, in order of preference.
#: Names are compared case-insensitively; the first synonym present wins.
COLUMN_SYNONYMS = {
    "ra": ("ra", "ra_deg", "raj2000", "in_ra"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000", "in_dec", "decl"),
    "object": ("object", "objname", "name"),
    "size": ("size",),
    "best": ("best",),
    "id": ("id",),
    "coadd_key": ("coadd_key", "coaddkey"),
    "band": ("band", "filter"),
    "date": ("xdate", "date", "ordate"),
    "hemisphere": ("hem", "hemis", "hemisphere"),
    "scan": ("scan", "scanno"),
    "image": ("image",),
    # catalogue sources (the sources mode): IRSA fp_psc, LIneA, VizieR II/246
    "designation": ("designation", "2mass", "_2mass"),
    "source_key": ("pts_key", "cntr"),
}

_MAX_DIGITS = 18  # every integer of up to 18 decimal digits fits in int64


# --------------------------------------------------------------------------
# Column helpers
# --------------------------------------------------------------------------


def find_input_column(table, kind):
    """Find the column of an input quantity by its accepted names.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The input table.
    kind : str
        A key of `COLUMN_SYNONYMS` (``'ra'``, ``'date'``, ...).

    Returns
    -------
    name : str or None
        The name of the column as spelled in the table, or `None`.  Names are
        compared case-insensitively; the first synonym present wins, and an
        exact-case match wins over other spellings of the same name.
    """
    by_lower = {}
    for colname in table.colnames:
        by_lower.setdefault(colname.lower(), []).append(colname)
    for synonym in COLUMN_SYNONYMS[kind]:
        found = by_lower.get(synonym)
        if found:
            return synonym if synonym in found else found[0]
    return None


def missing_column_error(table, kind, what):
    """Return the InputError for a table that lacks the column of ``kind``."""
    synonyms = COLUMN_SYNONYMS[kind]
    also = ", ".join(repr(s) for s in synonyms[1:])
    also = f" (or {also}, in any case)" if also else " (in any case)"
    return InputError(
        f"are the table's columns: a {what} needs the column {synonyms[0]!r}{also}",
        column=synonyms[0],
        value=list(table.colnames),
    )


def plain_value(value):
    """Return a plain Python value for error messages."""
    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_str(data):
    """Return a 'U' array of stripped strings for a str/bytes/object array."""
    if data.dtype.kind == "U":
        return np.char.strip(data)
    if data.dtype.kind == "S":
        try:  # ASCII (designations, dates, ...): a plain cast, 4x faster
            return np.char.strip(data.astype(f"U{max(data.dtype.itemsize, 1)}"))
        except UnicodeDecodeError:
            return np.char.strip(np.char.decode(data, "utf-8", errors="replace"))
    if data.dtype.kind == "O":
        out = [
            v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
            for v in data
        ]
        return np.char.strip(np.array(out, dtype=str)) if out else np.zeros(0, "U1")
    return np.char.strip(data.astype(str))


def column_values(col):
    """Split a column into its values and its null mask.

    Text columns become stripped 'U' arrays whose empty values and the word
    ``null`` (any case) count as null; masked entries are null in all kinds.
    """
    mask = np.array(np.ma.getmaskarray(col), dtype=bool)
    data = np.asarray(np.ma.getdata(col))
    if data.ndim != 1:
        raise InputError(
            "is a multidimensional column; one value per row is needed",
            column=getattr(col, "name", None),
            value=f"shape {data.shape}",
        )
    if data.dtype.kind == "O":  # Python None (object columns) is null too
        mask |= np.fromiter((v is None for v in data), bool, len(data))
        data = np.where(mask, "", data)
    if data.dtype.kind in "USO":
        data = _as_str(data)
        if data.size:
            mask |= null_words(data)
    return data, mask


def raise_first_bad(bad, col, colname, message, *, offset_rows=None):
    """Raise InputError for the first True of ``bad``."""
    row = int(np.flatnonzero(bad)[0])
    value = plain_value(col[row])
    if offset_rows is not None:
        row = int(offset_rows[row])
    raise InputError(message, row=row, column=colname, value=value)


def map_strings(data, func):
    """Apply ``func`` to each distinct string of ``data`` (vectorised gather).

    ``func`` returns the mapped value, or ``""`` for an invalid string.
    """
    if data.size == 0:
        return np.zeros(0, dtype="U3")
    uniques, inverse = np.unique(data, return_inverse=True)
    mapped = np.array([func(str(v)) for v in uniques])
    return mapped[inverse.ravel()]


def string_codes(s):
    """Return the code points of a 'U' array, an (n, width) uint32 matrix."""
    width = max(s.dtype.itemsize // 4, 1)
    codes = np.ascontiguousarray(s, dtype=f"U{width}").view(np.uint32)
    return codes.reshape(len(s), width)


def ascii_digits(s, codes=None):
    """Vectorised: True where a 'U' string is 1.._MAX_DIGITS ASCII digits.

    Returns the flags and the code-point matrix (see `string_codes`).
    """
    if codes is None:
        if s.size == 0:
            return np.zeros(0, dtype=bool), np.zeros((0, 1), dtype=np.uint32)
        codes = string_codes(s)
    lengths = (codes != 0).sum(axis=1)
    digit = (codes >= 48) & (codes <= 57)
    ok = (digit | (codes == 0)).all(axis=1) & (lengths >= 1)
    ok &= lengths <= _MAX_DIGITS
    return ok, codes


def digits_value(codes):
    """Vectorised int64 value of left-aligned ASCII digit strings (validated)."""
    value = np.zeros(codes.shape[0], dtype=np.int64)
    for k in range(codes.shape[1]):  # Horner, one character position at a time
        column = codes[:, k].astype(np.int64)
        present = column != 0
        value = np.where(present, value * 10 + (column - 48), value)
    return value


def _parse_int_strings(s):
    """Parse optionally signed ASCII-digit strings; return (values, ok)."""
    if s.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    codes = string_codes(s)
    negative = codes[:, 0] == ord("-")
    signed = negative | (codes[:, 0] == ord("+"))
    if signed.any():  # drop the sign: shift those rows left by one character
        shifted = np.zeros_like(codes)
        shifted[:, :-1] = codes[:, 1:]
        codes = np.where(signed[:, None], shifted, codes)
    ok, codes = ascii_digits(s, codes)
    values = np.zeros(len(s), dtype=np.int64)
    if ok.any():
        values[ok] = digits_value(codes[ok])
    return np.where(negative, -values, values), ok


def column_ints(col, colname, data, mask, *, what):
    """Integers of a column (int, integral float, or digit strings).

    Returns int64 values (0 where null).  Raises InputError on the first row
    that is not null and not an integer.
    """
    kind = data.dtype.kind
    values = np.zeros(len(data), dtype=np.int64)
    live = ~mask
    if kind == "b":
        if live.any():
            raise_first_bad(live, col, colname, f"is not an integer {what}")
        return values
    if kind in "iu":
        if kind == "u" and data.dtype.itemsize >= 8:
            too_big = live & (data > np.iinfo(np.int64).max)
            if too_big.any():
                raise_first_bad(too_big, col, colname, f"is too large for {what}")
        values[live] = data[live].astype(np.int64)
        return values
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = live & ~(np.isfinite(data) & (np.floor(data) == data))
            bad |= live & (np.abs(np.where(np.isfinite(data), data, 0)) >= 2.0**62)
        if bad.any():
            raise_first_bad(bad, col, colname, f"is not an integer {what}")
        values[live] = data[live].astype(np.int64)
        return values
    if kind == "U":
        parsed, ok = _parse_int_strings(data)
        bad = live & ~ok
        if bad.any():
            raise_first_bad(bad, col, colname, f"is not an integer {what}")
        values[live] = parsed[live]
        return values
    if live.any():
        raise_first_bad(live, col, colname, f"is not an integer {what}")
    return values


def column_floats(col, colname, data, mask, *, what):
    """Floats of a column (numeric, or decimal strings); NaN where null.

    Raises InputError on the first row that is not null and not a number
    (NaN and infinite values are returned, for the caller to judge).
    """
    kind = data.dtype.kind
    values = np.full(len(data), np.nan)
    live = ~mask
    if kind in "iuf":
        values[live] = data[live].astype(np.float64)
        return values
    if kind == "U":
        try:
            values[live] = data[live].astype(np.float64)
        except ValueError:
            bad = np.zeros(len(data), dtype=bool)
            for i in np.flatnonzero(live):
                try:
                    values[i] = float(data[i])
                except ValueError:
                    bad[i] = True
                    break
            raise_first_bad(bad, col, colname, f"is not {what}")
        return values
    if live.any():
        raise_first_bad(live, col, colname, f"is not {what}")
    return values


def angle_unit_factor(col, unit, *, hours=False):
    """Factor from the column's angle unit to ``unit``.

    1 if the column has no unit, a dimensionless one, or a unit string that
    astropy does not know (IPAC unit lines are free text). With ``hours`` (a
    right ascension) a time unit (``h``) is an hour angle. Any other known
    unit that is not an angle (``km``) is an `InputError` naming the column.
    """
    col_unit = getattr(col, "unit", None)
    if col_unit is None or isinstance(col_unit, u.UnrecognizedUnit):
        return 1.0
    if col_unit == u.dimensionless_unscaled:
        return 1.0
    if hours and col_unit.physical_type == "time":
        return float(col_unit.to(u.hour) * u.hourangle.to(unit))
    try:
        return float(col_unit.to(unit))
    except u.UnitsError:
        raise InputError(
            f"is the unit of the column: not an angle (give values in {unit} "
            "or an angle unit such as deg, hourangle, arcmin or arcsec)",
            column=getattr(col, "name", None),
            value=col_unit.to_string(),
        ) from None


def row_ids(table, n, *, fallback=(), prefer=()):
    """Return the row identifiers: the ``id`` column, or ``''``.

    ``prefer`` and ``fallback`` are kinds of `COLUMN_SYNONYMS` (a str or a
    tuple of them) looked for before and after ``id``; the first found wins.
    """
    kinds = (*_kinds(prefer), "id", *_kinds(fallback))
    name = None
    for kind in kinds if table is not None else ():
        name = find_input_column(table, kind)
        if name is not None:
            break
    if name is None:
        return np.full(n, "", dtype="U1")
    col = table[name]
    data, mask = column_values(col)
    text = data if data.dtype.kind == "U" else data.astype(str)
    if text.size == 0:
        return np.zeros(0, dtype="U1")
    return np.where(mask, "", text)


def _kinds(kinds):
    return (kinds,) if isinstance(kinds, str) else tuple(kinds or ())


def row_bands(table, default):
    """Band codes of the rows from the ``band`` column, else ``default``."""
    n = len(table)
    name = find_input_column(table, "band")
    if name is None:
        return np.full(n, default, dtype="U3")
    col = table[name]
    data, mask = column_values(col)
    out = np.full(n, default, dtype="U3")
    live = ~mask
    if data.dtype.kind != "U":
        if live.any():
            raise_first_bad(live, col, name, _BAND_MESSAGE_ROW)
        return out
    if not live.any():
        return out
    result = map_strings(data[live], lambda v: BAND_CODES.get(v.lower(), ""))
    bad = np.zeros(n, dtype=bool)
    bad[live] = result == ""
    if bad.any():
        raise_first_bad(bad, col, name, _BAND_MESSAGE_ROW)
    out[live] = result
    return out


_BAND_MESSAGE_ROW = "is not a 2MASS band: use j, h, k (or ks) or a (all), in any case"
