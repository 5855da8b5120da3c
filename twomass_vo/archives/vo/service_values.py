# Licensed under a 3-clause BSD style license - see LICENSE
"""Values a VO service returns and values we send it, parsed and validated.

* text and numbers of a response column (`as_text`, `as_numbers`), and the
  number text written into ADQL / SIA parameters (`format_number`);
* band names -> band codes (`band_codes`), 2MASS file paths -> date,
  hemisphere, scan, image, band and kind (`parse_image_paths`);
* validated inputs: URLs (`check_url`), integers (`validated_ints`), scans
  (`validated_scans`) and points (`validated_points`);
* validated service values (a service is not trusted): the file rows of an
  answer (`check_file_rows`), their footprints (`checked_footprints`,
  `polygon_xyz`) and the text of a date column (`ordate_text`). A bad value
  raises `~twomass_vo.exceptions.ArchiveError` naming the service URL, the
  row of the answer and the value (`service_value_error`); no row is ever
  guessed.
"""

import contextlib
import re
from urllib.parse import urlsplit

import numpy as np

from ...exceptions import ArchiveError, InputError, InvalidQueryError
from ...geometry import Footprints, radec_to_xyz

__all__ = [
    "LazyPaths",
    "as_numbers",
    "as_text",
    "band_codes",
    "check_file_rows",
    "check_url",
    "checked_footprints",
    "format_number",
    "is_http",
    "ordate_text",
    "parse_image_paths",
    "polygon_xyz",
    "service_ints",
    "service_value_error",
    "uploaded_index",
    "valid_dates",
    "validated_ints",
    "validated_points",
    "validated_scans",
    "zfill",
]

#: A 2MASS image file: ``[{ordate}{hem}/s{scan}/image/]{b}i{scan}{image}.fits[.gz]``.
_PATH_RE = re.compile(
    r"(?:(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<dscan>\d{3})/(?:image|ql)/)?"
    r"(?P<band>[jhk])(?P<kind>[iq])(?P<scan>\d{3})(?P<image>\d{4})"
    r"\.fits(?:\.gz|\.fz)?\Z"
)


def is_http(urls):
    """Mask of the URLs whose scheme is http or https."""
    lower = np.char.lower(np.asarray(urls, dtype=str))
    return np.char.startswith(lower, "http://") | np.char.startswith(lower, "https://")


