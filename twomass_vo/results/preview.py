# Licensed under a 3-clause BSD style license - see LICENSE
"""J/H/Ks colour previews of one image set (``ImageRow.preview``).

The three images of a 2MASS image set (J, H and Ks, same ``coadd_key``) are
registered on one pixel grid. `composite` scales each to units of its own
noise above its sky level and combines them with
`~astropy.visualization.make_lupton_rgb` (an asinh stretch): Ks red, H green,
J blue. A preview looks at the part of the image that holds the row's
position, or at the image centre when the image does not hold it
(`preview_center`: a region-mode row beside the query centre); a cutout
window near an edge is moved inside the image rather than trimmed.
`plot_preview` draws that on `~astropy.visualization.wcsaxes.WCSAxes` with
the position marked; `plot_previews` makes one panel per position of a
positions-mode result (the ``--preview`` of the command line), each titled
with the position's id (or designation) and coordinates.
"""

import numpy as np

from .picture_style import (
    check_count,
    fit_text,
    position_label,
    result_title,
    style_sky_axes,
)

__all__ = [
    "MAX_PANELS",
    "best_row",
    "composite",
    "plot_preview",
    "plot_previews",
    "preview_center",
    "set_rows",
    "table_preview",
]

_BANDS = ("K", "H", "J")  # red, green, blue
#: Most panels `plot_previews` draws.
MAX_PANELS = 16


def set_rows(row):
    """Return the J, H and Ks rows of the image set of ``row``.

    The rows are taken from ``row``'s table; bands missing there (e.g. a
    result of ``band='J'``) are asked of the table's archive, through the
    archive contract (`~twomass_vo.archives.Archive.find_coadd_keys`, then
    `~twomass_vo.archives.Archive.files`).

    Parameters
    ----------
    row : `~twomass_vo.results.image_table.ImageRow`
        Any row of the set.

    Returns
    -------
    rows : dict
        ``{'J': row, 'H': row, 'K': row}``.

    Raises
    ------
    ValueError
        If a band is missing and the table has no archive to ask.
    """
    table = row.table
    key, image_type = int(row["coadd_key"]), str(row["image_type"])
    same = np.flatnonzero(
        (np.asarray(table["coadd_key"]) == key)
        & (np.asarray(table["image_type"]).astype(str) == image_type)
    )
    rows = {}
    for i in same:
        rows.setdefault(str(table["band"][i]).upper(), table[i])
    missing = [b for b in ("J", "H", "K") if b not in rows]
    if missing:
        archive = getattr(table, "archive", None)
        if archive is None:
            raise ValueError(
                f"coadd_key {key}: the table has no {', '.join(missing)} image "
                "and no archive to ask for it (query with band='all')"
            )
        for other in _set_files(table, key, image_type):
            rows.setdefault(str(other["band"]).upper(), other)
    return {b: rows[b] for b in ("J", "H", "K")}


def _set_files(table, key, image_type):
    """Return the rows of every file of the set ``key``, asked of the table's archive.

    The rows are a new table of the same class (an
    `~twomass_vo.results.image_table.ImageTable`), bound to the archive.
    """
    archive = table.archive
    sets = archive.find_coadd_keys(np.array([key], np.int64))
    rows, band_code = np.nonzero(sets.has_band)
    refs = archive.files(sets.take(rows), band_code, image_type)
    columns = {
        name: getattr(sets, name)[rows]
        for name in ("coadd_key", "ordate", "hemisphere", "scanno", "image")
    }
    columns.update(
        band=np.array(["J", "H", "K"])[band_code],
        image_type=np.full(len(rows), image_type),
        access_url=refs.access_url,
        access_format=refs.access_format,
        s_region=refs.s_region,
    )
    return type(table).from_columns(columns, archive=archive)


def _noise_units(data):
    """Return the image minus its sky level, in units of its noise (MAD)."""
    data = np.asarray(data, dtype=float)
    good = data[np.isfinite(data)]
    if good.size == 0:
        return np.zeros_like(data)
    sky = np.median(good)
    sigma = 1.4826 * np.median(np.abs(good - sky))
    if not sigma > 0:
        sigma = float(np.std(good)) or 1.0
    return np.nan_to_num((data - sky) / sigma, nan=0.0)


