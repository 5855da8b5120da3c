# Licensed under a 3-clause BSD style license - see LICENSE
"""`IrsaArchive`: the archive of IRSA's 2MASS services (see `twomass_vo.archives.irsa`).

The archive holds a router (`~twomass_vo.archives.irsa.router`: the route
of each mode, the discovery of a TAP table, the fallbacks) and builds the
requests of each route (`~twomass_vo.archives.irsa.payloads`) for IBE
(`~twomass_vo.archives.irsa.ibe`), the SIA v1 CGI
(`~twomass_vo.archives.irsa.sia1`), SIA v2 and TAP; the settings are
`twomass_vo.archives.irsa.settings.conf`.
"""

import contextlib
import functools
from functools import partial

import numpy as np
import requests

from ...exceptions import ArchiveError, ArchiveUnreachableError
from ..base import ImageSets
from ..vo.adql import checked_columns
from ..vo.archive import VOArchive
from ..vo.query_values import check_url, validated_ints
from ..vo.requests import as_request
from .diagnostics import check_services, describe_routes
from .ibe import (
    ibe_cutout_urls,
    ibe_file_rows,
    run_ibe,
    upload_index,
)
from .payloads import IrsaPayloads
from .requests import IbeRequest, Sia1Request
from .router import MODES, IrsaRouter
from .settings import conf
from .sia1 import pairs_near, rows_of_sets, run_sia1, sia1_file_rows

__all__ = ["MODES", "IrsaArchive", "IrsaUnreachableError", "irsa_columns"]


_COLUMN_ITEMS = {
    "coadd_key": "column_coadd_key",
    "ordate": "column_ordate",
    "hemisphere": "column_hemisphere",
    "scanno": "column_scanno",
    "image": "column_image",
    "file_name": "column_file_name",
    "band": "column_band",
    "ra": "column_ra",
    "dec": "column_dec",
    "s_region": "column_s_region",
    "corners": "column_corners",
}


def irsa_columns():
    """Column names of a 2MASS image table at IRSA, from its settings (IBE names).

    Returns
    -------
    columns : dict
        A ``columns`` mapping for `~twomass_vo.archives.VOArchive`;
        ``image_type``, ``access_url``, ``access_format``, ``access_estsize``
        and ``pubdid`` are absent (``None``).
    """
    columns = {key: getattr(conf, item) or None for key, item in _COLUMN_ITEMS.items()}
    columns.update(
        image_type=None,
        access_url=None,
        access_format=None,
        access_estsize=None,
        pubdid=None,
    )
    return columns


