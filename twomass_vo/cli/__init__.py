# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command.

- `~twomass_vo.cli.command`: `main`, one subcommand per batch mode;
- `~twomass_vo.cli.parser`: the argument parser;
- `~twomass_vo.cli.output` and `~twomass_vo.cli.output_files`: what the
  command writes (result tables, downloads, pictures), checked before the
  work;
- `~twomass_vo.cli.frames`: the command on folders of Parquet or CSV files
  (Dask).
"""

from .command import main, parse_size

__all__ = ["main", "parse_size"]