def preview_center(row):
    """Return the centre of a row's preview: its position, or its image centre.

    Parameters
    ----------
    row : `~twomass_vo.results.image_table.ImageRow`
        The row.

    Returns
    -------
    center : `~astropy.coordinates.SkyCoord`
        The row's input position (``in_ra``, ``in_dec``) when its image
        holds it, else the image centre (``ra``, ``dec``): a region-mode row
        whose image lies beside the query centre is shown by its image.
    inside : bool
        Whether ``center`` is the row's input position.
    """
    from astropy.coordinates import SkyCoord

    from ..geometry import Footprints, radec_to_xyz
    from ..retrieval.loaders import row_value

    ra = float(row_value(row, "in_ra", np.nan))
    dec = float(row_value(row, "in_dec", np.nan))
    if np.isfinite(ra) and np.isfinite(dec):
        footprint = Footprints.from_s_region([str(row["s_region"])])
        if footprint.contains(radec_to_xyz(ra, dec))[0]:
            return SkyCoord(ra, dec, unit="deg"), True
    return SkyCoord(float(row["ra"]), float(row["dec"]), unit="deg"), False


def _window_center(hdu, center, size_arcsec):
    """Move a square window's centre so that the window lies inside the image."""
    from astropy.wcs import WCS
    from astropy.wcs.utils import proj_plane_pixel_scales

    wcs = WCS(hdu.header).celestial
    ny, nx = hdu.data.shape[-2:]
    half = size_arcsec / 3600.0 / proj_plane_pixel_scales(wcs) / 2.0
    x, y = wcs.world_to_pixel(center)
    moved = []
    for value, n, h in ((float(x), nx, half[0]), (float(y), ny, half[1])):
        if 2.0 * h >= n:  # wider than the image: all of it
            moved.append((n - 1) / 2.0)
        else:
            moved.append(min(max(value, h - 0.5), n - 0.5 - h))
    return wcs.pixel_to_world(*moved)


def composite(row, *, size=None, center=None, stretch=8.0, Q=8.0):
    """Make the J/H/Ks colour composite of the image set of ``row``.

    Parameters
    ----------
    row : `~twomass_vo.results.image_table.ImageRow`
        Any row of the set.
    size : `~astropy.units.Quantity` or float, optional
        Cut out a square of this size (float: arcsec) from each band, around
        ``center``; 0 for the full images. Default: the row's
        ``cutout_size``, or the full images. The square is kept inside the
        image (moved, not trimmed, near an edge), so that the picture is
        all image.
    center : `~astropy.coordinates.SkyCoord`, optional
        Centre of the cutouts. Default: `preview_center` (the row's input
        position when its image holds it, else the image centre).
    stretch, Q : float, optional
        The linear stretch (in noise units) and asinh softening of
        `~astropy.visualization.make_lupton_rgb`.

    Returns
    -------
    rgb : `~numpy.ndarray`
        ``(ny, nx, 3)`` uint8 image: Ks red, H green, J blue.
    wcs : `~astropy.wcs.WCS`
        The celestial WCS of its pixels.
    """
    from astropy.visualization import make_lupton_rgb
    from astropy.wcs import WCS

    from ..retrieval.loaders import angle_arcsec, cutout_hdul, row_value

    rows = set_rows(row)
    if size is None:
        size_arcsec = float(row_value(row, "cutout_size", 0.0))
    elif not hasattr(size, "unit") and float(size) == 0:
        size_arcsec = 0.0
    else:
        size_arcsec = angle_arcsec(size, "size")
    if center is None:
        center = preview_center(row)[0]
    planes, wcs, window = [], None, None
    for band in _BANDS:
        hdul = rows[band].open()
        hdu = hdul[0]
        if size_arcsec > 0:
            if window is None:
                window = _window_center(hdu, center.icrs, size_arcsec)
            hdu = cutout_hdul(hdul, window.ra.deg, window.dec.deg, size_arcsec)[0]
        if wcs is None:
            wcs = WCS(hdu.header).celestial
        planes.append(hdu.data)
    ny = min(p.shape[0] for p in planes)
    nx = min(p.shape[1] for p in planes)
    scaled = [_noise_units(p[:ny, :nx]) for p in planes]
    rgb = make_lupton_rgb(*scaled, minimum=-1.0, stretch=stretch, Q=Q)
    return rgb, wcs


