# Licensed under a 3-clause BSD style license - see LICENSE
"""The replaceable resolver of object names.

Object names go to the ``resolver`` argument of
`~twomass_vo.inputs.coordinates.parse_coordinates`, else to the default resolver:
`resolve_name` (CDS Sesame through
`astropy.coordinates.SkyCoord.from_name`), unless replaced, for a block of
code or for good, with `use_resolver` (an
`astropy.utils.state.ScienceState`, `default_resolver`).  `resolve` applies a
resolver and turns its failures into
`~twomass_vo.exceptions.NameResolutionError`.  `twomass_vo.inputs.coordinates`
re-exports the public names.
"""

import urllib.error

from astropy.coordinates import (
    BaseCoordinateFrame,
    SkyCoord,
)
from astropy.utils.state import ScienceState

from .. import conf
from ..exceptions import NameResolutionError
from .coordinate_fields import to_icrs

__all__ = [
    "default_resolver",
    "resolve",
    "resolve_name",
    "use_resolver",
]


# ---------------------------------------------------------------------------
# Name resolution.


def resolve_name(name):
    """Resolve an object name to a position with CDS Sesame.

    This is the default resolver: it calls
    `astropy.coordinates.SkyCoord.from_name` (Sesame queries SIMBAD, NED and
    VizieR) with ``twomass_vo.conf.timeout`` as the network time limit.

    Parameters
    ----------
    name : str
        The object name, e.g. ``"m83"`` or ``"NGC 7479"``.

    Returns
    -------
    `~astropy.coordinates.SkyCoord`
        The position in ICRS.

    Raises
    ------
    `~twomass_vo.exceptions.NameResolutionError`
        If the name is unknown or Sesame cannot be reached (for example on an
        offline machine).
    """
    from astropy.utils.data import conf as data_conf

    try:
        with data_conf.set_temp("remote_timeout", conf.timeout):
            coord = SkyCoord.from_name(name)
    except Exception as err:
        raise NameResolutionError(_resolution_message(name, err)) from err
    return to_icrs(coord)


def _resolution_message(name, err):
    """Message of a failed name resolution (one short line for a network failure)."""
    from .._http.network_errors import network_failure

    failure = network_failure(err)
    if failure is not None:
        return f"could not resolve {name!r}: {failure.line} (offline?)"
    network = isinstance(err, (OSError, urllib.error.URLError)) or (
        "queries failed" in str(err)
    )
    hint = "(offline?)" if network else "(unknown name, or offline?)"
    reason = " ".join(str(err).split())
    if isinstance(err, LookupError) or not reason:
        # KeyError('m83') alone would read "could not resolve 'm83': 'm83'".
        reason = f"{type(err).__name__}: {reason}" if reason else type(err).__name__
    return f"could not resolve {name!r}: {reason} {hint}"


class default_resolver(ScienceState):
    """The resolver of object names used when no ``resolver`` is given.

    A callable ``str -> SkyCoord``; `None` (the default) means
    `resolve_name` (CDS Sesame).  Set it with ``default_resolver.set(func)``
    (or `use_resolver`): the new value holds until it is set again, or, when
    ``set`` is used in a ``with`` statement, until the block ends.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from twomass_vo.inputs.coordinates import default_resolver, parse_coordinates
    >>> known = {"m83": SkyCoord(204.25383, -29.86576, unit="deg")}
    >>> with default_resolver.set(known.__getitem__):
    ...     print(parse_coordinates("m83").to_string(precision=3))
    204.254 -29.866
    """

    _value = None

    @classmethod
    def get(cls):
        """Return the current resolver.

        Returns
        -------
        callable
            The resolver set last, or `resolve_name` if none is set.
        """
        # ``twomass_vo.inputs.name_resolver.resolve_name`` is looked up at call time, so
        # replacing the module attribute replaces the default too.
        return resolve_name if cls._value is None else cls._value

    @classmethod
    def validate(cls, value):
        """Check that ``value`` is a callable or `None` (meaning `resolve_name`).

        Parameters
        ----------
        value : callable or None
            The resolver.

        Returns
        -------
        callable or None
            ``value``.
        """
        if value is not None and not callable(value):
            raise TypeError(f"a resolver must be callable, not {type(value).__name__}")
        return value


def use_resolver(func):
    """Replace the default name resolver, in a ``with`` block or for good.

    ``with use_resolver(func): ...`` uses ``func`` for object names inside the
    block and restores the previous resolver after it; ``use_resolver(func)``
    alone keeps ``func`` until the next call.  ``use_resolver(None)`` goes
    back to `resolve_name`.

    Parameters
    ----------
    func : callable or None
        ``func(name) -> SkyCoord``; it may raise any exception for an unknown
        name, which `parse_coordinates` turns into
        `~twomass_vo.exceptions.NameResolutionError`.

    Returns
    -------
    context manager
        Restores the previous resolver on exit.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from twomass_vo.inputs.coordinates import parse_coordinates, use_resolver
    >>> with use_resolver(lambda name: SkyCoord(10, 20, unit="deg")):
    ...     print(parse_coordinates("my source").dec.deg)
    20.0
    """
    return default_resolver.set(func)


def resolve(name, resolver):
    """Resolve ``name`` with ``resolver`` (or the default), to ICRS."""
    func = resolver if resolver is not None else default_resolver.get()
    try:
        coord = func(name)
    except NameResolutionError:
        raise
    except Exception as err:
        raise NameResolutionError(_resolution_message(name, err)) from err
    if isinstance(coord, BaseCoordinateFrame) and coord.has_data:
        coord = SkyCoord(coord)
    if not isinstance(coord, SkyCoord):
        raise NameResolutionError(
            f"could not resolve {name!r}: the resolver returned "
            f"{type(coord).__name__}, not a SkyCoord"
        )
    return to_icrs(coord)
