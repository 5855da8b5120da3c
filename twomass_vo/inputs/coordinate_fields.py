# Licensed under a 3-clause BSD style license - see LICENSE
"""Shared pieces of the coordinate readers: sexagesimal fields, range checks.

Used by `twomass_vo.inputs.coordinates` (coordinate strings),
``twomass_vo.inputs.designations`` (2MASS designations),
``twomass_vo.inputs.coordinate_columns`` (``ra`` / ``dec``
columns) and ``twomass_vo.inputs.name_resolver``: the number patterns, the
translation of Unicode minus signs, `sexagesimal` (fields to degrees, every
field checked), the longitude / latitude range checks, and `to_icrs`.
A bad value raises `InvalidCoordinate`, which the callers turn into
`~twomass_vo.exceptions.InvalidQueryError` or
`~twomass_vo.exceptions.InputError` with the context they know.
"""

import math
import re

from astropy.coordinates import (
    ICRS,
    SkyCoord,
)

from ..exceptions import InvalidQueryError

__all__ = [
    "COLON_VALUE",
    "DECIMAL_TOKEN_RE",
    "MINUS_TRANSLATION",
    "InvalidCoordinate",
    "check_lat",
    "check_lon",
    "letter_part",
    "sexagesimal",
    "to_icrs",
]


# Characters that stand for "-" in pasted text: minus sign, en dash, figure
# dash, small and full-width hyphen-minus.
MINUS_TRANSLATION = str.maketrans(
    {"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"}
)

# An unsigned decimal number, without and with an exponent.
_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
_NUMEXP = rf"{_NUM}(?:[eE][+-]?\d+)?"
DECIMAL_TOKEN_RE = re.compile(rf"[+-]?{_NUMEXP}")


def letter_part(p):
    """Return the pattern of one sexagesimal value with unit letters.

    Such as ``17h44m34s``, ``-27d59m13s`` or ``12°30′``; the groups are named
    ``<p>sign``, ``<p>a``, ``<p>unit``, ``<p>b`` and ``<p>c``.
    """
    return (
        rf"(?P<{p}sign>[+-]?)\s*(?P<{p}a>{_NUM})\s*(?P<{p}unit>[hd°])"
        rf"(?:\s*(?P<{p}b>{_NUM})\s*[m'′](?:\s*(?P<{p}c>{_NUM})\s*[s\"″])?)?"
    )


# hh:mm:ss.s ±dd:mm:ss.s (fractions only on the last field).
COLON_VALUE = r"\d+(?::\d+){0,2}(?:\.\d*)?"


class InvalidCoordinate(ValueError):
    """A value that looks like a coordinate but is not valid (internal)."""


# ---------------------------------------------------------------------------
# Sexagesimal fields.


def sexagesimal(sign, fields, *, what, unit):
    """Combine sexagesimal fields into degrees, checking every field.

    Parameters
    ----------
    sign : str
        ``""``, ``"+"`` or ``"-"``.
    fields : list of str
        One to three unsigned numbers: degrees or hours, minutes, seconds.
        Only the last may have a fraction.
    what : str
        ``"right ascension"``, ``"declination"``, ``"longitude"`` or
        ``"latitude"``, for messages.
    unit : {"hour", "deg"}
        Unit of the first field.

    Returns
    -------
    float
        The value in degrees (hours are multiplied by 15).
    """
    names = ("hours" if unit == "hour" else "degrees", "minutes", "seconds")
    values = []
    for i, field in enumerate(fields):
        if i < len(fields) - 1 and not field.isdigit():
            raise InvalidCoordinate(
                f"{what} {names[i]} {field!r} must be a whole number when "
                f"{names[i + 1]} follow"
            )
        values.append(float(field))
    for name, value in zip(names[1 : len(values)], values[1:], strict=True):
        if value >= 60:
            raise InvalidCoordinate(f"{what} {name} {value:g} must be less than 60")
    first = values[0]
    if unit == "hour" and first >= 24:
        raise InvalidCoordinate(f"{what} hours {first:g} must be less than 24")
    total = sum(v / 60**i for i, v in enumerate(values))
    if unit == "hour":
        total *= 15.0
    return -total if sign == "-" else total


def check_lon(lon, *, what, sign_allowed):
    """Check a longitude in degrees and wrap it into [0, 360)."""
    if not math.isfinite(lon):
        raise InvalidCoordinate(f"{what} is not a finite number")
    if lon < 0 and not sign_allowed:
        raise InvalidCoordinate(
            f"{what} {lon:g} deg is negative: it must be in [0, 360)"
        )
    if lon < -180 or lon >= 360:
        allowed = "[-180, 360)" if sign_allowed else "[0, 360)"
        raise InvalidCoordinate(
            f"{what} {lon:g} deg is out of range: it must be in {allowed}"
        )
    return lon % 360.0 if lon < 0 else lon


def check_lat(lat, *, what):
    """Check a latitude in degrees."""
    if not math.isfinite(lat):
        raise InvalidCoordinate(f"{what} is not a finite number")
    if abs(lat) > 90:
        raise InvalidCoordinate(
            f"{what} {lat:g} deg is out of range: |{what}| must be <= 90"
        )
    return lat


def to_icrs(coord):
    """Return ``coord`` as a plain scalar ICRS `~astropy.coordinates.SkyCoord`."""
    if not coord.isscalar:
        raise InvalidQueryError(
            f"expected a single position, got {coord.size} positions"
        )
    icrs = coord.transform_to(ICRS())
    return SkyCoord(ra=icrs.ra, dec=icrs.dec, frame="icrs")
