# Licensed under a 3-clause BSD style license - see LICENSE
"""The validated requests of the batch modes, as handed to the mode planner.

`PositionRequest` (positions mode), `KeyRequest` (coadd_key mode) and
`ScanRequest` (the DHS modes) hold one numpy array per field, all of the
same length: one element per input row.
"""

from dataclasses import dataclass, fields

import numpy as np

__all__ = [
    "KeyRequest",
    "PositionRequest",
    "ScanRequest",
]


# --------------------------------------------------------------------------
# Request objects
# --------------------------------------------------------------------------


class _Request:
    """Shared behaviour of the request dataclasses: equal-length arrays."""

    def __post_init__(self):
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"request arrays differ in length: {lengths}")

    def __len__(self):
        return len(self.scntr)


@dataclass(frozen=True, eq=False)
class PositionRequest(_Request):
    """A validated list of positions (the positions mode).

    All attributes are numpy arrays of the same length N, one element per
    input row.

    Attributes
    ----------
    ra, dec : `numpy.ndarray` of float64
        ICRS position in degrees; ``0 <= ra < 360``.
    size : `numpy.ndarray` of float64
        Cutout width and height in arcsec; 0 means the full image (no cutout).
    best : `numpy.ndarray` of bool
        Whether only the best (most centred) image set is wanted.
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    ra: np.ndarray
    dec: np.ndarray
    size: np.ndarray
    best: np.ndarray
    id: np.ndarray
    scntr: np.ndarray


@dataclass(frozen=True, eq=False)
class KeyRequest(_Request):
    """A validated list of image-set keys (the coadd_key mode).

    Attributes
    ----------
    coadd_key : `numpy.ndarray` of int64
        Key of the 2MASS image set (the same for J, H and Ks).
    bands : `numpy.ndarray` of str
        ``'J'``, ``'H'``, ``'K'`` or ``'JHK'`` (all three bands).
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    coadd_key: np.ndarray
    bands: np.ndarray
    id: np.ndarray
    scntr: np.ndarray


@dataclass(frozen=True, eq=False)
class ScanRequest(_Request):
    """A validated list of date-hemisphere-scans (the DHS modes).

    Attributes
    ----------
    ordate : `numpy.ndarray` of str
        Observation date, ``'yymmdd'``.
    hemisphere : `numpy.ndarray` of str
        ``'n'`` (north, Mt. Hopkins) or ``'s'`` (south, Cerro Tololo).
    scanno : `numpy.ndarray` of int64
        Nightly scan number, 1 to 999.
    image : `numpy.ndarray` of int64
        Image number within the scan; 0 means all the image sets of the scan.
    bands : `numpy.ndarray` of str
        ``'J'``, ``'H'``, ``'K'`` or ``'JHK'`` (all three bands).
    id : `numpy.ndarray` of str
        The user's identifier of the row, ``''`` where there is none.
    scntr : `numpy.ndarray` of int64
        0-based index of the input row.
    """

    ordate: np.ndarray
    hemisphere: np.ndarray
    scanno: np.ndarray
    image: np.ndarray
    bands: np.ndarray
    id: np.ndarray
    scntr: np.ndarray
