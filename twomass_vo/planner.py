# Licensed under a 3-clause BSD style license - see LICENSE
"""The mode planner: inputs -> archive look-ups -> exact geometry -> ImageTable.

One function per batch mode. Each asks the archive for candidate image sets
(`twomass_vo.archives.Archive`), decides the service's semantics exactly with
`twomass_vo.geometry` (overlaps / covers / enclosed, containment, the best
image, duplicates), expands the chosen sets into one row per band, and asks
the archive for the files' URLs only for the rows kept.
"""

import warnings
from dataclasses import dataclass, replace

import numpy as np
from astropy import units as u

from .archives.base import BANDS, ImageSets
from .exceptions import (
    ArchiveError,
    DiameterClampedWarning,
    InvalidQueryError,
    QuicklookWarning,
)
from .geometry import (
    ConvexPolygon,
    angle_between,
    radec_to_xyz,
    xyz_to_radec,
)
from .geometry.best_image import best_flags
from .results.compact_columns import ChunkedColumns, ascii_bytes
from .results.image_table import ImageTable

__all__ = [
    "INTERSECTS",
    "MAX_DIAMETER",
    "MIN_DIAMETER",
    "RegionShape",
    "best_flags",
    "check_image_type",
    "check_intersect",
    "pairs_table",
    "plan_coadd_keys",
    "plan_positions",
    "plan_region",
    "plan_scans",
    "query_meta",
    "region_shape",
]

INTERSECTS = ("overlaps", "covers", "enclosed")
IMAGE_TYPES = ("atlas", "quicklook")
MIN_DIAMETER, MAX_DIAMETER = 0.05, 7.0  # deg, the service's limits


def check_intersect(intersect):
    """Validate ``intersect``.

    Parameters
    ----------
    intersect : str
        ``overlaps``, ``covers`` or ``enclosed`` (any case).

    Returns
    -------
    intersect : str
        Lower-case.
    """
    value = str(intersect).lower() if isinstance(intersect, str) else None
    if value not in INTERSECTS:
        raise InvalidQueryError(
            f"intersect={intersect!r} must be one of {', '.join(INTERSECTS)}"
        )
    return value


def check_image_type(image_type):
    """Validate ``image_type``, warning for Quicklook.

    Parameters
    ----------
    image_type : str
        ``atlas`` or ``quicklook`` (any case).

    Returns
    -------
    image_type : str
        Lower-case.
    """
    value = str(image_type).lower() if isinstance(image_type, str) else None
    if value not in IMAGE_TYPES:
        raise InvalidQueryError(
            f"image_type={image_type!r} must be one of {', '.join(IMAGE_TYPES)}"
        )
    if value == "quicklook":
        warnings.warn(
            "Quicklook images are restored from lossy-compressed (hcompress) files: "
            "always use Atlas images for photometric measurements.",
            QuicklookWarning,
            stacklevel=3,
        )
    return value


@dataclass(frozen=True)
class RegionShape:
    """A validated search region.

    Attributes
    ----------
    ra, dec : float
        Centre, ICRS degrees (for a polygon: the centre of its bounding circle).
    radius : float
        Radius (circle) or bounding radius (polygon), degrees.
    polygon : `~twomass_vo.geometry.ConvexPolygon` or None
        The polygon, for polygon regions.
    description : str
        For the table metadata and messages.
    """

    ra: float
    dec: float
    radius: float
    polygon: object
    description: str


def _diameter_deg(diameter):
    try:
        value = (
            diameter.to_value(u.deg)
            if isinstance(diameter, u.Quantity)
            else float(diameter)
        )
    except (TypeError, ValueError, u.UnitsError):
        raise InvalidQueryError(f"diameter={diameter!r} is not an angle") from None
    if not np.isfinite(value) or value < 0:
        raise InvalidQueryError(
            f"diameter={diameter!r} must be a positive angle (degrees)"
        )
    if not MIN_DIAMETER <= value <= MAX_DIAMETER:
        clamped = min(max(value, MIN_DIAMETER), MAX_DIAMETER)
        warnings.warn(
            f"diameter {value} deg is outside [{MIN_DIAMETER}, {MAX_DIAMETER}] deg: "
            f"clamped to {clamped} deg.",
            DiameterClampedWarning,
            stacklevel=4,
        )
        value = clamped
    return value


