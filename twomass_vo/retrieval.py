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
- **Budget.** ``max_bytes`` (1 GiB by default, the old service's limit) stops
  new transfers once the bytes written, plus those reserved by the
  transfers under way, reach it; the rows not started are ``deferred`` and
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
import json
import logging
import math
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from astropy.table import Column

from .fetch import Cancelled, FetchError, RetryPolicy, fetch
from .loaders import (
    PART_PREFIX,
    _decompressed,
    atomic_writer,
    cutout_center,
    cutout_hdul,
    file_name_for,
    local_source,
    write_atomic,
)

__all__ = [
    "MANIFEST_NAME",
    "ONE_GIB",
    "STATUSES",
    "Manifest",
    "RetryPolicy",
    "cache_dir",
    "cached_path",
    "check_fits",
    "clear_cache",
    "download",
]

log = logging.getLogger("twomass_vo.retrieval")

#: The default byte budget of one `download` run: the old service's 1 GB limit.
ONE_GIB = 2**30
#: Name of the manifest in a download folder.
MANIFEST_NAME = "twomass_vo-manifest.jsonl"
#: The values of the ``status`` column.
STATUSES = ("ok", "cached", "failed", "deferred")
_BLOCK = 2880
_COPY_CHUNK = 1 << 20


# --------------------------------------------------------------------- FITS check
def _card_int(card):
    value = card[10:].split(b"/", 1)[0].strip()
    return int(value)


def check_fits(path):
    """Check that a file is a complete FITS file (structure only, no data read).

    Every HDU header is parsed up to ``END``; the data size that the header
    announces (``BITPIX``, ``NAXISn``, ``PCOUNT``, ``GCOUNT``) is skipped,
    padded to 2880 bytes; the last HDU must end exactly at the end of the
    file. Only the headers are read, so this is cheap for large files and
    safe in threads (no astropy warnings).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file.

    Raises
    ------
    ValueError
        If the file is not FITS, or is truncated or has extra bytes.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != b"SIMPLE  ":
        raise ValueError(f"not a FITS file: it starts with {head!r}")
    if size % _BLOCK:
        raise ValueError(
            f"not a complete FITS file: its length ({size} bytes) is not a "
            f"multiple of {_BLOCK}"
        )
    offset = 0
    with open(path, "rb") as fh:
        while offset < size:
            fh.seek(offset)
            keys = {}
            first = None
            blocks = 0
            end = False
            while not end:
                block = fh.read(_BLOCK)
                if len(block) < _BLOCK:
                    raise ValueError(
                        f"not a complete FITS file: a header at byte {offset} has "
                        "no END card"
                    )
                if not block.isascii():
                    raise ValueError(
                        f"not a FITS file: non-ASCII header at byte {offset}"
                    )
                blocks += 1
                for i in range(0, _BLOCK, 80):
                    card = block[i : i + 80]
                    key = card[:8].rstrip()
                    if first is None:
                        first = key
                        if (offset == 0 and key != b"SIMPLE") or (
                            offset > 0 and key != b"XTENSION"
                        ):
                            raise ValueError(
                                f"not a FITS file: the header at byte {offset} "
                                f"starts with {card[:8].decode().strip()!r}"
                            )
                    if key == b"END":
                        end = True
                        break
                    if card[8:10] == b"= " and (
                        key in (b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT", b"GROUPS")
                        or key.startswith(b"NAXIS")
                    ):
                        keys[key] = card
            try:
                bitpix = abs(_card_int(keys[b"BITPIX"]))
                naxis = _card_int(keys[b"NAXIS"])
                axes = [_card_int(keys[b"NAXIS%d" % (k + 1)]) for k in range(naxis)]
                pcount = _card_int(keys[b"PCOUNT"]) if b"PCOUNT" in keys else 0
                gcount = _card_int(keys[b"GCOUNT"]) if b"GCOUNT" in keys else 1
            except (KeyError, ValueError):
                raise ValueError(
                    f"not a FITS file: the header at byte {offset} lacks a valid "
                    "BITPIX or NAXISn"
                ) from None
            if b"GROUPS" in keys and axes and axes[0] == 0:
                axes = axes[1:]  # random groups: NAXIS1 = 0
            elements = math.prod(axes) if axes else 0
            data = bitpix // 8 * gcount * (pcount + elements) if naxis else 0
            offset += blocks * _BLOCK + -(-data // _BLOCK) * _BLOCK
    if offset != size:
        raise ValueError(
            f"not a complete FITS file: its HDUs end at byte {offset}, the file "
            f"at {size}"
        )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- cache
def cache_dir():
    """Return the folder of the file cache.

    Returns
    -------
    path : `~pathlib.Path`
        ``twomass_vo.conf.cache_dir`` if set, else
        ``<astropy cache dir>/twomass_vo/files``.
    """
    from . import conf

    if conf.cache_dir:
        return Path(conf.cache_dir).expanduser()
    from astropy.config import get_cache_dir_path

    return get_cache_dir_path() / "twomass_vo" / "files"


_CACHE_FILE = re.compile(r"[0-9a-f]{64}\.(fits|json)|\.part-[0-9a-f]{32}")
_URL_LOCKS = {}  # url -> [lock, users]: one fetch per URL at a time
_URL_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def _url_lock(url):
    with _URL_LOCKS_GUARD:
        entry = _URL_LOCKS.setdefault(url, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _URL_LOCKS_GUARD:
            entry[1] -= 1
            if entry[1] == 0:
                del _URL_LOCKS[url]


def _cache_files(url):
    digest = hashlib.sha256(url.encode()).hexdigest()
    folder = cache_dir() / digest[:2]
    return folder / f"{digest}.fits", folder / f"{digest}.json"


def _cache_lookup(url):
    data, meta = _cache_files(url)
    try:
        info = json.loads(meta.read_text())
        if info["url"] == url and data.stat().st_size == info["size"]:
            return data
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _policy(retries):
    from . import conf

    if isinstance(retries, RetryPolicy):
        return retries
    if retries is None:
        retries = conf.retries
    if isinstance(retries, bool) or int(retries) != retries or retries < 0:
        raise ValueError(
            f"retries={retries!r} must be an integer >= 0 or a RetryPolicy"
        )
    return RetryPolicy(retries=int(retries), budget=float(conf.retry_budget))


def cached_path(
    url, *, timeout=None, retries=None, max_file_size=None, cancel=None, on_bytes=None
):
    """Local copy of an ``http(s)`` FITS file, fetched once into the cache.

    The file is fetched with retries (`twomass_vo.fetch.fetch`), checked
    (`check_fits`) and only then renamed into the cache, with a small JSON
    record (URL, size, SHA-256) beside it: a failed or invalid fetch is never
    cached. Concurrent calls for one URL fetch it once.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    timeout : float, optional
        Seconds per request (default ``twomass_vo.conf.timeout``).
    retries : int or `~twomass_vo.fetch.RetryPolicy`, optional
        Retries (default ``twomass_vo.conf.retries``).
    max_file_size : int, optional
        Per-file ceiling in bytes (default ``twomass_vo.conf.max_file_size``).
    cancel : `threading.Event`, optional
        Stops the fetch when set.
    on_bytes : callable, optional
        Called with the length of each chunk received.

    Returns
    -------
    path : `~pathlib.Path`
        The cached file.

    Raises
    ------
    twomass_vo.fetch.FetchError
        If the file could not be fetched.
    ValueError
        If what was fetched is not a complete FITS file.
    """
    from . import conf

    url = str(url)
    hit = _cache_lookup(url)
    if hit is not None:
        return hit
    with _url_lock(url):
        hit = _cache_lookup(url)
        if hit is not None:
            return hit
        data, meta = _cache_files(url)
        with atomic_writer(data, check=check_fits) as fh:
            result = fetch(
                url,
                fh,
                timeout=float(conf.timeout if timeout is None else timeout),
                policy=_policy(retries),
                max_size=int(
                    conf.max_file_size if max_file_size is None else max_file_size
                ),
                cancel=cancel,
                on_bytes=on_bytes,
            )
        record = {"url": url, "size": result.size, "sha256": result.sha256}
        write_atomic(meta, json.dumps(record).encode())
        return data


def clear_cache():
    """Remove every file of the file cache (`cache_dir`).

    Only the cache's own files (``<sha256>.fits``, ``<sha256>.json`` and
    leftover temporary files, in their two-letter folders) are removed.

    Returns
    -------
    n : int
        Number of cached files removed.
    """
    root = cache_dir()
    removed = 0
    if not root.is_dir():
        return 0
    for sub in root.iterdir():
        if not (sub.is_dir() and re.fullmatch(r"[0-9a-f]{2}", sub.name)):
            continue
        for path in sub.iterdir():
            if _CACHE_FILE.fullmatch(path.name):
                path.unlink(missing_ok=True)
                removed += path.suffix == ".fits"
        with contextlib.suppress(OSError):
            sub.rmdir()
    return removed


# ------------------------------------------------------------------------ manifest
class Manifest:
    """The record of the files written into a download folder.

    One JSON object per line in ``<folder>/twomass_vo-manifest.jsonl``,
    appended (and flushed) as each file is done, so that a run interrupted at
    any point leaves a readable record: ``name`` (the file), ``url`` (its
    source), ``size`` (bytes), ``sha256``, plus ``cutout`` (``[ra, dec,
    size_arcsec]``) for cutouts made locally and ``decompressed`` for
    Quicklook files written decompressed. A line cut short by a crash is
    ignored; the last line of a name wins. `close` rewrites it compactly,
    one line per file present, sorted by name.

    Parameters
    ----------
    folder : str or `~pathlib.Path`
        The download folder.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.entries = {}
        self._fh = None
        self._dirty = False
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                self._dirty = True
                continue
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                if entry["name"] in self.entries:
                    self._dirty = True
                self.entries[entry["name"]] = entry

    def get(self, name):
        """Return the entry of file ``name``, or None.

        Parameters
        ----------
        name : str
            File name in the folder.

        Returns
        -------
        entry : dict or None
            The recorded ``url``, ``size``, ``sha256``, ...
        """
        return self.entries.get(name)

    def add(self, entry):
        """Record a file (appended to the manifest at once).

        Parameters
        ----------
        entry : dict
            With at least ``name``, ``url``, ``size`` and ``sha256``.
        """
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._fh.write(json.dumps(entry, sort_keys=True) + "\n")
        self._fh.flush()
        self._dirty = self._dirty or entry["name"] in self.entries
        self.entries[entry["name"]] = entry

    def close(self):
        """Rewrite the manifest compactly: one line per file present, by name."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._dirty = True
        present = {
            name: entry
            for name, entry in self.entries.items()
            if (self.folder / name).is_file()
        }
        if len(present) != len(self.entries):
            self._dirty = True
        self.entries = present
        if not self._dirty:
            return
        text = "".join(
            json.dumps(self.entries[name], sort_keys=True) + "\n"
            for name in sorted(self.entries)
        )
        if text or self.path.exists():
            write_atomic(self.path, text.encode())
        self._dirty = False


@contextlib.contextmanager
def _folder_lock(folder):
    """Hold an exclusive lock on the folder's manifest: one run at a time.

    The lock (``flock``, POSIX) is released when the process ends, however it
    ends, so a crashed run never blocks the next one. Yields whether the
    folder is locked (not on systems without ``flock``).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None
    path = folder / MANIFEST_NAME
    with open(path, "ab") as fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise OSError(
                    f"{folder} is in use by another download (its manifest "
                    f"{MANIFEST_NAME} is locked)"
                ) from None
        yield fcntl is not None


