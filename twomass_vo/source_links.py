# Licensed under a 3-clause BSD style license - see LICENSE
"""The sources mode: catalogue sources linked to the images that measured them.

A row of the 2MASS Point Source Catalog names the Atlas image set its
position falls in (``coadd_key``) and the scan that measured it (``xdate``,
``hemis``, ``scan``). `plan_sources` follows that link on any archive,
through the archive interface's key and scan look-ups
(`~twomass_vo.archives.Archive.find_coadd_keys`,
`~twomass_vo.archives.Archive.find_scans`: on IRSA batched TAP or IBE
``where`` queries), once per distinct key or scan of a chunk of rows:

* a row with a ``coadd_key``: that image set;
* a row without one: the image sets of its own scan that contain its
  position, the most centred of them when two overlap (the positions mode's
  "best image", among the sets of that scan only);
* ``link="best"`` / ``"all"``: the positions mode on the sources' positions.

The result is an `~twomass_vo.ImageTable` of one row per (source, file),
``id`` the source's designation, ``in_ra``/``in_dec`` its position,
``dist_edge`` its distance to the edges of the image (NaN for a source
outside the image its key names). Rows whose link finds nothing -- a key or
a scan the archive does not have, a position outside every image of its
scan -- are listed in the result's ``not_found`` table, with a
`~twomass_vo.exceptions.NotFoundWarning`; none is dropped silently.
"""

import warnings

import numpy as np

from .archives.base import ImageSets
from .exceptions import NotFoundWarning
from .geometry import radec_to_xyz
from .geometry.best_image import best_flags
from .planner import pairs_table, plan_positions, query_meta

__all__ = ["not_found_table", "plan_sources", "sources_payload"]

#: Slack (radians) of the bounding-cap test before the exact containment test.
_CAP_SLACK = 1e-9


def plan_sources(archive, request, *, bands, image_type, chunk_size, warn=True):
    """Find the images of catalogue sources by their link (the sources mode).

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look.
    request : `~twomass_vo.inputs.sources.SourceRequest`
        Validated sources.
    bands : str
        ``J``, ``H``, ``K`` or ``JHK``.
    image_type : str
        ``atlas`` or ``quicklook`` (validated).
    chunk_size : int
        Sources per round of look-ups (bounds memory).
    warn : bool, optional
        Warn for rows not found and for an empty result (default; not in the
        partitions of a Dask query, whose ``not_found`` rows are a frame).

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per (source, file), in input order (J, H, K within a set),
        with ``not_found`` set: a table of the input rows whose link found no
        image, with ``row`` and ``reason`` columns (empty when all did).
    """
    positions = request.positions
    n = len(positions)
    if request.link != "measured":
        table = plan_positions(
            archive,
            positions,
            bands=bands,
            image_type=image_type,
            chunk_size=chunk_size,
            warn=warn,
        )
        table.meta["mode"] = "sources"
        lost = np.setdiff1d(np.arange(n), np.asarray(table["scntr"]))
        reasons = np.full(len(lost), "no image contains the position", object)
        table.not_found = not_found_table(request.table, lost, reasons)
        _warn(table.not_found, n, request.link, warn)
        return table
    meta = query_meta(
        archive,
        "sources",
        image_type,
        query=f"{n} source(s) linked to the images that measured them",
    )
    parts, lost, reasons = [], [], []
    for start in range(0, n, chunk_size):
        part, missed, why = _measured_chunk(
            archive, request, start, min(start + chunk_size, n), warn
        )
        parts.append(part)
        lost.append(missed)
        reasons.append(why)
    table = pairs_table(
        archive,
        positions,
        parts,
        bands=bands,
        image_type=image_type,
        meta=meta,
        warn=warn,
    )
    lost = np.concatenate(lost) if lost else np.zeros(0, np.int64)
    reasons = np.concatenate(reasons) if reasons else np.zeros(0, object)
    table.not_found = not_found_table(request.table, lost, reasons)
    _warn(table.not_found, n, request.link, warn)
    return table


def _measured_chunk(archive, request, start, stop, warn):
    """Link the sources [start, stop); return their sets and the rows that found none.

    Returns one `~twomass_vo.planner.pairs_table` part (the sets in source
    order), the not-found rows and their reasons.
    """
    rows = np.arange(start, stop)
    keys = request.coadd_key[start:stop]
    by_key = keys > 0
    by_scan = rows[~by_key]
    found = [
        _key_link(
            archive,
            keys[by_key],
            request.positions.ra[rows[by_key]],
            request.positions.dec[rows[by_key]],
            rows[by_key],
            warn,
        ),
        _scan_link(
            archive,
            request,
            radec_to_xyz(request.positions.ra[by_scan], request.positions.dec[by_scan]),
            by_scan,
        ),
    ]
    if not (len(found[1][1]) or len(found[1][3])):  # all by key: nothing to merge
        found = found[:1]
    sets = ImageSets.concatenate([f[0] for f in found])
    point, distance, missed, why = (
        np.concatenate([f[i] for f in found]) for i in range(1, 5)
    )
    if len(found) > 1:
        order = np.argsort(point, kind="stable")
        sets, point, distance = sets.take(order), point[order], distance[order]
    part = (sets, point, distance, np.zeros(len(point), bool), True)
    order = np.argsort(missed, kind="stable")
    return part, missed[order], why[order]


