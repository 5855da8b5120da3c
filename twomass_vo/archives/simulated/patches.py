# Licensed under a 3-clause BSD style license - see LICENSE
"""Simulated survey patches written as `~twomass_vo.archives.LocalArchive` folders.

`simulate_patch` (behind ``LocalArchive.simulate``) writes the index and the
J, H and Ks Atlas and Quicklook files of every simulated image set that
overlaps a circle. It needs only the survey layout and the synthetic FITS
maker, not the archive classes: the class to open the result with is passed
in, so ``archives.local`` can call it without an import circle.
"""

from pathlib import Path

import numpy as np

from ..._files.atomic_files import write_atomic
from ...geometry import Footprints, radec_to_xyz
from ...inputs.coordinates import parse_coordinates
from ..local.index_files import WCS_COLUMNS
from ..local.store_paths import relative_paths
from .survey_layout import survey_layout
from .synthetic_fits import image_bytes

__all__ = ["SIM_FIELDS", "estimated_sizes", "simulate_patch"]

#: Index columns of a simulated image set (besides ``scandir``).
SIM_FIELDS = ("coadd_key", "ordate", "hemisphere", "scanno", "image", *WCS_COLUMNS)


def estimated_sizes(layout):
    """Kbyte sizes of a typical Atlas and Quicklook file (same header layout)."""
    fields = {name: layout[name][0] for name in (*SIM_FIELDS, "scandir")}
    sizes = {}
    for kind in ("atlas", "quicklook"):
        sizes[f"estsize_{kind}"] = -(-len(image_bytes(fields, 0, kind)) // 1000)
    return sizes


def simulate_patch(cls, path, center, radius):
    """Write a simulated survey patch as a `LocalArchive` folder with its files.

    Parameters
    ----------
    cls : type
        The `LocalArchive` class to open the result with.
    path : str or `~pathlib.Path`
        Folder to create.
    center : str or `~astropy.coordinates.SkyCoord`
        Patch centre.
    radius : float or `~astropy.units.Quantity`
        Radius, degrees (at most 5).

    Returns
    -------
    archive : `LocalArchive`
        The patch: every simulated image set overlapping the circle, with its
        Atlas and Quicklook files in J, H and Ks.
    """
    from astropy import units as u

    radius = radius.to_value(u.deg) if isinstance(radius, u.Quantity) else float(radius)
    if not (np.isfinite(radius) and 0 < radius <= 5):
        raise ValueError(f"radius={radius!r} must be in (0, 5] deg")
    centre = parse_coordinates(center)
    layout = survey_layout()
    xyz = radec_to_xyz(centre.ra.deg, centre.dec.deg)
    near = radec_to_xyz(layout["crval1"], layout["crval2"]) @ xyz >= np.cos(
        np.radians(radius + 0.2)
    )
    rows = np.flatnonzero(near)
    wcs = [layout[c][rows] for c in WCS_COLUMNS]
    overlaps = Footprints.from_wcs(*wcs).relate_circle(xyz, np.radians(radius))[0]
    rows = rows[overlaps]
    sets = {name: layout[name][rows] for name in (*SIM_FIELDS, "scandir")}
    meta = {"simulated": True, "synthetic_pixels": True, **estimated_sizes(layout)}
    archive = cls.create(path, sets, name=Path(path).name, extra_meta=meta)
    for i in range(len(rows)):
        fields = {name: layout[name][rows[i]] for name in (*SIM_FIELDS, "scandir")}
        for kind in ("atlas", "quicklook"):
            for band in range(3):
                rel = relative_paths(
                    [fields["ordate"]],
                    [fields["hemisphere"]],
                    [fields["scanno"]],
                    [fields["image"]],
                    [band],
                    kind,
                )[0]
                write_atomic(archive.files_dir / rel, image_bytes(fields, band, kind))
    return archive
