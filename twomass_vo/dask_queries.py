# Licensed under a 3-clause BSD style license - see LICENSE
"""Batches beyond one machine: the positions and sources modes on dask DataFrames.

`~twomass_vo.TwoMassBatch.query_positions` and
`~twomass_vo.TwoMassBatch.query_sources` given a dask DataFrame return one
(`query_frame`): the rows and columns of the in-process result, computed
partition by partition on whatever scheduler is in use -- a
``dask.distributed`` ``Client`` (a `~distributed.LocalCluster` or a real
cluster), or dask's local threads.

- **Before any work** the columns are checked on the frame's (empty) meta,
  with the same validation as in process; then the rows of each partition
  are counted (one pass over the input) so that ``scntr`` is the global input
  row, as in process, and an `~twomass_vo.exceptions.InputError` names the
  global row.
- **The archive travels as a small handle** (`ArchiveHandle`): a
  `~twomass_vo.archives.LocalArchive` or the simulated survey pickles as its
  folder, and each worker process opens (memory-maps) the index once and
  keeps it; nothing of the index is shipped in the task graph.
- **VO services are not flooded**: a partition asks a VO archive (IRSA, a
  mirror) only while holding one of ``twomass_vo.conf.service_concurrency``
  slots -- a ``distributed.Semaphore`` shared by the whole cluster under
  ``dask.distributed``, a semaphore of the process otherwise; within a
  partition the archive's chunked uploads run one after the other.
- **Results** are pandas frames of the ImageTable columns, the query
  metadata in their ``attrs`` (`twomass_vo.results.parquet`): write them with
  `~twomass_vo.results.parquet.write_parquet`, turn a partition back into an
  `~twomass_vo.ImageTable` with
  `~twomass_vo.results.parquet.partition_table`, download them partition by
  partition with `download_partitions` (the download engine's budget,
  resume and manifest, one partition in memory at a time).
- **Not found** (sources mode): the result's ``not_found`` attribute is a
  dask DataFrame of the input rows whose link found nothing (``row``,
  ``reason``, the input columns); compute it together with the result
  (``dask.compute(result, result.not_found)``) to run the partitions once.
  Workers raise no `~twomass_vo.exceptions.NoResultsWarning` or
  `~twomass_vo.exceptions.NotFoundWarning`: the frames say it.

Needs the ``dask`` extra (dask[distributed,dataframe], pandas, pyarrow).
"""

import contextlib
import glob
import hashlib
import pickle
import threading
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import InputError, InvalidQueryError
from .results.parquet import image_frame, partition_table

__all__ = [
    "ArchiveHandle",
    "PartitionDownloads",
    "download_partitions",
    "frame_input",
    "is_dask_frame",
    "is_frame_path",
    "query_frame",
    "service_slot",
]

#: File name endings of the tables read as dask DataFrames by `frame_input`.
FRAME_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def is_dask_frame(obj):
    """Whether ``obj`` is a dask DataFrame.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    answer : bool
        True for a ``dask.dataframe.DataFrame`` (without importing dask).
    """
    module = type(obj).__module__.split(".")[0]
    return module in ("dask", "dask_expr") and hasattr(obj, "npartitions")


