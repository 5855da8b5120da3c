# Licensed under a 3-clause BSD style license - see LICENSE
"""Footprint plots of a result: `plot_footprints` (``ImageTable.plot``).

The footprints are drawn on a `~astropy.visualization.wcsaxes.WCSAxes` whose
WCS is a gnomonic (TAN) projection centred on the result: great circles are
straight lines in that projection, so the four corners of each footprint
(from ``s_region``), joined by straight lines in pixel space, are its exact
outline, whatever the right ascension (across 0/360) or declination (at the
poles). matplotlib is imported only here, when a picture is asked for
(`require_matplotlib`).
"""

import numpy as np

__all__ = [
    "BAND_COLORS",
    "footprint_wcs",
    "plot_footprints",
    "require_matplotlib",
]

#: Colours of the 2MASS bands in the plots (short to long wavelength).
BAND_COLORS = {"J": "tab:blue", "H": "tab:green", "K": "tab:red"}
_BEST_COLORS = {True: "tab:orange", False: "0.55"}


def require_matplotlib():
    """Import matplotlib's pyplot, or say how to install it.

    Returns
    -------
    pyplot : module
        ``matplotlib.pyplot``.

    Raises
    ------
    ImportError
        With the install hint, when matplotlib is missing.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "pictures need matplotlib: pip install 'twomass_vo[plot]' "
            "(or pip install matplotlib)"
        ) from None

    return plt


def _unit(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack(
        [np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1
    )


def footprint_wcs(ra, dec, *, npix=600, margin=1.15):
    """Return a TAN WCS centred on a set of sky points, covering them all.

    Parameters
    ----------
    ra, dec : array-like
        Points (degrees) to cover, e.g. footprint corners.
    npix : int, optional
        Width and height of the pixel grid.
    margin : float, optional
        Field size over the points' extent.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        ICRS ``RA---TAN``/``DEC--TAN``, north up, east left, with
        ``pixel_shape`` set; its centre is the mean direction of the points
        (so sets across RA 0/360 or around a pole are centred correctly).
    """
    from astropy.wcs import WCS

    xyz = _unit(np.ravel(ra), np.ravel(dec))
    mean = xyz.sum(axis=0)
    norm = np.linalg.norm(mean)
    if not len(xyz) or norm < 1e-9:
        raise ValueError("nothing to plot, or points all around the sky")
    mean /= norm
    ra0 = float(np.degrees(np.arctan2(mean[1], mean[0])) % 360.0)
    dec0 = float(np.degrees(np.arcsin(np.clip(mean[2], -1, 1))))
    cosang = np.clip(xyz @ mean, -1.0, 1.0)
    if cosang.min() <= 0.05:
        raise ValueError("the points span more than a hemisphere: no TAN plot")
    # gnomonic radius of the farthest point, in degrees of the tangent plane
    extent = float(np.degrees(np.tan(np.arccos(cosang.min()))))
    extent = max(extent, 1.0 / 60.0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    scale = 2.0 * extent * margin / npix
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = (npix, npix)
    return wcs


def _region_points(text, npoints=181):
    """Return (ra, dec) vertices of a ``CIRCLE``/``POLYGON ICRS`` string, or None."""
    tokens = str(text).split()
    if len(tokens) < 2:
        return None
    numbers = [float(t) for t in tokens[2:]]
    if tokens[0].upper() == "CIRCLE" and len(numbers) == 3:
        from astropy import units as u
        from astropy.coordinates import SkyCoord

        centre = SkyCoord(numbers[0], numbers[1], unit="deg")
        angles = np.linspace(0.0, 360.0, npoints) * u.deg
        ring = centre.directional_offset_by(angles, numbers[2] * u.deg)
        return ring.ra.deg, ring.dec.deg
    if tokens[0].upper() == "POLYGON" and len(numbers) >= 6:
        # closed; the edges are great circles: straight lines in TAN
        ra, dec = numbers[0::2], numbers[1::2]
        return np.array([*ra, ra[0]]), np.array([*dec, dec[0]])
    return None


def _input_positions(table):
    if "in_ra" not in table.colnames or len(table) == 0:
        return np.empty(0), np.empty(0)
    ra = np.asarray(table["in_ra"], dtype=float)
    dec = np.asarray(table["in_dec"], dtype=float)
    good = np.isfinite(ra) & np.isfinite(dec)
    if table.meta.get("mode") not in ("positions", "region"):
        good &= False
    pairs = np.unique(np.stack([ra[good], dec[good]], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def plot_footprints(
    table,
    ax=None,
    *,
    color_by="band",
    show_region=True,
    show_positions=True,
    npix=600,
):
    """Plot the footprints of a result on a sky projection.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result; its ``s_region`` corners are the footprints.
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes to draw on (their WCS is used). By default a new figure with
        axes on `footprint_wcs` of the footprints, region and positions.
    color_by : {'band', 'best'}, optional
        Colour the footprints by band (J blue, H green, Ks red) or by the
        positions mode's ``best`` flag (best orange, others grey).
    show_region : bool, optional
        Draw the query region (region mode: the circle or polygon recorded
        in ``table.meta['parameters']['region']``).
    show_positions : bool, optional
        Mark the input positions (``in_ra``, ``in_dec``) of the positions
        and region modes.
    npix : int, optional
        Size of the pixel grid of a new axes.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        The axes; each footprint is a `~matplotlib.patches.Polygon` whose
        ``gid`` is ``'footprint:<row index>'``.
    """
    if color_by not in ("band", "best"):
        raise ValueError(f"color_by={color_by!r}: use 'band' or 'best'")
    plt = require_matplotlib()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon

    from .geometry import Footprints

    if len(table):
        footprints = Footprints.from_s_region(np.asarray(table["s_region"]))
        ra, dec = footprints.corners_radec()
    else:
        ra = dec = np.empty((0, 4))
    params = table.meta.get("parameters") or {}
    region = None
    if show_region and "region" in params:
        region = _region_points(params["region"])
    pos_ra, pos_dec = _input_positions(table) if show_positions else ((), ())
    if ax is None:
        every_ra = np.concatenate(
            [ra.ravel(), np.ravel(pos_ra)] + ([region[0]] if region else [])
        )
        every_dec = np.concatenate(
            [dec.ravel(), np.ravel(pos_dec)] + ([region[1]] if region else [])
        )
        wcs = footprint_wcs(every_ra, every_dec, npix=npix)
        fig = plt.figure(figsize=(6, 6))
        ax = fig.add_subplot(projection=wcs)
        ax.set_xlim(-0.5, npix - 0.5)
        ax.set_ylim(-0.5, npix - 0.5)
    wcs = ax.wcs
    handles = {}
    bands = np.asarray(table["band"]).astype(str) if len(table) else []
    best = np.asarray(table["best"], dtype=bool) if len(table) else []
    for i in range(len(table)):
        x, y = wcs.world_to_pixel_values(ra[i], dec[i])
        if color_by == "band":
            key = bands[i].upper()
            color = BAND_COLORS.get(key, "k")
            label = "Ks" if key == "K" else key
            style = "-"
        else:
            key = bool(best[i])
            color = _BEST_COLORS[key]
            label = "best" if key else "other"
            style = "-" if key else "--"
        patch = Polygon(
            np.stack([x, y], axis=1),
            closed=True,
            fill=False,
            edgecolor=color,
            linestyle=style,
            linewidth=1.2,
            gid=f"footprint:{i}",
        )
        ax.add_patch(patch)
        handles.setdefault(label, Line2D([], [], color=color, linestyle=style))
    if region is not None:
        x, y = wcs.world_to_pixel_values(*region)
        ax.plot(x, y, color="k", linewidth=1.5, gid="region")
        handles["query region"] = Line2D([], [], color="k", linewidth=1.5)
    if len(pos_ra):
        x, y = wcs.world_to_pixel_values(pos_ra, pos_dec)
        ax.plot(x, y, "x", color="m", markersize=7, mew=1.5, gid="positions")
        handles["input position"] = Line2D(
            [], [], color="m", marker="x", linestyle="none"
        )
    ax.coords[0].set_axislabel("Right ascension (ICRS)")
    ax.coords[1].set_axislabel("Declination (ICRS)")
    ax.coords.grid(color="0.85", linestyle=":")
    if handles:
        order = sorted(
            handles,
            key=lambda k: list(BAND_COLORS).index(k[0]) if k in ("J", "H", "Ks") else 9,
        )
        ax.legend(
            [handles[k] for k in order], order, loc="upper right", fontsize="small"
        )
    mode = table.meta.get("mode")
    if mode:
        ax.set_title(f"{len(table)} image file(s), {mode} mode", fontsize="medium")
    return ax
