# Licensed under a 3-clause BSD style license - see LICENSE
"""Validation of the sources mode's input: catalogue rows and their link columns.

`sources_request` turns a catalogue table -- the 2MASS Point Source Catalog
as IRSA (``fp_psc``), LIneA or VizieR (II/246) serve it, or any table of
sources with positions -- into a `SourceRequest`: the positions (a
`~twomass_vo.inputs.PositionRequest`, whose ``id`` is the source's
designation) and, for ``link="measured"``, each row's link to the image that
measured it: its ``coadd_key``, else its date-hemisphere-scan.

Column names are found in any case (`~twomass_vo.inputs.columns.COLUMN_SYNONYMS`):

========================= =============================================
quantity                  accepted names
========================= =============================================
position                  ``ra``/``dec`` (also ``decl``, ``raj2000``/``dej2000``, ...)
identifier (``id``)       ``designation``, ``2MASS``, ``_2MASS``; else ``id``;
                          else ``pts_key``, ``cntr``
image set                 ``coadd_key`` (also ``coaddKey``)
scan                      ``xdate`` / ``date`` / ``ordate`` (``yymmdd`` or ISO),
                          ``hemis`` / ``hem``, ``scan`` / ``scanno``
========================= =============================================
"""

from dataclasses import dataclass, replace

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ..exceptions import InputError, InvalidQueryError
from .columns import (
    column_ints,
    column_values,
    find_input_column,
    missing_column_error,
    raise_first_bad,
    row_ids,
)
from .positions import positions_request
from .requests import PositionRequest
from .scans import hemisphere_column, ordate_column, scan_column
from .tables import read_input_table

__all__ = [
    "LINKS",
    "SourceRequest",
    "check_link",
    "check_link_columns",
    "sources_request",
]

#: The links of `sources_request`: the catalogue's own, or the positions mode's.
LINKS = ("measured", "best", "all")

#: The columns that link a row to its scan, by kind of `COLUMN_SYNONYMS`.
SCAN_KINDS = ("date", "hemisphere", "scan")


def check_link(link):
    """Validate ``link``.

    Parameters
    ----------
    link : str
        ``measured``, ``best`` or ``all`` (any case).

    Returns
    -------
    link : str
        Lower-case.
    """
    value = link.lower() if isinstance(link, str) else None
    if value not in LINKS:
        raise InvalidQueryError(f"link={link!r} must be one of {', '.join(LINKS)}")
    return value


@dataclass(frozen=True, eq=False)
class SourceRequest:
    """A validated table of catalogue sources (the sources mode).

    Attributes
    ----------
    positions : `~twomass_vo.inputs.PositionRequest`
        The sources' positions, cutout sizes and ids (``best`` is True for
        ``link="best"``).
    link : str
        ``measured``, ``best`` or ``all``.
    coadd_key : `numpy.ndarray` of int64
        ``link="measured"``: the row's image set, 0 where the row is linked
        by its scan (empty for the other links).
    ordate, hemisphere : `numpy.ndarray` of str
        ``link="measured"``: the row's scan date (``yymmdd``) and hemisphere,
        ``''`` where the row is linked by its key.
    scanno : `numpy.ndarray` of int64
        ``link="measured"``: the row's scan number, 0 where linked by key.
    table : `~astropy.table.Table`
        The input rows, as read (for the ``not_found`` table).
    """

    positions: PositionRequest
    link: str
    coadd_key: np.ndarray
    ordate: np.ndarray
    hemisphere: np.ndarray
    scanno: np.ndarray
    table: Table

    def __len__(self):
        return len(self.positions)


def _position_view(table):
    """Return the columns `positions_request` reads, under their own names."""
    names = [find_input_column(table, kind) for kind in ("ra", "dec")]
    if None in names:
        coords = [c for c in table.colnames if isinstance(table[c], SkyCoord)]
        if coords and names == [None, None]:
            names = coords[:1]
        else:
            kind = "ra" if names[0] is None else "dec"
            raise missing_column_error(table, kind, "source table")
    size = find_input_column(table, "size")
    if size is not None:
        names.append(size)
    return Table({name: table[name] for name in names}, copy=False)


