# Licensed under a 3-clause BSD style license - see LICENSE
"""Retrieval at scale: parallel, budgeted, resumable downloads of an ImageTable.

`download` (the engine of `ImageTable.download <twomass_vo.ImageTable.download>`
and of ``twomass-vo download``) writes the file of every row of a table --
the full image, the decompressed Quicklook image, or the cutout -- into one
folder:

- **Plan.** One file per distinct name; the names come from the rows'
  validated metadata (`~twomass_vo.loaders.file_name_for`), never from a
  server, so nothing is written outside the folder. A row whose metadata or
  URL is not acceptable (only ``http(s)``, ``file://`` and the archive's own
  store) is reported ``failed`` before anything is fetched.
- **Resume.** The folder keeps a manifest (``twomass_vo-manifest.jsonl``: the
  URL, size and SHA-256 of every file written), appended as each file is
  done. A file already in the folder, recorded for the same source with its
  size and a readable FITS structure (or not recorded but FITS-valid), is
  not fetched again (status ``cached``). An interrupted run (Ctrl-C, a crash)
  run again goes on where it stopped.
- **Budget.** ``max_bytes`` (1 GiB by default, the old service's limit;
  ``"1GiB"``, ``1 * u.GB`` or an integer) stops new transfers once the real
  bytes -- counted as they arrive, not taken from ``access_estsize`` -- of
  the files done and under way reach it (so at most one file per worker
  goes past it); the rows not started are ``deferred`` and
  can be passed to `download` again, as the old service's "unretrieved"
  table could be submitted again.
- **Work.** Files are fetched by a pool of threads, any
  `concurrent.futures.Executor`, or a Dask ``distributed.Client`` (the
  folder must then be on a file system the workers share). The coordinator
  (the calling thread) alone plans, keeps the budget and writes the
  manifest; workers fetch, check and rename.
- **Safety.** Every file is written under a hidden temporary name and renamed
  only once complete and checked (its length against the server's, and a
  FITS structure that ends exactly at the end of the file), so no partial
  file ever stands under a final name. A per-file size ceiling
  (``twomass_vo.conf.max_file_size``) bounds what a server can make us write.
- **Retries** for ``http(s)`` are those of `twomass_vo.fetch`.

`cached_path` keeps ``http(s)`` files that must be read locally (to open them,
to decompress them or to cut them out) in a cache folder
(``twomass_vo.conf.cache_dir``), by URL; failed fetches are never cached, and
`clear_cache` empties it.
"""

import concurrent.futures as cf
import contextlib
import hashlib
import io
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from astropy.table import Column

from . import archives  # noqa: F401 - archives register their file makers
from .atomic_files import atomic_writer, write_atomic
from .download_plan import already_complete, byte_count, plan
from .fetch import Cancelled, FetchError, RetryPolicy, fetch, retry_policy
from .file_cache import (
    cache_dir,
    cache_shards,
    cached_copy,
    cached_path,
    clear_cache,
)
from .fits_check import check_fits
from .loaders import cutout_hdul, decompressed_hdul
from .local_files import copy_regular, local_source, open_regular
from .manifest import MANIFEST_NAME, Manifest, folder_lock, remove_parts
from .progress import Progress

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

log = logging.getLogger("twomass_vo.retrieval")

#: The default byte budget of one `download` run: the old service's 1 GB limit.
ONE_GIB = 2**30
#: The values of the ``status`` column.
STATUSES = ("ok", "cached", "failed", "deferred")
_BLOCK = 2880
_COPY_CHUNK = 1 << 20


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class _Options:
    """What every task needs to know (picklable)."""

    folder: str
    timeout: float
    policy: RetryPolicy
    max_file_size: int
    cache_root: str
    cache_shards: frozenset


