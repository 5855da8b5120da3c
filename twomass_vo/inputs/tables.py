# Licensed under a 3-clause BSD style license - see LICENSE
"""Reading the input tables of the batch modes from files and file-like objects.

`read_input_table` reads IPAC ASCII tables (as on the service's help page), VOTable,
CSV, FITS, ECSV and other astropy-readable text tables, from a path, a
file-like object, a string holding the table text or an astropy
`~astropy.table.Table`.  The format follows the file name ending (compression
endings ``.gz``, ``.bz2`` and ``.xz`` are looked through) or the first bytes of
the file.  IPAC tables are read by an own reader that keeps every column as
text, so that values such as the date ``000804`` keep their leading zeros; the
numbers are parsed later, column by column (see ``twomass_vo.inputs.columns``).
A file is read whole, once (`~twomass_vo._files.local_files.read_regular`): only a
regular file (a FIFO or a device such as ``/dev/zero`` is refused, never
waited on or read for ever), at most ``twomass_vo.conf.max_input_size``
bytes, compressed or once decompressed (a ``.csv.gz`` bomb is stopped there).
"""

import io
import itertools
import os
import re
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.table import Column, MaskedColumn, Table

from .._files.local_files import read_regular
from ..exceptions import InputError, InvalidQueryError

__all__ = [
    "null_words",
    "read_input_table",
]


# File name endings -> table format.  Compression endings are looked through.
_EXTENSIONS = {
    ".tbl": "ipac",
    ".ipac": "ipac",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".csv": "csv",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".ecsv": "ecsv",
}
_COMPRESSION = (".gz", ".bz2", ".xz")
_FORMATS = ("ipac", "votable", "csv", "fits", "ecsv", "ascii")


# --------------------------------------------------------------------------
# Reading tables
# --------------------------------------------------------------------------


