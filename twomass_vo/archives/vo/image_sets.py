# Licensed under a 3-clause BSD style license - see LICENSE
"""Grouping a VO service's file rows into registered J/H/K image sets.

A service answers one row per image *file* (band and image type); `SetStore`
groups them into image sets (one per date-hemisphere-scan-image), keeps each
file's access URL, format, size and publisher DID, and hands the sets out as
`~twomass_vo.archives.base.ImageSets` (and their files as
`~twomass_vo.archives.base.FileRefs`). `expand` and `sets_in_ranges` pair
the sets found with the inputs they answer (by coadd_key, by scan).
`parse_footprints` reads a set's four corners from a service's footprint
column (STC-S ``s_region`` strings or DALI polygon arrays).

`sets_of_pairs` is the second half of the two-step position look-up of an
upload route: a first query answers only (position, coadd_key) pairs, each
distinct set is then looked up once (with all its metadata), and every pair
gets its set. Any route that can answer such pairs (TAP, IBE) can use it.
`with_real_keys` gives sets found without their coadd_key (SIA v2: a
surrogate key) the real one.
"""

import warnings

import numpy as np
from astropy.utils.exceptions import AstropyUserWarning

from ...exceptions import ArchiveError
from ...geometry import format_s_region, parse_s_region, xyz_to_radec
from ..base import FileRefs, ImageSets
from ..set_keys import dhs_keys
from .answer_values import polygon_xyz

__all__ = [
    "SET_FIELDS",
    "SetStore",
    "expand",
    "parse_footprints",
    "sets_in_ranges",
    "sets_of_pairs",
    "with_real_keys",
]

#: The `~twomass_vo.archives.base.ImageSets` fields of a set (all but the
#: query index).
SET_FIELDS = tuple(
    f for f in ImageSets.__dataclass_fields__ if f not in ("query_index",)
)


