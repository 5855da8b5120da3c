# Licensed under a 3-clause BSD style license - see LICENSE
"""
twomass_vo: the 2MASS Batch Image Service as an Astropy-style package.

Five batch modes (region, positions, coadd_key list, one date-hemisphere-scan and
a list of them) answered from an archive of 2MASS image metadata, with exact
spherical geometry for the overlap, cover, enclose and best-image semantics, and
results as `~twomass_vo.ImageTable` objects whose rows load FITS lazily.
"""

from astropy import config as _config

from .version import version as __version__

__all__ = [
    "ImageTable",
    "IrsaArchive",
    "LocalArchive",
    "TwoMassBatch",
    "VOArchive",
    "__version__",
    "conf",
]


class Conf(_config.ConfigNamespace):
    """Configuration parameters for `twomass_vo`."""

    sim_path = _config.ConfigItem(
        "",
        "Folder of the simulated all-sky archive (index and on-demand FITS files). "
        "Empty means <astropy cache dir>/twomass_vo/sim.",
    )
    timeout = _config.ConfigItem(
        60, "Time limit in seconds for one network request (name resolution, files)."
    )
    cache_dir = _config.ConfigItem(
        "",
        "Folder of the file cache of http(s) files opened, decompressed or cut "
        "out locally. Empty means <astropy cache dir>/twomass_vo/files.",
    )
    max_workers = _config.ConfigItem(
        8, "Default number of parallel transfers of ImageTable.download."
    )
    max_per_host = _config.ConfigItem(
        16,
        "Most file requests sent to one host at a time by this process, "
        "whatever the number of workers (a large pool does not flood one archive).",
    )
    retries = _config.ConfigItem(
        5,
        "Retries of one file after a transient failure (connection error, "
        "timeout, body cut short, HTTP 5xx or 429).",
    )
    retry_budget = _config.ConfigItem(
        300.0,
        "Total time in seconds for one file, attempts and waits (backoff, "
        "Retry-After) included.",
    )
    attempt_timeout = _config.ConfigItem(
        120.0,
        "Longest time in seconds one download request may take, headers and "
        "body included (a server sending a byte a second is given up on).",
    )
    max_retry_after = _config.ConfigItem(
        120.0,
        "Longest Retry-After wait honoured, in seconds; a longer one is cut "
        "to it, so no server can hold a host back for the rest of the process.",
    )
    max_file_size = _config.ConfigItem(
        256 << 20,
        "Per-file size ceiling in bytes: a larger file is refused (a 2MASS "
        "Atlas image is about 2 MB).",
    )
    max_answer_size = _config.ConfigItem(
        512 << 20,
        "Largest answer in bytes read from a VO service (SIA, TAP, capabilities, "
        "IBE), both as received and once decoded (gzip / deflate): a larger one "
        "raises ArchiveError. 512 MiB holds a full SIA v2 answer (100,000 rows, "
        "~1.3 kB a row) and a TAP answer of ~800,000 rows.",
    )
    request_deadline = _config.ConfigItem(
        600.0,
        "Overall time limit in seconds of one request to a VO service, answer "
        "included (the timeout settings bound each socket read only).",
    )
    service_concurrency = _config.ConfigItem(
        4,
        "Largest number of partitions of a query on a dask DataFrame that ask "
        "one VO service (IRSA, a mirror) at the same time: cluster-wide under "
        "dask.distributed (a distributed Semaphore), per process otherwise.",
    )
    low_speed_limit = _config.ConfigItem(
        1000.0,
        "Low-speed limit in bytes per second, as curl's --speed-limit: an "
        "answer (a VO query's or a file's) that delivers fewer bytes than this "
        "per second for low_speed_time seconds, counted from its first byte, is "
        "given up on (a file is then retried). 0: no limit.",
    )
    low_speed_time = _config.ConfigItem(
        30.0,
        "Seconds an answer may stay under low_speed_limit, as curl's "
        "--speed-time. 0: no limit.",
    )
    max_input_size = _config.ConfigItem(
        512 << 20,
        "Largest input table file read (positions, coadd_keys, scans, a result "
        "table read back), in bytes, and largest size it may decompress to "
        "(gzip, bzip2, xz): a larger one is refused. Only regular files are "
        "read (not a FIFO or a device).",
    )
    chunk_size = _config.ConfigItem(
        100_000,
        "Number of input positions handled per chunk in query_positions; bounds "
        "the memory of very large batches.",
    )


conf = Conf()


# The heavy modules are imported on first use, so that ``import twomass_vo``
# (and the command line's start-up) stays fast: name -> module that holds it.
_LAZY = {
    "TwoMassBatch": "core",
    "ImageTable": "results",
    "IrsaArchive": "archives",
    "LocalArchive": "archives",
    "VOArchive": "archives",
}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    # tab completion lists the lazily imported names too
    return sorted(set(globals()) | set(__all__))
