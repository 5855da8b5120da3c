# Licensed under a 3-clause BSD style license - see LICENSE
"""Footprint plots of a result: `plot_footprints` (``ImageTable.plot``).

The footprints are drawn on a `~astropy.visualization.wcsaxes.WCSAxes`. A
result whose points lie within `~twomass_vo.results.sky_maps.SPAN_LIMIT` (60) degrees
is drawn on a gnomonic (TAN) projection centred on it: great circles are
straight lines there, so the four corners of each footprint (from
``s_region``), joined by straight lines in pixel space, are its exact
outline, whatever the right ascension (across 0/360) or declination (at the
poles). A wider result is drawn on a Hammer-Aitoff map of the whole sky,
where an image is smaller than a pixel: each footprint is also marked by a
dot, and each group of images (a degree across) gets a zoomed TAN panel of
its own under the map. The J, H and Ks images of a set share one footprint,
drawn once and labelled ``J/H/Ks``. matplotlib is imported only here, when a
picture is asked for (`require_matplotlib`).
"""

import warnings

import numpy as np

from ..exceptions import NoResultsWarning
from .picture_style import (
    check_count,
    fit_text,
    position_label,
    result_title,
    style_sky_axes,
)
from .sky_maps import ALLSKY_PROJECTIONS, SPAN_LIMIT, allsky_wcs, sky_extent, sky_groups

__all__ = [
    "BAND_COLORS",
    "SHARED_COLORS",
    "footprint_wcs",
    "plot_footprints",
    "require_matplotlib",
]

#: Colours of the 2MASS bands in the plots (short to long wavelength).
BAND_COLORS = {"J": "tab:blue", "H": "tab:green", "K": "tab:red"}
#: Colours of a footprint shared by the images of several bands of a set.
SHARED_COLORS = {
    "J/H/Ks": "tab:purple",
    "J/H": "tab:cyan",
    "H/Ks": "tab:olive",
    "J/Ks": "tab:brown",
}
_BEST_COLORS = {True: "tab:orange", False: "0.55"}
_PROJECTION_NAMES = {"AIT": "Hammer-Aitoff", "MOL": "Mollweide"}
_MARK_COLOR = "m"  # input positions and cutout boxes
_BAND_NAMES = {"J": "J", "H": "H", "K": "Ks"}
# a footprint smaller than this (pixels) is also marked by a dot
_DOT_BELOW = 4.0
# corners of footprints closer than this (radians, 0.2 arcsec) are one
_SAME_CORNER = 1e-6


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