def region_shape(center, diameter=None, *, resolver=None):
    """Turn the region arguments of ``query_region`` into a `RegionShape`.

    Parameters
    ----------
    center : str, `~astropy.coordinates.SkyCoord` or `~regions.SkyRegion`
        Centre (coordinates or object name), or a `~regions.CircleSkyRegion`
        or convex `~regions.PolygonSkyRegion`.
    diameter : float or `~astropy.units.Quantity`, optional
        Diameter (float: degrees), required with a centre; clamped into
        [0.05, 7] deg with a `~twomass_vo.exceptions.DiameterClampedWarning`.
        A `~regions.CircleSkyRegion` gives its own (clamped the same way).
    resolver : callable, optional
        Object-name resolver (see `~twomass_vo.inputs.coordinates.parse_coordinates`).

    Returns
    -------
    shape : `RegionShape`
        The validated region.
    """
    from regions import CircleSkyRegion, PolygonSkyRegion

    from .inputs.coordinates import parse_coordinates

    if isinstance(center, PolygonSkyRegion):
        if diameter is not None:
            raise InvalidQueryError("diameter cannot be combined with a polygon region")
        vertices = center.vertices.icrs
        try:
            polygon = ConvexPolygon.from_radec(vertices.ra.deg, vertices.dec.deg)
        except ValueError as exc:
            raise InvalidQueryError(f"polygon region: {exc}") from None
        mean = polygon.vertices.sum(axis=0)
        mean /= np.linalg.norm(mean)
        radius = float(np.degrees(angle_between(mean, polygon.vertices).max()))
        if 2 * radius > MAX_DIAMETER:
            raise InvalidQueryError(
                f"polygon region is {2 * radius:.3f} deg across: at most "
                f"{MAX_DIAMETER} deg (the service's largest region)"
            )
        ra, dec = xyz_to_radec(mean)
        coords = " ".join(
            f"{a:.6f} {d:.6f}"
            for a, d in zip(vertices.ra.deg, vertices.dec.deg, strict=True)
        )
        return RegionShape(float(ra), float(dec), radius, polygon, f"polygon {coords}")
    if isinstance(center, CircleSkyRegion):
        if diameter is not None:
            raise InvalidQueryError("diameter cannot be combined with a circle region")
        centre = center.center.icrs
        diameter = 2 * center.radius
    else:
        if diameter is None:
            raise InvalidQueryError("diameter is required with a centre position")
        centre = parse_coordinates(center, resolver=resolver)
    value = _diameter_deg(diameter)
    ra, dec = float(centre.ra.deg), float(centre.dec.deg)
    return RegionShape(
        ra, dec, value / 2, None, f"circle {ra:.6f} {dec:.6f} diameter {value:g} deg"
    )


def _band_mask(bands):
    """(N, 3) bool from an array of band strings ('J', 'H', 'K', 'JHK')."""
    bands = np.asarray(bands).astype(str)
    return np.stack([np.char.find(bands, b) >= 0 for b in BANDS], axis=-1)


def _expand_bands(sets, band_mask):
    """Row and band code of every wanted, existing file of ``sets``."""
    rows, band_code = np.nonzero(sets.has_band & band_mask)
    return rows, band_code.astype(np.int8)


#: Rows per call of `Archive.files`: bounds the temporaries of the string columns.
FILES_CHUNK = 50_000

#: Per-row input columns stored as one broadcast value when all rows agree.
_CONSTANT_INPUTS = ("id", "cutout_size")

