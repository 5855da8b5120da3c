# Licensed under a 3-clause BSD style license - see LICENSE
"""The file cache: ``http(s)`` files that must be read locally, fetched once.

Files opened (`ImageRow.open <twomass_vo.results.image_table.ImageRow.open>`),
decompressed or cut out locally are fetched with retries
(`twomass_vo._http.fetch.fetch`), stored as plain FITS (a gzip-compressed body is
decompressed, `twomass_vo.retrieval.compressed_fits.plain_fits`, within the per-file
ceiling), checked (`twomass_vo.retrieval.fits_check.check_fits`) and kept by URL in
a cache folder (``twomass_vo.conf.cache_dir``); failed fetches are never
cached, and `clear_cache` empties it.
"""

import contextlib
import hashlib
import json
import os
import re
import threading
from pathlib import Path

from .._files.atomic_files import atomic_writer, write_atomic
from .._http.deadline import positive_seconds
from .._http.fetch import fetch
from .._http.retry_policy import retry_policy
from .compressed_fits import plain_fits
from .fits_check import check_fits

__all__ = ["cache_dir", "cache_shards", "cached_copy", "cached_path", "clear_cache"]


def cache_dir():
    """Return the folder of the file cache.

    Returns
    -------
    path : `~pathlib.Path`
        ``twomass_vo.conf.cache_dir`` if set, else
        ``<astropy cache dir>/twomass_vo/files``.
    """
    from .. import conf

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


def _digest(url):
    return hashlib.sha256(url.encode()).hexdigest()


def _cache_files(url, root=None):
    digest = _digest(url)
    folder = (cache_dir() if root is None else Path(root)) / digest[:2]
    return folder / f"{digest}.fits", folder / f"{digest}.json"


def cache_shards(root=None):
    """Return the names of the cache's subfolders, looked at once.

    Files are kept in 256 subfolders by URL; with this set, `cached_copy`
    knows without a look at the disk that most URLs of a small cache are
    not in it.

    Parameters
    ----------
    root : str or `~pathlib.Path`, optional
        The cache folder (default `cache_dir`).

    Returns
    -------
    shards : frozenset of str
        Empty if the cache folder is missing.
    """
    folder = cache_dir() if root is None else Path(root)
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_dir())
    except OSError:
        return frozenset()


def cached_copy(url, *, root=None, shards=None):
    """Return the cached file of ``url`` if the cache holds it complete, else None.

    Parameters
    ----------
    url : str
        An ``http(s)`` URL.
    root : str or `~pathlib.Path`, optional
        The cache folder, if known (default `cache_dir`).
    shards : frozenset of str, optional
        Its subfolders, from `cache_shards`: a URL whose subfolder was not
        there is not looked for (a file cached since then is missed).

    Returns
    -------
    path : `~pathlib.Path` or None
        The cached file (its size matches its record).
    """
    if shards is not None and _digest(url)[:2] not in shards:
        return None  # known without a look at the disk (or a Path made)
    data, meta = _cache_files(url, root)
    try:
        info = json.loads(meta.read_text())
        if info["url"] == url and data.stat().st_size == info["size"]:
            return data
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def cached_path(
    url, *, timeout=None, retries=None, max_file_size=None, cancel=None, on_bytes=None
):
    """Local copy of an ``http(s)`` FITS file, fetched once into the cache.

    The file is fetched with retries (`twomass_vo._http.fetch.fetch`), decompressed
    if its bytes are gzip (whatever the URL's name says; the ceiling holds
    after decompression), checked (`check_fits`) and only then renamed into
    the cache, with a small JSON
    record (URL, size, SHA-256) beside it: a failed or invalid fetch is never
    cached. Concurrent calls for one URL fetch it once.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    timeout : float, optional
        Seconds per request (default ``twomass_vo.conf.timeout``).
    retries : int or `~twomass_vo._http.retry_policy.RetryPolicy`, optional
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
    twomass_vo._http.fetch.FetchError
        If the file could not be fetched.
    ValueError
        If what was fetched is not a complete FITS file, or ``timeout`` is
        not a positive finite number.
    """
    from .. import conf

    url = str(url)
    seconds = positive_seconds(conf.timeout if timeout is None else timeout, "timeout")
    hit = cached_copy(url)
    if hit is not None:
        return hit
    with _url_lock(url):
        hit = cached_copy(url)
        if hit is not None:
            return hit
        data, meta = _cache_files(url)
        ceiling = int(conf.max_file_size if max_file_size is None else max_file_size)
        with atomic_writer(data, check=check_fits) as fh:
            result = fetch(
                url,
                fh,
                timeout=seconds,
                policy=retry_policy(retries),
                max_size=ceiling,
                cancel=cancel,
                on_bytes=on_bytes,
            )
            size, sha256 = plain_fits(fh, max_size=ceiling, source=url) or (
                result.size,
                result.sha256,
            )
        record = {"url": url, "size": size, "sha256": sha256}
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
