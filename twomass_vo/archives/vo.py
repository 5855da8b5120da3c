# Licensed under a 3-clause BSD style license - see LICENSE
"""`VOArchive`: 2MASS image metadata from an SIA v2 and a TAP service, through pyvo.

The archive answers the four look-ups of `~twomass_vo.archives.Archive` with
IVOA queries:

* ``find_circle``: one SIA v2 request (``POS=CIRCLE ra dec r``, plus
  ``COLLECTION`` and an explicit ``MAXREC``) when an SIA v2 endpoint is
  configured, else one TAP query with ``INTERSECTS(CIRCLE(...), s_region)``;
* ``find_points``: one TAP query per chunk of positions, the positions
  uploaded as a table and joined with ``CONTAINS(POINT(...), s_region)``
  (asynchronous above a size); one SIA v2 (or TAP) request per position when
  uploads are off or the service has none;
* ``find_coadd_keys`` / ``find_scans``: TAP queries with typed, validated
  values -- ``IN (...)`` lists for short inputs, uploaded tables for long
  ones. No user string is ever pasted into ADQL.

Every look-up has a twin ``payload_*`` method that builds the requests
without any network access (astroquery's ``get_query_payload``); the
look-up executes exactly those requests.

The services answer one row per image *file* (band and image type). The rows
are grouped into image sets (one per date-hemisphere-scan-image), and each
file's access URL, format, size and publisher DID is remembered so that
`VOArchive.files` and `VOArchive.cutout_urls` can hand them out later. Sets
from a service without a coadd_key column (SIA v2) carry the surrogate key
``-dhs_keys(...)`` (negative: never a real coadd_key) until an answer with the
real key is seen. Where the service has no
date / hemisphere / scan / image columns (IRSA's SIA v2), they are parsed from
the file path
``.../{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``.
"""

import contextlib
import io
import re
import warnings
from urllib.parse import quote, urlsplit

import numpy as np
import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.table import Table
from astropy.units import UnitsWarning
from astropy.utils.exceptions import AstropyUserWarning

from ..exceptions import ArchiveError, InvalidQueryError
from ..geometry import format_s_region, parse_s_region, radec_to_xyz, xyz_to_radec
from .base import Archive, FileRefs, ImageSets

__all__ = [
    "DEFAULT_COLUMNS",
    "IMAGE_TYPES",
    "EndpointStatus",
    "VOArchive",
    "band_codes",
    "dhs_keys",
    "parse_image_paths",
]

#: Contract column -> column of the TAP image table (one row per image file).
#: ``None`` means the table has no such column. ``corners`` is an optional
#: sequence of 8 corner columns (``ra1 dec1 ... ra4 dec4``) read instead of
#: ``s_region`` (which is still the geometry used in ADQL); ``file_name`` an
#: optional column holding the file name (``ji0600256.fits.gz``).
DEFAULT_COLUMNS = {
    "coadd_key": "coadd_key",
    "ordate": "ordate",
    "hemisphere": "hemisphere",
    "scanno": "scanno",
    "image": "image",
    "band": "band",
    "image_type": "image_type",
    "ra": "ra",
    "dec": "dec",
    "s_region": "s_region",
    "corners": None,
    "file_name": None,
    "access_url": "access_url",
    "access_format": "access_format",
    "access_estsize": "access_estsize",
    "pubdid": "pubdid",
}

#: The image types, in the order of the archive's per-kind file slots.
IMAGE_TYPES = ("atlas", "quicklook")

#: ObsCore columns of an SIA v2 response, per contract column.
_OBSCORE = {
    "ra": "s_ra",
    "dec": "s_dec",
    "s_region": "s_region",
    "access_url": "access_url",
    "access_format": "access_format",
    "access_estsize": "access_estsize",
    "pubdid": "obs_publisher_did",
    "band": "energy_bandpassname",
}

#: ``dataproduct_subtype`` values of image files in SIA v2 answers: IRSA writes
#: ``science`` (its ``auxiliary`` / ``weight`` rows are dropped); a twomass_vo
#: DaCHS mirror writes the image type.
_SCIENCE_SUBTYPES = ("", "science", "atlas", "quicklook")

#: Names of the uploaded tables and their columns (distinct from any image
#: table column: some services reject uploads whose names clash).
_POS_TABLE, _POS_IDX, _POS_RA, _POS_DEC = "pos", "pos_idx", "pos_ra", "pos_dec"
_KEY_TABLE, _KEY_VALUE = "keys", "key_value"
_SCAN_TABLE = "scans"
_SCAN_ORDATE, _SCAN_HEM, _SCAN_NO = "scan_ordate", "scan_hem", "scan_no"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}\Z")

#: A 2MASS image file: ``[{ordate}{hem}/s{scan}/image/]{b}i{scan}{image}.fits[.gz]``.
_PATH_RE = re.compile(
    r"(?:(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<dscan>\d{3})/(?:image|ql)/)?"
    r"(?P<band>[jhk])(?P<kind>[iq])(?P<scan>\d{3})(?P<image>\d{4})"
    r"\.fits(?:\.gz|\.fz)?\Z"
)

#: Circle radius (degrees) that stands for a point in the per-position SIA v2
#: fallback: any positive radius gives a superset of the images containing the
#: point; the planner tests containment exactly.
POINT_RADIUS = 1e-4


def _is_http(urls):
    """Mask of the URLs whose scheme is http or https."""
    lower = np.char.lower(np.asarray(urls, dtype=str))
    return np.char.startswith(lower, "http://") | np.char.startswith(lower, "https://")


