# Licensed under a 3-clause BSD style license - see LICENSE
"""Convex spherical polygons: orientation, convexity, containment, edge distance.

`ConvexPolygon` is a polygonal search region; `contains_distance` is the
containment and edge-distance computation of
`~twomass_vo.geometry.Footprints` for polygons known only by their inward
edge normals (as an archive index stores them). The helpers `orient`,
`polygon_normals`, `convex_ok` and `inside_distance` are shared with
`twomass_vo.geometry.footprints`.
"""

import numpy as np

from .unit_vectors import (
    angle_between,
    as_unit_vectors,
    cross,
    normalize,
    radec_to_xyz,
)

__all__ = [
    "CHUNK",
    "ConvexPolygon",
    "contains_distance",
    "convex_ok",
    "inside_distance",
    "orient",
    "polygon_normals",
]

#: Rows handled at once by the vectorised per-pair operations (bounds memory).
CHUNK = 1 << 18


def polygon_normals(v):
    """Return the unit normals ``v_i x v_{i+1}`` of polygons ``(..., K, 3)``."""
    return normalize(cross(v, np.roll(v, -1, axis=-2)))


def orient(v):
    """Reverse polygons whose normals point outward; return (v, normals, centre)."""
    centre = normalize(np.add.reduce([v[..., i, :] for i in range(v.shape[-2])]))
    n = polygon_normals(v)
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


def convex_ok(v, n, centre):
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
        v = normalize(v)
        if not np.isfinite(v).all():
            raise ValueError("polygon is not convex: vertices must be finite, non-zero")
        v, n, centre = orient(v)
        if not convex_ok(v, n, centre):
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
        p = as_unit_vectors(points)
        return np.all(p @ self.normals.T >= 0, axis=-1)


def inside_distance(dots):
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
    p = as_unit_vectors(points)
    if n.ndim != 3 or n.shape[2] != 3 or p.ndim != 2 or len(p) != len(n):
        raise ValueError(
            f"normals {n.shape} and points {p.shape} must be (M, K, 3) and (M, 3)"
        )
    out = np.empty(n.shape[:2])
    for i in range(0, len(p), CHUNK):
        out[i : i + CHUNK] = np.einsum("mkj,mj->mk", n[i : i + CHUNK], p[i : i + CHUNK])
    return inside_distance(out)
