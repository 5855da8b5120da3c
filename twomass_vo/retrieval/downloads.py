# Licensed under a 3-clause BSD style license - see LICENSE
"""Retrieval at scale: parallel, budgeted, resumable downloads of an ImageTable.

`download` (the engine of `ImageTable.download <twomass_vo.ImageTable.download>`
and of ``twomass-vo download``) writes the file of every row of a table --
the full image, the decompressed Quicklook image, or the cutout -- into one
folder:

- **Plan.** One file per distinct name; the names come from the rows'
  validated metadata (`~twomass_vo.retrieval.loaders.file_name_for`), never from a
  server, so nothing is written outside the folder. A row whose metadata or
  URL is not acceptable (only ``http(s)``, ``file://`` and the archive's own
  store) is reported ``failed`` before anything is fetched.
- **Resume.** The folder keeps a manifest (``twomass_vo-manifest.jsonl``: the
  URL, size and SHA-256 of every file written), appended as files are done
  (in batches, about ten times a second). A file already in the folder,
  recorded for the same source with its size and a readable FITS structure
  (or not recorded but FITS-valid), is not fetched again (status
  ``cached``). An interrupted run (Ctrl-C, a crash) run again goes on where
  it stopped.
- **Budget.** ``max_bytes`` (1 GiB by default, the old service's limit;
  ``"1GiB"``, ``1 * u.GB`` or an integer) stops new transfers once the real
  bytes -- counted as they arrive, not taken from ``access_estsize`` -- of
  the files done and under way reach it (so at most one file per worker
  goes past it); the rows not started are ``deferred`` and
  can be passed to `download` again, as the old service's "unretrieved"
  table could be submitted again.
- **Work.** Files are fetched by a pool of threads, any
  `concurrent.futures.Executor`, or a Dask ``distributed.Client`` (the
  folder must then be on a file system the workers share). The calling
  thread alone plans, records the finished files and writes the manifest;
  workers fetch, check and rename (`twomass_vo.retrieval.tasks`). In a
  thread pool, each worker takes the next file itself, admitted by the
  budget, so that no hand-off is made per file
  (`twomass_vo.retrieval.runs`).
- **Safety.** Every file is written under a hidden temporary name and renamed
  only once complete and checked (its length against the server's, and a
  FITS structure that ends exactly at the end of the file), so no partial
  file ever stands under a final name. A per-file size ceiling
  (``twomass_vo.conf.max_file_size``) bounds what a server can make us write.
- **Retries** for ``http(s)`` are those of `twomass_vo._http.fetch`.

`cached_path` keeps ``http(s)`` files that must be read locally (to open them,
to decompress them or to cut them out) in a cache folder
(``twomass_vo.conf.cache_dir``), by URL; failed fetches are never cached, and
`~twomass_vo.retrieval.file_cache.clear_cache` empties it.
"""

import logging
from pathlib import Path

import numpy as np
from astropy.table import Column

from .._http.deadline import positive_seconds
from .._http.retry_policy import retry_policy
from .file_cache import cache_dir, cache_shards
from .file_tasks import already_complete, byte_count, plan_files
from .manifest import Manifest, folder_lock, remove_parts
from .runs import choose_executor, run_in_threads, run_on_executor
from .tasks import TaskOptions

__all__ = ["ONE_GIB", "STATUSES", "download"]

log = logging.getLogger("twomass_vo.retrieval")

#: The default byte budget of one `download` run: the old service's 1 GB limit.
ONE_GIB = 2**30
#: The values of the ``status`` column.
STATUSES = ("ok", "cached", "failed", "deferred")


