# Licensed under a 3-clause BSD style license - see LICENSE
"""What the query methods of `~twomass_vo.TwoMassBatch` are made of.

`twomass_vo.core` keeps the class and its six query methods, which validate
their arguments, ask the planner and record the query; the pieces they share
live here:

- `class_or_instance`, the descriptor that lets a query method run on the
  class too (astroquery's habit), and `document_query_method`, which writes
  the parameters every method shares (bands, image type,
  ``get_query_payload`` and what it returns) into its docstring;
- `square_region`, the square of the ``width=`` option (`MIN_WIDTH` to
  `MAX_WIDTH` degrees);
- `region_text`, `source_text` and `size_text`: the values a result records
  in its metadata (`~twomass_vo.results.query_metadata.record_query`).
"""

import functools
import types
from pathlib import Path

from .planner import MAX_DIAMETER, MIN_DIAMETER

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "class_or_instance",
    "document_query_method",
    "region_text",
    "size_text",
    "source_text",
    "square_region",
]

# The parameters every query method shares (``{common}`` in their docstrings).
_COMMON = """
        band : {'all', 'J', 'H', 'Ks'}, optional
            Band(s) to retrieve (any case; ``K`` for ``Ks``). Default all three.
        image_type : {'atlas', 'quicklook'}, optional
            Atlas images (default), or Quicklook images: lossy hcompress copies
            of the Atlas images, for finding charts and positions only (a
            `~twomass_vo.exceptions.QuicklookWarning` says so)."""
# ``get_query_payload`` and the Returns section (``{returns}``).
_RETURNS = """
        get_query_payload : bool, optional
            Return the requests the query would send, without sending any
            (validation still runs): a list of dicts, one per request, with
            ``service`` (``'sia'`` or ``'tap'``), ``url``, and ``params`` (SIA)
            or ``query`` (ADQL) and ``uploads`` (name -> Table). Local archives
            send no requests: an empty list.

        Returns
        -------
        table : `~twomass_vo.ImageTable` or list of dict
            One row per image file; rows load lazily (``table[0].open()``). An
            empty result is an empty table with the full schema and a
            `~twomass_vo.exceptions.NoResultsWarning`. With
            ``get_query_payload=True``, the list of requests."""


def region_text(shape):
    """Return the search region as an s_region string (CIRCLE or POLYGON, ICRS deg).

    Parameters
    ----------
    shape : `~twomass_vo.planner.RegionShape`
        The validated region.

    Returns
    -------
    text : str
        ``CIRCLE ICRS ra dec radius`` or ``POLYGON ICRS ra1 dec1 ...``.
    """
    if shape.polygon is None:
        return f"CIRCLE ICRS {shape.ra:.7f} {shape.dec:+.7f} {shape.radius:.7f}"
    from .geometry import xyz_to_radec

    ra, dec = xyz_to_radec(shape.polygon.vertices)
    corners = " ".join(f"{a:.7f} {d:+.7f}" for a, d in zip(ra, dec, strict=True))
    return f"POLYGON ICRS {corners}"


def source_text(source):
    """Return the input file's name (None for inputs given in Python).

    Parameters
    ----------
    source : object
        The table argument of a query method.

    Returns
    -------
    name : str or None
        The file name of a path with a suffix, else None.
    """
    if isinstance(source, str | Path) and Path(source).suffix:
        return Path(source).name
    return None


#: The widths of a square region: its diagonal is at most the service's 7 deg.
MIN_WIDTH, MAX_WIDTH = MIN_DIAMETER, MAX_DIAMETER / 2**0.5 - 1e-3


def square_region(center, width, *, resolver):
    """Return the square of side ``width`` (deg) at ``center``: (polygon, width).

    Its corners are those of the square of half-side ``tan(width / 2)`` in the
    gnomonic (TAN) plane at the centre, east and north: its edges are great
    circles whose midpoints lie ``width / 2`` from the centre. The width is
    clamped into [`MIN_WIDTH`, `MAX_WIDTH`] deg, with a warning, and
    returned with the `~regions.PolygonSkyRegion`.

    Parameters
    ----------
    center : str or `~astropy.coordinates.SkyCoord`
        The centre (any notation of
        `~twomass_vo.inputs.coordinates.parse_coordinates`, or a name).
    width : float
        Side in degrees.
    resolver : callable or None
        Object-name resolver.

    Returns
    -------
    square : `~regions.PolygonSkyRegion`
        The square.
    width : float
        Its side, clamped.
    """
    import warnings

    import numpy as np
    from astropy.coordinates import SkyCoord
    from regions import PolygonSkyRegion

    from .exceptions import DiameterClampedWarning
    from .geometry import radec_to_xyz, xyz_to_radec
    from .inputs.coordinates import parse_coordinates

    if not MIN_WIDTH <= width <= MAX_WIDTH:
        clamped = min(max(width, MIN_WIDTH), MAX_WIDTH)
        warnings.warn(
            f"width {width} deg is outside [{MIN_WIDTH}, {MAX_WIDTH:.3f}] deg (a "
            f"square inside the service's largest region): clamped to "
            f"{clamped:.3f} deg.",
            DiameterClampedWarning,
            stacklevel=4,
        )
        width = clamped
    centre = parse_coordinates(center, resolver=resolver)
    ra = np.radians(centre.ra.deg)
    middle = radec_to_xyz(centre.ra.deg, centre.dec.deg)
    east = np.array([-np.sin(ra), np.cos(ra), 0.0])
    north = np.cross(middle, east)
    half = np.tan(np.radians(width) / 2)  # in the TAN plane
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])[:, :, None]
    corners = middle + half * (signs[:, 0] * east + signs[:, 1] * north)
    ra_c, dec_c = xyz_to_radec(corners)  # normalised there
    square = PolygonSkyRegion(SkyCoord(ra_c, dec_c, unit="deg", frame="icrs"))
    return square, width


def size_text(size):
    """Return a cutout size as recorded in a result's parameters.

    Parameters
    ----------
    size : float, `~astropy.units.Quantity` or None
        The ``size`` option (float: arcsec).

    Returns
    -------
    text : str or None
        Arcseconds, ``%g``; None without a size.
    """
    if size is None:
        return None
    if hasattr(size, "to_value"):
        return f"{size.to_value('arcsec'):g}"
    return f"{float(size):g}"


class class_or_instance:
    """A query method that also works on the class, as in astroquery.

    ``TwoMassBatch.query_region(...)`` runs on a new default instance
    (``TwoMassBatch()``, i.e. IRSA), like astroquery's ``class_or_instance``
    methods; on an instance it is the plain bound method.

    Parameters
    ----------
    method : function
        The query method.
    """

    def __init__(self, method):
        self._method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, cls=None):
        if obj is not None:
            return types.MethodType(self._method, obj)
        method = self._method

        # its signature is the method's, ``self`` first, as for any method
        # looked up on its class (and as astroquery's class_or_instance)
        @functools.wraps(method)
        def on_a_default_instance(*args, **kwargs):
            return method(cls(), *args, **kwargs)

        return on_a_default_instance


def document_query_method(method):
    """Write the shared parameters into a query method's docstring.

    Parameters
    ----------
    method : function
        A query method whose docstring holds the lines ``{common}`` and
        ``{returns}``.

    Returns
    -------
    method : `class_or_instance`
        The method, its docstring completed with the shared parameters,
        callable on the class too.
    """
    method.__doc__ = method.__doc__.replace(
        "        {common}", _COMMON.strip("\n")
    ).replace("        {returns}", _RETURNS.strip("\n"))
    return class_or_instance(method)
