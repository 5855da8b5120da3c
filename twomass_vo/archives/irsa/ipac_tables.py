# Licensed under a 3-clause BSD style license - see LICENSE
r"""IPAC tables answered by a service (IBE), read strictly and in linear time.

IBE answers fixed-width IPAC tables
(https://irsa.ipac.caltech.edu/applications/DDGEN/Doc/ipac_tbl.html):
``\`` keyword lines, then one to four header lines (names, types, units,
nulls) whose ``|`` line up, then one row per line, each value between the
bars of its column and a blank under every bar. `parse_ipac` reads exactly
that, and nothing else, since an answer is not trusted:

* the whole answer in a few vectorised passes (time in proportion to its
  size; the table is made once, not a column at a time), at most
  `MAX_COLUMNS` columns (counted before any is made);
* header and data lines of printable ASCII only (a NUL, a tab, a control or
  non-ASCII character is an error naming its row and column);
* a row longer than the header, or with a character under a bar, is "out of
  line": an error naming the row (no guess of where its values belong);
* column names unique in any case (``ordate`` and ``ORDATE`` is an error);
* numbers typed by the header: ``int`` / ``long`` columns whose values are
  all plain ASCII integers (an optional sign, at most 18 digits) become
  int64, ``double`` / ``float`` ones float64; a column with another value is
  kept as text, as sent, for the caller's checks to name the value
  (`integer_text`).

`require_columns` then checks that the columns a request asked for are
there, before any row is read: an answer with the wrong columns -- an empty
one included -- is an error. Every error is an
`~twomass_vo.exceptions.ArchiveError` naming the URL.
"""

import re

import numpy as np

from ...exceptions import ArchiveError

__all__ = [
    "MAX_COLUMNS",
    "answer_text",
    "integer_text",
    "parse_ipac",
    "require_columns",
]

#: Most columns an IPAC answer may have (IBE's 2MASS table has about 50).
MAX_COLUMNS = 1000

_INTS = ("int", "long", "i", "l")
_FLOATS = ("double", "float", "real", "d", "f", "r")
_BLANK = ord(" ")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def _error(url, what):
    return ArchiveError(f"IBE answer from {url} is not a valid IPAC table: {what}")


def answer_text(body):
    """Return an answer's body as text: UTF-8 if it is, else one character a byte.

    Parameters
    ----------
    body : bytes or str
        The body (a str is returned as it is).
    """
    if not isinstance(body, bytes):
        return str(body)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def integer_text(values):
    """Which text values are plain integers: ``[+-]digits``, ASCII, at most 18 digits.

    Parameters
    ----------
    values : ndarray of str or bytes
        Stripped values.

    Returns
    -------
    ok : ndarray of bool
        Where ``values.astype(np.int64)`` is exact (no ``_``, no blank, no
        exponent, no Unicode digit, no overflow).
    """
    values = np.asarray(values)
    if values.dtype.kind != "S":  # text read otherwise: the ASCII ones only
        text = [str(v) for v in values.tolist()]
        values = np.array([v if v.isascii() else "x" for v in text], "S")
    body = np.char.lstrip(values, b"+-")
    signs = np.char.str_len(values) - np.char.str_len(body)
    return (signs <= 1) & np.char.isdigit(body) & (np.char.str_len(body) <= 18)


def parse_ipac(answer, url, *, max_columns=MAX_COLUMNS):
    """Read an IPAC table answered by a service, strictly (see the module).

    Parameters
    ----------
    answer : bytes or str
        The answer's body.
    url : str
        Where it came from (for messages).
    max_columns : int, optional
        Most columns accepted.

    Returns
    -------
    table : `~astropy.table.Table`
        One column per header column: int64, float64 (masked where null) or
        str.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        If the answer is not such a table, naming the row, the column and the
        character or value at fault.
    """
    text = answer_text(answer)  # UTF-8 if it is: an error names its character
    # lines end at LF (CRLF) only: another separator is a bad character
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    i = 0
    while i < len(lines) and (lines[i].startswith("\\") or not lines[i].strip()):
        i += 1
    if i == len(lines) or not lines[i].startswith("|"):
        shown = " ".join(text.split())[:200]
        raise ArchiveError(f"IBE answer from {url} is not an IPAC table: {shown!r}")
    bars_count = lines[i].count("|")
    if bars_count - 1 > max_columns:
        raise _error(url, f"{bars_count - 1} columns, more than {max_columns}")
    header = []
    while i < len(lines) and lines[i].startswith("|"):
        header.append(lines[i].rstrip())
        i += 1
    if len(header) > 4:
        raise _error(url, f"{len(header)} header lines (at most 4)")
    bars = [k for k, c in enumerate(header[0]) if c == "|"]
    if len(bars) < 2 or bars[-1] != len(header[0]) - 1:
        raise _error(url, "the header line does not end with '|'")
    width = bars[-1] + 1
    for number, line in enumerate(header):
        if len(line) != width or [k for k, c in enumerate(line) if c == "|"] != bars:
            raise _error(url, f"the '|' of header line {number + 1} do not line up")
    for number, line in enumerate(header):
        if found := _NOT_PRINTABLE.search(line):
            raise _error(
                url, f"header line {number + 1} has the character {found[0]!a}"
            )
    data = [line for line in lines[i:] if line.strip()]
    raw = _data_block(data, header[0], bars, url)
    heads = np.frombuffer("".join(header).encode("ascii"), np.uint8)
    return _columns(heads.reshape(len(header), width), raw, bars, url)