def _check_url(url, name, *, required=False):
    if url is None:
        if required:
            raise InvalidQueryError(f"{name} is required")
        return None
    url = str(url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidQueryError(f"{name}={url!r} must be an http(s) URL")
    return url


def _number(value):
    """ADQL / SIA text of a float: positional, shortest round-trip form."""
    return np.format_float_positional(float(value), trim="-")


def _zfill(values, width):
    """`numpy.char.zfill` that also takes empty arrays."""
    values = np.asarray(values)
    return np.char.zfill(values, width) if values.size else values.astype(str)


def _text(values):
    """Return a column as a str array: bytes decoded, masked values as ''."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = None
        data = np.asarray(values)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "ascii", errors="replace")
    elif data.dtype.kind == "O":
        nulls = np.equal(data, None) if len(data) else np.zeros(0, bool)
        if nulls.any():
            data = np.where(nulls, "", data)
        if len(data) and isinstance(data[0], (bytes, np.bytes_)):
            data = np.char.decode(data.astype(bytes), "ascii", errors="replace")
        else:
            data = data.astype(str)
    data = np.char.strip(data.astype(str))
    if mask is not None and mask.any():
        data = np.where(mask, "", data)
    return data


def _numbers(values, dtype, fill):
    """Return a column as numbers, masked or unparsable values as ``fill``."""
    if isinstance(values, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(values)
        data = np.asarray(values.data)
    else:
        mask = np.zeros(len(values), bool)
        data = np.asarray(values)
    if data.dtype.kind in "biuf":
        out = data.astype(np.float64)
    else:
        text = _text(data)
        out = np.full(len(text), np.nan)
        for i, t in enumerate(text):  # string fallback only
            with contextlib.suppress(ValueError):
                out[i] = float(t)
    out[mask | ~np.isfinite(out)] = fill
    return out.astype(dtype)


def band_codes(values):
    """Band codes (0, 1, 2 for J, H, Ks) of band names, -1 where unknown.

    Parameters
    ----------
    values : array-like of str
        Band names as services write them: ``J``, ``H``, ``K``, ``Ks``,
        ``j``, ``2MASS J``, ``2MASS KS``, ...

    Returns
    -------
    codes : ndarray of int64
        0, 1, 2, or -1 for an unknown name.
    """
    text = np.char.upper(_text(np.asarray(values)))
    text = np.char.strip(np.char.replace(text, "2MASS", ""))
    text = np.char.strip(np.char.replace(text, "_", ""))
    codes = np.full(len(text), -1, np.int64)
    for code, names in enumerate((("J",), ("H",), ("K", "KS"))):
        codes[np.isin(text, names)] = code
    return codes


def parse_image_paths(values):
    """Date, hemisphere, scan, image, band and kind from 2MASS file paths.

    Parameters
    ----------
    values : array-like of str
        URLs or paths ending in
        ``{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``
        (IRSA's file tree), or bare file names ``{b}i{scan}{image}.fits[.gz]``
        (then ``ordate`` and ``hemisphere`` are ``''``). A query string is
        ignored. Quicklook files (``ql/{b}q...``) are recognised too.

    Returns
    -------
    parsed : dict of ndarray
        ``ok`` (bool: the value is such a path), ``ordate``, ``hemisphere``,
        ``scanno``, ``image``, ``band_code`` (0, 1, 2; -1 if not ok) and
        ``kind`` (0 atlas, 1 quicklook).
    """
    text = _text(np.asarray(values))
    n = len(text)
    out = {
        "ok": np.zeros(n, bool),
        "ordate": np.full(n, "", "U6"),
        "hemisphere": np.full(n, "", "U1"),
        "scanno": np.zeros(n, np.int64),
        "image": np.zeros(n, np.int64),
        "band_code": np.full(n, -1, np.int64),
        "kind": np.zeros(n, np.int64),
    }
    for i, value in enumerate(text):  # string parsing: one regex per value
        path = urlsplit(value).path if "://" in value else value.split("?")[0]
        match = _PATH_RE.search(path)
        if match is None:
            continue
        if match["dscan"] is not None and match["dscan"] != match["scan"]:
            continue
        if match.start() > 0 and path[match.start() - 1] not in "/":
            continue
        out["ok"][i] = True
        out["ordate"][i] = match["ordate"] or ""
        out["hemisphere"][i] = match["hem"] or ""
        out["scanno"][i] = int(match["scan"])
        out["image"][i] = int(match["image"])
        out["band_code"][i] = "jhk".index(match["band"])
        out["kind"][i] = 0 if match["kind"] == "i" else 1
    return out


def dhs_keys(ordate, hemisphere, scanno, image):
    """One int64 per date-hemisphere-scan-image: the archive's set key.

    Parameters
    ----------
    ordate, hemisphere : array-like of str
        ``yymmdd`` and ``n`` / ``s``.
    scanno, image : array-like of int
        Scan and image numbers.

    Returns
    -------
    keys : ndarray of int64
        ``((yymmdd * 2 + is_south) * 1000 + scan) * 10000 + image``.
    """
    date = np.asarray(ordate).astype("U6").astype(np.int64)
    south = (np.asarray(hemisphere).astype("U1") == "s").astype(np.int64)
    return ((date * 2 + south) * 1000 + np.asarray(scanno, np.int64)) * 10_000 + (
        np.asarray(image, np.int64)
    )


def _validated_ints(values, name, *, low, high):
    """Validate integers (ints, integral floats or digit strings)."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0]
            raise InvalidQueryError(f"{name}: {bad!r} is not an integer")
        out = arr.astype(np.int64)
    else:
        text = _text(arr)
        good = np.char.isdigit(text) & (np.char.str_len(text) <= 18)
        if not good.all():
            raise InvalidQueryError(f"{name}: {arr[~good][0]!r} is not an integer")
        out = text.astype(np.int64)
    bad = (out < low) | (out > high)
    if bad.any():
        raise InvalidQueryError(
            f"{name}: {int(out[bad][0])} is outside [{low}, {high}]"
        )
    return out


def _validated_scans(ordate, hemisphere, scanno, image):
    ordate = _text(np.atleast_1d(np.asarray(ordate)))
    ordate = np.where(
        (np.char.str_len(ordate) == 5) & np.char.isdigit(ordate),
        _zfill(ordate, 6),
        ordate,
    )
    bad = ~((np.char.str_len(ordate) == 6) & np.char.isdigit(ordate))
    if bad.any():
        raise InvalidQueryError(f"ordate: {ordate[bad][0]!r} is not yymmdd")
    hem = np.char.lower(_text(np.atleast_1d(np.asarray(hemisphere))))
    bad = ~np.isin(hem, ("n", "s"))
    if bad.any():
        raise InvalidQueryError(f"hemisphere: {hem[bad][0]!r} is not n or s")
    scanno = _validated_ints(scanno, "scanno", low=0, high=999)
    image = _validated_ints(image, "image", low=0, high=9999)
    lengths = {len(ordate), len(hem), len(scanno), len(image)}
    if len(lengths) != 1:
        raise InvalidQueryError(
            "ordate, hemisphere, scanno and image must have the same length"
        )
    return ordate.astype("U6"), hem.astype("U1"), scanno, image


def _validated_points(ra, dec):
    ra = np.atleast_1d(np.asarray(ra, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec, dtype=np.float64))
    if ra.shape != dec.shape or ra.ndim != 1:
        raise InvalidQueryError("ra and dec must be 1-d arrays of the same length")
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        raise InvalidQueryError("ra and dec must be finite")
    if (np.abs(dec) > 90).any():
        raise InvalidQueryError("dec must be within [-90, 90] degrees")
    return ra % 360.0, dec


class _LazyPaths:
    """`parse_image_paths` of a column, run on first use only."""

    def __init__(self, column, n):
        self._column, self._n, self._parsed = column, n, None

    def __getitem__(self, key):
        if self._parsed is None:
            values = self._column if self._column is not None else [""] * self._n
            self._parsed = parse_image_paths(values)
        return self._parsed[key]


_SIA2_STANDARD = "ivo://ivoa.net/std/sia#query-2.0"


class _SetStore:
    """The image sets an archive has seen, with each band's file.

    Sets are keyed by their date-hemisphere-scan-image key; ``ref`` is the
    row in these arrays. Per-file columns have shape (N, 2, 3): (kind, band).
    """

    def __init__(self):
        self.clear()

    def clear(self):
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


class _BufferedRaw(io.BytesIO):
    """An in-memory stand-in for urllib3's raw stream, read as pyvo reads it."""

    def read(self, amt=None, decode_content=None, **kwargs):
        return super().read(-1 if amt is None else amt)


class _TimeoutSession(requests.Session):
    """The archive's HTTP session: default time limit, no connection left open.

    pyvo sets no time limit, and reads several documents (VOSI capabilities,
    UWS job phases) as ``stream=True`` responses whose connections it never
    releases. Here every response is read at once, its connection goes back to
    the pool, and a streamed response gets an in-memory ``raw`` with the
    (decoded) body, which is what pyvo parses.
    """

    def __init__(self, timeout):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        stream = kwargs.pop("stream", False)
        response = super().request(method, url, stream=False, **kwargs)
        if stream:
            response.raw = _BufferedRaw(response.content)
        return response


class VOArchive(Archive):
    """2MASS image metadata from an SIA v2 and a TAP service (through pyvo).

    Parameters
    ----------
    sia_url : str, optional
        SIA v2 service: its base URL (e.g. a DaCHS ``.../siap2``; the query
        endpoint is then read from its VOSI capabilities, as pyvo's
        `~pyvo.dal.SIA2Service` does) or its query endpoint itself (e.g.
        ``https://irsa.ipac.caltech.edu/SIA``, DaCHS ``.../siap2/siap2.xml``).
        When given, region look-ups use SIA v2, and so do position look-ups
        without uploads; otherwise TAP does.
    tap_url : str
        TAP base URL (``.../tap``; queries go to ``/sync`` and ``/async``).
    table : str
        The TAP table of image files (one row per file), e.g.
        ``tmass.images``.
    collection : str, optional
        SIA v2 ``COLLECTION`` constraint.
    columns : dict, optional
        Overrides of `DEFAULT_COLUMNS`: contract name -> column name of
        ``table`` (``None``: the table has no such column).
    datalink_url : str, optional
        SODA synchronous endpoint (DaCHS ``.../dl/dlget``); when given,
        `cutout_urls` makes ``{datalink_url}?ID=<pubdid>&CIRCLE=ra dec r``
        URLs.
    data_url_root : str, optional
        Root of the file tree, for tables without an ``access_url`` column:
        the URL is ``{root}{ordate}{hem}/s{scan:03d}/image/{file}``.
    timeout : float, optional
        Time limit in seconds for each HTTP request (default 60). Applies to
        the session the archive makes; a ``session`` you pass keeps its own
        settings.
    async_timeout : float, optional
        Time limit in seconds for an asynchronous TAP job (default 600).
    session : `requests.Session`, optional
        Session for all requests (default: a new one with the pyvo user
        agent). TLS certificates are verified unless your session says
        otherwise.
    upload : bool or None, optional
        Whether the TAP service takes table uploads. ``None`` (default):
        read the service's capabilities once, on the first look-up that needs
        to know (the ``payload_*`` methods then assume uploads until it is
        known).
    upload_threshold : int, optional
        Longest ``IN (...)`` list of coadd_keys or scans; longer inputs are
        uploaded (default 100).
    async_threshold : int, optional
        Uploaded rows above which a TAP query runs asynchronously
        (default 5000).
    chunk_size : int, optional
        Most rows uploaded per TAP query (default 50,000).
    maxrec : int, optional
        ``MAXREC`` of every TAP query (default 1,000,000).
    sia_maxrec : int, optional
        ``MAXREC`` of every SIA v2 request (default 100,000).
    sia_capabilities : bool, optional
        Read ``{sia_url}/capabilities`` once, on the first SIA v2 look-up, for
        the query endpoint (default True; where there are none, ``sia_url``
        is the endpoint). False: ``sia_url`` is the query endpoint. The
        ``payload_*`` methods use `sia_query_url`, which is ``sia_url`` until
        the capabilities have been read.
    resolve_coadd_keys : bool, optional
        SIA v2 answers carry no coadd_key; when the TAP table has one, look the
        found sets up there (`payload_scans` of their images: one more TAP
        request after the SIA v2 answer) so that they carry their real keys
        (default True). Otherwise, or if that look-up fails (a warning says
        so), they carry the surrogate ``-dhs_keys(...)`` (negative).

    Raises
    ------
    twomass_vo.exceptions.InvalidQueryError
        For a URL that is not http(s), a malformed table or column name, or
        a table with neither ``access_url`` nor ``data_url_root``.

    Notes
    -----
    A look-up whose answer reaches ``MAXREC`` (or that the service marks as
    truncated) raises `~twomass_vo.exceptions.ArchiveError`: a truncated
    candidate list would silently lose images. Server and transport errors
    are raised as `~twomass_vo.exceptions.ArchiveError` too, naming the URL
    and the service's message.

    Image types: when the table has an ``image_type`` column (``atlas`` /
    ``quicklook``, or ``A`` / ``Q``), the rows of both kinds are remembered
    and `files` picks the kind asked for. Otherwise every file is an Atlas
    image (Quicklook paths ``ql/{b}q...`` are recognised), and asking for
    Quicklook images raises `~twomass_vo.exceptions.ArchiveError`.

    Examples
    --------
    >>> from twomass_vo.archives.vo import VOArchive
    >>> archive = VOArchive(tap_url="http://127.0.0.1:8080/tap",
    ...                     table="tmass.images")
    >>> archive.payload_coadd_keys([1590591])[0]["query"]  # doctest: +ELLIPSIS
    'SELECT i.coadd_key, ... WHERE i.coadd_key IN (1590591)'
    """

    name = "vo"

    #: Why `files` cannot give Quicklook files (completes "<archive> ...").
    _no_quicklook = (
        "serves Atlas images only: its table has no image_type column, and no "
        "Quicklook file was found"
    )

    def __init__(
        self,
        *,
        sia_url=None,
        tap_url,
        table,
        collection=None,
        columns=None,
        datalink_url=None,
        data_url_root=None,
        timeout=60.0,
        async_timeout=600.0,
        session=None,
        upload=None,
        upload_threshold=100,
        async_threshold=5000,
        chunk_size=50_000,
        maxrec=1_000_000,
        sia_maxrec=100_000,
        sia_capabilities=True,
        resolve_coadd_keys=True,
    ):
        self.sia_url = _check_url(sia_url, "sia_url")
        self.sia_capabilities = bool(sia_capabilities)
        self.resolve_coadd_keys = bool(resolve_coadd_keys)
        self._sia_endpoint = None
        self.tap_url = _check_url(tap_url, "tap_url", required=True).rstrip("/")
        self.datalink_url = _check_url(datalink_url, "datalink_url")
        self.data_url_root = _check_url(data_url_root, "data_url_root")
        if self.data_url_root is not None and not self.data_url_root.endswith("/"):
            self.data_url_root += "/"
        if not isinstance(table, str) or not _TABLE_NAME.match(table):
            raise InvalidQueryError(f"table={table!r} is not a valid table name")
        self.table = table
        if collection is not None and not str(collection).strip():
            collection = None
        self.collection = None if collection is None else str(collection)
        self.columns = self._checked_columns(columns)
        if self.columns["access_url"] is None and self.data_url_root is None:
            raise InvalidQueryError(
                "the table has no access_url column: give data_url_root"
            )
        for name, value in (
            ("upload_threshold", upload_threshold),
            ("async_threshold", async_threshold),
            ("chunk_size", chunk_size),
            ("maxrec", maxrec),
            ("sia_maxrec", sia_maxrec),
        ):
            try:
                good = int(value) == value and value >= 1
            except (TypeError, ValueError, OverflowError):
                good = False
            if not good:
                raise InvalidQueryError(f"{name}={value!r} must be a positive integer")
        self.upload_threshold = int(upload_threshold)
        self.async_threshold = int(async_threshold)
        self.chunk_size = int(chunk_size)
        self.maxrec = int(maxrec)
        self.sia_maxrec = int(sia_maxrec)
        self.timeout = float(timeout)
        self.async_timeout = float(async_timeout)
        self.upload = upload
        self._upload_capability = None
        self._own_session = session is None
        self.session = session if session is not None else self._make_session()
        self._store = _SetStore()

    def close(self):
        """Close the HTTP connections of the archive's own session.

        The archive can be used as a context manager, which calls this on
        exit. A session passed in by the caller is left open.
        """
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _checked_columns(columns):
        merged = dict(DEFAULT_COLUMNS)
        for key, value in (columns or {}).items():
            if key not in DEFAULT_COLUMNS:
                raise InvalidQueryError(
                    f"columns: unknown key {key!r}; known: {', '.join(DEFAULT_COLUMNS)}"
                )
            merged[key] = value
        for key, value in merged.items():
            if value is None or value == "":
                merged[key] = None
            elif key == "corners":
                names = value.split() if isinstance(value, str) else list(value)
                if len(names) != 8 or not all(
                    isinstance(n, str) and _IDENTIFIER.match(n) for n in names
                ):
                    raise InvalidQueryError(
                        f"columns['corners']={value!r} must name 8 columns "
                        "(ra1 dec1 ... ra4 dec4)"
                    )
                merged[key] = tuple(names)
            elif not (isinstance(value, str) and _IDENTIFIER.match(value)):
                raise InvalidQueryError(
                    f"columns[{key!r}]={value!r} is not a valid column name"
                )
        return merged

    def _make_session(self):
        from pyvo.utils import http

        from ..version import version

        session = _TimeoutSession(self.timeout)
        session.headers["User-Agent"] = f"twomass_vo/{version} {http.USER_AGENT}"
        return session

    def __repr__(self):
        where = self.sia_url or self.tap_url
        return f"<{type(self).__name__} {self.table!r} at {where}>"

    def clear_cache(self):
        """Forget the image sets and files seen so far.

        The archive remembers every set its look-ups returned, so that
        `files` can give their URLs; this frees that memory. Sets returned
        before the call can no longer be passed to `files`.
        """
        self._store.clear()

    @property
    def makes_cutouts(self):
        """Whether `cutout_urls` makes server-side cutout URLs (a SODA service)."""
        return self.datalink_url is not None

    @property
    def serves_quicklook(self):
        """Whether the table tells Quicklook files from Atlas files."""
        return self.columns["image_type"] is not None

    # --------------------------------------------------------------- payloads
    def _select(self):
        """Return the select list, ``i.<column>`` for every mapped column."""
        names = []
        for key, value in self.columns.items():
            if value is None or (key == "s_region" and self.columns["corners"]):
                continue
            for name in value if key == "corners" else (value,):
                if name not in names:
                    names.append(name)
        return ", ".join(f"i.{name}" for name in names)

    def _need(self, *keys, purpose):
        missing = [k for k in keys if self.columns[k] is None]
        if missing:
            raise ArchiveError(
                f"{self.table} at {self.tap_url} has no {', '.join(missing)} "
                f"column: cannot {purpose}"
            )

    def _tap(self, query, uploads=None, rows=0):
        return {
            "service": "tap",
            "url": self.tap_url,
            "query": query,
            "uploads": dict(uploads or {}),
            "maxrec": self.maxrec,
            "mode": "async" if rows > self.async_threshold else "sync",
        }

    def _sia(self, ra, dec, radius):
        params = {"POS": f"CIRCLE {_number(ra)} {_number(dec)} {_number(radius)}"}
        if self.collection is not None:
            params["COLLECTION"] = self.collection
        params["MAXREC"] = str(self.sia_maxrec)
        return {"service": "sia", "url": self.sia_query_url, "params": params}

    @property
    def sia_query_url(self):
        """The SIA v2 query endpoint: ``sia_url``, or the one its capabilities name.

        Until the capabilities have been read (on the first SIA v2 look-up,
        when ``sia_capabilities`` is true) this is ``sia_url`` itself.
        """
        return self._sia_endpoint or self.sia_url

    def _resolve_sia(self, session=None):
        """Read ``{sia_url}/capabilities`` once for the query endpoint.

        As pyvo's `~pyvo.dal.SIA2Service` does: the access URL of the
        ``ivo://ivoa.net/std/SIA#query-2.0`` capability. When the service has
        no (readable) capabilities, ``sia_url`` is the query endpoint.
        """
        if self.sia_url is None or not self.sia_capabilities or self._sia_endpoint:
            return
        endpoint = self.sia_url
        found = None
        for capability in self._capabilities(self.sia_url, session):
            if str(capability.standardid or "").lower() == _SIA2_STANDARD:
                urls = [u.content for i in capability.interfaces for u in i.accessurls]
                found = urls[0] if urls else None
                break
        if found:
            try:
                endpoint = _check_url(found.rstrip("?&"), "SIA v2 query endpoint")
            except InvalidQueryError:
                endpoint = self.sia_url
        self._sia_endpoint = endpoint

    def _region(self):
        return f"i.{self.columns['s_region']}"

    def _uploads_enabled(self):
        if self.upload is not None:
            return bool(self.upload)
        if self._upload_capability is not None:
            return self._upload_capability
        return True

    def payload_circle(self, ra, dec, radius):
        """Build the requests of `find_circle`, without network access.

        Parameters
        ----------
        ra, dec : float
            Centre, ICRS degrees.
        radius : float
            Radius, degrees (0 < radius <= 90).

        Returns
        -------
        payloads : list of dict
            One request: ``{"service": "sia", "url", "params"}`` with
            ``POS=CIRCLE ra dec r`` (when ``sia_url`` is set), else
            ``{"service": "tap", "url", "query", "uploads", "maxrec", "mode"}``
            with ``INTERSECTS(CIRCLE('ICRS', ra, dec, r), s_region) = 1``.
        """
        (ra,), (dec,) = _validated_points(ra, dec)
        radius = float(radius)
        if not (np.isfinite(radius) and 0 < radius <= 90):
            raise InvalidQueryError(f"radius={radius!r} must be in (0, 90] degrees")
        if self.sia_url is not None:
            return [self._sia(ra, dec, radius)]
        self._need("s_region", purpose="search a region")
        query = (
            f"SELECT {self._select()} FROM {self.table} AS i WHERE "
            f"INTERSECTS(CIRCLE('ICRS', {_number(ra)}, {_number(dec)}, "
            f"{_number(radius)}), {self._region()}) = 1"
        )
        return [self._tap(query)]

    def payload_points(self, ra, dec):
        """Build the requests of `find_points`, without network access.

        Parameters
        ----------
        ra, dec : array-like of float
            Points, ICRS degrees.

        Returns
        -------
        payloads : list of dict
            With uploads: one TAP request per ``chunk_size`` points, the
            points uploaded as table ``pos`` (``pos_idx``, ``pos_ra``,
            ``pos_dec``; ``pos_idx`` is the index into ``ra``) and joined
            with ``CONTAINS(POINT('ICRS', u.pos_ra, u.pos_dec), s_region) = 1``,
            ``mode`` ``async`` above ``async_threshold`` rows. Without
            uploads: one SIA v2 request per point (``POS=CIRCLE ra dec
            1e-4``), or one TAP request per point when there is no SIA v2
            endpoint, in the order of the points.
        """
        ra, dec = _validated_points(ra, dec)
        n = len(ra)
        if not self._uploads_enabled():
            if self.sia_url is not None:
                return [
                    self._sia(a, d, POINT_RADIUS) for a, d in zip(ra, dec, strict=True)
                ]
            self._need("s_region", purpose="search positions")
            return [
                self._tap(
                    f"SELECT {self._select()} FROM {self.table} AS i WHERE "
                    f"CONTAINS(POINT('ICRS', {_number(a)}, {_number(d)}), "
                    f"{self._region()}) = 1"
                )
                for a, d in zip(ra, dec, strict=True)
            ]
        self._need("s_region", purpose="search positions")
        query = (
            f"SELECT u.{_POS_IDX}, {self._select()} FROM {self.table} AS i "
            f"JOIN TAP_UPLOAD.{_POS_TABLE} AS u ON "
            f"CONTAINS(POINT('ICRS', u.{_POS_RA}, u.{_POS_DEC}), "
            f"{self._region()}) = 1"
        )
        payloads = []
        for start in range(0, n, self.chunk_size):
            stop = min(start + self.chunk_size, n)
            upload = Table(
                {
                    _POS_IDX: np.arange(start, stop, dtype=np.int64),
                    _POS_RA: ra[start:stop],
                    _POS_DEC: dec[start:stop],
                }
            )
            payloads.append(self._tap(query, {_POS_TABLE: upload}, stop - start))
        return payloads

    def _listed(self, values, clause, upload_query, make_upload):
        """IN-list queries for short inputs, upload queries for long ones."""
        n = len(values)
        if n == 0:
            return []
        if n <= self.upload_threshold or not self._uploads_enabled():
            return [
                self._tap(
                    f"SELECT {self._select()} FROM {self.table} AS i WHERE "
                    + clause(values[start : start + self.upload_threshold])
                )
                for start in range(0, n, self.upload_threshold)
            ]
        payloads = []
        for start in range(0, n, self.chunk_size):
            part = values[start : start + self.chunk_size]
            payloads.append(self._tap(upload_query, make_upload(part), len(part)))
        return payloads

    def payload_coadd_keys(self, keys):
        """Build the requests of `find_coadd_keys`, without network access.

        Parameters
        ----------
        keys : array-like of int
            The coadd_keys (integers, or strings of digits); duplicates are
            asked for once.

        Returns
        -------
        payloads : list of dict
            TAP requests: ``coadd_key IN (...)`` with at most
            ``upload_threshold`` keys each, or, for more keys (and uploads on),
            the keys uploaded as table ``keys`` (``key_value``) and joined on
            ``coadd_key``.

        Raises
        ------
        twomass_vo.exceptions.InvalidQueryError
            If a key is not a non-negative integer.
        """
        keys = np.unique(_validated_ints(keys, "coadd_key", low=0, high=2**62))
        self._need("coadd_key", purpose="look up coadd_keys")
        column = f"i.{self.columns['coadd_key']}"
        return self._listed(
            keys,
            lambda part: f"{column} IN ({', '.join(str(int(k)) for k in part)})",
            f"SELECT {self._select()} FROM {self.table} AS i "
            f"JOIN TAP_UPLOAD.{_KEY_TABLE} AS u ON {column} = u.{_KEY_VALUE}",
            lambda part: {_KEY_TABLE: Table({_KEY_VALUE: part})},
        )

    def payload_scans(self, ordate, hemisphere, scanno, image):
        """Build the requests of `find_scans`, without network access.

        Parameters
        ----------
        ordate, hemisphere : array-like of str
            ``yymmdd`` and ``n`` / ``s``.
        scanno, image : array-like of int
            Scan numbers, and image numbers (0: every image of the scan).

        Returns
        -------
        payloads : list of dict
            TAP requests for the distinct scans: OR-ed
            ``(ordate = '...' AND hemisphere = '.' AND scanno = N
            [AND image IN (...)])`` terms for up to ``upload_threshold``
            scans each, or, for more scans (and uploads on), the scans
            uploaded as table ``scans`` (``scan_ordate``, ``scan_hem``,
            ``scan_no``) and joined on the three columns. Image numbers are
            filtered on the client when the table has no ``image`` column.

        Raises
        ------
        twomass_vo.exceptions.InvalidQueryError
            For a date that is not 6 digits, a hemisphere other than n / s, or
            a scan or image number that is not an integer.
        """
        ordate, hem, scanno, image = _validated_scans(ordate, hemisphere, scanno, image)
        self._need("ordate", "hemisphere", "scanno", purpose="look up scans")
        c = {k: f"i.{self.columns[k]}" for k in ("ordate", "hemisphere", "scanno")}
        # distinct scans, each with its sorted image numbers
        scan_keys = dhs_keys(ordate, hem, scanno, 0)
        order = np.lexsort((image, scan_keys))
        _, starts, counts = np.unique(
            scan_keys[order], return_index=True, return_counts=True
        )
        first = order[starts]  # a request row of each distinct scan
        sorted_images = image[order]
        image_column = self.columns["image"]

        def term(j):
            row = first[j]
            text = (
                f"({c['ordate']} = '{ordate[row]}' AND {c['hemisphere']} = "
                f"'{hem[row]}' AND {c['scanno']} = {int(scanno[row])}"
            )
            images = sorted_images[starts[j] : starts[j] + counts[j]]
            if image_column is not None and images[0] > 0:  # not "all images"
                numbers = ", ".join(str(int(v)) for v in np.unique(images))
                text += f" AND i.{image_column} IN ({numbers})"
            return text + ")"

        def upload(part):
            rows = first[part]
            return {
                _SCAN_TABLE: Table(
                    {
                        _SCAN_ORDATE: np.char.encode(ordate[rows], "ascii"),
                        _SCAN_HEM: np.char.encode(hem[rows], "ascii"),
                        _SCAN_NO: scanno[rows],
                    }
                )
            }

        return self._listed(
            np.arange(len(first)),
            lambda part: " OR ".join(term(j) for j in part),
            f"SELECT {self._select()} FROM {self.table} AS i "
            f"JOIN TAP_UPLOAD.{_SCAN_TABLE} AS u ON {c['ordate']} = u.{_SCAN_ORDATE} "
            f"AND {c['hemisphere']} = u.{_SCAN_HEM} AND {c['scanno']} = u.{_SCAN_NO}",
            upload,
        )

    # -------------------------------------------------------------- execution
    def _execute(self, payload):
        """Run one payload; return its rows as a `~astropy.table.Table`."""
        from pyvo.dal import SIA2Query, TAPService
        from pyvo.dal.exceptions import DALAccessError, DALOverflowWarning

        url = payload["url"]
        kind = "SIA v2" if payload["service"] == "sia" else "TAP"
        try:
            with warnings.catch_warnings():
                for category in (DALOverflowWarning, VOWarning, UnitsWarning):
                    warnings.simplefilter("ignore", category)
                if payload["service"] == "sia":
                    query = SIA2Query(url, session=self.session)
                    query.update(payload["params"])
                    maxrec = int(payload["params"]["MAXREC"])
                    query.maxrec = maxrec
                    results = query.execute()
                else:
                    maxrec = payload["maxrec"]
                    service = TAPService(url, session=self.session)
                    run = (
                        service.run_async
                        if payload["mode"] == "async"
                        else service.run_sync
                    )
                    kwargs = {"maxrec": maxrec, "uploads": payload["uploads"] or None}
                    if payload["mode"] == "async":
                        kwargs["timeout"] = self.async_timeout
                    results = run(payload["query"], **kwargs)
                table = results.to_table()
        except DALAccessError as exc:
            raise ArchiveError(self._error_message(kind, url, exc)) from exc
        except requests.RequestException as exc:
            raise ArchiveError(f"{kind} request to {url} failed: {exc}") from exc
        status = str(results.status[0]).lower()
        if status == "overflow" or len(table) >= maxrec:
            raise ArchiveError(
                f"{kind} answer from {url} was truncated at {len(table)} rows "
                f"(MAXREC={maxrec}): ask for a smaller region or fewer inputs, or "
                "raise the archive's maxrec / sia_maxrec"
            )
        return table

    @staticmethod
    def _error_message(kind, url, exc):
        reason = str(exc) or type(exc).__name__
        cause = getattr(exc, "cause", None)
        response = getattr(cause, "response", None)
        if response is not None and response.text and response.text not in reason:
            reason = f"{reason}: {response.text.strip()[:500]}"
        where = getattr(exc, "url", None) or url
        return f"{kind} query to {where} failed ({type(exc).__name__}): {reason}"

    # ------------------------------------------------------------ row mapping
    @staticmethod
    def _column(table, *names):
        lower = {name.lower(): name for name in table.colnames}
        for name in names:
            if name is not None and name.lower() in lower:
                return table[lower[name.lower()]]
        return None

    def _file_rows(self, table, source):
        """Contract columns of a response (one row per image file)."""
        n = len(table)
        cols = self.columns

        def get(key):
            names = (_OBSCORE.get(key), cols[key]) if source == "sia" else (cols[key],)
            return self._column(table, *names)

        keep = np.ones(n, bool)
        if source == "sia":
            subtype = self._column(table, "dataproduct_subtype")
            if subtype is not None:
                subtype = np.char.lower(_text(subtype))
                keep &= np.isin(subtype, _SCIENCE_SUBTYPES)
            fmt = self._column(table, "access_format")
            if fmt is not None:
                fmt = np.char.lower(_text(fmt))
                keep &= (
                    (fmt == "")
                    | (np.char.find(fmt, "fits") >= 0)
                    | (np.char.find(fmt, "gzip") >= 0)
                )
        url_col = get("access_url")
        name_col = get("file_name")
        path_source = name_col if name_col is not None else url_col
        parsed = _LazyPaths(path_source, n)
        rows = {}
        text = {"ordate": "ordate", "hemisphere": "hemisphere"}
        for key in ("ordate", "hemisphere", "scanno", "image"):
            column = get(key)
            if column is None:
                value, ok = parsed[key], parsed["ok"].copy()
                if key in text:
                    ok &= np.char.str_len(value) > 0
            elif key in text:
                value = _text(column)
                if key == "hemisphere":
                    value = np.char.lower(value)
                ok = np.char.str_len(value) > 0
            else:
                value = _numbers(column, np.int64, -1)
                ok = value >= 0
            rows[key] = value
            self._require(ok | ~keep, key, table, path_source, column)
        band = get("band")
        codes = band_codes(band) if band is not None else np.full(n, -1, np.int64)
        if (codes < 0).any():
            codes = np.where(codes >= 0, codes, parsed["band_code"])
        self._require((codes >= 0) | ~keep, "band", table, path_source, band)
        rows["band_code"] = codes
        kind_col = get("image_type")
        if kind_col is None and source == "sia":
            kind_col = self._column(table, "dataproduct_subtype")
        if kind_col is not None:
            first = np.char.lower(_text(kind_col)).astype("U1")
            rows["kind"] = np.where(first == "q", 1, 0)
            unknown = (first != "q") & (first != "a")
            if unknown.any():
                rows["kind"] = np.where(unknown, parsed["kind"], rows["kind"])
        else:
            rows["kind"] = parsed["kind"]
        coadd = get("coadd_key")
        rows["coadd_key"] = (
            _numbers(coadd, np.int64, -1) if coadd is not None else np.full(n, -1)
        )
        for key in ("ra", "dec"):
            column = get(key)
            rows[key] = (
                _numbers(column, np.float64, np.nan)
                if column is not None
                else np.full(n, np.nan)
            )
        if url_col is not None:
            rows["access_url"] = _text(url_col)
        else:
            rows["access_url"] = self._built_urls(rows, name_col)
        fmt = get("access_format")
        rows["access_format"] = (
            _text(fmt) if fmt is not None else np.full(n, "image/fits")
        )
        rows["access_format"] = np.where(
            rows["access_format"] == "", "image/fits", rows["access_format"]
        )
        size = get("access_estsize")
        rows["access_estsize"] = (
            _numbers(size, np.int64, -1) if size is not None else np.full(n, -1)
        )
        pubdid = get("pubdid")
        rows["pubdid"] = _text(pubdid) if pubdid is not None else np.full(n, "")
        rows = {k: np.asarray(v)[keep] for k, v in rows.items()}
        bad = ~_is_http(rows["access_url"])
        if bad.any():
            raise ArchiveError(
                f"{self.table if source == 'tap' else self.sia_url}: access_url "
                f"{rows['access_url'][bad][0]!r} is not an http(s) URL"
            )
        rows["ordate"] = _zfill(rows["ordate"].astype("U6"), 6)
        rows["hemisphere"] = rows["hemisphere"].astype("U1")
        rows["dhs"] = dhs_keys(
            rows["ordate"], rows["hemisphere"], rows["scanno"], rows["image"]
        )
        region = self._footprint_source(table, source)
        kept = np.flatnonzero(keep)
        return rows, keep, (lambda idx: region(kept[idx]))

    def _require(self, ok, what, table, path_source, column):
        if ok.all():
            return
        i = int(np.flatnonzero(~ok)[0])
        shown = column if column is not None else path_source
        value = None if shown is None else shown[i]
        raise ArchiveError(
            f"cannot tell the {what} of a file row of {self.table} "
            f"(columns {', '.join(table.colnames)}); value {value!r}"
        )

    def _built_urls(self, rows, name_col):
        """access_url from ``data_url_root`` and the file's identity."""
        add = np.char.add
        scan3 = _zfill(rows["scanno"].astype("U3"), 3)
        folder = np.where(rows["kind"] == 1, "/ql/", "/image/")
        if name_col is not None:
            name = _text(name_col)
        else:
            band = np.array(["j", "h", "k", "j"])[rows["band_code"]]
            kind = np.where(rows["kind"] == 1, "q", "i")
            image4 = _zfill(rows["image"].astype("U4"), 4)
            name = add(add(add(add(band, kind), scan3), image4), ".fits.gz")
        head = add(add(self.data_url_root, rows["ordate"]), rows["hemisphere"])
        return add(add(add(add(head, "/s"), scan3), folder), name)

    def _footprint_source(self, table, source):
        """Return a function: response row indices -> corner vectors (k, 4, 3)."""
        corners = self.columns["corners"] if source == "tap" else None
        if corners is not None and all(
            self._column(table, c) is not None for c in corners
        ):
            columns = [
                _numbers(self._column(table, c), np.float64, np.nan) for c in corners
            ]

            def from_corners(idx):
                ra = np.stack([columns[k][idx] for k in (0, 2, 4, 6)], axis=1)
                dec = np.stack([columns[k][idx] for k in (1, 3, 5, 7)], axis=1)
                return radec_to_xyz(ra, dec)

            return from_corners
        name = _OBSCORE["s_region"] if source == "sia" else self.columns["s_region"]
        column = self._column(table, name, self.columns["s_region"])
        if column is None:
            raise ArchiveError(
                f"the answer has no footprint column ({name}); columns: "
                f"{', '.join(table.colnames)}"
            )

        def from_region(idx):
            return _parse_footprints(column, idx)

        return from_region

    def _image_sets(self, table, source, index=None):
        """Register a response's file rows; return one set per (index, set).

        ``index`` gives the query index of every response row (default 0).
        """
        if len(table) == 0:
            return ImageSets.empty()
        rows, keep, corners_of = self._file_rows(table, source)
        if not keep.any():
            return ImageSets.empty()
        index = np.zeros(len(table), np.int64) if index is None else index
        ref = self._store.add(rows, corners_of)
        pairs = np.unique(np.stack([np.asarray(index, np.int64)[keep], ref], 1), axis=0)
        return self._sets(pairs[:, 1], pairs[:, 0])

    def _sets(self, ref, query_index):
        s = self._store
        return ImageSets(
            ref=np.asarray(ref, np.int64),
            coadd_key=s.coadd_key[ref],
            ordate=s.ordate[ref],
            hemisphere=s.hemisphere[ref],
            scanno=s.scanno[ref],
            image=s.image[ref],
            ra=s.ra[ref],
            dec=s.dec[ref],
            corners=s.corners[ref],
            has_band=s.has[ref].any(axis=1),
            query_index=np.asarray(query_index, np.int64),
        )

    # ---------------------------------------------------------------- look-ups
    def find_circle(self, ra, dec, radius):  # noqa: D102 (documented in Archive)
        self._resolve_sia()
        (payload,) = self.payload_circle(ra, dec, radius)
        sets = self._image_sets(self._execute(payload), payload["service"])
        return self._with_real_keys(sets)

    def find_points(self, ra, dec):  # noqa: D102
        if len(np.atleast_1d(ra)):
            self._resolve_uploads()
            if not self._uploads_enabled():
                self._resolve_sia()
        payloads = self.payload_points(ra, dec)
        parts = []
        for i, payload in enumerate(payloads):
            table = self._execute(payload)
            if payload["service"] == "tap" and payload["uploads"]:
                index = self._column(table, _POS_IDX)
                if index is None and len(table):
                    raise ArchiveError(
                        f"TAP answer from {payload['url']} lacks the uploaded "
                        f"{_POS_IDX} column"
                    )
                index = (
                    _numbers(index, np.int64, -1)
                    if index is not None
                    else np.zeros(0, np.int64)
                )
            else:
                index = np.full(len(table), i, np.int64)
            parts.append(self._image_sets(table, payload["service"], index))
        sets = ImageSets.concatenate(parts) if parts else ImageSets.empty()
        return self._with_real_keys(sets)

    def _with_real_keys(self, sets):
        """Replace surrogate coadd_keys (SIA v2 rows) by the TAP table's.

        One more look-up, `payload_scans` of the sets' own images, when
        ``resolve_coadd_keys`` is on and the table has a coadd_key column. If
        it fails, the surrogates stay, with an
        `~astropy.utils.exceptions.AstropyUserWarning`.
        """
        unknown = sets.coadd_key < 0
        if (
            not self.resolve_coadd_keys
            or self.columns["coadd_key"] is None
            or not unknown.any()
        ):
            return sets
        todo = sets.take(unknown)
        _, first = np.unique(todo.ref, return_index=True)
        todo = todo.take(first)
        try:
            self.find_scans(todo.ordate, todo.hemisphere, todo.scanno, todo.image)
        except ArchiveError as exc:
            warnings.warn(
                f"coadd_keys of {len(todo)} image set(s) found by SIA v2 could not "
                f"be read from {self.table} ({exc}); they keep surrogate (negative) "
                "keys",
                AstropyUserWarning,
                stacklevel=3,
            )
            return sets
        return self._sets(sets.ref, sets.query_index)

    def find_coadd_keys(self, keys):  # noqa: D102
        keys = _validated_ints(keys, "coadd_key", low=0, high=2**62)
        if len(np.unique(keys)) > self.upload_threshold:
            self._resolve_uploads()
        found = self._run_all(self.payload_coadd_keys(keys))
        if not len(found):
            return ImageSets.empty()
        # each set answers every input row with its key (duplicates included)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        start = np.searchsorted(sorted_keys, found.coadd_key, side="left")
        stop = np.searchsorted(sorted_keys, found.coadd_key, side="right")
        return self._expand(found, order, start, stop)

    def find_scans(self, ordate, hemisphere, scanno, image):  # noqa: D102
        ordate, hem, scanno, image = _validated_scans(ordate, hemisphere, scanno, image)
        if len(np.unique(dhs_keys(ordate, hem, scanno, 0))) > self.upload_threshold:
            self._resolve_uploads()
        found = self._run_all(self.payload_scans(ordate, hem, scanno, image))
        if not len(found):
            return ImageSets.empty()
        # request r asks for keys [lo, hi]: one image, or all images of a scan
        lo = dhs_keys(ordate, hem, scanno, image)
        hi = np.where(image > 0, lo, lo + 9999)
        set_keys = dhs_keys(found.ordate, found.hemisphere, found.scanno, found.image)
        order = np.argsort(set_keys, kind="stable")
        start = np.searchsorted(set_keys[order], lo, side="left")
        stop = np.searchsorted(set_keys[order], hi, side="right")
        counts = stop - start
        request = np.repeat(np.arange(len(lo)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        chosen = order[np.repeat(start, counts) + offsets]
        sets = found.take(chosen)
        return ImageSets(
            **{
                **{f: getattr(sets, f) for f in _SET_FIELDS},
                "query_index": request.astype(np.int64),
            }
        )

    def _run_all(self, payloads):
        parts = [self._image_sets(self._execute(p), "tap") for p in payloads]
        if not parts:
            return ImageSets.empty()
        found = ImageSets.concatenate(parts)
        _, first = np.unique(found.ref, return_index=True)
        return found.take(np.sort(first))

    @staticmethod
    def _expand(found, order, start, stop):
        """Pair each found set with the inputs it answers (``order[start:stop]``)."""
        counts = stop - start
        which = np.repeat(np.arange(len(found)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        inputs = order[np.repeat(start, counts) + offsets]
        sets = found.take(which)
        return ImageSets(
            **{
                **{f: getattr(sets, f) for f in _SET_FIELDS},
                "query_index": inputs.astype(np.int64),
            }
        )

    def _resolve_uploads(self):
        """Learn once whether the TAP service takes uploads (``upload=None``)."""
        if self.upload is None and self._upload_capability is None:
            self._upload_capability = self._probe_uploads()

    def _probe_uploads(self):
        """Whether the TAP service lists inline uploads (True if unknown)."""
        from pyvo.io.vosi.tapregext import TableAccess

        capabilities = self._capabilities(self.tap_url)
        access = [c for c in capabilities if isinstance(c, TableAccess)]
        if not access:
            return True
        return any(
            "upload-inline" in str(m.ivo_id or "")
            for c in access
            for m in c.uploadmethods
        )

    def _capabilities(self, base, session=None):
        """Return the VOSI capabilities of a service ([] if unreadable).

        Read with the archive's session and closed at once (pyvo's own
        capability reader streams and leaves the connection open).
        """
        from pyvo.io.vosi import parse_capabilities

        try:
            with (session or self.session).get(
                base.rstrip("/") + "/capabilities", timeout=self.timeout
            ) as response:
                response.raise_for_status()
                content = response.content
            with warnings.catch_warnings():  # a best-effort probe: stay quiet
                warnings.simplefilter("ignore")
                return list(parse_capabilities(io.BytesIO(content)))
        except (requests.RequestException, ValueError):
            return []

    # ------------------------------------------------------------------- files
    def files(self, sets, band_code, image_type):  # noqa: D102
        if image_type not in IMAGE_TYPES:
            raise InvalidQueryError(
                f"image_type={image_type!r} must be one of {', '.join(IMAGE_TYPES)}"
            )
        kind = IMAGE_TYPES.index(image_type)
        ref = np.asarray(sets.ref, np.int64)
        band = np.asarray(band_code, np.int64)
        s = self._store
        if len(ref) and (ref.max() >= len(s) or ref.min() < 0):
            raise ArchiveError(
                "these image sets were not found by this archive (or its cache "
                "was cleared)"
            )
        has = s.has[ref, kind, band]
        if kind == 1 and not self.serves_quicklook and not has.all():
            raise ArchiveError(f"{self!r} {self._no_quicklook}")
        urls = np.where(has, s.url[ref, kind, band], "").astype(str)
        formats = np.where(has, s.format[ref, kind, band], "").astype(str)
        return FileRefs(
            access_url=urls,
            access_format=formats,
            access_estsize=np.where(has, s.size[ref, kind, band], -1).astype(np.int64),
            s_region=s.s_region[ref],
        )

    def cutout_urls(self, access_url, ra, dec, size_arcsec):
        """SODA cutout URLs (``datalink_url`` set), else ``''``.

        Parameters
        ----------
        access_url : ndarray of str
            Full-file URLs this archive returned.
        ra, dec : ndarray of float
            Cutout centres, degrees.
        size_arcsec : ndarray of float
            Cutout sizes (0: none).

        Returns
        -------
        urls : ndarray of str
            ``{datalink_url}?ID=<pubdid>&CIRCLE=ra dec r`` with ``r`` half the
            size (degrees), URL-encoded; ``''`` where there is no size, no
            SODA service or no publisher DID.
        """
        access_url = np.asarray(access_url).astype(str)
        n = len(access_url)
        size = np.asarray(size_arcsec, np.float64)
        if self.datalink_url is None or n == 0:
            return np.zeros(n, dtype="U1")
        pubdid = self._store.pubdid_of(access_url)
        wanted = (size > 0) & (pubdid != "")
        out = np.full(n, "", dtype=object)
        if wanted.any():
            idx = np.flatnonzero(wanted)
            circle = np.char.add(
                np.char.add(
                    np.char.mod("%.8f ", np.asarray(ra, np.float64)[idx]),
                    np.char.mod("%.8f ", np.asarray(dec, np.float64)[idx]),
                ),
                np.char.mod("%.8f", size[idx] / 2 / 3600),
            )
            sep = "&" if "?" in self.datalink_url else "?"
            out[idx] = [
                f"{self.datalink_url}{sep}ID={quote(p, safe='')}&CIRCLE={quote(c)}"
                for p, c in zip(pubdid[idx], circle, strict=True)
            ]
        return out.astype(str)

    # --------------------------------------------------------------- describe
    def describe(self, *, check=False, timeout=10.0):
        """Describe the archive: endpoints, collection, table and columns.

        Parameters
        ----------
        check : bool, optional
            Also ask each endpoint whether it answers (`check`).
        timeout : float, optional
            Time limit in seconds per check request.

        Returns
        -------
        info : dict
            ``name``, ``kind``, ``sia_url``, ``tap_url``, ``table``,
            ``collection``, ``datalink_url``, ``data_url_root``, ``columns``,
            the thresholds, ``cached_sets``; with ``check=True`` also
            ``endpoints`` (see `check`).
        """
        info = super().describe()
        info.update(
            sia_url=self.sia_url,
            sia_query_url=self.sia_query_url,
            tap_url=self.tap_url,
            table=self.table,
            collection=self.collection,
            datalink_url=self.datalink_url,
            data_url_root=self.data_url_root,
            columns={
                k: (" ".join(v) if isinstance(v, tuple) else v)
                for k, v in self.columns.items()
            },
            upload=self.upload if self.upload is not None else self._upload_capability,
            upload_threshold=self.upload_threshold,
            async_threshold=self.async_threshold,
            chunk_size=self.chunk_size,
            maxrec=self.maxrec,
            sia_maxrec=self.sia_maxrec,
            sia_capabilities=self.sia_capabilities,
            resolve_coadd_keys=self.resolve_coadd_keys,
            cached_sets=len(self._store),
        )
        if check:
            info["endpoints"] = self.check(timeout=timeout)
        return info

    def check(self, *, timeout=10.0):
        """Ask each configured endpoint whether it answers (one request each).

        * SIA v2: ``MAXREC=0`` (plus ``COLLECTION``): the metadata answer;
        * TAP: ``SELECT TOP 1 <the mapped columns> FROM <table>`` (so it also
          checks the table and column names);
        * SODA: a plain GET of ``datalink_url``; any HTTP answer below 500
          counts (without an ``ID`` it is an error document by design).

        Parameters
        ----------
        timeout : float, optional
            Time limit in seconds for each request.

        Returns
        -------
        endpoints : dict of `EndpointStatus`
            ``{"sia" | "tap" | "datalink": {"url": str, "ok": bool,
            "detail": str}}`` for the configured endpoints; each value is
            true if its endpoint answers.
        """
        from pyvo.dal import SIA2Query, TAPService
        from pyvo.dal.exceptions import DALAccessError, DALOverflowWarning

        results = {}

        def record(name, url, call):
            try:
                with warnings.catch_warnings():
                    for category in (DALOverflowWarning, VOWarning, UnitsWarning):
                        warnings.simplefilter("ignore", category)
                    detail = call()
                results[name] = EndpointStatus(url=url, ok=True, detail=detail)
            except (DALAccessError, requests.RequestException, ArchiveError) as exc:
                results[name] = EndpointStatus(
                    url=url, ok=False, detail=f"{type(exc).__name__}: {exc}"
                )

        def sia():
            proxy = _TimeoutProxy(self, timeout)
            self._resolve_sia(proxy)
            query = SIA2Query(self.sia_query_url, session=proxy)
            if self.collection is not None:
                query["COLLECTION"] = self.collection
            query.maxrec = 0
            result = query.execute()
            return f"{len(result.fieldnames)} columns in the metadata answer"

        def tap():
            query = f"SELECT TOP 1 {self._select()} FROM {self.table} AS i"
            service = TAPService(self.tap_url, session=_TimeoutProxy(self, timeout))
            result = service.run_sync(query, maxrec=1)
            return f"{len(result)} row(s) from {self.table}"

        def datalink():
            response = self.session.get(self.datalink_url, timeout=timeout)
            if response.status_code >= 500:
                raise ArchiveError(f"HTTP {response.status_code}")
            return f"HTTP {response.status_code}"

        if self.sia_url is not None:
            record("sia", self.sia_url, sia)
            results["sia"]["url"] = self.sia_query_url
        record("tap", self.tap_url, tap)
        if self.datalink_url is not None:
            record("datalink", self.datalink_url, datalink)
        return results


class EndpointStatus(dict):
    """What `VOArchive.check` found at one endpoint: true if it answers.

    A `dict` with ``url`` (str), ``ok`` (bool) and ``detail`` (str: what the
    endpoint answered, or the error); its truth value is ``ok``, so
    ``all(archive.check().values())`` says whether every endpoint answers.
    """

    def __bool__(self):
        return bool(self.get("ok"))


class _TimeoutProxy:
    """The archive's session with a fixed request timeout (for `VOArchive.check`)."""

    def __init__(self, archive, timeout):
        self._session = archive.session
        self._timeout = timeout

    def _call(self, method, url, **kwargs):
        kwargs["timeout"] = self._timeout
        return getattr(self._session, method)(url, **kwargs)

    def get(self, url, **kwargs):
        return self._call("get", url, **kwargs)

    def post(self, url, **kwargs):
        return self._call("post", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._call("delete", url, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


_SET_FIELDS = tuple(
    f for f in ImageSets.__dataclass_fields__ if f not in ("query_index",)
)


def _parse_footprints(column, idx):
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
    return radec_to_xyz(flat[:, 0::2], flat[:, 1::2]).reshape(k, 4, 3)
