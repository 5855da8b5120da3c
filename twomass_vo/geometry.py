# Licensed under a 3-clause BSD style license - see LICENSE
"""Exact spherical geometry of image footprints, on unit vectors.

Everything here works on Cartesian unit vectors (shape ``(..., 3)``), so the
poles and the RA 0/360 seam need no special cases. An image footprint is a
convex spherical quadrilateral whose edges are great-circle arcs between its
four corners (for 2MASS SIN tiles the true pixel-grid edges deviate from those
arcs by less than 1 mas, see ``research/geometry.md``).

The predicates follow the help page of the 2MASS Batch Image Service:

* *overlaps*: some point of the sky is in both the image and the region;
* *covers*: the image contains every point of the region;
* *enclosed*: the region contains every point of the image;
* *best image*: of the images containing a position, the one whose minimum
  distance from the position to its four edges is largest
  (`Footprints.edge_distance`).

Only numpy is used at run time; astropy and ``regions`` are imported lazily at
the API edges (`Footprints.from_header`, `Footprints.to_regions`).
"""

import contextlib

import numpy as np

from .exceptions import InputError

__all__ = [
    "ConvexPolygon",
    "Footprints",
    "angle_between",
    "contains_distance",
    "format_s_region",
    "parse_s_region",
    "radec_to_xyz",
    "sin_corners",
    "sin_pix2world",
    "xyz_to_radec",
]

#: Frame tokens accepted in an STC-S ``POLYGON`` (upper case).
_FRAMES = ("ICRS", "J2000", "FK5", "UNKNOWNFRAME")

#: Rows handled at once by the vectorised per-pair operations (bounds memory).
_CHUNK = 1 << 18

#: Slack added to bounding-cap pre-filters (radians); exact tests follow.
_EPS = 1e-12


# --------------------------------------------------------------------------
# Vectors and angles
# --------------------------------------------------------------------------


def radec_to_xyz(ra, dec):
    """Convert right ascension and declination to unit vectors.

    Parameters
    ----------
    ra, dec : array-like
        Right ascension and declination in degrees; broadcast together.

    Returns
    -------
    xyz : `~numpy.ndarray`
        Float64 array of shape ``broadcast(ra, dec).shape + (3,)``.
    """
    ra = np.deg2rad(np.asarray(ra, dtype=float))
    dec = np.deg2rad(np.asarray(dec, dtype=float))
    ra, dec = np.broadcast_arrays(ra, dec)
    cd = np.cos(dec)
    out = np.empty((*ra.shape, 3))
    out[..., 0] = cd * np.cos(ra)
    out[..., 1] = cd * np.sin(ra)
    out[..., 2] = np.sin(dec)
    return out


def xyz_to_radec(xyz):
    """Convert Cartesian vectors to right ascension and declination.

    Parameters
    ----------
    xyz : array-like
        Vectors of shape ``(..., 3)``; they need not be normalised.

    Returns
    -------
    ra, dec : `~numpy.ndarray`
        Degrees, each of shape ``xyz.shape[:-1]``; ``ra`` is in [0, 360).
    """
    xyz = np.asarray(xyz, dtype=float)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    ra = np.rad2deg(np.arctan2(y, x)) % 360.0
    # -1e-17 % 360 rounds to 360.0 exactly
    ra = np.where(ra >= 360.0, ra - 360.0, ra)
    dec = np.rad2deg(np.arctan2(z, np.hypot(x, y)))
    return ra, dec


def angle_between(a, b):
    """Angle between vectors, accurate at all separations.

    Computed as ``atan2(|a x b|, a . b)``, which stays accurate for tiny and
    near-antipodal separations, unlike ``acos(a . b)``.

    Parameters
    ----------
    a, b : array-like
        Vectors of shape ``(..., 3)``, broadcast together; need not be unit.

    Returns
    -------
    angle : `~numpy.ndarray`
        Radians in [0, pi], shape of the broadcast leading dimensions.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.arctan2(_norm(_cross(a, b)), np.einsum("...j,...j->...", a, b))


def _cross(a, b):
    """Cross product on the last axis; faster than `numpy.cross` on big arrays."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _norm(v):
    """Euclidean norm on the last axis."""
    return np.sqrt(np.einsum("...j,...j->...", v, v))


