# Licensed under a 3-clause BSD style license - see LICENSE
"""TAP execution: running the archive's requests, sync or async, with uploads.

`TapClient` is the TAP service of a `~twomass_vo.archives.VOArchive`
(``archive.tap``): it runs one query (synchronous or asynchronous, with its
uploaded tables) and probes once whether the service takes uploads;
`answer_table` turns service and transport errors of a TAP or SIA v2
request into `~twomass_vo.exceptions.ArchiveError` (`request_failure`) and
refuses truncated answers.

Uploaded tables are sent as BINARY2 VOTables (`binary2_upload`): about 28
bytes per uploaded position instead of ~100 in TABLEDATA, so that 12,000
positions stay under DaCHS's default limit of 500 kB for synchronous uploads.

`TapClient.run_integers` runs a query whose answer is a few integer
columns (the (position, set) pairs of the two-step position look-up) and
reads it as CSV (``RESPONSEFORMAT=csv``) with one vectorised parse instead
of a VOTable (`read_integer_answer`); services that answer VOTable anyway
are read as VOTable.
"""

import base64
import contextlib
import io
import time
import warnings
from xml.sax.saxutils import quoteattr

import numpy as np
import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.table import Table
from astropy.units import UnitsWarning

from ..._http.deadline import time_limit
from ..._http.vo_session import read_capabilities
from ...exceptions import ArchiveError
from .answer_values import service_value_error
from .file_rows import find_column

__all__ = [
    "TapClient",
    "answer_table",
    "binary2_upload",
    "read_integer_answer",
    "request_failure",
]


#: VOTable datatype of each numpy (kind, itemsize) written by `binary2_upload`.
_VOTABLE_TYPES = {
    ("i", 2): "short",
    ("i", 4): "int",
    ("i", 8): "long",
    ("f", 4): "float",
    ("f", 8): "double",
}


def binary2_upload(table):
    """Return ``table`` as a BINARY2 VOTable document (a file object).

    Integer, float and fixed-width byte-string columns without masks are
    written with one vectorised pass (big-endian records behind one null-flag
    byte per 8 columns, base64); other tables go through astropy's writer.

    Parameters
    ----------
    table : `~astropy.table.Table` or file-like
        An upload; file objects are returned as they are.
    """
    if not isinstance(table, Table):
        return table
    n_flags = (len(table.colnames) + 7) // 8
    fields, layout = [], [("_null_flags", "u1", (n_flags,))]
    for name in table.colnames:
        column = table[name]
        kind, size = column.dtype.kind, column.dtype.itemsize
        if getattr(column, "mask", None) is not None and np.any(column.mask):
            return _astropy_binary2(table)
        if kind == "S":
            fields.append(
                f'<FIELD name={quoteattr(name)} datatype="char" arraysize="{size}"/>'
            )
            layout.append((name, f"S{size}"))
        elif (kind, size) in _VOTABLE_TYPES:
            datatype = _VOTABLE_TYPES[(kind, size)]
            fields.append(f'<FIELD name={quoteattr(name)} datatype="{datatype}"/>')
            layout.append((name, f">{kind}{size}"))
        else:
            return _astropy_binary2(table)
    records = np.zeros(len(table), dtype=layout)
    for name in table.colnames:
        records[name] = np.asarray(table[name])
    stream = base64.b64encode(records.tobytes())
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        '<RESOURCE type="results"><TABLE>\n' + "\n".join(fields) + "\n"
        '<DATA><BINARY2><STREAM encoding="base64">'
    )
    tail = "</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>\n"
    return io.BytesIO(head.encode() + stream + tail.encode())


def _astropy_binary2(table):
    from astropy.io.votable import from_table

    votable = from_table(table)
    votable.get_first_table().format = "binary2"
    out = io.BytesIO()
    votable.to_xml(out)
    out.seek(0)
    return out


