# Licensed under a 3-clause BSD style license - see LICENSE
"""The date-hemisphere-scan-image key of a 2MASS image set, for every archive.

A 2MASS image set is named by its observation date (``yymmdd``), hemisphere
(``n`` / ``s``), scan and image number. `dhs_keys` packs the four into one
sortable int64, so that the archives join requested scans with the sets they
find by sorting and searching integers. `LocalArchive` (and so the simulated
survey) sorts its index by it, `VOArchive` and `IrsaArchive` match service
answers with it: one implementation, so that every archive reads the
hemisphere the same way (in either case).
"""

import numpy as np

__all__ = ["dhs_keys"]


def dhs_keys(ordate, hemisphere, scanno, image):
    """One int64 per date-hemisphere-scan-image: the archive's set key.

    Parameters
    ----------
    ordate : array-like of str or bytes
        ``yymmdd`` dates.
    hemisphere : array-like of str or bytes
        ``n`` / ``s``, in either case (``N`` and ``n`` give the same key).
    scanno, image : array-like of int
        Scan and image numbers (``image`` 0 is the key just below every image
        of the scan).

    Returns
    -------
    keys : ndarray of int64
        ``((yymmdd * 2 + is_south) * 1000 + scan) * 10000 + image``: keys of
        one scan are contiguous, ordered by image number.
    """
    date = np.asarray(ordate).astype("U6").astype(np.int64)
    hem = np.char.lower(np.asarray(hemisphere).astype("U1"))
    south = (hem == "s").astype(np.int64)
    return ((date * 2 + south) * 1000 + np.asarray(scanno, np.int64)) * 10_000 + (
        np.asarray(image, np.int64)
    )
