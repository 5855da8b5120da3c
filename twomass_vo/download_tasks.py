# Licensed under a 3-clause BSD style license - see LICENSE
"""One file of a download run: fetch, copy, decompress or cut out, then check.

`run_task` writes the file of one `~twomass_vo.download_plan.Task` into the
run's folder, under a hidden temporary name renamed once the file is complete
and its FITS structure checked (`~twomass_vo.atomic_files.atomic_writer`), and
reports what happened as a plain, picklable dict: it runs in a thread, a
process-pool worker or a Dask worker alike. The runs that schedule tasks are
in `twomass_vo.download_runs`.
"""

import hashlib
import io
import os
from dataclasses import dataclass
from urllib.parse import urlparse

from . import archives  # noqa: F401 - archives register their file makers
from .atomic_files import atomic_writer, write_atomic
from .fetch import Cancelled, FetchError, fetch
from .file_cache import cached_copy, cached_path
from .fits_check import check_fits
from .loaders import cutout_hdul, decompressed_hdul
from .local_files import copy_regular, local_source, open_regular
from .retry_policy import RetryPolicy

__all__ = ["TaskOptions", "describe", "run_task"]


@dataclass(frozen=True)
class TaskOptions:
    """What every task of a run needs to know (picklable).

    Attributes
    ----------
    folder : str
        The target folder (resolved).
    timeout : float
        Seconds per request.
    policy : `~twomass_vo.retry_policy.RetryPolicy`
        Retries of each ``http(s)`` file.
    max_file_size : int
        Per-file ceiling in bytes.
    cache_root : str
        The cache folder (`~twomass_vo.file_cache.cache_dir`).
    cache_shards : frozenset of str
        Its subfolders (`~twomass_vo.file_cache.cache_shards`), looked at once.
    """

    folder: str
    timeout: float
    policy: RetryPolicy
    max_file_size: int
    cache_root: str
    cache_shards: frozenset


def describe(exc):
    """Return the message of a failed file: what went wrong, in one line.

    Parameters
    ----------
    exc : Exception
        What the transfer raised.

    Returns
    -------
    message : str
        The message of a `~twomass_vo.fetch.FetchError` or `ValueError`
        (they say what happened); else the exception's type and message.
    """
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


def _fetch(url, fh, options, cancel, on_bytes):
    """Stream ``url`` into ``fh`` with the run's timeout, retries and ceiling."""
    return fetch(
        url,
        fh,
        timeout=options.timeout,
        policy=options.policy,
        max_size=options.max_file_size,
        cancel=cancel,
        on_bytes=on_bytes,
    )


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
        _fetch(url, raw, options, cancel, on_bytes)
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


def run_task(task, options, archive=None, cancel=None, on_bytes=None):
    """Write the file of one task into the folder; never raises (but for Ctrl-C).

    Parameters
    ----------
    task : `~twomass_vo.download_plan.Task`
        The file: its name, source URL and mode (``copy``, ``decompress``
        or ``cutout``).
    options : `TaskOptions`
        The run's folder, timeouts, retries and ceiling.
    archive : `~twomass_vo.archives.Archive`, optional
        The archive of the rows (for the local files of its own store).
    cancel : `threading.Event`, optional
        Set to stop the transfer (status ``cancelled``).
    on_bytes : callable, optional
        Called with the number of bytes of each chunk received.

    Returns
    -------
    result : dict
        ``name``, ``status`` (``ok``, ``failed`` or ``cancelled``), ``path``
        and ``error``; with ``size`` and ``sha256`` when ``ok``.
    """
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
                    fetched = _fetch(task.url, fh, options, cancel, on_bytes)
                size, sha = fetched.size, fetched.sha256
        else:
            from astropy.io import fits

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
        result.update(error=describe(exc))
    return result
