# Licensed under a 3-clause BSD style license - see LICENSE
"""Validation of the positions mode's input: tables of positions or object names.

`positions_request` turns a table (``ra`` / ``dec`` columns in any
notation, or ``object`` names for a resolver), a
`~astropy.coordinates.SkyCoord` or a file into a
`~twomass_vo.inputs.PositionRequest`, with the per-row ``size``,
``best`` and ``id`` columns.
"""

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ..exceptions import InputError, InvalidQueryError, NameResolutionError
from .columns import (
    angle_unit_factor,
    column_floats,
    column_values,
    find_input_column,
    map_strings,
    missing_column_error,
    plain_value,
    raise_first_bad,
    row_ids,
)
from .requests import PositionRequest
from .tables import read_input_table
from .values import parse_angle

__all__ = [
    "positions_request",
]

# Words of the ``best`` column, in any case.
_TRUE = ("y", "yes", "t", "true", "1")
_FALSE = ("n", "no", "f", "false", "0")


def _global_size(size):
    if size is None:
        return 0.0
    value = parse_angle(size, argument="size", unit=u.arcsec)
    if not (np.isfinite(value) and value > 0):
        raise InvalidQueryError(
            f"size={size!r} must be a positive, finite angle (arcsec); use None "
            "for full images"
        )
    return value


def _position_table(source, name):
    if isinstance(source, SkyCoord):
        icrs = source.icrs
        ra = np.atleast_1d(icrs.ra.deg).astype(np.float64)
        dec = np.atleast_1d(icrs.dec.deg).astype(np.float64)
        return Table({"ra": ra, "dec": dec}, copy=False)
    table = read_input_table(source, name=name)
    if all(find_input_column(table, kind) is None for kind in ("ra", "dec")):
        # a table whose positions are a SkyCoord column (a name column next
        # to it is then an id, see `_positions`)
        for colname in table.colnames:
            if isinstance(table[colname], SkyCoord):
                icrs = table[colname].icrs
                return Table(
                    {"ra": icrs.ra.deg, "dec": icrs.dec.deg}
                    | {c: table[c] for c in table.colnames if c != colname},
                    copy=False,
                )
    return table


def positions_request(source, *, best=False, size=None, resolver=None):
    """Validate a list of positions (the positions mode).

    Parameters
    ----------
    source : `~astropy.table.Table`, str, path or `~astropy.coordinates.SkyCoord`
        The position table (see `~twomass_vo.inputs.tables.read_input_table`), or
        the positions themselves.
        The table has ``ra`` and ``dec`` columns (also ``ra_deg``,
        ``raj2000``, ``in_ra``; ``dec_deg``, ``dej2000``, ``decj2000``,
        ``in_dec``; any case) in decimal degrees or sexagesimal (RA in
        hours), or a `~astropy.coordinates.SkyCoord` column, or else an
        object-name column (``object``, ``objname``, ``name``), whose names
        are resolved.  A name column next to ra/dec (or SkyCoord) columns
        is never resolved: it is the rows' ``id`` when there is no ``id``
        column.  Optional columns: ``size`` (cutout size, arcsec),
        ``best`` (y/n) and ``id``.
    best : bool, optional
        Best-image-only flag for the rows without a ``best`` value.
    size : float, `~astropy.units.Quantity` or None, optional
        Cutout size (arcsec if a number) for the rows without a ``size``
        value; `None` means full images.
    resolver : callable, optional
        Name resolver passed to `twomass_vo.inputs.coordinates.parse_coordinates` for
        object names; the default resolves names over the network.

    Returns
    -------
    request : `PositionRequest`
        One element per input row.

    Raises
    ------
    InvalidQueryError
        If ``best`` is not a bool or ``size`` is not positive.
    InputError
        For the first invalid value (naming row, column and value), for a
        missing position column, or for an unreadable file.

    Notes
    -----
    A ``size`` value of 0 means no cutout; empty or null takes the global
    ``size``.  A ``best`` value is y/n, yes/no, true/false, t/f or 1/0 in any
    case (or a bool column); empty or null takes the global ``best``.  Ids
    are kept whole (the old service's 15-character limit was a database
    column width).
    """
    if not isinstance(best, (bool, np.bool_)):
        raise InvalidQueryError(f"best must be True or False, not {best!r}")
    best = bool(best)
    size_default = _global_size(size)
    table = _position_table(source, "positions table")
    n = len(table)

    # Everything else is checked before object names go to the resolver.
    sizes = _sizes(table, size_default)
    bests = _bests(table, best)
    ids = row_ids(table, n, fallback="object")
    ra, dec = _positions(table, resolver)
    return PositionRequest(
        ra=ra,
        dec=dec,
        size=sizes,
        best=bests,
        id=ids,
        scntr=np.arange(n, dtype=np.int64),
    )