class ArchiveHandle:
    """A picklable reference to an archive, opened once per worker process.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        The archive. Local archives with a folder (and the simulated survey)
        pickle as their folder; other archives as their settings (an
        in-memory `~twomass_vo.archives.LocalArchive` as its columns).

    Attributes
    ----------
    local : bool
        Whether the archive asks no service
        (`~twomass_vo.archives.Archive.asks_services` is False).
    name : str
        Names the archive's service slots (`service_slot`).
    """

    #: The archives opened in this process, by the hash of their pickle.
    _opened: typing.ClassVar[dict] = {}
    _lock = threading.Lock()

    def __init__(self, archive):
        self.local = not archive.asks_services
        self.name = f"twomass_vo-{type(archive).__name__}-{archive.name}"
        self._pickled = self._key = None
        self._here = archive

    def __getstate__(self):
        # pickled only when the tasks leave this process (not for threads)
        if self._pickled is None:
            self._pickled = pickle.dumps(self._here)
            self._key = hashlib.sha256(self._pickled).hexdigest()
        state = dict(self.__dict__)
        state["_here"] = None  # the process that made the handle has it
        return state

    def open(self):
        """Return the archive: in a worker, opened on first use and kept.

        Returns
        -------
        archive : `~twomass_vo.archives.Archive`
            The same archive object for every task of the process.
        """
        if self._here is not None:
            return self._here
        with self._lock:
            archive = self._opened.get(self._key)
            if archive is None:
                archive = self._opened[self._key] = pickle.loads(self._pickled)
        return archive


_SLOTS = {}
_SLOTS_LOCK = threading.Lock()


@contextlib.contextmanager
def service_slot(handle):
    """Hold one of the archive's service slots while a partition asks it.

    Parameters
    ----------
    handle : `ArchiveHandle`
        The archive; local archives need no slot.

    Yields
    ------
    None
        While the slot is held: at most ``twomass_vo.conf.service_concurrency``
        partitions at a time ask one VO archive -- cluster-wide in a
        ``dask.distributed`` worker, per process otherwise.
    """
    if handle.local:
        yield
        return
    from . import conf

    limit = int(conf.service_concurrency)
    if limit < 1:
        raise InvalidQueryError(
            f"twomass_vo.conf.service_concurrency={limit} must be at least 1"
        )
    semaphore = _cluster_semaphore(handle.name, limit)
    if semaphore is None:
        with _SLOTS_LOCK:
            key = (handle.name, limit)
            semaphore = _SLOTS.setdefault(key, threading.BoundedSemaphore(limit))
    with semaphore:
        yield


def _cluster_semaphore(name, limit):
    """Return a ``distributed.Semaphore`` in a distributed worker, else None."""
    try:
        from distributed import Semaphore, get_worker

        get_worker()
    except (ImportError, ValueError):
        return None
    return Semaphore(max_leases=limit, name=name)


def _validate_schema(frame, mode, options):
    """Run the in-process validation on the frame's empty meta (no rows)."""
    from .inputs.tables import read_input_table

    empty = read_input_table(frame._meta, name=f"{mode} table")
    if mode == "positions":
        from .inputs.positions import positions_request

        positions_request(
            empty,
            best=options["best"],
            size=options["size"],
            resolver=options["resolver"],
        )
        return
    from .inputs.sources import check_link_columns, sources_request

    request = sources_request(empty, link=options["link"], size=options["size"])
    if request.link == "measured":
        check_link_columns(empty)


def query_frame(archive, frame, *, mode, options, meta):
    """Run the positions or sources mode on a dask DataFrame, partition by partition.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`
        Where to look (see `ArchiveHandle`).
    frame : dask DataFrame
        The input rows, with the columns of the in-process mode.
    mode : {'positions', 'sources'}
        The batch mode.
    options : dict
        The mode's validated options: ``bands``, ``image_type``,
        ``chunk_size``, ``size`` and ``best`` and ``resolver`` (positions)
        or ``link`` (sources).
    meta : dict
        The query metadata of the result
        (`~twomass_vo.results.query_metadata.record_query`).

    Returns
    -------
    result : dask DataFrame
        One partition per input partition, the columns of an
        `~twomass_vo.ImageTable` (see `~twomass_vo.results.parquet.image_frame`),
        ``scntr`` the global input row. For the sources mode its attribute
        ``not_found`` is the dask DataFrame of the rows that found no image.

    Raises
    ------
    InputError
        Before any work, for missing columns; when computed, for the first
        bad value of a partition (naming the global row).
    """
    import dask
    import dask.dataframe as dd

    from .results.image_table import ImageTable

    _validate_schema(frame, mode, options)
    lengths = np.asarray(frame.map_partitions(len).compute(), np.int64)
    offsets = np.cumsum(lengths) - lengths
    meta = dict(meta)
    meta["parameters"] = {**meta.get("parameters", {}), "n_inputs": str(lengths.sum())}
    handle = ArchiveHandle(archive)
    runs = [
        dask.delayed(_partition, pure=True)(
            part, int(offset), handle, mode, options, meta
        )
        for part, offset in zip(frame.to_delayed(), offsets, strict=True)
    ]
    empty = image_frame(ImageTable.empty(warn=False), meta=meta)
    result = dd.from_delayed([run[0] for run in runs], meta=empty, verify_meta=False)
    if mode == "sources":
        lost = _not_found_rows(frame._meta, np.zeros(0, np.int64), [], 0)
        result.not_found = dd.from_delayed(
            [run[1] for run in runs], meta=lost, verify_meta=False
        )
    return result


