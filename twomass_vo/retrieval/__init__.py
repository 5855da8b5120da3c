# Licensed under a 3-clause BSD style license - see LICENSE
"""Retrieval at scale: parallel, budgeted, resumable downloads of an ImageTable.

- `~twomass_vo.retrieval.downloads`: `download`, the entry point;
- `~twomass_vo.retrieval.file_tasks`: byte counts, one task per file, what is
  already there; `~twomass_vo.retrieval.runs`: running the tasks (budget,
  threads, executors); `~twomass_vo.retrieval.tasks`: one file (fetch, copy,
  decompress or cut out, then check);
- `~twomass_vo.retrieval.manifest`: the record of a folder and its lock;
  `~twomass_vo.retrieval.progress`: progress bars and callbacks;
- `~twomass_vo.retrieval.loaders`: the lazy FITS loaders of `ImageRow`;
  `~twomass_vo.retrieval.file_cache`: the file cache;
  `~twomass_vo.retrieval.compressed_fits` and
  `~twomass_vo.retrieval.fits_check`: reading and checking FITS files.
"""

from .._http.retry_policy import RetryPolicy
from .downloads import ONE_GIB, STATUSES, download
from .file_cache import cache_dir, cached_path, clear_cache
from .file_tasks import byte_count
from .fits_check import check_fits
from .manifest import MANIFEST_NAME, Manifest

__all__ = [
    "MANIFEST_NAME",
    "ONE_GIB",
    "STATUSES",
    "Manifest",
    "RetryPolicy",
    "byte_count",
    "cache_dir",
    "cached_path",
    "check_fits",
    "clear_cache",
    "download",
]
