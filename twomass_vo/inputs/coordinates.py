# Licensed under a 3-clause BSD style license - see LICENSE
"""Coordinate strings, 2MASS designations and object names to ``SkyCoord``.

This module reads the "Region Center" input of the old IRSA 2MASS Batch Image
Service: a sky position in any of the notations its help page lists, a 2MASS
source designation, or an object name for a name resolver.  It also converts
the ``ra`` / ``dec`` columns of position tables to degrees.

The coordinate-string grammar and `parse_coordinates` live here; the other
parts live in modules named for what they hold, and this module re-exports
their public names: ``twomass_vo.inputs.designations`` (`decode_designation`),
``twomass_vo.inputs.name_resolver`` (`resolve_name`, `default_resolver`,
`use_resolver`), ``twomass_vo.inputs.coordinate_columns``
(`parse_coordinate_columns`) and ``twomass_vo.inputs.coordinate_fields`` (sexagesimal
fields and range checks shared by all of them).

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
so is one cut short (``2MASS J004244``), coordinates separated by ``;``
(``10.68;41.27``: use a blank or a comma), and a string with a control or
invisible character (NUL, a zero-width space): they are reported, never
sent on.  Every other string is an object name.

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

from ..exceptions import InvalidQueryError
from .coordinate_columns import parse_coordinate_columns
from .coordinate_fields import (
    COLON_VALUE,
    DECIMAL_TOKEN_RE,
    MINUS_TRANSLATION,
    InvalidCoordinate,
    check_lat,
    check_lon,
    letter_part,
    sexagesimal,
    to_icrs,
)
from .designations import check_designation_suffix, decode_designation
from .name_resolver import default_resolver, resolve, resolve_name, use_resolver

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


_LETTER_RE = re.compile(rf"{letter_part('lon')}\s*{letter_part('lat')}", re.IGNORECASE)
_HAS_LETTER_RE = re.compile(r"[hdms°'\"′″]", re.IGNORECASE)


_COLON_RE = re.compile(
    rf"(?P<lonsign>[+-]?)(?P<lon>{COLON_VALUE})(?:\s+|(?=[+-]))"
    rf"(?P<latsign>[+-]?)(?P<lat>{COLON_VALUE})"
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


# ---------------------------------------------------------------------------
# Frames.


_EQUINOX_YEARS = (1800, 2200)


def _equinox_time(token):
    """`~astropy.time.Time` of an equinox token such as ``J2000`` or ``b1983``."""
    token = token.upper()
    first, last = _EQUINOX_YEARS
    if not first <= float(token[1:]) <= last:
        raise InvalidCoordinate(
            f"equinox {token!r} is not a year from {first} to {last}"
        )
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
            raise InvalidCoordinate(
                f"Galactic coordinates have no equinox ({equinox!r})"
            )
        return Galactic(), False
    if system.startswith("ecl"):
        return BarycentricMeanEcliptic(equinox=_equinox_time(equinox or "J2000")), False
    if system == "icrs":
        if equinox and _equinox_time(equinox) != Time("J2000", format="jyear_str"):
            raise InvalidCoordinate(f"ICRS has no equinox ({equinox!r})")
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
        raise InvalidCoordinate(f"{extra[0]!r} is not part of a position")
    if _HAS_LETTER_RE.search(body):
        match = _LETTER_RE.fullmatch(body)
        if match is None:
            raise InvalidCoordinate(
                "not a valid sexagesimal position with unit letters "
                "(expected e.g. '17h44m34s -27d59m13s')"
            )
        parts = []
        for p, name in (("lon", lon_name), ("lat", lat_name)):
            unit = match[f"{p}unit"].lower()
            if unit == "h" and not (p == "lon" and equatorial):
                raise InvalidCoordinate(f"{name} cannot be given in hours")
            fields = [f for f in (match[f"{p}a"], match[f"{p}b"], match[f"{p}c"]) if f]
            parts.append(
                sexagesimal(
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
            raise InvalidCoordinate(
                "not a valid colon-separated position "
                "(expected e.g. '00:42:44.3 -41:16:08')"
            )
        lon = sexagesimal(
            match["lonsign"], match["lon"].split(":"), what=lon_name, unit=lon_unit
        )
        lat = sexagesimal(
            match["latsign"], match["lat"].split(":"), what=lat_name, unit="deg"
        )
        return lon, lat, match["lonsign"]

    match = _COMPACT_RE.fullmatch(body)
    if match is not None:
        if not equatorial:
            raise InvalidCoordinate(
                "the compact form hhmmss ±ddmmss is for equatorial frames"
            )
        lon = sexagesimal(
            "", [match["h"], match["m"], match["s"]], what=lon_name, unit="hour"
        )
        lat = sexagesimal(
            match["sign"],
            [match["d"], match["dm"], match["ds"]],
            what=lat_name,
            unit="deg",
        )
        return lon, lat, ""

    tokens = body.split()
    for token in tokens:
        if _NOT_FINITE_RE.fullmatch(token):
            raise InvalidCoordinate(f"{token!r} is not a finite number")
        if not _number_like(token):
            raise InvalidCoordinate(f"{token!r} is not part of a position")
        if not DECIMAL_TOKEN_RE.fullmatch(token):
            raise InvalidCoordinate(
                f"{token!r} is not a decimal number nor a sexagesimal field"
            )
    if len(tokens) == 2:
        if equatorial and not any(("." in t or "e" in t.lower()) for t in tokens):
            raise InvalidCoordinate(
                "is ambiguous (hours or degrees?): write decimal degrees with a "
                "decimal point ('12. 34.') or sexagesimal with units ('12h 34d')"
            )
        lon, lat = float(tokens[0]), float(tokens[1])
        for token, number, name in (
            (tokens[0], lon, lon_name),
            (tokens[1], lat, lat_name),
        ):
            if not math.isfinite(number):
                raise InvalidCoordinate(f"{name} {token!r} is not a finite number")
        return lon, lat, tokens[0][0] if tokens[0][0] in "+-" else ""
    if not 3 <= len(tokens) <= 6:
        raise InvalidCoordinate(
            f"has {len(tokens)} number{'s' if len(tokens) > 1 else ''}: expected "
            "2 (decimal degrees) or 3 to 6 (sexagesimal)"
        )
    if any("e" in t.lower() for t in tokens):
        raise InvalidCoordinate("sexagesimal fields cannot have exponents")
    signed = [i for i, t in enumerate(tokens) if i > 0 and t[0] in "+-"]
    if len(signed) > 1:
        raise InvalidCoordinate("has more than one signed number after the first")
    if signed:
        split = signed[0]
    elif len(tokens) % 2 == 0:
        split = len(tokens) // 2
    else:
        raise InvalidCoordinate(
            f"cannot tell where the {lat_name} starts: give it a sign "
            "(e.g. '12 30 +10')"
        )
    halves = tokens[:split], tokens[split:]
    if not (1 <= len(halves[0]) <= 3 and 1 <= len(halves[1]) <= 3):
        raise InvalidCoordinate("each coordinate must have 1 to 3 sexagesimal fields")
    results = []
    for half, name, unit in (
        (halves[0], lon_name, lon_unit),
        (halves[1], lat_name, "deg"),
    ):
        sign = half[0][0] if half[0][0] in "+-" else ""
        fields = [half[0].lstrip("+-"), *half[1:]]
        results.append(sexagesimal(sign, fields, what=name, unit=unit))
    lon_sign = halves[0][0][0] if halves[0][0][0] in "+-" else ""
    return results[0], results[1], lon_sign


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
        raise InvalidCoordinate(f"{lon_name} cannot be negative")
    lon = check_lon(lon, what=lon_name, sign_allowed=not equatorial)
    lat = check_lat(lat, what=lat_name)
    return to_icrs(SkyCoord(lon * u.deg, lat * u.deg, frame=frame))


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
    >>> from twomass_vo.inputs.coordinates import parse_coordinates
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
        return to_icrs(value)
    if not isinstance(value, str):
        raise TypeError(
            f"a position must be a string or a SkyCoord, not {type(value).__name__}"
        )
    _check_characters(value)
    text = " ".join(value.translate(MINUS_TRANSLATION).split())
    if not text:
        raise InvalidQueryError("empty position: give coordinates or an object name")
    coord = decode_designation(text)
    if coord is not None:
        return coord
    check_designation_suffix(text, value=value)
    try:
        coord = _parse_string(text)
    except InvalidCoordinate as err:
        raise InvalidQueryError(f"invalid coordinates {value!r}: {err}") from None
    if coord is not None:
        return coord
    if ";" in text and _looks_like_coordinates(_split_frame(text.replace(";", " "))[0]):
        raise InvalidQueryError(
            f"invalid coordinates {value!r}: ';' does not separate coordinates "
            "(use a blank or a comma, e.g. '10.68 41.27')"
        )
    return resolve(text, resolver)