def _positions(table, resolver):
    n = len(table)
    ra_name = find_input_column(table, "ra")
    dec_name = find_input_column(table, "dec")
    obj_name = find_input_column(table, "object")
    if (ra_name is None) != (dec_name is None):
        kind = "dec" if dec_name is None else "ra"
        raise missing_column_error(table, kind, "position table with ra and dec")
    if ra_name is None and obj_name is None:
        raise InputError(
            "are the table's columns: a position table needs 'ra' and 'dec' "
            "columns (or 'ra_deg'/'dec_deg', 'raj2000'/'dej2000', "
            "'in_ra'/'in_dec', in any case), or an object name column ('object', "
            "'objname' or 'name')",
            column="ra",
            value=list(table.colnames),
        )
    ra = np.full(n, np.nan)
    dec = np.full(n, np.nan)
    by_name = np.zeros(n, dtype=bool)
    if ra_name is not None:
        # ra/dec columns win: a name column next to them is only an id, never
        # sent to a resolver
        ra_col, dec_col = table[ra_name], table[dec_name]
        ra_data, ra_mask = column_values(ra_col)
        dec_data, dec_mask = column_values(dec_col)
        why = "is missing: the row has no position"
        if obj_name is not None:
            why += (
                f" (the {obj_name!r} column is an id when the table has ra/dec "
                "columns: put names to resolve in a table of their own)"
            )
        for mask, col, name in (
            (ra_mask, ra_col, ra_name),
            (dec_mask, dec_col, dec_name),
        ):
            if mask.any():
                raise_first_bad(mask, col, name, why)
        rows = np.arange(n)
        ra[rows], dec[rows] = _parse_ra_dec(
            ra_col, dec_col, ra_name, dec_name, ra_data, dec_data, rows
        )
    else:
        obj_data, obj_mask = column_values(table[obj_name])
        if obj_mask.any():
            raise_first_bad(
                obj_mask,
                table[obj_name],
                obj_name,
                "is missing: the row has no position",
            )
        by_name[:] = True
    if by_name.any():
        ra[by_name], dec[by_name] = _resolve_names(
            table[obj_name], obj_name, obj_data, np.flatnonzero(by_name), resolver
        )
    return ra, dec


