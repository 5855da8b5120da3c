# Licensed under a 3-clause BSD style license - see LICENSE
"""What an `~twomass_vo.archives.IrsaArchive` is set up with, route by route.

What the IRSA archive's ``describe`` adds (`describe_routes`: the
services, the route of each of the five modes, what discovery found, which
routes were given up) and its ``check`` (`check_services`: one request per
IRSA service: SIA v2, TAP, IBE, the file tree and the SIA v1 CGI).
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

__all__ = ["check_services", "describe_routes"]


def describe_routes(archive, info, endpoints=None):
    """Add the routes of an `~twomass_vo.archives.IrsaArchive` to its description.

    Parameters
    ----------
    archive : `~twomass_vo.archives.IrsaArchive`
        Its ``routes()``, ``route_url()``, ``discovery``, ``ibe_url``,
        ``sia1_url``, ``table``, ``sia_failure`` and ``ibe_failure`` are read.
    info : dict
        `~twomass_vo.archives.VOArchive.describe` of the archive (updated).
    endpoints : dict, optional
        `check_services` of the archive (None: not checked).

    Returns
    -------
    info : dict
        ``info``, plus ``ibe_url``, ``discovery`` (what TAP_SCHEMA gave, or
        ``not read yet``), ``sia1_url``, ``sia_failure`` and ``ibe_failure``
        (why SIA v2 or IBE was given up, or None) and ``routes``: mode (and
        ``quicklook``, the SIA v1 CGI) ->
        `~twomass_vo.archives.vo.diagnostics.EndpointStatus` with ``route``,
        ``url``, ``ok`` (None when not checked) and ``detail``; with
        ``endpoints`` also ``endpoints``.
    """
    found = archive.discovery
    info.update(
        ibe_url=archive.ibe_url,
        sia1_url=archive.sia1_url,
        table=archive.table,
        discovery="not read yet" if found is None else found.reason,
        sia_failure=archive.sia_failure,
        ibe_failure=archive.ibe_failure,
    )
    routes = {}
    chosen = dict(archive.routes())
    if archive.sia1_url is not None:
        chosen["quicklook"] = "sia1-box"  # and sia1-files after the others
    for mode, route in chosen.items():
        url = archive.route_url(route)
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


def check_services(archive, timeout=10.0):
    """Ask each service of an IRSA archive whether it answers (1 or 2 requests each).

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
    archive : `~twomass_vo.archives.IrsaArchive`
        The archive (its session and service URLs).
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
    proxy = TimeoutProxy(archive.session, timeout)

    def record(name, url, call):
        try:
            detail = call()
            results[name] = EndpointStatus(url=url, ok=True, detail=detail)
        except (requests.RequestException, ArchiveError) as exc:
            results[name] = endpoint_failure(url, exc)

    def sia():
        from pyvo.dal import SIA2Query
        from pyvo.dal.exceptions import DALAccessError

        query = SIA2Query(archive.sia_query_url, session=proxy)
        if archive.collection is not None:
            query["COLLECTION"] = archive.collection
        query.maxrec = 0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = query.execute()
        except DALAccessError as exc:
            raise ArchiveError(str(exc)) from exc
        return f"{len(result.fieldnames)} columns in the metadata answer"

    def tap():
        session, archive.session = archive.session, proxy
        try:
            found = archive.discover_table()
        finally:
            archive.session = session
        return found.reason

    def ibe():
        response = proxy.get(archive.ibe_url, params={"FORMAT": "METADATA"})
        if response.status_code != 200:
            raise ArchiveError(
                f"HTTP {response.status_code}: {response.text.strip()[:200]}"
            )
        # only the names matter here: a description's non-ASCII letter
        # (read strictly, an error) is one '?' of the same width
        text = answer_text(response.content).encode("ascii", "replace")
        table = parse_ipac(text, archive.ibe_url)
        names = {str(n).lower() for n in table[table.colnames[0]]}
        corners = {"ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4"}
        missing = [c for c in IBE_COLUMNS if c not in names and c not in corners]
        if missing:
            raise ArchiveError(f"columns missing: {', '.join(missing)}")
        return f"{len(table)} columns, all {len(IBE_COLUMNS) - 8} needed ones"

    def data():
        response = proxy.get(archive.data_url_root)
        if response.status_code >= 400:
            raise ArchiveError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

    def sia1():
        payload = sia1_search(
            archive.sia1_url,
            pos=(10.6847, 41.2690),
            size=0.01,
            image_type="quicklook",
            dataset=archive.sia1_dataset,
        )
        table = run_sia1(
            proxy, payload, unreachable=lambda url, exc: ArchiveError(str(exc))
        )
        rows, _, _ = sia1_file_rows(table, archive.sia1_url, cgi_url=archive.sia1_url)
        return f"{len(rows['dhs'])} Quicklook file(s) listed at M31"

    if archive.sia_url is not None:
        record("sia", archive.sia_query_url, sia)
    record("tap", archive.tap_url, tap)
    if archive.ibe_url is not None:
        record("ibe", archive.ibe_url, ibe)
    record("data", archive.data_url_root, data)
    if archive.sia1_url is not None:
        record("sia1", archive.sia1_url, sia1)
    return results