#: Per-set columns copied from `ImageSets` into the table.
_SET_COLUMNS = ("coadd_key", "ordate", "hemisphere", "scanno", "image", "ra", "dec")

_BAND_BYTES = np.array([b.encode("ascii") for b in BANDS])


def _table(archive, sets, rows, band_code, image_type, meta, *, warn=True, **columns):
    """Assemble the ImageTable of (set, band) rows with the archive's URLs.

    ``rows`` index ``sets`` (one output row each). The columns are filled in
    chunks into preallocated arrays, so that a result of millions of rows
    costs little more memory than the table itself.
    """
    n = len(rows)
    if n == 0:
        return ImageTable.empty(
            archive=archive, meta=_with_route(archive, meta), warn=warn
        )
    size = columns.pop("cutout_size", None)
    out = ChunkedColumns(n)
    for start in range(0, n, FILES_CHUNK):
        part = slice(start, min(start + FILES_CHUNK, n))
        chosen = sets.take(rows[part])
        codes = band_code[part]
        for name in _SET_COLUMNS:
            out.put(name, getattr(chosen, name), start)
        out.put("band", _BAND_BYTES[codes], start)
        refs = archive.files_for_table(chosen, codes, image_type)
        for name in ("s_region", "access_url", "access_format", "access_estsize"):
            out.put(name, getattr(refs, name), start)
        if size is not None:
            urls = archive.cutout_urls(
                refs.access_url,
                columns["in_ra"][part],
                columns["in_dec"][part],
                size[part],
            )
            out.put("cutout_url", urls, start)
        del chosen, refs
    meta = _with_route(archive, meta)  # with the requests the files needed
    data = out.result()
    data["image_type"] = np.broadcast_to(np.array(image_type, "S9"), (n,))
    if size is not None:
        columns["cutout_size"] = size
    for name in _CONSTANT_INPUTS:
        values = columns.get(name)
        if values is not None and len(values) and (values == values[0]).all():
            columns[name] = np.broadcast_to(values[0], (n,))
    return ImageTable.from_columns(
        {**data, **columns}, archive=archive, meta=meta, copy=False
    )


def query_meta(archive, mode, image_type, **more):
    """Return the metadata of a query's result (Quicklook refused where there is none).

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        The archive asked.
    mode : str
        The batch mode (``positions``, ``sources``, ...).
    image_type : str
        ``atlas`` or ``quicklook`` (validated).
    **more
        More entries (``query``: the query in words, ...).

    Returns
    -------
    meta : dict
        ``mode``, ``archive``, ``image_type`` and ``more``.

    Raises
    ------
    ArchiveError
        Before any request, for Quicklook images of an archive that has none.
    """
    if image_type == "quicklook" and archive.quicklook_refusal:  # before any request
        raise ArchiveError(f"{archive!r} {archive.quicklook_refusal}")
    return {"mode": mode, "archive": archive.name, "image_type": image_type, **more}


def _with_route(archive, meta):
    """``meta`` plus the archive's routes and service URLs of its last look-up."""
    return {**meta, **archive.route_info()}


def plan_region(archive, shape, *, intersect, bands, image_type):
    """Region mode: image sets that overlap / cover / are enclosed by a region.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look.
    shape : `RegionShape`
        The region.
    intersect : str
        ``overlaps``, ``covers`` or ``enclosed`` (validated).
    bands : str
        ``J``, ``H``, ``K`` or ``JHK``.
    image_type : str
        ``atlas`` or ``quicklook`` (validated).

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per file, sorted by coadd_key and band.
    """
    meta = query_meta(
        archive,
        "region",
        image_type,
        intersect=intersect,
        query=f"the {shape.description} ({intersect})",
    )
    sets = archive.find_circle(shape.ra, shape.dec, shape.radius, image_type=image_type)
    footprints = archive.set_footprints(sets)
    if shape.polygon is None:
        centre = radec_to_xyz(shape.ra, shape.dec)
        relation = footprints.relate_circle(centre, np.radians(shape.radius))
    else:
        relation = footprints.relate_polygon(shape.polygon)
    sets = sets.take(relation[INTERSECTS.index(intersect)])
    sets = sets.take(np.argsort(sets.coadd_key, kind="stable"))
    rows, band_code = _expand_bands(sets, _band_mask([bands]))
    n = len(rows)
    return _table(
        archive,
        sets,
        rows,
        band_code,
        image_type,
        meta,
        scntr=np.zeros(n, np.int64),
        in_ra=np.full(n, shape.ra),
        in_dec=np.full(n, shape.dec),
    )