def _describe(exc):
    if isinstance(exc, FetchError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _copy_local(source, target, options, cancel, on_bytes):
    """Copy a local regular file (never a FIFO or device) within the ceiling."""
    try:
        with atomic_writer(target, check=check_fits) as out:
            return copy_regular(
                source,
                out,
                max_size=options.max_file_size,
                cancel=cancel,
                on_bytes=on_bytes,
            )
    except InterruptedError:
        raise Cancelled() from None


def _write_hdul(target, hdul):
    buffer = io.BytesIO()
    hdul.writeto(buffer)
    data = buffer.getvalue()
    write_atomic(target, data, check=check_fits)
    return len(data), hashlib.sha256(data).hexdigest()


def _source(url, options, archive, cancel, on_bytes):
    """Local file of a source that must be read here (decompress, cut out)."""
    path = local_source(url, archive)
    if path is None:
        path = cached_path(
            url,
            timeout=options.timeout,
            retries=options.policy,
            max_file_size=options.max_file_size,
            cancel=cancel,
            on_bytes=on_bytes,
        )
    return path


def _fetch_gunzipped(url, target, options, cancel, on_bytes):
    """Fetch a gzip-compressed FITS file (``.fits.gz``) and write it decompressed.

    The compressed body goes to a temporary file first (retries may start
    over); the decompressed file is bounded by ``max_file_size`` and checked
    like every other file. Returns the size and SHA-256 of the written file.
    """
    import gzip
    import tempfile

    with tempfile.TemporaryFile() as raw:
        fetch(
            url,
            raw,
            timeout=options.timeout,
            policy=options.policy,
            max_size=options.max_file_size,
            cancel=cancel,
            on_bytes=on_bytes,
        )
        raw.seek(0)
        digest, size = hashlib.sha256(), 0
        with (
            gzip.GzipFile(fileobj=raw) as src,
            atomic_writer(target, check=check_fits) as out,
        ):
            while chunk := src.read(1 << 20):
                size += len(chunk)
                if size > options.max_file_size:
                    raise ValueError(
                        f"{url}: decompressed file over the per-file ceiling of "
                        f"{options.max_file_size} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
    return size, digest.hexdigest()


def _run_task(task, options, archive=None, cancel=None, on_bytes=None):
    """Write one file; never raises (but for Ctrl-C): returns a result dict."""
    from astropy.io import fits

    target = os.path.join(options.folder, task.name)
    result = {"name": task.name, "status": "failed", "path": "", "error": ""}
    try:
        if task.mode == "copy":
            path = local_source(task.url, archive)
            if path is None:
                path = cached_copy(
                    task.url, root=options.cache_root, shards=options.cache_shards
                )
            if path is not None:
                size, sha = _copy_local(path, target, options, cancel, on_bytes)
            elif urlparse(task.url).path.endswith(".gz"):  # IRSA's .fits.gz files
                size, sha = _fetch_gunzipped(
                    task.url, target, options, cancel, on_bytes
                )
            else:
                with atomic_writer(target, check=check_fits) as fh:
                    fetched = fetch(
                        task.url,
                        fh,
                        timeout=options.timeout,
                        policy=options.policy,
                        max_size=options.max_file_size,
                        cancel=cancel,
                        on_bytes=on_bytes,
                    )
                size, sha = fetched.size, fetched.sha256
        else:
            path = _source(task.url, options, archive, cancel, on_bytes)
            with (
                open_regular(path, max_size=options.max_file_size) as fh,
                fits.open(fh, memmap=False) as hdul,
            ):
                if task.mode == "decompress":
                    size, sha = _write_hdul(target, decompressed_hdul(hdul))
                else:
                    ra, dec, size_arcsec = task.cutout
                    hdul_d = decompressed_hdul(hdul)
                    size, sha = _write_hdul(
                        target, cutout_hdul(hdul_d, ra, dec, size_arcsec)
                    )
        result.update(status="ok", path=target, size=size, sha256=sha)
    except Cancelled:
        result.update(status="cancelled", error="stopped")
    except Exception as exc:
        result.update(error=_describe(exc))
    return result


# ------------------------------------------------------------------------ executor
def _executor(executor, max_workers):
    """(executor, workers, owned, in_process) for the run."""
    from . import conf

    if max_workers is not None and (
        isinstance(max_workers, bool)
        or int(max_workers) != max_workers
        or max_workers < 1
    ):
        raise ValueError(f"max_workers={max_workers!r} must be an integer >= 1")
    if executor is None:
        workers = int(max_workers or conf.max_workers)
        pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="twomass_vo-download")
        return pool, workers, True, True
    if hasattr(executor, "get_executor") and hasattr(executor, "nthreads"):
        # a dask.distributed Client: its concurrent.futures face
        workers = int(
            max_workers or sum(executor.nthreads().values()) or conf.max_workers
        )
        return executor.get_executor(pure=False), workers, False, False
    if isinstance(executor, cf.Executor):
        workers = int(
            max_workers or getattr(executor, "_max_workers", 0) or conf.max_workers
        )
        return executor, workers, False, isinstance(executor, cf.ThreadPoolExecutor)
    raise TypeError(
        f"executor={executor!r}: give a concurrent.futures.Executor or a "
        "dask.distributed Client"
    )


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
    retries : int or `~twomass_vo.fetch.RetryPolicy`, optional
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
    from . import conf

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
    options = _Options(
        folder=str(folder),
        timeout=float(conf.timeout if timeout is None else timeout),
        policy=policy,
        max_file_size=ceiling,
        cache_root=str(cache_dir()),
        cache_shards=cache_shards(cache_dir()),  # looked at once, not per file
    )
    pool, workers, owned, in_process = _executor(executor, max_workers)
    n = len(table)
    local_path = [""] * n
    status = ["deferred"] * n
    error = [""] * n
    finished = False
    try:
        tasks, rows_of, bad = plan(table, folder, decompress)
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
                _run(
                    todo,
                    options,
                    pool=pool,
                    workers=workers,
                    in_process=in_process,
                    archive=getattr(table, "archive", None),
                    max_bytes=max_bytes,
                    progress=progress,
                    manifest=manifest,
                    record=lambda task, res: _record(
                        task, res, rows_of, local_path, status, error
                    ),
                )
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


class _Budget:
    """The byte budget, shared by the coordinator and the worker threads.

    Real bytes count: those of the files done (written, or received if more,
    retries included) and, for each transfer under way, the bytes received
    so far or its estimate if larger. A transfer is admitted only while that
    is under ``max_bytes``; once it is reached the budget stays closed, so the
    files deferred are the tail of the list, and at most one file per worker
    goes past it, whatever ``access_estsize`` says.
    """

    def __init__(self, max_bytes, n):
        self.max_bytes = max_bytes
        self.live = [0] * n  # bytes received per task (in-process workers)
        self.running = {}  # task index -> estimate
        self.done = 0
        self.closed = False
        self._lock = threading.Lock()

    def admit(self, index, estimate):
        """Whether task ``index`` may start (it is then counted as running)."""
        with self._lock:
            if not self.closed and self.max_bytes is not None:
                spent = self.done + sum(
                    max(e, self.live[i]) for i, e in self.running.items()
                )
                self.closed = spent >= self.max_bytes
            if self.closed:
                return False
            self.running[index] = estimate
            return True

    def finish(self, index, size):
        """Count task ``index`` done, ``size`` bytes written."""
        with self._lock:
            self.running.pop(index, None)
            self.done += max(self.live[index], size)
            self.live[index] = 0


def _run_admitted(task, options, archive, cancel, on_bytes, budget, index, estimate):
    """Run a task in a worker thread if the budget admits it, else defer it."""
    if not budget.admit(index, estimate):
        return {"name": task.name, "status": "deferred", "path": "", "error": ""}
    return _run_task(task, options, archive, cancel, on_bytes)


def _run(
    todo,
    options,
    *,
    pool,
    workers,
    in_process,
    archive,
    max_bytes,
    progress,
    manifest,
    record,
):
    """Coordinate: submit within the budget, collect, record, report.

    In-process workers are kept busy with a queue of twice their number;
    each task asks the budget (`_Budget`) when it starts, not when queued.
    Other executors get plain tasks, at most one per worker while a budget
    is kept, admitted by the coordinator.
    """
    cancel = threading.Event() if in_process else None
    budget = _Budget(max_bytes, len(todo))
    live = budget.live
    total_bytes = sum(t.estimate for t in todo)
    if max_bytes is not None:
        total_bytes = min(total_bytes, max_bytes)
    bar = Progress(progress, len(todo), total_bytes)
    window = 2 * workers if in_process or max_bytes is None else workers
    in_flight = {}
    done = queue.SimpleQueue()  # futures, as they finish
    sizes = []
    next_index = 0

    def submit(index, estimate):
        task = todo[index]
        if in_process:

            def on_bytes(k, index=index):
                live[index] += k

            return pool.submit(
                _run_admitted,
                task,
                options,
                archive,
                cancel,
                on_bytes,
                budget,
                index,
                estimate,
            )
        if not budget.admit(index, estimate):
            return None
        return pool.submit(_run_task, task, options)

    def collect(future):
        index, _ = in_flight.pop(future)
        task = todo[index]
        try:
            res = future.result()
        except BaseException as exc:  # a worker died, the pool broke, cancelled
            if not isinstance(exc, Exception | cf.CancelledError):
                raise
            res = {
                "name": task.name,
                "status": "failed",
                "path": "",
                "error": f"the worker failed: {_describe(exc)}",
            }
        if res["status"] == "deferred":
            return
        budget.finish(index, res.get("size", 0) if res["status"] == "ok" else 0)
        if res["status"] == "ok":
            sizes.append(res["size"])
            manifest.add(
                {
                    "name": task.name,
                    **task.identity(),
                    "size": res["size"],
                    "sha256": res["sha256"],
                }
            )
        elif res["status"] == "failed":
            log.warning("%s: failed (%s): %s", task.name, task.url, res["error"])
        if res["status"] in ("ok", "failed"):
            record(task, res)
            bar.file_done(res.get("size", 0) if res["status"] == "ok" else 0)

    try:
        while next_index < len(todo) or in_flight:
            while (
                next_index < len(todo) and len(in_flight) < window and not budget.closed
            ):
                task = todo[next_index]
                estimate = task.estimate or (int(np.mean(sizes)) if sizes else 0)
                future = submit(next_index, estimate)
                if future is None:
                    break
                in_flight[future] = (next_index, estimate)
                future.add_done_callback(done.put)
                next_index += 1
            if budget.closed and next_index < len(todo):
                log.info(
                    "byte budget of %d bytes reached: the files not started are "
                    "deferred",
                    max_bytes,
                )
                next_index = len(todo)  # the rest stay "deferred"
            if not in_flight:
                break
            for future in _finished(done, timeout=0.1):
                collect(future)
            if budget.closed:
                bar.total_files = bar.files + len(in_flight)
            bar.refresh(sum(live))
    except BaseException:
        # Ctrl-C or a progress callback that raised: stop the workers, keep
        # what is complete (the manifest is already up to date), re-raise.
        bar.callback = None
        if cancel is not None:
            cancel.set()
        for future in in_flight:
            future.cancel()
        if in_process and in_flight:
            cf.wait(list(in_flight), timeout=min(options.timeout, 5.0))
        for future in [f for f in in_flight if f.done() and not f.cancelled()]:
            with contextlib.suppress(Exception):
                collect(future)
        raise
    finally:
        bar.close()


def _finished(done, *, timeout):
    """Return the futures that finished: wait up to ``timeout`` for one."""
    try:
        found = [done.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            found.append(done.get_nowait())
        except queue.Empty:
            return found


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