def _remove_parts(folder):
    """Remove temporary files left by an interrupted run (under the lock only)."""
    for path in folder.glob(f"{PART_PREFIX}*"):
        if re.fullmatch(r"\.part-[0-9a-f]{32}", path.name) and path.is_file():
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class _Task:
    """One file to write (picklable: it may travel to a Dask worker)."""

    name: str
    url: str
    mode: str  # "copy", "decompress" or "cutout"
    cutout: tuple | None
    estimate: int

    def identity(self):
        ident = {"url": self.url}
        if self.cutout is not None:
            ident["cutout"] = [float(v) for v in self.cutout]
        if self.mode == "decompress":
            ident["decompressed"] = True
        return ident


@dataclass(frozen=True)
class _Options:
    """What every task needs to know (picklable)."""

    folder: str
    timeout: float
    policy: RetryPolicy
    max_file_size: int


def _describe(exc):
    if isinstance(exc, FetchError | ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _copy_local(source, target, options, cancel, on_bytes):
    size = source.stat().st_size
    if size > options.max_file_size:
        raise ValueError(
            f"{source} is {size} bytes, over the per-file ceiling of "
            f"{options.max_file_size} bytes"
        )
    digest = hashlib.sha256()
    written = 0
    with atomic_writer(target, check=check_fits) as out, open(source, "rb") as src:
        while chunk := src.read(_COPY_CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return written, digest.hexdigest()


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

    target = Path(options.folder) / task.name
    result = {"name": task.name, "status": "failed", "path": "", "error": ""}
    try:
        if task.mode == "copy":
            path = local_source(task.url, archive)
            if path is None:
                path = _cache_lookup(task.url)
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
            with fits.open(path, memmap=False) as hdul:
                if task.mode == "decompress":
                    size, sha = _write_hdul(target, _decompressed(hdul))
                else:
                    ra, dec, size_arcsec = task.cutout
                    hdul_d = _decompressed(hdul)
                    size, sha = _write_hdul(
                        target, cutout_hdul(hdul_d, ra, dec, size_arcsec)
                    )
        result.update(status="ok", path=str(target), size=size, sha256=sha)
    except Cancelled:
        result.update(status="cancelled", error="stopped")
    except Exception as exc:
        result.update(error=_describe(exc))
    return result


# ------------------------------------------------------------------------ planning
_FIELDS = (
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    "band",
    "image_type",
    "scntr",
    "cutout_size",
    "access_url",
    "cutout_url",
    "access_estsize",
    "in_ra",
    "in_dec",
    "ra",
    "dec",
)
_DEFAULTS = {
    "scntr": 0,
    "cutout_size": 0.0,
    "cutout_url": "",
    "access_estsize": -1,
    "in_ra": np.nan,
    "in_dec": np.nan,
    "ra": np.nan,
    "dec": np.nan,
    "image_type": "atlas",
}


def _column_values(table, name):
    """Return a column as a list of Python values (masked: default; bytes: str)."""
    n = len(table)
    if name not in table.colnames:
        if name in _DEFAULTS:
            return [_DEFAULTS[name]] * n
        raise ValueError(f"the table has no {name!r} column")
    col = table[name]
    data = np.ma.getdata(col)
    mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else np.zeros(n, bool)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "ascii", "replace")
    if name == "ordate" and data.dtype.kind in "iu":
        data = np.char.zfill(data.astype("U6"), 6)  # 001022 read as 1022 from CSV
    values = data.tolist()
    if mask.any():
        default = _DEFAULTS.get(name, "")
        for i in np.flatnonzero(mask):
            values[i] = default
    return values


def _check_url(url):
    scheme = urlparse(url).scheme
    if not url:
        raise ValueError("this row has no URL")
    if scheme not in ("http", "https", "file", ""):
        raise ValueError(f"unsupported URL scheme in {url!r} (only http, https, file)")


def _cutout_estimate(size_arcsec, full):
    side = math.ceil(size_arcsec)  # 2MASS Atlas pixels are 1 arcsec
    estimate = -(-(side * side * 4 + 2 * _BLOCK) // _BLOCK) * _BLOCK
    return min(estimate, full) if full > 0 else estimate


def _plan(table, folder, decompress):
    """Tasks (one per distinct file name), the rows of each, and bad rows."""
    cols = {name: _column_values(table, name) for name in _FIELDS}
    tasks = {}
    rows_of = {}
    errors = {}
    for i in range(len(table)):
        row = {name: cols[name][i] for name in _FIELDS}
        try:
            name = file_name_for(row, decompress=decompress)
            if (folder / name).parent != folder:  # pragma: no cover - defensive
                raise ValueError(f"refusing to write outside {folder}")
            if name not in tasks:
                tasks[name] = _make_task(row, name, decompress)
            rows_of.setdefault(name, []).append(i)
        except (ValueError, TypeError, OverflowError) as exc:
            errors[i] = str(exc)
    return list(tasks.values()), rows_of, errors


def _make_task(row, name, decompress):
    url = str(row["access_url"])
    _check_url(url)
    estsize = int(row["access_estsize"])
    full = estsize * 1000 if estsize > 0 else 0
    size = float(row["cutout_size"])
    size = size if np.isfinite(size) else 0.0
    if size > 0:
        estimate = _cutout_estimate(size, full)
        cutout_url = str(row["cutout_url"])
        if cutout_url:
            _check_url(cutout_url)
            return _Task(name, cutout_url, "copy", None, estimate)
        ra, dec = cutout_center(row)
        return _Task(name, url, "cutout", (ra, dec, size), estimate)
    if decompress and str(row["image_type"]) == "quicklook":
        # hcompress makes Quicklook files about twenty times smaller
        return _Task(name, url, "decompress", None, 20 * full)
    return _Task(name, url, "copy", None, full)


def _complete(target, task, manifest):
    """Whether ``target`` already holds the task's file (recording it if new)."""
    try:
        size = target.stat().st_size
    except OSError:
        return False
    if not target.is_file():
        return False
    entry = manifest.get(task.name)
    if entry is not None:
        recorded = {k: entry.get(k) for k in task.identity()}
        if recorded != task.identity() or entry.get("size") != size:
            return False
    try:
        check_fits(target)
    except (OSError, ValueError):
        return False
    if entry is None:  # e.g. written by ImageRow.download: record it now
        manifest.add(
            {
                "name": task.name,
                **task.identity(),
                "size": size,
                "sha256": _sha256(target),
            }
        )
    return True


# ------------------------------------------------------------------------ progress
class _Progress:
    """One aggregate bar (files and bytes) on a terminal, or a callback, or nothing."""

    def __init__(self, progress, total_files, total_bytes):
        self.callback = progress if callable(progress) else None
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.files = 0
        self.bytes = 0
        self.bar = None
        self.tty = False
        self._last = 0.0
        self._start = time.monotonic()
        if self.callback is None and progress and _isatty(sys.stderr):
            self.tty = True
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(
                    total=total_bytes or None,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=self._files_text(),
                    file=sys.stderr,
                    dynamic_ncols=True,
                )

    def _files_text(self):
        return f"{self.files}/{self.total_files} files"

    def file_done(self, size):
        self.files += 1
        self.bytes += size
        if self.callback is not None:
            self.callback(self.files, self.total_files, self.bytes, self.total_bytes)
        self.refresh(0, force=self.files == self.total_files)

    def refresh(self, live, *, force=False):
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        done = self.bytes + live
        if self.bar is not None:
            self.bar.set_description_str(self._files_text(), refresh=False)
            self.bar.update(done - self.bar.n)
            return
        width = 24
        frac = (
            min(done / self.total_bytes, 1.0)
            if self.total_bytes
            else (self.files / self.total_files if self.total_files else 1.0)
        )
        filled = int(frac * width)
        rate = done / max(now - self._start, 1e-9)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self._files_text()} "
            f"{_human(done)}/{_human(self.total_bytes)} {_human(rate)}/s "
        )
        sys.stderr.flush()

    def close(self):
        if not self.tty:
            return
        if self.files == self.total_files:  # the estimates were estimates
            self.total_bytes = self.bytes
            if self.bar is not None:
                self.bar.total = self.bytes
        self.refresh(0, force=True)
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _human(n):
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


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
    max_bytes : int or None, optional
        Byte budget of the run (default 1 GiB); `None` for no limit.
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
    max_file_size : int, optional
        Per-file ceiling in bytes (default ``twomass_vo.conf.max_file_size``).

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        A copy of ``table`` with ``local_path``, ``status`` (``ok``,
        ``cached``, ``failed``, ``deferred``) and ``error`` columns.
    """
    from . import conf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    options = _Options(
        folder=str(folder),
        timeout=float(conf.timeout if timeout is None else timeout),
        policy=_policy(retries),
        max_file_size=int(
            conf.max_file_size if max_file_size is None else max_file_size
        ),
    )
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or int(max_bytes) != max_bytes or max_bytes < 0:
            raise ValueError(f"max_bytes={max_bytes!r} must be an integer >= 0 or None")
        max_bytes = int(max_bytes)
    pool, workers, owned, in_process = _executor(executor, max_workers)
    n = len(table)
    local_path = [""] * n
    status = ["deferred"] * n
    error = [""] * n
    finished = False
    try:
        tasks, rows_of, bad = _plan(table, folder, decompress)
        for i, message in bad.items():
            status[i], error[i] = "failed", message
            log.warning("row %d: not downloaded: %s", i, message)
        with _folder_lock(folder) as locked:
            if locked:  # no other run can be writing temporary files here
                _remove_parts(folder)
            manifest = Manifest(folder)
            try:
                todo = []
                for task in tasks:
                    target = folder / task.name
                    if not overwrite and _complete(target, task, manifest):
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
    """Coordinate: submit within the budget, collect, record, report."""
    cancel = threading.Event() if in_process else None
    live = [0] * len(todo)
    total_bytes = sum(t.estimate for t in todo)
    if max_bytes is not None:
        total_bytes = min(total_bytes, max_bytes)
    bar = _Progress(progress, len(todo), total_bytes)
    window = workers if in_process else 2 * workers
    in_flight = {}
    reserved = 0
    done_bytes = 0
    sizes = []
    next_index = 0
    budget_hit = False

    def submit(index):
        task = todo[index]
        if in_process:

            def on_bytes(k, index=index):
                live[index] += k

            return pool.submit(_run_task, task, options, archive, cancel, on_bytes)
        return pool.submit(_run_task, task, options)

    def collect(future):
        nonlocal reserved, done_bytes
        index, estimate = in_flight.pop(future)
        task = todo[index]
        reserved -= estimate
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
        live[index] = 0
        if res["status"] == "ok":
            done_bytes += res["size"]
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
            while next_index < len(todo) and len(in_flight) < window and not budget_hit:
                if max_bytes is not None and done_bytes + reserved >= max_bytes:
                    budget_hit = True
                    break
                task = todo[next_index]
                estimate = task.estimate or (int(np.mean(sizes)) if sizes else 0)
                in_flight[submit(next_index)] = (next_index, estimate)
                reserved += estimate
                next_index += 1
            if budget_hit and next_index < len(todo):
                log.info(
                    "byte budget of %d bytes reached: %d file(s) deferred",
                    max_bytes,
                    len(todo) - next_index,
                )
                next_index = len(todo)  # the rest stay "deferred"
                bar.total_files = bar.files + len(in_flight)
            if not in_flight:
                break
            finished, _ = cf.wait(
                list(in_flight), timeout=0.1, return_when=cf.FIRST_COMPLETED
            )
            for future in finished:
                collect(future)
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
            "meta.file",
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
