# Licensed under a 3-clause BSD style license - see LICENSE
"""What the pictures say: titles, position labels, readable sky axes.

Shared by the footprint plots (`twomass_vo.results.plotting`) and the colour
previews (`twomass_vo.results.preview`): `result_title` names the mode, the archive
and the counts of a result; `position_label` names a position by its id (or,
without one, by a ``Jhhmmss.ss+ddmmss.s`` designation) and its coordinates;
`style_sky_axes` gives `~astropy.visualization.wcsaxes.WCSAxes` equal aspect,
axis labels and tick labels that do not run into each other; `fit_text`
breaks a title that is wider than its figure or panel. Nothing here imports
matplotlib.
"""

import numpy as np

__all__ = [
    "check_count",
    "count_text",
    "designation",
    "fit_text",
    "position_label",
    "position_text",
    "result_title",
    "style_sky_axes",
]

# the names of the modes on the command line (table.meta['mode'] -> words)
_MODE_WORDS = {
    "region": "region",
    "positions": "positions",
    "coadd_keys": "coadd-keys",
    "scans": "scans",
}


def check_count(value, name, *, minimum=1):
    """Return ``value`` as an int, or say what is wrong with it.

    Parameters
    ----------
    value : int
        A Python or numpy integer (not a bool, not a float).
    name : str
        The option's name, for the message.
    minimum : int, optional
        Smallest value allowed.

    Returns
    -------
    value : int

    Raises
    ------
    ValueError
        Naming the option and the value, if it is not a whole number of at
        least ``minimum``.
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(f"{name}={value!r}: give a whole number of at least {minimum}")
    return int(value)


def count_text(n, thing, things=None):
    """``'no image files'``, ``'1 image file'``, ``'24 image files'``.

    Parameters
    ----------
    n : int
        How many.
    thing : str
        The singular.
    things : str, optional
        The plural (default ``thing + 's'``).

    Returns
    -------
    text : str
    """
    things = thing + "s" if things is None else things
    if n == 0:
        return f"no {things}"
    return f"{n} {thing if n == 1 else things}"


def designation(ra, dec):
    """Name a position as astronomers do: ``J004244.30+411608.0``.

    Parameters
    ----------
    ra, dec : float
        ICRS degrees.

    Returns
    -------
    name : str
        ``J`` + ``hhmmss.ss`` + ``±ddmmss.s`` (rounded, not truncated as in
        catalogue designations: it names a position, not a source).
    """
    # whole hundredths of a second of time and tenths of an arcsecond
    centis = round((float(ra) % 360.0) / 15.0 * 360000.0) % 8640000
    hours, rest = divmod(centis, 360000)
    minutes, centis = divmod(rest, 6000)
    tenths = round(abs(float(dec)) * 36000.0)
    degrees, rest = divmod(tenths, 36000)
    arcmin, tenths = divmod(rest, 600)
    sign = "-" if float(dec) < 0 and (degrees or arcmin or tenths) else "+"
    return (
        f"J{hours:02d}{minutes:02d}{centis // 100:02d}.{centis % 100:02d}"
        f"{sign}{degrees:02d}{arcmin:02d}{tenths // 10:02d}.{tenths % 10:d}"
    )


def position_text(ra, dec):
    """Decimal ICRS degrees, to 0.04 arcsec: ``'10.68458 +41.26889'``.

    Parameters
    ----------
    ra, dec : float
        Degrees.

    Returns
    -------
    text : str
    """
    return f"{float(ra) % 360.0:.5f} {float(dec):+.5f}"


def position_label(name, ra, dec, *, sep="\n"):
    """Name a position by its id (or designation) and its coordinates.

    Parameters
    ----------
    name : str
        The position's id; empty or blank for none, when its `designation`
        is used.
    ra, dec : float
        ICRS degrees.
    sep : str, optional
        Between the name and the coordinates (default a new line).

    Returns
    -------
    label : str
        ``'M31'`` and ``'10.68458 +41.26889'`` (`position_text`), on two
        lines by default.
    """
    name = str(name).strip() or designation(ra, dec)
    return f"{name}{sep}{position_text(ra, dec)}"


def result_title(table):
    """Title of a picture of a result: mode, archive and counts.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result (its ``meta`` says the mode, the archive and the query).

    Returns
    -------
    title : str
        E.g. ``'region mode, sim archive: 24 image files in 8 sets'``; a
        single date-hemisphere-scan is ``'scan mode (971031 n 96), ...'``;
        positions-mode titles count the positions too. Tables without
        metadata get the counts alone.
    """
    meta = table.meta or {}
    mode = meta.get("mode")
    parameters = meta.get("parameters") or {}
    words = []
    if mode == "scans" and "scan" in parameters:
        scan = " ".join(
            str(parameters[k])
            for k in ("date", "hemisphere", "scan")
            if k in parameters
        )
        image = parameters.get("image")
        if image not in (None, "", "None", "0"):
            scan += f", image {image}"
        words.append(f"scan mode ({scan})")
    elif mode:
        words.append(f"{_MODE_WORDS.get(mode, mode)} mode")
    if meta.get("archive"):
        words.append(f"{meta['archive']} archive")
    n_sets = len(np.unique(np.asarray(table["coadd_key"]))) if len(table) else 0
    counts = count_text(len(table), "image file")
    if len(table):
        counts += f" in {count_text(n_sets, 'set')}"
    if mode == "positions" and len(table):
        n_positions = len(np.unique(np.asarray(table["scntr"])))
        counts += f", {count_text(n_positions, 'position')}"
    return f"{', '.join(words)}: {counts}" if words else counts


def fit_text(text, width):
    """Break a title into lines when it is wider than ``width`` pixels.

    The first break is after the colon (``'positions mode, sim archive:'``
    over the counts); lines still too wide are wrapped at blanks.

    Parameters
    ----------
    text : `~matplotlib.text.Text`
        A title (its figure must have a canvas that can measure text).
    width : float
        Pixels at the figure's dpi: the figure's or the panel's width.

    Returns
    -------
    text : `~matplotlib.text.Text`
        The same artist.
    """
    import textwrap

    renderer = text.figure.canvas.get_renderer()
    words = text.get_text()
    for attempt in range(2):
        measured = text.get_window_extent(renderer).width
        if measured <= width:
            break
        if attempt == 0 and ": " in words:
            words = words.replace(": ", ":\n", 1)
        else:
            longest = max(len(line) for line in words.split("\n"))
            chars = max(8, int(longest * width / measured))
            words = "\n".join(textwrap.fill(line, chars) for line in words.split("\n"))
        text.set_text(words)
    return text


def style_sky_axes(ax, *, compact=False, grid=True):
    """Give WCSAxes equal aspect, axis labels and readable tick labels.

    Parameters
    ----------
    ax : `~astropy.visualization.wcsaxes.WCSAxes`
        Axes whose first world coordinate is the right ascension.
    compact : bool, optional
        For small panels: short axis labels (``RA``, ``Dec``) and at most
        three right-ascension ticks (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30
        seconds or minutes of time apart), so that their labels fit.
        Set the axes limits first.
    grid : bool, optional
        Draw the coordinate grid (dotted, light grey).
    """
    ra, dec = ax.coords[0], ax.coords[1]
    if compact:
        ra.set_axislabel("RA (ICRS)")
        dec.set_axislabel("Dec (ICRS)")
        step = _ra_step(ax)
        if step is None:
            ra.set_ticks(number=3)
        else:
            from astropy import units as u

            # a hair over the step: held in degrees, a whole minute could
            # land a hair under it, and its labels show needless seconds
            ra.set_ticks(spacing=step * (1 + 1e-9) * (u.hourangle / 3600))
        dec.set_ticks(number=4)
    else:
        ra.set_axislabel("Right ascension (ICRS)")
        dec.set_axislabel("Declination (ICRS)")
    for coord in (ra, dec):
        # a label that would run into another is left out, never overprinted
        coord.set_ticklabel(exclude_overlapping=True)
    if grid:
        ax.coords.grid(color="0.8", linestyle=":", linewidth=0.8)
    ax.set_aspect("equal")


# tick spacings of right ascension, seconds of time
_RA_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
_RA_STEPS = (*_RA_STEPS, *(60 * s for s in _RA_STEPS), 3600)


def _ra_step(ax, most=3):
    """Seconds of time between RA ticks: fewer than ``most`` along the bottom."""
    x0, x1 = ax.get_xlim()
    y0 = ax.get_ylim()[0]
    x = np.linspace(x0, x1, 50)
    ra = ax.wcs.pixel_to_world_values(x, np.full_like(x, y0))[0]
    ra = np.degrees(np.unwrap(np.radians(np.asarray(ra, dtype=float))))
    if not np.all(np.isfinite(ra)):
        return None
    seconds = np.ptp(ra) / 15.0 * 3600.0
    return next((step for step in _RA_STEPS if seconds / step < most), None)
