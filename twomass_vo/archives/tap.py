# Licensed under a 3-clause BSD style license - see LICENSE
"""TAP execution: running the archive's requests, sync or async, with uploads.

`TapExecution` is the part of `~twomass_vo.archives.vo.VOArchive` that runs
one request (a TAP query, synchronous or asynchronous, with its uploaded
tables; or an SIA v2 request through `~twomass_vo.archives.sia.run_sia_query`),
turns service and transport errors into `~twomass_vo.exceptions.ArchiveError`,
refuses truncated answers, and probes once whether the TAP service takes
uploads.
"""

import contextlib
import time
import warnings

import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.units import UnitsWarning

from ..exceptions import ArchiveError
from ..http_deadline import time_limit
from .sia import run_sia_query
from .vo_session import read_capabilities

__all__ = ["TapExecution"]

#: UWS phases after which a job does not change any more.
_FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED", "ARCHIVED")


class TapExecution:
    """Request execution of `~twomass_vo.archives.vo.VOArchive` (a mixin).

    Reads the archive's ``session``, ``timeout``, ``async_timeout``,
    ``tap_url`` and ``upload`` settings.
    """

    def _execute(self, payload):
        """Run one payload; return its rows as a `~astropy.table.Table`."""
        from pyvo.dal import TAPService
        from pyvo.dal.exceptions import DALAccessError, DALOverflowWarning

        url = payload["url"]
        kind = "SIA v2" if payload["service"] == "sia" else "TAP"
        try:
            with warnings.catch_warnings():
                for category in (DALOverflowWarning, VOWarning, UnitsWarning):
                    warnings.simplefilter("ignore", category)
                if payload["service"] == "sia":
                    maxrec = int(payload["params"]["MAXREC"])
                    results = run_sia_query(self.session, url, payload["params"])
                else:
                    maxrec = payload["maxrec"]
                    uploads = payload["uploads"] or None
                    if payload["mode"] == "async":
                        results = self._run_async(
                            url, payload["query"], maxrec, uploads
                        )
                    else:
                        service = TAPService(url, session=self.session)
                        results = service.run_sync(
                            payload["query"], maxrec=maxrec, uploads=uploads
                        )
                table = results.to_table()
        except DALAccessError as exc:
            if isinstance(getattr(exc, "cause", None), ArchiveError):
                raise exc.cause from exc  # a limit of the session: says it all
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

    def _run_async(self, url, query, maxrec, uploads):
        """Run an asynchronous TAP job within ``async_timeout`` seconds in all.

        Creation, polling (every 0.25 s, growing to 5 s) and the result are
        bounded by `~twomass_vo.archives.http_session.time_limit`; the job is
        deleted afterwards in any case (best effort).
        """
        from pyvo.dal import AsyncTAPJob
        from pyvo.dal.exceptions import DALServiceError

        job = None
        try:
            with time_limit(self.async_timeout):
                end = time.monotonic() + self.async_timeout
                job = AsyncTAPJob.create(
                    url, query, maxrec=maxrec, uploads=uploads, session=self.session
                )
                job.run()
                interval = 0.25
                while (phase := job.phase) not in _FINAL_PHASES:
                    time.sleep(max(min(interval, end - time.monotonic()), 0.0))
                    if time.monotonic() >= end:
                        raise ArchiveError(
                            f"TAP job {job.url} is still {phase} after "
                            f"{self.async_timeout:g} s (async_timeout): given up"
                        )
                    interval = min(interval * 1.5, 5.0)
                job.raise_if_error()
                return job.fetch_result()
        finally:
            if job is not None:
                with (
                    time_limit(min(self.timeout, 30.0)),
                    contextlib.suppress(
                        ArchiveError, DALServiceError, requests.RequestException
                    ),
                ):
                    job.delete()

    @staticmethod
    def _error_message(kind, url, exc):
        reason = str(exc) or type(exc).__name__
        cause = getattr(exc, "cause", None)
        response = getattr(cause, "response", None)
        if response is not None and response.text and response.text not in reason:
            reason = f"{reason}: {response.text.strip()[:500]}"
        where = getattr(exc, "url", None) or url
        return f"{kind} query to {where} failed ({type(exc).__name__}): {reason}"

    def _resolve_uploads(self):
        """Learn once whether the TAP service takes uploads (``upload=None``)."""
        if self.upload is None and self._upload_capability is None:
            self._upload_capability = self._probe_uploads()

    def _probe_uploads(self):
        """Whether the TAP service lists inline uploads (True if unknown)."""
        from pyvo.io.vosi.tapregext import TableAccess

        capabilities = read_capabilities(self.session, self.tap_url, self.timeout)
        access = [c for c in capabilities if isinstance(c, TableAccess)]
        if not access:
            return True
        return any(
            "upload-inline" in str(m.ivo_id or "")
            for c in access
            for m in c.uploadmethods
        )
