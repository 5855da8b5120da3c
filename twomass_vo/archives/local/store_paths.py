# Licensed under a 3-clause BSD style license - see LICENSE
"""Paths of a local file store, assembled as fixed-width ASCII codes.

``001022s/s062/image/ji0620186.fits``: every part has a fixed width, so a
million paths are assembled by copying byte columns, not by joining strings;
values outside that layout take the general (string) route, which gives the
same paths as always.
"""

import numpy as np

__all__ = ["codes_to_str", "join_codes", "relative_path_codes", "relative_paths"]


def _ascii_matrix(values, width):
    """``(n, width)`` uint8 codes of strings of exactly ``width`` ASCII characters.

    Returns None when some value is not such a string (the caller then takes
    the general route).
    """
    values = np.asarray(values)
    if values.dtype.kind == "U" and values.dtype.itemsize == 4 * width:
        codes = np.ascontiguousarray(values).view(np.uint32).reshape(-1, width)
        if not ((codes > 0) & (codes < 128)).all():
            return None
        return codes.astype(np.uint8)
    if values.dtype.kind == "S" and values.dtype.itemsize == width:
        codes = np.ascontiguousarray(values).view(np.uint8).reshape(-1, width)
        if not ((codes > 0) & (codes < 128)).all():
            return None
        return codes
    return None


_DIGIT_TABLES = {}


def _digits(values, width):
    """``(n, width)`` uint8 zero-padded decimal digits of ints in [0, 10**width)."""
    table = _DIGIT_TABLES.get(width)
    if table is None:
        numbers = np.arange(10**width, dtype=np.int64)
        powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        table = (numbers[:, None] // powers % 10 + ord("0")).astype(np.uint8)
        _DIGIT_TABLES[width] = table
    return table[np.asarray(values, np.int64)]


def relative_path_codes(ordate, hemisphere, scanno, image, band_code, image_type):
    """Store paths as ``(n, 33)`` (Atlas) or ``(n, 30)`` uint8 codes, or None.

    None when a value is outside the fixed-width layout (the general route of
    `relative_paths` then gives the same strings as always).
    """
    scanno = np.asarray(scanno)
    image = np.asarray(image)
    band_code = np.asarray(band_code)
    date = _ascii_matrix(ordate, 6)
    hem = _ascii_matrix(hemisphere, 1)
    if (
        date is None
        or hem is None
        or scanno.dtype.kind not in "iu"
        or image.dtype.kind not in "iu"
        or not (len(scanno) == len(image) == len(band_code) == len(date) == len(hem))
    ):
        return None
    if len(scanno) and not (
        scanno.min() >= 0
        and scanno.max() <= 999
        and image.min() >= 0
        and image.max() <= 9999
    ):
        return None
    folder, kind = (b"/image/", b"i") if image_type == "atlas" else (b"/ql/", b"q")
    scan3 = _digits(scanno, 3)
    pieces = [
        date,
        hem,
        b"/s",
        scan3,
        folder,
        np.frombuffer(b"jhk", np.uint8)[band_code][:, None],
        kind,
        scan3,
        _digits(image, 4),
        b".fits",
    ]
    return join_codes(len(scanno), pieces)


def join_codes(n, pieces):
    """Concatenate per-row uint8 code blocks and constant byte strings."""
    widths = [p.shape[1] if isinstance(p, np.ndarray) else len(p) for p in pieces]
    out = np.empty((n, sum(widths)), np.uint8)
    at = 0
    for piece, width in zip(pieces, widths, strict=True):
        if not isinstance(piece, np.ndarray):
            piece = np.frombuffer(piece, np.uint8)
        out[:, at : at + width] = piece
        at += width
    return out


def codes_to_str(codes):
    """``(n, w)`` ASCII codes (no NULs) as a ``U<w>`` array."""
    n, width = codes.shape
    return codes.astype(np.uint32).view(f"U{max(width, 1)}").reshape(n)


def relative_paths(ordate, hemisphere, scanno, image, band_code, image_type):
    """Relative file-store paths, vectorised.

    Parameters
    ----------
    ordate, hemisphere : ndarray of str
        ``yymmdd`` and ``n``/``s`` (str or ASCII bytes).
    scanno, image : ndarray of int
        Scan and image numbers.
    band_code : ndarray of int
        0, 1, 2 for J, H, K.
    image_type : {'atlas', 'quicklook'}
        Atlas files live in ``image/``, Quicklook files in ``ql/``.

    Returns
    -------
    paths : ndarray of str
        E.g. ``001022s/s062/image/ji0620186.fits``.
    """
    codes = relative_path_codes(
        ordate, hemisphere, scanno, image, band_code, image_type
    )
    if codes is not None:
        return codes_to_str(codes)
    add = np.char.add
    scan3 = np.char.zfill(np.asarray(scanno).astype("U3"), 3)
    image4 = np.char.zfill(np.asarray(image).astype("U4"), 4)
    band = np.array(["j", "h", "k"])[np.asarray(band_code)]
    folder, kind = ("/image/", "i") if image_type == "atlas" else ("/ql/", "q")
    head = add(
        add(
            add(np.asarray(ordate).astype("U6"), np.asarray(hemisphere).astype("U1")),
            "/s",
        ),
        scan3,
    )
    tail = add(add(add(add(band, kind), scan3), image4), ".fits")
    return add(add(head, folder), tail)
