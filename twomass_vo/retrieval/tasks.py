# Licensed under a 3-clause BSD style license - see LICENSE
"""One file of a download run: fetch, copy, decompress or cut out, then check.

`run_task` writes the file of one `~twomass_vo.retrieval.file_tasks.Task` into the
run's folder, under a hidden temporary name renamed once the file is complete
and its FITS structure checked (`~twomass_vo._files.atomic_files.atomic_writer`), and
reports what happened as a plain, picklable dict: it runs in a thread, a
process-pool worker or a Dask worker alike. The runs that schedule tasks are
in `twomass_vo.retrieval.runs`.
"""

import hashlib
import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from astropy.io import fits

from .._files.atomic_files import atomic_writer, write_atomic
from .._files.local_files import copy_regular, local_source
from .._http.fetch import Cancelled, FetchError, fetch
from .._http.retry_policy import RetryPolicy
from ..archives.simulated.archive import SimulatedStores
from .compressed_fits import open_fits, plain_fits
from .file_cache import cached_copy, cached_path
from .fits_check import check_fits
from .loaders import cutout_hdul, decompressed_hdul

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
    policy : `~twomass_vo._http.retry_policy.RetryPolicy`
        Retries of each ``http(s)`` file.
    max_file_size : int
        Per-file ceiling in bytes.
    cache_root : str
        The cache folder (`~twomass_vo.retrieval.file_cache.cache_dir`).
    cache_shards : frozenset of str
        Its subfolders (`~twomass_vo.retrieval.file_cache.cache_shards`),
        looked at once.
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
        The message of a `~twomass_vo._http.fetch.FetchError` or `ValueError`
        (they say what happened); else the exception's type and message.
    """
    if isinstance(exc, FetchError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _copy_local(source, target, options, cancel, on_bytes):
    """Copy a local regular file (never a FIFO or device) within the ceiling.

    A gzip-compressed file is written decompressed (`plain_fits`).
    """
    try:
        with atomic_writer(target, check=check_fits) as out:
            copied = copy_regular(
                source,
                out,
                max_size=options.max_file_size,
                cancel=cancel,
                on_bytes=on_bytes,
            )
            plain = plain_fits(out, max_size=options.max_file_size, source=str(source))
        return plain or copied
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


def _fetch_plain(url, target, options, cancel, on_bytes):
    """Fetch a FITS file into ``target``, decompressed if its bytes are gzip.

    The name of the URL decides nothing: IRSA's ``.fits.gz`` files come
    gzip-compressed, their cutouts with ``gzip=false`` come plain. The body
    goes straight to the target's temporary file; a gzip body is then
    decompressed in place within ``max_file_size`` and checked like every
    other file. Returns the size and SHA-256 of the written file.
    """
    with atomic_writer(target, check=check_fits) as fh:
        fetched = _fetch(url, fh, options, cancel, on_bytes)
        plain = plain_fits(fh, max_size=options.max_file_size, source=url)
    return plain or (fetched.size, fetched.sha256)


class _ImageCache:
    """The last images cut out, decompressed, kept by file (per process).

    Several cutouts of one file (positions in one image set; Quicklook files,
    whose HCOMPRESS decoding costs far more than the cut) then read and
    decompress it once. Bounded by `_ImageCache.LIMIT` bytes of pixels; a
    file is known by its path, size and modification time.
    """

    #: Bytes of pixels kept at most.
    LIMIT = 256 << 20

    def __init__(self):
        self._images = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, path, max_size):
        """Return the file's image as a one-HDU `~astropy.io.fits.HDUList`."""
        info = os.stat(path)
        key = (os.fspath(path), info.st_size, info.st_mtime_ns)
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        with open_fits(path, max_size=max_size) as hdul:
            image = decompressed_hdul(hdul)
            image = fits.HDUList([image[0].copy()]) if image is hdul else image
        nbytes = image[0].data.nbytes if image[0].data is not None else 0
        with self._lock:
            if key not in self._images and nbytes <= self.LIMIT:
                self._images[key] = image
                self._bytes += nbytes
                while self._bytes > self.LIMIT:
                    _, old = self._images.popitem(last=False)
                    self._bytes -= old[0].data.nbytes
        return image


_IMAGES = _ImageCache()


def run_task(task, options, archive=None, cancel=None, on_bytes=None):
    """Write the file of one task into the folder; never raises (but for Ctrl-C).

    Parameters
    ----------
    task : `~twomass_vo.retrieval.file_tasks.Task`
        The file: its name, source URL and mode (``copy``, ``decompress``
        or ``cutout``).
    options : `TaskOptions`
        The run's folder, timeouts, retries and ceiling.
    archive : `~twomass_vo.archives.Archive`, optional
        The archive of the rows (for the local files of its own store);
        without one (rows read back from a file, tasks on a process pool),
        the simulated stores
        (`~twomass_vo.archives.simulated.archive.SimulatedStores`) make
        their files.
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
    if archive is None:
        archive = SimulatedStores()
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
            else:
                size, sha = _fetch_plain(task.url, target, options, cancel, on_bytes)
        elif task.mode == "decompress":
            path = _source(task.url, options, archive, cancel, on_bytes)
            with open_fits(path, max_size=options.max_file_size) as hdul:
                size, sha = _write_hdul(target, decompressed_hdul(hdul))
        else:
            path = _source(task.url, options, archive, cancel, on_bytes)
            image = _IMAGES.get(path, options.max_file_size)
            ra, dec, size_arcsec = task.cutout
            size, sha = _write_hdul(target, cutout_hdul(image, ra, dec, size_arcsec))
        result.update(status="ok", path=target, size=size, sha256=sha)
    except Cancelled:
        result.update(status="cancelled", error="stopped")
    except Exception as exc:
        result.update(error=describe(exc))
    return result
