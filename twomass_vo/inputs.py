# Licensed under a 3-clause BSD style license - see LICENSE
"""Input tables of the batch modes, and their validation.

The 2MASS Batch Image Service takes tables of positions, of ``coadd_key``
values and of date-hemisphere-scans (DHS).  This module reads such tables
(IPAC ASCII as on the service's help page, VOTable, CSV, FITS, ECSV or an
astropy `~astropy.table.Table`) and turns them into small, validated request
objects -- `PositionRequest`, `KeyRequest` and `ScanRequest` -- that the mode
planner consumes.  Every problem is reported before any work starts, as an
`~twomass_vo.exceptions.InputError` that names the row, the column and the
value, e.g. ``row 3, column 'xdate': '97084' is not a date in yymmdd format``.

Text tables are read with every column as text, so that values such as the
date ``000804`` keep their leading zeros; the numbers are parsed here, with
numpy, one column at a time.  Columns are found by name, in any case, with the
synonyms of `COLUMN_SYNONYMS` (the first synonym found wins), so that an
`~twomass_vo.ImageTable` (``ordate``, ``hemisphere``, ``scanno``) can be fed
back into the coadd_key and DHS modes.

Duplicate rows are *not* dropped here: the planner drops duplicate image
references after the look-up.  An empty table is a valid input (no rows).
"""

import datetime
import itertools
import numbers
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Column, MaskedColumn, Table
from astropy.time import Time

from .exceptions import InputError, InvalidQueryError, NameResolutionError

__all__ = [
    "COLUMN_SYNONYMS",
    "KeyRequest",
    "PositionRequest",
    "ScanRequest",
    "coadd_keys_request",
    "find_column",
    "parse_angle",
    "parse_band",
    "positions_request",
    "read_table",
    "region_diameter",
    "scan_request",
    "scans_request",
]

#: Accepted column names of each input quantity, in order of preference.
#: Names are compared case-insensitively; the first synonym present wins.
COLUMN_SYNONYMS = {
    "ra": ("ra", "ra_deg", "raj2000", "in_ra"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000", "in_dec"),
    "object": ("object", "objname", "name"),
    "size": ("size",),
    "best": ("best",),
    "id": ("id",),
    "coadd_key": ("coadd_key",),
    "band": ("band", "filter"),
    "date": ("xdate", "date", "ordate"),
    "hemisphere": ("hem", "hemis", "hemisphere"),
    "scan": ("scan", "scanno"),
    "image": ("image",),
}

# File name endings -> table format.  Compression endings are looked through.
_EXTENSIONS = {
    ".tbl": "ipac",
    ".ipac": "ipac",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".csv": "csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".ecsv": "ecsv",
}
_COMPRESSION = (".gz", ".bz2", ".xz")
_FORMATS = ("ipac", "votable", "csv", "fits", "ecsv", "ascii")

_BANDS = {
    "j": "J",
    "h": "H",
    "k": "K",
    "ks": "K",
    "a": "JHK",
    "all": "JHK",
    "jhk": "JHK",
}
_TRUE = ("y", "yes", "t", "true", "1")
_FALSE = ("n", "no", "f", "false", "0")
_HEMISPHERES = {"n": "n", "north": "n", "s": "s", "south": "s"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ]00:00(?::00(?:\.0*)?)?$")
_MAX_DIGITS = 18  # every integer of up to 18 decimal digits fits in int64


# --------------------------------------------------------------------------
# Request objects
# --------------------------------------------------------------------------


class _Request:
    """Shared behaviour of the request dataclasses: equal-length arrays."""

    def __post_init__(self):
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"request arrays differ in length: {lengths}")

    def __len__(self):
        return len(self.scntr)


@dataclass(frozen=True, eq=False)
class PositionRequest(_Request):
    """A validated list of positions (the positions mode).

    All attributes are numpy arrays of the same length N, one element per
    input row.

    Attributes
    ----------
    ra, dec : `numpy.ndarray` of float64
        ICRS position in degrees; ``0 <= ra < 360``.
    size : `numpy.ndarray` of float64
        Cutout width and height in arcsec; 0 means the full image (no cutout).
    best : `numpy.ndarray` of bool
        Whether only the best (most centred) image set is wanted.
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    ra: np.ndarray
    dec: np.ndarray
    size: np.ndarray
    best: np.ndarray
    id: np.ndarray
    scntr: np.ndarray


@dataclass(frozen=True, eq=False)
class KeyRequest(_Request):
    """A validated list of image-set keys (the coadd_key mode).

    Attributes
    ----------
    coadd_key : `numpy.ndarray` of int64
        Key of the 2MASS image set (the same for J, H and Ks).
    bands : `numpy.ndarray` of str
        ``'J'``, ``'H'``, ``'K'`` or ``'JHK'`` (all three bands).
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    coadd_key: np.ndarray
    bands: np.ndarray
    id: np.ndarray
    scntr: np.ndarray


