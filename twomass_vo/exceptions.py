# Licensed under a 3-clause BSD style license - see LICENSE
"""Exceptions and warnings of `twomass_vo`.

The names follow `astroquery.exceptions`, and the classes are subclasses of
astroquery's too: code written for astroquery catches them as it catches
astroquery's own (``except astroquery.exceptions.InvalidQueryError:``), and
they stay the Python exceptions they were (`ValueError`, `RuntimeError`):

- `InvalidQueryError` and its subclasses `InputError` and
  `NameResolutionError`: a `ValueError` and an
  `astroquery.exceptions.InvalidQueryError`; `NameResolutionError` is also an
  `astroquery.exceptions.ResolverError`;
- `ArchiveError` and its subclasses `ArchiveUnreachableError` and
  `ServiceStatusError`: a `RuntimeError` and an
  `astroquery.exceptions.RemoteServiceError`;
- `NoResultsWarning`: an `astroquery.exceptions.NoResultsWarning`, hence an
  `~astropy.utils.exceptions.AstropyWarning`.
"""

from astropy.utils.exceptions import AstropyUserWarning
from astroquery import exceptions as _astroquery

__all__ = [
    "ArchiveError",
    "ArchiveUnreachableError",
    "DiameterClampedWarning",
    "InputError",
    "InvalidQueryError",
    "NameResolutionError",
    "NoResultsWarning",
    "NotFoundWarning",
    "QuicklookWarning",
    "ServiceStatusError",
]


class InvalidQueryError(ValueError, _astroquery.InvalidQueryError):
    """A query argument is invalid; raised before any network call.

    Also an `astroquery.exceptions.InvalidQueryError`.
    """


class InputError(InvalidQueryError):
    """A value of an input table (or a scalar input) is invalid.

    The message names the row, the column and the value, e.g.
    ``row 3, column 'xdate': '97084' is not a date in yymmdd format``.

    Parameters
    ----------
    message : str
        What is wrong with the value.
    row : int or None
        0-based row of the input table, or `None` for a scalar argument.
    column : str or None
        Name of the column (or argument).
    value : object
        The offending value, as given.
    """

    def __init__(self, message, *, row=None, column=None, value=None):
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            value = value.item()  # numpy scalar -> Python, for a readable repr
        self.row = row
        self.column = column
        self.value = value
        self.reason = message
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {value!r} {message}" if prefix else message)


class NameResolutionError(InvalidQueryError, _astroquery.ResolverError):
    """An object name could not be resolved to coordinates.

    Also an `astroquery.exceptions.ResolverError`.
    """


class ArchiveError(RuntimeError, _astroquery.RemoteServiceError):
    """An archive could not be opened or answered with an error.

    Also an `astroquery.exceptions.RemoteServiceError`.
    """


class ArchiveUnreachableError(ArchiveError):
    """An archive's services cannot be reached (no connection, no answer in time).

    Its message is one line naming the URL, the host and the cause; the
    command line exits with status 3.

    Parameters
    ----------
    message : str
        The one-line message.
    url : str, optional
        The URL that was asked.
    host : str, optional
        The host that could not be reached.
    why : str, optional
        What went wrong, in words: ``cannot resolve host``, ``connection
        refused``, ``timed out after 60 s``, ...
    detail : str, optional
        What the network layers said, in full (``twomass-vo -v`` prints it).
    """

    def __init__(self, message, *, url=None, host=None, why=None, detail=None):
        super().__init__(message)
        self.url = url
        self.host = host
        self.why = why
        self.detail = detail


class ServiceStatusError(ArchiveError):
    """A service answered a request with an HTTP error status.

    The service failed (an outage, a proxy error, a limit), not the values of
    the answer: an archive with another route for the same look-up may use
    it. The message names the URL, the status and the start of the answer.

    Parameters
    ----------
    message : str
        The message.
    status : int
        The HTTP status.
    """

    def __init__(self, message, *, status):
        super().__init__(message)
        self.status = status


class NoResultsWarning(_astroquery.NoResultsWarning):
    """A query found nothing; the result is an empty table with the full schema.

    An `astroquery.exceptions.NoResultsWarning`, hence an
    `~astropy.utils.exceptions.AstropyWarning`.
    """


class DiameterClampedWarning(AstropyUserWarning):
    """A region diameter outside [0.05, 7] deg was clamped into that range."""


class QuicklookWarning(AstropyUserWarning):
    """Quicklook images are lossy-compressed: use Atlas images for photometry."""


class NotFoundWarning(AstropyUserWarning):
    """Some input rows found no image (a key or scan the archive lacks).

    Those rows are not dropped silently: the result lists them in its
    ``not_found`` table (`twomass_vo.ImageTable.not_found`) with the reason.
    """