def _positions_chunk(archive, request, start, stop):
    """Kept image sets of points [start, stop), in output order.

    Returns the sets (sorted by point, then most centred first, then key),
    their point, edge distance and best flag, and whether rows expanded from
    them in that order (bands within a set) are already in output order.
    """
    sets, distance = archive.contain_points(
        request.ra[start:stop], request.dec[start:stop], with_corners=False
    )
    chosen = np.arange(len(sets))
    point = sets.query_index + start
    key = sets.coadd_key
    is_best = best_flags(point, distance, key)
    keep = is_best | ~request.best[point]
    chosen, point, distance, key, is_best = (
        a[keep] for a in (chosen, point, distance, key, is_best)
    )
    if len(point) > 1 and not (np.diff(point) > 0).all():
        order = np.lexsort((key, -distance, point))
        chosen, point, distance, key, is_best = (
            a[order] for a in (chosen, point, distance, key, is_best)
        )
    # one set per (point, key): expanding sets in this order is the output order
    ordered = not ((point[1:] == point[:-1]) & (key[1:] == key[:-1])).any()
    return sets.take(chosen), point, distance, is_best, ordered


def plan_positions(archive, request, *, bands, image_type, chunk_size, warn=True):
    """Positions mode: the image sets containing each position (or the best one).

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look.
    request : `~twomass_vo.inputs.PositionRequest`
        Validated positions.
    bands : str
        ``J``, ``H``, ``K`` or ``JHK``.
    image_type : str
        ``atlas`` or ``quicklook``.
    chunk_size : int
        Positions per archive look-up (bounds memory).
    warn : bool, optional
        Warn `~twomass_vo.exceptions.NoResultsWarning` for an empty result
        (default; not in the partitions of a Dask query).

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per (position, file), sorted by input row, then most
        centred first; ``dist_edge`` and ``best`` filled in.
    """
    n_in = len(request.ra)
    meta = query_meta(archive, "positions", image_type, query=f"{n_in} position(s)")
    parts = [
        _positions_chunk(archive, request, start, min(start + chunk_size, n_in))
        for start in range(0, n_in, chunk_size)
    ]
    return pairs_table(
        archive,
        request,
        parts,
        bands=bands,
        image_type=image_type,
        meta=meta,
        warn=warn,
    )