# ------------------------------------------------------------------------ download
def download(
    table,
    folder,
    *,
    max_workers=None,
    executor=None,
    max_bytes=ONE_GIB,
    progress=True,
    retries=None,
    timeout=None,
    overwrite=False,
    decompress=True,
    max_file_size=None,
):
    """Write the files of the rows of ``table`` into ``folder``; see the module doc.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The rows (a query result, a table read from a file, or the
        ``deferred`` / ``failed`` rest of an earlier run).
    folder : str or `~pathlib.Path`
        Target folder, created if missing.
    max_workers : int, optional
        Parallel transfers (default ``twomass_vo.conf.max_workers`` threads,
        or the size of the given executor).
    executor : `concurrent.futures.Executor` or ``distributed.Client``, optional
        Where the transfers run (default: a pool of threads). Thread pools
        share the archive object, the live byte count and Ctrl-C; process
        pools and Dask workers get plain, picklable tasks.
    max_bytes : int, str, `~astropy.units.Quantity` or None, optional
        Byte budget of the run (default 1 GiB): ``2**30``, ``"1GiB"``,
        ``"500MB"``, ``1 * u.GB`` (see `byte_count`); `None` for no limit.
    progress : bool or callable, optional
        Show one aggregate bar on a terminal (never when stderr is not a
        TTY), or call ``progress(files_done, files_total, bytes_done,
        bytes_total)`` after each file.
    retries : int or `~twomass_vo._http.retry_policy.RetryPolicy`, optional
        Retries per file (default ``twomass_vo.conf.retries``, with
        ``twomass_vo.conf.retry_budget`` seconds per file).
    timeout : float, optional
        Seconds per request (default ``twomass_vo.conf.timeout``).
    overwrite : bool, optional
        Fetch and replace files already in the folder.
    decompress : bool, optional
        Write Quicklook files decompressed (default) or as stored.
    max_file_size : int, str or `~astropy.units.Quantity`, optional
        Per-file ceiling in bytes (default ``twomass_vo.conf.max_file_size``),
        applied to fetched files and to local copies alike.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        A copy of ``table`` with ``local_path``, ``status`` (``ok``,
        ``cached``, ``failed``, ``deferred``) and ``error`` columns.
    """
    from .. import conf

    max_bytes = byte_count(max_bytes, "max_bytes")
    ceiling = byte_count(
        conf.max_file_size if max_file_size is None else max_file_size,
        "max_file_size",
    )
    if ceiling is None:
        raise ValueError("max_file_size=None: give a per-file ceiling in bytes")
    policy = retry_policy(retries)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    options = TaskOptions(
        folder=str(folder),
        timeout=positive_seconds(
            conf.timeout if timeout is None else timeout, "timeout"
        ),
        policy=policy,
        max_file_size=ceiling,
        cache_root=str(cache_dir()),
        cache_shards=cache_shards(cache_dir()),  # looked at once, not per file
    )
    pool, workers, owned, threads = choose_executor(executor, max_workers)
    n = len(table)
    local_path = [""] * n
    status = ["deferred"] * n
    error = [""] * n
    finished = False
    try:
        tasks, rows_of, bad = plan_files(table, folder, decompress)
        for i, message in bad.items():
            status[i], error[i] = "failed", message
            log.warning("row %d: not downloaded: %s", i, message)
        with folder_lock(folder) as locked:
            if locked:  # no other run can be writing temporary files here
                remove_parts(folder)
            manifest = Manifest(folder)
            try:
                todo = []
                for task in tasks:
                    target = folder / task.name
                    if not overwrite and already_complete(target, task, manifest):
                        for i in rows_of[task.name]:
                            local_path[i], status[i] = str(target), "cached"
                    else:
                        todo.append(task)
                run = dict(
                    pool=pool,
                    workers=workers,
                    max_bytes=max_bytes,
                    progress=progress,
                    manifest=manifest,
                    record=lambda task, res: _record(
                        task, res, rows_of, local_path, status, error
                    ),
                )
                if threads:  # share the archive object, the byte count, Ctrl-C
                    archive = getattr(table, "archive", None)
                    run_in_threads(todo, options, archive=archive, **run)
                else:  # plain, picklable tasks
                    run_on_executor(todo, options, **run)
            finally:
                manifest.close()
        finished = True
    finally:
        if owned:  # after Ctrl-C, do not wait for transfers that are stopping
            pool.shutdown(wait=finished, cancel_futures=True)
    return _result_table(table, local_path, status, error)


def _record(task, res, rows_of, local_path, status, error):
    for i in rows_of[task.name]:
        status[i] = res["status"]
        local_path[i] = res.get("path", "")
        error[i] = res.get("error", "")


def _result_table(table, local_path, status, error):
    out = table.copy()
    for name in ("local_path", "status", "error"):
        if name in out.colnames:
            out.remove_column(name)
    n = len(out)
    columns = (
        (
            "local_path",
            local_path,
            "meta.id;meta.file",
            "The file written (or found) in the folder",
        ),
        (
            "status",
            status,
            "meta.code.status",
            "ok (written), cached (already there), failed (see error) or deferred "
            "(byte budget reached: download again)",
        ),
        ("error", error, "meta.note", "Why the file could not be written"),
    )
    for name, values, ucd, description in columns:
        data = np.array(values, dtype=str) if n else np.zeros(0, "U1")
        out.add_column(
            Column(data, name=name, description=description, meta={"ucd": ucd})
        )
    return out
