# Licensed under a 3-clause BSD style license - see LICENSE
"""Unit vectors on the sphere: conversions to and from RA/Dec, angles, products.

The building blocks of `twomass_vo.geometry`: everything there works on
Cartesian unit vectors (shape ``(..., 3)``), so the poles and the RA 0/360
seam need no special cases.
"""

import numpy as np

__all__ = [
    "angle_between",
    "as_corner_arrays",
    "as_unit_vectors",
    "cross",
    "norm",
    "normalize",
    "radec_to_xyz",
    "xyz_to_radec",
]


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
    return np.arctan2(norm(cross(a, b)), np.einsum("...j,...j->...", a, b))


def cross(a, b):
    """Cross product on the last axis; faster than `numpy.cross` on big arrays."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def norm(v):
    """Euclidean norm on the last axis."""
    return np.sqrt(np.einsum("...j,...j->...", v, v))


def normalize(v):
    """Return ``v / |v|`` along the last axis (zero vectors give NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / norm(v)[..., None]


def as_unit_vectors(points, name="points"):
    """Validate ``(M, 3)`` or ``(3,)`` vectors and normalise them."""
    p = np.asarray(points, dtype=float)
    if p.ndim not in (1, 2) or p.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (M, 3) or (3,), not {p.shape}")
    return normalize(p)


def as_corner_arrays(corners):
    """Validate the corners of quadrilaterals: ``(N, 4, 3)``, or ``(4, 3)`` for one.

    Parameters
    ----------
    corners : array-like
        Four vectors per quadrilateral (not normalised here).

    Returns
    -------
    corners : `~numpy.ndarray`
        Floats of shape ``(N, 4, 3)``.

    Raises
    ------
    ValueError
        For any other shape.
    """
    v = np.asarray(corners, dtype=float)
    if v.shape == (4, 3):
        v = v[None]
    if v.ndim != 3 or v.shape[1:] != (4, 3):
        raise ValueError(f"corners must have shape (N, 4, 3), not {v.shape}")
    return v
