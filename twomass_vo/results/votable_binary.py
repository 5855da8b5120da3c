# Licensed under a 3-clause BSD style license - see LICENSE
"""A VOTable's BINARY2 stream written with numpy, whole columns at a time.

astropy writes a VOTable's data row by row and cell by cell in Python, in
TABLEDATA as in BINARY2: 300,000 result rows take about ten times as long as
the same table written as FITS. A BINARY2 stream of fixed-size fields is a
sequence of records of one layout -- the null flags (one bit per field, the
first field in the most significant bit), then each field big-endian -- so
that numpy writes a block of rows with one assignment per column, and
``base64.encodebytes`` encodes it: `write_binary2` does that, block by block
(bounded memory), inside the document astropy writes for the same table
without its rows (every FIELD, PARAM, INFO and DESCRIPTION as astropy
writes them).

`binary2_layout` tells whether a table's fields can be written this way:
numbers, booleans, and fixed-width ``char`` / ``unicodeChar`` strings (the
columns of an `~twomass_vo.ImageTable`). Boolean columns are declared
``boolean`` (one byte, ``T``/``F``), not ``bit``, whose single-bit byte
astropy and the VOTable standard place differently.
"""

import base64
import io

import numpy as np

__all__ = ["BLOCK_ROWS", "binary2_layout", "split_document", "write_binary2"]

#: Rows written per block: a multiple of 3, so that every block but the
#: last is a whole number of base64 quanta whatever the record size.
BLOCK_ROWS = 3 * (1 << 14)

#: VOTable numeric datatype -> big-endian numpy type.
_NUMBERS = {
    "unsignedByte": "u1",
    "short": ">i2",
    "int": ">i4",
    "long": ">i8",
    "float": ">f4",
    "double": ">f8",
}


def _fixed_length(arraysize):
    """Return the fixed length of a one-dimensional array field, or None."""
    if arraysize is None or not str(arraysize).isdigit():
        return None
    return int(arraysize)


def binary2_layout(fields, table):
    """Return the record layout of a table's BINARY2 rows, or None.

    Parameters
    ----------
    fields : list of `astropy.io.votable.tree.Field`
        The table's FIELDs, in column order (their ``datatype`` of a
        boolean column is set to ``boolean``).
    table : `~astropy.table.Table`
        The rows.

    Returns
    -------
    layout : list of (str, `numpy.dtype`) or None
        One numpy type per field (after the null flags), or None if a field
        is not of fixed size (variable-length or multidimensional arrays,
        complex numbers) or a string has characters outside the Basic
        Multilingual Plane: astropy's writer then writes the table.
    """
    layout = []
    for field, name in zip(fields, table.colnames, strict=True):
        column = table[name]
        if column.ndim != 1:
            return None
        datatype = field.datatype
        if column.dtype.kind == "b" and datatype in ("bit", "boolean"):
            field.datatype = "boolean"
            layout.append((name, np.dtype("S1")))
        elif datatype in _NUMBERS and field.arraysize is None:
            layout.append((name, np.dtype(_NUMBERS[datatype])))
        elif datatype == "char" and _fixed_length(field.arraysize):
            if column.dtype.kind == "U" and not _is_ascii(column):
                return None
            layout.append((name, np.dtype(f"S{_fixed_length(field.arraysize)}")))
        elif datatype == "unicodeChar" and _fixed_length(field.arraysize):
            if column.dtype.kind == "U" and np.asarray(column).size:
                codes = np.ascontiguousarray(column, dtype="U").view(np.uint32)
                if codes.size and codes.max() > 0xFFFF:
                    return None
            layout.append((name, np.dtype((">u2", _fixed_length(field.arraysize)))))
        else:
            return None
    return layout


def _is_ascii(column):
    codes = np.ascontiguousarray(column, dtype="U").view(np.uint32)
    return not codes.size or codes.max() < 0x80


def _fill(records, name, kind, column):
    """Put one column's values (a block of rows) into the records."""
    data = np.ma.getdata(column)
    if kind.kind == "S" and kind.itemsize == 1 and data.dtype.kind == "b":
        records[name] = np.where(data, b"T", b"F")
    elif kind.kind == "S":
        records[name] = (
            data if data.dtype.kind == "S" else np.char.encode(data, "ascii")
        )
    elif kind.subdtype is not None:  # unicodeChar: UCS-2, padded with zeros
        width = kind.shape[0]
        codes = np.zeros((len(data), width), dtype=np.uint32)
        if data.size:
            text = np.ascontiguousarray(data, dtype=f"U{width}")
            codes[:] = text.view(np.uint32).reshape(len(data), width)
        records[name] = codes
    else:
        records[name] = data


def write_binary2(fh, header, footer, table, layout):
    """Write a VOTable: ``header``, the BINARY2 stream of ``table``, ``footer``.

    Parameters
    ----------
    fh : binary file object
        Where to write.
    header, footer : bytes
        The document astropy writes for the table without rows, split where
        its ``DATA`` element goes (before ``</TABLE>``).
    table : `~astropy.table.Table`
        The rows.
    layout : list of (str, `numpy.dtype`)
        From `binary2_layout`.
    """
    names = [name for name, _ in layout]
    flag_bytes = (len(names) + 7) // 8
    record = np.dtype([("__flags__", "u1", (flag_bytes,)), *layout])  # packed
    masked = [name for name in names if np.ma.is_masked(table[name])]
    fh.write(header)
    fh.write(b'<DATA>\n<BINARY2>\n<STREAM encoding="base64">\n')
    for start in range(0, len(table), BLOCK_ROWS):
        block = table[start : start + BLOCK_ROWS]
        records = np.zeros(len(block), dtype=record)
        for name, kind in layout:
            _fill(records, name, kind, block[name])
        if masked:
            flags = np.zeros((len(block), len(names)), dtype=bool)
            for i, name in enumerate(names):
                flags[:, i] = np.ma.getmaskarray(block[name])
            records["__flags__"] = np.packbits(flags, axis=1)
        fh.write(base64.encodebytes(records.tobytes()))
    fh.write(b"</STREAM>\n</BINARY2>\n</DATA>\n")
    fh.write(footer)


def split_document(votable):
    """Return astropy's document of a rowless VOTable, split before ``</TABLE>``.

    Parameters
    ----------
    votable : `astropy.io.votable.tree.VOTableFile`
        One table, without rows (and without INFO elements of its own,
        which would follow its DATA).

    Returns
    -------
    header, footer : bytes
        The document before and from the line of ``</TABLE>``.
    """
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    text = buffer.getvalue()
    at = text.rindex(b"</TABLE>")
    at = text.rindex(b"\n", 0, at) + 1  # the line of </TABLE>, indentation and all
    return text[:at], text[at:]
