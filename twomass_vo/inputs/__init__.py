# Licensed under a 3-clause BSD style license - see LICENSE
"""Input tables of the batch modes, and their validation.

The 2MASS Batch Image Service takes tables of positions, of ``coadd_key``
values and of date-hemisphere-scans (DHS).  This module reads such tables
(IPAC ASCII as on the service's help page, VOTable, CSV, FITS, ECSV or an
astropy `~astropy.table.Table`) and turns them into small, validated request
objects -- `PositionRequest`, `KeyRequest` and `ScanRequest` -- that the mode
planner consumes.  Every problem is reported before any work starts, as an
`~twomass_vo.exceptions.InputError` that names the row, the column and the
value, e.g. ``row 3, column 'xdate': '97084' is not a date in yymmdd format``.

Text tables are read with every column as text, so that values such as the
date ``000804`` keep their leading zeros; the numbers are parsed here, with
numpy, one column at a time.  Columns are found by name, in any case, with the
synonyms of `COLUMN_SYNONYMS` (the first synonym found wins), so that an
`~twomass_vo.ImageTable` (``ordate``, ``hemisphere``, ``scanno``) can be fed
back into the coadd_key and DHS modes.

The work is spread over modules named for what they hold:

- ``twomass_vo.inputs.tables``: reading files (format detection, IPAC reader);
- ``twomass_vo.inputs.columns``: finding columns and parsing their values;
- ``twomass_vo.inputs.values``: scalar arguments (bands, angles, diameters);
- ``twomass_vo.inputs.requests``: the request dataclasses;
- ``twomass_vo.inputs.positions``, ``twomass_vo.inputs.coadd_keys`` and
  ``twomass_vo.inputs.scans``: the validation of each mode's input.

This module gathers their public names, so ``twomass_vo.inputs.X`` works for
all of them.

Duplicate rows are *not* dropped here: the planner drops duplicate image
references after the look-up.  An empty table is a valid input (no rows).
"""

from .coadd_keys import coadd_keys_request
from .columns import COLUMN_SYNONYMS, find_input_column
from .positions import positions_request
from .requests import KeyRequest, PositionRequest, ScanRequest
from .scans import scan_request, scans_request
from .tables import read_input_table
from .values import parse_angle, parse_band, region_diameter, region_size

__all__ = [
    "COLUMN_SYNONYMS",
    "KeyRequest",
    "PositionRequest",
    "ScanRequest",
    "coadd_keys_request",
    "find_input_column",
    "parse_angle",
    "parse_band",
    "positions_request",
    "read_input_table",
    "region_diameter",
    "region_size",
    "scan_request",
    "scans_request",
]
