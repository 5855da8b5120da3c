# Licensed under a 3-clause BSD style license - see LICENSE
"""Validation of the coadd_key mode's input: lists and tables of ``coadd_key`` values.

`coadd_keys_request` turns integers, a table with a ``coadd_key`` column or a
file into a `~twomass_vo.inputs.KeyRequest`.
"""

import numbers
import os
from pathlib import Path

import numpy as np
from astropy.table import Table

from ..exceptions import InputError, InvalidQueryError
from .columns import (
    column_ints,
    column_values,
    find_input_column,
    missing_column_error,
    raise_first_bad,
    row_bands,
    row_ids,
)
from .requests import KeyRequest
from .tables import read_input_table
from .values import parse_band

__all__ = [
    "coadd_keys_request",
]


# --------------------------------------------------------------------------
# coadd_key lists
# --------------------------------------------------------------------------


def coadd_keys_request(keys, *, band="all"):
    """Validate a list of ``coadd_key`` values (the coadd_key mode).

    Parameters
    ----------
    keys : `~astropy.table.Table`, str, `pathlib.Path`, int or sequence of int
        A table (or table file, see `~twomass_vo.inputs.tables.read_input_table`)
        with a ``coadd_key`` column and optional ``band`` (j/h/k/a per row;
        also ``filter``) and ``id`` columns; or the keys themselves: one
        integer or a sequence or array of integers.  A str is the path of a
        file, unless no such file exists and the str is an integer (``"1590591"``).
    band : str, optional
        ``'J'``, ``'H'``, ``'Ks'`` (``'K'``) or ``'all'``: the bands of the
        rows without a ``band`` value.

    Returns
    -------
    request : `KeyRequest`
        One element per input row (duplicates are kept).

    Raises
    ------
    InputError
        For the first invalid value (naming row, column and value), for a
        missing ``coadd_key`` column, or for an unreadable file; for a bad
        ``band`` argument (an `~twomass_vo.exceptions.InvalidQueryError`).

    Notes
    -----
    A key is a positive integer: an integer column, digits in a text column,
    or an integral value of a float column.  ``'12a'``, ``1.5``, empty, null
    and values <= 0 are errors.
    """
    default = parse_band(band, column="band")
    what = "coadd_key (a positive integer)"

    if isinstance(keys, str) and not Path(keys).exists():
        text = keys.strip()
        if text.isascii() and text.isdigit():
            keys = int(text)
        elif text.lstrip("+-").isnumeric():  # '-5', or not ASCII digits: '²'
            raise InputError(
                f"is not a {what} written in the digits 0-9",
                column="keys",
                value=keys,
            )
    if isinstance(keys, (numbers.Integral, np.integer)) and not isinstance(
        keys, (bool, np.bool_)
    ):
        value = int(keys)
        if value <= 0:
            raise InputError(f"is not a {what}", column="keys", value=keys)
        if value > np.iinfo(np.int64).max:
            raise InputError(f"is too large for a {what}", column="keys", value=keys)
        return KeyRequest(
            coadd_key=np.array([value], dtype=np.int64),
            bands=np.array([default], dtype="U3"),
            id=np.array([""]),
            scntr=np.zeros(1, dtype=np.int64),
        )
    is_table = isinstance(keys, (Table, str, os.PathLike, dict)) or (
        isinstance(keys, np.ndarray) and keys.dtype.names
    )
    if is_table or type(keys).__module__.split(".")[0] == "pandas":
        table = read_input_table(keys, name="coadd_key table")
        name = find_input_column(table, "coadd_key")
        if name is None:
            raise missing_column_error(table, "coadd_key", "coadd_key table")
        col = table[name]
        bands = row_bands(table, default)
        ids = row_ids(table, len(table))
    else:
        if isinstance(keys, (numbers.Number, bytes)) or np.ndim(keys) == 0:
            raise InputError(f"is not a {what}", column="keys", value=keys)
        try:
            col = keys if isinstance(keys, np.ndarray) else np.asarray(keys)
        except (ValueError, TypeError) as exc:
            raise InvalidQueryError(
                f"keys must be integers or a table, not {keys!r}"
            ) from exc
        if col.ndim != 1:
            raise InvalidQueryError(
                f"keys must be a flat sequence of integers, not shape {col.shape}"
            )
        name = "keys"
        bands = np.full(len(col), default, dtype="U3")
        ids = np.full(len(col), "", dtype="U1")
    data, mask = column_values(col)
    values = column_ints(col, name, data, mask, what=what)
    bad = mask | (values <= 0)
    if bad.any():
        raise_first_bad(bad, col, name, f"is not a {what}")
    n = len(values)
    return KeyRequest(
        coadd_key=values,
        bands=bands,
        id=ids,
        scntr=np.arange(n, dtype=np.int64),
    )