def footprint_wcs(ra, dec, *, npix=600, margin=1.15, projection="auto"):
    """Return a WCS showing a set of sky points: TAN centred on them, or all-sky.

    Parameters
    ----------
    ra, dec : array-like
        Points (degrees) to show, e.g. footprint corners.
    npix : int, optional
        Width and height of the pixel grid (TAN); width of an all-sky grid,
        whose height is half of it.
    margin : float, optional
        Field size over the points' extent (TAN).
    projection : {'auto', 'TAN', 'AIT', 'MOL'}, optional
        ``'auto'``: TAN when the points span at most
        `~twomass_vo.results.sky_maps.SPAN_LIMIT` degrees, else a Hammer-Aitoff map
        of the whole sky (also for no points at all); ``'TAN'``; or an
        all-sky ``'AIT'`` or ``'MOL'`` (Mollweide) map
        (`~twomass_vo.results.sky_maps.allsky_wcs`).

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        ICRS, north up, east left, with ``pixel_shape`` set. A TAN WCS is
        centred on the mean direction of the points (so sets across RA 0/360
        or around a pole are centred correctly) and covers them all.

    Raises
    ------
    ValueError
        For a TAN projection of no points, or of points spanning a
        hemisphere.
    """
    choice = str(projection).upper()
    if choice not in ("AUTO", "TAN", *ALLSKY_PROJECTIONS):
        raise ValueError(
            f"projection={projection!r}: use 'auto', 'TAN', "
            f"{', '.join(repr(p) for p in ALLSKY_PROJECTIONS)}"
        )
    npix = check_count(npix, "npix")
    ra0, dec0, radius = sky_extent(ra, dec)
    if choice == "AUTO":
        choice = "TAN" if 2.0 * radius <= SPAN_LIMIT else "AIT"
    if choice != "TAN":
        return allsky_wcs(ra, dec, npix=npix, projection=choice)
    if np.isnan(ra0):
        raise ValueError("nothing to plot, or points all around the sky")
    if np.cos(np.radians(radius)) <= 0.05:
        raise ValueError("the points span more than a hemisphere: no TAN plot")
    from astropy.wcs import WCS

    # gnomonic radius of the farthest point, in degrees of the tangent plane
    extent = max(float(np.degrees(np.tan(np.radians(radius)))), 1.0 / 60.0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    scale = 2.0 * extent * margin / npix
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = (npix, npix)
    return wcs


def _is_tan(wcs):
    return str(wcs.wcs.ctype[0]).upper().endswith("TAN")


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


def _great_circle_path(ra, dec, steps=32):
    """Points along the great-circle arcs between successive vertices."""
    from ..geometry.unit_vectors import normalize, radec_to_xyz, xyz_to_radec

    xyz = radec_to_xyz(ra, dec)
    t = np.linspace(0.0, 1.0, steps, endpoint=False)[None, :, None]
    arcs = normalize(xyz[:-1, None, :] * (1.0 - t) + xyz[1:, None, :] * t)
    return xyz_to_radec(np.concatenate([arcs.reshape(-1, 3), xyz[-1:]]))


def _line_pixels(wcs, ra, dec):
    """Pixel path of a line; broken (NaN) where it jumps across an all-sky edge."""
    if _is_tan(wcs):  # great circles are straight lines
        return wcs.world_to_pixel_values(ra, dec)
    x, y = wcs.world_to_pixel_values(*_great_circle_path(ra, dec))
    width = wcs.pixel_shape[0] if wcs.pixel_shape else np.inf
    jumps = np.flatnonzero(np.abs(np.diff(x)) > width / 2.0) + 1
    return np.insert(x, jumps, np.nan), np.insert(y, jumps, np.nan)


def _column(table, name, fill):
    if name not in table.colnames:
        return np.full(len(table), fill)
    return np.ma.filled(np.ma.asarray(table[name]), fill)


def _input_positions(table):
    """Return the unique input positions (positions, region modes), their label."""
    mode = table.meta.get("mode")
    if "in_ra" not in table.colnames or mode not in ("positions", "region"):
        return np.empty(0), np.empty(0), None
    ra = _column(table, "in_ra", np.nan).astype(float)
    dec = _column(table, "in_dec", np.nan).astype(float)
    good = np.isfinite(ra) & np.isfinite(dec)
    pairs = np.unique(np.stack([ra[good], dec[good]], axis=1), axis=0)
    label = "input position" if mode == "positions" else "region centre"
    return pairs[:, 0], pairs[:, 1], label


def _groups(keys):
    """Row indices of each distinct key row, in the order of first appearance."""
    if not len(keys):
        return []
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    rank = rank[np.ravel(inverse)]
    order = np.argsort(rank, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(rank[order])) + 1)


def _shared_footprints(corners):
    """Rows whose footprints have the same four corners (in any order)."""
    key = np.round(corners / _SAME_CORNER).astype(np.int64)
    order = np.lexsort((key[..., 2], key[..., 1], key[..., 0]), axis=-1)
    key = np.take_along_axis(key, order[..., None], axis=1)
    return _groups(key.reshape(len(key), 12))


def _cutout_boxes(table, footprint_ra, footprint_dec):
    """One (rows, ra, dec, size) per distinct cutout: a square on the image axes."""
    size = _column(table, "cutout_size", 0.0).astype(float)
    chosen = np.flatnonzero(np.isfinite(size) & (size > 0))
    if not len(chosen):
        return []
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    ra = _column(table, "in_ra", np.nan).astype(float)
    dec = _column(table, "in_dec", np.nan).astype(float)
    none = ~(np.isfinite(ra) & np.isfinite(dec))  # centred on the image
    ra[none] = np.asarray(table["ra"], dtype=float)[none]
    dec[none] = np.asarray(table["dec"], dtype=float)[none]
    keys = np.round(np.stack([ra, dec, size / 3600.0], axis=1)[chosen] * 1e6)
    rows = [chosen[g] for g in _groups(keys.astype(np.int64))]
    first = np.array([r[0] for r in rows])
    # the box is square on the image's pixel axes: turned as its edges are
    start = SkyCoord(footprint_ra[first, 0], footprint_dec[first, 0], unit="deg")
    end = SkyCoord(footprint_ra[first, 1], footprint_dec[first, 1], unit="deg")
    turn = start.position_angle(end).deg
    angles = turn[:, None] + 45.0 + 90.0 * np.arange(5)
    centres = SkyCoord(np.repeat(ra[first], 5), np.repeat(dec[first], 5), unit="deg")
    ring = centres.directional_offset_by(
        angles.ravel() * u.deg, np.repeat(size[first] / np.sqrt(2.0), 5) * u.arcsec
    )
    box_ra = ring.ra.deg.reshape(-1, 5)
    box_dec = ring.dec.deg.reshape(-1, 5)
    return [(r, box_ra[k], box_dec[k], size[r[0]]) for k, r in enumerate(rows)]


