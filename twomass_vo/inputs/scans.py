# Licensed under a 3-clause BSD style license - see LICENSE
"""Validation of the date-hemisphere-scan (DHS) modes' input.

`scan_request` checks one scan (date ``yymmdd``, hemisphere ``n`` / ``s``,
scan number, optional image number), `scans_request` a table of them; both
return a `~twomass_vo.inputs.ScanRequest`.
"""

import datetime
import numbers
import re

import numpy as np
from astropy.table import Column
from astropy.time import Time

from ..exceptions import InputError, InvalidQueryError
from .columns import (
    ascii_digits,
    column_ints,
    column_values,
    digits_value,
    find_input_column,
    map_strings,
    missing_column_error,
    plain_value,
    raise_first_bad,
    row_bands,
    row_ids,
    string_codes,
)
from .requests import ScanRequest
from .tables import read_input_table
from .values import parse_band

__all__ = [
    "hemisphere_column",
    "ordate_column",
    "scan_column",
    "scan_request",
    "scans_request",
]


_HEMISPHERES = {"n": "n", "north": "n", "s": "s", "south": "s"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ]00:00(?::00(?:\.0*)?)?$")

# --------------------------------------------------------------------------
# Date-hemisphere-scans
# --------------------------------------------------------------------------

_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_DATE_MESSAGE = "is not a date in yymmdd format (exactly 6 digits, e.g. 970804)"


def ordate_column(col, colname):
    """Observation dates of a column as ``yymmdd`` strings.

    Parameters
    ----------
    col : `~astropy.table.Column` or `~astropy.time.Time`
        Dates: ``yymmdd`` (text or integers), ISO ``YYYY-MM-DD`` (the PSC's
        ``xdate``) or times; see `scans_request`.
    colname : str
        The column's name, for error messages.

    Returns
    -------
    ordate : `numpy.ndarray` of str
        ``'yymmdd'`` per row.

    Raises
    ------
    InputError
        For the first missing or invalid date (naming row, column and value).
    """
    if isinstance(col, Time):
        col = Column(
            np.atleast_1d(col.to_value("iso", subfmt="date")).astype(str),
            name=colname,
        )
    n = len(col)
    data, mask = column_values(col)
    if mask.any():
        raise_first_bad(
            mask, col, colname, "is missing: every row needs a date (yymmdd)"
        )
    kind = data.dtype.kind
    if kind in "iu":
        bad = (data < 0) | (data > 999999)
        if bad.any():
            raise_first_bad(bad, col, colname, _DATE_MESSAGE)
        data = np.char.zfill(data.astype(np.int64).astype(str), 6)
        kind = "U"
    if kind != "U" or n == 0:
        if n:
            raise_first_bad(np.ones(n, dtype=bool), col, colname, _DATE_MESSAGE)
        return np.zeros(0, dtype="U6")
    data = _iso_to_yymmdd(col, colname, data)
    ok, codes = ascii_digits(data)
    ok &= np.char.str_len(data) == 6
    if not ok.all():
        raise_first_bad(~ok, col, colname, _DATE_MESSAGE)
    values = digits_value(codes)
    yy, mm, dd = values // 10000, values // 100 % 100, values % 100
    year = np.where(yy >= 50, 1900 + yy, 2000 + yy)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS[np.clip(mm - 1, 0, 11)] + (leap & (mm == 2))
    ok = (mm >= 1) & (mm <= 12) & (dd >= 1) & (dd <= days)
    if not ok.all():
        raise_first_bad(~ok, col, colname, "is not a real calendar date (yymmdd)")
    return data.astype("U6")


def _iso_to_yymmdd(col, colname, data):
    """Convert the ISO dates (``YYYY-MM-DD``) of a 'U' array to yymmdd."""
    lengths = np.char.str_len(data)
    data = data.astype(f"U{max(10, data.dtype.itemsize // 4)}")
    rows = np.flatnonzero(lengths == 10)
    if rows.size:  # vectorised: YYYY-MM-DD
        codes = string_codes(data[rows])[:, :10]
        digit = (codes >= 48) & (codes <= 57)
        iso = digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
        iso &= (codes[:, 4] == 45) & (codes[:, 7] == 45)
        rows, codes = rows[iso], codes[iso]
        year = digits_value(codes[:, :4])
        bad = (year < 1950) | (year > 2049)
        if bad.any():
            raise_first_bad(bad, col[rows], colname, _YEAR_MESSAGE, offset_rows=rows)
        yymmdd = np.ascontiguousarray(codes[:, [2, 3, 5, 6, 8, 9]])
        data[rows] = yymmdd.view("U6").ravel()
    for i in np.flatnonzero(lengths > 10):  # with a time of day: rare
        match = _ISO_DATE.match(str(data[i]))
        if match is None:
            continue
        year = int(match.group(1))
        if not 1950 <= year <= 2049:
            raise InputError(
                _YEAR_MESSAGE, row=int(i), column=colname, value=plain_value(col[i])
            )
        data[i] = f"{year % 100:02d}{match.group(2)}{match.group(3)}"
    return data