def _csv_integers(body, names, url):
    """Integer columns ``names`` of a CSV document (header line first)."""
    head, _, data = body.partition(b"\n")
    header = [
        h.strip().strip(b'"').decode("ascii", "replace").lower()
        for h in head.split(b",")
    ]
    if header != [n.lower() for n in names]:
        raise ArchiveError(
            f"TAP answer from {url}: CSV columns {header!r}, expected {list(names)!r}"
        )
    if not data.strip():
        return [np.zeros(0, np.int64) for _ in names]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. numpy's "empty input"
            values = np.loadtxt(
                io.BytesIO(data), delimiter=",", dtype=np.int64, ndmin=2
            )
    except (ValueError, UserWarning) as exc:
        raise ArchiveError(
            f"TAP answer from {url}: a value is not an integer ({exc})"
        ) from None
    if values.shape[1] != len(names):
        raise ArchiveError(
            f"TAP answer from {url}: {values.shape[1]} columns, expected {len(names)}"
        )
    return [values[:, k] for k in range(len(names))]


def _integer_column(column, name, url):
    """Return an answer's column as int64; ArchiveError at its first bad value.

    A null, a fraction or a non-number is bad; a floating-point column of
    whole numbers is accepted (a service may type an integer as double).
    """
    data = np.ma.getdata(column)
    bad = np.ma.getmaskarray(column).copy()
    if data.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad |= ~np.isfinite(data) | (data != np.round(data))
            bad |= np.abs(data) > 2**62
    elif data.dtype.kind not in "iu":
        bad[:] = True
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise service_value_error(
            f"TAP answer from {url}", row, name, column[row], "is not an integer"
        )
    return np.asarray(data, np.int64)


def _raise_for_status(response, url):
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise ArchiveError(f"TAP request to {url} failed: {exc}") from exc


def read_integer_answer(response, url, names, maxrec):
    """Integer columns of a TAP answer: CSV, or VOTable if the service says so.

    Parameters
    ----------
    response : `requests.Response`
        The answer (read).
    url : str
        Where it came from (for messages).
    names : sequence of str
        The columns, in the order of the select list.
    maxrec : int
        The ``MAXREC`` of the request: an answer of that many rows is
        truncated.

    Returns
    -------
    columns : list of ndarray of int64

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For an error document or HTTP error, a truncated answer, other
        columns than ``names``, or a value that is not an integer (NULL
        included), naming the URL, the row and the value.
    """
    from pyvo.dal import TAPResults
    from pyvo.dal.exceptions import DALAccessError

    body = response.content
    ctype = response.headers.get("Content-Type", "").lower()
    if response.status_code == 200 and "csv" in ctype:
        columns = _csv_integers(body, names, url)
        overflow = False
    elif body.lstrip()[:1] == b"<" and "html" not in ctype:
        from astropy.io.votable import parse

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VOWarning)
                warnings.simplefilter("ignore", UnitsWarning)
                results = TAPResults(parse(io.BytesIO(body)), url=url)
        except DALAccessError as exc:
            raise ArchiveError(_error_message("TAP", url, exc)) from exc
        except ValueError as exc:
            raise ArchiveError(
                f"TAP answer from {url} is not a VOTable: {exc}"
            ) from exc
        _raise_for_status(response, url)
        table = results.to_table()
        columns = []
        for name in names:
            column = find_column(table, name)
            if column is None:
                raise ArchiveError(
                    f"TAP answer from {url} lacks the {name} column "
                    f"(columns: {', '.join(table.colnames)})"
                )
            columns.append(_integer_column(column, name, url))
        overflow = str(results.status[0]).lower() == "overflow"
    else:
        _raise_for_status(response, url)
        raise ArchiveError(
            f"TAP answer from {url} is neither CSV nor VOTable "
            f"(Content-Type {ctype or 'unset'!r})"
        )
    rows = len(columns[0]) if columns else 0
    if overflow or rows >= maxrec:
        raise ArchiveError(
            f"TAP answer from {url} was truncated at {rows} rows "
            f"(MAXREC={maxrec}): ask for fewer inputs, or raise the archive's maxrec"
        )
    return columns


#: UWS phases after which a job does not change any more.
_FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED", "ARCHIVED")


