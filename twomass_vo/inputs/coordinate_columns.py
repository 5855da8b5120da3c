# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``ra`` / ``dec`` columns of position tables, to degrees.

`parse_coordinate_columns` reads two columns (numbers, with or without an
angle unit, or strings in decimal or sexagesimal notation, hours for right
ascension) and checks every value, naming the row of the first bad one.
`twomass_vo.inputs.coordinates` re-exports it.
"""

import re

import numpy as np
from astropy import units as u

from ..exceptions import InputError, InvalidQueryError
from .coordinate_fields import (
    COLON_VALUE,
    DECIMAL_TOKEN_RE,
    MINUS_TRANSLATION,
    InvalidCoordinate,
    letter_part,
    sexagesimal,
)

__all__ = [
    "parse_coordinate_columns",
]


def _component_degrees(text, *, what, hours):
    """Degrees of one column value given as a string (per-element path)."""
    text = " ".join(text.translate(MINUS_TRANSLATION).replace(",", " ").split())
    if not text:
        raise InvalidCoordinate("is empty")
    if DECIMAL_TOKEN_RE.fullmatch(text):
        return float(text)
    unit = "hour" if hours else "deg"
    match = re.fullmatch(rf"([+-]?)\s*({COLON_VALUE})", text)
    if match and ":" in match[2]:
        return sexagesimal(match[1], match[2].split(":"), what=what, unit=unit)
    match = re.fullmatch(r"([+-]?)(\d+(?: \d+){1,2}(?:\.\d*)?)", text)
    if match:
        return sexagesimal(match[1], match[2].split(), what=what, unit=unit)
    match = re.fullmatch(letter_part("x"), text, re.IGNORECASE)
    if match:
        letter = match["xunit"].lower()
        if letter == "h" and not hours:
            raise InvalidCoordinate(f"{what} cannot be given in hours")
        fields = [f for f in (match["xa"], match["xb"], match["xc"]) if f]
        return sexagesimal(
            match["xsign"], fields, what=what, unit="hour" if letter == "h" else "deg"
        )
    raise InvalidCoordinate(
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
                except InvalidCoordinate as err:
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
    >>> from twomass_vo.inputs.coordinates import parse_coordinate_columns
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
