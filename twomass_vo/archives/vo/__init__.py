# Licensed under a 3-clause BSD style license - see LICENSE
"""`VOArchive` and the VO services it asks: SIA v2, TAP/ADQL, SODA.

- `~twomass_vo.archives.vo.archive`: `VOArchive`, the archive over an SIA v2
  and a TAP service;
- `~twomass_vo.archives.vo.sia2` and `~twomass_vo.archives.vo.tap`: running
  SIA v2 and TAP requests; `~twomass_vo.archives.vo.adql`: the ADQL of each
  mode, built from validated values only;
- `~twomass_vo.archives.vo.file_rows` and `~twomass_vo.archives.vo.image_sets`:
  a service's answer as file rows, grouped into J/H/K image sets;
- `~twomass_vo.archives.vo.query_values`: the values we send a service,
  validated; `~twomass_vo.archives.vo.answer_values`: the values it answers,
  checked; `~twomass_vo.archives.vo.column_text`: answer columns as text,
  numbers and band codes; `~twomass_vo.archives.vo.file_paths`: 2MASS file
  paths parsed;
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
