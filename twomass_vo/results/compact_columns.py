# Licensed under a 3-clause BSD style license - see LICENSE
"""Compact storage of the result table's columns, filled chunk by chunk.

A million positions make a table of three million rows. `ChunkedColumns`
writes each chunk of rows into preallocated arrays, stores ASCII strings as
bytes (astropy hands them out as `str`), and keeps a column whose every chunk
repeats one value as that value broadcast to all rows (a read-only view that
costs no memory per row).
"""

import numpy as np

__all__ = ["BYTES_COLUMNS", "CONSTANT_COLUMNS", "ChunkedColumns", "ascii_bytes"]

#: String columns stored as ASCII bytes when every value is ASCII: a quarter
#: of the memory of unicode, and astropy hands their elements out as str all
#: the same (``table[0]["band"]`` is ``'J'``).
BYTES_COLUMNS = (
    "ordate",
    "hemisphere",
    "band",
    "s_region",
    "access_url",
    "access_format",
    "cutout_url",
)

#: Columns whose value is usually the same on every row: stored as one value
#: broadcast to all rows (a read-only view, no memory per row) when it is.
CONSTANT_COLUMNS = ("access_format", "access_estsize", "cutout_url")


def ascii_bytes(values):
    """Return unicode values as ASCII bytes (same strings), by a cast.

    Parameters
    ----------
    values : `~numpy.ndarray`
        Strings (bytes are returned as they are).

    Returns
    -------
    values : `~numpy.ndarray`
        ``S`` dtype of the same width.

    Raises
    ------
    UnicodeEncodeError
        For non-ASCII values, as `numpy.char.encode` does.
    """
    if values.dtype.kind != "U":
        return values
    width = values.dtype.itemsize // 4
    codes = np.ascontiguousarray(values).view(np.uint32)
    if codes.size and codes.max() >= 128:
        return np.char.encode(values, "ascii")  # raises, naming the value
    return codes.astype(np.uint8).view(f"S{max(width, 1)}").reshape(values.shape)


class ChunkedColumns:
    """Output columns of a table, written chunk by chunk into preallocated arrays.

    String columns widen if a later chunk holds longer strings; columns in
    `CONSTANT_COLUMNS` stay one broadcast value while every chunk repeats it.

    Parameters
    ----------
    n : int
        Number of rows of the table.
    """

    def __init__(self, n):
        self.n = n
        self.data = {}
        self.constant = {}

    def put(self, name, values, start):
        """Write the rows ``[start, start + len(values))`` of column ``name``.

        Parameters
        ----------
        name : str
            Column name.
        values : array-like
            The chunk's values.
        start : int
            First row of the chunk (chunks come in order, from 0).
        """
        values = np.asarray(values)
        if name in BYTES_COLUMNS:
            values = ascii_bytes(values)
        if name in CONSTANT_COLUMNS and name not in self.data and len(values):
            first = values[:1]
            if name not in self.constant and start == 0:
                self.constant[name] = first.copy()
            known = self.constant.get(name)
            if (
                known is not None
                and known.dtype == values.dtype
                and (
                    values[0] == known[0]
                    if values.strides == (0,)  # a view of one value
                    else (values == known[0]).all()
                )
            ):
                return
            self._materialize(name, start)
        column = self.data.get(name)
        if column is None or (
            values.dtype.kind in "US" and values.itemsize > column.itemsize
        ):
            wider = np.empty(self.n, dtype=values.dtype)
            if column is not None:
                wider[:start] = column[:start]
            self.data[name] = column = wider
        column[start : start + len(values)] = values

    def _materialize(self, name, start):
        known = self.constant.pop(name, None)
        if known is not None:
            self.data[name] = column = np.empty(self.n, dtype=known.dtype)
            column[:start] = known[0]

    def result(self):
        """Return the columns.

        Returns
        -------
        columns : dict of `~numpy.ndarray`
            Name to array (one-value columns as read-only broadcast views).
        """
        out = dict(self.data)
        for name, known in self.constant.items():
            out[name] = np.broadcast_to(known[0], (self.n,))
        return out