@dataclass(frozen=True, eq=False)
class ScanRequest(_Request):
    """A validated list of date-hemisphere-scans (the DHS modes).

    Attributes
    ----------
    ordate : `numpy.ndarray` of str
        Observation date, ``'yymmdd'``.
    hemisphere : `numpy.ndarray` of str
        ``'n'`` (north, Mt. Hopkins) or ``'s'`` (south, Cerro Tololo).
    scanno : `numpy.ndarray` of int64
        Nightly scan number, 1 to 999.
    image : `numpy.ndarray` of int64
        Image number within the scan; 0 means all the image sets of the scan.
    bands : `numpy.ndarray` of str
        ``'J'``, ``'H'``, ``'K'`` or ``'JHK'`` (all three bands).
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    ordate: np.ndarray
    hemisphere: np.ndarray
    scanno: np.ndarray
    image: np.ndarray
    bands: np.ndarray
    id: np.ndarray
    scntr: np.ndarray


# --------------------------------------------------------------------------
# Reading tables
# --------------------------------------------------------------------------


def read_table(source, *, name="table", format=None):
    r"""Read an input table of a batch mode.

    Parameters
    ----------
    source : `~astropy.table.Table`, str, `pathlib.Path` or other
        An astropy `~astropy.table.Table` or `~astropy.table.QTable` (copied:
        the caller's table is never changed), a numpy structured array, a
        dict of columns, a pandas DataFrame, or the path of a table file.
        The file format follows the file name: IPAC ASCII (``.tbl``,
        ``.ipac``), VOTable (``.xml``, ``.vot``, ``.votable``), CSV
        (``.csv``), FITS (``.fits``, ``.fit``, ``.fts``), ECSV (``.ecsv``);
        ``.gz``, ``.bz2`` and ``.xz`` endings are looked through.  For
        ``.txt`` and unknown endings the content decides: VOTable, FITS,
        ECSV, IPAC (a first line starting with ``|`` or ``\``), else any
        table astropy's ASCII reader can guess.
    name : str, optional
        What the table is, for error messages (``"positions table"``).
    format : str, optional
        Force a format: ``'ipac'``, ``'votable'``, ``'csv'``, ``'fits'``,
        ``'ecsv'`` or ``'ascii'`` (astropy's guessing ASCII reader).

    Returns
    -------
    table : `~astropy.table.Table`
        The table.  Columns of text tables (IPAC, CSV, other ASCII) are all
        str; empty values and the word ``null`` (any case), and an IPAC
        column's declared null value, are masked.

    Raises
    ------
    InputError
        If the file is missing, unreadable or cannot be parsed; the message
        names the file and the reason.
    InvalidQueryError
        If ``source`` is of an unsupported type, or ``format`` is unknown.

    Notes
    -----
    IPAC tables are read by a small reader of this module that follows the
    IPAC table format (https://irsa.ipac.caltech.edu/applications/DDGEN/Doc/
    ipac_tbl.html): keyword and comment lines starting with ``\``; one to
    four header lines starting with ``|`` (names, then optional types, units
    and null values), whose bars must line up; data rows whose values lie
    between the bars of their column.  As the format advises, readers are
    lenient where the meaning is unambiguous: a value that reaches under a
    bar belongs to the column it touches, and text past the last bar belongs
    to the last column.  A value that touches both neighbours of a bar, or
    stands alone under it, is an error.  Tabs are not allowed.
    """
    if isinstance(source, Table):
        return Table(source, copy=True)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source), name=name, format=format)
    is_pandas = type(source).__module__.split(".")[0] == "pandas"
    if (
        (isinstance(source, np.ndarray) and source.dtype.names)
        or isinstance(source, dict)
        or (is_pandas and hasattr(source, "columns"))
    ):
        try:
            if is_pandas:
                return Table.from_pandas(source)
            return Table(source, copy=True)
        except (TypeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise InputError(
                f"cannot be read as a {name}: a table needs columns of equal "
                f"length ({reason or type(exc).__name__})",
                value=source,
            ) from None
    raise InvalidQueryError(
        f"the {name} must be an astropy Table or the path of a table file, "
        f"not {type(source).__name__}"
    )


def _file_format(path, name):
    lower = path.name.lower()
    for ending in _COMPRESSION:
        if lower.endswith(ending):
            lower = lower[: -len(ending)]
            break
    suffix = os.path.splitext(lower)[1]
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    return _sniff_format(path, name)


def _sniff_format(path, name):
    from astropy.utils.data import get_readable_fileobj

    try:
        with get_readable_fileobj(str(path), encoding="binary") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(
            f"cannot read the {name} {str(path)!r}: {exc}", value=str(path)
        ) from exc
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped[:200].lower().find("<votable") >= 0:
        return "votable"
    if text.startswith("# %ECSV"):
        return "ecsv"
    for line in text.splitlines():
        if line.strip():
            return "ipac" if line.startswith(("|", "\\")) else "ascii"
    return "ascii"


def _read_file(path, *, name, format):
    if format is not None and format not in _FORMATS:
        raise InvalidQueryError(
            f"unknown table format {format!r}; use one of {', '.join(_FORMATS)}"
        )
    shown = str(path)
    if not path.exists():
        raise InputError(f"cannot read the {name} {shown!r}: no such file", value=shown)
    if path.is_dir():
        raise InputError(
            f"cannot read the {name} {shown!r}: it is a directory", value=shown
        )
    fmt = format or _file_format(path, name)
    try:
        if fmt == "ipac":
            table = _read_ipac(path)
        elif fmt in ("csv", "ascii"):
            from astropy.io import ascii as astropy_ascii

            converters = {"*": [astropy_ascii.convert_numpy(str)]}
            kwargs = {"format": "ascii.csv"} if fmt == "csv" else {"format": "ascii"}
            table = Table.read(
                shown, converters=converters, fast_reader=False, **kwargs
            )
        else:
            table = Table.read(shown, format=fmt)
    except InputError as exc:
        raise InputError(
            f"cannot read the {name} {shown!r} as an IPAC table: {exc}", value=shown
        ) from exc
    except Exception as exc:  # any reader failure is bad input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = reason or type(exc).__name__
        raise InputError(
            f"cannot read the {name} {shown!r} as {fmt}: {reason}", value=shown
        ) from exc
    return Table(table, copy=False)


def _read_ipac(path):
    """Read an IPAC ASCII table with every column as str (see `read_table`)."""
    from astropy.utils.data import get_readable_fileobj

    with get_readable_fileobj(str(path), encoding="utf-8-sig") as fh:
        lines = fh.read().splitlines()

    keywords = {}
    header = []  # (line number, text)
    first_data = len(lines)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("\\"):
            match = re.match(r"\\(\S[^=]*?)\s*=\s*(.*)$", line)
            if match and not header:
                keywords[match.group(1)] = match.group(2).strip().strip("'\"")
            continue
        if line.startswith("|"):
            header.append((number, line.rstrip()))
            continue
        if not header:
            raise InputError(
                f"line {number + 1}: data before the header line of '|'-separated "
                "column names"
            )
        first_data = number
        break
    if not header:
        raise InputError("no header line of '|'-separated column names")
    if len(header) > 4:
        raise InputError(
            f"line {header[4][0] + 1}: more than 4 header lines (names, types, "
            "units, nulls)"
        )
    number, names_line = header[0]
    pipes = [i for i, c in enumerate(names_line) if c == "|"]
    if len(pipes) < 2 or not names_line.endswith("|"):
        raise InputError(f"line {number + 1}: a header line must end with '|'")
    for number, line in header:
        if "\t" in line:
            raise InputError(f"line {number + 1}: tabs are not allowed")
        if [i for i, c in enumerate(line) if c == "|"] != pipes:
            raise InputError(
                f"line {number + 1}: the '|' of this header line do not line up "
                "with those of the column names"
            )
    cells = [
        [line[a + 1 : b].strip() for a, b in itertools.pairwise(pipes)]
        for _, line in header
    ]
    names = cells[0]
    seen = set()
    for name in names:
        if not name:
            raise InputError(f"line {header[0][0] + 1}: a column has no name")
        if name.lower() in seen:
            raise InputError(f"line {header[0][0] + 1}: duplicate column name {name!r}")
        seen.add(name.lower())
    types = cells[1] if len(cells) > 1 else [""] * len(names)
    units = cells[2] if len(cells) > 2 else [""] * len(names)
    nulls = cells[3] if len(cells) > 3 else [""] * len(names)

    data_lines = [
        (number, line)
        for number, line in enumerate(lines[first_data:], start=first_data)
        if line.strip() and not line.startswith("\\")
    ]
    for number, line in data_lines:
        if line.startswith("|"):
            raise InputError(f"line {number + 1}: header line after the data")
    width = max([pipes[-1] + 2] + [len(line) for _, line in data_lines])
    n = len(data_lines)
    text = np.array([line for _, line in data_lines], dtype=f"U{width}")
    codes = text.view(np.uint32).reshape(n, width).copy()
    codes[codes == 0] = 32
    tabs = np.flatnonzero((codes == 9).any(axis=1))
    if tabs.size:
        raise InputError(f"line {data_lines[tabs[0]][0] + 1}: tabs are not allowed")
    filled = codes != 32

    # Which side does a character under each bar belong to?
    to_left = {}
    to_right = {pipes[0]: filled[:, pipes[0]]}
    for p in pipes[1:-1]:
        under, left, right = filled[:, p], filled[:, p - 1], filled[:, p + 1]
        bad = np.flatnonzero(under & (left == right))
        if bad.size:
            number, line = data_lines[bad[0]]
            raise InputError(
                f"line {number + 1}: the value at character {p + 1} lies under a "
                "'|' of the header and belongs to no single column; align the "
                "values between the bars"
            )
        to_left[p] = under & left
        to_right[p] = under & right

    columns = []
    bounds = list(itertools.pairwise(pipes))
    for j, (a, b) in enumerate(bounds):
        last = j == len(bounds) - 1
        stop = width if last else b + 1
        block = codes[:, a:stop].copy()
        block[:, 0] = np.where(to_right[a], block[:, 0], 32)
        if not last:
            block[:, -1] = np.where(to_left[b], block[:, -1], 32)
        values = np.char.strip(
            np.ascontiguousarray(block).view(f"U{stop - a}").reshape(n)
        )
        if n == 0:
            values = np.zeros(0, dtype="U1")
        mask = _null_words(values)
        if nulls[j]:
            mask |= values == nulls[j]
        meta = {"ipac_type": types[j]} if types[j] else {}
        try:
            unit = u.Unit(units[j], parse_strict="silent") if units[j] else None
        except (ValueError, TypeError):  # a unit line is informative only
            unit = None
        cls = MaskedColumn if mask.any() else Column
        kwargs = {"mask": mask} if mask.any() else {}
        columns.append(cls(values, name=names[j], unit=unit, meta=meta, **kwargs))
    table = Table(columns, copy=False)
    if keywords:
        table.meta["keywords"] = keywords
    return table


# --------------------------------------------------------------------------
# Column helpers
# --------------------------------------------------------------------------


def find_column(table, kind):
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


def _missing_column(table, kind, what):
    synonyms = COLUMN_SYNONYMS[kind]
    also = ", ".join(repr(s) for s in synonyms[1:])
    also = f" (or {also}, in any case)" if also else " (in any case)"
    return InputError(
        f"are the table's columns: a {what} needs the column {synonyms[0]!r}{also}",
        column=synonyms[0],
        value=list(table.colnames),
    )


def _scalar(value):
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
        return np.char.strip(np.char.decode(data, "utf-8", errors="replace"))
    if data.dtype.kind == "O":
        out = [
            v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
            for v in data
        ]
        return np.char.strip(np.array(out, dtype=str)) if out else np.zeros(0, "U1")
    return np.char.strip(data.astype(str))


def _column_values(col):
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
            mask |= _null_words(data)
    return data, mask


def _fail(bad, col, colname, message, *, offset_rows=None):
    """Raise InputError for the first True of ``bad``."""
    row = int(np.flatnonzero(bad)[0])
    value = _scalar(col[row])
    if offset_rows is not None:
        row = int(offset_rows[row])
    raise InputError(message, row=row, column=colname, value=value)


def _null_words(s):
    """Vectorised: True where a stripped 'U' string is empty or ``null``."""
    null = s == ""
    four = np.flatnonzero(np.char.str_len(s) == 4)
    if four.size:
        null[four] = np.char.lower(s[four]) == "null"
    return null


def _map_strings(data, func):
    """Apply ``func`` to each distinct string of ``data`` (vectorised gather).

    ``func`` returns the mapped value, or ``""`` for an invalid string.
    """
    if data.size == 0:
        return np.zeros(0, dtype="U3")
    uniques, inverse = np.unique(data, return_inverse=True)
    mapped = np.array([func(str(v)) for v in uniques])
    return mapped[inverse.ravel()]


def _codes(s):
    """Return the code points of a 'U' array, an (n, width) uint32 matrix."""
    width = max(s.dtype.itemsize // 4, 1)
    codes = np.ascontiguousarray(s, dtype=f"U{width}").view(np.uint32)
    return codes.reshape(len(s), width)


def _ascii_digits(s, codes=None):
    """Vectorised: True where a 'U' string is 1.._MAX_DIGITS ASCII digits.

    Returns the flags and the code-point matrix (see `_codes`).
    """
    if codes is None:
        if s.size == 0:
            return np.zeros(0, dtype=bool), np.zeros((0, 1), dtype=np.uint32)
        codes = _codes(s)
    lengths = (codes != 0).sum(axis=1)
    digit = (codes >= 48) & (codes <= 57)
    ok = (digit | (codes == 0)).all(axis=1) & (lengths >= 1)
    ok &= lengths <= _MAX_DIGITS
    return ok, codes


def _digits_value(codes):
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
    codes = _codes(s)
    negative = codes[:, 0] == ord("-")
    signed = negative | (codes[:, 0] == ord("+"))
    if signed.any():  # drop the sign: shift those rows left by one character
        shifted = np.zeros_like(codes)
        shifted[:, :-1] = codes[:, 1:]
        codes = np.where(signed[:, None], shifted, codes)
    ok, codes = _ascii_digits(s, codes)
    values = np.zeros(len(s), dtype=np.int64)
    if ok.any():
        values[ok] = _digits_value(codes[ok])
    return np.where(negative, -values, values), ok


def _to_int(col, colname, data, mask, *, what):
    """Integers of a column (int, integral float, or digit strings).

    Returns int64 values (0 where null).  Raises InputError on the first row
    that is not null and not an integer.
    """
    kind = data.dtype.kind
    values = np.zeros(len(data), dtype=np.int64)
    live = ~mask
    if kind == "b":
        if live.any():
            _fail(live, col, colname, f"is not an integer {what}")
        return values
    if kind in "iu":
        if kind == "u" and data.dtype.itemsize >= 8:
            too_big = live & (data > np.iinfo(np.int64).max)
            if too_big.any():
                _fail(too_big, col, colname, f"is too large for {what}")
        values[live] = data[live].astype(np.int64)
        return values
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = live & ~(np.isfinite(data) & (np.floor(data) == data))
            bad |= live & (np.abs(np.where(np.isfinite(data), data, 0)) >= 2.0**62)
        if bad.any():
            _fail(bad, col, colname, f"is not an integer {what}")
        values[live] = data[live].astype(np.int64)
        return values
    if kind == "U":
        parsed, ok = _parse_int_strings(data)
        bad = live & ~ok
        if bad.any():
            _fail(bad, col, colname, f"is not an integer {what}")
        values[live] = parsed[live]
        return values
    if live.any():
        _fail(live, col, colname, f"is not an integer {what}")
    return values


def _to_float(col, colname, data, mask, *, what):
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
            _fail(bad, col, colname, f"is not {what}")
        return values
    if live.any():
        _fail(live, col, colname, f"is not {what}")
    return values


def _unit_factor(col, unit, *, hours=False):
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


def _ids(table, n, *, fallback=None):
    name = find_column(table, "id") if table is not None else None
    if name is None and fallback is not None:
        name = find_column(table, fallback)
    if name is None:
        return np.full(n, "", dtype="U1")
    col = table[name]
    data, mask = _column_values(col)
    text = data if data.dtype.kind == "U" else data.astype(str)
    if text.size == 0:
        return np.zeros(0, dtype="U1")
    return np.where(mask, "", text)


def _bands(table, default):
    n = len(table)
    name = find_column(table, "band")
    if name is None:
        return np.full(n, default, dtype="U3")
    col = table[name]
    data, mask = _column_values(col)
    out = np.full(n, default, dtype="U3")
    live = ~mask
    if data.dtype.kind != "U":
        if live.any():
            _fail(live, col, name, _BAND_MESSAGE_ROW)
        return out
    if not live.any():
        return out
    result = _map_strings(data[live], lambda v: _BANDS.get(v.lower(), ""))
    bad = np.zeros(n, dtype=bool)
    bad[live] = result == ""
    if bad.any():
        _fail(bad, col, name, _BAND_MESSAGE_ROW)
    out[live] = result
    return out


_BAND_MESSAGE = (
    "is not a 2MASS band: use 'J', 'H', 'Ks' (or 'K') or 'all', or a list of them"
)
_BAND_MESSAGE_ROW = "is not a 2MASS band: use j, h, k (or ks) or a (all), in any case"


def parse_band(value, *, row=None, column="band"):
    """Parse a band choice.

    Parameters
    ----------
    value : str or sequence of str
        ``'J'``, ``'H'``, ``'K'`` or ``'Ks'``, ``'A'`` or ``'all'`` (also
        ``'JHK'``), in any case, surrounding blanks ignored; or a list (tuple,
        set, array) of those, e.g. ``['J', 'H']``.
    row : int or None, optional
        Row of the value in its table, for the error message.
    column : str, optional
        Name of the column or argument, for the error message.

    Returns
    -------
    band : str
        ``'J'``, ``'H'``, ``'K'``, ``'JHK'`` for all three bands, or two of
        them for a list of two (``'JH'``, ``'JK'``, ``'HK'``).

    Raises
    ------
    InputError
        If the value is not a band (`InputError` is an
        `~twomass_vo.exceptions.InvalidQueryError`).
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        band = _BANDS.get(value.strip().lower())
        if band is not None:
            return band
    elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        items = list(np.ravel(np.asarray(list(value), dtype=object)))
        if items and all(isinstance(v, (str, bytes)) for v in items):
            chosen = set()
            for item in items:
                chosen.update(parse_band(item, row=row, column=column))
            return "".join(b for b in "JHK" if b in chosen)
    raise InputError(_BAND_MESSAGE, row=row, column=column, value=value)


# --------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Angle arguments
# --------------------------------------------------------------------------

# Unit words astropy reads differently ("d" is a day) or not at all.
_ANGLE_UNIT_ALIASES = {
    "d": u.deg,
    "°": u.deg,
    "'": u.arcmin,
    "′": u.arcmin,
    '"': u.arcsec,
    "″": u.arcsec,
}
_ANGLE_TEXT = re.compile(
    r"\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>\S.*?)?\s*"
)


def parse_angle(value, *, argument, unit):
    """Read one angle argument: a number, a `~astropy.units.Quantity` or a str.

    Parameters
    ----------
    value : float, int, `~astropy.units.Quantity` or str
        A real number (in ``unit``), a scalar angle Quantity (``0.3 * u.deg``,
        ``10 * u.arcmin``), or a str of a number with an optional angle unit
        (``'0.3'``, ``'0.3deg'``, ``'10 arcmin'``, ``'60arcsec'``, ``'0.3d'``).
    argument : str
        Name of the argument, for error messages.
    unit : `~astropy.units.Unit`
        Unit of plain numbers, and of the result.

    Returns
    -------
    angle : float
        The value in ``unit``, of any sign, possibly NaN or infinite (the
        caller checks its range).

    Raises
    ------
    InvalidQueryError
        For a bool, a complex number, an array or sequence, a unit that is not
        an angle, an int too large for a float, or a str that is not a number
        with an angle unit; the message names the argument and value.
    """

    def fail(why):
        shown = repr(value)
        if len(shown) > 60:  # 10**400
            shown = f"{shown[:20]}...{shown[-10:]} ({len(shown)} characters)"
        return InvalidQueryError(f"{argument}={shown} {why}")

    if isinstance(value, (bool, np.bool_)):
        raise fail(f"is not an angle (a number of {unit}, or a Quantity)")
    quantity = value
    if isinstance(value, (str, bytes)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        match = _ANGLE_TEXT.fullmatch(text)
        if match is None:
            raise fail(
                f"is not an angle such as 0.3deg, 10arcmin or 60arcsec (a number "
                f"alone is in {unit})"
            )
        words = match["unit"]
        try:
            word_unit = (
                unit
                if not words
                else _ANGLE_UNIT_ALIASES.get(words) or u.Unit(words, format="generic")
            )
        except ValueError:
            raise fail(f"has the unit {words!r}, which is not an angle") from None
        quantity = float(match["number"]) * word_unit
    if isinstance(quantity, u.Quantity):
        if not quantity.isscalar:
            raise fail("must be a single angle, not an array")
        if quantity.dtype.kind not in "iuf":
            raise fail("is not a real number")
        try:
            number = float(quantity.to_value(unit))
        except u.UnitsError:
            raise fail(f"has the unit {quantity.unit}, which is not an angle") from None
    elif isinstance(quantity, numbers.Real):
        try:
            number = float(quantity)
        except OverflowError:
            raise fail("is too large") from None
    elif isinstance(quantity, numbers.Complex):
        raise fail("is not a real number")
    elif np.ndim(quantity) > 0 or isinstance(quantity, (list, tuple)):
        raise fail("must be a single angle, not a sequence")
    else:
        raise fail(f"is not an angle (a number of {unit}, or a Quantity)")
    return number


def region_diameter(diameter=None, radius=None):
    """Validate the size of a circular region: a diameter or a radius.

    Parameters
    ----------
    diameter, radius : float, `~astropy.units.Quantity`, str or None
        At most one of them (see `parse_angle`; numbers are degrees).

    Returns
    -------
    diameter : float or None
        Degrees (positive and finite; the planner clamps it to the service's
        range), or `None` if neither is given.

    Raises
    ------
    InvalidQueryError
        If both are given, or the one given is not a positive angle.
    """
    if diameter is not None and radius is not None:
        raise InvalidQueryError(
            f"give diameter or radius, not both (diameter={diameter!r}, "
            f"radius={radius!r})"
        )
    if diameter is None and radius is None:
        return None
    argument, value = ("radius", radius) if diameter is None else ("diameter", diameter)
    degrees = parse_angle(value, argument=argument, unit=u.deg)
    if not (np.isfinite(degrees) and degrees > 0):
        raise InvalidQueryError(
            f"{argument}={value!r} must be a positive, finite angle"
        )
    return 2 * degrees if argument == "radius" else degrees


def _global_size(size):
    if size is None:
        return 0.0
    value = parse_angle(size, argument="size", unit=u.arcsec)
    if not (np.isfinite(value) and value > 0):
        raise InvalidQueryError(
            f"size={size!r} must be a positive, finite angle (arcsec); use None "
            "for full images"
        )
    return value


def _position_table(source, name):
    if isinstance(source, SkyCoord):
        icrs = source.icrs
        ra = np.atleast_1d(icrs.ra.deg).astype(np.float64)
        dec = np.atleast_1d(icrs.dec.deg).astype(np.float64)
        return Table({"ra": ra, "dec": dec}, copy=False)
    table = read_table(source, name=name)
    if all(find_column(table, kind) is None for kind in ("ra", "dec")):
        # a table whose positions are a SkyCoord column (a name column next
        # to it is then an id, see `_positions`)
        for colname in table.colnames:
            if isinstance(table[colname], SkyCoord):
                icrs = table[colname].icrs
                return Table(
                    {"ra": icrs.ra.deg, "dec": icrs.dec.deg}
                    | {c: table[c] for c in table.colnames if c != colname},
                    copy=False,
                )
    return table


def positions_request(source, *, best=False, size=None, resolver=None):
    """Validate a list of positions (the positions mode).

    Parameters
    ----------
    source : `~astropy.table.Table`, str, path or `~astropy.coordinates.SkyCoord`
        The position table (see `read_table`), or the positions themselves.
        The table has ``ra`` and ``dec`` columns (also ``ra_deg``,
        ``raj2000``, ``in_ra``; ``dec_deg``, ``dej2000``, ``decj2000``,
        ``in_dec``; any case) in decimal degrees or sexagesimal (RA in
        hours), or a `~astropy.coordinates.SkyCoord` column, or else an
        object-name column (``object``, ``objname``, ``name``), whose names
        are resolved.  A name column next to ra/dec (or SkyCoord) columns
        is never resolved: it is the rows' ``id`` when there is no ``id``
        column.  Optional columns: ``size`` (cutout size, arcsec),
        ``best`` (y/n) and ``id``.
    best : bool, optional
        Best-image-only flag for the rows without a ``best`` value.
    size : float, `~astropy.units.Quantity` or None, optional
        Cutout size (arcsec if a number) for the rows without a ``size``
        value; `None` means full images.
    resolver : callable, optional
        Name resolver passed to `twomass_vo.coords.parse_coordinates` for
        object names; the default resolves names over the network.

    Returns
    -------
    request : `PositionRequest`
        One element per input row.

    Raises
    ------
    InvalidQueryError
        If ``best`` is not a bool or ``size`` is not positive.
    InputError
        For the first invalid value (naming row, column and value), for a
        missing position column, or for an unreadable file.

    Notes
    -----
    A ``size`` value of 0 means no cutout; empty or null takes the global
    ``size``.  A ``best`` value is y/n, yes/no, true/false, t/f or 1/0 in any
    case (or a bool column); empty or null takes the global ``best``.  Ids
    are kept whole (the old service's 15-character limit was a database
    column width).
    """
    if not isinstance(best, (bool, np.bool_)):
        raise InvalidQueryError(f"best must be True or False, not {best!r}")
    best = bool(best)
    size_default = _global_size(size)
    table = _position_table(source, "positions table")
    n = len(table)

    # Everything else is checked before object names go to the resolver.
    sizes = _sizes(table, size_default)
    bests = _bests(table, best)
    ids = _ids(table, n, fallback="object")
    ra, dec = _positions(table, resolver)
    return PositionRequest(
        ra=ra,
        dec=dec,
        size=sizes,
        best=bests,
        id=ids,
        scntr=np.arange(n, dtype=np.int64),
    )


def _positions(table, resolver):
    n = len(table)
    ra_name = find_column(table, "ra")
    dec_name = find_column(table, "dec")
    obj_name = find_column(table, "object")
    if (ra_name is None) != (dec_name is None):
        kind = "dec" if dec_name is None else "ra"
        raise _missing_column(table, kind, "position table with ra and dec")
    if ra_name is None and obj_name is None:
        raise InputError(
            "are the table's columns: a position table needs 'ra' and 'dec' "
            "columns (or 'ra_deg'/'dec_deg', 'raj2000'/'dej2000', "
            "'in_ra'/'in_dec', in any case), or an object name column ('object', "
            "'objname' or 'name')",
            column="ra",
            value=list(table.colnames),
        )
    ra = np.full(n, np.nan)
    dec = np.full(n, np.nan)
    by_name = np.zeros(n, dtype=bool)
    if ra_name is not None:
        # ra/dec columns win: a name column next to them is only an id, never
        # sent to a resolver
        ra_col, dec_col = table[ra_name], table[dec_name]
        ra_data, ra_mask = _column_values(ra_col)
        dec_data, dec_mask = _column_values(dec_col)
        why = "is missing: the row has no position"
        if obj_name is not None:
            why += (
                f" (the {obj_name!r} column is an id when the table has ra/dec "
                "columns: put names to resolve in a table of their own)"
            )
        for mask, col, name in (
            (ra_mask, ra_col, ra_name),
            (dec_mask, dec_col, dec_name),
        ):
            if mask.any():
                _fail(mask, col, name, why)
        rows = np.arange(n)
        ra[rows], dec[rows] = _parse_ra_dec(
            ra_col, dec_col, ra_name, dec_name, ra_data, dec_data, rows
        )
    else:
        obj_data, obj_mask = _column_values(table[obj_name])
        if obj_mask.any():
            _fail(
                obj_mask,
                table[obj_name],
                obj_name,
                "is missing: the row has no position",
            )
        by_name[:] = True
    if by_name.any():
        ra[by_name], dec[by_name] = _resolve_names(
            table[obj_name], obj_name, obj_data, np.flatnonzero(by_name), resolver
        )
    return ra, dec


def _parse_ra_dec(ra_col, dec_col, ra_name, dec_name, ra_data, dec_data, rows):
    ra_sub, dec_sub = ra_data[rows], dec_data[rows]
    for data, col, name in ((ra_sub, ra_col, ra_name), (dec_sub, dec_col, dec_name)):
        if data.dtype.kind in "bcmM" and len(rows):
            kind = {"b": "a bool", "c": "a complex number"}.get(data.dtype.kind)
            _fail(
                np.ones(len(rows), dtype=bool),
                col[rows],
                name,
                f"is {kind or 'not a number'}: a coordinate is a real number of "
                "degrees or a sexagesimal string",
                offset_rows=rows,
            )
        _unit_factor(col, u.deg, hours=col is ra_col)  # not an angle: an error
    numeric = ra_sub.dtype.kind in "iuf" and dec_sub.dtype.kind in "iuf"
    values = None
    if numeric:
        values = ra_sub.astype(np.float64), dec_sub.astype(np.float64)
    elif ra_sub.dtype.kind in "iufU" and dec_sub.dtype.kind in "iufU":
        try:  # vectorised fast path: decimal numbers written as text
            values = ra_sub.astype(np.float64), dec_sub.astype(np.float64)
        except ValueError:
            values = None
    if values is not None:
        ra_deg = values[0] * _unit_factor(ra_col, u.deg, hours=True)
        dec_deg = values[1] * _unit_factor(dec_col, u.deg)
    else:
        from .coords import parse_coordinate_columns

        try:
            ra_deg, dec_deg = parse_coordinate_columns(
                ra_sub, dec_sub, columns=(ra_name, dec_name)
            )
        except InputError as exc:
            row = None if exc.row is None else int(rows[exc.row])
            raise InputError(
                exc.reason, row=row, column=exc.column, value=exc.value
            ) from exc
        ra_deg = np.asarray(ra_deg, dtype=np.float64)
        dec_deg = np.asarray(dec_deg, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad_ra = ~(np.isfinite(ra_deg) & (ra_deg >= 0) & (ra_deg <= 360))
        bad_dec = ~(np.isfinite(dec_deg) & (dec_deg >= -90) & (dec_deg <= 90))
    if bad_ra.any() or bad_dec.any():
        first_ra = np.flatnonzero(bad_ra)[0] if bad_ra.any() else len(rows)
        first_dec = np.flatnonzero(bad_dec)[0] if bad_dec.any() else len(rows)
        if first_ra <= first_dec:
            row = int(rows[first_ra])
            raise InputError(
                "is not a right ascension from 0 to 360 deg",
                row=row,
                column=ra_name,
                value=_scalar(ra_col[row]),
            )
        row = int(rows[first_dec])
        raise InputError(
            "is not a declination from -90 to +90 deg",
            row=row,
            column=dec_name,
            value=_scalar(dec_col[row]),
        )
    return np.mod(ra_deg, 360.0), dec_deg


def _resolve_names(col, colname, data, rows, resolver):
    from .coords import parse_coordinates

    ra = np.empty(len(rows))
    dec = np.empty(len(rows))
    done = {}
    for k, row in enumerate(rows):
        value = str(data[row])
        if value not in done:
            try:
                coord = parse_coordinates(value, resolver=resolver)
            except NameResolutionError as exc:
                raise InputError(
                    f"could not be resolved to a position: {exc}",
                    row=int(row),
                    column=colname,
                    value=_scalar(col[row]),
                ) from exc
            except InvalidQueryError as exc:
                raise InputError(
                    f"is not a position: {exc}",
                    row=int(row),
                    column=colname,
                    value=_scalar(col[row]),
                ) from exc
            icrs = coord.icrs
            done[value] = (float(icrs.ra.deg), float(icrs.dec.deg))
        ra[k], dec[k] = done[value]
    return ra, dec


def _sizes(table, default):
    n = len(table)
    name = find_column(table, "size")
    if name is None:
        return np.full(n, default)
    col = table[name]
    data, mask = _column_values(col)
    values = _to_float(col, name, data, mask, what="a cutout size in arcsec")
    values *= _unit_factor(col, u.arcsec)
    live = ~mask
    with np.errstate(invalid="ignore"):
        bad = live & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        _fail(
            bad,
            col,
            name,
            "is not a cutout size: use a number of arcsec >= 0 (0 = full image)",
        )
    return np.where(mask, default, values)


def _bests(table, default):
    n = len(table)
    name = find_column(table, "best")
    out = np.full(n, default, dtype=bool)
    if name is None:
        return out
    col = table[name]
    data, mask = _column_values(col)
    live = ~mask
    message = "is not a best-image flag: use y or n (also yes/no, true/false, 1/0)"
    kind = data.dtype.kind
    if kind == "b":
        out[live] = data[live]
        return out
    if kind in "iuf":
        bad = live & ~((data == 0) | (data == 1))
        if bad.any():
            _fail(bad, col, name, message)
        out[live] = data[live] == 1
        return out
    if kind != "U":
        if live.any():
            _fail(live, col, name, message)
        return out
    flags = _map_strings(
        data[live],
        lambda v: "y" if v.lower() in _TRUE else "n" if v.lower() in _FALSE else "",
    )
    bad = np.zeros(n, dtype=bool)
    bad[live] = flags == ""
    if bad.any():
        _fail(bad, col, name, message)
    out[live] = flags == "y"
    return out


# --------------------------------------------------------------------------
# coadd_key lists
# --------------------------------------------------------------------------


def coadd_keys_request(keys, *, band="all"):
    """Validate a list of ``coadd_key`` values (the coadd_key mode).

    Parameters
    ----------
    keys : `~astropy.table.Table`, str, `pathlib.Path`, int or sequence of int
        A table (or table file, see `read_table`) with a ``coadd_key``
        column and optional ``band`` (j/h/k/a per row; also ``filter``) and
        ``id`` columns; or the keys themselves: one integer or a sequence or
        array of integers.  A str is the path of a file, unless no such file
        exists and the str is an integer (``"1590591"``).
    band : str, optional
        ``'J'``, ``'H'``, ``'Ks'`` (``'K'``) or ``'all'``: the bands of the
        rows without a ``band`` value.

    Returns
    -------
    request : `KeyRequest`
        One element per input row (duplicates are kept).

    Raises
    ------
    InputError
        For the first invalid value (naming row, column and value), for a
        missing ``coadd_key`` column, or for an unreadable file; for a bad
        ``band`` argument (an `~twomass_vo.exceptions.InvalidQueryError`).

    Notes
    -----
    A key is a positive integer: an integer column, digits in a text column,
    or an integral value of a float column.  ``'12a'``, ``1.5``, empty, null
    and values <= 0 are errors.
    """
    default = parse_band(band, column="band")
    what = "coadd_key (a positive integer)"

    if isinstance(keys, str) and not Path(keys).exists():
        text = keys.strip()
        if text.isascii() and text.isdigit():
            keys = int(text)
        elif text.lstrip("+-").isnumeric():  # '-5', or not ASCII digits: '²'
            raise InputError(
                f"is not a {what} written in the digits 0-9",
                column="keys",
                value=keys,
            )
    if isinstance(keys, (numbers.Integral, np.integer)) and not isinstance(
        keys, (bool, np.bool_)
    ):
        value = int(keys)
        if value <= 0:
            raise InputError(f"is not a {what}", column="keys", value=keys)
        if value > np.iinfo(np.int64).max:
            raise InputError(f"is too large for a {what}", column="keys", value=keys)
        return KeyRequest(
            coadd_key=np.array([value], dtype=np.int64),
            bands=np.array([default], dtype="U3"),
            id=np.array([""]),
            scntr=np.zeros(1, dtype=np.int64),
        )
    is_table = isinstance(keys, (Table, str, os.PathLike, dict)) or (
        isinstance(keys, np.ndarray) and keys.dtype.names
    )
    if is_table or type(keys).__module__.split(".")[0] == "pandas":
        table = read_table(keys, name="coadd_key table")
        name = find_column(table, "coadd_key")
        if name is None:
            raise _missing_column(table, "coadd_key", "coadd_key table")
        col = table[name]
        bands = _bands(table, default)
        ids = _ids(table, len(table))
    else:
        if isinstance(keys, (numbers.Number, bytes)) or np.ndim(keys) == 0:
            raise InputError(f"is not a {what}", column="keys", value=keys)
        try:
            col = keys if isinstance(keys, np.ndarray) else np.asarray(keys)
        except (ValueError, TypeError) as exc:
            raise InvalidQueryError(
                f"keys must be integers or a table, not {keys!r}"
            ) from exc
        if col.ndim != 1:
            raise InvalidQueryError(
                f"keys must be a flat sequence of integers, not shape {col.shape}"
            )
        name = "keys"
        bands = np.full(len(col), default, dtype="U3")
        ids = np.full(len(col), "", dtype="U1")
    data, mask = _column_values(col)
    values = _to_int(col, name, data, mask, what=what)
    bad = mask | (values <= 0)
    if bad.any():
        _fail(bad, col, name, f"is not a {what}")
    n = len(values)
    return KeyRequest(
        coadd_key=values,
        bands=bands,
        id=ids,
        scntr=np.arange(n, dtype=np.int64),
    )


# --------------------------------------------------------------------------
# Date-hemisphere-scans
# --------------------------------------------------------------------------

_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_DATE_MESSAGE = "is not a date in yymmdd format (exactly 6 digits, e.g. 970804)"


def _to_ordate(col, colname):
    """Observation dates as 'yymmdd' strings (see `scans_request`)."""
    if isinstance(col, Time):
        col = Column(
            np.atleast_1d(col.to_value("iso", subfmt="date")).astype(str),
            name=colname,
        )
    n = len(col)
    data, mask = _column_values(col)
    if mask.any():
        _fail(mask, col, colname, "is missing: every row needs a date (yymmdd)")
    kind = data.dtype.kind
    if kind in "iu":
        bad = (data < 0) | (data > 999999)
        if bad.any():
            _fail(bad, col, colname, _DATE_MESSAGE)
        data = np.char.zfill(data.astype(np.int64).astype(str), 6)
        kind = "U"
    if kind != "U" or n == 0:
        if n:
            _fail(np.ones(n, dtype=bool), col, colname, _DATE_MESSAGE)
        return np.zeros(0, dtype="U6")
    data = _iso_to_yymmdd(col, colname, data)
    ok, codes = _ascii_digits(data)
    ok &= np.char.str_len(data) == 6
    if not ok.all():
        _fail(~ok, col, colname, _DATE_MESSAGE)
    values = _digits_value(codes)
    yy, mm, dd = values // 10000, values // 100 % 100, values % 100
    year = np.where(yy >= 50, 1900 + yy, 2000 + yy)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS[np.clip(mm - 1, 0, 11)] + (leap & (mm == 2))
    ok = (mm >= 1) & (mm <= 12) & (dd >= 1) & (dd <= days)
    if not ok.all():
        _fail(~ok, col, colname, "is not a real calendar date (yymmdd)")
    return data.astype("U6")


def _iso_to_yymmdd(col, colname, data):
    """Convert the ISO dates (``YYYY-MM-DD``) of a 'U' array to yymmdd."""
    lengths = np.char.str_len(data)
    data = data.astype(f"U{max(10, data.dtype.itemsize // 4)}")
    rows = np.flatnonzero(lengths == 10)
    if rows.size:  # vectorised: YYYY-MM-DD
        codes = _codes(data[rows])[:, :10]
        digit = (codes >= 48) & (codes <= 57)
        iso = digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
        iso &= (codes[:, 4] == 45) & (codes[:, 7] == 45)
        rows, codes = rows[iso], codes[iso]
        year = _digits_value(codes[:, :4])
        bad = (year < 1950) | (year > 2049)
        if bad.any():
            _fail(bad, col[rows], colname, _YEAR_MESSAGE, offset_rows=rows)
        yymmdd = np.ascontiguousarray(codes[:, [2, 3, 5, 6, 8, 9]])
        data[rows] = yymmdd.view("U6").ravel()
    for i in np.flatnonzero(lengths > 10):  # with a time of day: rare
        match = _ISO_DATE.match(str(data[i]))
        if match is None:
            continue
        year = int(match.group(1))
        if not 1950 <= year <= 2049:
            raise InputError(
                _YEAR_MESSAGE, row=int(i), column=colname, value=_scalar(col[i])
            )
        data[i] = f"{year % 100:02d}{match.group(2)}{match.group(3)}"
    return data


_YEAR_MESSAGE = "is outside 1950-2049, the years a 2-digit yymmdd date can hold"


def _to_hemisphere(col, colname):
    data, mask = _column_values(col)
    message = "is not an observatory hemisphere: use n (north) or s (south)"
    if mask.any():
        _fail(mask, col, colname, message)
    if data.dtype.kind != "U":
        if len(data):
            _fail(np.ones(len(data), dtype=bool), col, colname, message)
        return np.zeros(0, dtype="U1")
    hemisphere = _map_strings(data, lambda v: _HEMISPHERES.get(v.lower(), ""))
    bad = hemisphere == ""
    if bad.any():
        _fail(bad, col, colname, message)
    return hemisphere.astype("U1")


def _to_scan(col, colname):
    data, mask = _column_values(col)
    what = "scan number (an integer from 1 to 999)"
    values = _to_int(col, colname, data, mask, what=what)
    bad = mask | (values < 1) | (values > 999)
    if bad.any():
        _fail(bad, col, colname, f"is not a {what}")
    return values


def _to_image(col, colname):
    data, mask = _column_values(col)
    if data.dtype.kind == "f":
        mask = mask | np.isnan(data)
    values = _to_int(
        col, colname, data, mask, what="image number (<= 0 or empty: all images)"
    )
    return np.where(mask | (values <= 0), 0, values)


def scan_request(date, hemisphere, scan, *, image=None, band="all"):
    """Validate one date-hemisphere-scan (the one-DHS mode).

    Parameters
    ----------
    date : str, int, `datetime.date` or `~astropy.time.Time`
        Observation date, strictly ``yymmdd`` (exactly 6 digits, a real
        calendar date; yy >= 50 is 19yy, else 20yy), e.g. ``'970804'`` or
        ``'000804'``.  An int is zero-padded to 6 digits (``804`` is
        ``'000804'``); an ISO date ``'2000-08-04'``, a `datetime.date` or a
        `~astropy.time.Time` is converted.
    hemisphere : str
        ``'n'`` or ``'north'`` (Mt. Hopkins), ``'s'`` or ``'south'`` (Cerro
        Tololo), in any case.
    scan : int or str
        Nightly scan number, 1 to 999.
    image : int, str or None, optional
        Image number within the scan; `None`, empty or <= 0 means all the
        image sets of the scan.
    band : str, optional
        ``'J'``, ``'H'``, ``'Ks'`` (``'K'``) or ``'all'``.

    Returns
    -------
    request : `ScanRequest`
        A request of one element.

    Raises
    ------
    InputError
        For an invalid argument; the message names the argument and value.
    """
    bands = np.array([parse_band(band, column="band")], dtype="U3")
    if isinstance(date, datetime.datetime):
        date = date.date()
    if isinstance(date, datetime.date):
        date = date.isoformat()
    return ScanRequest(
        ordate=_scalar_check(_to_ordate, date, "date"),
        hemisphere=_scalar_check(_to_hemisphere, hemisphere, "hemisphere"),
        scanno=_scalar_check(_to_scan, scan, "scan"),
        image=(
            np.zeros(1, dtype=np.int64)
            if image is None
            else _scalar_check(_to_image, image, "image")
        ),
        bands=bands,
        id=np.array([""]),
        scntr=np.zeros(1, dtype=np.int64),
    )


def _scalar_check(check, value, argument):
    """Run a column check on one scalar argument; errors name the argument."""
    if isinstance(value, Time):
        if not value.isscalar:
            raise InvalidQueryError(f"{argument} must be a single value")
        col = value.reshape((1,))
    elif isinstance(value, (str, bytes, numbers.Number, np.generic)):
        col = np.array([value])
    else:
        raise InputError(
            "is not a valid value (a str or a number is needed)",
            column=argument,
            value=value,
        )
    try:
        return check(col, argument)
    except InputError as exc:
        raise InputError(exc.reason, column=argument, value=value) from exc


def scans_request(source, *, band="all"):
    """Validate a table of date-hemisphere-scans (the DHS-list mode).

    Parameters
    ----------
    source : `~astropy.table.Table`, str or `pathlib.Path`
        The DHS table (see `read_table`) with the columns ``xdate`` (also
        ``date``, ``ordate``), ``hem`` (also ``hemis``, ``hemisphere``) and
        ``scan`` (also ``scanno``), in any case; optional ``image``,
        ``band`` (j/h/k/a; also ``filter``) and ``id`` columns.
    band : str, optional
        ``'J'``, ``'H'``, ``'Ks'`` (``'K'``) or ``'all'``: the bands of the
        rows without a ``band`` value.

    Returns
    -------
    request : `ScanRequest`
        One element per input row (duplicates are kept).

    Raises
    ------
    InputError
        For the first invalid value (naming row, column and value), for a
        missing required column (listing the columns present) or for an
        unreadable file; for a bad ``band`` argument.

    Notes
    -----
    Dates are strictly ``yymmdd`` (6 digits, a real calendar date, yy >= 50
    meaning 19yy).  An integer date column (VOTable, FITS) loses leading
    zeros, so its values are zero-padded to 6 digits before the check
    (``804`` is ``000804``).  ISO dates ``YYYY-MM-DD`` (as in the ``xdate``
    column of the 2MASS Point Source Catalog) and `~astropy.time.Time`
    columns are converted to ``yymmdd``.  Hemispheres are n/s/north/south,
    scans 1 to 999.  An image value that is empty, null (or NaN) or <= 0
    means all the image sets of the scan.
    """
    default = parse_band(band, column="band")
    table = read_table(source, name="DHS table")
    names = {}
    for kind in ("date", "hemisphere", "scan"):
        names[kind] = find_column(table, kind)
        if names[kind] is None:
            raise _missing_column(table, kind, "DHS table")
    n = len(table)
    ordate = _to_ordate(table[names["date"]], names["date"])
    hemisphere = _to_hemisphere(table[names["hemisphere"]], names["hemisphere"])
    scanno = _to_scan(table[names["scan"]], names["scan"])
    image_name = find_column(table, "image")
    if image_name is None:
        image = np.zeros(n, dtype=np.int64)
    else:
        image = _to_image(table[image_name], image_name)
    return ScanRequest(
        ordate=ordate,
        hemisphere=hemisphere,
        scanno=scanno,
        image=image,
        bands=_bands(table, default),
        id=_ids(table, n),
        scntr=np.arange(n, dtype=np.int64),
    )
