# Licensed under a 3-clause BSD style license - see LICENSE
"""Where a picture of a result looks: its extent, an all-sky map, its groups.

The footprint plots (`twomass_vo.results.plotting`) draw a result on a gnomonic
(TAN) projection centred on it while its points lie within `SPAN_LIMIT`
degrees of each other, and on a Hammer-Aitoff (``AIT``) or Mollweide
(``MOL``) map of the whole sky otherwise (`allsky_wcs`). On such a map a
2MASS image is smaller than a pixel, so the points are also gathered into
groups a degree across (`sky_groups`), each of which can be shown in a
zoomed panel of its own. Everything works on unit vectors: the RA 0/360
seam and the poles need no special cases.
"""

import numpy as np

from ..geometry.unit_vectors import radec_to_xyz
from .picture_style import check_count

__all__ = [
    "ALLSKY_PROJECTIONS",
    "GROUP_RADIUS",
    "SPAN_LIMIT",
    "allsky_wcs",
    "central_ra",
    "sky_extent",
    "sky_groups",
]

#: Widest span (degrees) of the points drawn on a TAN projection; wider
#: results are drawn on an all-sky map.
SPAN_LIMIT = 60.0
#: All-sky projections of `allsky_wcs` (FITS WCS codes).
ALLSKY_PROJECTIONS = ("AIT", "MOL")
#: Radius (degrees) of the groups of `sky_groups`.
GROUP_RADIUS = 1.0
# Half-width and half-height of the AIT and MOL planes, in degrees of the
# plane (both are 2 sqrt(2) x sqrt(2) radians).
_HALF_WIDTH = float(np.degrees(2.0 * np.sqrt(2.0)))
_HALF_HEIGHT = float(np.degrees(np.sqrt(2.0)))


def sky_extent(ra, dec):
    """Return the mean direction of points and the largest angle from it.

    Parameters
    ----------
    ra, dec : array-like
        Points, degrees.

    Returns
    -------
    ra0, dec0 : float
        The normalised mean of the points' unit vectors (degrees), so that
        sets across RA 0/360 or around a pole are centred correctly; NaN when
        there are no points or they cancel out (spread around the sky).
    radius : float
        Largest angle (degrees) from ``(ra0, dec0)`` to a point: the points
        span at most twice it. 180 when the mean is undefined.
    """
    xyz = radec_to_xyz(np.ravel(ra), np.ravel(dec)).reshape(-1, 3)
    xyz = xyz[np.isfinite(xyz).all(axis=1)]
    mean = xyz.sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if not len(xyz) or norm < 1e-9 * len(xyz):
        return np.nan, np.nan, 180.0
    mean /= norm
    ra0 = float(np.degrees(np.arctan2(mean[1], mean[0])) % 360.0)
    dec0 = float(np.degrees(np.arcsin(np.clip(mean[2], -1.0, 1.0))))
    radius = float(np.degrees(np.arccos(np.clip((xyz @ mean).min(), -1.0, 1.0))))
    return ra0, dec0, radius


def central_ra(ra, *, step=30.0):
    """Right ascension to put at the centre of an all-sky map of points.

    The map's edge (the meridian opposite its centre) is put in the middle
    of the widest empty band of right ascension between the points, so that
    no group of points is cut in two; the centre is rounded to a multiple of
    ``step`` degrees when that keeps the edge in the empty band.

    Parameters
    ----------
    ra : array-like
        Right ascensions of the points, degrees.
    step : float, optional
        Rounding of the centre (30 degrees: two hours).

    Returns
    -------
    ra0 : float
        Degrees in [0, 360); 0 when there are no points.
    """
    ra = np.unique(np.mod(np.asarray(ra, dtype=float).ravel(), 360.0))
    ra = ra[np.isfinite(ra)]
    if not len(ra):
        return 0.0
    gaps = np.diff(np.append(ra, ra[0] + 360.0))
    widest = int(np.argmax(gaps))
    edge = ra[widest] + gaps[widest] / 2.0
    centre = (edge + 180.0) % 360.0
    rounded = (np.round(centre / step) * step) % 360.0
    shift = abs((rounded - centre + 180.0) % 360.0 - 180.0)
    if shift < gaps[widest] / 2.0:
        centre = rounded
    return float(centre % 360.0)


def allsky_wcs(ra=(), dec=(), *, npix=720, projection="AIT"):
    """Return a WCS of the whole sky: Hammer-Aitoff or Mollweide, ICRS.

    Parameters
    ----------
    ra, dec : array-like, optional
        Points to show: the map is centred on the equator at `central_ra`
        of them (RA 0 when there are none).
    npix : int, optional
        Width of the pixel grid; the height is half of it.
    projection : {'AIT', 'MOL'}, optional
        Hammer-Aitoff (equal area, the default) or Mollweide.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        ``RA---AIT``/``DEC--AIT`` (or ``MOL``), east left, with
        ``pixel_shape`` ``(npix, npix // 2)``; the whole sky is the ellipse
        inscribed in the grid (draw it with
        `~astropy.visualization.wcsaxes.frame.EllipticalFrame`).
    """
    from astropy.wcs import WCS

    projection = str(projection).upper()
    if projection not in ALLSKY_PROJECTIONS:
        raise ValueError(
            f"projection={projection!r}: use one of {', '.join(ALLSKY_PROJECTIONS)}"
        )
    npix = check_count(npix, "npix")
    width, height = npix, max(npix // 2, 1)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = [f"RA---{projection}", f"DEC--{projection}"]
    wcs.wcs.crval = [central_ra(ra), 0.0]
    wcs.wcs.crpix = [(width + 1) / 2.0, (height + 1) / 2.0]
    scale = max(2.0 * _HALF_WIDTH / width, 2.0 * _HALF_HEIGHT / height)
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = (width, height)
    return wcs


def sky_groups(ra, dec, *, radius=GROUP_RADIUS, limit=None):
    """Gather points into groups: each point within ``radius`` of its group's first.

    A point that starts a group takes every point not yet grouped within
    ``radius`` of it; groups are numbered in the order of their first point.

    Parameters
    ----------
    ra, dec : array-like
        Points, degrees.
    radius : float, optional
        Degrees.
    limit : int, optional
        Stop, returning `None`, as soon as there are more groups than this.

    Returns
    -------
    labels : `~numpy.ndarray` or None
        The group number of each point (0, 1, ...), or `None` past ``limit``.
    """
    xyz = radec_to_xyz(np.ravel(ra), np.ravel(dec)).reshape(-1, 3)
    labels = np.full(len(xyz), -1, dtype=np.intp)
    cos_radius = np.cos(np.radians(float(radius)))
    group = 0
    while True:
        free = np.flatnonzero(labels < 0)
        if not len(free):
            return labels
        if limit is not None and group >= limit:
            return None
        near = xyz[free] @ xyz[free[0]] >= cos_radius
        near[0] = True  # the first point, even if it is not finite
        labels[free[near]] = group
        group += 1