_YEAR_MESSAGE = "is outside 1950-2049, the years a 2-digit yymmdd date can hold"


def hemisphere_column(col, colname):
    """Observatory hemispheres of a column as ``n`` / ``s``.

    Parameters
    ----------
    col : `~astropy.table.Column`
        ``n``, ``s``, ``north`` or ``south``, in any case.
    colname : str
        The column's name, for error messages.

    Returns
    -------
    hemisphere : `numpy.ndarray` of str
        ``'n'`` or ``'s'`` per row.

    Raises
    ------
    InputError
        For the first missing or invalid value.
    """
    data, mask = column_values(col)
    message = "is not an observatory hemisphere: use n (north) or s (south)"
    if mask.any():
        raise_first_bad(mask, col, colname, message)
    if data.dtype.kind != "U":
        if len(data):
            raise_first_bad(np.ones(len(data), dtype=bool), col, colname, message)
        return np.zeros(0, dtype="U1")
    hemisphere = map_strings(data, lambda v: _HEMISPHERES.get(v.lower(), ""))
    bad = hemisphere == ""
    if bad.any():
        raise_first_bad(bad, col, colname, message)
    return hemisphere.astype("U1")


def scan_column(col, colname):
    """Nightly scan numbers of a column (integers 1 to 999).

    Parameters
    ----------
    col : `~astropy.table.Column`
        Integers, or digits as text.
    colname : str
        The column's name, for error messages.

    Returns
    -------
    scanno : `numpy.ndarray` of int64
        The scan number of every row.

    Raises
    ------
    InputError
        For the first missing or invalid value.
    """
    data, mask = column_values(col)
    what = "scan number (an integer from 1 to 999)"
    values = column_ints(col, colname, data, mask, what=what)
    bad = mask | (values < 1) | (values > 999)
    if bad.any():
        raise_first_bad(bad, col, colname, f"is not a {what}")
    return values


def _to_image(col, colname):
    data, mask = column_values(col)
    if data.dtype.kind == "f":
        mask = mask | np.isnan(data)
    values = column_ints(
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
        ordate=_scalar_check(ordate_column, date, "date"),
        hemisphere=_scalar_check(hemisphere_column, hemisphere, "hemisphere"),
        scanno=_scalar_check(scan_column, scan, "scan"),
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
        The DHS table (see `~twomass_vo.inputs.tables.read_input_table`) with the
        columns ``xdate`` (also ``date``, ``ordate``), ``hem`` (also
        ``hemis``, ``hemisphere``) and ``scan`` (also ``scanno``), in any
        case; optional ``image``, ``band`` (j/h/k/a; also ``filter``) and
        ``id`` columns.
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
    table = read_input_table(source, name="DHS table")
    names = {}
    for kind in ("date", "hemisphere", "scan"):
        names[kind] = find_input_column(table, kind)
        if names[kind] is None:
            raise missing_column_error(table, kind, "DHS table")
    n = len(table)
    ordate = ordate_column(table[names["date"]], names["date"])
    hemisphere = hemisphere_column(table[names["hemisphere"]], names["hemisphere"])
    scanno = scan_column(table[names["scan"]], names["scan"])
    image_name = find_input_column(table, "image")
    if image_name is None:
        image = np.zeros(n, dtype=np.int64)
    else:
        image = _to_image(table[image_name], image_name)
    return ScanRequest(
        ordate=ordate,
        hemisphere=hemisphere,
        scanno=scanno,
        image=image,
        bands=row_bands(table, default),
        id=row_ids(table, n),
        scntr=np.arange(n, dtype=np.int64),
    )
