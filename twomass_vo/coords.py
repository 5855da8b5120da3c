# Licensed under a 3-clause BSD style license - see LICENSE
"""Coordinate strings, 2MASS designations and object names to ``SkyCoord``.

This module reads the "Region Center" input of the old IRSA 2MASS Batch Image
Service: a sky position in any of the notations its help page lists, a 2MASS
source designation, or an object name for a name resolver.  It also converts
the ``ra`` / ``dec`` columns of position tables to degrees.

Grammar of coordinate strings
-----------------------------
A string is read as ``<longitude> <latitude> [<system>] [<equinox>]``, case
does not matter.  Commas may separate the parts, and the Unicode minus sign
(and the en dash) may stand for ``-``.

``<system>`` and ``<equinox>``
    ``equ`` / ``equatorial``, ``fk4``, ``fk5``, ``icrs``, ``gal`` /
    ``galactic``, ``ecl`` / ``ecliptic``, optionally followed by an equinox
    ``J<year>`` or ``B<year>`` (``J2000``, ``j2000.0``, ``B1950``, ``b1983``;
    years 1800 to 2200); or an equinox alone.  The frame is:

    ==========================  ==========================================
    nothing, ``equ``, ``icrs``  ICRS
    ``J<year>``, ``fk5``        FK5, equinox J<year> (default J2000)
    ``B<year>``, ``fk4``        FK4, equinox B<year> (default B1950)
    ``fk5 B<year>``             FK5 with that (Besselian) equinox
    ``fk4 J<year>``             FK4 with that (Julian) equinox
    ``gal``                     Galactic (an equinox is an error)
    ``ecl [<equinox>]``         `~astropy.coordinates.BarycentricMeanEcliptic`,
                                equinox default J2000
    ==========================  ==========================================

    So ``Equ J2000`` is FK5 J2000, which differs from ICRS by about 20 mas;
    ``icrs J2000`` is accepted as ICRS, ``icrs`` with any other equinox is an
    error.

``<longitude> <latitude>``, one of

    decimal
        Two decimal numbers: degrees, also for right ascension
        (``10.68 41.27``, ``34. 54. ecl``, ``1.5e1 -3``).  In equatorial
        frames at least one of them must have a decimal point or an exponent:
        ``12 34`` is ambiguous (hours or degrees?) and is an error.
    letters
        Sexagesimal with unit letters: ``17h44m34s -27d59m13s``,
        ``17h 44m 34s -27d 59m 13s``, ``17h -27d``, ``12°30′00″``.  A
        longitude in ``h`` is in hours, one in ``d`` / ``°`` in degrees.
        Fields left out (``17h``, ``-0d30m``) are zero.
    colons
        ``00:42:44.3 -41:16:08``, ``12:30 +10``: RA in hours.
    spaces
        ``00 42 44.3 -41 16 08``: 3 to 6 numbers, RA in hours.  The
        latitude starts at the signed number; without a sign the numbers are
        split in two equal halves (``12 30 45 10 20 30``).
    compact
        ``hhmmss.s[s] ±ddmmss.s[s]`` such as ``004244.3 -411608``
        (equatorial frames only).

    Only the last field of a sexagesimal value may have a fraction, minutes
    and seconds must be below 60, hours below 24.  Right ascension must be in
    [0h, 24h) = [0, 360) degrees; Galactic and ecliptic longitudes may also be
    negative down to -180 degrees (they are wrapped into [0, 360)).
    Latitudes must be in [-90, 90].  In Galactic and ecliptic frames
    sexagesimal longitudes are degrees.

A string that looks like coordinates but does not follow the grammar raises
`~twomass_vo.exceptions.InvalidQueryError`: it is never sent to a name
resolver.  It looks like coordinates when its words (before a system and
equinox) are all number-like, or when at least its first two are.  A
number-like word starts with a digit, a sign or a decimal point and is made of
digits, decimal points, signs, colons, exponents and the unit letters
``h d m s ° ′ ″ ' "`` (``17h44m34s``, ``-41:16:08``, ``1e5``, ``10.5e``,
``004244.3-411608``), or is ``nan``, ``inf`` or a ``0x`` / ``0o`` / ``0b``
number.  So ``'10.68 41.27 extra'``, ``'nan nan'`` and ``'0x10 0x20'`` are
coordinate errors, while ``'47 Tuc'``, ``'3C 273'``, ``'1ES 1959+650'`` and
``'M 31'`` are object names.  A 2MASS designation followed by anything but a
component suffix (``2MASS J07464256+2000321 AB``, ``... b``) is an error too,
and so is a string with a control or invisible character (NUL, a zero-width
space): they are reported, never sent on.  Every other string is an object
name.

2MASS designations
------------------
``2MASS J00424433+4116074`` (Point Source Catalog, ``hhmmss.ss±ddmmss.s``)
and ``2MASX J23045666+1219223`` (Extended Source Catalog) are decoded from the
name itself, with no network (see `decode_designation`).

Object names
------------
Other names go to a resolver: the ``resolver`` argument of
`parse_coordinates`, else the default resolver (`resolve_name`, i.e. CDS
Sesame through `astropy.coordinates.SkyCoord.from_name`).  The default can be
replaced, for a block of code or for good, with `use_resolver` (an
`astropy.utils.state.ScienceState`, `default_resolver`).
"""

