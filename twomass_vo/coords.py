# Licensed under a 3-clause BSD style license - see LICENSE
"""Coordinate strings, designations and names to ``SkyCoord`` (public path).

The code lives in `twomass_vo.inputs.coordinates`; this module keeps the
documented import path ``twomass_vo.coords.parse_coordinates``.
"""

from .inputs.coordinates import (
    decode_designation,
    default_resolver,
    parse_coordinate_columns,
    parse_coordinates,
    resolve_name,
    use_resolver,
)

__all__ = [
    "decode_designation",
    "default_resolver",
    "parse_coordinate_columns",
    "parse_coordinates",
    "resolve_name",
    "use_resolver",
]
