# Licensed under a 3-clause BSD style license - see LICENSE
"""`VOArchive` and the VO services it asks: SIA v2, TAP/ADQL, SODA.

- `~twomass_vo.archives.vo.archive`: `VOArchive`, the archive over an SIA v2
  and a TAP service;
- `~twomass_vo.archives.vo.sia2` and `~twomass_vo.archives.vo.tap`: running
  SIA v2 and TAP requests; `~twomass_vo.archives.vo.adql`: the ADQL of each
  mode, built from validated values only;
- `~twomass_vo.archives.vo.file_rows` and `~twomass_vo.archives.vo.image_sets`:
  a service's answer as file rows, grouped into J/H/K image sets;
- `~twomass_vo.archives.vo.service_values`: the values a service sends and
  the values we send it, checked;
- `~twomass_vo.archives.vo.soda`: SODA cutout URLs;
- `~twomass_vo.archives.vo.diagnostics`: what an archive is configured with,
  and whether its endpoints answer.
"""

from .archive import (
    DEFAULT_COLUMNS,
    IMAGE_TYPES,
    EndpointStatus,
    VOArchive,
    band_codes,
    dhs_keys,
    parse_image_paths,
)

__all__ = [
    "DEFAULT_COLUMNS",
    "IMAGE_TYPES",
    "EndpointStatus",
    "VOArchive",
    "band_codes",
    "dhs_keys",
    "parse_image_paths",
]
