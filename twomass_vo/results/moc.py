# Licensed under a 3-clause BSD style license - see LICENSE
"""Coverage of a result as a MOC (``ImageTable.to_moc``), and footprint files.

A Multi-Order Coverage map (IVOA MOC) of the union of the footprints, made
with `mocpy` (the optional ``moc`` extra; imported only here), which Aladin
and TOPCAT read directly. `footprint_regions` gives one labelled polygon per
image set, and `footprint_file` the text of a DS9 or CRTF region file
(`regions`) of them, which `write_footprints` writes, in the format of the
file extension.
"""

import re
from pathlib import Path

import numpy as np

from .._files.atomic_files import write_atomic

__all__ = [
    "DEFAULT_MOC_DEPTH",
    "REGION_FORMATS",
    "footprint_file",
    "footprint_regions",
    "footprints_moc",
    "write_footprints",
]

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
    from ..geometry import Footprints

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


#: The first lines of a region file of each format, written even when it holds
#: no region (so that DS9 and CASA know the file).
_HEADERS = {
    "ds9": "# Region file format: DS9 astropy/regions\nicrs\n",
    "crtf": "#CRTFv0\nglobal coord=J2000\n",
}
#: Band bit (J 1, H 2, Ks 4) -> the bands of an image set, as labels say them.
_BAND_BITS = {"J": 1, "H": 2, "K": 4}
_BAND_LABELS = [
    "/".join(b for b, bit in (("J", 1), ("H", 2), ("Ks", 4)) if m & bit)
    for m in range(8)
]


def _label_part(values):
    """Text of a label field: letters and digits only (no braces, quotes, newlines).

    A label is written inside ``text={...}`` (DS9) or ``label='...'`` (CRTF):
    any other character of a table's value (a file read from disk may hold
    anything) becomes ``?``, so that no value can end the label or the line.
    """
    return [re.sub(r"[^0-9A-Za-z]", "?", str(v)) for v in values]


def footprint_regions(table):
    """Return one labelled footprint polygon per image set of a result.

    The J, H and Ks images of a set share a footprint: it is drawn once,
    with the bands the table holds in its label. Rows of the same image set
    (several bands, several positions) give one polygon, that of the first
    of them.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result (``ordate``, ``hemisphere``, ``scanno``, ``image``,
        ``band``, ``s_region``).

    Returns
    -------
    regions : `~regions.Regions`
        `~regions.PolygonSkyRegion` objects in the order of the rows, each
        labelled e.g. ``971031n scan 96 image 197: J/H/Ks`` (``text`` for DS9,
        ``label`` for CRTF).
    """
    from regions import Regions

    from ..geometry import Footprints

    if len(table) == 0:
        return Regions([])
    sets = np.rec.fromarrays(
        [
            np.asarray(table[name]).astype(str)
            for name in ("ordate", "hemisphere", "scanno", "image")
        ],
        names="ordate,hemisphere,scanno,image",
    )
    _, first, which = np.unique(sets, return_index=True, return_inverse=True)
    bits = np.zeros(len(first), dtype=np.int8)
    bands = np.char.upper(np.asarray(table["band"]).astype(str))
    for band, bit in _BAND_BITS.items():
        np.bitwise_or.at(bits, which[bands == band], bit)
    order = np.argsort(first)  # the sets in the order of their first row
    rows = first[order]
    labels = [
        f"{d}{h} scan {s} image {i}: {_BAND_LABELS[m]}"
        for d, h, s, i, m in zip(
            _label_part(sets.ordate[rows]),
            _label_part(sets.hemisphere[rows]),
            _label_part(sets.scanno[rows]),
            _label_part(sets.image[rows]),
            bits[order],
            strict=True,
        )
    ]
    footprints = Footprints.from_s_region(np.asarray(table["s_region"])[rows])
    return Regions(footprints.to_regions(labels=labels))


def footprint_file(table, fmt):
    """Return the text of a region file of a result's footprints.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result.
    fmt : {'ds9', 'crtf'}
        The format.

    Returns
    -------
    text : str
        One polygon per image set (`footprint_regions`); the format's header
        alone for an empty result.
    """
    regions = footprint_regions(table)
    if len(regions) == 0:
        return _HEADERS[fmt]
    return regions.serialize(format=fmt)


def write_footprints(table, path, *, overwrite=False):
    """Write the footprints as a DS9 (``.reg``) or CRTF (``.crtf``) region file.

    One polygon per image set (`footprint_regions`); an empty result gives a
    file with the format's header only.

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
    OSError
        If the file exists and ``overwrite`` is false.
    """
    path = Path(path)
    fmt = REGION_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: footprints go to .reg (DS9) or .crtf (CRTF) files")
    if path.exists() and not overwrite:
        raise OSError(f"{path} exists (use overwrite=True to replace it)")
    text = footprint_file(table, fmt)
    write_atomic(path, text.encode("utf-8"))
