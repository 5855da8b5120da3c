# Licensed under a 3-clause BSD style license - see LICENSE
"""J/H/Ks colour previews of one image set (``ImageRow.preview``).

The three images of a 2MASS image set (J, H and Ks, same ``coadd_key``) are
registered on one pixel grid. `composite` scales each to units of its own
noise above its sky level and combines them with
`~astropy.visualization.make_lupton_rgb` (an asinh stretch): Ks red, H green,
J blue. `plot_preview` draws that on `~astropy.visualization.wcsaxes.WCSAxes`
with the position marked; `plot_previews` makes one panel per position of a
positions-mode result (the ``--preview`` of the command line).
"""

import numpy as np

__all__ = [
    "MAX_PANELS",
    "best_row",
    "composite",
    "plot_preview",
    "plot_previews",
    "set_finder",
    "set_rows",
    "table_preview",
]

_BANDS = ("K", "H", "J")  # red, green, blue
#: Most panels `plot_previews` draws.
MAX_PANELS = 16
# How `set_rows` asks an archive for the bands a table lacks: installed by
# `twomass_vo.core` (the query layer sits above this module, so it is not
# imported from here).
_FIND_SET = []


def set_finder(find):
    """Install how `set_rows` looks up the image set of a coadd_key.

    Parameters
    ----------
    find : callable
        ``find(archive, coadd_key, image_type)`` returning an
        `~twomass_vo.image_table.ImageTable` with the set's rows.
        `twomass_vo.core` installs one (a ``query_coadd_keys`` on the archive).
    """
    _FIND_SET[:] = [find]


def set_rows(row):
    """Return the J, H and Ks rows of the image set of ``row``.

    The rows are taken from ``row``'s table; bands missing there (e.g. a
    result of ``band='J'``) are looked up by ``coadd_key`` in the table's
    archive.

    Parameters
    ----------
    row : `~twomass_vo.image_table.ImageRow`
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
        if archive is None or not _FIND_SET:
            raise ValueError(
                f"coadd_key {key}: the table has no {', '.join(missing)} image "
                "and no archive to ask for it (query with band='all')"
            )
        import warnings

        from .exceptions import QuicklookWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QuicklookWarning)
            others = _FIND_SET[0](archive, key, image_type)
        for other in others:
            rows.setdefault(str(other["band"]).upper(), other)
    return {b: rows[b] for b in ("J", "H", "K")}


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


def composite(row, *, size=None, center=None, stretch=8.0, Q=8.0):
    """Make the J/H/Ks colour composite of the image set of ``row``.

    Parameters
    ----------
    row : `~twomass_vo.image_table.ImageRow`
        Any row of the set.
    size : `~astropy.units.Quantity` or float, optional
        Cut out a square of this size (float: arcsec) from each band, around
        ``center``; 0 for the full images. Default: the row's
        ``cutout_size``, or the full images.
    center : `~astropy.coordinates.SkyCoord`, optional
        Centre of the cutouts. Default: the row's input position, else the
        image centre.
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
    from astropy.coordinates import SkyCoord
    from astropy.visualization import make_lupton_rgb
    from astropy.wcs import WCS

    from .loaders import angle_arcsec, cutout_center, row_value

    rows = set_rows(row)
    if size is None:
        size_arcsec = float(row_value(row, "cutout_size", 0.0))
    elif not hasattr(size, "unit") and float(size) == 0:
        size_arcsec = 0.0
    else:
        size_arcsec = angle_arcsec(size, "size")
    if size_arcsec > 0 and center is None:
        ra, dec = cutout_center(row)
        center = SkyCoord(ra, dec, unit="deg")
    planes, wcs = [], None
    for band in _BANDS:
        if size_arcsec > 0:
            hdu = rows[band].cutout(size_arcsec, center=center)[0]
        else:
            hdu = rows[band].open()[0]
        if wcs is None:
            wcs = WCS(hdu.header).celestial
        planes.append(hdu.data)
    ny = min(p.shape[0] for p in planes)
    nx = min(p.shape[1] for p in planes)
    scaled = [_noise_units(p[:ny, :nx]) for p in planes]
    rgb = make_lupton_rgb(*scaled, minimum=-1.0, stretch=stretch, Q=Q)
    return rgb, wcs


