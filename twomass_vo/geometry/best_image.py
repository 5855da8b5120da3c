# Licensed under a 3-clause BSD style license - see LICENSE
"""The help page's "best image" of a position, for many positions at once.

Of the image sets containing a position, the best is the one whose smallest
distance from the position to its four edges is largest.

`best_flags` decides it for many (position, image set) pairs at once; the
positions mode (`twomass_vo.planner`) and the scan link of the sources mode
(`twomass_vo.source_links`) use it.
"""

import numpy as np

__all__ = ["best_flags"]


def best_flags(point, distance, coadd_key):
    """Mark the best image set of each point (the help page's "best image").

    Parameters
    ----------
    point : ndarray of int
        The point of each (point, image set) pair.
    distance : ndarray of float
        Smallest distance from the point to the set's four edges.
    coadd_key : ndarray of int
        The set's key; ties go to the smaller key.

    Returns
    -------
    best : ndarray of bool
        True for the pair with the largest ``distance`` of each point.

    Notes
    -----
    Pairs grouped by point (as every archive look-up returns them) are decided
    by per-group maxima, in linear time; other input is sorted. Both give the
    first pair of the order (point, -distance, coadd_key).
    """
    point = np.asarray(point)
    distance = np.asarray(distance)
    coadd_key = np.asarray(coadd_key)
    n = len(point)
    if n and (np.diff(point) >= 0).all() and not np.isnan(distance).any():
        return _best_grouped(point, distance, coadd_key)
    order = np.lexsort((coadd_key, -distance, point))
    first = np.ones(n, bool)
    first[1:] = point[order][1:] != point[order][:-1]
    best = np.zeros(n, bool)
    best[order[first]] = True
    return best


def _best_grouped(point, distance, coadd_key):
    """`best_flags` for pairs sorted by point, without NaN distances."""
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(point)]))
    top = distance == np.maximum.reduceat(distance, starts)[group]
    keys = np.where(top, coadd_key, np.iinfo(np.int64).max)
    smallest = np.minimum.reduceat(keys, starts)[group]
    best = top & (coadd_key == smallest)
    if np.count_nonzero(best) != len(starts):  # repeated keys: take the first
        first = np.flatnonzero(best)
        keep = np.r_[True, group[first][1:] != group[first][:-1]]
        best[:] = False
        best[first[keep]] = True
    return best
