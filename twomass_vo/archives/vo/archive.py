# Licensed under a 3-clause BSD style license - see LICENSE
"""`VOArchive`: 2MASS image metadata from an SIA v2 and a TAP service, through pyvo.

The archive answers the four look-ups of `~twomass_vo.archives.Archive` with
IVOA queries:

* ``find_circle``: one SIA v2 request (``POS=CIRCLE ra dec r``, plus
  ``COLLECTION`` and an explicit ``MAXREC``) when an SIA v2 endpoint is
  configured, else one TAP query with ``INTERSECTS(CIRCLE(...), s_region)``;
* ``find_points``: one TAP query per chunk of positions, the positions
  uploaded as a table and joined with ``CONTAINS(POINT(...), s_region)``
  (asynchronous above a size); by default it answers only the distinct
  (position, coadd_key) pairs, as CSV, and the distinct sets are then looked
  up once each by coadd_key (`~twomass_vo.archives.vo.image_sets.sets_of_pairs`);
  one SIA v2 (or TAP) request per position when uploads are off or the
  service has none;
* ``find_coadd_keys`` / ``find_scans``: TAP queries with typed, validated
  values -- ``IN (...)`` lists for short inputs, uploaded tables for long
  ones. No user string is ever pasted into ADQL.

Every look-up has a twin ``payload_*`` method that builds the requests
without any network access (astroquery's ``get_query_payload``); the
look-up executes exactly those requests (and, in the two-step position
route, then the `~twomass_vo.archives.VOArchive.payload_coadd_keys`
requests of the sets found).

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

`VOArchive` holds small service objects that share its one HTTP session
(`~twomass_vo._http.vo_session`), as pyvo's services and astroquery's IRSA
module do:

* ``archive.sia``: the SIA v2 service (`~twomass_vo.archives.vo.sia2.SiaClient`);
* ``archive.tap``: the TAP service, sync / async / uploads
  (`~twomass_vo.archives.vo.tap.TapClient`);
* ``archive.queries``: the requests of each look-up, built from the current
  table and settings (`~twomass_vo.archives.vo.adql.AdqlBuilder`);
* ``archive.rows``: answers read as file rows
  (`~twomass_vo.archives.vo.file_rows.FileRowMapper`);
* ``archive.sets``: the image sets seen, with their files
  (`~twomass_vo.archives.vo.image_sets.SetStore`).

Inside the archive each request is a request object
(`~twomass_vo.archives.vo.requests`), run by its type. Values sent are
validated by `~twomass_vo.archives.vo.query_values`, values answered
checked by `~twomass_vo.archives.vo.answer_values`. This module
keeps the look-ups themselves (``find_*``), `VOArchive.files` and
`VOArchive.cutout_urls`.
"""

import numpy as np

from ..._http.deadline import positive_seconds
from ..._http.vo_session import make_session
from ...exceptions import ArchiveError, InvalidQueryError
from ..base import Archive, ImageSets
from ..set_keys import dhs_keys
from .adql import (
    DEFAULT_COLUMNS,
    POS_IDX,
    AdqlBuilder,
    check_table_name,
    checked_columns,
)
from .answer_values import check_pairs
from .column_text import band_codes
from .diagnostics import ArchiveDiagnostics, EndpointStatus
from .file_paths import parse_image_paths
from .file_rows import FileRowMapper
from .image_sets import (
    SetStore,
    expand,
    sets_in_ranges,
    sets_of_pairs,
    with_real_keys,
)
from .query_values import (
    check_url,
    positive_settings,
    validated_ints,
    validated_scans,
)
from .requests import SiaRequest, TapRequest, as_request, execute, position_index
from .sia2 import POINT_RADIUS, SiaClient  # noqa: F401 (POINT_RADIUS: public name here)
from .soda import soda_cutout_urls
from .tap import TapClient

__all__ = [
    "DEFAULT_COLUMNS",
    "IMAGE_TYPES",
    "EndpointStatus",
    "VOArchive",
    "band_codes",
    "dhs_keys",
    "parse_image_paths",
]

#: The image types, in the order of the archive's per-kind file slots.
IMAGE_TYPES = ("atlas", "quicklook")


def _setting(service, name, doc):
    """Return a read-only property: setting ``name`` of the archive's ``service``."""
    return property(lambda self: getattr(getattr(self, service), name), doc=doc)