class _Scene:
    """What a picture of a result shows, in sky coordinates."""

    def __init__(self, table, *, region=None, cutouts=True, positions=True):
        self.table = table
        if len(table):
            from ..geometry import Footprints

            footprints = Footprints.from_s_region(np.asarray(table["s_region"]))
            self.ra, self.dec = footprints.corners_radec()
            self.shared = _shared_footprints(footprints.corners)
        else:
            self.ra = self.dec = np.empty((0, 4))
            self.shared = []
        self.region = region
        self.boxes = _cutout_boxes(table, self.ra, self.dec) if cutouts else []
        self.positions = _input_positions(table)
        if not positions:
            self.positions = (np.empty(0), np.empty(0), None)

    def points(self):
        """Right ascensions and declinations the picture must show."""
        parts = [(self.ra.ravel(), self.dec.ravel()), self.positions[:2]]
        parts += [(box[1], box[2]) for box in self.boxes]
        if self.region is not None:
            parts.append(self.region)
        return tuple(np.concatenate([np.ravel(p[i]) for p in parts]) for i in (0, 1))


def _band_style(bands):
    """Label and colour of a footprint shared by the images of ``bands``."""
    present = [b for b in ("J", "H", "K") if b in bands]
    label = "/".join(
        [_BAND_NAMES[b] for b in present] + sorted(set(bands) - set(present))
    )
    if len(bands) == 1:
        return label, BAND_COLORS.get(present[0] if present else "", "k")
    return label, SHARED_COLORS.get(label, "k")


