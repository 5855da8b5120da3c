# Licensed under a 3-clause BSD style license - see LICENSE
"""SODA cutout URLs: ``{datalink_url}?ID=<pubdid>&CIRCLE=ra dec r``.

Used by `~twomass_vo.archives.VOArchive.cutout_urls` when the archive has a
SODA synchronous endpoint (DaCHS ``.../dl/dlget``).
"""

from urllib.parse import quote

import numpy as np

__all__ = ["soda_cutout_urls"]


def soda_cutout_urls(datalink_url, pubdid, ra, dec, size_arcsec):
    """SODA cutout URLs of files with publisher DIDs ``pubdid``.

    Parameters
    ----------
    datalink_url : str
        The SODA synchronous endpoint.
    pubdid : ndarray of str
        Publisher DIDs of the files (``''``: unknown).
    ra, dec : ndarray of float
        Cutout centres, degrees.
    size_arcsec : ndarray of float
        Cutout sizes (0: none).

    Returns
    -------
    urls : ndarray of str
        ``{datalink_url}?ID=<pubdid>&CIRCLE=ra dec r`` with ``r`` half the
        size (degrees), URL-encoded; ``''`` where there is no size or no
        publisher DID.
    """
    size = np.asarray(size_arcsec, np.float64)
    wanted = (size > 0) & (pubdid != "")
    out = np.full(len(pubdid), "", dtype=object)
    if wanted.any():
        idx = np.flatnonzero(wanted)
        circle = np.char.add(
            np.char.add(
                np.char.mod("%.8f ", np.asarray(ra, np.float64)[idx]),
                np.char.mod("%.8f ", np.asarray(dec, np.float64)[idx]),
            ),
            np.char.mod("%.8f", size[idx] / 2 / 3600),
        )
        sep = "&" if "?" in datalink_url else "?"
        out[idx] = [
            f"{datalink_url}{sep}ID={quote(p, safe='')}&CIRCLE={quote(c)}"
            for p, c in zip(pubdid[idx], circle, strict=True)
        ]
    return out.astype(str)
