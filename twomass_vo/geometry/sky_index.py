# Licensed under a 3-clause BSD style license - see LICENSE
"""A declination-zone index for fast cone matching of many positions.

The sky is cut into declination zones of fixed height; items (e.g. image
centres) are stored sorted by (zone, RA). A cone of radius R around a position
touches a few zones, and in each zone an RA window of half-width
``alpha(dec, R)``: binary searches on the sorted keys give contiguous index
ranges of candidates, which are expanded and checked exactly. This is the
"zones" algorithm of Gray, Nieto-Santisteban & Szalay (2006, 2007), vectorised
with numpy: no Python loop runs per position or per item.

Only numpy is used.
"""

import numpy as np

__all__ = ["ZoneIndex"]

#: Upper bound of candidate pairs expanded at once (bounds memory to ~0.5 GB).
_MAX_CANDIDATES = 4_000_000

#: Relative and absolute slack (degrees) on the RA window; exact check follows.
_ALPHA_SLACK = (1e-9, 1e-9)


def _nzones(zone_height):
    return int(np.ceil(180.0 / zone_height - 1e-9))


def _zone_of(dec, zone_height, nzones):
    """Zone number of declinations (degrees), clipped to the valid zones."""
    z = np.floor((np.asarray(dec, dtype=float) + 90.0) / zone_height)
    return np.clip(z, 0, nzones - 1).astype(np.int64)


def _check_zone_height(zone_height):
    zone_height = float(zone_height)
    if not 0.0 < zone_height <= 180.0:
        raise ValueError(f"zone_height must be in (0, 180] degrees, not {zone_height}")
    return zone_height


def _xyz(ra, dec):
    ra = np.deg2rad(ra)
    dec = np.deg2rad(dec)
    cd = np.cos(dec)
    return np.stack([cd * np.cos(ra), cd * np.sin(ra), np.sin(dec)], axis=-1)


