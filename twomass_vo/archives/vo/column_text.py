# Licensed under a 3-clause BSD style license - see LICENSE
"""Columns of a service's answer read as text, numbers and band codes.

A VOTable column may hold bytes, str, objects or numbers, masked or not:
`as_text` and `as_numbers` give plain str and number arrays (masked values
``''`` or a fill value), `ordate_text` a date column as ``yymmdd`` text,
`band_codes` band names as 0, 1, 2 (J, H, Ks); `zfill` pads number text.
"""

import contextlib

import numpy as np

__all__ = [
    "as_numbers",
    "as_text",
    "band_codes",
    "ordate_text",
    "zfill",
]


def zfill(values, width):
    """`numpy.char.zfill` that also takes empty arrays."""
    values = np.asarray(values)
    return np.char.zfill(values, width) if values.size else values.astype(str)


def as_text(values):
    """Return a column as a str array: bytes decoded, masked values as ''."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = None
        data = np.asarray(values)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "ascii", errors="replace")
    elif data.dtype.kind == "O":
        nulls = np.equal(data, None) if len(data) else np.zeros(0, bool)
        if nulls.any():
            data = np.where(nulls, "", data)
        if len(data) and isinstance(data[0], (bytes, np.bytes_)):
            data = np.char.decode(data.astype(bytes), "ascii", errors="replace")
        else:
            data = data.astype(str)
    data = np.char.strip(data.astype(str))
    if mask is not None and mask.any():
        data = np.where(mask, "", data)
    return data


def as_numbers(values, dtype, fill):
    """Return a column as numbers, masked, NaN or unparsable values as ``fill``.

    For an integer ``dtype``, a value that is not an integer, or is beyond
    +-2**62, is unparsable too (never truncated, never wrapped). For a float
    ``dtype``, an infinity is kept (for the caller to refuse).
    """
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = np.zeros(len(values), bool)
        data = np.asarray(values)
    if data.dtype.kind in "biuf":
        out = data.astype(np.float64)
    else:
        text = as_text(data)
        out = np.full(len(text), np.nan)
        for i, t in enumerate(text):  # string fallback only
            with contextlib.suppress(ValueError):
                out[i] = float(t)
    bad = mask | np.isnan(out)  # an infinity stays: it is a bad value, not a null
    if np.dtype(dtype).kind in "iu":
        if data.dtype.kind in "iu":  # exact: no detour through float64
            exact = data.astype(np.int64)
            bad |= (exact < -(2**62)) | (exact > 2**62)
            exact[bad] = fill
            return exact.astype(dtype)
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(out) | (np.abs(out) > 2**62) | (out != np.round(out))
    out[bad] = fill
    return out.astype(dtype)


def ordate_text(column):
    """Return a date column as ``yymmdd`` text.

    A text column is taken as it is
    (`~twomass_vo.archives.vo.answer_values.check_file_rows` then wants
    exactly six digits: ``19991106`` is not cut, ``1106`` is not padded); an
    integer column, which has lost its leading zeros (``001106`` -> 1106), is
    padded to six digits. Masked values are ``''``.
    """
    data = np.ma.getdata(column) if isinstance(column, np.ma.MaskedArray) else column
    data = np.asarray(data)
    if data.dtype.kind not in "iu":
        return as_text(column)
    text = zfill(data.astype(np.int64).astype(str), 6)
    text = np.where((data < 0) | (data > 999_999), data.astype(str), text)
    if isinstance(column, np.ma.MaskedArray):
        text = np.where(np.ma.getmaskarray(column), "", text)
    return text


def band_codes(values):
    """Band codes (0, 1, 2 for J, H, Ks) of band names, -1 where unknown.

    Parameters
    ----------
    values : array-like of str
        Band names as services write them: ``J``, ``H``, ``K``, ``Ks``,
        ``j``, ``2MASS J``, ``2MASS KS``, ...

    Returns
    -------
    codes : ndarray of int64
        0, 1, 2, or -1 for an unknown name.
    """
    text = np.char.upper(as_text(np.asarray(values)))
    text = np.char.strip(np.char.replace(text, "2MASS", ""))
    text = np.char.strip(np.char.replace(text, "_", ""))
    codes = np.full(len(text), -1, np.int64)
    for code, names in enumerate((("J",), ("H",), ("K", "KS"))):
        codes[np.isin(text, names)] = code
    return codes
