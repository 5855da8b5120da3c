# Licensed under a 3-clause BSD style license - see LICENSE
"""The requests an archive sends, as small frozen objects, and where they run.

The ``payload_*`` methods of the archives (astroquery's
``get_query_payload``) return plain dicts, ``{"service": ..., "url": ...,
...}``; inside an archive each request is one of the frozen dataclasses
here (`SiaRequest`, `TapRequest`; IRSA adds
`~twomass_vo.archives.irsa.requests.IbeRequest` and
`~twomass_vo.archives.irsa.requests.Sia1Request`), whose ``as_payload()``
gives back exactly that dict. `as_request` turns a payload into its request,
given the request classes the archive sends (its ``request_kinds``; the one
place that reads ``"service"``), and `execute` runs a request: one
function per request class (``functools.singledispatch``), so an archive never
branches on a service name. `position_index` reads which position each row
of an answer belongs to.
"""

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from ...exceptions import ArchiveError
from .adql import POS_IDX
from .answer_values import uploaded_index
from .file_rows import find_column
from .tap import answer_table

__all__ = [
    "Request",
    "SiaRequest",
    "TapRequest",
    "as_request",
    "execute",
    "position_index",
]


class Request:
    """The base of the request classes: ``as_payload`` and ``from_payload``.

    Optional fields (default None) are left out of the payload while None,
    as the payload builders leave those keys out.
    """

    service: ClassVar[str] = ""

    def as_payload(self):
        """Return the request as the dict the ``payload_*`` methods show.

        Returns
        -------
        payload : dict
            ``{"service": ..., "url": ..., ...}``: a new dict on each call
            (its values are shared, not copied).
        """
        payload = {"service": self.service}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue
            payload[field.name] = value
        return payload

    @classmethod
    def from_payload(cls, payload):
        """Make the request of a payload dict (its ``"service"`` aside).

        Parameters
        ----------
        payload : dict
            A payload with this class's ``service``.
        """
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = set(payload) - names - {"service"}
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no field {', '.join(sorted(unknown))}"
            )
        return cls(**{k: v for k, v in payload.items() if k != "service"})


@dataclasses.dataclass(frozen=True, eq=False)
class SiaRequest(Request):
    """One SIA v2 query (`~twomass_vo.archives.vo.sia2.SiaClient.circle`).

    Parameters
    ----------
    url : str
        The query endpoint.
    params : dict
        ``POS``, ``COLLECTION`` (if any) and ``MAXREC``.
    route : str, optional
        The route it belongs to (IRSA's archive tags its requests).
    """

    service: ClassVar[str] = "sia"
    url: str
    params: dict
    route: Any = None

    @property
    def maxrec(self):
        """The ``MAXREC`` sent (int)."""
        return int(self.params["MAXREC"])


@dataclasses.dataclass(frozen=True, eq=False)
class TapRequest(Request):
    """One TAP query: synchronous or asynchronous, with or without uploads.

    Parameters
    ----------
    url : str
        The TAP base URL.
    query : str
        The ADQL query (`~twomass_vo.archives.vo.adql.AdqlBuilder`).
    uploads : dict
        Uploaded tables by name (`~astropy.table.Table`); empty: none.
    maxrec : int
        ``MAXREC``.
    mode : {'sync', 'async'}
        How the query runs.
    format : str, optional
        Answer format asked for (``csv``: a (position, coadd_key) pairs query).
    columns : tuple of str, optional
        The integer columns of a ``csv`` answer.
    route : str, optional
        The route it belongs to (IRSA's archive tags its requests).
    """

    service: ClassVar[str] = "tap"
    url: str
    query: str
    uploads: dict
    maxrec: int
    mode: str
    format: Any = None
    columns: Any = None
    route: Any = None


def as_request(payload, kinds):
    """Return the request of a payload (a request is returned as it is).

    Parameters
    ----------
    payload : dict or request
        A dict from a ``payload_*`` method, or a request object.
    kinds : sequence of type
        The request classes that may answer: the ``request_kinds`` of the
        archive that made the payload; the one whose ``service`` is
        ``payload["service"]`` is used.

    Returns
    -------
    request
        An instance of that class.

    Raises
    ------
    ValueError
        No class of ``kinds`` serves ``payload["service"]``, or the payload
        has a key the class has no field for.
    """
    if isinstance(payload, Request):
        return payload
    service = payload.get("service")
    for kind in kinds:
        if kind.service == service:
            return kind.from_payload(payload)
    raise ValueError(f"no request class for service {service!r}")


@functools.singledispatch
def execute(request, archive):
    """Run one request through ``archive``'s services; return its rows.

    One function per request class (``functools.singledispatch``);
    `SiaRequest` and `TapRequest` here, IRSA's in
    `twomass_vo.archives.irsa.archive`.

    Parameters
    ----------
    request : request
        A `SiaRequest`, `TapRequest`, ...
    archive : `~twomass_vo.archives.VOArchive`
        Its ``sia`` and ``tap`` services (and session) are used.

    Returns
    -------
    table : `~astropy.table.Table`
    """
    raise TypeError(f"no way to run a {type(request).__name__}")


@execute.register
def _(request: SiaRequest, archive):
    return answer_table(
        "SIA v2",
        request.url,
        request.maxrec,
        lambda: archive.sia.run(request.as_payload()),
    )


@execute.register
def _(request: TapRequest, archive):
    return archive.tap.run(request.as_payload())


def position_index(request, table, i):
    """Return the position each answer row belongs to (a position look-up).

    Parameters
    ----------
    request : request
        The request answered: a `TapRequest` with the positions uploaded
        (their ``pos_idx`` is echoed back), or a request of one position.
    table : `~astropy.table.Table`
        Its answer.
    i : int
        The request's position (a request of one position).

    Returns
    -------
    index : ndarray of int
        The index of each row's position among the look-up's.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        If an upload's answer lacks ``pos_idx`` or echoes an index that was
        not uploaded.
    """
    if not (isinstance(request, TapRequest) and request.uploads):
        return np.full(len(table), i, np.int64)
    index = find_column(table, POS_IDX)
    if index is None:
        if len(table):
            raise ArchiveError(
                f"TAP answer from {request.url} lacks the uploaded {POS_IDX} column"
            )
        return np.zeros(0, np.int64)
    (uploaded,) = request.uploads.values()
    return uploaded_index(index, uploaded[POS_IDX], request.url, POS_IDX)
