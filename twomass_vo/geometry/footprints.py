# Licensed under a 3-clause BSD style license - see LICENSE
"""Image footprints (`Footprints`) and their region predicates.

A footprint is a convex spherical quadrilateral whose edges are
great-circle arcs between its four corners. `Footprints` holds many, with
their inward edge normals and bounding caps, and answers the predicates of
`twomass_vo.geometry` (overlaps, covers, enclosed, edge distance) for all
of them at once; it also builds them from WCS values, ``s_region`` strings,
FITS headers or an archive's stored parts.
"""

import numpy as np

from .s_region import parse_s_region
from .sin_projection import outer_pixel_edges, sin_corners
from .spherical_polygons import CHUNK, ConvexPolygon, convex_ok, inside_distance, orient
from .unit_vectors import (
    angle_between,
    as_corner_arrays,
    as_unit_vectors,
    cross,
    normalize,
    radec_to_xyz,
    xyz_to_radec,
)

__all__ = [
    "Footprints",
]

#: Slack added to bounding-cap pre-filters (radians); exact tests follow.
_EPS = 1e-12


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
        v = normalize(as_corner_arrays(corners))
        v, n, centre = orient(v)
        good = convex_ok(v, n, centre)
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
        v = normalize(np.asarray(corners, dtype=float))
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
            v = normalize(
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
            px, py = outer_pixel_edges(h["NAXIS1"], h["NAXIS2"])
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
        p = as_unit_vectors(points)
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
        for i in range(0, len(p), CHUNK):
            n = (
                sel[i : i + CHUNK]
                if sel is not None
                else self.normals[index[i : i + CHUNK]]
            )
            out[i : i + CHUNK] = np.einsum("mkj,mj->mk", n, p[i : i + CHUNK])
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
        return inside_distance(self._edge_dots(points, index))

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
        c = as_unit_vectors(center, "center")
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
        for i in range(0, len(cand), CHUNK):
            idx = cand[i : i + CHUNK]
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
        on_arc = (np.einsum("mkj,mkj->mk", f, cross(n, a)) >= 0) & (
            np.einsum("mkj,mkj->mk", f, cross(b, n)) >= 0
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
        step = max(1, CHUNK // max(len(q), 4))
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
            the ds9 format as ``text={...}``) and ``meta['label']`` (the
            CRTF format's ``label='...'``).

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
            text = None if labels is None else str(labels[i])
            meta = None if text is None else RegionMeta({"text": text, "label": text})
            out.append(PolygonSkyRegion(coords[4 * i : 4 * i + 4], meta=meta))
        return out