def _partition(part, offset, handle, mode, options, meta):
    """Run the mode on one partition; return its result frame and not-found rows."""
    from .inputs.tables import read_input_table

    archive = handle.open()
    table = read_input_table(part, name=f"{mode} table")
    common = {
        "bands": options["bands"],
        "image_type": options["image_type"],
        "chunk_size": options["chunk_size"],
        "warn": False,
    }
    try:
        with service_slot(handle):
            if mode == "positions":
                from .inputs.positions import positions_request
                from .planner import plan_positions

                request = positions_request(
                    table,
                    best=options["best"],
                    size=options["size"],
                    resolver=options["resolver"],
                )
                result = plan_positions(archive, request, **common)
            else:
                from .inputs.sources import sources_request
                from .source_links import plan_sources

                request = sources_request(
                    table, link=options["link"], size=options["size"]
                )
                result = plan_sources(archive, request, **common)
    except InputError as exc:
        if exc.row is None:
            raise
        raise InputError(
            exc.reason, row=exc.row + offset, column=exc.column, value=exc.value
        ) from exc
    result["scntr"] = np.asarray(result["scntr"]) + offset
    frame = image_frame(result, meta=meta)
    if mode != "sources":
        return frame, None
    lost = result.not_found
    rows = np.asarray(lost["row"], np.int64)
    return frame, _not_found_rows(part, rows, list(lost["reason"]), offset)


def _not_found_rows(part, rows, reasons, offset):
    """Return a partition's not-found rows: ``row``, ``reason``, the input."""
    import pandas as pd

    out = part.iloc[rows].reset_index(drop=True)
    for name in ("row", "reason"):
        if name in out.columns:  # the input's own column keeps its values
            out = out.rename(columns={name: f"{name}_input"})
    out.insert(0, "row", rows + offset)
    out.insert(1, "reason", pd.array(reasons, dtype="string[pyarrow]"))
    return out


def is_frame_path(path):
    """Whether a table argument names Parquet/CSV files read as a dask DataFrame.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A table argument of the command line.

    Returns
    -------
    answer : bool
        True for a glob pattern, a folder, or a ``.parquet`` file.
    """
    text = str(path)
    return (
        any(c in text for c in "*?[")
        or Path(text).is_dir()
        or FRAME_SUFFIXES.get(Path(text).suffix.lower()) == "parquet"
    )