def _key_link(archive, keys, ra, dec, rows, warn):
    """Link sources by coadd_key: the set of each key, and the keys not found."""
    if not len(keys):
        return _nothing()
    sets, inside, distance = archive.contain_keys(keys, ra, dec, with_corners=False)
    found = np.zeros(len(keys), bool)
    found[sets.query_index] = True
    distance = np.where(inside, distance, np.nan)
    why = np.array(
        [f"coadd_key {k} is not in the archive" for k in keys[~found]], object
    )
    outside = rows[sets.query_index[~inside]]
    if len(outside) and warn:
        warnings.warn(
            f"{len(outside)} source(s) lie outside the image set their coadd_key "
            f"names (first: row {outside[0]}); their dist_edge is NaN",
            NotFoundWarning,
            stacklevel=4,
        )
    return sets, rows[sets.query_index], distance, rows[~found], why


def _nothing():
    empty = np.zeros(0, np.int64)
    return ImageSets.empty().without_corners(), empty, np.zeros(0), empty, empty


def _scan_link(archive, request, points, rows):
    """Link sources by their scan: its most centred set containing each."""
    if not len(rows):
        return _nothing()
    ordate = request.ordate[rows]
    hemisphere = request.hemisphere[rows]
    scanno = request.scanno[rows]
    unique, first, inverse = _unique_scans(ordate, hemisphere, scanno)
    sets = archive.find_scans(
        ordate[first], hemisphere[first], scanno[first], np.zeros(len(first), np.int64)
    )
    sets = sets.take(np.argsort(sets.query_index, kind="stable"))
    counts = np.bincount(sets.query_index, minlength=len(unique))
    starts = np.cumsum(counts) - counts
    # every (source, set of its scan) pair, then the cap test, then the exact one
    per_source = counts[inverse]
    source = np.repeat(np.arange(len(rows)), per_source)
    pair_set = np.repeat(starts[inverse], per_source) + (
        np.arange(per_source.sum())
        - np.repeat(np.cumsum(per_source) - per_source, per_source)
    )
    footprints = archive.set_footprints(sets)
    near = np.einsum(
        "ij,ij->i", footprints.centers[pair_set], points[source]
    ) >= np.cos(np.minimum(footprints.radii[pair_set] + _CAP_SLACK, np.pi))
    source, pair_set = source[near], pair_set[near]
    inside, distance = archive.contain_sets(sets, points[source], index=pair_set)
    source, pair_set, distance = source[inside], pair_set[inside], distance[inside]
    best = best_flags(source, distance, sets.coadd_key[pair_set])
    source, pair_set, distance = source[best], pair_set[best], distance[best]
    linked = np.zeros(len(rows), bool)
    linked[source] = True
    missed = np.flatnonzero(~linked)
    why = np.array(
        [
            f"scan {ordate[i]} {hemisphere[i]} {scanno[i]} is not in the archive"
            if counts[inverse[i]] == 0
            else f"no image of scan {ordate[i]} {hemisphere[i]} {scanno[i]} "
            "contains the position"
            for i in missed
        ],
        object,
    )
    sets = sets.without_corners().take(pair_set)
    return sets, rows[source], distance, rows[missed], why


def _unique_scans(ordate, hemisphere, scanno):
    """Return `numpy.unique` of date-hemisphere-scans (values, first, inverse)."""
    scan_id = np.char.add(np.char.add(ordate, hemisphere), scanno.astype("U3"))
    return np.unique(scan_id, return_index=True, return_inverse=True)


def sources_payload(archive, request, chunk_size):
    """Return the requests `plan_sources` would send (``get_query_payload``).

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where `plan_sources` would look: its ``payload_points``,
        ``payload_coadd_keys`` and ``payload_scans`` (empty lists for
        archives that send no requests).
    request : `~twomass_vo.inputs.sources.SourceRequest`
        Validated sources.
    chunk_size : int
        Sources per round of look-ups, as for `plan_sources`.

    Returns
    -------
    payloads : list of dict
        The requests, chunk by chunk, as `plan_sources` sends them.
    """
    positions = request.positions
    out = []
    for start in range(0, len(positions), chunk_size):
        part = slice(start, start + chunk_size)
        if request.link != "measured":
            out += archive.payload_points(positions.ra[part], positions.dec[part])
            continue
        keys = request.coadd_key[part]
        if (keys > 0).any():
            out += archive.payload_coadd_keys(np.unique(keys[keys > 0]))
        by_scan = keys == 0
        if by_scan.any():
            ordate, hemisphere, scanno = (
                a[part][by_scan]
                for a in (request.ordate, request.hemisphere, request.scanno)
            )
            _, first, _ = _unique_scans(ordate, hemisphere, scanno)
            out += archive.payload_scans(
                ordate[first],
                hemisphere[first],
                scanno[first],
                np.zeros(len(first), np.int64),
            )
    return out


def not_found_table(table, rows, reasons):
    """Return the input rows whose link found no image, with their row and reason.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The input table.
    rows : array-like of int
        0-based rows of ``table``, in order.
    reasons : array-like of str
        Why each found nothing.

    Returns
    -------
    not_found : `~astropy.table.Table`
        ``row`` and ``reason`` first, then the input columns of those rows
        (no rows, and the same columns, when every row found an image).
    """
    rows = np.asarray(rows, np.int64)
    out = table[rows]
    for name in ("row", "reason"):
        if name in out.colnames:  # the input's own column keeps its values
            out.rename_column(name, f"{name}_input")
    out.add_column(rows, name="row", index=0)
    reason = np.asarray(reasons, dtype=str) if len(rows) else np.zeros(0, "U1")
    out.add_column(reason, name="reason", index=1)
    out["row"].description = "0-based row of the input table"
    out["reason"].description = "Why the row's link found no image"
    return out


def _warn(not_found, n, link, warn):
    if len(not_found) and warn:
        first = not_found[0]
        warnings.warn(
            f"{len(not_found)} of {n} source(s) found no image (link={link!r}): "
            f"row {first['row']}: {first['reason']}; they are listed in the "
            "result's not_found table",
            NotFoundWarning,
            stacklevel=4,
        )