class SetStore:
    """The image sets an archive has seen, with each band's file.

    Sets are keyed by their date-hemisphere-scan-image key; ``ref`` is the
    row in these arrays. Per-file columns have shape (N, 2, 3): (kind, band).
    """

    def __init__(self):
        self.clear()

    def clear(self):
        """Forget every set."""
        self.keys = np.zeros(0, np.int64)
        self.order = np.zeros(0, np.int64)
        self.coadd_key = np.zeros(0, np.int64)
        self.ordate = np.zeros(0, "U6")
        self.hemisphere = np.zeros(0, "U1")
        self.scanno = np.zeros(0, np.int64)
        self.image = np.zeros(0, np.int64)
        self.ra = np.zeros(0)
        self.dec = np.zeros(0)
        self.corners = np.zeros((0, 4, 3))
        self.s_region = np.zeros(0, "S1")
        self.has = np.zeros((0, 2, 3), bool)
        self.url = np.zeros((0, 2, 3), object)
        self.format = np.zeros((0, 2, 3), object)
        self.size = np.zeros((0, 2, 3), np.int64)
        self.pubdid = np.zeros((0, 2, 3), object)
        self._by_url = None

    def __len__(self):
        return len(self.keys)

    def add(self, rows, corners_of):
        """Register file rows; return the set ref of every row."""
        keys = rows["dhs"]
        ukeys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        sorted_keys = self.keys[self.order]
        pos = np.searchsorted(sorted_keys, ukeys).clip(0, max(len(sorted_keys) - 1, 0))
        found = (
            sorted_keys[pos] == ukeys
            if len(sorted_keys)
            else np.zeros(len(ukeys), bool)
        )
        refs = np.empty(len(ukeys), np.int64)
        refs[found] = self.order[pos[found]]
        new = np.flatnonzero(~found)
        if len(new):
            rows_new = first[new]
            corners = corners_of(rows_new)
            ra, dec = rows["ra"][rows_new], rows["dec"][rows_new]
            missing = ~(np.isfinite(ra) & np.isfinite(dec))
            if missing.any():
                cra, cdec = xyz_to_radec(corners[missing].sum(axis=1))
                ra, dec = ra.copy(), dec.copy()
                ra[missing], dec[missing] = cra, cdec
            coadd = rows["coadd_key"][rows_new]
            coadd = np.where(coadd >= 0, coadd, -ukeys[new])
            start = len(self.keys)
            m = len(new)
            refs[new] = start + np.arange(m)
            self.keys = np.concatenate([self.keys, ukeys[new]])
            self.order = np.argsort(self.keys, kind="stable")
            self.coadd_key = np.concatenate([self.coadd_key, coadd])
            self.ordate = np.concatenate([self.ordate, rows["ordate"][rows_new]])
            self.hemisphere = np.concatenate(
                [self.hemisphere, rows["hemisphere"][rows_new]]
            )
            self.scanno = np.concatenate([self.scanno, rows["scanno"][rows_new]])
            self.image = np.concatenate([self.image, rows["image"][rows_new]])
            self.ra = np.concatenate([self.ra, ra])
            self.dec = np.concatenate([self.dec, dec])
            self.corners = np.concatenate([self.corners, corners])
            region = format_s_region(corners)
            if region.dtype.kind == "U":
                region = np.char.encode(region, "ascii")
            width = max(self.s_region.dtype.itemsize, region.dtype.itemsize)
            self.s_region = np.concatenate(
                [self.s_region.astype(f"S{width}"), region.astype(f"S{width}")]
            )
            self.has = np.concatenate([self.has, np.zeros((m, 2, 3), bool)])
            self.size = np.concatenate([self.size, np.full((m, 2, 3), -1, np.int64)])
            for name in ("url", "format", "pubdid"):
                extra = np.full((m, 2, 3), "", dtype=object)
                setattr(self, name, np.concatenate([getattr(self, name), extra]))
        ref = refs[inverse]
        # a real coadd_key replaces a surrogate one
        real = rows["coadd_key"] >= 0
        self.coadd_key[ref[real]] = rows["coadd_key"][real]
        kind, band = rows["kind"], rows["band_code"]
        self.has[ref, kind, band] = True
        self.url[ref, kind, band] = rows["access_url"]
        self.format[ref, kind, band] = rows["access_format"]
        self.size[ref, kind, band] = rows["access_estsize"]
        self.pubdid[ref, kind, band] = rows["pubdid"]
        self._by_url = None
        return ref

    def pubdid_of(self, urls):
        """Return the publisher DIDs of access URLs ('' where unknown)."""
        if self._by_url is None:
            flat_url = self.url.ravel().astype(str)
            order = np.argsort(flat_url, kind="stable")
            self._by_url = flat_url[order], self.pubdid.ravel().astype(str)[order]
        sorted_urls, pubdids = self._by_url
        urls = np.asarray(urls).astype(str)
        if not len(sorted_urls):
            return np.full(len(urls), "", dtype=str)
        pos = np.searchsorted(sorted_urls, urls).clip(0, len(sorted_urls) - 1)
        hit = (sorted_urls[pos] == urls) & (urls != "")
        return np.where(hit, pubdids[pos], "")

    def file_refs(self, ref, kind, band_code):
        """Return the files of sets ``ref``, in one kind and band each.

        Parameters
        ----------
        ref : array-like of int
            The sets (rows of this store).
        kind : int
            0 Atlas, 1 Quicklook.
        band_code : array-like of int
            0, 1, 2 for J, H, Ks, one per set.

        Returns
        -------
        has : ndarray of bool
            Which sets have such a file.
        files : `~twomass_vo.archives.base.FileRefs`
            Their URLs, formats, sizes (``''`` / -1 where there is none) and
            footprints.

        Raises
        ------
        twomass_vo.exceptions.ArchiveError
            If a set is not in this store (another archive's, or forgotten).
        """
        ref = np.asarray(ref, np.int64)
        band = np.asarray(band_code, np.int64)
        if len(ref) and (ref.max() >= len(self) or ref.min() < 0):
            raise ArchiveError(
                "these image sets were not found by this archive (or its cache "
                "was cleared)"
            )
        has = self.has[ref, kind, band]
        size = np.where(has, self.size[ref, kind, band], -1).astype(np.int64)
        return has, FileRefs(
            access_url=np.where(has, self.url[ref, kind, band], "").astype(str),
            access_format=np.where(has, self.format[ref, kind, band], "").astype(str),
            access_estsize=size,
            s_region=self.s_region[ref],
        )

    def sets(self, ref, query_index):
        """Return the sets ``ref`` as `~twomass_vo.archives.base.ImageSets`."""
        return ImageSets(
            ref=np.asarray(ref, np.int64),
            coadd_key=self.coadd_key[ref],
            ordate=self.ordate[ref],
            hemisphere=self.hemisphere[ref],
            scanno=self.scanno[ref],
            image=self.image[ref],
            ra=self.ra[ref],
            dec=self.dec[ref],
            corners=self.corners[ref],
            has_band=self.has[ref].any(axis=1),
            query_index=np.asarray(query_index, np.int64),
        )


