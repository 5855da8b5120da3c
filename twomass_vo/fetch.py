# Licensed under a 3-clause BSD style license - see LICENSE
"""One HTTP(S) file, fetched with retries that respect the server (public path).

The code lives in `twomass_vo._http.fetch` and
`twomass_vo._http.retry_policy`; this module keeps the documented import
path ``twomass_vo.fetch.RetryPolicy``.
"""

from ._http.fetch import PERMANENT_500, Cancelled, FetchError, FetchResult, fetch
from ._http.retry_policy import RetryPolicy

__all__ = [
    "PERMANENT_500",
    "Cancelled",
    "FetchError",
    "FetchResult",
    "RetryPolicy",
    "fetch",
]
