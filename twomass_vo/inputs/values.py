# Licensed under a 3-clause BSD style license - see LICENSE
"""Scalar arguments of the batch modes: 2MASS bands and angles.

`parse_band` reads the ``band`` argument (``'J'``, ``'H'``, ``'Ks'``, ``'all'``
or a list of them), `parse_angle` an angle given as a number, a string with a
unit or a `~astropy.units.Quantity`, and `region_size` the ``diameter`` /
``radius`` / ``width`` of the region mode (`region_diameter` the first
two).  Bad values raise `~twomass_vo.exceptions.InvalidQueryError` (or
`~twomass_vo.exceptions.InputError` with the row of a table).
"""

import numbers
import re

import numpy as np
from astropy import units as u

from ..exceptions import InputError, InvalidQueryError

__all__ = [
    "BAND_CODES",
    "parse_angle",
    "parse_band",
    "region_diameter",
    "region_size",
]

#: Band words of the ``band`` argument and column (lower case) -> band code:
#: ``'J'``, ``'H'``, ``'K'`` or ``'JHK'`` (all three bands).
BAND_CODES = {
    "j": "J",
    "h": "H",
    "k": "K",
    "ks": "K",
    "a": "JHK",
    "all": "JHK",
    "jhk": "JHK",
}

_BAND_MESSAGE = (
    "is not a 2MASS band: use 'J', 'H', 'Ks' (or 'K') or 'all', or a list of them"
)


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
        band = BAND_CODES.get(value.strip().lower())
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


def region_size(*, diameter=None, radius=None, width=None):
    """Validate the size of a region: a circle's diameter or radius, a square's width.

    Parameters
    ----------
    diameter, radius, width : float, `~astropy.units.Quantity`, str or None
        At most one of them (see `parse_angle`; numbers are degrees):
        ``radius`` is astroquery's name (``diameter = 2 * radius``), and
        ``width`` the side of a square, as in astroquery.

    Returns
    -------
    shape : {'circle', 'square'} or None
        What the size is of (None if none is given).
    degrees : float or None
        The circle's diameter or the square's width, in degrees (positive
        and finite; the service's range is applied later).

    Raises
    ------
    InvalidQueryError
        If more than one is given, or the one given is not a positive angle.
    """
    given = {
        name: value
        for name, value in (
            ("diameter", diameter),
            ("radius", radius),
            ("width", width),
        )
        if value is not None
    }
    if len(given) > 1:
        names = list(given)
        said = ", ".join(f"{k}={v!r}" for k, v in given.items())
        which = (
            f"{names[0]} or {names[1]}, not both"
            if len(names) == 2
            else ("one of diameter, radius and width")
        )
        raise InvalidQueryError(f"give {which} ({said})")
    if not given:
        return None, None
    ((argument, value),) = given.items()
    degrees = parse_angle(value, argument=argument, unit=u.deg)
    if not (np.isfinite(degrees) and degrees > 0):
        raise InvalidQueryError(
            f"{argument}={value!r} must be a positive, finite angle"
        )
    if argument == "width":
        return "square", degrees
    return "circle", 2 * degrees if argument == "radius" else degrees


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
    return region_size(diameter=diameter, radius=radius)[1]