def plot_preview(row, ax=None, *, size=None, center=None, mark=None, **kwargs):
    """Draw the J/H/Ks colour composite of the image set of ``row``.

    Parameters
    ----------
    row : `~twomass_vo.image_table.ImageRow`
        Any row of the set.
    ax : `~astropy.visualization.wcsaxes.WCSAxes`, optional
        Axes with the composite's WCS (see `composite`); a new figure by
        default.
    size, center
        See `composite`.
    mark : `~astropy.coordinates.SkyCoord`, optional
        Position to mark. Default: ``center``, else the row's input position
        (if any).
    **kwargs
        ``stretch`` and ``Q`` of `composite`.

    Returns
    -------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        The axes, with the composite and the marked position.
    """
    from astropy.coordinates import SkyCoord

    from .loaders import row_value
    from .plotting import require_matplotlib

    plt = require_matplotlib()
    rgb, wcs = composite(row, size=size, center=center, **kwargs)
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection=wcs)
        fig.subplots_adjust(left=0.2, right=0.95)
    if mark is None:
        mark = center
    if mark is None:
        ra = float(row_value(row, "in_ra", np.nan))
        dec = float(row_value(row, "in_dec", np.nan))
        if np.isfinite(ra) and np.isfinite(dec):
            mark = SkyCoord(ra, dec, unit="deg")
    _draw(ax, rgb, wcs, mark)
    ax.set_title(
        f"{row['ordate']}{row['hemisphere']} scan {int(row['scanno'])} "
        f"image {int(row['image'])} (J H Ks)",
        fontsize="small",
    )
    return ax


def _draw(ax, rgb, wcs, mark):
    ax.imshow(rgb, origin="lower")
    if mark is not None:
        x, y = wcs.world_to_pixel(mark)
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
    ax.coords[0].set_axislabel("RA")
    ax.coords[1].set_axislabel("Dec")


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
    row : `~twomass_vo.image_table.ImageRow`
        A row of the set whose footprint contains the position farthest from
        its edges.

    Raises
    ------
    ValueError
        If no footprint of the table contains the position.
    """
    from .geometry import Footprints, radec_to_xyz

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


def plot_previews(table, *, size=None, max_panels=MAX_PANELS, ncols=4):
    """One colour-preview panel per input position of a positions-mode result.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A positions-mode result.
    size : `~astropy.units.Quantity` or float, optional
        Cutout size (float: arcsec); default each row's ``cutout_size``, or
        120 arcsec for rows without one.
    max_panels : int, optional
        Draw at most this many positions (the first ones).
    ncols : int, optional
        Panels per row of the figure.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
        The figure.
    """
    from astropy.coordinates import SkyCoord

    from .plotting import require_matplotlib

    plt = require_matplotlib()
    if len(table) == 0:
        raise ValueError("the table is empty: nothing to preview")
    scntr = np.asarray(table["scntr"])
    order = np.unique(scntr)[:max_panels]
    ncols = max(1, min(ncols, len(order)))
    nrows = -(-len(order) // ncols)
    fig = plt.figure(figsize=(3.2 * ncols, 3.4 * nrows))
    for panel, index in enumerate(order, start=1):
        rows = table[scntr == index]
        position = SkyCoord(rows["in_ra"][0], rows["in_dec"][0], unit="deg")
        row = best_row(rows, position)
        width = size
        if width is None:
            width = float(row["cutout_size"]) or 120.0
        rgb, wcs = composite(row, size=width, center=position)
        ax = fig.add_subplot(nrows, ncols, panel, projection=wcs)
        _draw(ax, rgb, wcs, position)
        name = str(row["id"]) or f"position {index}"
        ax.set_title(name, fontsize="small")
    fig.tight_layout()
    return fig
