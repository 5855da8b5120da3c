# Licensed under a 3-clause BSD style license - see LICENSE
"""Atomic file writing: no partial file ever stands under its final name.

`atomic_writer` and `write_atomic` write under a hidden temporary name
(`PART_PREFIX` + 32 hex digits) in the target's own folder and rename the
file only once it is complete (and, optionally, checked). The download engine
(`twomass_vo.retrieval`), the file cache (`twomass_vo.retrieval.file_cache`), the row
loaders (`twomass_vo.retrieval.loaders`) and the simulated archive's file maker all
write through them. `open_own` opens the other files the package writes in
its folders (a download folder's manifest, which is also its lock; the
simulated archive's lock) without ever following a symbolic link: a link
planted under such a name (in a shared folder) would make the package write
wherever it points. This module imports nothing else of the package.
"""

import contextlib
import os
import random
import stat

__all__ = ["PART_PREFIX", "atomic_writer", "new_part", "open_own", "write_atomic"]

#: Flags of every file the package opens in its folders: never through a
#: symbolic link (the last part of the path), never left to a child process,
#: never blocking on a FIFO.
_OWN_FLAGS = (
    getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


def open_own(path, flags, mode=0o666):
    """Open a file the package keeps in one of its folders; return the descriptor.

    The file is opened with ``O_NOFOLLOW`` (a symbolic link under its name is
    refused, not followed) and ``O_NONBLOCK``, then checked with `os.fstat`:
    it must be a regular file (not a FIFO, a device or a folder).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file.
    flags : int
        `os.open` flags (``os.O_RDONLY``, ``os.O_WRONLY | os.O_APPEND |
        os.O_CREAT``, ...).
    mode : int, optional
        Permissions of a file created (less the umask).

    Returns
    -------
    fd : int
        The open file descriptor (blocking).

    Raises
    ------
    OSError
        If the name is a symbolic link or not a regular file (the message
        names the path), or the file cannot be opened.
    """
    try:
        fd = os.open(path, flags | _OWN_FLAGS, mode)
    except OSError as exc:
        try:
            kind = os.lstat(path).st_mode
        except OSError:
            raise exc from None
        if stat.S_ISLNK(kind):
            why = (
                "is a symbolic link: refused (twomass_vo never writes through a "
                "link in its folders; remove it)"
            )
        elif not stat.S_ISREG(kind):
            why = "is not a regular file: refused"
        else:
            raise
        raise OSError(exc.errno, f"{os.fspath(path)} {why}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{os.fspath(path)} is not a regular file: refused")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


#: Prefix of the temporary files of `atomic_writer` (hidden, never a final name).
PART_PREFIX = ".part-"


@contextlib.contextmanager
def atomic_writer(path, *, check=None):
    """Open a temporary file next to ``path``; rename it to ``path`` when done.

    The temporary file is hidden (``.part-<random>``) in the same folder, so
    that the final rename is atomic: no partial file ever stands under the
    final name. If the block raises, or ``check`` rejects the written file,
    the temporary file is removed and nothing is renamed. The file gets the
    usual permissions (``0666`` less the umask), unlike `tempfile.mkstemp`.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The final file; its folder is created if missing.
    check : callable, optional
        Called with the temporary file once it is written (still open, in
        binary mode, flushed; read it from where it likes); raise to reject
        the content.

    Yields
    ------
    fh : file object
        The temporary file, open for reading and writing in binary mode.
    """
    path = os.fspath(path)  # plain strings: no Path objects per file
    tmp, fd = _create_part(os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield fh
            if check is not None:
                fh.flush()
                check(fh)  # the open file: no second open
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def new_part(folder, *, suffix=""):
    """Create a new hidden temporary file in ``folder``, as `atomic_writer` does.

    For writers that need a file name rather than a file object, and for
    several files renamed together (`twomass_vo.cli.output_files`).

    Parameters
    ----------
    folder : str or `~pathlib.Path`
        Its folder (made if missing): the target's, so that a rename is atomic.
    suffix : str, optional
        Added to the name (``.part-<32 hex digits><suffix>``), for writers
        that choose a format by extension.

    Returns
    -------
    path : str
        The new, empty file (``0666`` less the umask); the caller removes
        or renames it.
    """
    tmp, fd = _create_part(os.fspath(folder), suffix)
    os.close(fd)
    return tmp


def _create_part(folder, suffix=""):
    """Create a new temporary file in ``folder`` (made if missing): (path, fd).

    The name's 128 random bits need no system call (``random`` is reseeded in
    a forked child); ``O_EXCL`` makes a clash an error, and another name is
    drawn. The folder is made only when the first try finds it missing.
    """
    for attempt in range(16):
        name = f"{PART_PREFIX}{random.getrandbits(128):032x}{suffix}"
        tmp = os.path.join(folder, name)
        try:
            return tmp, open_own(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        except FileNotFoundError:
            if attempt:
                raise
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def write_atomic(path, hdul_or_bytes, *, check=None):
    """Write a file under a temporary name in the same folder, then rename it.

    No partial file ever stands under the final name (see `atomic_writer`).

    Parameters
    ----------
    path : `~pathlib.Path`
        The final file.
    hdul_or_bytes : `~astropy.io.fits.HDUList` or bytes
        The content.
    check : callable, optional
        Called with the temporary file (open, binary) before the rename;
        raise to reject the content (nothing is then written).
    """
    with atomic_writer(path, check=check) as fh:
        if isinstance(hdul_or_bytes, bytes | bytearray):
            fh.write(hdul_or_bytes)
        else:
            hdul_or_bytes.writeto(fh)