def pairs_table(archive, request, parts, *, bands, image_type, meta, warn=True):
    """Return the ImageTable of chosen (position, image set) pairs, one row per file.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        The archive that found the sets (it gives the files' URLs).
    request : `~twomass_vo.inputs.PositionRequest`
        The positions (``scntr``, ``id``, ``in_ra``, ``in_dec`` and cutout
        sizes of the rows).
    parts : list of tuple
        Per chunk of positions: the chosen `~twomass_vo.archives.ImageSets`,
        the index of the position of each set, its edge distance (radians),
        its best flag, and whether expanding the sets in that order (bands
        within a set) is the output order.
    bands : str
        ``J``, ``H``, ``K`` or ``JHK``.
    image_type : str
        ``atlas`` or ``quicklook``.
    meta : dict
        The result's metadata (`query_meta`).
    warn : bool, optional
        Warn `~twomass_vo.exceptions.NoResultsWarning` for an empty result.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per (position, file), sorted by position, then most centred
        first, then coadd_key and band.
    """
    if not parts:
        return ImageTable.empty(archive=archive, meta=meta, warn=warn)
    sets = ImageSets.concatenate([p[0] for p in parts])
    # strings as the table stores them: a quarter of the memory until then
    sets = replace(
        sets,
        ordate=ascii_bytes(sets.ordate),
        hemisphere=ascii_bytes(sets.hemisphere),
    )
    point, distance, is_best = (
        np.concatenate([p[i] for p in parts]) for i in (1, 2, 3)
    )
    ordered = all(p[4] for p in parts)
    del parts
    rows, band_code = _expand_bands(sets, _band_mask([bands]))
    if not ordered:
        order = np.lexsort(
            (band_code, sets.coadd_key[rows], -distance[rows], point[rows])
        )
        rows, band_code = rows[order], band_code[order]
    point = point[rows]
    per_row = {
        "scntr": request.scntr[point],
        "id": _per_row(request.id, point),
        "in_ra": request.ra[point],
        "in_dec": request.dec[point],
        "dist_edge": np.degrees(distance[rows]) * 3600,
        "best": is_best[rows],
        "cutout_size": _per_row(request.size, point),
    }
    del point, distance, is_best
    return _table(
        archive, sets, rows, band_code, image_type, meta, warn=warn, **per_row
    )


def _per_row(values, point):
    """``values[point]``, as one broadcast value when every input has the same."""
    if len(values) and (values == values[0]).all():
        return np.broadcast_to(values[:1], (len(point),))
    return values[point]


def _unique_files(sets, rows, band_code, scntr):
    """Rows in input order with duplicate (coadd_key, band) references dropped."""
    order = np.lexsort((band_code, rows, scntr[rows]))
    rows, band_code = rows[order], band_code[order]
    _, first = np.unique(sets.coadd_key[rows] * 3 + band_code, return_index=True)
    first.sort()
    return rows[first], band_code[first]


def _listed_files(archive, sets, request, image_type, meta):
    """Rows of the keys and scans modes: per-row bands, duplicate files dropped."""
    q = sets.query_index
    rows, band_code = _expand_bands(sets, _band_mask(request.bands[q]))
    rows, band_code = _unique_files(sets, rows, band_code, request.scntr[q])
    q = q[rows]
    return _table(
        archive,
        sets,
        rows,
        band_code,
        image_type,
        meta,
        scntr=request.scntr[q],
        id=request.id[q],
    )


def plan_coadd_keys(archive, request, *, image_type):
    """coadd_key mode: the files of listed image sets, duplicates dropped.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look.
    request : `~twomass_vo.inputs.KeyRequest`
        Validated keys with per-row bands.
    image_type : str
        ``atlas`` or ``quicklook``.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per file, in input order (J, H, K within a set).
    """
    meta = query_meta(
        archive,
        "coadd_keys",
        image_type,
        query=f"{len(request.coadd_key)} coadd_key(s)",
    )
    sets = archive.find_coadd_keys(request.coadd_key)
    return _listed_files(archive, sets, request, image_type, meta)


def plan_scans(archive, request, *, image_type):
    """Date-hemisphere-scan modes: the files of listed scans, duplicates dropped.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look.
    request : `~twomass_vo.inputs.ScanRequest`
        Validated DHS rows (image 0 = all images of the scan).
    image_type : str
        ``atlas`` or ``quicklook``.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        One row per file, in input order, then image number and band.
    """
    meta = query_meta(
        archive,
        "scans",
        image_type,
        query=f"{len(request.ordate)} date-hemisphere-scan(s)",
    )
    sets = archive.find_scans(
        request.ordate, request.hemisphere, request.scanno, request.image
    )
    sets = sets.take(np.lexsort((sets.image, sets.query_index)))
    return _listed_files(archive, sets, request, image_type, meta)