def answer_table(kind, url, maxrec, run):
    """Run one request; return its rows, or raise an ArchiveError.

    Parameters
    ----------
    kind : str
        ``TAP`` or ``SIA v2`` (for the messages).
    url : str
        The service URL (for the messages).
    maxrec : int
        The request's ``MAXREC``: an answer that reaches it is truncated.
    run : callable
        Runs the request; returns pyvo's results.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        For a server or transport error (`request_failure`) or a truncated
        answer: a truncated candidate list would silently lose images.
    """
    from pyvo.dal.exceptions import DALAccessError, DALOverflowWarning

    try:
        with warnings.catch_warnings():
            for category in (DALOverflowWarning, VOWarning, UnitsWarning):
                warnings.simplefilter("ignore", category)
            results = run()
            table = results.to_table()
    except DALAccessError as exc:
        if isinstance(getattr(exc, "cause", None), ArchiveError):
            raise exc.cause from exc  # a limit of the session: says it all
        raise request_failure(kind, url, exc) from exc
    except requests.RequestException as exc:
        raise request_failure(kind, url, exc) from exc
    status = str(results.status[0]).lower()
    if status == "overflow" or len(table) >= maxrec:
        raise ArchiveError(
            f"{kind} answer from {url} was truncated at {len(table)} rows "
            f"(MAXREC={maxrec}): ask for a smaller region or fewer inputs, or "
            "raise the archive's maxrec / sia_maxrec"
        )
    return table


def request_failure(kind, url, exc):
    """Return the error of a failed request: unreachable (one line), or not.

    A network failure (pyvo reports a refused connection as a
    ``DALFormatError``) is an `~twomass_vo.exceptions.ArchiveUnreachableError`
    naming the host and the cause; anything else keeps the service's text.

    Parameters
    ----------
    kind : str
        The service kind (``TAP``, ``SIA v2``).
    url : str
        The URL asked.
    exc : Exception
        What the request raised.
    """
    from ..._http.network_errors import unreachable_error

    where = getattr(exc, "url", None) or url
    unreachable = unreachable_error(f"{kind} service", where, exc)
    if unreachable is not None:
        return unreachable
    if isinstance(exc, requests.RequestException):
        return ArchiveError(f"{kind} request to {url} failed: {exc}")
    return ArchiveError(_error_message(kind, url, exc))


def _error_message(kind, url, exc):
    reason = str(exc) or type(exc).__name__
    cause = getattr(exc, "cause", None)
    response = getattr(cause, "response", None)
    if response is not None and response.text and response.text not in reason:
        reason = f"{reason}: {response.text.strip()[:500]}"
    where = getattr(exc, "url", None) or url
    reason = " ".join(reason.split())  # one line (an HTML page has many)
    return f"{kind} query to {where} failed ({type(exc).__name__}): {reason}"