import math
import re
import unicodedata
import urllib.error

import numpy as np
from astropy import units as u
from astropy.coordinates import (
    FK4,
    FK5,
    ICRS,
    BarycentricMeanEcliptic,
    BaseCoordinateFrame,
    Galactic,
    SkyCoord,
)
from astropy.time import Time
from astropy.utils.state import ScienceState

from . import conf
from .exceptions import InputError, InvalidQueryError, NameResolutionError

__all__ = [
    "decode_designation",
    "default_resolver",
    "parse_coordinate_columns",
    "parse_coordinates",
    "resolve_name",
    "use_resolver",
]

# ---------------------------------------------------------------------------
# Regular expressions of the grammar (see the module docstring).

# Characters that stand for "-" in pasted text: minus sign, en dash, figure
# dash, small and full-width hyphen-minus.
_MINUS_TRANSLATION = str.maketrans(
    {"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"}
)

# An unsigned decimal number, without and with an exponent.
_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
_NUMEXP = rf"{_NUM}(?:[eE][+-]?\d+)?"
_DECIMAL_TOKEN_RE = re.compile(rf"[+-]?{_NUMEXP}")

# Trailing system and/or equinox.
_EQUINOX = r"[jb]\d{4}(?:\.\d*)?"
_FRAME_RE = re.compile(
    r"(?:^|[\s,]+)"
    r"(?:(?P<system>equ(?:atorial)?|fk4|fk5|icrs|gal(?:actic)?|ecl(?:iptic)?)"
    rf"(?:[\s,]+(?P<eq1>{_EQUINOX}))?"
    rf"|(?P<eq2>{_EQUINOX}))"
    r"\s*$",
    re.IGNORECASE,
)


def _letter_part(p):
    # One sexagesimal value with unit letters: 17h44m34s, -27d59m13s, 12°30′.
    return (
        rf"(?P<{p}sign>[+-]?)\s*(?P<{p}a>{_NUM})\s*(?P<{p}unit>[hd°])"
        rf"(?:\s*(?P<{p}b>{_NUM})\s*[m'′](?:\s*(?P<{p}c>{_NUM})\s*[s\"″])?)?"
    )


_LETTER_RE = re.compile(
    rf"{_letter_part('lon')}\s*{_letter_part('lat')}", re.IGNORECASE
)
_HAS_LETTER_RE = re.compile(r"[hdms°'\"′″]", re.IGNORECASE)

# hh:mm:ss.s ±dd:mm:ss.s (fractions only on the last field).
_COLON_VALUE = r"\d+(?::\d+){0,2}(?:\.\d*)?"
_COLON_RE = re.compile(
    rf"(?P<lonsign>[+-]?)(?P<lon>{_COLON_VALUE})(?:\s+|(?=[+-]))"
    rf"(?P<latsign>[+-]?)(?P<lat>{_COLON_VALUE})"
)

# hhmmss.s ±ddmmss.s
_COMPACT_RE = re.compile(
    r"(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2}(?:\.\d*)?)(?:\s+|(?=[+-]))"
    r"(?P<sign>[+-]?)(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2}(?:\.\d*)?)"
)

# A word that is part of a coordinate string: digits, decimal points, signs,
# colons and unit letters ("17h44m34s", "-41:16:08", "004244.3-411608",
# "1.2.3"), with exponents ("1e400") allowed after a digit.  "1ES", "1E",
# "3C", "2MASS", "NGC", "A*" are not.
_EXPONENT_RE = re.compile(r"(?<=[\d.])[eE][+-]?\d+")
_COORD_WORD_RE = re.compile(r"[\d.:hdms°'\"′″+-]+", re.IGNORECASE)
# Number-like words that are not numbers: NaN, infinities, 0x/0o/0b numbers.
_SPECIAL_NUMBER_RE = re.compile(
    r"[+-]?(?:nan|inf(?:inity)?|0[xob][0-9a-f]*)", re.IGNORECASE
)
_NOT_FINITE_RE = re.compile(r"[+-]?(?:nan|inf(?:inity)?)", re.IGNORECASE)

# 2MASS designations: 2MASS / 2MASX (and the older 2MASSI / 2MASSW releases),
# an optional "J", then hhmmss[ss] ±ddmmss[s].
_DESIGNATION_RE = re.compile(
    r"2MAS(?:S[IW]?|X)\s*J?\s*"
    r"(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?P<sf>\d{0,3})"
    r"(?P<sign>[+-])(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2})(?P<dsf>\d{0,3})",
    re.IGNORECASE,
)
# What may follow a designation in an object name: a component of a multiple
# system ("AB", " B", "Aab") or, after a space, a companion ("b").
_COMPONENT_RE = re.compile(r"\s*[A-D](?:[A-D]|[a-d]{1,2})?|\s+[a-i]")