def _connection_failure(exc):
    """Return the connection error or timeout behind ``exc``, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__
    return None


class IrsaUnreachableError(ArchiveUnreachableError):
    """IRSA cannot be reached (no connection or no answer in time).

    Raised once, naming the URL; no other route is tried, since IRSA's
    services share one host.
    """


class IrsaArchive(IrsaPayloads, VOArchive):
    """The 2MASS All-Sky Atlas images at IRSA: SIA v2, IBE and TAP.

    Every argument defaults to its setting in
    `twomass_vo.archives.irsa.conf <twomass_vo.archives.irsa.settings.conf>`
    (read when the archive is made); an empty URL switches that service off.

    Parameters
    ----------
    sia_url, tap_url, ibe_url : str, optional
        IRSA's SIA v2 query endpoint, TAP base URL and IBE search URL.
    sia1_url : str, optional
        IRSA's 2MASS image CGI (SIA v1), for Quicklook images and as the last
        Atlas route (empty: Quicklook images are refused).
    data_url_root : str, optional
        Root of the image file tree (IBE data service).
    table : str, optional
        TAP table of image files (default: found in ``TAP_SCHEMA``).
    collection : str, optional
        SIA v2 collection (``twomass_allsky``).
    columns : dict, optional
        Column names that win over the IBE names (see
        `~twomass_vo.archives.vo.DEFAULT_COLUMNS`).
    discover : bool, optional
        Read ``TAP_SCHEMA`` before using TAP (default True). False: use
        ``table`` and ``columns`` as given (no TAP without ``table``).
    timeout, async_timeout : float, optional
        Time limits in seconds per request and per asynchronous TAP job.
    session : `requests.Session`, optional
        Session for all requests (TLS certificates are verified).
    upload, upload_threshold, async_threshold, chunk_size, maxrec, sia_maxrec : optional
        TAP and SIA v2 settings, see `~twomass_vo.archives.VOArchive`.
    ibe_chunk_size : int, optional
        Most positions per IBE upload.
    ibe_where_size : int, optional
        Most coadd_keys or scans per IBE ``where``.
    ibe_max_size : float, optional
        Widest IBE search box, degrees.
    sia1_dataset : str, optional
        The CGI's data set (``asky``).
    sia1_group_size : float, optional
        Width (degrees) of the sky cells that share one CGI request.
    max_concurrent : int, optional
        Requests of one look-up sent at a time.
    resolve_coadd_keys : bool, optional
        Give the sets found by SIA v2 their coadd_keys (IBE or TAP).

    Notes
    -----
    Cutouts: `cutout_urls` appends IBE's cutout parameters to the file URL,
    ``?center={ra},{dec}&size={size}arcsec&gzip=false`` (clipped to the
    image; IBE answers HTTP 500 when the cutout misses it, which fails that
    file at once). Quicklook files come from the CGI and are cut out
    locally.

    Examples
    --------
    >>> from twomass_vo.archives.irsa import IrsaArchive
    >>> archive = IrsaArchive()
    >>> archive.routes()["coadd_keys"]  # before TAP_SCHEMA was read
    'ibe-where'
    >>> archive.payload_coadd_keys([1388256])[0]["params"]["where"]
    'coadd_key IN (1388256)'
    """

    name = "irsa"

    #: The request classes the archive sends: VOArchive's, IBE's and the CGI's.
    request_kinds = (*VOArchive.request_kinds, IbeRequest, Sia1Request)

    @property
    def quicklook_refusal(self):
        """Why Quicklook images are refused (before any request), or None.

        IRSA serves them through its SIA v1 CGI only: without ``sia1_url``
        they are refused.
        """
        if self.sia1_url is not None:
            return None
        return (
            "has no sia1_url: IRSA serves the 2MASS Quicklook images only "
            "through its SIA v1 CGI (not SIA v2, IBE or TAP); give "
            "sia1_url, or ask for image_type='atlas'"
        )

    @property
    def _no_quicklook(self):
        return self.quicklook_refusal

    def __init__(
        self,
        *,
        sia_url=None,
        tap_url=None,
        ibe_url=None,
        data_url_root=None,
        table=None,
        collection=None,
        columns=None,
        discover=None,
        timeout=None,
        async_timeout=None,
        session=None,
        upload=None,
        upload_threshold=None,
        async_threshold=None,
        chunk_size=None,
        ibe_chunk_size=None,
        ibe_where_size=None,
        maxrec=None,
        sia_maxrec=None,
        resolve_coadd_keys=None,
        sia1_url=None,
        sia1_dataset=None,
        sia1_group_size=None,
        ibe_max_size=None,
        max_concurrent=None,
    ):
        def pick(value, item):
            return getattr(conf, item) if value is None else value

        self.ibe_url = check_url(pick(ibe_url, "ibe_url") or None, "ibe_url")
        self.sia1_url = check_url(pick(sia1_url, "sia1_url") or None, "sia1_url")
        self.sia1_dataset = str(pick(sia1_dataset, "sia1_dataset"))
        if not self.sia1_dataset.isalnum():
            raise ArchiveError(f"sia1_dataset={self.sia1_dataset!r} is not a word")
        for name, value, high in (
            ("sia1_group_size", pick(sia1_group_size, "sia1_group_size"), 10.0),
            ("ibe_max_size", pick(ibe_max_size, "ibe_max_size"), 180.0),
        ):
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = np.nan
            if not (np.isfinite(value) and 0 < value <= high):
                raise ArchiveError(f"{name}={value!r} must be in (0, {high}] degrees")
            setattr(self, name, value)
        table = pick(table, "table") or None
        configured = irsa_columns()
        configured.update(columns or {})
        super().__init__(
            sia_url=pick(sia_url, "sia_url") or None,
            tap_url=pick(tap_url, "tap_url"),
            table=table,
            collection=pick(collection, "collection"),
            columns=configured,
            data_url_root=pick(data_url_root, "data_url_root"),
            timeout=pick(timeout, "timeout"),
            async_timeout=pick(async_timeout, "async_timeout"),
            session=session,
            upload=bool(pick(upload, "upload")),
            upload_threshold=pick(upload_threshold, "upload_threshold"),
            async_threshold=pick(async_threshold, "async_threshold"),
            chunk_size=pick(chunk_size, "chunk_size"),
            maxrec=pick(maxrec, "maxrec"),
            sia_maxrec=pick(sia_maxrec, "sia_maxrec"),
            sia_capabilities=False,  # conf.sia_url is the query endpoint
            resolve_coadd_keys=bool(pick(resolve_coadd_keys, "resolve_coadd_keys")),
        )
        for name, value in (
            ("ibe_chunk_size", pick(ibe_chunk_size, "ibe_chunk_size")),
            ("ibe_where_size", pick(ibe_where_size, "ibe_where_size")),
            ("max_concurrent", pick(max_concurrent, "max_concurrent")),
        ):
            value = int(validated_ints(value, name, low=1, high=10**7)[0])
            setattr(self, name, value)
        #: Route choice, discovery and fallback
        #: (`~twomass_vo.archives.irsa.router.IrsaRouter`).
        self.router = IrsaRouter(
            self.sia,
            self.tap_url,
            self.ibe_url,
            self.sia1_url,
            table=table,
            columns=checked_columns(configured),
            discover=pick(discover, "discover"),
            upload=self.upload,
        )

    def __repr__(self):
        where = self.ibe_url or self.sia_url or self.tap_url or self.sia1_url
        return f"<IrsaArchive at {where}>"

    # ---------------------------------------------------- what the router knows
    @property
    def table(self):
        """The TAP image table in use: discovered, else configured (or None)."""
        return self.router.table

    @property
    def columns(self):
        """The columns of `table` (discovered, else configured)."""
        return self.router.columns

    @property
    def discovery(self):
        """What discovery found, or None.

        A `~twomass_vo.archives.irsa.discovery.Discovery`.

        None until the first look-up that needs TAP (or `discover_table`).
        """
        return self.router.discovery

    @property
    def sia_failure(self):
        """Why SIA v2 is no longer used for regions (None while it answers)."""
        return self.router.sia_failure

    @property
    def ibe_failure(self):
        """Why IBE searches are no longer used (None while IBE answers)."""
        return self.router.ibe_failure

    def discover_table(self):
        """Find the TAP image table once (``TAP_SCHEMA``); return what was found.

        A `~twomass_vo.archives.irsa.discovery.Discovery`, kept by the router.

        Raises
        ------
        twomass_vo.exceptions.ArchiveError
            Only when the TAP service cannot be reached at all.
        """
        try:
            return self.router.discover_table(self.session)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unreachable(self.tap_url, exc) from exc

    def routes(self, image_type="atlas"):
        """Return the route of each mode, as far as known without network access.

        See `~twomass_vo.archives.irsa.router.IrsaRouter.routes`.
        """
        return self.router.routes(image_type)

    def route_url(self, route):
        """Return the service URL of a route."""
        return self.router.route_url(route)

    def route_info(self):
        """Routes and service URLs of the last look-up (for table metadata).

        See `~twomass_vo.archives.irsa.router.IrsaRouter.route_info`.
        """
        return self.router.route_info()

    def describe(self, *, check=False, timeout=10.0):
        """Describe the archive: services, routes of the five modes, TAP table.

        Parameters
        ----------
        check : bool, optional
            Also ask each service whether it answers (`check`; reads
            ``TAP_SCHEMA`` for the image table), so that ``routes`` says
            whether the route of each mode answers.
        timeout : float, optional
            Time limit in seconds per check request.

        Returns
        -------
        info : dict
            As `~twomass_vo.archives.VOArchive.describe`, plus the routes
            (`~twomass_vo.archives.irsa.diagnostics.describe_routes`).
        """
        endpoints = self.check(timeout=timeout) if check else None
        info = super().describe(check=False, timeout=timeout)
        return describe_routes(self, info, endpoints)

    def check(self, *, timeout=10.0):
        """Ask each service whether it answers (one or two requests each).

        See `~twomass_vo.archives.irsa.diagnostics.check_services`.

        Parameters
        ----------
        timeout : float, optional
            Time limit in seconds per request.

        Returns
        -------
        endpoints : dict of `~twomass_vo.archives.vo.diagnostics.EndpointStatus`
            ``{"sia" | "tap" | "ibe" | "data" | "sia1": {"url", "ok",
            "detail"}}``.
        """
        return check_services(self, timeout)

    def _look_up(self, mode, call, image_type="atlas"):
        return self.router.look_up(mode, call, image_type, discover=self.discover_table)

    def _unreachable(self, url, exc):
        from ..._http.network_errors import network_failure

        failure = network_failure(exc, url=url)
        cause = failure.cause if failure is not None else type(exc).__name__
        return IrsaUnreachableError(
            f"IRSA cannot be reached at {url.split('?', 1)[0]} ({cause}); offline? "
            "--archive sim works without a network",
            url=url,
            host=None if failure is None else failure.host,
            why=None if failure is None else failure.cause,
            detail=f"{type(exc).__name__}: {exc}",
        )

    # ---------------------------------------------------------------- look-ups
    def find_circle(self, ra, dec, radius, *, image_type="atlas"):  # noqa: D102
        def call():
            payloads = self.payload_circle(ra, dec, radius, image_type=image_type)
            return self._with_real_keys(self._run_all(payloads))

        return self._look_up("region", call, image_type)

    def find_points(self, ra, dec):  # noqa: D102
        by_vo = super().find_points

        def call():
            route = self.routes()["positions"]
            if route not in ("ibe-upload", "sia1-groups"):
                return by_vo(ra, dec)
            requests = [
                as_request(p, self.request_kinds) for p in self.payload_points(ra, dec)
            ]
            parts = []
            for request, table in zip(
                requests, self._execute_all(requests), strict=True
            ):
                if route == "ibe-upload":
                    index = upload_index(table, request.as_payload())
                    parts.append(self._image_sets(table, request.service, index))
                else:
                    parts.append(self._near_points(table, request, ra, dec))
            return ImageSets.concatenate(parts) if parts else ImageSets.empty()

        if not len(np.atleast_1d(ra)):
            return ImageSets.empty()
        return self._look_up("positions", call)

    def _near_points(self, table, request, ra, dec):
        """Candidate sets of the positions of one CGI request (``sia1-groups``)."""
        sets = self._image_sets(table, request.service)
        return pairs_near(sets, request.members, ra, dec)

    def find_coadd_keys(self, keys):  # noqa: D102
        return self._look_up("coadd_keys", partial(super().find_coadd_keys, keys))

    def find_scans(self, ordate, hemisphere, scanno, image):  # noqa: D102
        return self._look_up(
            "scans", partial(super().find_scans, ordate, hemisphere, scanno, image)
        )

    # ------------------------------------------------------- requests and rows
    def _logged(self, request):
        """Return the request of a payload, its route and URL logged by the router."""
        request = as_request(request, self.request_kinds)
        self.router.record(request.route or request.service, request.url)
        return request

    @contextlib.contextmanager
    def _connection_checked(self, url):
        """Raise an `ArchiveError` of a failed connection to ``url`` as unreachable."""
        try:
            yield
        except ArchiveError as exc:
            failure = _connection_failure(exc)
            if failure is None:
                raise
            raise self._unreachable(url, failure) from exc

    def _execute(self, request):
        """Run one request (SIA v2, TAP, IBE or the CGI); log its route and URL."""
        return self._run(self._logged(request))

    @functools.singledispatchmethod
    def _run(self, request):
        """SIA v2 and TAP requests (`VOArchive`'s); no connection: unreachable."""
        with self._connection_checked(request.url):
            return super()._execute(request)

    @_run.register
    def _(self, request: IbeRequest):
        payload = request.as_payload()
        table = run_ibe(self.session, payload, unreachable=self._unreachable)
        table.meta["ibe_url"] = request.url
        return table

    @_run.register
    def _(self, request: Sia1Request):
        payload = request.as_payload()
        table = run_sia1(self.session, payload, unreachable=self._unreachable)
        table.meta["sia1_url"] = request.url
        return table

    def _execute_integers(self, request, names):
        """Run a (position, coadd_key) pairs query (TAP); log its route and URL."""
        request = self._logged(request)
        with self._connection_checked(request.url):
            return super()._execute_integers(request, names)

    def _file_rows(self, table, source):
        if source == "sia1":
            rows, corners, kept = sia1_file_rows(
                table, table.meta.get("sia1_url", self.sia1_url), cgi_url=self.sia1_url
            )
            keep = np.zeros(len(table), bool)
            keep[kept] = True
            return rows, keep, (lambda idx: corners[idx])
        if source != "ibe":
            return super()._file_rows(table, source)
        rows, corners = ibe_file_rows(
            table, table.meta.get("ibe_url", self.ibe_url), self.data_url_root
        )
        keep = np.ones(len(table), bool)
        return rows, keep, (lambda idx: corners[idx])

    # ----------------------------------------------------------------- files
    def files(self, sets, band_code, image_type):  # noqa: D102
        if image_type == "quicklook" and self.sia1_url is not None:
            self._find_quicklook_files(sets, np.asarray(band_code, np.int64))
        return super().files(sets, band_code, image_type)

    def _find_quicklook_files(self, sets, band_code):
        """Ask the CGI for the Quicklook files of sets that lack them.

        One request per sky cell of the sets' centres (`payload_quicklook`),
        at most ``max_concurrent`` at a time; only the rows of the sets asked
        for are kept, and their coadd_keys must be the sets' own.

        Raises
        ------
        twomass_vo.exceptions.ArchiveError
            If a row's coadd_key contradicts its set's, or if a set's
            Quicklook file of a wanted band is not listed.
        """
        store = self.sets
        ref = np.asarray(sets.ref, np.int64)
        if not len(ref):
            return
        if ref.max() >= len(store) or ref.min() < 0:
            return  # VOArchive.files says what is wrong
        missing = ~store.has[ref, 1, band_code]
        if not missing.any():
            return
        wanted = np.unique(ref[missing])
        payloads = self.payload_quicklook(store.ra[wanted], store.dec[wanted])
        for table in self._execute_all(
            [as_request(p, self.request_kinds) for p in payloads]
        ):
            url = table.meta.get("sia1_url", self.sia1_url)
            rows, corners, kept = sia1_file_rows(table, url, cgi_url=self.sia1_url)
            take = rows_of_sets(store, wanted, rows, kept, url)
            if len(take):
                store.add(
                    {name: value[take] for name, value in rows.items()},
                    lambda idx, take=take, corners=corners: corners[take[idx]],
                )
        still = ~store.has[ref, 1, band_code]
        if still.any():
            i = int(np.flatnonzero(still)[0])
            r = ref[i]
            raise ArchiveError(
                f"IRSA's SIA v1 CGI {self.sia1_url} lists no Quicklook "
                f"{'JHK'[band_code[i]]} file of coadd_key {int(store.coadd_key[r])} "
                f"({store.ordate[r]} {store.hemisphere[r]} {int(store.scanno[r])} "
                f"{int(store.image[r])})"
            )

    def cutout_urls(self, access_url, ra, dec, size_arcsec):
        """IBE cutout URLs: ``access_url?center=ra,dec&size=Narcsec&gzip=false``.

        See `~twomass_vo.archives.irsa.ibe.ibe_cutout_urls`: only files under
        ``data_url_root`` (IBE's) are cut out by IRSA; the others (the
        CGI's Quicklook files) get ``''`` and are cut out locally.
        """
        return ibe_cutout_urls(access_url, ra, dec, size_arcsec, self.data_url_root)

    @property
    def makes_cutouts(self):
        """IRSA makes cutouts of every IBE file (always True)."""
        return True

    @property
    def serves_quicklook(self):
        """Whether Quicklook images are served: through the CGI (``sia1_url``)."""
        return self.sia1_url is not None