class TapClient:
    """A TAP service: running queries, sync or async, with uploads.

    Held by `~twomass_vo.archives.VOArchive` as ``archive.tap``, as pyvo's
    `~pyvo.dal.TAPService` holds a base URL; whether the service takes
    uploads is read from its capabilities on first need
    (`resolve_uploads`).

    Parameters
    ----------
    url : str
        The TAP base URL (queries go to ``/sync`` and ``/async``).
    session : `requests.Session`
        The session that sends every request (the archive's).
    timeout : float
        Time limit in seconds of each request.
    async_timeout : float
        Time limit in seconds of an asynchronous job, polls included.
    upload : bool or None, optional
        Whether the service takes uploads; None: read its capabilities.
    """

    def __init__(self, url, session, timeout, async_timeout, *, upload=None):
        self.url = url
        self.session = session
        self.timeout = timeout
        self.async_timeout = async_timeout
        self.upload = upload
        #: What the capabilities said about uploads (None: not read yet).
        self.upload_capability = None

    def run(self, payload):
        """Run one TAP payload; return its rows as a `~astropy.table.Table`.

        Parameters
        ----------
        payload : dict
            ``{"service": "tap", "url", "query", "uploads", "maxrec",
            "mode"}`` (see `~twomass_vo.archives.vo.adql`).
        """
        from pyvo.dal import TAPService

        url = payload["url"]
        maxrec = payload["maxrec"]

        def run():
            uploads = {
                name: binary2_upload(value)
                for name, value in payload["uploads"].items()
            } or None
            if payload["mode"] == "async":
                return self._run_async(url, payload["query"], maxrec, uploads)
            service = TAPService(url, session=self.session)
            return service.run_sync(payload["query"], maxrec=maxrec, uploads=uploads)

        return answer_table("TAP", url, maxrec, run)

    @contextlib.contextmanager
    def _completed_job(self, url, query, maxrec, uploads, **params):
        """Run an asynchronous TAP job; yield it completed, within ``async_timeout``.

        Creation, polling (every 0.25 s, growing to 5 s) and whatever the
        caller does with the job inside the ``with`` block (fetching its
        result) are bounded by `~twomass_vo._http.deadline.time_limit`
        (pyvo's own wait has no overall limit); the job is deleted afterwards
        in any case (best effort). ``params`` are extra job parameters (e.g.
        ``RESPONSEFORMAT``).
        """
        from pyvo.dal import AsyncTAPJob
        from pyvo.dal.exceptions import DALServiceError

        job = None
        try:
            with time_limit(self.async_timeout):
                end = time.monotonic() + self.async_timeout
                job = AsyncTAPJob.create(
                    url,
                    query,
                    maxrec=maxrec,
                    uploads=uploads,
                    session=self.session,
                    **params,
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
                yield job
        finally:
            if job is not None:
                with (
                    time_limit(min(self.timeout, 30.0)),
                    contextlib.suppress(
                        ArchiveError, DALServiceError, requests.RequestException
                    ),
                ):
                    job.delete()

    def _run_async(self, url, query, maxrec, uploads):
        """Run an asynchronous TAP job within ``async_timeout``; return its results."""
        with self._completed_job(url, query, maxrec, uploads) as job:
            return job.fetch_result()

    def run_integers(self, payload, names):
        """Run a TAP payload whose answer is integer columns ``names``.

        Asks for ``payload["format"]`` (CSV), synchronously or as an
        asynchronous job (bounded and deleted as `_completed_job` says),
        uploads as BINARY2; the answer is read by `read_integer_answer`.
        """
        from pyvo.dal.exceptions import DALAccessError
        from pyvo.dal.tap import TAPQuery

        url = payload["url"]
        uploads = {k: binary2_upload(v) for k, v in payload["uploads"].items()}
        maxrec = payload["maxrec"]
        try:
            if payload["mode"] == "async":
                with self._completed_job(
                    url,
                    payload["query"],
                    maxrec,
                    uploads or None,
                    RESPONSEFORMAT=payload["format"],
                ) as job:
                    where = job.result_uri
                    response = self.session.get(where)
            else:
                query = TAPQuery(
                    url,
                    payload["query"],
                    mode="sync",
                    maxrec=maxrec,
                    uploads=uploads or None,
                    session=self.session,
                    RESPONSEFORMAT=payload["format"],
                )
                where = query.queryurl
                response = query.submit(post=True)
            return read_integer_answer(response, where, names, maxrec)
        except DALAccessError as exc:
            if isinstance(getattr(exc, "cause", None), ArchiveError):
                raise exc.cause from exc  # a limit of the session: says it all
            raise request_failure("TAP", url, exc) from exc
        except requests.RequestException as exc:
            raise request_failure("TAP", url, exc) from exc

    def resolve_uploads(self):
        """Learn once whether the TAP service takes uploads (``upload=None``)."""
        if self.upload is None and self.upload_capability is None:
            self.upload_capability = self._probe_uploads()

    @property
    def uploads_enabled(self):
        """Whether requests upload tables: ``upload``, else the capabilities.

        True while neither is known.
        """
        if self.upload is not None:
            return bool(self.upload)
        if self.upload_capability is not None:
            return self.upload_capability
        return True

    def _probe_uploads(self):
        """Whether the TAP service lists inline uploads (True if unknown)."""
        from pyvo.io.vosi.tapregext import TableAccess

        capabilities = read_capabilities(self.session, self.url, self.timeout)
        access = [c for c in capabilities if isinstance(c, TableAccess)]
        if not access:
            return True
        return any(
            "upload-inline" in str(m.ivo_id or "")
            for c in access
            for m in c.uploadmethods
        )