def frame_input(path):
    """Read a table path as a dask DataFrame when it names Parquet or CSV files.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A folder of ``.parquet`` (or ``.csv``) files, a glob pattern such as
        ``'targets/*.parquet'``, or one ``.parquet`` file.

    Returns
    -------
    frame : dask DataFrame or None
        The rows (one partition per file or block; CSV columns as text, as
        the in-process reader reads them), or None for other paths (a
        single table file of another format, read in process).

    Raises
    ------
    InputError
        For a pattern or folder that matches no Parquet or CSV file.
    """
    if not is_frame_path(path):
        return None
    import dask.dataframe as dd

    text = str(path)
    pattern = any(c in text for c in "*?[")
    folder = Path(text).is_dir()

    files = sorted(glob.glob(text)) if pattern else [text]
    if folder:
        files = sorted(
            str(f) for f in Path(text).iterdir() if f.suffix.lower() in FRAME_SUFFIXES
        )
    kinds = {FRAME_SUFFIXES.get(Path(f).suffix.lower()) for f in files}
    if not files or None in kinds or len(kinds) != 1:
        raise InputError(
            "matches no Parquet or CSV files (a folder or pattern must name "
            ".parquet or .csv files of one kind)",
            column="table",
            value=text,
        )
    if kinds == {"parquet"}:
        return dd.read_parquet(files)
    return dd.read_csv(files, dtype=str, keep_default_na=False, blocksize="64MB")


@dataclass(frozen=True)
class PartitionDownloads:
    """What `download_partitions` did.

    Attributes
    ----------
    rows : int
        Rows of the result, all partitions.
    done : int
        Rows whose file is in the folder (``ok`` or ``cached``).
    rest : `~twomass_vo.ImageTable`
        The rows not retrieved (``deferred`` by the byte budget, or
        ``failed``), with ``local_path``, ``status`` and ``error``: pass them
        to `~twomass_vo.ImageTable.download` again, or run the same download
        again (files already there are kept).
    """

    rows: int
    done: int
    rest: object


def download_partitions(frame, folder, *, archive=None, max_bytes=2**30, **options):
    """Download the files of a dask result partition by partition.

    Each partition is computed, turned into an `~twomass_vo.ImageTable`
    (`~twomass_vo.results.parquet.partition_table`) and downloaded by the
    download engine (`~twomass_vo.ImageTable.download`: parallel, checked,
    resumable, recorded in the folder's manifest) before the next is
    computed, so one partition is in memory at a time; the byte budget is
    shared by all partitions.

    Parameters
    ----------
    frame : dask DataFrame
        A dask result (or `~twomass_vo.results.parquet.read_parquet_frame`).
    folder : str or `~pathlib.Path`
        Target folder (for a Dask ``executor``, visible to every worker).
    archive : `~twomass_vo.archives.Archive`, optional
        The archive of the rows (makes simulated files on demand).
    max_bytes : int, str, `~astropy.units.Quantity` or None, optional
        Byte budget of the whole run (default 1 GiB); once spent, the rows
        of the files not started are ``deferred``.
    **options
        ``max_workers``, ``executor``, ``progress``, ``retries``,
        ``timeout``, ``overwrite``, ``decompress`` of
        `~twomass_vo.ImageTable.download`.

    Returns
    -------
    downloads : `PartitionDownloads`
        Rows in all, rows done, and the rest.
    """
    from astropy.table import vstack

    from .results.image_table import ImageTable
    from .retrieval.file_tasks import byte_count

    budget = byte_count(max_bytes, "max_bytes")
    spent, rows, done, rests = 0, 0, 0, []
    for part in frame.to_delayed():
        table = partition_table(part.compute(), archive=archive)
        if not len(table):
            continue
        left = None if budget is None else max(budget - spent, 0)
        result = table.download(folder, max_bytes=left, **options)
        status = np.asarray(result["status"]).astype(str)
        paths = np.asarray(result["local_path"]).astype(str)
        spent += sum(Path(p).stat().st_size for p in set(paths[status == "ok"]))
        rows += len(result)
        done += int(np.isin(status, ["ok", "cached"]).sum())
        rests.append(result[np.isin(status, ["deferred", "failed"])])
    if rests:
        rest = ImageTable(vstack(rests, metadata_conflicts="silent"), archive=archive)
    else:
        rest = ImageTable.empty(archive=archive, warn=False)
    return PartitionDownloads(rows=rows, done=done, rest=rest)
