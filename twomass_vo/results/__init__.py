# Licensed under a 3-clause BSD style license - see LICENSE
"""Results: the `ImageTable` of every query, its files, pictures and links.

- `~twomass_vo.results.image_table`: `ImageTable` and `ImageRow` (lazy
  loaders); `~twomass_vo.results.columns`: the column contract (names, types,
  units, UCDs); `~twomass_vo.results.compact_columns`: their compact storage;
- `~twomass_vo.results.query_metadata`: the query metadata a result
  carries; `~twomass_vo.results.result_writer` and
  `~twomass_vo.results.result_reader`: result files that keep it (VOTable,
  FITS, ECSV, IPAC); `~twomass_vo.results.votable_binary` and
  `~twomass_vo.results.parquet`: two of those formats;
- `~twomass_vo.results.plotting`, `~twomass_vo.results.sky_maps`,
  `~twomass_vo.results.picture_style` and `~twomass_vo.results.preview`:
  pictures; `~twomass_vo.results.moc`: coverage maps;
  `~twomass_vo.results.samp` and `~twomass_vo.results.samp_hub`: sending a
  result to VO tools.
"""

from .image_table import ImageRow, ImageTable

__all__ = ["ImageRow", "ImageTable"]