def _set_name(row):
    return (
        f"{row['ordate']}{row['hemisphere']} {int(row['scanno']):03d} "
        f"{int(row['image']):04d}"
    )


def plot_preview(row, ax=None, *, size=None, center=None, mark=None, **kwargs):
    """Draw the J/H/Ks colour composite of the image set of ``row``.

    Parameters
    ----------
    row : `~twomass_vo.results.image_table.ImageRow`
        Any row of the set.
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes with the composite's WCS (see `composite`); a new figure (with
        a layout engine) by default.
    size, center
        See `composite`.
    mark : `~astropy.coordinates.SkyCoord`, optional
        Position to mark, when the picture holds it. Default: ``center``
        when given, else the row's input position when its image holds it,
        else nothing.
    **kwargs
        ``stretch`` and ``Q`` of `composite`.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        The axes (equal aspect, the composite's extent), with the composite
        and the marked position; titled with the image set (date,
        hemisphere, scan, image) and the marked position (else the
        picture's centre): the row's id or a designation, and coordinates.
    """
    from ..retrieval.loaders import row_value
    from .plotting import require_matplotlib

    plt = require_matplotlib()
    own_center, is_position = preview_center(row)
    if center is None:
        center = own_center
    rgb, wcs = composite(row, size=size, center=center, **kwargs)
    if ax is None:
        fig = plt.figure(figsize=(5, 5), layout="compressed")
        ax = fig.add_subplot(projection=wcs)
    own = center is own_center and is_position  # the row's own position
    if mark is None and (own or center is not own_center):
        mark = center
    shown = _draw(ax, rgb, wcs, mark)
    if shown is None:  # nothing marked: name the middle of the picture
        ny, nx = rgb.shape[:2]
        shown = wcs.pixel_to_world((nx - 1) / 2.0, (ny - 1) / 2.0)
    name = str(row_value(row, "id", "")) if own and shown is center else ""
    label = position_label(name, shown.icrs.ra.deg, shown.icrs.dec.deg, sep="  ")
    title = ax.set_title(f"{_set_name(row)} (J H Ks)\n{label}", fontsize="small")
    fit_text(title, ax.bbox.width)
    return ax


def _draw(ax, rgb, wcs, mark):
    """Show the composite on its own extent; mark a position it holds (returned)."""
    ax.imshow(rgb, origin="lower")
    ny, nx = rgb.shape[:2]
    shown = None
    if mark is not None:
        x, y = wcs.world_to_pixel(mark)
        if -0.5 <= x <= nx - 0.5 and -0.5 <= y <= ny - 0.5:
            shown = mark
            ax.plot(
                x,
                y,
                marker="o",
                markersize=14,
                fillstyle="none",
                color="w",
                mew=1.2,
                gid="position",
            )
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    style_sky_axes(ax, compact=True, grid=False)
    return shown


def table_preview(table, position, ax=None, *, size=None, **kwargs):
    """Draw the colour composite of the image set that contains a position best.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A result.
    position : `~astropy.coordinates.SkyCoord`
        The position, marked on the picture.
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes with the composite's WCS; a new figure by default.
    size : `~astropy.units.Quantity` or float, optional
        Cutout size around the position (float: arcsec); default the full
        images.
    **kwargs
        ``stretch`` and ``Q`` of `composite`.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        The axes.
    """
    row = best_row(table, position)
    if size is None:
        return plot_preview(row, ax, size=0, mark=position, **kwargs)
    return plot_preview(row, ax, size=size, center=position, **kwargs)


def best_row(table, position):
    """Return the row of the image set that contains ``position`` best.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A result.
    position : `~astropy.coordinates.SkyCoord`
        The position.

    Returns
    -------
    row : `~twomass_vo.results.image_table.ImageRow`
        A row of the set whose footprint contains the position farthest from
        its edges.

    Raises
    ------
    ValueError
        If no footprint of the table contains the position.
    """
    from ..geometry import Footprints, radec_to_xyz

    position = position.icrs
    point = radec_to_xyz(position.ra.deg, position.dec.deg)
    if len(table) == 0:
        raise ValueError("the table is empty: nothing to preview")
    footprints = Footprints.from_s_region(np.asarray(table["s_region"]))
    inside = np.asarray(footprints.contains(point)).reshape(-1)
    if not inside.any():
        raise ValueError(
            f"no image of the table contains {position.to_string('decimal')}"
        )
    distance = np.asarray(footprints.edge_distance(point)).reshape(-1)
    distance = np.where(inside, distance, -np.inf)
    return table[int(np.argmax(distance))]