class _Reject(ValueError):
    """A value that looks like a coordinate but is not valid (internal)."""


# ---------------------------------------------------------------------------
# Sexagesimal fields.


def _sexagesimal(sign, fields, *, what, unit):
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
            raise _Reject(
                f"{what} {names[i]} {field!r} must be a whole number when "
                f"{names[i + 1]} follow"
            )
        values.append(float(field))
    for name, value in zip(names[1 : len(values)], values[1:], strict=True):
        if value >= 60:
            raise _Reject(f"{what} {name} {value:g} must be less than 60")
    first = values[0]
    if unit == "hour" and first >= 24:
        raise _Reject(f"{what} hours {first:g} must be less than 24")
    total = sum(v / 60**i for i, v in enumerate(values))
    if unit == "hour":
        total *= 15.0
    return -total if sign == "-" else total


def _check_lon(lon, *, what, sign_allowed):
    """Check a longitude in degrees and wrap it into [0, 360)."""
    if not math.isfinite(lon):
        raise _Reject(f"{what} is not a finite number")
    if lon < 0 and not sign_allowed:
        raise _Reject(f"{what} {lon:g} deg is negative: it must be in [0, 360)")
    if lon < -180 or lon >= 360:
        allowed = "[-180, 360)" if sign_allowed else "[0, 360)"
        raise _Reject(f"{what} {lon:g} deg is out of range: it must be in {allowed}")
    return lon % 360.0 if lon < 0 else lon


def _check_lat(lat, *, what):
    """Check a latitude in degrees."""
    if not math.isfinite(lat):
        raise _Reject(f"{what} is not a finite number")
    if abs(lat) > 90:
        raise _Reject(f"{what} {lat:g} deg is out of range: |{what}| must be <= 90")
    return lat


# ---------------------------------------------------------------------------
# Frames.


_EQUINOX_YEARS = (1800, 2200)


def _equinox_time(token):
    """`~astropy.time.Time` of an equinox token such as ``J2000`` or ``b1983``."""
    token = token.upper()
    first, last = _EQUINOX_YEARS
    if not first <= float(token[1:]) <= last:
        raise _Reject(f"equinox {token!r} is not a year from {first} to {last}")
    fmt = "jyear_str" if token[0] == "J" else "byear_str"
    return Time(token, format=fmt)


def _split_frame(text):
    """Split a trailing system/equinox off a coordinate string.

    Returns
    -------
    body : str
        The string without the system and equinox.
    system : str
        The system word in lower case, ``""`` if none.
    equinox : str or None
        The equinox word (``J2000``, ``b1983``), `None` if none.
    """
    match = _FRAME_RE.search(text)
    if match is None:
        return text, "", None
    system = (match["system"] or "").lower()
    return text[: match.start()], system, match["eq1"] or match["eq2"]


def _make_frame(system, equinox):
    """Frame of a system and equinox word (see the module docstring).

    Returns
    -------
    frame : `~astropy.coordinates.BaseCoordinateFrame`
        The frame, without data.
    equatorial : bool
        Whether the longitude is a right ascension (hours allowed).
    """
    if system.startswith("gal"):
        if equinox:
            raise _Reject(f"Galactic coordinates have no equinox ({equinox!r})")
        return Galactic(), False
    if system.startswith("ecl"):
        return BarycentricMeanEcliptic(equinox=_equinox_time(equinox or "J2000")), False
    if system == "icrs":
        if equinox and _equinox_time(equinox) != Time("J2000", format="jyear_str"):
            raise _Reject(f"ICRS has no equinox ({equinox!r})")
        return ICRS(), True
    if system == "fk5":
        return FK5(equinox=_equinox_time(equinox or "J2000")), True
    if system == "fk4":
        return FK4(equinox=_equinox_time(equinox or "B1950")), True
    # Nothing, "equ", "equatorial", or an equinox alone.
    if not equinox:
        return ICRS(), True
    if equinox[0] in "jJ":
        return FK5(equinox=_equinox_time(equinox)), True
    return FK4(equinox=_equinox_time(equinox)), True


# ---------------------------------------------------------------------------
# The coordinate part.


def _number_like(word):
    """Whether a word is meant as (part of) a coordinate (module docstring)."""
    if _SPECIAL_NUMBER_RE.fullmatch(word):
        return True
    if not re.match(r"[+-]?(?:\d|\.\d)", word):
        return False
    word = _EXPONENT_RE.sub("", word)
    if re.search(r"\.\d*[eE]$", word):  # "10.5e": an exponent left unfinished
        word = word[:-1]
    return bool(_COORD_WORD_RE.fullmatch(word))


def _looks_like_coordinates(body):
    """Whether a string (without system/equinox) is meant as coordinates.

    Every word number-like, or at least the first two: ``'47 Tuc'`` is a
    name, ``'10.68 41.27 extra'`` malformed coordinates.
    """
    words = body.replace(",", " ").split()
    leading = 0
    for word in words:
        if not _number_like(word):
            break
        leading += 1
    return leading >= 1 and (leading == len(words) or leading >= 2)


