# Licensed under a 3-clause BSD style license - see LICENSE
"""The values we send a service, validated before any request is built.

`check_url` (service URLs), `positive_settings` (sizes and limits),
`validated_ints` (coadd_keys, image numbers),
`validated_scans` (date, hemisphere, scan and image) and `validated_points`
(positions) raise `~twomass_vo.exceptions.InvalidQueryError` for a value
that cannot be sent; `format_number` is the text of a number in ADQL and
SIA parameters. No user text is ever pasted into a query: only these
values are.
"""

from urllib.parse import urlsplit

import numpy as np

from ...exceptions import InvalidQueryError
from .column_text import as_text, zfill

__all__ = [
    "check_url",
    "format_number",
    "positive_settings",
    "validated_ints",
    "validated_points",
    "validated_scans",
]


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


def positive_settings(**values):
    """Return the settings ``name=value`` as ints, each a positive integer.

    Raises
    ------
    twomass_vo.exceptions.InvalidQueryError
        For the first value that is not a positive integer.
    """
    for name, value in values.items():
        try:
            good = int(value) == value and value >= 1
        except (TypeError, ValueError, OverflowError):
            good = False
        if not good:
            raise InvalidQueryError(f"{name}={value!r} must be a positive integer")
    return {name: int(value) for name, value in values.items()}


def format_number(value):
    """ADQL / SIA text of a float: positional, shortest round-trip form."""
    return np.format_float_positional(float(value), trim="-")


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