def _normalize(v):
    """Return ``v / |v|`` along the last axis (zero vectors give NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / _norm(v)[..., None]


def _as_unit_vectors(points, name="points"):
    """Validate ``(M, 3)`` or ``(3,)`` vectors and normalise them."""
    p = np.asarray(points, dtype=float)
    if p.ndim not in (1, 2) or p.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (M, 3) or (3,), not {p.shape}")
    return _normalize(p)


# --------------------------------------------------------------------------
# SIN projection
# --------------------------------------------------------------------------


def sin_pix2world(px, py, crval1, crval2, crpix1, crpix2, cdelt1, cdelt2, crota2):
    """Compute unit vectors of FITS pixel coordinates under the SIN projection.

    The same transformation as `astropy.wcs.WCS.all_pix2world` with origin 1
    for a header with ``CTYPE = RA---SIN / DEC--SIN`` (no ``PV`` terms),
    ``CRVALi``, ``CRPIXi``, ``CDELTi`` and the AIPS rotation ``CROTA2``
    (``PC1_1 = PC2_2 = cos(rho)``, ``PC1_2 = -sin(rho) CDELT2/CDELT1``,
    ``PC2_1 = sin(rho) CDELT1/CDELT2``), with the default ``LONPOLE``.

    Parameters
    ----------
    px, py : array-like
        1-based FITS pixel coordinates.
    crval1, crval2 : array-like
        Reference RA and Dec, degrees.
    crpix1, crpix2 : array-like
        Reference pixel (1-based).
    cdelt1, cdelt2 : array-like
        Pixel scale, degrees per pixel (``cdelt1`` is usually negative).
    crota2 : array-like
        Rotation, degrees.

    Returns
    -------
    xyz : `~numpy.ndarray`
        Unit vectors of shape ``broadcast(all arguments).shape + (3,)``.
        Pixels beyond the projection's horizon give NaN.

    Notes
    -----
    All arguments broadcast together.
    """
    args = np.broadcast_arrays(
        *(
            np.asarray(a, dtype=float)
            for a in (px, py, crval1, crval2, crpix1, crpix2, cdelt1, cdelt2, crota2)
        )
    )
    px, py, a0, d0, cp1, cp2, c1, c2, rho = args
    dx = px - cp1
    dy = py - cp2
    rho = np.deg2rad(rho)
    cr, sr = np.cos(rho), np.sin(rho)
    # intermediate world coordinates, converted to radians
    x = np.deg2rad(c1 * cr * dx - c2 * sr * dy)
    y = np.deg2rad(c1 * sr * dx + c2 * cr * dy)
    with np.errstate(invalid="ignore"):
        z = np.sqrt(1.0 - (x * x + y * y))
    # Native frame of the zenithal projection: z toward the reference point,
    # x toward increasing RA, y toward north (LONPOLE = 180). With the default
    # LONPOLE = 0 at CRVAL2 = +90 exactly, east and north are reversed.
    a0 = np.deg2rad(a0)
    d0r = np.deg2rad(d0)
    sa, ca = np.sin(a0), np.cos(a0)
    sd, cd = np.sin(d0r), np.cos(d0r)
    flip = np.where(d0 >= 90.0, -1.0, 1.0)
    x = x * flip
    y = y * flip
    out = np.empty((*px.shape, 3))
    out[..., 0] = z * cd * ca - x * sa - y * sd * ca
    out[..., 1] = z * cd * sa + x * ca - y * sd * sa
    out[..., 2] = z * sd + y * cd
    return _normalize(out)


def _outer_pixel_edges(naxis1, naxis2):
    """Pixel coordinates of the four outer corners, each shape ``(..., 4)``."""
    naxis1 = np.asarray(naxis1, dtype=float)[..., None]
    naxis2 = np.asarray(naxis2, dtype=float)[..., None]
    one = np.array([0.0, 1.0, 1.0, 0.0])
    two = np.array([0.0, 0.0, 1.0, 1.0])
    return 0.5 + one * naxis1, 0.5 + two * naxis2


def sin_corners(crval1, crval2, crpix1, crpix2, naxis1, naxis2, cdelt1, cdelt2, crota2):
    """Footprint corners of SIN images at their outer pixel edges.

    The corners are the pixel coordinates (0.5, 0.5), (naxis1+0.5, 0.5),
    (naxis1+0.5, naxis2+0.5) and (0.5, naxis2+0.5), in that order.

    Parameters
    ----------
    crval1, crval2, crpix1, crpix2 : array-like
        WCS reference values (degrees) and reference pixel (1-based).
    naxis1, naxis2 : array-like
        Image size in pixels.
    cdelt1, cdelt2, crota2 : array-like
        Pixel scale (degrees per pixel) and AIPS rotation (degrees).

    Returns
    -------
    corners : `~numpy.ndarray`
        Unit vectors of shape ``(N, 4, 3)``, N the size of the broadcast
        arguments (1 for scalars).
    """
    shape = np.broadcast_shapes(
        *(
            np.shape(a)
            for a in (
                crval1,
                crval2,
                crpix1,
                crpix2,
                naxis1,
                naxis2,
                cdelt1,
                cdelt2,
                crota2,
            )
        )
    )

    def flat(a):
        return np.broadcast_to(np.asarray(a, dtype=float), shape).reshape(-1, 1)

    px, py = _outer_pixel_edges(flat(naxis1)[:, 0], flat(naxis2)[:, 0])
    return sin_pix2world(
        px,
        py,
        flat(crval1),
        flat(crval2),
        flat(crpix1),
        flat(crpix2),
        flat(cdelt1),
        flat(cdelt2),
        flat(crota2),
    )


# --------------------------------------------------------------------------
# STC-S s_region strings
# --------------------------------------------------------------------------


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
    if isinstance(corners, Footprints):
        corners = corners.corners
    corners = np.asarray(corners, dtype=float)
    if corners.shape == (4, 3):
        corners = corners[None]
    if corners.ndim != 3 or corners.shape[1:] != (4, 3):
        raise ValueError(f"corners must have shape (N, 4, 3), not {corners.shape}")
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


# --------------------------------------------------------------------------
# Convex polygons
# --------------------------------------------------------------------------


def _polygon_normals(v):
    """Return the unit normals ``v_i x v_{i+1}`` of polygons ``(..., K, 3)``."""
    return _normalize(_cross(v, np.roll(v, -1, axis=-2)))


def _orient(v):
    """Reverse polygons whose normals point outward; return (v, normals, centre)."""
    centre = _normalize(np.add.reduce([v[..., i, :] for i in range(v.shape[-2])]))
    n = _polygon_normals(v)
    rev = np.einsum("...kj,...j->...", n, centre) < 0
    if np.any(rev):
        # reversing v_0..v_{K-1} gives the normals n'_i = -n_{(K-2-i) mod K}
        k = v.shape[-2]
        flip = (k - 2 - np.arange(k)) % k
        if np.all(rev):  # e.g. every tile of one archive: views, no copies
            v, n = v[..., ::-1, :], -n[..., flip, :]
        else:
            m = rev[..., None, None]
            v, n = np.where(m, v[..., ::-1, :], v), np.where(m, -n[..., flip, :], n)
    return v, n, centre


def _convex_ok(v, n, centre):
    """Which polygons ``(..., K, 3)`` are convex, non-degenerate and small."""
    k = v.shape[-2]
    # n_i . v_j must be > 0 for every vertex not on edge i: j = i+2 ... i+K-1
    good = np.ones(v.shape[:-2], dtype=bool)
    for offset in range(2, k):
        shifted = np.roll(v, -offset, axis=-2)
        good &= np.all(np.einsum("...kj,...kj->...k", n, shifted) > 0, axis=-1)
    good &= np.all(np.einsum("...kj,...j->...k", n, centre) > 0, axis=-1)
    good &= np.all(np.einsum("...kj,...j->...k", v, centre) > 0, axis=-1)
    good &= np.isfinite(n).all(axis=(-2, -1))
    return good


class ConvexPolygon:
    """A convex spherical polygon (smaller than a hemisphere) as a search region.

    Parameters
    ----------
    vertices : array-like
        Vertex vectors ``(K, 3)``, K >= 3, in either winding; normalised on
        input and reordered so that the edge normals point inward.

    Attributes
    ----------
    vertices : `~numpy.ndarray`
        ``(K, 3)`` unit vectors, ordered so that ``normals`` point inward.
    normals : `~numpy.ndarray`
        ``(K, 3)`` unit normals ``v_i x v_{i+1}``.
    center : `~numpy.ndarray`
        ``(3,)`` normalised sum of the vertices.
    radius : float
        Largest angle (radians) from ``center`` to a vertex: the polygon lies
        inside that cap.

    Raises
    ------
    ValueError
        If the polygon is not convex, is degenerate (duplicate or collinear
        vertices) or is not smaller than a hemisphere.
    """

    def __init__(self, vertices):
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] < 3:
            raise ValueError(f"vertices must have shape (K >= 3, 3), not {v.shape}")
        v = _normalize(v)
        if not np.isfinite(v).all():
            raise ValueError("polygon is not convex: vertices must be finite, non-zero")
        v, n, centre = _orient(v)
        if not _convex_ok(v, n, centre):
            raise ValueError(
                "polygon is not convex, or is degenerate (duplicate or collinear "
                "vertices), or is not smaller than a hemisphere"
            )
        self.vertices = v
        self.normals = n
        self.center = centre
        self.radius = float(angle_between(centre, v).max())

    @classmethod
    def from_radec(cls, ra, dec):
        """Build from vertex coordinates.

        Parameters
        ----------
        ra, dec : array-like
            Vertex right ascensions and declinations, degrees, shape ``(K,)``.

        Returns
        -------
        polygon : `ConvexPolygon`
            The polygon.
        """
        return cls(radec_to_xyz(np.ravel(ra), np.ravel(dec)))

    def __len__(self):
        return len(self.vertices)

    def __repr__(self):
        return f"<ConvexPolygon with {len(self)} vertices>"

    def contains(self, points):
        """Test whether points are inside the polygon (boundary inclusive).

        Parameters
        ----------
        points : array-like
            Vectors ``(M, 3)`` or ``(3,)``.

        Returns
        -------
        inside : `~numpy.ndarray`
            Boolean, shape ``(M,)`` (or a 0-d array for one point).
        """
        p = _as_unit_vectors(points)
        return np.all(p @ self.normals.T >= 0, axis=-1)


def _inside_distance(dots):
    """Containment and edge distance from the ``(M, K)`` point-normal products."""
    s = dots.min(axis=-1)
    # all(dots >= 0) is min(dots) >= 0, NaN included (False either way)
    return s >= 0, np.arcsin(np.clip(s, -1.0, 1.0))


def contains_distance(normals, points):
    """Containment and edge distance of points in convex polygons, pairwise.

    The computation of `Footprints.contains_distance` (so the same values, bit
    for bit) for polygons known only by their inward edge normals, e.g. the
    normals stored in an archive index.

    Parameters
    ----------
    normals : array-like
        ``(M, K, 3)`` inward unit normals of M polygons.
    points : array-like
        ``(M, 3)`` vectors; point m is tested against polygon m.

    Returns
    -------
    inside : `~numpy.ndarray`
        Boolean ``(M,)``, boundary inclusive.
    distance : `~numpy.ndarray`
        ``(M,)`` radians, ``min_k asin(p . n_k)``: positive inside.
    """
    n = np.asarray(normals, dtype=float)
    p = _as_unit_vectors(points)
    if n.ndim != 3 or n.shape[2] != 3 or p.ndim != 2 or len(p) != len(n):
        raise ValueError(
            f"normals {n.shape} and points {p.shape} must be (M, K, 3) and (M, 3)"
        )
    out = np.empty(n.shape[:2])
    for i in range(0, len(p), _CHUNK):
        out[i : i + _CHUNK] = np.einsum(
            "mkj,mj->mk", n[i : i + _CHUNK], p[i : i + _CHUNK]
        )
    return _inside_distance(out)


# --------------------------------------------------------------------------
# Footprints
# --------------------------------------------------------------------------


class Footprints:
    """Image footprints: convex spherical quadrilaterals with great-circle edges.

    Parameters
    ----------
    corners : array-like
        Corner vectors of shape ``(N, 4, 3)`` (or ``(4, 3)`` for one), in
        either winding; normalised on input.

    Attributes
    ----------
    corners : `~numpy.ndarray`
        ``(N, 4, 3)`` unit vectors, each polygon ordered so that its edge
        normals point inward (the input order, or its reverse).
    normals : `~numpy.ndarray`
        ``(N, 4, 3)`` inward unit normals ``n_i = v_i x v_{i+1}``.
    centers : `~numpy.ndarray`
        ``(N, 3)`` unit vectors, the normalised sums of the corners.
    radii : `~numpy.ndarray`
        ``(N,)`` largest angle (radians) from the centre to a corner; each
        footprint lies inside the cap (``centers``, ``radii``).

    Raises
    ------
    ValueError
        If a footprint is degenerate, not convex, or not smaller than a
        hemisphere; the message lists the offending indices.

    Notes
    -----
    All methods are vectorised over footprints; the region predicates first
    discard the footprints whose bounding cap cannot reach the region.
    """

    def __init__(self, corners):
        v = np.asarray(corners, dtype=float)
        if v.shape == (4, 3):
            v = v[None]
        if v.ndim != 3 or v.shape[1:] != (4, 3):
            raise ValueError(f"corners must have shape (N, 4, 3), not {v.shape}")
        v = _normalize(v)
        v, n, centre = _orient(v)
        good = _convex_ok(v, n, centre)
        if not good.all():
            bad = np.flatnonzero(~good)
            raise ValueError(
                f"{bad.size} footprint(s) are degenerate, not convex or too large, "
                f"at index {bad[:10].tolist()}{' ...' if bad.size > 10 else ''}"
            )
        # the farthest corner has the smallest dot product; its angle exactly
        far = np.argmin(np.einsum("nkj,nj->nk", v, centre), axis=1)
        radii = angle_between(centre, v[np.arange(len(v)), far])
        self._set(v, n, centre, radii)

    @property
    def corners(self):
        """``(N, 4, 3)`` oriented unit corner vectors (see the class docstring)."""
        if callable(self._corners):  # stored footprints: made on first use
            self._corners = self._corners()
        return self._corners

    def _set(self, corners, normals, centers, radii):
        self._corners = corners
        self.normals = normals
        self.centers = centers
        self.radii = radii

    @classmethod
    def _from_parts(cls, corners, normals, centers, radii):
        obj = cls.__new__(cls)
        obj._set(corners, normals, centers, radii)
        return obj

    def stored_parts(self, corners):
        """Return what `from_stored` needs to rebuild these footprints unchecked.

        Parameters
        ----------
        corners : array-like
            ``(N, 4, 3)``: the corners these footprints were made from.

        Returns
        -------
        parts : dict of `~numpy.ndarray`
            ``reversed`` (N,) bool (whether the corners were reversed to point
            the normals inward), ``normals`` (N, 4, 3), ``centers`` (N, 3)
            and ``radii`` (N,).
        """
        v = _normalize(np.asarray(corners, dtype=float))
        same = (self.corners == v).all(axis=(1, 2))
        flipped = (self.corners == v[:, ::-1]).all(axis=(1, 2))
        if not (same | flipped).all():
            raise ValueError("these footprints were not made from these corners")
        return {
            "reversed": ~same,
            "normals": self.normals,
            "centers": self.centers,
            "radii": self.radii,
        }

    @classmethod
    def from_stored(cls, corners, reversed_, normals, centers, radii):
        """Footprints from `stored_parts` of footprints checked before.

        For stored geometry (e.g. a `~twomass_vo.archives.LocalArchive`
        index, whose footprints were made, and so checked, by this class):
        only the corners are normalised and oriented again, when first used,
        so the result equals ``Footprints(corners)`` bit for bit.

        Parameters
        ----------
        corners : array-like or callable
            ``(N, 4, 3)`` corners, as given to the constructor, or a function
            returning them (called only if the corners are needed: point
            tests use the normals alone).
        reversed_ : array-like of bool
            ``(N,)``: ``reversed`` from `stored_parts`.
        normals : array-like
            ``(N, 4, 3)`` from `stored_parts`.
        centers : array-like
            ``(N, 3)`` from `stored_parts`.
        radii : array-like
            ``(N,)`` from `stored_parts`.

        Returns
        -------
        footprints : `Footprints`
            The footprints.

        Raises
        ------
        ValueError
            If the shapes do not match.
        """
        normals = np.asarray(normals, dtype=float)
        n = len(normals)
        flip = np.asarray(reversed_, bool)
        if (
            normals.shape != (n, 4, 3)
            or np.shape(centers) != (n, 3)
            or np.shape(radii) != (n,)
            or flip.shape != (n,)
        ):
            raise ValueError(
                "from_stored needs normals (N, 4, 3), centers (N, 3), radii and "
                "reversed_ (N,)"
            )

        def oriented():
            v = _normalize(
                np.asarray(corners() if callable(corners) else corners, float)
            )
            if v.shape != (n, 4, 3):
                raise ValueError(f"corners must have shape ({n}, 4, 3), not {v.shape}")
            if flip.all():
                return v[:, ::-1]
            if flip.any():
                return np.where(flip[:, None, None], v[:, ::-1], v)
            return v

        return cls._from_parts(
            oriented, normals, np.asarray(centers), np.asarray(radii)
        )

    # ---- construction ----------------------------------------------------

    @classmethod
    def from_wcs(
        cls, crval1, crval2, crpix1, crpix2, naxis1, naxis2, cdelt1, cdelt2, crota2
    ):
        """Footprints of SIN images from their WCS values (see `sin_corners`).

        Parameters
        ----------
        crval1, crval2, crpix1, crpix2 : array-like
            WCS reference values (degrees) and reference pixel (1-based).
        naxis1, naxis2 : array-like
            Image size in pixels.
        cdelt1, cdelt2, crota2 : array-like
            Pixel scale (degrees per pixel) and AIPS rotation (degrees).

        Returns
        -------
        footprints : `Footprints`
            One footprint per broadcast element, to the outer pixel edges.
        """
        return cls(
            sin_corners(
                crval1, crval2, crpix1, crpix2, naxis1, naxis2, cdelt1, cdelt2, crota2
            )
        )

    @classmethod
    def from_s_region(cls, values):
        """Footprints from STC-S polygon strings (see `parse_s_region`).

        Parameters
        ----------
        values : str or sequence of str
            ``POLYGON`` strings of 4 vertices.

        Returns
        -------
        footprints : `Footprints`
            One footprint per string.
        """
        return cls(parse_s_region(values))

    @classmethod
    def from_header(cls, header):
        """Footprints from FITS headers with a celestial WCS, via astropy.

        Parameters
        ----------
        header : `~astropy.io.fits.Header` or sequence of them
            Headers with ``NAXIS1``, ``NAXIS2`` and a celestial WCS on the first
            two axes (any projection; the corners are joined by great circles).

        Returns
        -------
        footprints : `Footprints`
            One footprint per header, to the outer pixel edges.
        """
        import warnings

        from astropy.io import fits
        from astropy.wcs import WCS, FITSFixedWarning

        headers = [header] if isinstance(header, fits.Header) else list(header)
        corners = np.empty((len(headers), 4, 3))
        for i, h in enumerate(headers):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                w = WCS(h, naxis=2)
            if not w.has_celestial or {w.wcs.lng, w.wcs.lat} != {0, 1}:
                raise ValueError(f"header {i} has no celestial WCS on axes 1 and 2")
            px, py = _outer_pixel_edges(h["NAXIS1"], h["NAXIS2"])
            world = w.all_pix2world(px, py, 1)
            lon, lat = world[w.wcs.lng], world[w.wcs.lat]
            corners[i] = radec_to_xyz(lon, lat)
        return cls(corners)

    # ---- container -------------------------------------------------------

    def __len__(self):
        return len(self.normals)

    def __getitem__(self, index):
        if np.ndim(index) == 0 and not isinstance(index, slice):
            index = np.array([index])
        return self._from_parts(
            self.corners[index],
            self.normals[index],
            self.centers[index],
            self.radii[index],
        )

    def __repr__(self):
        return f"<Footprints: {len(self)} footprint(s)>"

    # ---- point tests -----------------------------------------------------

    def _edge_dots(self, points, index):
        """``p . n_k`` for each point and the 4 edges of its footprint: (M, 4)."""
        p = _as_unit_vectors(points)
        if index is None:
            if p.ndim == 1:
                return self.normals @ p
            if len(p) != len(self):
                raise ValueError(
                    f"{len(p)} points for {len(self)} footprints: pass index= "
                    "to pair them, or as many points as footprints"
                )
            index = slice(None)
            sel = self.normals
        else:
            index = np.asarray(index, dtype=np.intp)
            if p.ndim == 1:
                p = np.broadcast_to(p, (*index.shape, 3))
            if index.shape != p.shape[:-1] or index.ndim != 1:
                raise ValueError("index must have shape (M,) for points of (M, 3)")
            sel = None
        out = np.empty((len(p), 4))
        for i in range(0, len(p), _CHUNK):
            n = (
                sel[i : i + _CHUNK]
                if sel is not None
                else self.normals[index[i : i + _CHUNK]]
            )
            out[i : i + _CHUNK] = np.einsum("mkj,mj->mk", n, p[i : i + _CHUNK])
        return out

    def contains(self, points, index=None):
        """Test points for containment (boundary inclusive).

        Parameters
        ----------
        points : array-like
            Vectors ``(M, 3)``, or one vector ``(3,)``.
        index : array-like of int, optional
            ``(M,)``: point m is tested against footprint ``index[m]``. If
            omitted, M must equal the number of footprints (pairwise), or a
            single point is tested against every footprint.

        Returns
        -------
        inside : `~numpy.ndarray`
            Boolean, shape ``(M,)`` (``(N,)`` for a single point).
        """
        return np.all(self._edge_dots(points, index) >= 0, axis=-1)

    def edge_distance(self, points, index=None):
        """Signed angular distance from points to the footprint edges.

        ``min_i asin(p . n_i)``: positive inside, negative outside. For a
        point inside, this is its distance to the boundary, the "best image"
        metric of the help page (minimum distance to the 4 edges).

        Parameters
        ----------
        points : array-like
            Vectors ``(M, 3)``, or one vector ``(3,)``.
        index : array-like of int, optional
            As in `contains`.

        Returns
        -------
        distance : `~numpy.ndarray`
            Radians, shape ``(M,)`` (``(N,)`` for a single point).
        """
        s = self._edge_dots(points, index).min(axis=-1)
        return np.arcsin(np.clip(s, -1.0, 1.0))

    def contains_distance(self, points, index=None):
        """`contains` and `edge_distance` at once (one pass over the normals).

        Parameters
        ----------
        points : array-like
            Vectors ``(M, 3)``, or one vector ``(3,)``.
        index : array-like of int, optional
            As in `contains`.

        Returns
        -------
        inside : `~numpy.ndarray`
            Boolean, as `contains` returns.
        distance : `~numpy.ndarray`
            Radians, as `edge_distance` returns.
        """
        return _inside_distance(self._edge_dots(points, index))

    # ---- region predicates -----------------------------------------------

    def _candidates(self, center, radius):
        """Return footprints whose bounding cap reaches the cap (center, radius)."""
        d = angle_between(self.centers, center)
        return np.flatnonzero(d <= radius + self.radii + _EPS)

    def relate_circle(self, center, radius):
        """Relate the footprints to a circle (spherical cap).

        Parameters
        ----------
        center : array-like
            ``(3,)`` vector of the circle centre (normalised on input).
        radius : float
            Circle radius in radians, 0 <= radius < pi/2.

        Returns
        -------
        overlaps, covers, enclosed : `~numpy.ndarray`
            Boolean ``(N,)`` each: some point lies in both; the footprint
            contains the whole circle; the circle contains the whole
            footprint. Boundaries are inclusive.

        Notes
        -----
        Exact on the sphere: *overlaps* iff the centre is inside or its
        distance to an edge arc is at most ``radius``; *covers* iff the centre
        is inside and its distance to every edge arc is at least ``radius``;
        *enclosed* iff every corner is within ``radius`` (a cap smaller than a
        hemisphere is convex).
        """
        c = _as_unit_vectors(center, "center")
        if c.shape != (3,):
            raise ValueError("center must be one vector of shape (3,)")
        r = float(radius)
        if not 0.0 <= r < np.pi / 2:
            raise ValueError(f"radius must be in [0, pi/2) radians, not {radius}")
        n_fp = len(self)
        overlaps = np.zeros(n_fp, dtype=bool)
        covers = np.zeros(n_fp, dtype=bool)
        enclosed = np.zeros(n_fp, dtype=bool)
        cand = self._candidates(c, r)
        for i in range(0, len(cand), _CHUNK):
            idx = cand[i : i + _CHUNK]
            o, cv, e = self._relate_circle(idx, c, r)
            overlaps[idx], covers[idx], enclosed[idx] = o, cv, e
        return overlaps, covers, enclosed

    def _relate_circle(self, idx, c, r):
        a = self.corners[idx]  # (M, 4, 3)
        n = self.normals[idx]
        b = np.roll(a, -1, axis=1)
        s = n @ c  # (M, 4) sine of the signed distance to each great circle
        inside = np.all(s >= 0, axis=1)
        # foot point of c on each edge's great circle, and whether it is on the
        # arc: (a x f) . n >= 0 and (f x b) . n >= 0, i.e. f.(n x a), f.(b x n)
        f = c - s[..., None] * n
        on_arc = (np.einsum("mkj,mkj->mk", f, _cross(n, a)) >= 0) & (
            np.einsum("mkj,mkj->mk", f, _cross(b, n)) >= 0
        )
        d_corner = angle_between(a, c)  # (M, 4)
        d_end = np.minimum(d_corner, np.roll(d_corner, -1, axis=1))
        d_arc = np.where(on_arc, np.arcsin(np.clip(np.abs(s), 0.0, 1.0)), d_end)
        d_edge = d_arc.min(axis=1)
        overlaps = inside | (d_edge <= r)
        covers = inside & (d_edge >= r)
        enclosed = np.all(d_corner <= r, axis=1)
        return overlaps, covers, enclosed

    def relate_polygon(self, vertices):
        """Relate the footprints to a convex polygon region.

        Parameters
        ----------
        vertices : `ConvexPolygon` or array-like
            The region: a `ConvexPolygon`, or its vertices ``(K, 3)`` in
            either winding (K >= 3, convex, smaller than a hemisphere).

        Returns
        -------
        overlaps, covers, enclosed : `~numpy.ndarray`
            Boolean ``(N,)`` each, with the semantics of `relate_circle`.

        Notes
        -----
        Exact: *overlaps* iff a vertex of one polygon is inside the other or
        two edges (great-circle arcs) cross; *covers* iff every region vertex
        is inside the footprint; *enclosed* iff every footprint corner is
        inside the region. Boundaries are inclusive.
        """
        q = vertices if isinstance(vertices, ConvexPolygon) else ConvexPolygon(vertices)
        n_fp = len(self)
        overlaps = np.zeros(n_fp, dtype=bool)
        covers = np.zeros(n_fp, dtype=bool)
        enclosed = np.zeros(n_fp, dtype=bool)
        cand = self._candidates(q.center, q.radius)
        step = max(1, _CHUNK // max(len(q), 4))
        for i in range(0, len(cand), step):
            idx = cand[i : i + step]
            o, cv, e = self._relate_polygon(idx, q)
            overlaps[idx], covers[idx], enclosed[idx] = o, cv, e
        return overlaps, covers, enclosed

    def _relate_polygon(self, idx, q):
        a = self.corners[idx]  # (M, 4, 3) tile corners
        n = self.normals[idx]
        qv, qn = q.vertices, q.normals  # (K, 3)
        # sa[m, k, l] = a_k . qn_l: tile corner k against region edge l
        sa = a @ qn.T  # (M, 4, K)
        corner_in_q = np.all(sa >= 0, axis=2)  # (M, 4)
        # region vertex l against tile edge k
        sq = np.einsum("mkj,lj->mlk", n, qv)  # (M, K, 4)
        q_in_tile = np.all(sq >= 0, axis=2)  # (M, K)
        # tile edge (a_k, b_k) crossing region arc (c_l, d_l): a, b on opposite
        # sides (or on) the plane of the region edge; the crossing point
        # x = sign * (sa b - sb a) on the tile arc must lie on the region arc:
        # (c x x) . qn >= 0 and (x x d) . qn >= 0, i.e. x.u >= 0 and x.w >= 0
        sb = np.roll(sa, -1, axis=1)
        u = np.cross(qn, qv)  # (K, 3): (c x x).qn = x.(qn x c)
        w = np.cross(np.roll(qv, -1, axis=0), qn)  # (x x d).qn = x.(d x qn)
        au, aw = a @ u.T, a @ w.T  # (M, 4, K)
        bu, bw = np.roll(au, -1, axis=1), np.roll(aw, -1, axis=1)
        sgn = np.sign(sa - sb)
        xu = sgn * (sa * bu - sb * au)
        xw = sgn * (sa * bw - sb * aw)
        crossing = (sa * sb <= 0) & (sgn != 0) & (xu >= 0) & (xw >= 0)
        overlaps = (
            corner_in_q.any(axis=1) | q_in_tile.any(axis=1) | crossing.any(axis=(1, 2))
        )
        covers = q_in_tile.all(axis=1)
        enclosed = corner_in_q.all(axis=1)
        return overlaps, covers, enclosed

    # ---- export ----------------------------------------------------------

    def corners_radec(self):
        """Corner coordinates.

        Returns
        -------
        ra, dec : `~numpy.ndarray`
            Degrees, each of shape ``(N, 4)``; ra in [0, 360).
        """
        return xyz_to_radec(self.corners)

    def to_regions(self, labels=None):
        """Footprints as `regions.PolygonSkyRegion` objects (for DS9/CRTF files).

        Parameters
        ----------
        labels : sequence of str, optional
            One label per footprint, stored as ``meta['text']`` (written by
            the ds9 format as ``text={...}``).

        Returns
        -------
        regions : list of `regions.PolygonSkyRegion`
            One ICRS polygon per footprint.
        """
        from astropy.coordinates import SkyCoord
        from regions import PolygonSkyRegion, RegionMeta

        if labels is not None:
            labels = list(labels)
            if len(labels) != len(self):
                raise ValueError(f"{len(labels)} labels for {len(self)} footprints")
        ra, dec = self.corners_radec()
        coords = SkyCoord(ra.ravel(), dec.ravel(), unit="deg", frame="icrs")
        out = []
        for i in range(len(self)):
            meta = None if labels is None else RegionMeta({"text": str(labels[i])})
            out.append(PolygonSkyRegion(coords[4 * i : 4 * i + 4], meta=meta))
        return out
