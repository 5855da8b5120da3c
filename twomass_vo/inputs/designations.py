# Licensed under a 3-clause BSD style license - see LICENSE
"""2MASS source designations (``2MASS J...``, ``2MASX J...``), decoded offline.

``2MASS J00424433+4116074`` (Point Source Catalog, ``hhmmss.ss±ddmmss.s``)
and ``2MASX J23045666+1219223`` (Extended Source Catalog) encode the J2000
position of the source; `decode_designation` reads it from the name itself,
with no network.  `check_designation_suffix` rejects a designation followed
by anything but a component suffix, and one cut short.
`twomass_vo.inputs.coordinates` re-exports
`decode_designation`.
"""

import re

from astropy import units as u
from astropy.coordinates import (
    SkyCoord,
)

from ..exceptions import InvalidQueryError
from .coordinate_fields import (
    MINUS_TRANSLATION,
    InvalidCoordinate,
    check_lat,
    sexagesimal,
)

__all__ = [
    "check_designation_suffix",
    "decode_designation",
]


# 2MASS designations: 2MASS / 2MASX (and the older 2MASSI / 2MASSW releases),
# an optional "J", then hhmmss[ss] ±ddmmss[s].
_DESIGNATION_RE = re.compile(
    r"2MAS(?:S[IW]?|X)\s*J?\s*"
    r"(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2})(?P<sf>\d{0,3})"
    r"(?P<sign>[+-])(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2})(?P<dsf>\d{0,3})",
    re.IGNORECASE,
)
# The start of a designation: a 2MASS prefix, then the digits or sign of the
# position (a text that starts so and is no designation is one cut short).
_DESIGNATION_START_RE = re.compile(r"2MAS(?:S[IW]?|X)\s*J?\s*[0-9+-]", re.IGNORECASE)
# What may follow a designation in an object name: a component of a multiple
# system ("AB", " B", "Aab") or, after a space, a companion ("b").
_COMPONENT_RE = re.compile(r"\s*[A-D](?:[A-D]|[a-d]{1,2})?|\s+[a-i]")


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
    >>> from twomass_vo.inputs.coordinates import decode_designation
    >>> c = decode_designation("2MASX J23045666+1219223")
    >>> c.to_string("hmsdms", precision=2)
    '23h04m56.66s +12d19m22.30s'
    >>> decode_designation("M 31") is None
    True
    """
    text = str(name).translate(MINUS_TRANSLATION).strip()
    match = _DESIGNATION_RE.fullmatch(text)
    if match is None:
        return None
    seconds = match["s"] + ("." + match["sf"] if match["sf"] else "")
    arcsec = match["ds"] + ("." + match["dsf"] if match["dsf"] else "")
    try:
        ra = sexagesimal(
            "", [match["h"], match["m"], seconds], what="right ascension", unit="hour"
        )
        dec = sexagesimal(
            match["sign"],
            [match["d"], match["dm"], arcsec],
            what="declination",
            unit="deg",
        )
        check_lat(dec, what="declination")
    except InvalidCoordinate as err:
        raise InvalidQueryError(f"invalid 2MASS designation {name!r}: {err}") from None
    return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")


def check_designation_suffix(text, *, value):
    """Reject a 2MASS designation cut short, or followed by more than a suffix.

    ``2MASS J07464256+2000321 AB`` (a component of a multiple system) and
    ``... b`` (a companion) are object names; any other text after the
    position of a designation is an error, never sent to a name resolver;
    so is a designation cut short (``2MASS J004244``, ``2MASS
    J00424433+41160``): a 2MASS prefix followed by digits or a sign that do
    not make a whole position.

    Parameters
    ----------
    text : str
        The normalised string (single spaces, ASCII minus signs).
    value : str
        The string as given, for the message.

    Raises
    ------
    `~twomass_vo.exceptions.InvalidQueryError`
        If ``text`` starts with a designation followed by other text, or
        with the start of one that is cut short.
    """
    start = _DESIGNATION_RE.match(text)
    if start is not None and not _COMPONENT_RE.fullmatch(text[start.end() :]):
        raise InvalidQueryError(
            f"invalid 2MASS designation {value!r}: {text[start.end() :]!r} follows "
            "the position (a designation is '2MASS Jhhmmssss+ddmmsss')"
        )
    if start is None and _DESIGNATION_START_RE.match(text):
        raise InvalidQueryError(
            f"invalid 2MASS designation {value!r}: the position is cut short or "
            "malformed (a designation is '2MASS Jhhmmssss+ddmmsss', e.g. "
            "'2MASS J00424433+4116074'); it is not sent to a name resolver"
        )