def _check_characters(value):
    """Refuse control and invisible characters (NUL, zero-width space...)."""
    for i, char in enumerate(value):
        if char in "\t\n\r\v\f":
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn"):
            name = unicodedata.name(char, "a control character")
            raise InvalidQueryError(
                f"position {value!r} has an invisible character, U+{ord(char):04X} "
                f"({name.lower()}), at index {i}: retype the position"
            )


def _parse_body(body, *, equatorial):
    """Parse ``<longitude> <latitude>`` into degrees (in the string's frame)."""
    body = " ".join(body.replace(",", " ").split())
    lon_name = "right ascension" if equatorial else "longitude"
    lat_name = "declination" if equatorial else "latitude"
    lon_unit = "hour" if equatorial else "deg"

    extra = [w for w in body.split() if not _number_like(w)]
    if extra:
        raise _Reject(f"{extra[0]!r} is not part of a position")
    if _HAS_LETTER_RE.search(body):
        match = _LETTER_RE.fullmatch(body)
        if match is None:
            raise _Reject(
                "not a valid sexagesimal position with unit letters "
                "(expected e.g. '17h44m34s -27d59m13s')"
            )
        parts = []
        for p, name in (("lon", lon_name), ("lat", lat_name)):
            unit = match[f"{p}unit"].lower()
            if unit == "h" and not (p == "lon" and equatorial):
                raise _Reject(f"{name} cannot be given in hours")
            fields = [f for f in (match[f"{p}a"], match[f"{p}b"], match[f"{p}c"]) if f]
            parts.append(
                _sexagesimal(
                    match[f"{p}sign"],
                    fields,
                    what=name,
                    unit="hour" if unit == "h" else "deg",
                )
            )
        return parts[0], parts[1], match["lonsign"]

    if ":" in body:
        match = _COLON_RE.fullmatch(body)
        if match is None:
            raise _Reject(
                "not a valid colon-separated position "
                "(expected e.g. '00:42:44.3 -41:16:08')"
            )
        lon = _sexagesimal(
            match["lonsign"], match["lon"].split(":"), what=lon_name, unit=lon_unit
        )
        lat = _sexagesimal(
            match["latsign"], match["lat"].split(":"), what=lat_name, unit="deg"
        )
        return lon, lat, match["lonsign"]

    match = _COMPACT_RE.fullmatch(body)
    if match is not None:
        if not equatorial:
            raise _Reject("the compact form hhmmss ±ddmmss is for equatorial frames")
        lon = _sexagesimal(
            "", [match["h"], match["m"], match["s"]], what=lon_name, unit="hour"
        )
        lat = _sexagesimal(
            match["sign"],
            [match["d"], match["dm"], match["ds"]],
            what=lat_name,
            unit="deg",
        )
        return lon, lat, ""

    tokens = body.split()
    for token in tokens:
        if _NOT_FINITE_RE.fullmatch(token):
            raise _Reject(f"{token!r} is not a finite number")
        if not _number_like(token):
            raise _Reject(f"{token!r} is not part of a position")
        if not _DECIMAL_TOKEN_RE.fullmatch(token):
            raise _Reject(f"{token!r} is not a decimal number nor a sexagesimal field")
    if len(tokens) == 2:
        if equatorial and not any(("." in t or "e" in t.lower()) for t in tokens):
            raise _Reject(
                "is ambiguous (hours or degrees?): write decimal degrees with a "
                "decimal point ('12. 34.') or sexagesimal with units ('12h 34d')"
            )
        lon, lat = float(tokens[0]), float(tokens[1])
        for token, number, name in (
            (tokens[0], lon, lon_name),
            (tokens[1], lat, lat_name),
        ):
            if not math.isfinite(number):
                raise _Reject(f"{name} {token!r} is not a finite number")
        return lon, lat, tokens[0][0] if tokens[0][0] in "+-" else ""
    if not 3 <= len(tokens) <= 6:
        raise _Reject(
            f"has {len(tokens)} number{'s' if len(tokens) > 1 else ''}: expected "
            "2 (decimal degrees) or 3 to 6 (sexagesimal)"
        )
    if any("e" in t.lower() for t in tokens):
        raise _Reject("sexagesimal fields cannot have exponents")
    signed = [i for i, t in enumerate(tokens) if i > 0 and t[0] in "+-"]
    if len(signed) > 1:
        raise _Reject("has more than one signed number after the first")
    if signed:
        split = signed[0]
    elif len(tokens) % 2 == 0:
        split = len(tokens) // 2
    else:
        raise _Reject(
            f"cannot tell where the {lat_name} starts: give it a sign "
            "(e.g. '12 30 +10')"
        )
    halves = tokens[:split], tokens[split:]
    if not (1 <= len(halves[0]) <= 3 and 1 <= len(halves[1]) <= 3):
        raise _Reject("each coordinate must have 1 to 3 sexagesimal fields")
    results = []
    for half, name, unit in (
        (halves[0], lon_name, lon_unit),
        (halves[1], lat_name, "deg"),
    ):
        sign = half[0][0] if half[0][0] in "+-" else ""
        fields = [half[0].lstrip("+-"), *half[1:]]
        results.append(_sexagesimal(sign, fields, what=name, unit=unit))
    lon_sign = halves[0][0][0] if halves[0][0][0] in "+-" else ""
    return results[0], results[1], lon_sign


