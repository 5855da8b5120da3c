# Licensed under a 3-clause BSD style license - see LICENSE
"""STC-S ``s_region`` strings of image footprints: parsing and formatting.

`parse_s_region` reads ``POLYGON [frame] ra1 dec1 ... ra4 dec4`` values
(a vectorised path for uniform columns, a checked one for the rest);
`format_s_region` writes them, fast, from corner vectors.
"""

import contextlib

import numpy as np

from ..exceptions import InputError
from .unit_vectors import (
    as_corner_arrays,
    radec_to_xyz,
    xyz_to_radec,
)

__all__ = [
    "format_s_region",
    "parse_s_region",
]

#: Frame tokens accepted in an STC-S ``POLYGON`` (upper case).
_FRAMES = ("ICRS", "J2000", "FK5", "UNKNOWNFRAME")


_S_REGION_WHY = (
    "is not an STC-S 'POLYGON [frame] ra1 dec1 ... ra4 dec4' of 4 vertices "
    "(frame ICRS, J2000, FK5 or UNKNOWNFrame; |dec| <= 90)"
)


def _s_region_xyz(keyword, frame, nums):
    """Validate parsed tokens; return (corners (n, 4, 3), bad row mask)."""
    ok = _token_in(keyword, ("POLYGON",))
    if frame is not None:
        ok &= _token_in(frame, _FRAMES)
    ra = nums[:, 0::2]
    dec = nums[:, 1::2]
    ok &= np.isfinite(nums).all(axis=1) & (np.abs(dec) <= 90.0).all(axis=1)
    xyz = radec_to_xyz(ra, dec)
    if xyz.shape[1] == 5:
        # the closing vertex repeats the first one
        ok &= np.linalg.norm(xyz[:, 4] - xyz[:, 0], axis=-1) <= 1e-8
        xyz = xyz[:, :4]
    return xyz, ~ok


def _token_in(tokens, allowed):
    """Case-insensitive membership of string tokens in upper-case ``allowed``."""
    ok = np.isin(tokens, allowed)
    if not ok.all():
        ok[~ok] = np.isin(np.strings.upper(tokens[~ok]), allowed)
    return ok


def _s_region_dtype(ntok):
    """Structured dtype of a ``POLYGON`` line of ``ntok`` tokens, for loadtxt."""
    fields = [("keyword", "U32")]
    if ntok in (10, 12):
        fields.append(("frame", "U32"))
    fields.append(("nums", "f8", (ntok - len(fields),)))
    return np.dtype(fields)


def _parse_uniform(values, ntok):
    """Parse lines of ``ntok`` tokens with numpy's C reader; None on failure."""
    try:
        arr = np.loadtxt(values, dtype=_s_region_dtype(ntok), comments=None, ndmin=1)
    except ValueError:
        return None
    frame = arr["frame"] if "frame" in arr.dtype.names else None
    return _s_region_xyz(arr["keyword"], frame, arr["nums"])


def _parse_s_region_fast(values):
    """Parse uniform, well-formed lines at C speed, or return None."""
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1 or "\r" in joined:
        return None
    ntok = len(values[0].split())
    if ntok not in (9, 10, 11, 12):
        return None
    return _parse_uniform(values, ntok)


def _parse_tokens(tokens, ntok):
    """Parse token lists row by row (slow; for malformed input only)."""
    start = 2 if ntok in (10, 12) else 1
    nums = np.full((len(tokens), ntok - start), np.nan)
    for i, row in enumerate(tokens):
        with contextlib.suppress(ValueError):
            nums[i] = [float(t) for t in row[start:]]
    keyword = np.array([row[0] for row in tokens], dtype=str)
    frame = np.array([row[1] for row in tokens], dtype=str) if start == 2 else None
    return _s_region_xyz(keyword, frame, nums)


def _parse_s_region_slow(values):
    """Parse any mixture of forms (and find bad rows), grouped by token count."""
    n = len(values)
    out = np.full((n, 4, 3), np.nan)
    bad = np.zeros(n, dtype=bool)
    tokens = [v.split() if isinstance(v, str) else None for v in values]
    lengths = np.fromiter(
        (len(t) if t is not None else -1 for t in tokens), dtype=np.int64, count=n
    )
    for ntok in np.unique(lengths).tolist():
        idx = np.flatnonzero(lengths == ntok)
        if ntok not in (9, 10, 11, 12):
            bad[idx] = True
            continue
        group = [values[i] for i in idx]
        parsed = None
        if all("\n" not in v and "\r" not in v for v in group):
            parsed = _parse_uniform(group, ntok)
        if parsed is None:
            parsed = _parse_tokens([tokens[i] for i in idx], ntok)
        out[idx], bad[idx] = parsed
    return out, bad


