# Licensed under a 3-clause BSD style license - see LICENSE
"""What a VO archive is configured with, and whether its endpoints answer.

`ArchiveDiagnostics` gives `~twomass_vo.archives.VOArchive` its
``describe`` (endpoints, table, columns, thresholds) and ``check`` (one
request per endpoint); `EndpointStatus` is what ``check`` found at one
endpoint (`endpoint_failure`: of one whose request failed).
`~twomass_vo.archives.irsa.diagnostics.describe_routes` adds the routes of
`~twomass_vo.archives.IrsaArchive`.
"""

import warnings

import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.units import UnitsWarning

from ..._http.deadline import positive_seconds
from ..._http.vo_session import TimeoutProxy
from ...exceptions import ArchiveError

__all__ = ["ArchiveDiagnostics", "EndpointStatus", "endpoint_failure"]


class EndpointStatus(dict):
    """What `VOArchive.check` found at one endpoint: true if it answers.

    A `dict` with ``url`` (str), ``ok`` (bool), ``detail`` (str: what the
    endpoint answered, or the error) and, for an endpoint that cannot be
    reached, ``cause`` (the failure in words, e.g. ``cannot reach
    127.0.0.1: connection refused``); its truth value is ``ok``, so
    ``all(archive.check().values())`` says whether every endpoint answers.
    """

    def __bool__(self):
        return bool(self.get("ok"))


def endpoint_failure(url, exc):
    """Return the `EndpointStatus` of an endpoint whose request raised ``exc``.

    Parameters
    ----------
    url : str
        The endpoint.
    exc : Exception
        What its request raised (its network cause, if any, in one line).
    """
    from ..._http.network_errors import network_failure

    failure = network_failure(exc, url=url)
    return EndpointStatus(
        url=url,
        ok=False,
        detail=f"{type(exc).__name__}: {exc}",
        cause=None if failure is None else failure.line,
    )


class ArchiveDiagnostics:
    """``describe`` and ``check`` of `~twomass_vo.archives.VOArchive` (a mixin)."""

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
            upload=self.upload
            if self.upload is not None
            else self.tap.upload_capability,
            upload_threshold=self.upload_threshold,
            async_threshold=self.async_threshold,
            chunk_size=self.chunk_size,
            maxrec=self.maxrec,
            sia_maxrec=self.sia_maxrec,
            sia_capabilities=self.sia_capabilities,
            resolve_coadd_keys=self.resolve_coadd_keys,
            cached_sets=len(self.sets),
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

        timeout = positive_seconds(timeout, "timeout")
        results = {}

        def record(name, url, call):
            try:
                with warnings.catch_warnings():
                    for category in (DALOverflowWarning, VOWarning, UnitsWarning):
                        warnings.simplefilter("ignore", category)
                    detail = call()
                results[name] = EndpointStatus(url=url, ok=True, detail=detail)
            except (DALAccessError, requests.RequestException, ArchiveError) as exc:
                results[name] = endpoint_failure(url, exc)

        def sia():
            proxy = TimeoutProxy(self.session, timeout)
            self.sia.resolve(proxy)
            query = SIA2Query(self.sia_query_url, session=proxy)
            if self.collection is not None:
                query["COLLECTION"] = self.collection
            query.maxrec = 0
            result = query.execute()
            return f"{len(result.fieldnames)} columns in the metadata answer"

        def tap():
            query = f"SELECT TOP 1 {self.queries.select()} FROM {self.table} AS i"
            service = TAPService(
                self.tap_url, session=TimeoutProxy(self.session, timeout)
            )
            result = service.run_sync(query, maxrec=1)
            return f"{len(result)} row(s) from {self.table}"

        def datalink():
            response = TimeoutProxy(self.session, timeout).get(self.datalink_url)
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