def _to_icrs(coord):
    """Return ``coord`` as a plain scalar ICRS `~astropy.coordinates.SkyCoord`."""
    if not coord.isscalar:
        raise InvalidQueryError(
            f"expected a single position, got {coord.size} positions"
        )
    icrs = coord.transform_to(ICRS())
    return SkyCoord(ra=icrs.ra, dec=icrs.dec, frame="icrs")


def _parse_string(text):
    """Parse a (normalised) coordinate string; `None` if it is not coordinates."""
    body, system, equinox = _split_frame(text)
    if not _looks_like_coordinates(body):
        return None
    frame, equatorial = _make_frame(system, equinox)
    lon, lat, lon_sign = _parse_body(body, equatorial=equatorial)
    lon_name = "right ascension" if equatorial else "longitude"
    lat_name = "declination" if equatorial else "latitude"
    if lon_sign == "-" and equatorial:
        raise _Reject(f"{lon_name} cannot be negative")
    lon = _check_lon(lon, what=lon_name, sign_allowed=not equatorial)
    lat = _check_lat(lat, what=lat_name)
    return _to_icrs(SkyCoord(lon * u.deg, lat * u.deg, frame=frame))


# ---------------------------------------------------------------------------
# 2MASS designations.


def decode_designation(name):
    """Decode the position of a 2MASS source from its designation, offline.

    2MASS designations encode the J2000 (ICRS) position of the source:
    ``2MASS Jhhmmss.ss±ddmmss.s`` in the Point Source Catalog (PSC) and
    ``2MASX Jhhmmss.ss±ddmmss.s`` in the Extended Source Catalog (XSC),
    without the decimal points.  The space and the ``J`` may be left out
    (``2MASSJ00424433+4116074``, ``2MASS 00424433+4116074``); the older
    ``2MASSI`` / ``2MASSW`` prefixes (``hhmmss.s±ddmmss``) are read too.

    The catalogue *truncates* the coordinates to make the designation, so the
    decoded position is the truncated one: the catalogue right ascension is
    up to 0.01 s larger and the catalogue declination up to 0.1 arcsec
    further from the equator.  That is far below the size of a 2MASS image,
    so no correction is made.

    Parameters
    ----------
    name : str
        The designation.  Case and surrounding spaces do not matter.

    Returns
    -------
    `~astropy.coordinates.SkyCoord` or None
        The position in ICRS, or `None` if ``name`` is not a 2MASS
        designation.

    Raises
    ------
    `~twomass_vo.exceptions.InvalidQueryError`
        If ``name`` has the form of a designation but a field is out of range
        (hours >= 24, minutes or seconds >= 60, declination > 90 deg).

    Examples
    --------
    >>> from twomass_vo.coords import decode_designation
    >>> c = decode_designation("2MASX J23045666+1219223")
    >>> c.to_string("hmsdms", precision=2)
    '23h04m56.66s +12d19m22.30s'
    >>> decode_designation("M 31") is None
    True
    """
    text = str(name).translate(_MINUS_TRANSLATION).strip()
    match = _DESIGNATION_RE.fullmatch(text)
    if match is None:
        return None
    seconds = match["s"] + ("." + match["sf"] if match["sf"] else "")
    arcsec = match["ds"] + ("." + match["dsf"] if match["dsf"] else "")
    try:
        ra = _sexagesimal(
            "", [match["h"], match["m"], seconds], what="right ascension", unit="hour"
        )
        dec = _sexagesimal(
            match["sign"],
            [match["d"], match["dm"], arcsec],
            what="declination",
            unit="deg",
        )
        _check_lat(dec, what="declination")
    except _Reject as err:
        raise InvalidQueryError(f"invalid 2MASS designation {name!r}: {err}") from None
    return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")


# ---------------------------------------------------------------------------
# Name resolution.


def resolve_name(name):
    """Resolve an object name to a position with CDS Sesame.

    This is the default resolver: it calls
    `astropy.coordinates.SkyCoord.from_name` (Sesame queries SIMBAD, NED and
    VizieR) with ``twomass_vo.conf.timeout`` as the network time limit.

    Parameters
    ----------
    name : str
        The object name, e.g. ``"m83"`` or ``"NGC 7479"``.

    Returns
    -------
    `~astropy.coordinates.SkyCoord`
        The position in ICRS.

    Raises
    ------
    `~twomass_vo.exceptions.NameResolutionError`
        If the name is unknown or Sesame cannot be reached (for example on an
        offline machine).
    """
    from astropy.utils.data import conf as data_conf

    try:
        with data_conf.set_temp("remote_timeout", conf.timeout):
            coord = SkyCoord.from_name(name)
    except Exception as err:
        raise NameResolutionError(_resolution_message(name, err)) from err
    return _to_icrs(coord)