def sources_request(source, *, link="measured", size=None):
    """Validate a table of catalogue sources (the sources mode).

    Parameters
    ----------
    source : `~astropy.table.Table`, pandas DataFrame, str or path
        The catalogue rows (see `~twomass_vo.inputs.tables.read_input_table`),
        with positions (``ra``/``dec`` or the other names in the module
        docstring, degrees or sexagesimal, or a SkyCoord column), an
        optional ``size`` (cutout, arcsec) and, for ``link="measured"``,
        ``coadd_key`` or ``xdate``/``hemis``/``scan`` columns.
    link : {'measured', 'best', 'all'}, optional
        ``measured``: link each row to the image that measured it (its
        ``coadd_key``; where that is missing or null, its scan); ``best`` /
        ``all``: the positions mode's best image or every image.
    size : float, `~astropy.units.Quantity` or None, optional
        Cutout size (arcsec if a number) for the rows without a ``size``.

    Returns
    -------
    request : `SourceRequest`
        One element per input row.

    Raises
    ------
    InputError
        For the first invalid value (naming row, column and value), a
        missing position column, or -- with ``link="measured"`` -- a table
        with neither a ``coadd_key`` column nor all three scan columns (the
        message names the missing ones), or a row with neither a key nor a
        scan.
    """
    link = check_link(link)
    table = read_input_table(source, name="source table")
    n = len(table)
    positions = positions_request(_position_view(table), best=link == "best", size=size)
    ids = row_ids(table, n, prefer="designation", fallback="source_key")
    positions = replace(positions, id=ids)
    if link != "measured":
        empty = np.zeros(0, np.int64)
        return SourceRequest(positions, link, empty, empty, empty, empty, table)
    keys = _coadd_keys(table)
    by_scan = np.flatnonzero(keys == 0)
    ordate = np.full(n, "", "U6")
    hemisphere = np.full(n, "", "U1")
    scanno = np.zeros(n, np.int64)
    if len(by_scan):
        names = _scan_names(table, keys)
        for out, check, kind in (
            (ordate, ordate_column, "date"),
            (hemisphere, hemisphere_column, "hemisphere"),
            (scanno, scan_column, "scan"),
        ):
            out[by_scan] = _on_rows(check, table[names[kind]], names[kind], by_scan)
    return SourceRequest(positions, link, keys, ordate, hemisphere, scanno, table)


def _coadd_keys(table):
    """Return the coadd_key of every row, 0 where there is none (or null)."""
    name = find_input_column(table, "coadd_key")
    if name is None:
        return np.zeros(len(table), np.int64)
    col = table[name]
    data, mask = column_values(col)
    if data.dtype.kind == "f":
        mask = mask | np.isnan(data)
    what = "coadd_key (a positive integer; empty or null: link by the scan)"
    values = column_ints(col, name, data, mask, what=what)
    bad = ~mask & (values <= 0)
    if bad.any():
        raise_first_bad(bad, col, name, f"is not a {what}")
    return np.where(mask, 0, values)


def check_link_columns(table):
    """Check that a table can be linked with ``link="measured"``.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The source table (its rows are not read: an empty table with the
        same columns will do).

    Raises
    ------
    InputError
        If the table has neither a ``coadd_key`` column nor all three scan
        columns; the message names those missing.
    """
    if find_input_column(table, "coadd_key") is None:
        _scan_names(table, None)


def _scan_names(table, keys):
    """Return the scan columns' names; an error naming those missing."""
    names = {kind: find_input_column(table, kind) for kind in SCAN_KINDS}
    missing = [kind for kind, name in names.items() if name is None]
    if not missing:
        return names
    shown = {"date": "xdate (or date)", "hemisphere": "hemis", "scan": "scan"}
    lacking = ", ".join(shown[kind] for kind in missing)
    key_name = find_input_column(table, "coadd_key")
    if key_name is not None and keys is not None:
        row = int(np.flatnonzero(keys == 0)[0])
        raise InputError(
            f"is missing, and the table has no {lacking} column(s) to link the "
            "row to its scan instead",
            row=row,
            column=key_name,
            value=None,
        )
    raise InputError(
        "are the table's columns: link='measured' needs a coadd_key column, or "
        f"the scan columns xdate (or date), hemis and scan; missing: {lacking} "
        "(and coadd_key). Use link='best' or link='all' to choose images by "
        "position alone",
        column="coadd_key",
        value=list(table.colnames),
    )


def _on_rows(check, col, name, rows):
    """``check(col[rows], name)``, its errors naming the rows of the table."""
    whole = len(rows) == len(col)
    try:
        return check(col if whole else col[rows], name)
    except InputError as exc:
        if whole or exc.row is None:
            raise
        raise InputError(
            exc.reason, row=int(rows[exc.row]), column=exc.column, value=exc.value
        ) from exc
