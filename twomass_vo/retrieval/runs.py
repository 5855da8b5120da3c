# Licensed under a 3-clause BSD style license - see LICENSE
"""Running the tasks of a download: the byte budget, threads, other executors.

`run_in_threads` runs the tasks of a `~twomass_vo.retrieval.download` in a
thread pool (the default): one long-lived job per worker takes the next task
as soon as it is free, admitted by the byte budget (`Budget`), and hands its
result to the calling thread, which records the finished files (rows and
manifest) and reports progress in batches, about ten times a second. No
future, no queue hand-off and no manifest write is made per file, so that the
threads spend their time on the transfers.

`run_on_executor` runs them on any other `concurrent.futures.Executor` (a
process pool) or on Dask workers: plain, picklable tasks, each admitted by
the calling thread, which collects each future as it finishes.

`choose_executor` tells which of the two a run gets.
"""

import concurrent.futures as cf
import contextlib
import logging
import queue
import threading

from .progress import Progress
from .tasks import describe, run_task

__all__ = [
    "REFRESH",
    "Budget",
    "choose_executor",
    "run_in_threads",
    "run_on_executor",
]

log = logging.getLogger("twomass_vo.retrieval")

#: Seconds between two looks of the calling thread at the finished files
#: of `run_in_threads` (progress, manifest); it also looks when all are done.
REFRESH = 0.1


class Budget:
    """The byte budget of a run, shared by the calling thread and the workers.

    Real bytes count: those of the files done (written, or received if more,
    retries included) and, for each transfer under way, the bytes received
    so far or its estimate if larger. A transfer is admitted only while that
    is under ``max_bytes``; once it is reached the budget stays closed, so
    the files deferred are the tail of the list, and at most one file per
    worker goes past it, whatever ``access_estsize`` says.

    Parameters
    ----------
    max_bytes : int or None
        The budget (None: no limit).
    n : int
        Number of tasks.

    Attributes
    ----------
    live : list of int
        Bytes received so far, per task (in-process workers add to it).
    closed : bool
        Whether the budget was reached.
    admitted : int
        Tasks admitted so far.
    """

    def __init__(self, max_bytes, n):
        self.max_bytes = max_bytes
        self.live = [0] * n
        self.closed = False
        self.admitted = 0
        self._running = {}  # task index -> estimate
        self._done = 0
        self._ok_bytes = 0
        self._ok_files = 0
        self._lock = threading.Lock()

    def mean_size(self):
        """Return the mean size of the files written so far (0 before the first)."""
        return self._ok_bytes // self._ok_files if self._ok_files else 0

    def admit(self, index, estimate):
        """Return whether task ``index`` may start (it is then counted as running).

        Parameters
        ----------
        index : int
            The task.
        estimate : int
            Its expected size in bytes (0: not known, the mean size of the
            files written so far stands for it).

        Returns
        -------
        admitted : bool
            False once the budget is reached (it stays closed).
        """
        with self._lock:
            if not self.closed and self.max_bytes is not None:
                spent = self._done + sum(
                    max(e, self.live[i]) for i, e in self._running.items()
                )
                self.closed = spent >= self.max_bytes
            if self.closed:
                return False
            self._running[index] = estimate or self.mean_size()
            self.admitted += 1
            return True

    def finish(self, index, size, *, ok):
        """Count task ``index`` done.

        Parameters
        ----------
        index : int
            The task.
        size : int
            Bytes written (0 if it failed).
        ok : bool
            Whether the file was written.
        """
        with self._lock:
            self._running.pop(index, None)
            self._done += max(self.live[index], size)
            self.live[index] = 0
            if ok:
                self._ok_bytes += size
                self._ok_files += 1

    def in_flight(self):
        """Return the bytes received so far by the transfers under way."""
        with self._lock:
            return sum(self.live[i] for i in self._running)