class VOArchive(ArchiveDiagnostics, Archive):
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
    table : str or None
        The TAP table of image files (one row per file), e.g.
        ``tmass.images``; None only for subclasses that find it at run time
        (`~twomass_vo.archives.IrsaArchive`).
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
        Time limit in seconds for each socket read of an HTTP request
        (default 60); each request as a whole ends within
        ``twomass_vo.conf.request_deadline``, and each answer is at most
        ``twomass_vo.conf.max_answer_size`` bytes. Applies to the session
        the archive makes; a ``session`` you pass keeps its own settings.
    async_timeout : float, optional
        Time limit in seconds for an asynchronous TAP job, polls and result
        included (default 600).
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
        Uploaded rows above which a TAP query runs asynchronously (default
        12,000: uploads are BINARY2 VOTables, about 28 bytes per position,
        which keeps a synchronous upload under DaCHS's default limit of
        500 kB; an asynchronous job costs seconds there: a new server
        process, polled once a second).
    chunk_size : int, optional
        Most rows uploaded per TAP query (default 100,000: on DaCHS one
        large asynchronous job is faster than several smaller ones).
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
    pairs_first : bool, optional
        Look uploaded positions up in two steps (default True): a first
        query answers only the distinct (position, coadd_key) pairs, read as
        CSV, and each distinct set is then looked up once by its coadd_key
        (`payload_coadd_keys`), instead of receiving every file row's
        metadata once per position. False, or a table without a coadd_key
        column: one query with every file row's columns (``pos_idx`` and the
        select list of the other look-ups).
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

    #: The request classes the archive sends (see
    #: `~twomass_vo.archives.vo.requests.as_request`).
    request_kinds = (SiaRequest, TapRequest)

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
        async_threshold=12_000,
        chunk_size=100_000,
        maxrec=1_000_000,
        sia_maxrec=100_000,
        sia_capabilities=True,
        resolve_coadd_keys=True,
        pairs_first=True,
    ):
        sia_url = check_url(sia_url, "sia_url")
        self.resolve_coadd_keys = bool(resolve_coadd_keys)
        self.pairs_first = bool(pairs_first)
        tap_url = check_url(tap_url, "tap_url", required=True).rstrip("/")
        self.datalink_url = check_url(datalink_url, "datalink_url")
        self.data_url_root = check_url(data_url_root, "data_url_root")
        if self.data_url_root is not None and not self.data_url_root.endswith("/"):
            self.data_url_root += "/"
        # None: no table yet (an archive that finds it at run time sets it)
        self._table = None if table is None else check_table_name(table)
        if collection is not None and not str(collection).strip():
            collection = None
        collection = None if collection is None else str(collection)
        self._columns = checked_columns(columns)
        if self._columns["access_url"] is None and self.data_url_root is None:
            raise InvalidQueryError(
                "the table has no access_url column: give data_url_root"
            )
        sizes = positive_settings(
            upload_threshold=upload_threshold,
            async_threshold=async_threshold,
            chunk_size=chunk_size,
            maxrec=maxrec,
            sia_maxrec=sia_maxrec,
        )
        self.upload_threshold = sizes["upload_threshold"]
        self.async_threshold = sizes["async_threshold"]
        self.chunk_size = sizes["chunk_size"]
        self.maxrec = sizes["maxrec"]
        timeout = positive_seconds(timeout, "timeout")
        async_timeout = positive_seconds(async_timeout, "async_timeout")
        self._own_session = session is None
        session = session if session is not None else make_session(timeout)
        #: The SIA v2 service (`~twomass_vo.archives.vo.sia2.SiaClient`).
        self.sia = SiaClient(
            sia_url,
            session,
            timeout,
            collection=collection,
            maxrec=sia_maxrec,
            capabilities=sia_capabilities,
        )
        #: The TAP service (`~twomass_vo.archives.vo.tap.TapClient`).
        self.tap = TapClient(tap_url, session, timeout, async_timeout, upload=upload)
        #: Answers as file rows (`~twomass_vo.archives.vo.file_rows.FileRowMapper`).
        self.rows = FileRowMapper(self.data_url_root)
        #: The image sets seen so far, with their files
        #: (`~twomass_vo.archives.vo.image_sets.SetStore`).
        self.sets = SetStore()

    # ----------------------------------------------- settings of the services
    @property
    def table(self):
        """The TAP table of image files (None: none known)."""
        return self._table

    @property
    def columns(self):
        """Contract name -> column of `table` (None: the table has no such column)."""
        return self._columns

    @property
    def session(self):
        """The `requests.Session` of every request (shared by the services)."""
        return self.tap.session

    @session.setter
    def session(self, session):
        self.tap.session = self.sia.session = session

    sia_url = _setting("sia", "url", "The SIA v2 URL as configured (None: no SIA v2).")
    sia_query_url = _setting("sia", "query_url", "The SIA v2 query endpoint.")
    collection = _setting("sia", "collection", "SIA v2 ``COLLECTION``, or None.")
    sia_maxrec = _setting("sia", "maxrec", "``MAXREC`` of every SIA v2 request.")
    sia_capabilities = _setting("sia", "capabilities", "Whether to read capabilities.")
    tap_url = _setting("tap", "url", "The TAP base URL.")
    upload = _setting("tap", "upload", "Whether TAP takes uploads (None: ask it).")
    timeout = _setting("tap", "timeout", "Time limit (s) of each socket read.")
    async_timeout = _setting("tap", "async_timeout", "Time limit (s) of an async job.")

    # ------------------------------------------------------------- requests
    @property
    def queries(self):
        """The request builder of the current table and settings.

        An `~twomass_vo.archives.vo.adql.AdqlBuilder`, made on each use from
        ``table``, ``columns``, the SIA v2 service (when ``sia_url`` is set),
        whether uploads are on, and the thresholds.
        """
        return AdqlBuilder(
            self.table,
            self.columns,
            tap_url=self.tap_url,
            sia=self.sia if self.sia_url is not None else None,
            uploads=self.tap.uploads_enabled,
            maxrec=self.maxrec,
            upload_threshold=self.upload_threshold,
            async_threshold=self.async_threshold,
            chunk_size=self.chunk_size,
            pairs_first=self.pairs_first,
        )

    def payload_circle(self, ra, dec, radius, *, image_type="atlas"):
        """Build the requests of `find_circle`, without network access.

        See `~twomass_vo.archives.vo.adql.AdqlBuilder.circle`;
        ``image_type`` is ignored (the table lists both kinds of file).
        """
        return self.queries.circle(ra, dec, radius)

    def payload_points(self, ra, dec):
        """Build the requests of `find_points`, without network access.

        See `~twomass_vo.archives.vo.adql.AdqlBuilder.points`.
        """
        return self.queries.points(ra, dec)

    def payload_coadd_keys(self, keys):
        """Build the requests of `find_coadd_keys`, without network access.

        See `~twomass_vo.archives.vo.adql.AdqlBuilder.coadd_keys`.
        """
        return self.queries.coadd_keys(keys)

    def payload_scans(self, ordate, hemisphere, scanno, image):
        """Build the requests of `find_scans`, without network access.

        See `~twomass_vo.archives.vo.adql.AdqlBuilder.scans`.
        """
        return self.queries.scans(ordate, hemisphere, scanno, image)

    def _execute(self, request):
        """Run one request (a request object or its payload dict); return its rows.

        The request's class says how (`~twomass_vo.archives.vo.requests.execute`).
        """
        return execute(as_request(request, self.request_kinds), self)

    def _file_rows(self, table, source):
        """File rows of a ``tap`` or ``sia`` answer (`FileRowMapper.read`)."""
        if source == "tap":
            url = f"{self.tap_url} ({self.table})"
        else:
            url = self.sia_query_url
        return self.rows.read(table, source, self.columns, url)

    def _execute_integers(self, request, names):
        """Run a TAP request whose answer is integer columns ``names``."""
        return self.tap.run_integers(
            as_request(request, self.request_kinds).as_payload(), names
        )

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

    def __repr__(self):
        where = self.sia_url or self.tap_url
        return f"<{type(self).__name__} {self.table!r} at {where}>"

    def clear_cache(self):
        """Forget the image sets and files seen so far.

        The archive remembers every set its look-ups returned, so that
        `files` can give their URLs; this frees that memory. Sets returned
        before the call can no longer be passed to `files`.
        """
        self.sets.clear()

    @property
    def makes_cutouts(self):
        """Whether `cutout_urls` makes server-side cutout URLs (a SODA service)."""
        return self.datalink_url is not None

    @property
    def serves_quicklook(self):
        """Whether the table tells Quicklook files from Atlas files."""
        return self.columns["image_type"] is not None

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
        ref = self.sets.add(rows, corners_of)
        pairs = np.unique(np.stack([np.asarray(index, np.int64)[keep], ref], 1), axis=0)
        return self.sets.sets(pairs[:, 1], pairs[:, 0])

    # ---------------------------------------------------------------- look-ups
    def find_circle(self, ra, dec, radius, *, image_type="atlas"):  # noqa: D102
        self.sia.resolve()
        (payload,) = self.payload_circle(ra, dec, radius)
        request = as_request(payload, self.request_kinds)
        sets = self._image_sets(self._execute(request), request.service)
        return self._with_real_keys(sets)

    def find_points(self, ra, dec):  # noqa: D102
        if len(np.atleast_1d(ra)):
            self.tap.resolve_uploads()
            if not self.tap.uploads_enabled:
                self.sia.resolve()
        requests = [
            as_request(p, self.request_kinds) for p in self.payload_points(ra, dec)
        ]
        if requests and getattr(requests[0], "format", None) == "csv":
            return self._find_points_by_pairs(requests)
        parts = []
        for i, request in enumerate(requests):
            table = self._execute(request)
            index = position_index(request, table, i)
            parts.append(self._image_sets(table, request.service, index))
        sets = ImageSets.concatenate(parts) if parts else ImageSets.empty()
        return self._with_real_keys(sets)

    def _find_points_by_pairs(self, requests):
        """Run the (position, coadd_key) queries, then look each set up once."""
        index, keys = [], []
        for request in requests:
            name, key = request.columns
            pos_idx, coadd_key = self._execute_integers(request, (name, key))
            sent = request.uploads["pos"][POS_IDX]
            check_pairs(pos_idx, coadd_key, sent, (name, key), request.url)
            index.append(pos_idx)
            keys.append(coadd_key)
        return sets_of_pairs(
            np.concatenate(index),
            np.concatenate(keys),
            lambda distinct: self._run_all(self.payload_coadd_keys(distinct)),
            source=f"TAP answer from {self.tap_url}",
        )

    def _with_real_keys(self, sets):
        """Give sets found by SIA v2 the TAP table's coadd_keys, if asked to.

        When ``resolve_coadd_keys`` is on and the table has a coadd_key
        column: `~twomass_vo.archives.vo.image_sets.with_real_keys`.
        """
        if not self.resolve_coadd_keys or self.columns["coadd_key"] is None:
            return sets
        return with_real_keys(sets, self.sets, self.find_scans, table=self.table)

    def find_coadd_keys(self, keys):  # noqa: D102
        keys = validated_ints(keys, "coadd_key", low=0, high=2**62)
        if len(np.unique(keys)) > self.upload_threshold:
            self.tap.resolve_uploads()
        found = self._run_all(self.payload_coadd_keys(keys))
        if not len(found):
            return ImageSets.empty()
        # each set answers every input row with its key (duplicates included)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        start = np.searchsorted(sorted_keys, found.coadd_key, side="left")
        stop = np.searchsorted(sorted_keys, found.coadd_key, side="right")
        return expand(found, order, start, stop)

    def find_scans(self, ordate, hemisphere, scanno, image):  # noqa: D102
        ordate, hem, scanno, image = validated_scans(ordate, hemisphere, scanno, image)
        if len(np.unique(dhs_keys(ordate, hem, scanno, 0))) > self.upload_threshold:
            self.tap.resolve_uploads()
        found = self._run_all(self.payload_scans(ordate, hem, scanno, image))
        if not len(found):
            return ImageSets.empty()
        # request r asks for keys [lo, hi]: one image, or all images of a scan
        lo = dhs_keys(ordate, hem, scanno, image)
        return sets_in_ranges(found, lo, np.where(image > 0, lo, lo + 9999))

    def _run_all(self, payloads):
        requests = [as_request(p, self.request_kinds) for p in payloads]
        parts = [self._image_sets(self._execute(r), r.service) for r in requests]
        if not parts:
            return ImageSets.empty()
        found = ImageSets.concatenate(parts)
        _, first = np.unique(found.ref, return_index=True)
        return found.take(np.sort(first))

    # ------------------------------------------------------------------- files
    def files(self, sets, band_code, image_type):  # noqa: D102
        if image_type not in IMAGE_TYPES:
            raise InvalidQueryError(
                f"image_type={image_type!r} must be one of {', '.join(IMAGE_TYPES)}"
            )
        kind = IMAGE_TYPES.index(image_type)
        has, refs = self.sets.file_refs(sets.ref, kind, band_code)
        if kind == 1 and not self.serves_quicklook and not has.all():
            raise ArchiveError(f"{self!r} {self._no_quicklook}")
        return refs

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
        pubdid = self.sets.pubdid_of(access_url)
        return soda_cutout_urls(self.datalink_url, pubdid, ra, dec, size)
