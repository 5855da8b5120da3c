# Licensed under a 3-clause BSD style license - see LICENSE
"""`LocalArchive`: an embedded index of image sets plus a local file store.

- `~twomass_vo.archives.local.archive`: `LocalArchive`;
- `~twomass_vo.archives.local.index_builder`: building an index;
- `~twomass_vo.archives.local.index_files`: the files of an index (geometry
  and mapping);
- `~twomass_vo.archives.local.image_metadata`: image sets from an
  image-metadata table (IRSA's 2MASS SIA v1 answer);
- `~twomass_vo.archives.local.store_paths`: paths of a file store.
"""

from .archive import LocalArchive

__all__ = ["LocalArchive"]