def choose_executor(executor, max_workers):
    """Return the executor of a run and how to use it.

    Parameters
    ----------
    executor : `concurrent.futures.Executor`, ``distributed.Client`` or None
        What the user gave (None: a new thread pool).
    max_workers : int or None
        Parallel transfers.

    Returns
    -------
    pool : `concurrent.futures.Executor`
        Where the tasks run.
    workers : int
        Parallel transfers.
    owned : bool
        Whether the run made ``pool`` (and must shut it down).
    threads : bool
        Whether ``pool`` runs threads of this process (`run_in_threads`).

    Raises
    ------
    ValueError
        If ``max_workers`` is not an integer >= 1.
    TypeError
        If ``executor`` is neither an executor nor a Dask client.
    """
    from .. import conf

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


class _Finished:
    """What the calling thread does with each finished file: record, report."""

    def __init__(self, todo, max_bytes, progress, manifest, record):
        self.todo = todo
        self.manifest = manifest
        self.record = record
        total_bytes = sum(t.estimate for t in todo)
        if max_bytes is not None:
            total_bytes = min(total_bytes, max_bytes)
        self.bar = Progress(progress, len(todo), total_bytes)

    def take(self, results):
        """Record ``[(index, result), ...]``: rows, one manifest append, progress."""
        entries, done = [], []
        for index, res in results:
            task = self.todo[index]
            if res["status"] == "ok":
                entries.append(
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
                self.record(task, res)
                done.append(res.get("size", 0) if res["status"] == "ok" else 0)
        self.manifest.add_all(entries)  # before a progress callback may raise
        for size in done:
            self.bar.file_done(size)


def _worker_failed(task, exc):
    return {
        "name": task.name,
        "status": "failed",
        "path": "",
        "error": f"the worker failed: {describe(exc)}",
    }


def _budget_reached(max_bytes):
    log.info(
        "byte budget of %d bytes reached: the files not started are deferred",
        max_bytes,
    )


def run_in_threads(
    todo, options, *, pool, workers, archive, max_bytes, progress, manifest, record
):
    """Run ``todo`` in a pool of threads of this process.

    Each of ``workers`` jobs submitted to ``pool`` takes the next task (in
    order, admitted by the `Budget`), runs it, counts it in the budget and
    queues its result; the calling thread records the results every
    `REFRESH` seconds and once all are done. On Ctrl-C (or a progress
    callback that raises) the transfers under way are stopped, the files
    complete by then are recorded, and the exception goes on.

    Parameters
    ----------
    todo : list of `~twomass_vo.retrieval.file_tasks.Task`
        The files to write, in order.
    options : `~twomass_vo.retrieval.tasks.TaskOptions`
        What every task needs to know.
    pool : `concurrent.futures.ThreadPoolExecutor`
        Its threads run the jobs.
    workers : int
        Parallel transfers.
    archive : `~twomass_vo.archives.Archive` or None
        The rows' archive (shared by the threads).
    max_bytes : int or None
        Byte budget.
    progress : bool or callable
        As for `~twomass_vo.retrieval.progress.Progress`.
    manifest : `~twomass_vo.retrieval.manifest.Manifest`
        Where the files written are recorded.
    record : callable
        ``record(task, result)``: puts a finished file's result in its rows.
    """
    cancel = threading.Event()
    budget = Budget(max_bytes, len(todo))
    live = budget.live
    finished = _Finished(todo, max_bytes, progress, manifest, record)
    results = queue.SimpleQueue()  # (index, result)
    next_task = iter(range(len(todo)))
    taking = threading.Lock()

    def take():
        with taking:  # in order: the deferred files are the tail of the list
            index = next(next_task, None)
            if index is None:
                return None
            if budget.admit(index, todo[index].estimate):
                return index
            for _ in next_task:  # the budget stays closed: no one takes more
                pass
            return None

    def job():
        while not cancel.is_set() and (index := take()) is not None:
            task = todo[index]

            def on_bytes(k, index=index):
                live[index] += k

            try:
                res = run_task(task, options, archive, cancel, on_bytes)
            except Exception as exc:  # a bug, not a failed transfer
                res = _worker_failed(task, exc)
            budget.finish(index, res.get("size", 0), ok=res["status"] == "ok")
            results.put((index, res))

    def collect():
        batch = []
        while True:
            try:
                batch.append(results.get_nowait())
            except queue.Empty:
                break
        finished.take(batch)

    jobs = [pool.submit(job) for _ in range(min(workers, len(todo)))]
    try:
        pending = jobs
        while pending:
            _, pending = cf.wait(jobs, timeout=REFRESH)
            collect()
            if budget.closed:
                finished.bar.total_files = budget.admitted
            if finished.bar.tty:
                finished.bar.refresh(budget.in_flight())
        for future in jobs:
            future.result()  # what ended a job, if not its tasks (a broken pool)
        if budget.closed and budget.admitted < len(todo):
            _budget_reached(max_bytes)
    except BaseException:
        # Ctrl-C or a progress callback that raised: stop the transfers, keep
        # what is complete (record it in the manifest), re-raise
        finished.bar.callback = None
        cancel.set()
        for future in jobs:
            future.cancel()
        cf.wait(jobs, timeout=min(options.timeout, 5.0))
        with contextlib.suppress(Exception):
            collect()
        raise
    finally:
        finished.bar.close()


def run_on_executor(
    todo, options, *, pool, workers, max_bytes, progress, manifest, record
):
    """Run ``todo`` on a process pool or Dask workers: plain, picklable tasks.

    The calling thread admits each task by the `Budget` before submitting
    it (at most one per worker while a budget is kept, else two), collects
    each future as it finishes and records it. On Ctrl-C (or a progress
    callback that raises) the tasks not started are cancelled, those done
    are recorded, and the exception goes on.

    Parameters
    ----------
    todo : list of `~twomass_vo.retrieval.file_tasks.Task`
        The files to write, in order.
    options : `~twomass_vo.retrieval.tasks.TaskOptions`
        What every task needs to know.
    pool : `concurrent.futures.Executor`
        Where the tasks run.
    workers : int
        Parallel transfers.
    max_bytes : int or None
        Byte budget.
    progress : bool or callable
        As for `~twomass_vo.retrieval.progress.Progress`.
    manifest : `~twomass_vo.retrieval.manifest.Manifest`
        Where the files written are recorded.
    record : callable
        ``record(task, result)``: puts a finished file's result in its rows.
    """
    budget = Budget(max_bytes, len(todo))
    finished = _Finished(todo, max_bytes, progress, manifest, record)
    window = 2 * workers if max_bytes is None else workers
    in_flight = {}  # future -> task index
    done = queue.SimpleQueue()  # futures, as they finish
    next_index = 0

    def collect(future):
        index = in_flight.pop(future)
        task = todo[index]
        try:
            res = future.result()
        except BaseException as exc:  # a worker died, the pool broke, cancelled
            if not isinstance(exc, Exception | cf.CancelledError):
                raise
            res = _worker_failed(task, exc)
        budget.finish(index, res.get("size", 0), ok=res["status"] == "ok")
        return index, res

    try:
        while next_index < len(todo) or in_flight:
            while next_index < len(todo) and len(in_flight) < window:
                task = todo[next_index]
                if not budget.admit(next_index, task.estimate):
                    _budget_reached(max_bytes)
                    next_index = len(todo)  # the rest stay "deferred"
                    break
                future = pool.submit(run_task, task, options)
                in_flight[future] = next_index
                future.add_done_callback(done.put)
                next_index += 1
            if not in_flight:
                break
            finished.take([collect(future) for future in _finished(done)])
            if budget.closed:
                finished.bar.total_files = budget.admitted
            finished.bar.refresh(0)
    except BaseException:
        finished.bar.callback = None
        for future in in_flight:
            future.cancel()
        with contextlib.suppress(Exception):
            finished.take(
                [collect(f) for f in list(in_flight) if f.done() and not f.cancelled()]
            )
        raise
    finally:
        finished.bar.close()


def _finished(done):
    """Return the futures that finished: wait up to `REFRESH` for one."""
    try:
        found = [done.get(timeout=REFRESH)]
    except queue.Empty:
        return []
    while True:
        try:
            found.append(done.get_nowait())
        except queue.Empty:
            return found
