# Licensed under a 3-clause BSD style license - see LICENSE
"""The values a service answers, checked: a service is not trusted.

`check_file_rows` checks the file rows of an answer (dates, hemispheres,
scan and image numbers, coadd_keys, centres, access URLs),
`checked_footprints` their footprints (`polygon_xyz`: corners in degrees),
`service_ints` an integer column, `uploaded_index` the index a service
echoes back from an upload, `check_pairs` the (position, coadd_key) pairs
of a two-step position look-up, `valid_dates` a date column. A bad value
raises `~twomass_vo.exceptions.ArchiveError` naming the service URL, the row
of the answer and the value (`service_value_error`); no row is ever guessed.
"""

import numpy as np

from ...exceptions import ArchiveError, InputError
from ...geometry import Footprints, radec_to_xyz
from .column_text import as_numbers, as_text

__all__ = [
    "check_file_rows",
    "check_pairs",
    "checked_footprints",
    "polygon_xyz",
    "service_ints",
    "service_value_error",
    "uploaded_index",
    "valid_dates",
]


def service_value_error(url, row, what, value, why):
    """Return the `~twomass_vo.exceptions.ArchiveError` of a bad value in an answer.

    Parameters
    ----------
    url : str
        The service (and table) that answered.
    row : int
        0-based row of the answer.
    what : str
        The value's meaning (``ordate``, ``scanno``, ``footprint``, ...).
    value : object
        The value, as the service gave it.
    why : str
        What is wrong with it.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    return ArchiveError(f"{url}: row {int(row)} of the answer: {what} {value!r} {why}")


def service_ints(column, what, url, keep):
    """Return an integer column of an answer, -1 where null, or an ArchiveError.

    Parameters
    ----------
    column : array-like
        The column (ints, floats or text).
    what : str
        Its meaning, for the message.
    url : str
        The service that answered.
    keep : ndarray of bool
        The rows that count (the others are not checked).

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For the first kept value that is there (not masked, NaN or empty)
        but is not an integer within +-2**62: it is never truncated, wrapped
        or taken for a null.
    """
    values = as_numbers(column, np.int64, -1)
    if isinstance(column, np.ma.MaskedArray):
        null = np.ma.getmaskarray(column)
        data = np.asarray(column.data)
    else:
        data = np.asarray(column)
        null = np.zeros(len(data), bool)
    if data.dtype.kind == "f":
        null = null | np.isnan(data)
    elif data.dtype.kind not in "biu":
        null = null | (np.char.str_len(as_text(data)) == 0)
    bad = keep & ~null & (values == -1)
    if data.dtype.kind in "biu":
        bad &= data != -1  # a -1 there is read as what it is
    if bad.any():
        i = _first(bad)
        raise service_value_error(
            url, i, what, data[i], "is not an integer within +-2**62"
        )
    return values


def uploaded_index(column, uploaded, url, what="pos_idx"):
    """Return the uploaded-row index of each answer row, or an ArchiveError.

    Parameters
    ----------
    column : array-like
        The index column the service echoed back.
    uploaded : array-like of int
        The indices that were uploaded.
    url : str
        The service that answered.
    what : str, optional
        The column's name, for the message.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For the first value that is null, not an integer, or not one of the
        uploaded indices (it would pin the row on a position never asked).
    """
    values = service_ints(column, what, url, np.ones(len(column), bool))
    bad = ~np.isin(values, np.asarray(uploaded, np.int64))
    if bad.any():
        i = _first(bad)
        raise service_value_error(
            url, i, what, np.asarray(column)[i], "is not an index that was uploaded"
        )
    return values


def check_pairs(pos_idx, coadd_key, sent, names, url):
    """Check the (position, coadd_key) pairs of a two-step position look-up.

    Parameters
    ----------
    pos_idx, coadd_key : ndarray of int64
        The pairs answered.
    sent : ndarray of int
        The position indices uploaded (in increasing order).
    names : tuple of str
        The two column names, for the message.
    url : str
        The service that answered.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For the first pair whose index is not in the uploaded range or whose
        coadd_key is not in 0..2**62.
    """
    low, high = int(sent[0]), int(sent[-1])
    bad = (pos_idx < low) | (pos_idx > high)
    bad |= (coadd_key < 0) | (coadd_key > 2**62)
    if bad.any():
        i = _first(bad)
        name, key = names
        raise service_value_error(
            url,
            i,
            f"({name}, {key})",
            (int(pos_idx[i]), int(coadd_key[i])),
            f"is not an uploaded {name} ({low}..{high}) with a coadd_key in 0..2**62",
        )


def _first(bad):
    return int(np.flatnonzero(bad)[0])


def _codes(text, width):
    """Code points of a str array, ``(n, width)`` (0-padded or cut)."""
    text = np.ascontiguousarray(np.asarray(text).astype(f"U{width}"))
    return text.view(np.uint32).reshape(len(text), width)


def valid_dates(text):
    """Which values are ``yymmdd`` dates (six ASCII digits, month 1-12, day 1-31)."""
    text = np.asarray(text).astype(str)
    if not len(text):
        return np.zeros(0, bool)
    digits = _codes(text, 6).astype(np.int64) - ord("0")
    ok = (np.strings.str_len(text) == 6) & ((digits >= 0) & (digits <= 9)).all(axis=1)
    month = digits[:, 2] * 10 + digits[:, 3]
    day = digits[:, 4] * 10 + digits[:, 5]
    return ok & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)


def _valid_urls(urls):
    """Which values are http(s) URLs of printable ASCII with a host."""
    urls = np.asarray(urls).astype(str)
    n = len(urls)
    if not n:
        return np.zeros(0, bool)
    width = max(urls.dtype.itemsize // 4, 9)
    wide = _codes(urls, width)  # code points
    length = np.strings.str_len(urls)
    # printable ASCII (33..126) up to the length, then padding (0) only
    ok = wide.max(axis=1) <= 126
    codes = wide.astype(np.uint8)  # exact where ok
    ok &= np.count_nonzero(codes, axis=1) == length
    ok &= np.count_nonzero(codes <= 32, axis=1) == width - length
    # "http://" or "https://", any case (| 0x20 lower-cases the letters)
    head = codes[:, :8] | 0x20
    secure = (head == np.frombuffer(b"https://", np.uint8)).all(axis=1)
    ok &= secure | (head[:, :7] == np.frombuffer(b"http://", np.uint8)).all(axis=1)
    host = codes[np.arange(n), np.where(secure, 8, 7)]  # first character after //
    return ok & ~np.isin(host, [0, ord("/"), ord("?"), ord("#")])


def check_file_rows(rows, answer_rows, url):
    """Validate the file rows of a service answer; normalise ``ra``.

    Parameters
    ----------
    rows : dict of ndarray
        The contract columns of the kept rows: ``ordate`` and ``hemisphere``
        (text), ``scanno``, ``image``, ``band_code``, ``coadd_key`` (ints, -1
        where unknown), ``ra``, ``dec`` (floats, NaN where unknown) and
        ``access_url`` (text).
    answer_rows : ndarray of int
        Row of the answer of each kept row (for the messages).
    url : str
        The service that answered (for the messages).

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For the first bad value: an ``ordate`` that is not ``yymmdd`` (six
        digits), a hemisphere other than n / s, a scan number outside
        1..999, an image number outside 1..9999, a coadd_key outside
        0..2**62, an infinite ``ra`` or a ``dec`` beyond +-90 (NaN is
        unknown: the centre then comes from the footprint), or an access URL
        that is not printable ASCII http(s) with a host.
    """
    checks = (
        ("ordate", ~valid_dates(rows["ordate"]), "is not a date yymmdd"),
        ("hemisphere", ~np.isin(rows["hemisphere"], ("n", "s")), "is not n or s"),
        ("scanno", (rows["scanno"] < 1) | (rows["scanno"] > 999), "is not 1..999"),
        ("image", (rows["image"] < 1) | (rows["image"] > 9999), "is not 1..9999"),
        (
            "coadd_key",
            (rows["coadd_key"] < -1) | (rows["coadd_key"] > 2**62),
            "is not 0..2**62",
        ),
        ("ra", np.isinf(rows["ra"]), "is not finite (NaN: unknown)"),
        ("dec", np.abs(rows["dec"]) > 90, "is beyond +-90 degrees"),
        (
            "access_url",
            ~_valid_urls(np.asarray(rows["access_url"], dtype=str)),
            "is not an http(s) URL of printable ASCII characters",
        ),
    )
    for what, bad, why in checks:
        if bad.any():
            i = _first(bad)
            raise service_value_error(url, answer_rows[i], what, rows[what][i], why)
    # a centre known in one coordinate only is not known
    unknown = ~(np.isfinite(rows["ra"]) & np.isfinite(rows["dec"]))
    rows["ra"] = np.where(unknown, np.nan, rows["ra"] % 360.0)
    rows["dec"] = np.where(unknown, np.nan, rows["dec"])


def polygon_xyz(ra, dec):
    """Corner vectors ``(k, m, 3)`` of polygons given in degrees, validated.

    Raises
    ------
    twomass_vo.exceptions.InputError
        (a `ValueError`) naming the first polygon (row of ``ra``) with a
        corner that is not finite or has ``|dec| > 90``.
    """
    ra, dec = np.asarray(ra, np.float64), np.asarray(dec, np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)).all(axis=1)
    if bad.any():
        i = _first(bad)
        raise InputError(
            "is not a polygon of finite corners with |dec| <= 90",
            row=i,
            column="footprint",
            value=np.stack([ra[i], dec[i]], axis=1).ravel().tolist(),
        )
    return radec_to_xyz(ra, dec)


def _footprints_of(corners_of, rows):
    corners = corners_of(rows)
    Footprints(corners)  # raises ValueError if one is degenerate or not convex
    return corners


def checked_footprints(corners_of, rows, url):
    """Corner vectors of answer rows, each a valid footprint, or an ArchiveError.

    Parameters
    ----------
    corners_of : callable
        Answer rows -> corner vectors ``(k, 4, 3)`` (raising `ValueError` or
        `~twomass_vo.exceptions.ArchiveError` for an unreadable value).
    rows : ndarray of int
        The rows of the answer to read.
    url : str
        The service that answered.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        Naming the first row whose footprint cannot be read or is degenerate
        (repeated or collinear corners), not convex, or not smaller than a
        hemisphere.
    """
    rows = np.asarray(rows)
    try:
        return _footprints_of(corners_of, rows)
    except (ArchiveError, ValueError):
        pass
    lo, hi = 0, len(rows)  # the first bad row is in rows[lo:hi]: halve it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            _footprints_of(corners_of, rows[lo:mid])
            lo = mid
        except (ArchiveError, ValueError):
            hi = mid
    try:
        _footprints_of(corners_of, rows[lo : lo + 1])
    except (ArchiveError, ValueError) as exc:
        why = getattr(exc, "reason", None) or str(exc)
        value = getattr(exc, "value", None)
        raise service_value_error(url, rows[lo], "footprint", value, why) from None
    raise AssertionError("unreachable: every footprint reads alone")