def sets_in_ranges(found, lo, hi):
    """Return the found sets whose key is in each request's range.

    Parameters
    ----------
    found : `~twomass_vo.archives.base.ImageSets`
        Distinct sets (any order).
    lo, hi : ndarray of int64
        Request ``r`` asks for the sets whose
        `~twomass_vo.archives.set_keys.dhs_keys` is in ``[lo[r], hi[r]]``
        (one image, or every image of a scan).

    Returns
    -------
    sets : `~twomass_vo.archives.base.ImageSets`
        One row per (request, set), ``query_index`` the request, requests in
        order and the sets of one request by key.
    """
    set_keys = dhs_keys(found.ordate, found.hemisphere, found.scanno, found.image)
    order = np.argsort(set_keys, kind="stable")
    start = np.searchsorted(set_keys[order], lo, side="left")
    stop = np.searchsorted(set_keys[order], hi, side="right")
    counts = stop - start
    request = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    chosen = order[np.repeat(start, counts) + offsets]
    sets = found.take(chosen)
    return ImageSets(
        **{
            **{f: getattr(sets, f) for f in SET_FIELDS},
            "query_index": request.astype(np.int64),
        }
    )


def expand(found, order, start, stop):
    """Pair each found set with the inputs it answers (``order[start:stop]``)."""
    counts = stop - start
    which = np.repeat(np.arange(len(found)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    inputs = order[np.repeat(start, counts) + offsets]
    sets = found.take(which)
    return ImageSets(
        **{
            **{f: getattr(sets, f) for f in SET_FIELDS},
            "query_index": inputs.astype(np.int64),
        }
    )


def sets_of_pairs(query_index, coadd_key, look_up, *, source):
    """Image sets of (query, coadd_key) pairs, each distinct set looked up once.

    The second step of a two-step position look-up: a first, cheap query
    answers which sets (by coadd_key) contain which query point; the distinct
    keys are then looked up once each, with every column the archive needs,
    instead of receiving every file row's metadata once per point.

    Parameters
    ----------
    query_index : ndarray of int
        The query (point) of each pair.
    coadd_key : ndarray of int
        The set of each pair.
    look_up : callable
        ``look_up(keys)`` -> `~twomass_vo.archives.base.ImageSets`: the sets
        with the given distinct, sorted coadd_keys (any order; sets with
        other keys are ignored), e.g. an archive's coadd_key look-up.
    source : str
        Where the pairs came from, for error messages.

    Returns
    -------
    sets : `~twomass_vo.archives.base.ImageSets`
        One row per (pair, set with its key), ``query_index`` the pair's
        query, sorted by query then set (``ref``), duplicates dropped.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        If a key of the pairs is not found by ``look_up`` (the service
        answered inconsistently).
    """
    query_index = np.asarray(query_index, np.int64)
    coadd_key = np.asarray(coadd_key, np.int64)
    if not len(coadd_key):
        return ImageSets.empty()
    keys = np.unique(coadd_key)
    found = look_up(keys)
    order = np.argsort(found.coadd_key, kind="stable")
    sorted_keys = found.coadd_key[order]
    start = np.searchsorted(sorted_keys, coadd_key, side="left")
    stop = np.searchsorted(sorted_keys, coadd_key, side="right")
    missing = stop == start
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ArchiveError(
            f"{source}: point {int(query_index[i])} is in the image set with "
            f"coadd_key {int(coadd_key[i])}, but the look-up of that key found "
            f"no such set ({int(missing.sum())} pair(s) affected)"
        )
    counts = stop - start
    pair = np.repeat(np.arange(len(coadd_key)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    chosen = order[np.repeat(start, counts) + offsets]
    both = np.unique(np.stack([query_index[pair], found.ref[chosen]], 1), axis=0)
    # rows of ``found`` by ref (refs are unique in a look-up's answer)
    by_ref = np.argsort(found.ref, kind="stable")
    rows = by_ref[np.searchsorted(found.ref[by_ref], both[:, 1])]
    sets = found.take(rows)
    return ImageSets(
        **{
            **{f: getattr(sets, f) for f in SET_FIELDS},
            "query_index": both[:, 0],
        }
    )


def with_real_keys(sets, store, find_scans, *, table):
    """Replace surrogate (negative) coadd_keys by the real ones of their images.

    Sets found by a service without a coadd_key column (SIA v2) carry the
    surrogate ``-dhs_keys(...)``; their images are looked up once more, by
    scan and image number (``find_scans``), which registers their real keys
    in ``store``. If that look-up fails, the surrogates stay, with an
    `~astropy.utils.exceptions.AstropyUserWarning`.

    Parameters
    ----------
    sets : `~twomass_vo.archives.base.ImageSets`
        Sets found (in ``store``).
    store : `SetStore`
        Where the sets are registered.
    find_scans : callable
        ``find_scans(ordate, hemisphere, scanno, image)``: an archive's scan
        look-up (which registers what it finds in ``store``).
    table : str
        The table looked up, for the warning.

    Returns
    -------
    sets : `~twomass_vo.archives.base.ImageSets`
        The same sets, with their real keys where found.
    """
    unknown = sets.coadd_key < 0
    if not unknown.any():
        return sets
    todo = sets.take(unknown)
    _, first = np.unique(todo.ref, return_index=True)
    todo = todo.take(first)
    try:
        find_scans(todo.ordate, todo.hemisphere, todo.scanno, todo.image)
    except ArchiveError as exc:
        warnings.warn(
            f"coadd_keys of {len(todo)} image set(s) found by SIA v2 could not "
            f"be read from {table} ({exc}); they keep surrogate (negative) "
            "keys",
            AstropyUserWarning,
            stacklevel=4,
        )
        return sets
    return store.sets(sets.ref, sets.query_index)


def parse_footprints(column, idx):
    """Corner vectors of response rows ``idx``: STC-S strings or DALI polygons."""
    values = column[idx] if len(idx) else column[:0]
    data = np.ma.getdata(values) if isinstance(values, np.ma.MaskedArray) else values
    data = np.asarray(data)
    if data.dtype.kind in "iuf":  # fixed-size DALI polygon arrays: (k, 2m)
        flat = data.astype(np.float64)
        return _polygon_corners(flat, column)
    if data.dtype.kind in "SU":
        return _stc_corners(data, column)
    first = next((v for v in data if v is not None), None)
    if isinstance(first, (str, bytes, np.str_, np.bytes_)):
        return _stc_corners(data, column)
    rows = [_polygon_values(v) for v in data]
    lengths = np.fromiter(map(len, rows), np.int64, count=len(rows))
    if len(rows) and lengths.min() != lengths.max():
        raise ArchiveError(
            f"footprint column {column.name!r}: polygons of different sizes "
            f"{sorted(set(lengths.tolist()))}"
        )
    width = int(lengths[0]) if len(rows) else 8
    flat = np.concatenate(rows).astype(np.float64) if len(rows) else np.zeros(0)
    return _polygon_corners(flat.reshape(len(rows), width), column)


def _polygon_values(value):
    """Return the numbers of one DALI polygon value (NaN where masked)."""
    if value is None or value is np.ma.masked:
        return np.zeros(0)
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmask(value)
        if mask is np.ma.nomask or not mask.any():
            return value.data
        return np.where(mask, np.nan, value.data)
    return np.asarray(value)


def _stc_corners(values, column):
    try:
        return parse_s_region(values)
    except ValueError as exc:
        raise ArchiveError(f"footprint column {column.name!r}: {exc}") from None


def _polygon_corners(flat, column):
    """(k, 2m) DALI polygon arrays (degrees) -> (k, 4, 3) unit vectors."""
    k, width = flat.shape if flat.ndim == 2 else (0, 8)
    if width == 10:  # closed polygon: the 5th vertex repeats the 1st
        flat = flat[:, :8]
    elif width != 8:
        raise ArchiveError(
            f"footprint column {column.name!r}: a polygon of {width // 2} vertices "
            "(4 expected)"
        )
    if not np.isfinite(flat).all():
        raise ArchiveError(f"footprint column {column.name!r}: a null polygon")
    return polygon_xyz(flat[:, 0::2], flat[:, 1::2]).reshape(k, 4, 3)