def _resolution_message(name, err):
    """Message of a failed name resolution."""
    network = isinstance(err, (OSError, urllib.error.URLError)) or (
        "queries failed" in str(err)
    )
    hint = "(offline?)" if network else "(unknown name, or offline?)"
    reason = " ".join(str(err).split())
    if isinstance(err, LookupError) or not reason:
        # KeyError('m83') alone would read "could not resolve 'm83': 'm83'".
        reason = f"{type(err).__name__}: {reason}" if reason else type(err).__name__
    return f"could not resolve {name!r}: {reason} {hint}"


class default_resolver(ScienceState):
    """The resolver of object names used when no ``resolver`` is given.

    A callable ``str -> SkyCoord``; `None` (the default) means
    `resolve_name` (CDS Sesame).  Set it with ``default_resolver.set(func)``
    (or `use_resolver`): the new value holds until it is set again, or, when
    ``set`` is used in a ``with`` statement, until the block ends.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from twomass_vo.coords import default_resolver, parse_coordinates
    >>> known = {"m83": SkyCoord(204.25383, -29.86576, unit="deg")}
    >>> with default_resolver.set(known.__getitem__):
    ...     print(parse_coordinates("m83").to_string(precision=3))
    204.254 -29.866
    """

    _value = None

    @classmethod
    def get(cls):
        """Return the current resolver.

        Returns
        -------
        callable
            The resolver set last, or `resolve_name` if none is set.
        """
        # ``twomass_vo.coords.resolve_name`` is looked up at call time, so
        # replacing the module attribute replaces the default too.
        return resolve_name if cls._value is None else cls._value

    @classmethod
    def validate(cls, value):
        """Check that ``value`` is a callable or `None` (meaning `resolve_name`).

        Parameters
        ----------
        value : callable or None
            The resolver.

        Returns
        -------
        callable or None
            ``value``.
        """
        if value is not None and not callable(value):
            raise TypeError(f"a resolver must be callable, not {type(value).__name__}")
        return value


def use_resolver(func):
    """Replace the default name resolver, in a ``with`` block or for good.

    ``with use_resolver(func): ...`` uses ``func`` for object names inside the
    block and restores the previous resolver after it; ``use_resolver(func)``
    alone keeps ``func`` until the next call.  ``use_resolver(None)`` goes
    back to `resolve_name`.

    Parameters
    ----------
    func : callable or None
        ``func(name) -> SkyCoord``; it may raise any exception for an unknown
        name, which `parse_coordinates` turns into
        `~twomass_vo.exceptions.NameResolutionError`.

    Returns
    -------
    context manager
        Restores the previous resolver on exit.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from twomass_vo.coords import parse_coordinates, use_resolver
    >>> with use_resolver(lambda name: SkyCoord(10, 20, unit="deg")):
    ...     print(parse_coordinates("my source").dec.deg)
    20.0
    """
    return default_resolver.set(func)


def _resolve(name, resolver):
    """Resolve ``name`` with ``resolver`` (or the default), to ICRS."""
    func = resolver if resolver is not None else default_resolver.get()
    try:
        coord = func(name)
    except NameResolutionError:
        raise
    except Exception as err:
        raise NameResolutionError(_resolution_message(name, err)) from err
    if isinstance(coord, BaseCoordinateFrame) and coord.has_data:
        coord = SkyCoord(coord)
    if not isinstance(coord, SkyCoord):
        raise NameResolutionError(
            f"could not resolve {name!r}: the resolver returned "
            f"{type(coord).__name__}, not a SkyCoord"
        )
    return _to_icrs(coord)


# ---------------------------------------------------------------------------
# Public entry points.