def parse_s_region(values):
    """Parse STC-S ``POLYGON`` strings of 4 vertices into corner vectors.

    Parameters
    ----------
    values : str, bytes or sequence of them
        Strings such as
        ``'POLYGON ICRS 318.3588 76.4320 311.6865 76.4320 311.2597 77.9937
        318.7858 77.9936'``. The keyword and the frame are case-insensitive;
        the frame token (``ICRS``, ``J2000``, ``FK5`` or ``UNKNOWNFrame``) is
        optional. A fifth vertex equal to the first (closing the polygon) is
        accepted and dropped. Bytes are decoded as ASCII.

    Returns
    -------
    corners : `~numpy.ndarray`
        Unit vectors of shape ``(N, 4, 3)`` (N = 1 for a single string).

    Raises
    ------
    twomass_vo.exceptions.InputError
        (a `ValueError`) for the first value that is not such a polygon,
        naming its index and the value.
    """
    if isinstance(values, (str, bytes, np.str_, np.bytes_)):
        values = [values]
    elif isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    else:
        values = list(values)
    if not values:
        return np.empty((0, 4, 3))
    raw = values
    parsed = None
    if not all(type(v) is str for v in values):
        values = [_as_str(v) for v in values]
    if None not in values:
        parsed = _parse_s_region_fast(values)
    xyz, bad = parsed if parsed is not None else _parse_s_region_slow(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(_S_REGION_WHY, row=row, column="s_region", value=raw[row])
    return xyz


def _as_str(v):
    """Return a value as str (bytes decoded as ASCII), or None."""
    if isinstance(v, (bytes, np.bytes_)):
        try:
            return v.decode("ascii")
        except UnicodeDecodeError:
            return None
    return str(v) if isinstance(v, str) else None


_POLYGON_PREFIX = np.frombuffer(b"POLYGON ICRS ", dtype=np.uint8)


def _fixed_point_bytes(v, decimals, int_digits):
    """Right-aligned fixed-point digits of integers ``v`` (scaled by 10**decimals).

    Returns uint8 ``(..., 1 + int_digits + (decimals > 0) + decimals)``, where
    0 bytes are padding to be squeezed out (suppressed leading zeros).
    """
    neg = v < 0
    a = np.abs(v)
    ip = a // 10**decimals
    cols = []
    sign = np.where(neg, ord("-"), 0).astype(np.uint8)
    cols.append(sign)
    for k in range(int_digits - 1, -1, -1):
        digit = (ip // 10**k) % 10
        # leading zeros suppressed, the units digit always written
        keep = (ip >= 10**k) | (k == 0)
        cols.append(np.where(keep, digit + ord("0"), 0).astype(np.uint8))
    if decimals:
        cols.append(np.full(v.shape, ord("."), dtype=np.uint8))
        fp = a % 10**decimals
        for k in range(decimals - 1, -1, -1):
            cols.append(((fp // 10**k) % 10 + ord("0")).astype(np.uint8))
    return np.stack(cols, axis=-1)


def _format_chunk(ra, dec, decimals):
    n = ra.shape[0]
    scale = 10**decimals
    vra = np.rint(ra * scale).astype(np.int64) % (360 * scale)
    vdec = np.rint(dec * scale).astype(np.int64)
    bra = _fixed_point_bytes(vra, decimals, 3)  # (n, 4, w)
    bdec = _fixed_point_bytes(vdec, decimals, 2)  # (n, 4, w - 1)
    space = np.full((n, 4, 1), ord(" "), dtype=np.uint8)
    fields = np.concatenate([bra, space, bdec, space], axis=-1).reshape(n, -1)
    prefix = np.broadcast_to(_POLYGON_PREFIX, (n, _POLYGON_PREFIX.size))
    buf = np.concatenate([prefix, fields[:, :-1]], axis=1)
    keep = buf != 0
    lengths = keep.sum(axis=1)
    width = int(lengths.max()) if n else 1
    # squeeze the padding out: kept bytes fill each row from the left
    out = np.zeros((n, width), dtype=np.uint8)
    out[np.arange(width) < lengths[:, None]] = buf[keep]
    return out


def format_s_region(corners, *, decimals=6):
    """Format footprint corners as STC-S ``POLYGON ICRS`` strings.

    Parameters
    ----------
    corners : array-like or `Footprints`
        Unit vectors of shape ``(N, 4, 3)`` (or ``(4, 3)``), or footprints.
    decimals : int, optional
        Number of decimals of every coordinate (0 to 12).

    Returns
    -------
    s_region : `~numpy.ndarray`
        Unicode strings ``'POLYGON ICRS ra1 dec1 ra2 dec2 ra3 dec3 ra4 dec4'``
        (shape ``(N,)``) with ra in [0, 360) and fixed ``decimals`` decimals.
    """
    # a `~twomass_vo.geometry.Footprints` (not imported: it imports this module)
    if hasattr(corners, "corners") and not isinstance(corners, np.ndarray):
        corners = corners.corners
    corners = as_corner_arrays(corners)
    decimals = int(decimals)
    if not 0 <= decimals <= 12:
        raise ValueError(f"decimals must be in 0..12, not {decimals}")
    ra, dec = xyz_to_radec(corners)
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        raise ValueError("corners must be finite")
    step = 1 << 16
    parts = [
        _format_chunk(ra[i : i + step], dec[i : i + step], decimals)
        for i in range(0, len(ra), step)
    ]
    width = max((p.shape[1] for p in parts), default=1)
    # ASCII bytes widened to UCS4 code points are a numpy unicode array
    out = np.zeros((len(ra), width), dtype=np.uint32)
    start = 0
    for p in parts:
        out[start : start + len(p), : p.shape[1]] = p
        start += len(p)
    return out.view(f"U{width}").reshape(len(ra))
