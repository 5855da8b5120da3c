# Licensed under a 3-clause BSD style license - see LICENSE
"""Exact spherical geometry of image footprints, on unit vectors.

Everything here works on Cartesian unit vectors (shape ``(..., 3)``), so the
poles and the RA 0/360 seam need no special cases. An image footprint is a
convex spherical quadrilateral whose edges are great-circle arcs between its
four corners (for 2MASS SIN tiles the true pixel-grid edges deviate from those
arcs by less than 1 mas, see ``research/geometry.md``).

The predicates follow the help page of the 2MASS Batch Image Service:

* *overlaps*: some point of the sky is in both the image and the region;
* *covers*: the image contains every point of the region;
* *enclosed*: the region contains every point of the image;
* *best image*: of the images containing a position, the one whose minimum
  distance from the position to its four edges is largest
  (`Footprints.edge_distance`).

Only numpy is used at run time; astropy and ``regions`` are imported lazily at
the API edges (`Footprints.from_header`, `Footprints.to_regions`).

This module gathers the public names; the code lives in modules named for
what they hold: `twomass_vo.geometry.unit_vectors` (vectors and angles),
`twomass_vo.geometry.sin_projection` (SIN pixel-to-sky and image corners),
`twomass_vo.geometry.s_region` (STC-S strings), `twomass_vo.geometry.spherical_polygons`
(`ConvexPolygon`, `contains_distance`) and `twomass_vo.geometry.footprints`
(`Footprints` and its predicates).
"""

from .footprints import Footprints
from .s_region import format_s_region, parse_s_region
from .sin_projection import sin_corners, sin_pix2world
from .spherical_polygons import ConvexPolygon, contains_distance
from .unit_vectors import angle_between, radec_to_xyz, xyz_to_radec

__all__ = [
    "ConvexPolygon",
    "Footprints",
    "angle_between",
    "contains_distance",
    "format_s_region",
    "parse_s_region",
    "radec_to_xyz",
    "sin_corners",
    "sin_pix2world",
    "xyz_to_radec",
]