def _draw(ax, scene, *, color_by):
    """Draw a scene on WCSAxes; return the legend handles (label -> artist)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon

    table, wcs, handles, dots = scene.table, ax.wcs, {}, {}
    bands = np.char.upper(np.asarray(table["band"]).astype(str)) if len(table) else []
    best = np.asarray(table["best"], dtype=bool) if len(table) else np.zeros(0, bool)
    styled = color_by == "best" or bool(best.any())  # best solid, others dashed
    # a footprint wider than half an all-sky map is cut by its edge
    seam = np.inf if _is_tan(wcs) or not wcs.pixel_shape else wcs.pixel_shape[0] / 2
    for rows in scene.shared:
        is_best = bool(best[rows].any())
        if color_by == "band":
            label, color = _band_style(set(bands[rows]))
        else:
            label, color = ("best" if is_best else "other"), _BEST_COLORS[is_best]
        solid = is_best or not styled
        x, y = wcs.world_to_pixel_values(scene.ra[rows[0]], scene.dec[rows[0]])
        extent = max(np.ptp(x), np.ptp(y))
        if extent < seam:
            ax.add_patch(
                Polygon(
                    np.stack([x, y], axis=1),
                    closed=True,
                    fill=False,
                    edgecolor=color,
                    linestyle="-" if solid else "--",
                    linewidth=1.4 if solid else 1.0,
                    gid="footprint:" + ",".join(str(r) for r in rows),
                )
            )
        if not extent >= _DOT_BELOW:  # too small to see: a dot too
            dots.setdefault((label, color), []).append((np.mean(x), np.mean(y)))
        handles.setdefault(label, Line2D([], [], color=color, linewidth=1.4))
    for (label, color), xy in dots.items():
        x, y = np.transpose(xy)
        ax.plot(x, y, "o", color=color, markersize=3, gid=f"dots:{label}")
    if styled and color_by == "band":
        for key, text in ((True, "best image set"), (False, "others")):
            if np.any(best == key):
                style = "-" if key else "--"
                handles[text] = Line2D([], [], color="0.3", linestyle=style)
    if scene.region is not None:
        x, y = _line_pixels(wcs, *scene.region)
        ax.plot(x, y, color="k", linewidth=1.5, gid="region")
        handles["query region"] = Line2D([], [], color="k", linewidth=1.5)
    for rows, box_ra, box_dec, _ in scene.boxes:
        x, y = _line_pixels(wcs, box_ra, box_dec)
        gid = "cutout:" + ",".join(str(r) for r in rows)
        ax.plot(x, y, color=_MARK_COLOR, linewidth=1.0, gid=gid)
    sizes = sorted({box[3] for box in scene.boxes})
    if sizes:
        text = f"cutout ({_size_text(sizes[0])})" if len(sizes) == 1 else "cutouts"
        handles[text] = Line2D([], [], color=_MARK_COLOR, linewidth=1.0)
    pos_ra, pos_dec, pos_label = scene.positions
    if len(pos_ra):
        x, y = wcs.world_to_pixel_values(pos_ra, pos_dec)
        ax.plot(x, y, "x", color=_MARK_COLOR, markersize=7, mew=1.5, gid="positions")
        handles[pos_label] = Line2D(
            [], [], color=_MARK_COLOR, marker="x", linestyle="none"
        )
    return handles


def _size_text(arcsec):
    if arcsec >= 60 and arcsec % 60 == 0:
        return f"{arcsec / 60.0:g}′"
    return f"{arcsec:g}″"


def _region_of(table, show_region):
    params = table.meta.get("parameters") or {}
    if show_region and "region" in params:
        return _region_points(params["region"])
    return None


def _new_axes(plt, wcs, n_zooms):
    """Make a figure (constrained layout), its main axes, room for zoom panels."""
    if _is_tan(wcs):
        figure = plt.figure(figsize=(7.4, 6.0), layout="compressed")
        return figure.add_subplot(projection=wcs), None
    from astropy.visualization.wcsaxes.frame import EllipticalFrame

    figure = plt.figure(
        figsize=(10.0, 4.4 + (2.8 if n_zooms else 0.0)), layout="constrained"
    )
    grid = figure.add_gridspec(
        2 if n_zooms else 1,
        max(n_zooms, 1),
        height_ratios=[1.45, 1.0] if n_zooms else None,
    )
    ax = figure.add_subplot(grid[0, :], projection=wcs, frame_class=EllipticalFrame)
    return ax, grid


def _legend(ax, handles, *, outside):
    if not handles:
        return
    first = ["J", "H", "Ks", *SHARED_COLORS, "best", "other", "best image set"]
    order = sorted(handles, key=lambda k: first.index(k) if k in first else 99)
    entries = [handles[k] for k in order], order
    if outside:  # the figure's: its layout keeps room for it beside the axes
        ax.figure.legend(*entries, fontsize="small", loc="outside right upper")
    else:
        ax.legend(*entries, fontsize="small", loc="best")


def _group_title(table, rows):
    """Zoom panel title: the first position's id (or designation), coordinates."""
    positions = _column(table, "in_ra", np.nan)[rows]
    if np.isfinite(positions).any():
        first = rows[np.flatnonzero(np.isfinite(positions))[0]]
        ra, dec = float(table["in_ra"][first]), float(table["in_dec"][first])
        name = str(_column(table, "id", "")[first])
        others = len(np.unique(np.asarray(table["scntr"])[rows])) - 1
    else:
        first = rows[0]
        ra, dec = float(table["ra"][first]), float(table["dec"][first])
        name = ""
        others = len(np.unique(np.asarray(table["coadd_key"])[rows])) - 1
    title = position_label(name, ra, dec)
    if others:
        title = title.replace("\n", f" (+{others})\n", 1)
    return title, ra, dec


def _zoom(ax, grid, k, table, rows, *, color_by, show_positions, show_cutouts):
    """Zoom panel k: a TAN view of one group of rows, lettered on the map too."""
    scene = _Scene(table[rows], cutouts=show_cutouts, positions=show_positions)
    npix = 400
    wcs = footprint_wcs(*scene.points(), npix=npix, margin=1.25, projection="TAN")
    zoom = ax.figure.add_subplot(grid[1, k], projection=wcs)
    zoom.set_xlim(-0.5, npix - 0.5)
    zoom.set_ylim(-0.5, npix - 0.5)
    _draw(zoom, scene, color_by=color_by)
    letter = chr(ord("A") + k)
    title, ra, dec = _group_title(table, rows)
    fit_text(zoom.set_title(f"{letter}: {title}", fontsize="small"), zoom.bbox.width)
    style_sky_axes(zoom, compact=True)
    x, y = ax.wcs.world_to_pixel_values(ra, dec)
    ax.annotate(
        letter,
        (float(x), float(y)),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize="small",
        fontweight="bold",
    )
    return zoom


