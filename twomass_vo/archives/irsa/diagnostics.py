# Licensed under a 3-clause BSD style license - see LICENSE
"""What an `~twomass_vo.archives.IrsaArchive` is set up with, route by route.

`RouteDiagnostics` gives the IRSA archive its ``describe`` (the services,
the route of each of the five modes, what discovery found, which routes
were given up) and ``check`` (one request per IRSA service: SIA v2, TAP,
IBE, the file tree and the SIA v1 CGI).
"""

import warnings

import requests

from ..._http.deadline import positive_seconds
from ..._http.vo_session import TimeoutProxy
from ...exceptions import ArchiveError
from ..vo.diagnostics import EndpointStatus, endpoint_failure
from .ibe import IBE_COLUMNS
from .ipac_tables import answer_text, parse_ipac
from .sia1 import run_sia1, sia1_file_rows, sia1_search

__all__ = ["RouteDiagnostics"]


class RouteDiagnostics:
    """``describe`` and ``check`` of an archive with one route per mode (a mixin).

    For `~twomass_vo.archives.IrsaArchive`: reads its ``routes()``,
    ``route_url()``, ``discover_table()``, ``ibe_url``, ``sia1_url`` and
    ``data_url_root``.
    """

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
            As `~twomass_vo.archives.VOArchive.describe`, plus ``ibe_url``,
            ``discovery`` (what TAP_SCHEMA gave, or ``not read yet``),
            ``sia1_url``, ``sia_failure`` and ``ibe_failure`` (why SIA v2
            or IBE was given up, or None) and ``routes``: mode (and
            ``quicklook``, the SIA v1 CGI) ->
            `~twomass_vo.archives.vo.diagnostics.EndpointStatus` with
            ``route``, ``url``, ``ok`` (None when not checked) and
            ``detail``; with ``check=True`` also ``endpoints``.
        """
        endpoints = self.check(timeout=timeout) if check else None
        info = super().describe(check=False, timeout=timeout)
        found = self.discovery
        info.update(
            ibe_url=self.ibe_url,
            sia1_url=self.sia1_url,
            table=self.table,
            discovery="not read yet" if found is None else found.reason,
            sia_failure=self.sia_failure,
            ibe_failure=self.ibe_failure,
        )
        routes = {}
        chosen = dict(self.routes())
        if self.sia1_url is not None:
            chosen["quicklook"] = "sia1-box"  # and sia1-files after the others
        for mode, route in chosen.items():
            url = self.route_url(route)
            service = route.split("-")[0]
            status = None if endpoints is None else endpoints.get(service)
            routes[mode] = EndpointStatus(
                route=route,
                url=url,
                ok=None if status is None else bool(status["ok"]),
                detail="not checked" if status is None else status["detail"],
                cause=None if status is None else status.get("cause"),
            )
        info["routes"] = routes
        if endpoints is not None:
            info["endpoints"] = endpoints
        return info

    def check(self, *, timeout=10.0):
        """Ask each service whether it answers (one or two requests each).

        * SIA v2: ``MAXREC=0`` (plus ``COLLECTION``);
        * TAP: reads ``TAP_SCHEMA`` for the image table (discovery, cached);
          the detail names the table found or why there is none;
        * IBE: ``FORMAT=METADATA``, and every column the archive reads must
          be listed;
        * data: a GET of ``data_url_root`` (any answer below 400);
        * sia1: one small Quicklook search of the SIA v1 CGI (at M31), whose
          answer must be a VOTable with ``QUERY_STATUS=OK`` and the columns
          read.

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
        timeout = positive_seconds(timeout, "timeout")
        results = {}
        proxy = TimeoutProxy(self.session, timeout)

        def record(name, url, call):
            try:
                detail = call()
                results[name] = EndpointStatus(url=url, ok=True, detail=detail)
            except (requests.RequestException, ArchiveError) as exc:
                results[name] = endpoint_failure(url, exc)

        def sia():
            from pyvo.dal import SIA2Query
            from pyvo.dal.exceptions import DALAccessError

            query = SIA2Query(self.sia_query_url, session=proxy)
            if self.collection is not None:
                query["COLLECTION"] = self.collection
            query.maxrec = 0
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = query.execute()
            except DALAccessError as exc:
                raise ArchiveError(str(exc)) from exc
            return f"{len(result.fieldnames)} columns in the metadata answer"

        def tap():
            session, self.session = self.session, proxy
            try:
                found = self.discover_table()
            finally:
                self.session = session
            return found.reason

        def ibe():
            response = proxy.get(self.ibe_url, params={"FORMAT": "METADATA"})
            if response.status_code != 200:
                raise ArchiveError(
                    f"HTTP {response.status_code}: {response.text.strip()[:200]}"
                )
            # only the names matter here: a description's non-ASCII letter
            # (read strictly, an error) is one '?' of the same width
            text = answer_text(response.content).encode("ascii", "replace")
            table = parse_ipac(text, self.ibe_url)
            names = {str(n).lower() for n in table[table.colnames[0]]}
            corners = {"ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4"}
            missing = [c for c in IBE_COLUMNS if c not in names and c not in corners]
            if missing:
                raise ArchiveError(f"columns missing: {', '.join(missing)}")
            return f"{len(table)} columns, all {len(IBE_COLUMNS) - 8} needed ones"

        def data():
            response = proxy.get(self.data_url_root)
            if response.status_code >= 400:
                raise ArchiveError(f"HTTP {response.status_code}")
            return f"HTTP {response.status_code}"

        def sia1():
            payload = sia1_search(
                self.sia1_url,
                pos=(10.6847, 41.2690),
                size=0.01,
                image_type="quicklook",
                dataset=self.sia1_dataset,
            )
            table = run_sia1(
                proxy, payload, unreachable=lambda url, exc: ArchiveError(str(exc))
            )
            rows, _, _ = sia1_file_rows(table, self.sia1_url, cgi_url=self.sia1_url)
            return f"{len(rows['dhs'])} Quicklook file(s) listed at M31"

        if self.sia_url is not None:
            record("sia", self.sia_query_url, sia)
        record("tap", self.tap_url, tap)
        if self.ibe_url is not None:
            record("ibe", self.ibe_url, ibe)
        record("data", self.data_url_root, data)
        if self.sia1_url is not None:
            record("sia1", self.sia1_url, sia1)
        return results