def parse_coordinates(value, *, resolver=None):
    """Read a position: a coordinate string, a 2MASS designation or a name.

    Parameters
    ----------
    value : str or `~astropy.coordinates.SkyCoord` or frame
        A coordinate string in any notation of the module docstring (those
        of the old service's help page, e.g. ``"17h44m34s -27d59m13s"``,
        ``"00 42 44.3 -41 16 08 b1983"``, ``"34.5565 54.2321 gal"``), a 2MASS
        designation (decoded offline by `decode_designation`), an object
        name, or a scalar coordinate object (transformed to ICRS).
    resolver : callable, optional
        ``resolver(name) -> SkyCoord`` for object names.  Default: the
        current `default_resolver` (CDS Sesame via `resolve_name` unless
        replaced with `use_resolver`).

    Returns
    -------
    `~astropy.coordinates.SkyCoord`
        A scalar position in the ICRS frame.

    Raises
    ------
    `~twomass_vo.exceptions.InvalidQueryError`
        If the string looks like coordinates but is malformed or out of
        range; the message names the value and what is wrong.
    `~twomass_vo.exceptions.NameResolutionError`
        If an object name cannot be resolved (unknown name, no network).
    TypeError
        If ``value`` is neither a string nor a coordinate object.

    Examples
    --------
    >>> from twomass_vo.coords import parse_coordinates
    >>> parse_coordinates("00:42:44.3 -41:16:08").to_string("hmsdms", precision=1)
    '00h42m44.3s -41d16m08.0s'
    >>> c = parse_coordinates("17h -27d")
    >>> print(c.ra.deg, c.dec.deg)
    255.0 -27.0
    """
    if isinstance(value, BaseCoordinateFrame):
        if not value.has_data:
            raise InvalidQueryError(f"the frame {value!r} has no coordinates")
        value = SkyCoord(value)
    if isinstance(value, SkyCoord):
        return _to_icrs(value)
    if not isinstance(value, str):
        raise TypeError(
            f"a position must be a string or a SkyCoord, not {type(value).__name__}"
        )
    _check_characters(value)
    text = " ".join(value.translate(_MINUS_TRANSLATION).split())
    if not text:
        raise InvalidQueryError("empty position: give coordinates or an object name")
    coord = decode_designation(text)
    if coord is not None:
        return coord
    start = _DESIGNATION_RE.match(text)
    if start is not None and not _COMPONENT_RE.fullmatch(text[start.end() :]):
        raise InvalidQueryError(
            f"invalid 2MASS designation {value!r}: {text[start.end() :]!r} follows "
            "the position (a designation is '2MASS Jhhmmssss+ddmmsss')"
        )
    try:
        coord = _parse_string(text)
    except _Reject as err:
        raise InvalidQueryError(f"invalid coordinates {value!r}: {err}") from None
    if coord is not None:
        return coord
    return _resolve(text, resolver)


def _component_degrees(text, *, what, hours):
    """Degrees of one column value given as a string (per-element path)."""
    text = " ".join(text.translate(_MINUS_TRANSLATION).replace(",", " ").split())
    if not text:
        raise _Reject("is empty")
    if _DECIMAL_TOKEN_RE.fullmatch(text):
        return float(text)
    unit = "hour" if hours else "deg"
    match = re.fullmatch(rf"([+-]?)\s*({_COLON_VALUE})", text)
    if match and ":" in match[2]:
        return _sexagesimal(match[1], match[2].split(":"), what=what, unit=unit)
    match = re.fullmatch(r"([+-]?)(\d+(?: \d+){1,2}(?:\.\d*)?)", text)
    if match:
        return _sexagesimal(match[1], match[2].split(), what=what, unit=unit)
    match = re.fullmatch(_letter_part("x"), text, re.IGNORECASE)
    if match:
        letter = match["xunit"].lower()
        if letter == "h" and not hours:
            raise _Reject(f"{what} cannot be given in hours")
        fields = [f for f in (match["xa"], match["xb"], match["xc"]) if f]
        return _sexagesimal(
            match["xsign"], fields, what=what, unit="hour" if letter == "h" else "deg"
        )
    raise _Reject(
        "is not a number of degrees nor a sexagesimal value "
        f"({'hh:mm:ss.s' if hours else '±dd:mm:ss.s'})"
    )


def _angle_unit(unit, name, *, hours=False):
    """Return the column's unit as an angle unit; `None` if none or unknown.

    With ``hours`` (a right ascension), a time unit (``h``, ``s``) is read as
    an hour angle. Any other known unit that is not an angle (``km``) is an
    `InputError`.
    """
    if unit is None:
        return None
    try:
        unit = u.Unit(unit)
    except (ValueError, TypeError):
        return None  # free text, as in IPAC unit lines: the values are degrees
    if isinstance(unit, u.UnrecognizedUnit) or unit == u.dimensionless_unscaled:
        return None
    if hours and unit.physical_type == "time":
        return u.Unit(unit.to(u.hour) * u.hourangle)
    if unit.physical_type != "angle":
        raise InputError(
            "is the unit of the column: not an angle (give degrees, or an angle "
            "unit such as deg or hourangle)",
            column=name,
            value=unit.to_string(),
        )
    return unit