def read_input_table(source, *, name="table", format=None):
    r"""Read an input table of a batch mode.

    Parameters
    ----------
    source : `~astropy.table.Table`, str, `pathlib.Path` or other
        An astropy `~astropy.table.Table` or `~astropy.table.QTable` (copied:
        the caller's table is never changed), a numpy structured array, a
        dict of columns, a pandas DataFrame, or the path of a table file.
        The file format follows the file name: IPAC ASCII (``.tbl``,
        ``.ipac``), VOTable (``.xml``, ``.vot``, ``.votable``), CSV
        (``.csv``), FITS (``.fits``, ``.fit``, ``.fts``), ECSV (``.ecsv``);
        ``.gz``, ``.bz2`` and ``.xz`` endings are looked through.  For
        ``.txt`` and unknown endings the content decides: VOTable, FITS,
        ECSV, IPAC (a first line starting with ``|`` or ``\``), else any
        table astropy's ASCII reader can guess.
    name : str, optional
        What the table is, for error messages (``"positions table"``).
    format : str, optional
        Force a format: ``'ipac'``, ``'votable'``, ``'csv'``, ``'fits'``,
        ``'ecsv'`` or ``'ascii'`` (astropy's guessing ASCII reader).

    Returns
    -------
    table : `~astropy.table.Table`
        The table.  Columns of text tables (IPAC, CSV, other ASCII) are all
        str; empty values and the word ``null`` (any case), and an IPAC
        column's declared null value, are masked.

    Raises
    ------
    InputError
        If the file is missing, unreadable or cannot be parsed; the message
        names the file and the reason.
    InvalidQueryError
        If ``source`` is of an unsupported type, or ``format`` is unknown.

    Notes
    -----
    IPAC tables are read by a small reader of this module that follows the
    IPAC table format (https://irsa.ipac.caltech.edu/applications/DDGEN/Doc/
    ipac_tbl.html): keyword and comment lines starting with ``\``; one to
    four header lines starting with ``|`` (names, then optional types, units
    and null values), whose bars must line up; data rows whose values lie
    between the bars of their column.  As the format advises, readers are
    lenient where the meaning is unambiguous: a value that reaches under a
    bar belongs to the column it touches, and text past the last bar belongs
    to the last column.  A value that touches both neighbours of a bar, or
    stands alone under it, is an error.  Tabs are not allowed.
    """
    if isinstance(source, Table):
        return Table(source, copy=True)
    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source), name=name, format=format)
    is_pandas = type(source).__module__.split(".")[0] == "pandas"
    if (
        (isinstance(source, np.ndarray) and source.dtype.names)
        or isinstance(source, dict)
        or (is_pandas and hasattr(source, "columns"))
    ):
        try:
            if is_pandas:
                return Table.from_pandas(source)
            return Table(source, copy=True)
        except (TypeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise InputError(
                f"cannot be read as a {name}: a table needs columns of equal "
                f"length ({reason or type(exc).__name__})",
                value=source,
            ) from None
    raise InvalidQueryError(
        f"the {name} must be an astropy Table or the path of a table file, "
        f"not {type(source).__name__}"
    )


def _file_format(path, data):
    lower = path.name.lower()
    for ending in _COMPRESSION:
        if lower.endswith(ending):
            lower = lower[: -len(ending)]
            break
    suffix = os.path.splitext(lower)[1]
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    return _sniff_format(data[:4096])


def _sniff_format(head):
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or stripped[:200].lower().find("<votable") >= 0:
        return "votable"
    if text.startswith("# %ECSV"):
        return "ecsv"
    for line in text.splitlines():
        if line.strip():
            return "ipac" if line.startswith(("|", "\\")) else "ascii"
    return "ascii"


def _read_file(path, *, name, format):
    if format is not None and format not in _FORMATS:
        raise InvalidQueryError(
            f"unknown table format {format!r}; use one of {', '.join(_FORMATS)}"
        )
    from .. import conf

    shown = str(path)
    if not path.exists():
        raise InputError(f"cannot read the {name} {shown!r}: no such file", value=shown)
    if path.is_dir():
        raise InputError(
            f"cannot read the {name} {shown!r}: it is a directory", value=shown
        )
    try:
        data = read_regular(
            path,
            max_size=int(conf.max_input_size),
            decompress=True,
            limit="twomass_vo.conf.max_input_size",
        )
    except (OSError, ValueError) as exc:
        message = f"cannot read the {name} {shown!r}: {exc}"
        raise InputError(message, value=shown) from exc
    fmt = format or _file_format(path, data)
    try:
        if fmt == "ipac":
            table = _read_ipac(data)
        elif fmt in ("csv", "ascii"):
            from astropy.io import ascii as astropy_ascii

            converters = {"*": [astropy_ascii.convert_numpy(str)]}
            kwargs = {"format": "ascii.csv"} if fmt == "csv" else {"format": "ascii"}
            table = Table.read(
                io.BytesIO(data), converters=converters, fast_reader=False, **kwargs
            )
        else:
            table = Table.read(io.BytesIO(data), format=fmt)
    except InputError as exc:
        raise InputError(
            f"cannot read the {name} {shown!r} as an IPAC table: {exc}", value=shown
        ) from exc
    except Exception as exc:  # any reader failure is bad input
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = reason or type(exc).__name__
        raise InputError(
            f"cannot read the {name} {shown!r} as {fmt}: {reason}", value=shown
        ) from exc
    return Table(table, copy=False)


def _read_ipac(data):
    """Read an IPAC ASCII table with every column as str (see `read_input_table`)."""
    lines = data.decode("utf-8-sig").splitlines()

    keywords = {}
    header = []  # (line number, text)
    first_data = len(lines)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("\\"):
            match = re.match(r"\\(\S[^=]*?)\s*=\s*(.*)$", line)
            if match and not header:
                keywords[match.group(1)] = match.group(2).strip().strip("'\"")
            continue
        if line.startswith("|"):
            header.append((number, line.rstrip()))
            continue
        if not header:
            raise InputError(
                f"line {number + 1}: data before the header line of '|'-separated "
                "column names"
            )
        first_data = number
        break
    if not header:
        raise InputError("no header line of '|'-separated column names")
    if len(header) > 4:
        raise InputError(
            f"line {header[4][0] + 1}: more than 4 header lines (names, types, "
            "units, nulls)"
        )
    number, names_line = header[0]
    pipes = [i for i, c in enumerate(names_line) if c == "|"]
    if len(pipes) < 2 or not names_line.endswith("|"):
        raise InputError(f"line {number + 1}: a header line must end with '|'")
    for number, line in header:
        if "\t" in line:
            raise InputError(f"line {number + 1}: tabs are not allowed")
        if [i for i, c in enumerate(line) if c == "|"] != pipes:
            raise InputError(
                f"line {number + 1}: the '|' of this header line do not line up "
                "with those of the column names"
            )
    cells = [
        [line[a + 1 : b].strip() for a, b in itertools.pairwise(pipes)]
        for _, line in header
    ]
    names = cells[0]
    seen = set()
    for name in names:
        if not name:
            raise InputError(f"line {header[0][0] + 1}: a column has no name")
        if name.lower() in seen:
            raise InputError(f"line {header[0][0] + 1}: duplicate column name {name!r}")
        seen.add(name.lower())
    types = cells[1] if len(cells) > 1 else [""] * len(names)
    units = cells[2] if len(cells) > 2 else [""] * len(names)
    nulls = cells[3] if len(cells) > 3 else [""] * len(names)

    data_lines = [
        (number, line)
        for number, line in enumerate(lines[first_data:], start=first_data)
        if line.strip() and not line.startswith("\\")
    ]
    for number, line in data_lines:
        if line.startswith("|"):
            raise InputError(f"line {number + 1}: header line after the data")
    width = max([pipes[-1] + 2] + [len(line) for _, line in data_lines])
    n = len(data_lines)
    text = np.array([line for _, line in data_lines], dtype=f"U{width}")
    codes = text.view(np.uint32).reshape(n, width).copy()
    codes[codes == 0] = 32
    tabs = np.flatnonzero((codes == 9).any(axis=1))
    if tabs.size:
        raise InputError(f"line {data_lines[tabs[0]][0] + 1}: tabs are not allowed")
    filled = codes != 32

    # Which side does a character under each bar belong to?
    to_left = {}
    to_right = {pipes[0]: filled[:, pipes[0]]}
    for p in pipes[1:-1]:
        under, left, right = filled[:, p], filled[:, p - 1], filled[:, p + 1]
        bad = np.flatnonzero(under & (left == right))
        if bad.size:
            number, line = data_lines[bad[0]]
            raise InputError(
                f"line {number + 1}: the value at character {p + 1} lies under a "
                "'|' of the header and belongs to no single column; align the "
                "values between the bars"
            )
        to_left[p] = under & left
        to_right[p] = under & right

    columns = []
    bounds = list(itertools.pairwise(pipes))
    for j, (a, b) in enumerate(bounds):
        last = j == len(bounds) - 1
        stop = width if last else b + 1
        block = codes[:, a:stop].copy()
        block[:, 0] = np.where(to_right[a], block[:, 0], 32)
        if not last:
            block[:, -1] = np.where(to_left[b], block[:, -1], 32)
        values = np.char.strip(
            np.ascontiguousarray(block).view(f"U{stop - a}").reshape(n)
        )
        if n == 0:
            values = np.zeros(0, dtype="U1")
        mask = null_words(values)
        if nulls[j]:
            mask |= values == nulls[j]
        meta = {"ipac_type": types[j]} if types[j] else {}
        try:
            unit = u.Unit(units[j], parse_strict="silent") if units[j] else None
        except (ValueError, TypeError):  # a unit line is informative only
            unit = None
        cls = MaskedColumn if mask.any() else Column
        kwargs = {"mask": mask} if mask.any() else {}
        columns.append(cls(values, name=names[j], unit=unit, meta=meta, **kwargs))
    table = Table(columns, copy=False)
    if keywords:
        table.meta["keywords"] = keywords
    return table


def null_words(s):
    """Vectorised: True where a stripped 'U' string is empty or ``null``."""
    null = s == ""
    four = np.flatnonzero(np.char.str_len(s) == 4)
    if four.size:
        null[four] = np.char.lower(s[four]) == "null"
    return null