def check_url(url, name, *, required=False):
    """Return ``url`` as a str if it is an http(s) URL (None if absent and optional)."""
    if url is None:
        if required:
            raise InvalidQueryError(f"{name} is required")
        return None
    url = str(url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidQueryError(f"{name}={url!r} must be an http(s) URL")
    return url


def format_number(value):
    """ADQL / SIA text of a float: positional, shortest round-trip form."""
    return np.format_float_positional(float(value), trim="-")


def zfill(values, width):
    """`numpy.char.zfill` that also takes empty arrays."""
    values = np.asarray(values)
    return np.char.zfill(values, width) if values.size else values.astype(str)


def as_text(values):
    """Return a column as a str array: bytes decoded, masked values as ''."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = None
        data = np.asarray(values)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "ascii", errors="replace")
    elif data.dtype.kind == "O":
        nulls = np.equal(data, None) if len(data) else np.zeros(0, bool)
        if nulls.any():
            data = np.where(nulls, "", data)
        if len(data) and isinstance(data[0], (bytes, np.bytes_)):
            data = np.char.decode(data.astype(bytes), "ascii", errors="replace")
        else:
            data = data.astype(str)
    data = np.char.strip(data.astype(str))
    if mask is not None and mask.any():
        data = np.where(mask, "", data)
    return data


def as_numbers(values, dtype, fill):
    """Return a column as numbers, masked, NaN or unparsable values as ``fill``.

    For an integer ``dtype``, a value that is not an integer, or is beyond
    +-2**62, is unparsable too (never truncated, never wrapped). For a float
    ``dtype``, an infinity is kept (for the caller to refuse).
    """
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = np.zeros(len(values), bool)
        data = np.asarray(values)
    if data.dtype.kind in "biuf":
        out = data.astype(np.float64)
    else:
        text = as_text(data)
        out = np.full(len(text), np.nan)
        for i, t in enumerate(text):  # string fallback only
            with contextlib.suppress(ValueError):
                out[i] = float(t)
    bad = mask | np.isnan(out)  # an infinity stays: it is a bad value, not a null
    if np.dtype(dtype).kind in "iu":
        if data.dtype.kind in "iu":  # exact: no detour through float64
            exact = data.astype(np.int64)
            bad |= (exact < -(2**62)) | (exact > 2**62)
            exact[bad] = fill
            return exact.astype(dtype)
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(out) | (np.abs(out) > 2**62) | (out != np.round(out))
    out[bad] = fill
    return out.astype(dtype)


def band_codes(values):
    """Band codes (0, 1, 2 for J, H, Ks) of band names, -1 where unknown.

    Parameters
    ----------
    values : array-like of str
        Band names as services write them: ``J``, ``H``, ``K``, ``Ks``,
        ``j``, ``2MASS J``, ``2MASS KS``, ...

    Returns
    -------
    codes : ndarray of int64
        0, 1, 2, or -1 for an unknown name.
    """
    text = np.char.upper(as_text(np.asarray(values)))
    text = np.char.strip(np.char.replace(text, "2MASS", ""))
    text = np.char.strip(np.char.replace(text, "_", ""))
    codes = np.full(len(text), -1, np.int64)
    for code, names in enumerate((("J",), ("H",), ("K", "KS"))):
        codes[np.isin(text, names)] = code
    return codes


def parse_image_paths(values):
    """Date, hemisphere, scan, image, band and kind from 2MASS file paths.

    Parameters
    ----------
    values : array-like of str
        URLs or paths ending in
        ``{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``
        (IRSA's file tree), or bare file names ``{b}i{scan}{image}.fits[.gz]``
        (then ``ordate`` and ``hemisphere`` are ``''``). A query string is
        ignored. Quicklook files (``ql/{b}q...``) are recognised too.

    Returns
    -------
    parsed : dict of ndarray
        ``ok`` (bool: the value is such a path), ``ordate``, ``hemisphere``,
        ``scanno``, ``image``, ``band_code`` (0, 1, 2; -1 if not ok) and
        ``kind`` (0 atlas, 1 quicklook).
    """
    text = as_text(np.asarray(values))
    n = len(text)
    out = {
        "ok": np.zeros(n, bool),
        "ordate": np.full(n, "", "U6"),
        "hemisphere": np.full(n, "", "U1"),
        "scanno": np.zeros(n, np.int64),
        "image": np.zeros(n, np.int64),
        "band_code": np.full(n, -1, np.int64),
        "kind": np.zeros(n, np.int64),
    }
    for i, value in enumerate(text):  # string parsing: one regex per value
        path = urlsplit(value).path if "://" in value else value.split("?")[0]
        match = _PATH_RE.search(path)
        if match is None:
            continue
        if match["dscan"] is not None and match["dscan"] != match["scan"]:
            continue
        if match.start() > 0 and path[match.start() - 1] not in "/":
            continue
        out["ok"][i] = True
        out["ordate"][i] = match["ordate"] or ""
        out["hemisphere"][i] = match["hem"] or ""
        out["scanno"][i] = int(match["scan"])
        out["image"][i] = int(match["image"])
        out["band_code"][i] = "jhk".index(match["band"])
        out["kind"][i] = 0 if match["kind"] == "i" else 1
    return out


def validated_ints(values, name, *, low, high):
    """Validate integers (ints, integral floats or digit strings)."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0]
            raise InvalidQueryError(f"{name}: {bad!r} is not an integer")
        out = arr.astype(np.int64)
    else:
        text = as_text(arr)
        good = np.char.isdigit(text) & (np.char.str_len(text) <= 18)
        if not good.all():
            raise InvalidQueryError(f"{name}: {arr[~good][0]!r} is not an integer")
        out = text.astype(np.int64)
    bad = (out < low) | (out > high)
    if bad.any():
        raise InvalidQueryError(
            f"{name}: {int(out[bad][0])} is outside [{low}, {high}]"
        )
    return out


def validated_scans(ordate, hemisphere, scanno, image):
    """Validate scans: ``yymmdd`` dates, n / s, scan and image numbers."""
    ordate = as_text(np.atleast_1d(np.asarray(ordate)))
    ordate = np.where(
        (np.char.str_len(ordate) == 5) & np.char.isdigit(ordate),
        zfill(ordate, 6),
        ordate,
    )
    bad = ~((np.char.str_len(ordate) == 6) & np.char.isdigit(ordate))
    if bad.any():
        raise InvalidQueryError(f"ordate: {ordate[bad][0]!r} is not yymmdd")
    hem = np.char.lower(as_text(np.atleast_1d(np.asarray(hemisphere))))
    bad = ~np.isin(hem, ("n", "s"))
    if bad.any():
        raise InvalidQueryError(f"hemisphere: {hem[bad][0]!r} is not n or s")
    scanno = validated_ints(scanno, "scanno", low=0, high=999)
    image = validated_ints(image, "image", low=0, high=9999)
    lengths = {len(ordate), len(hem), len(scanno), len(image)}
    if len(lengths) != 1:
        raise InvalidQueryError(
            "ordate, hemisphere, scanno and image must have the same length"
        )
    return ordate.astype("U6"), hem.astype("U1"), scanno, image


def validated_points(ra, dec):
    """Validate points: finite 1-d ``ra``, ``dec`` (ra wrapped to [0, 360))."""
    ra = np.atleast_1d(np.asarray(ra, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec, dtype=np.float64))
    if ra.shape != dec.shape or ra.ndim != 1:
        raise InvalidQueryError("ra and dec must be 1-d arrays of the same length")
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        raise InvalidQueryError("ra and dec must be finite")
    if (np.abs(dec) > 90).any():
        raise InvalidQueryError("dec must be within [-90, 90] degrees")
    return ra % 360.0, dec


class LazyPaths:
    """`parse_image_paths` of a column, run on first use only."""

    def __init__(self, column, n):
        self._column, self._n, self._parsed = column, n, None

    def __getitem__(self, key):
        if self._parsed is None:
            values = self._column if self._column is not None else [""] * self._n
            self._parsed = parse_image_paths(values)
        return self._parsed[key]


# --------------------------------------------------------------- service values
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


def ordate_text(column):
    """Return a date column as ``yymmdd`` text.

    A text column is taken as it is (`check_file_rows` then wants exactly six
    digits: ``19991106`` is not cut, ``1106`` is not padded); an integer
    column, which has lost its leading zeros (``001106`` -> 1106), is padded
    to six digits. Masked values are ``''``.
    """
    data = np.ma.getdata(column) if isinstance(column, np.ma.MaskedArray) else column
    data = np.asarray(data)
    if data.dtype.kind not in "iu":
        return as_text(column)
    text = zfill(data.astype(np.int64).astype(str), 6)
    text = np.where((data < 0) | (data > 999_999), data.astype(str), text)
    if isinstance(column, np.ma.MaskedArray):
        text = np.where(np.ma.getmaskarray(column), "", text)
    return text


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