def _data_block(data, names, bars, url):
    """Return the rows as a ``(rows, width)`` uint8 array, blank-padded, checked."""
    width = bars[-1] + 1
    for row, line in enumerate(data):
        if found := _NOT_PRINTABLE.search(line):
            k = min(int(np.searchsorted(bars, found.start())), len(bars) - 1)
            name = names[bars[k - 1] + 1 : bars[k]].strip() if k else ""
            raise _error(
                url,
                f"row {row}, column {name!r}: the character {found[0]!a} is not "
                "printable ASCII",
            )
        if len(line.rstrip(" ")) > width:
            raise _error(url, f"row {row} is longer than the header: out of line")
        if line.startswith(("|", "\\")):
            raise _error(url, f"row {row} is a header or keyword line among the rows")
    block = "".join(line.ljust(width)[:width] for line in data)
    return np.frombuffer(block.encode("ascii"), np.uint8).reshape(len(data), width)


def _first(mask):
    """Return (row, position) of the first True of a 2-d mask."""
    row, position = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return int(row), int(position)


def _columns(heads, raw, bars, url):
    from astropy.table import MaskedColumn, Table

    under = raw[:, bars] != _BLANK
    if under.any():
        row, _ = _first(under)
        raise _error(
            url, f"row {row} has a value under a '|' of the header: out of line"
        )

    def cells(block, k):
        a, b = bars[k] + 1, bars[k + 1]
        view = np.ascontiguousarray(block[:, a:b]).view(f"S{b - a}")
        return np.char.strip(view.reshape(len(block)))

    names, seen, columns = [], {}, []
    for k in range(len(bars) - 1):
        heading = [cell.decode("ascii") for cell in cells(heads, k).tolist()]
        name = heading[0]
        if not name:
            raise _error(url, f"column {k + 1} has no name")
        if name.lower() in seen:
            raise _error(
                url,
                f"the column names {seen[name.lower()]!r} and {name!r} are the "
                "same in any case",
            )
        seen[name.lower()] = name
        kind = heading[1].lower() if len(heading) > 1 else "char"
        null = heading[3] if len(heading) > 3 else "null"
        values = cells(raw, k)
        mask = (values == null.encode()) | (values == b"")
        column = _typed(values, mask, kind)
        names.append(name)
        columns.append(MaskedColumn(column, mask=mask) if mask.any() else column)
    return Table(columns, names=names, copy=False)


def _typed(values, mask, kind):
    """Return a column's values as int64, float64 or str, as its header says.

    A value that is not a plain number keeps its column text, as sent, for
    the caller's checks to name it (an integer column: not `integer_text`; a
    floating-point one: not a number, or with a ``_``, which Python reads).
    """
    filled = np.where(mask, b"0", values)
    if kind in _INTS and integer_text(filled).all():
        return filled.astype(np.int64)
    if kind in _FLOATS and not (np.char.find(filled, b"_") >= 0).any():
        try:
            return filled.astype(np.float64)
        except ValueError:
            pass
    return np.char.decode(values, "ascii")


def require_columns(table, url, names):
    """Check that an answer has every column of ``names`` (any case), before its rows.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The answer (`parse_ipac`).
    url : str
        Where it came from.
    names : iterable of str
        The columns the request asked for.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        Naming the columns missing and those the answer has (an answer of
        another table, an empty one included, is not taken for "no rows").
    """
    have = {name.lower() for name in table.colnames}
    missing = [name for name in names if name.lower() not in have]
    if missing:
        raise ArchiveError(
            f"IBE answer from {url} lacks the column(s) {', '.join(missing)} "
            f"(columns: {', '.join(table.colnames)[:500]})"
        )
