# Licensed under a 3-clause BSD style license - see LICENSE
"""Local files behind ``access_url`` values, read safely.

`local_source` turns a non-HTTP ``access_url`` into a local path: the
archive the row came from is asked first (a simulated archive makes its
files on demand; for rows of no archive, such as a table read back from a
file, the caller passes the simulated stores,
`~twomass_vo.archives.simulated.archive.SimulatedStores`, instead), then
``file://`` URLs (without a host, or ``localhost``) and plain paths.

`open_regular`, `copy_regular` and `read_regular` read only regular files
(never a FIFO, a device such as ``/dev/zero``, a socket or a folder: checked
with `os.stat` before opening, opened non-blocking and checked again with
`os.fstat`), at most ``max_size`` bytes -- `read_regular` also once
decompressed (gzip, bzip2, xz: a compression bomb is stopped at the limit);
their errors name the path, never the file's bytes. This module imports
nothing else of the package.
"""

import bz2
import contextlib
import hashlib
import lzma
import os
import stat
import zlib
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = [
    "copy_regular",
    "local_source",
    "open_regular",
    "read_regular",
]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
#: Bytes read from a local file at a time.
CHUNK = 1 << 20


def local_source(url, archive=None):
    """Local file behind a non-HTTP ``url``, or None for ``http(s)`` URLs.

    Parameters
    ----------
    url : str
        An ``access_url`` or ``cutout_url``.
    archive : `~twomass_vo.archives.Archive`, optional
        The archive the URL came from, or any object with a ``local_path(url)``
        method (`~twomass_vo.archives.simulated.archive.SimulatedStores` for
        rows of no archive); asked first.

    Returns
    -------
    path : `~pathlib.Path` or None
        The local file (which may not exist), or None for an ``http(s)`` URL.

    Raises
    ------
    ValueError
        For an empty URL, another scheme (``ftp:``, ``data:``, ...), or a
        ``file://`` URL that names a host other than ``localhost``.
    """
    url = str(url)
    if not url:
        raise ValueError("this row has no URL")
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return None
    if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
        raise ValueError(
            f"refusing {url!r}: a file:// URL with a host ({parsed.netloc!r}) is "
            "not a local file (use file:///path)"
        )
    if archive is not None:
        path = archive.local_path(url)
        if path is not None:
            return Path(path)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(url)
    raise ValueError(f"unsupported URL scheme in {url!r} (only http, https, file)")


def _refuse_special(path, mode):
    for test, kind in _KINDS:
        if test(mode):
            raise ValueError(f"{path} is {kind}, not a regular file: refused")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path} is not a regular file: refused")


def _check_size(path, size, max_size):
    if max_size is not None and size > max_size:
        raise ValueError(
            f"{path} is {size} bytes, over the per-file ceiling of {max_size} bytes"
        )


@contextlib.contextmanager
def open_regular(path, *, max_size=None):
    """Open a local regular file for reading, refusing anything else.

    The path is checked with `os.stat` first (a FIFO is never opened), then
    opened with ``O_NONBLOCK`` (so that a file swapped for a FIFO meanwhile
    cannot block) and checked again with `os.fstat`.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file.
    max_size : int, optional
        Per-file ceiling in bytes: a larger file is refused.

    Yields
    ------
    fh : file object
        The file, open for reading in binary mode.

    Raises
    ------
    ValueError
        If the path is not a regular file or is over the ceiling.
    OSError
        If it cannot be read (missing, no permission).
    """
    path = Path(path)
    _refuse_special(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        _refuse_special(path, info.st_mode)
        _check_size(path, info.st_size, max_size)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def copy_regular(path, out, *, max_size=None, cancel=None, on_bytes=None):
    """Copy a local regular file into an open file, hashing it on the way.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The source (see `open_regular`).
    out : file object
        Open for writing in binary mode.
    max_size : int, optional
        Per-file ceiling in bytes, checked before and while copying (a file
        that grows past it is refused).
    cancel : `threading.Event`, optional
        Stops the copy when set (raises ``InterruptedError``).
    on_bytes : callable, optional
        Called with the length of each chunk copied.

    Returns
    -------
    size : int
        Bytes copied.
    sha256 : str
        Their hex SHA-256.
    """
    digest = hashlib.sha256()
    size = 0
    with open_regular(path, max_size=max_size) as src:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while n := src.readinto(buffer):
            if cancel is not None and cancel.is_set():
                raise InterruptedError("stopped")
            size += n
            _check_size(path, size, max_size)
            out.write(view[:n])
            digest.update(view[:n])
            if on_bytes is not None:
                on_bytes(n)
    return size, digest.hexdigest()


#: Compressed files by their first bytes: what decompresses them.
_COMPRESSIONS = (
    (b"\x1f\x8b", "gzip", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)),
    (b"BZh", "bzip2", bz2.BZ2Decompressor),
    (b"\xfd7zXZ\x00", "xz", lzma.LZMADecompressor),
)


def read_regular(path, *, max_size, decompress=False, limit="max_size"):
    """Read a local regular file whole, at most ``max_size`` bytes.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file (see `open_regular`: never a FIFO or a device).
    max_size : int
        Most bytes read from the file, and, with ``decompress``, most bytes
        it may decompress to.
    decompress : bool, optional
        Undo a gzip, bzip2 or xz compression (recognised by the first bytes,
        whatever the name), one step of at most ``max_size + 1`` bytes at a
        time.
    limit : str, optional
        The name of the limit, for the messages (e.g. the setting that
        gives it).

    Returns
    -------
    data : bytes

    Raises
    ------
    ValueError
        If the path is not a regular file, or the file (or what it
        decompresses to) is larger than ``max_size``, or its compressed data
        are broken.
    OSError
        If it cannot be read (missing, no permission).
    """
    with open_regular(path) as fh:
        data = fh.read(max_size + 1)
    if len(data) > max_size:
        raise ValueError(f"{path} is larger than {max_size} bytes ({limit}): refused")
    if not decompress:
        return data
    for magic, kind, make in _COMPRESSIONS:
        if data.startswith(magic):
            return _decompressed(path, data, kind, make, max_size, limit)
    return data


def _decompressed(path, data, kind, make, max_size, limit):
    """Decompress every stream of ``data`` (members may follow each other)."""
    out = bytearray()
    while data:
        decoder = make()
        try:
            if kind == "gzip":
                out += decoder.decompress(data, max_size + 1 - len(out))
                data = decoder.unconsumed_tail or decoder.unused_data
                done = decoder.eof
            else:
                out += decoder.decompress(data, max_length=max_size + 1 - len(out))
                done = decoder.eof
                data = decoder.unused_data if done else b""
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            raise ValueError(f"{path}: its {kind} data are broken ({exc})") from None
        if len(out) > max_size:
            raise ValueError(
                f"{path} decompresses ({kind}) to more than {max_size} bytes "
                f"({limit}): refused"
            )
        if not done:
            raise ValueError(f"{path}: its {kind} data end too early")
        data = data.lstrip(b"\x00") if kind == "gzip" else data  # gzip padding
    return bytes(out)