def _column_degrees(values, *, name, hours, what):
    """One column of positions as float64 degrees (range not yet checked)."""
    if isinstance(values, u.Quantity):
        unit = _angle_unit(values.unit, name, hours=hours) or u.deg
        if values.dtype.kind == "c":
            raise InputError(
                "is a complex number, not a coordinate",
                row=0,
                column=name,
                value=np.atleast_1d(values.value)[0],
            )
        # ``unit`` is the Quantity's own unit, read as an angle
        degrees = np.asarray(values.value) * unit.to(u.deg)
        return np.atleast_1d(degrees).astype(np.float64), values
    unit = _angle_unit(getattr(values, "unit", None), name, hours=hours)
    mask = np.ma.getmaskarray(values)
    data = np.atleast_1d(np.asarray(np.ma.getdata(values)))
    mask = np.broadcast_to(mask, data.shape)
    if data.dtype.kind == "O":
        mask = mask | np.equal(data, None)
    if data.ndim != 1:
        raise InvalidQueryError(f"column {name!r} must be one-dimensional")
    if mask.any():
        row = int(np.flatnonzero(mask)[0])
        raise InputError(
            "is missing: every position needs a value", row=row, column=name, value=None
        )
    if data.dtype.kind == "S":
        data = np.char.decode(data, "utf-8", "replace")
    kind = data.dtype.kind
    if kind in "bc" and data.size:
        row = 0
        raise InputError(
            "is not a coordinate"
            if kind == "b"
            else "is a complex number, not a coordinate",
            row=row,
            column=name,
            value=data[row].item(),
        )
    if kind in "iuf":
        degrees = data.astype(np.float64)
    else:
        try:
            # Fast path: every element is a decimal number (vectorised).
            degrees = data.astype(np.float64)
        except (ValueError, TypeError):
            degrees = np.empty(data.shape, dtype=np.float64)
            for i, item in enumerate(data.tolist()):
                if isinstance(item, (int, float, np.number)) and not isinstance(
                    item, bool
                ):
                    degrees[i] = float(item)
                    continue
                if isinstance(item, bytes):
                    item = item.decode("utf-8", "replace")
                if not isinstance(item, str):
                    raise InputError(
                        "is not a coordinate", row=i, column=name, value=item
                    ) from None
                try:
                    degrees[i] = _component_degrees(item, what=what, hours=hours)
                except _Reject as err:
                    raise InputError(str(err), row=i, column=name, value=item) from None
    if unit is not None and kind in "iuf":
        degrees = degrees * unit.to(u.deg)
    return degrees, data


def parse_coordinate_columns(ra, dec, *, columns=("ra", "dec")):
    """Convert the ``ra`` / ``dec`` columns of a position table to degrees.

    Numeric columns are taken as degrees (or converted from their angle unit,
    for a `~astropy.units.Quantity` or a column with a unit) and checked with
    vectorised operations.  Columns of strings are converted in one vectorised
    step when every element is a decimal number; otherwise element by element,
    where an element may also be sexagesimal (``12:30:45.2``, ``12 30 45.2``,
    ``12h30m45.2s``; right ascension in hours, declination in degrees, a
    ``d`` unit letter makes a right ascension degrees).  Object names are not
    resolved here.

    The values must be ICRS (J2000) degrees: right ascension in [0, 360]
    (360 becomes 0) and declination in [-90, 90].

    Parameters
    ----------
    ra, dec : array-like
        One-dimensional columns of the same length: numbers, strings, a
        `~astropy.table.Column` / `~astropy.table.MaskedColumn` or a
        `~astropy.units.Quantity`.
    columns : tuple of str, optional
        Names of the two columns, for error messages.

    Returns
    -------
    ra_deg, dec_deg : `~numpy.ndarray`
        New float64 arrays of degrees.

    Raises
    ------
    `~twomass_vo.exceptions.InputError`
        For the first invalid element; the error names its row (0-based
        index), the column and the value (missing, not a number, out of
        range, malformed sexagesimal).
    `~twomass_vo.exceptions.InvalidQueryError`
        If the columns are not one-dimensional or differ in length.

    Examples
    --------
    >>> from twomass_vo.coords import parse_coordinate_columns
    >>> ra, dec = parse_coordinate_columns(["10.5", "01:00:00"], ["-5", "+30 30"])
    >>> ra.tolist(), dec.tolist()
    ([10.5, 15.0], [-5.0, 30.5])
    """
    ra_name, dec_name = columns
    ra_deg, ra_data = _column_degrees(
        ra, name=ra_name, hours=True, what="right ascension"
    )
    dec_deg, dec_data = _column_degrees(
        dec, name=dec_name, hours=False, what="declination"
    )
    if ra_deg.shape != dec_deg.shape:
        raise InvalidQueryError(
            f"columns {ra_name!r} and {dec_name!r} differ in length "
            f"({ra_deg.size} and {dec_deg.size})"
        )
    _range_error(
        ra_deg,
        ra_data,
        ~((ra_deg >= 0) & (ra_deg <= 360)),
        ra_name,
        "is out of range: right ascension must be in [0, 360] degrees",
    )
    _range_error(
        dec_deg,
        dec_data,
        ~(np.abs(dec_deg) <= 90),
        dec_name,
        "is out of range: declination must be in [-90, 90] degrees",
    )
    ra_deg[ra_deg == 360] = 0.0
    return ra_deg, dec_deg


def _range_error(degrees, data, bad, name, message):
    """Raise `InputError` for the first ``bad`` element, if any."""
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    value = np.atleast_1d(data)[row]
    value = value.item() if isinstance(value, np.generic) else value
    if not np.isfinite(degrees[row]):
        message = "is not a finite number"
    raise InputError(message, row=row, column=name, value=value)
