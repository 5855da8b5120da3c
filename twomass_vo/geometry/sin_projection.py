# Licensed under a 3-clause BSD style license - see LICENSE
"""The SIN (orthographic) projection of 2MASS image headers, on unit vectors.

`sin_pix2world` maps FITS pixel coordinates to unit vectors, `sin_corners`
gives the four outer pixel-edge corners of each image (its footprint).
"""

import numpy as np

from .unit_vectors import (
    normalize,
)

__all__ = [
    "outer_pixel_edges",
    "sin_corners",
    "sin_pix2world",
]


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
    return normalize(out)


def outer_pixel_edges(naxis1, naxis2):
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

    px, py = outer_pixel_edges(flat(naxis1)[:, 0], flat(naxis2)[:, 0])
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