def _panel(rows):
    """Return the row, centre, title and mark of the panel of an input's rows."""
    from astropy.coordinates import SkyCoord

    from ..retrieval.loaders import row_value

    first = rows[0]
    ra = float(row_value(first, "in_ra", np.nan))
    dec = float(row_value(first, "in_dec", np.nan))
    if np.isfinite(ra) and np.isfinite(dec):
        position = SkyCoord(ra, dec, unit="deg")
        try:
            row = best_row(rows, position)
        except ValueError:  # no image holds it (a region's centre)
            pass
        else:
            label = position_label(row_value(row, "id", ""), ra, dec)
            return row, position, label, True
    center = preview_center(first)[0]
    label = position_label(_set_name(first), center.ra.deg, center.dec.deg)
    return first, center, label, False


def plot_previews(table, *, size=None, max_panels=MAX_PANELS, ncols=4):
    """One colour-preview panel per input position of a positions-mode result.

    Each panel shows the best image set of its position (the one that
    holds it farthest from its edges), cut out around it, the position
    marked; it is titled with the position's id (or, without one, a
    ``Jhhmmss.ss+ddmmss.s`` designation) and its coordinates. Results of
    the other modes get one panel per input row, on the part of the first
    image that holds the input's position, or on the image centre.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A positions-mode result. An empty result gives a
        `~twomass_vo.exceptions.NoResultsWarning` and a figure that says so.
    size : `~astropy.units.Quantity` or float, optional
        Cutout size (float: arcsec); default each row's ``cutout_size``, or
        120 arcsec for rows without one.
    max_panels : int, optional
        Draw at most this many positions (the first ones; a positive whole
        number, default 16); the figure's title says how many were left out.
    ncols : int, optional
        Panels per row of the figure (a positive whole number).

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
        The figure (constrained layout), titled as `~twomass_vo.ImageTable.plot`
        titles its picture.

    Raises
    ------
    ValueError
        If ``max_panels`` or ``ncols`` is not a positive whole number.
    """
    import warnings

    from ..exceptions import NoResultsWarning
    from ..retrieval.loaders import row_value
    from .plotting import require_matplotlib

    max_panels = check_count(max_panels, "max_panels")
    ncols = check_count(ncols, "ncols")
    plt = require_matplotlib()
    title = result_title(table)
    if len(table) == 0:
        warnings.warn(
            "the result is empty: a picture without previews",
            NoResultsWarning,
            stacklevel=2,
        )
        fig = plt.figure(figsize=(5.0, 1.6), layout="constrained")
        fit_text(fig.suptitle(title, fontsize="medium"), fig.bbox.width)
        fig.text(0.5, 0.4, "no image files to preview", ha="center", va="center")
        return fig
    scntr = np.asarray(table["scntr"])
    inputs = np.unique(scntr)
    shown = inputs[:max_panels]
    if len(shown) < len(inputs):
        title += f" (the first {len(shown)} of {len(inputs)} shown)"
    ncols = min(ncols, len(shown))
    nrows = -(-len(shown) // ncols)
    fig = plt.figure(figsize=(3.3 * ncols, 3.5 * nrows + 0.3), layout="compressed")
    for panel, index in enumerate(shown, start=1):
        row, center, label, marked = _panel(table[scntr == index])
        width = size
        if width is None:
            width = float(row_value(row, "cutout_size", 0.0)) or 120.0
        rgb, wcs = composite(row, size=width, center=center)
        ax = fig.add_subplot(nrows, ncols, panel, projection=wcs)
        _draw(ax, rgb, wcs, center if marked else None)
        fit_text(ax.set_title(label, fontsize="small"), ax.bbox.width)
    fit_text(fig.suptitle(title, fontsize="medium"), fig.bbox.width)
    return fig
