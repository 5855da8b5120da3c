# Licensed under a 3-clause BSD style license - see LICENSE
"""IRSA's own requests: IBE searches and SIA v1 CGI queries, as frozen objects.

The companions of `~twomass_vo.archives.vo.requests.SiaRequest` and
`~twomass_vo.archives.vo.requests.TapRequest`; their ``as_payload()`` is the
dict of `~twomass_vo.archives.irsa.ibe.ibe_search`,
`~twomass_vo.archives.irsa.ibe.ibe_upload` and
`~twomass_vo.archives.irsa.sia1.sia1_search` (with the ``route`` and
``members`` that `~twomass_vo.archives.IrsaArchive` adds). They are run by
`~twomass_vo.archives.IrsaArchive` (one method per request class).
"""

import dataclasses
from typing import Any, ClassVar

from ..vo.requests import Request

__all__ = ["IbeRequest", "Sia1Request"]


@dataclasses.dataclass(frozen=True, eq=False)
class IbeRequest(Request):
    """One IBE search: a GET (``POS`` / ``where``) or a POST of positions.

    Parameters
    ----------
    url : str
        The IBE search URL.
    method : {'GET', 'POST'}
        How it is sent.
    params : dict
        The search's parameters.
    upload : str, optional
        POST: the IPAC table of positions sent as the ``POS`` file.
    rows : tuple of int, optional
        POST: the (start, stop) range of the positions among the look-up's.
    positions : tuple of ndarray, optional
        POST: the positions sent, ``(ra, dec)``.
    route : str, optional
        The route it belongs to.
    """

    service: ClassVar[str] = "ibe"
    url: str
    method: str
    params: dict
    upload: Any = None
    rows: Any = None
    positions: Any = None
    route: Any = None


@dataclasses.dataclass(frozen=True, eq=False)
class Sia1Request(Request):
    """One query of IRSA's 2MASS image CGI (SIA v1, a GET).

    Parameters
    ----------
    url : str
        The CGI.
    method : str
        ``GET``.
    params : dict
        ``POS``, ``SIZE``, ``type`` and ``ds``.
    members : ndarray of int, optional
        The positions of the look-up that the request's box holds
        (route ``sia1-groups``).
    route : str, optional
        The route it belongs to.
    """

    service: ClassVar[str] = "sia1"
    url: str
    method: str
    params: dict
    members: Any = None
    route: Any = None