def _parse_ra_dec(ra_col, dec_col, ra_name, dec_name, ra_data, dec_data, rows):
    ra_sub, dec_sub = ra_data[rows], dec_data[rows]
    for data, col, name in ((ra_sub, ra_col, ra_name), (dec_sub, dec_col, dec_name)):
        if data.dtype.kind in "bcmM" and len(rows):
            kind = {"b": "a bool", "c": "a complex number"}.get(data.dtype.kind)
            raise_first_bad(
                np.ones(len(rows), dtype=bool),
                col[rows],
                name,
                f"is {kind or 'not a number'}: a coordinate is a real number of "
                "degrees or a sexagesimal string",
                offset_rows=rows,
            )
        angle_unit_factor(col, u.deg, hours=col is ra_col)  # not an angle: an error
    numeric = ra_sub.dtype.kind in "iuf" and dec_sub.dtype.kind in "iuf"
    values = None
    if numeric:
        values = ra_sub.astype(np.float64), dec_sub.astype(np.float64)
    elif ra_sub.dtype.kind in "iufU" and dec_sub.dtype.kind in "iufU":
        try:  # vectorised fast path: decimal numbers written as text
            values = ra_sub.astype(np.float64), dec_sub.astype(np.float64)
        except ValueError:
            values = None
    if values is not None:
        ra_deg = values[0] * angle_unit_factor(ra_col, u.deg, hours=True)
        dec_deg = values[1] * angle_unit_factor(dec_col, u.deg)
    else:
        from .coordinates import parse_coordinate_columns

        try:
            ra_deg, dec_deg = parse_coordinate_columns(
                ra_sub, dec_sub, columns=(ra_name, dec_name)
            )
        except InputError as exc:
            row = None if exc.row is None else int(rows[exc.row])
            raise InputError(
                exc.reason, row=row, column=exc.column, value=exc.value
            ) from exc
        ra_deg = np.asarray(ra_deg, dtype=np.float64)
        dec_deg = np.asarray(dec_deg, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad_ra = ~(np.isfinite(ra_deg) & (ra_deg >= 0) & (ra_deg <= 360))
        bad_dec = ~(np.isfinite(dec_deg) & (dec_deg >= -90) & (dec_deg <= 90))
    if bad_ra.any() or bad_dec.any():
        first_ra = np.flatnonzero(bad_ra)[0] if bad_ra.any() else len(rows)
        first_dec = np.flatnonzero(bad_dec)[0] if bad_dec.any() else len(rows)
        if first_ra <= first_dec:
            row = int(rows[first_ra])
            raise InputError(
                "is not a right ascension from 0 to 360 deg",
                row=row,
                column=ra_name,
                value=plain_value(ra_col[row]),
            )
        row = int(rows[first_dec])
        raise InputError(
            "is not a declination from -90 to +90 deg",
            row=row,
            column=dec_name,
            value=plain_value(dec_col[row]),
        )
    return np.mod(ra_deg, 360.0), dec_deg


def _resolve_names(col, colname, data, rows, resolver):
    from .coordinates import parse_coordinates

    ra = np.empty(len(rows))
    dec = np.empty(len(rows))
    done = {}
    for k, row in enumerate(rows):
        value = str(data[row])
        if value not in done:
            try:
                coord = parse_coordinates(value, resolver=resolver)
            except NameResolutionError as exc:
                raise InputError(
                    f"could not be resolved to a position: {exc}",
                    row=int(row),
                    column=colname,
                    value=plain_value(col[row]),
                ) from exc
            except InvalidQueryError as exc:
                raise InputError(
                    f"is not a position: {exc}",
                    row=int(row),
                    column=colname,
                    value=plain_value(col[row]),
                ) from exc
            icrs = coord.icrs
            done[value] = (float(icrs.ra.deg), float(icrs.dec.deg))
        ra[k], dec[k] = done[value]
    return ra, dec


def _sizes(table, default):
    n = len(table)
    name = find_input_column(table, "size")
    if name is None:
        return np.full(n, default)
    col = table[name]
    data, mask = column_values(col)
    values = column_floats(col, name, data, mask, what="a cutout size in arcsec")
    values *= angle_unit_factor(col, u.arcsec)
    live = ~mask
    with np.errstate(invalid="ignore"):
        bad = live & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        raise_first_bad(
            bad,
            col,
            name,
            "is not a cutout size: use a number of arcsec >= 0 (0 = full image)",
        )
    return np.where(mask, default, values)


def _bests(table, default):
    n = len(table)
    name = find_input_column(table, "best")
    out = np.full(n, default, dtype=bool)
    if name is None:
        return out
    col = table[name]
    data, mask = column_values(col)
    live = ~mask
    message = "is not a best-image flag: use y or n (also yes/no, true/false, 1/0)"
    kind = data.dtype.kind
    if kind == "b":
        out[live] = data[live]
        return out
    if kind in "iuf":
        bad = live & ~((data == 0) | (data == 1))
        if bad.any():
            raise_first_bad(bad, col, name, message)
        out[live] = data[live] == 1
        return out
    if kind != "U":
        if live.any():
            raise_first_bad(live, col, name, message)
        return out
    flags = map_strings(
        data[live],
        lambda v: "y" if v.lower() in _TRUE else "n" if v.lower() in _FALSE else "",
    )
    bad = np.zeros(n, dtype=bool)
    bad[live] = flags == ""
    if bad.any():
        raise_first_bad(bad, col, name, message)
    out[live] = flags == "y"
    return out
