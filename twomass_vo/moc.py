# Licensed under a 3-clause BSD style license - see LICENSE
"""Coverage of a result as a MOC (``ImageTable.to_moc``), and footprint files.

A Multi-Order Coverage map (IVOA MOC) of the union of the footprints, made
with `mocpy` (the optional ``moc`` extra; imported only here), which Aladin
and TOPCAT read directly. `write_footprints` writes the footprints as a DS9
or CRTF region file (`regions`), chosen by the file extension.
"""

from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_MOC_DEPTH", "REGION_FORMATS", "footprints_moc", "write_footprints"]

#: HEALPix depth of `footprints_moc`: cells of about 26 arcsec.
DEFAULT_MOC_DEPTH = 13

#: Region file extension -> `regions` format.
REGION_FORMATS = {".reg": "ds9", ".crtf": "crtf"}


def footprints_moc(table, *, max_depth=DEFAULT_MOC_DEPTH):
    """Return the union of a result's footprints as a MOC.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result (its ``s_region`` polygons).
    max_depth : int, optional
        HEALPix depth of the finest cells (13: about 26 arcsec). Every cell
        that touches a footprint is in the MOC.

    Returns
    -------
    moc : `mocpy.MOC`
        The coverage (empty for an empty table).

    Raises
    ------
    ImportError
        If mocpy is not installed.
    """
    try:
        from mocpy import MOC
    except ImportError:
        raise ImportError(
            "coverage maps need mocpy: pip install 'twomass_vo[moc]' "
            "(or pip install mocpy)"
        ) from None
    from .geometry import Footprints

    max_depth = int(max_depth)
    if not 0 <= max_depth <= 29:
        raise ValueError(f"max_depth={max_depth}: use 0 to 29")
    if len(table) == 0:
        return MOC.new_empty(max_depth)
    # one polygon per image set position (J, H and Ks share a footprint)
    regions = np.unique(np.asarray(table["s_region"]).astype(str))
    ra, dec = Footprints.from_s_region(regions).corners_radec()
    flat = []
    for i in range(len(ra)):
        flat.extend([ra[i], dec[i]])
    mocs = MOC.from_polygons(np.array(flat), max_depth=max_depth, n_threads=1)
    moc = mocs[0]
    if len(mocs) > 1:
        moc = moc.union(*mocs[1:])
    return moc


def write_footprints(table, path, *, overwrite=False):
    """Write the footprints as a DS9 (``.reg``) or CRTF (``.crtf``) region file.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result.
    path : str or `~pathlib.Path`
        The file; its extension chooses the format.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        For another extension.
    """
    path = Path(path)
    fmt = REGION_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: footprints go to .reg (DS9) or .crtf (CRTF) files")
    table.to_regions().write(str(path), format=fmt, overwrite=overwrite)