def _expand(lo, counts):
    """Concatenate ``arange(lo[i], lo[i] + counts[i])`` over i, vectorised."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) + np.repeat(lo - (ends - counts), counts)


def _search(key, q, side, order):
    """``searchsorted(key, q, side)``, querying in the order ``order`` if given."""
    if order is None:
        return np.searchsorted(key, q, side)
    out = np.empty(len(q), dtype=np.int64)
    out[order] = np.searchsorted(key, q[order], side)
    return out


class ZoneIndex:
    """Declination-zone index of items sorted by (zone, RA).

    Parameters
    ----------
    ra, dec : array-like
        Item coordinates in degrees, 1-D, ra in [0, 360] (360 is 0; float32
        columns may round to it), ALREADY in the
        order given by `ZoneIndex.sort_order` with the same ``zone_height``.
        They may be read-only (e.g. memory-mapped); they are neither written
        to nor copied, only referenced.
    xyz : array-like, optional
        ``(N, 3)`` unit vectors of the items, as `ZoneIndex.item_vectors`
        computes them (e.g. stored beside the coordinates and memory-mapped);
        by default they are computed on first need and cached.
    zone_height : float, optional
        Height of the declination zones in degrees. About the typical search
        radius (or a little more) is a good choice.

    Raises
    ------
    ValueError
        If the coordinates are not finite, out of range, or not sorted.

    Notes
    -----
    The index keeps one float64 key per item (``zone * 360 + ra``) and the
    start offset of every zone. Item unit vectors are computed on first need
    (a large query) and cached.
    """

    def __init__(self, ra, dec, *, zone_height=0.5, xyz=None):
        self.zone_height = _check_zone_height(zone_height)
        self.ra = np.asarray(ra)
        self.dec = np.asarray(dec)
        if self.ra.ndim != 1 or self.ra.shape != self.dec.shape:
            raise ValueError("ra and dec must be 1-D arrays of the same length")
        self.nzones = _nzones(self.zone_height)
        n = len(self.ra)
        if n:
            lo_ra, hi_ra = float(self.ra.min()), float(self.ra.max())
            lo_dec, hi_dec = float(self.dec.min()), float(self.dec.max())
            # NaN fails every comparison
            if not (lo_ra >= 0.0 and hi_ra <= 360.0):
                raise ValueError("item ra must be finite and in [0, 360]")
            if not (lo_dec >= -90.0 and hi_dec <= 90.0):
                raise ValueError("item dec must be finite and in [-90, 90]")
        zone = _zone_of(self.dec, self.zone_height, self.nzones)
        dz = np.diff(zone)
        if n > 1 and not (
            (dz >= 0).all() and ((dz > 0) | (np.diff(self.ra) >= 0)).all()
        ):
            raise ValueError(
                "items are not sorted by (zone, ra): store them in the order of "
                "ZoneIndex.sort_order(ra, dec, zone_height=...)"
            )
        #: start offset of each zone (nzones + 1 entries)
        self.offsets = np.searchsorted(zone, np.arange(self.nzones + 1))
        self._key = zone * 360.0 + self.ra
        self._xyz_cache = None
        if xyz is not None:
            if np.shape(xyz) != (n, 3):
                raise ValueError(f"xyz must have shape ({n}, 3), not {np.shape(xyz)}")
            self._xyz_cache = xyz

    @staticmethod
    def item_vectors(ra, dec):
        """Return unit vectors of items, as the index computes them for its test.

        Parameters
        ----------
        ra, dec : array-like
            Item coordinates in degrees.

        Returns
        -------
        xyz : `~numpy.ndarray`
            ``(N, 3)`` float64, for the ``xyz`` argument.
        """
        return _xyz(np.asarray(ra, dtype=float), np.asarray(dec, dtype=float))

    @staticmethod
    def sort_order(ra, dec, *, zone_height=0.5):
        """Permutation that sorts items by (declination zone, RA).

        Parameters
        ----------
        ra, dec : array-like
            Item coordinates in degrees, 1-D.
        zone_height : float, optional
            Height of the declination zones in degrees.

        Returns
        -------
        order : `~numpy.ndarray`
            int64 permutation; store the item columns as ``col[order]``.
        """
        zone_height = _check_zone_height(zone_height)
        ra = np.asarray(ra, dtype=float)
        dec = np.asarray(dec, dtype=float)
        zone = _zone_of(dec, zone_height, _nzones(zone_height))
        return np.lexsort((ra, zone)).astype(np.int64)

    def __len__(self):
        return len(self.ra)

    def __repr__(self):
        return (
            f"<ZoneIndex: {len(self)} items in {self.nzones} zones of "
            f"{self.zone_height} deg>"
        )

    def _item_xyz(self, items):
        if self._xyz_cache is not None:
            return self._xyz_cache[items]
        return _xyz(
            np.asarray(self.ra[items], dtype=float),
            np.asarray(self.dec[items], dtype=float),
        )

    def _ranges(self, ra, dec, radius):
        """Candidate index ranges ``(point, lo, hi)``, ordered by point then lo."""
        h, nz = self.zone_height, self.nzones
        zlo = _zone_of(dec - radius, h, nz)
        zhi = _zone_of(dec + radius, h, nz)
        full = np.abs(dec) + radius >= 90.0 - 1e-9
        r = np.deg2rad(np.minimum(radius, 89.0))
        d = np.deg2rad(dec)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.rad2deg(
                np.arctan(np.sin(r) / np.sqrt(np.abs(np.cos(d - r) * np.cos(d + r))))
            )
        alpha = alpha * (1 + _ALPHA_SLACK[0]) + _ALPHA_SLACK[1]
        full |= ~(alpha < 179.0)  # also NaN
        alpha = np.where(full, 180.0, alpha)
        # one row per (point, zone)
        nzp = zhi - zlo + 1
        point = np.repeat(np.arange(len(ra), dtype=np.int64), nzp)
        zone = _expand(zlo, nzp)
        ra_p, alpha_p, full_p = ra[point], alpha[point], full[point]
        start = self.offsets[zone]
        end = self.offsets[zone + 1]
        base = zone * 360.0
        lo_ra = ra_p - alpha_p
        hi_ra = ra_p + alpha_p
        key = self._key
        # binary searches are much faster for (nearly) sorted queries
        order = np.argsort(base + ra_p) if len(ra_p) > 4096 else None
        main_lo = _search(key, base + np.maximum(lo_ra, 0.0), "left", order)
        main_hi = _search(key, base + np.minimum(hi_ra, 360.0), "right", order)
        main_lo = np.where(full_p, start, np.clip(main_lo, start, end))
        main_hi = np.where(full_p, end, np.clip(main_hi, start, end))
        # wrap-around parts of the window, at the start and end of the zone
        wrap_hi = ~full_p & (hi_ra >= 360.0)
        wrap_lo = ~full_p & (lo_ra < 0.0)
        head_hi = start.copy()
        if wrap_hi.any():
            k = np.flatnonzero(wrap_hi)
            hit = np.searchsorted(key, base[k] + (hi_ra[k] - 360.0), "right")
            head_hi[k] = np.clip(hit, start[k], main_lo[k])
        tail_lo = end.copy()
        if wrap_lo.any():
            k = np.flatnonzero(wrap_lo)
            hit = np.searchsorted(key, base[k] + (lo_ra[k] + 360.0), "left")
            tail_lo[k] = np.clip(hit, main_hi[k], end[k])
        # three ranges per (point, zone), in increasing item order
        lo = np.stack([start, main_lo, tail_lo], axis=1).ravel()
        hi = np.stack([head_hi, main_hi, end], axis=1).ravel()
        return np.repeat(point, 3), lo, np.maximum(hi - lo, 0)

    def query_pairs(self, ra, dec, radius):
        """All (point, item) pairs within an angular distance.

        Parameters
        ----------
        ra, dec : array-like
            Positions in degrees (1-D or scalars; broadcast with ``radius``).
        radius : float or array-like
            Search radius in degrees, scalar or one per position, 0 to 180.

        Returns
        -------
        point_index, item_index : `~numpy.ndarray`
            int64 arrays of equal length: every pair whose angular
            separation is <= radius, sorted by point, then item.
        """
        ra, dec, radius = np.broadcast_arrays(
            np.atleast_1d(np.asarray(ra, dtype=float)),
            np.atleast_1d(np.asarray(dec, dtype=float)),
            np.atleast_1d(np.asarray(radius, dtype=float)),
        )
        if ra.ndim != 1:
            raise ValueError("ra, dec and radius must be 1-D or scalars")
        if not (np.isfinite(ra).all() and (np.abs(dec) <= 90.0).all()):
            raise ValueError("positions must be finite with |dec| <= 90")
        if not ((radius >= 0.0).all() and (radius <= 180.0).all()):
            raise ValueError("radius must be in [0, 180] degrees")
        empty = np.empty(0, dtype=np.int64)
        if len(ra) == 0 or len(self) == 0:
            return empty, empty
        ra = ra % 360.0
        ra = np.where(ra >= 360.0, ra - 360.0, ra)
        p_xyz = _xyz(ra, dec)
        # squared chord length of the radius; all points for 180 degrees
        chord2 = np.where(
            radius >= 180.0, np.inf, (2.0 * np.sin(np.deg2rad(radius) / 2.0)) ** 2
        )
        out_p, out_i = [], []
        # ranges are computed for blocks of points, candidates for blocks of
        # ranges: memory stays bounded whatever the radii
        step = max(1, _MAX_CANDIDATES // 16)
        for p0 in range(0, len(ra), step):
            sl = slice(p0, p0 + step)
            point, lo, cnt = self._ranges(ra[sl], dec[sl], radius[sl])
            point += p0
            keep = cnt > 0
            point, lo, cnt = point[keep], lo[keep], cnt[keep]
            if self._xyz_cache is None and cnt.sum() > len(self) // 4:
                self._xyz_cache = _xyz(
                    np.asarray(self.ra, dtype=float), np.asarray(self.dec, dtype=float)
                )
            ends = np.cumsum(cnt)
            r0 = 0
            while r0 < len(cnt):
                done = ends[r0 - 1] if r0 else 0
                r1 = max(r0 + 1, int(np.searchsorted(ends, done + _MAX_CANDIDATES)))
                c = cnt[r0:r1]
                items = _expand(lo[r0:r1], c)
                pts = np.repeat(point[r0:r1], c)
                diff = self._item_xyz(items) - p_xyz[pts]
                ok = np.einsum("ij,ij->i", diff, diff) <= chord2[pts]
                out_p.append(pts[ok])
                out_i.append(items[ok])
                r0 = r1
        if not out_p:
            return empty, empty
        return np.concatenate(out_p), np.concatenate(out_i)

    def query_circle(self, ra, dec, radius):
        """Items within one circle.

        Parameters
        ----------
        ra, dec : float
            Circle centre, degrees.
        radius : float
            Circle radius, degrees, 0 to 180.

        Returns
        -------
        items : `~numpy.ndarray`
            Sorted int64 indices of the items within ``radius``.
        """
        if np.ndim(ra) or np.ndim(dec) or np.ndim(radius):
            raise ValueError("query_circle takes one centre and one radius")
        return self.query_pairs(ra, dec, radius)[1]