def plot_footprints(
    table,
    ax=None,
    *,
    color_by="band",
    show_region=True,
    show_positions=True,
    show_cutouts=True,
    projection="auto",
    zooms=4,
    npix=600,
):
    """Plot the footprints of a result on a sky projection.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result; its ``s_region`` corners are the footprints. An empty
        result gives a `~twomass_vo.exceptions.NoResultsWarning` and a
        picture without footprints (the query region, if any, or the whole
        sky).
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes to draw on (their WCS is used; their aspect is made equal; the
        legend and the title go on them). By default a new figure with a
        layout engine, on `footprint_wcs` of the footprints, cutouts, region
        and positions, its legend beside the axes and its title (mode,
        archive, counts: `~twomass_vo.results.picture_style.result_title`) as the
        figure's, so that a plain ``savefig`` cuts nothing off.
    color_by : {'band', 'best'}, optional
        Colour the footprints by band (J blue, H green, Ks red; a footprint
        shared by the J, H and Ks images of a set, drawn once, purple
        ``J/H/Ks``) or by the positions mode's ``best`` flag (best orange,
        others grey). By band, the footprints of results with a ``best``
        image are solid for the best set of a position, dashed otherwise.
    show_region : bool, optional
        Draw the query region (region mode: the circle or polygon recorded
        in ``table.meta['parameters']['region']``).
    show_positions : bool, optional
        Mark the input positions (``in_ra``, ``in_dec``) of the positions
        and region modes.
    show_cutouts : bool, optional
        Draw the cutout of each row with a ``cutout_size``: a square of that
        size on the image's pixel axes, around the input position (as asked:
        the archive trims it at the edge of the image).
    projection : {'auto', 'TAN', 'AIT', 'MOL'}, optional
        Projection of new axes (see `footprint_wcs`): by default TAN when
        the result spans at most 60 degrees, else an all-sky Hammer-Aitoff
        map.
    zooms : int, optional
        Under an all-sky map, one zoomed TAN panel per group of images (a
        degree across; lettered on the map) when there are at most this many
        groups (default 4); 0 for none. The panels are
        ``ax.figure.axes[1:]``.
    npix : int, optional
        Size of the pixel grid of new axes.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        The axes. Each footprint drawn is a `~matplotlib.patches.Polygon`
        whose ``gid`` is ``'footprint:<row indices>'`` (the rows it stands
        for, e.g. ``'footprint:0,1,2'``); each cutout a line whose ``gid``
        is ``'cutout:<row indices>'``.
    """
    if color_by not in ("band", "best"):
        raise ValueError(f"color_by={color_by!r}: use 'band' or 'best'")
    zooms = check_count(zooms, "zooms", minimum=0)
    npix = check_count(npix, "npix")
    if ax is not None and getattr(ax, "wcs", None) is None:
        raise TypeError(
            "ax: give WCSAxes (e.g. fig.add_subplot(projection=wcs)), "
            f"not {type(ax).__name__}"
        )
    plt = require_matplotlib()
    if not len(table):
        warnings.warn(
            "the result is empty: the picture shows no footprints",
            NoResultsWarning,
            stacklevel=2,
        )
    scene = _Scene(
        table,
        region=_region_of(table, show_region),
        cutouts=show_cutouts,
        positions=show_positions,
    )
    groups, own = [], ax is None
    if own:
        wcs = footprint_wcs(*scene.points(), npix=npix, projection=projection)
        if not _is_tan(wcs) and zooms and len(table):
            labels = sky_groups(table["ra"], table["dec"], limit=zooms)
            if labels is not None:
                groups = [np.flatnonzero(labels == g) for g in range(labels.max() + 1)]
        ax, grid = _new_axes(plt, wcs, len(groups))
        ax.set_xlim(-0.5, wcs.pixel_shape[0] - 0.5)
        ax.set_ylim(-0.5, wcs.pixel_shape[1] - 0.5)
    handles = _draw(ax, scene, color_by=color_by)
    style_sky_axes(ax)
    if not _is_tan(ax.wcs):  # the tick labels say RA (h) and Dec (deg)
        ax.coords[0].set_axislabel("")
        ax.coords[1].set_axislabel("")
        name = _PROJECTION_NAMES.get(str(ax.wcs.wcs.ctype[0])[-3:], "")
        ax.text(
            0,
            1,
            f"ICRS, {name}" if name else "ICRS",
            transform=ax.transAxes,
            fontsize="small",
            verticalalignment="top",
        )
    _legend(ax, handles, outside=own)
    if own:  # the figure's title: its layout keeps room for it
        title = ax.figure.suptitle(result_title(table), fontsize="medium")
        fit_text(title, ax.figure.bbox.width)
    else:
        fit_text(ax.set_title(result_title(table), fontsize="medium"), ax.bbox.width)
    for k, rows in enumerate(groups):
        _zoom(
            ax,
            grid,
            k,
            table,
            rows,
            color_by=color_by,
            show_positions=show_positions,
            show_cutouts=show_cutouts,
        )
    if groups:
        # the panels' tick labels depend on their size, which the layout
        # sets: one pass settles it, so that every savefig draws the same
        ax.figure.draw_without_rendering()
    return ax
