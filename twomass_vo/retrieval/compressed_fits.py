# Licensed under a 3-clause BSD style license - see LICENSE
"""FITS files as archives send them: compression told by the bytes, not the name.

A server may send the same image plainly, gzip-compressed or tile-compressed,
whatever its URL ends with: IRSA's ``.fits.gz`` files come gzip-compressed, a
cutout of one with ``gzip=false`` comes as plain FITS, and a Quicklook file
is a FITS file with an HCOMPRESS-tiled image extension. Every path that reads
a file (`twomass_vo.retrieval.loaders`, the file cache
`twomass_vo.retrieval.file_cache`, the
download tasks `twomass_vo.retrieval.tasks`) therefore decides here:

* gzip by its magic bytes (``1f 8b``), undone with the per-file ceiling
  applied to the *decompressed* size (a gzip bomb is refused, not unpacked);
  a body sent with ``Content-Encoding: gzip`` is decoded by the transport
  before it gets here;
* tile-compressed FITS (HCOMPRESS, RICE, ...) by its header (``ZIMAGE``,
  which astropy reads as a `~astropy.io.fits.CompImageHDU`): a valid FITS
  file, kept as it is unless the caller asks for the pixels decompressed
  (`twomass_vo.retrieval.loaders.decompressed_hdul`);
* plain FITS as it is.

Messages name the file or URL, never its bytes.
"""

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import tempfile
import zlib

from .._files.local_files import CHUNK, open_regular

__all__ = [
    "GZIP_MAGIC",
    "gunzip_in_place",
    "gunzip_stream",
    "is_gzip",
    "open_fits",
    "plain_fits",
]

#: The first two bytes of every gzip member (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(fh):
    """Whether an open binary file starts with the gzip magic bytes.

    Parameters
    ----------
    fh : file object
        Open for reading in binary mode, with a ``fileno`` (read at offset 0
        with ``pread``: its position is left as it was) or seekable.

    Returns
    -------
    gzip : bool
        True if its first two bytes are ``1f 8b``.
    """
    flush = getattr(fh, "flush", None)
    if flush is not None:
        flush()
    try:
        head = os.pread(fh.fileno(), 2, 0)
    except (AttributeError, OSError, io.UnsupportedOperation):
        where = fh.tell()
        fh.seek(0)
        head = fh.read(2)
        fh.seek(where)
    return head == GZIP_MAGIC


def gunzip_stream(src, out, *, max_size, source):
    """Decompress a gzip stream into an open file, within the per-file ceiling.

    Parameters
    ----------
    src : file object
        The gzip-compressed bytes, open for reading in binary mode.
    out : file object
        Where the decompressed bytes go (binary, open for writing).
    max_size : int or None
        Per-file ceiling in bytes of the *decompressed* file: reading stops
        as soon as it is passed.
    source : str
        The file or URL, for the messages.

    Returns
    -------
    size : int
        Bytes written.
    sha256 : str
        Their hex SHA-256.

    Raises
    ------
    ValueError
        If the bytes are not a complete gzip stream, or decompress to more
        than ``max_size`` bytes.
    """
    digest, size = hashlib.sha256(), 0
    try:
        with gzip.GzipFile(fileobj=src, mode="rb") as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise ValueError(
                        f"{source}: decompressed file over the per-file ceiling of "
                        f"{max_size} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{source}: not a complete gzip file ({type(exc).__name__})"
        ) from None
    return size, digest.hexdigest()


def gunzip_in_place(fh, *, max_size, source):
    """Replace the gzip bytes of an open file by the bytes they decompress to.

    The compressed bytes are copied aside first (a temporary file), then the
    file is truncated and written again from its start.

    Parameters
    ----------
    fh : file object
        Open for reading and writing in binary mode (e.g. the temporary file
        of `~twomass_vo._files.atomic_files.atomic_writer`).
    max_size : int or None
        Per-file ceiling of the decompressed file, bytes.
    source : str
        The file or URL, for the messages.

    Returns
    -------
    size : int
        Size of the decompressed file.
    sha256 : str
        Its hex SHA-256.

    Raises
    ------
    ValueError
        As `gunzip_stream`.
    """
    fh.flush()
    with tempfile.TemporaryFile() as raw:
        fh.seek(0)
        shutil.copyfileobj(fh, raw, CHUNK)
        raw.seek(0)
        fh.seek(0)
        fh.truncate()
        return gunzip_stream(raw, fh, max_size=max_size, source=source)


def plain_fits(fh, *, max_size, source):
    """Make the file just written plain: undo gzip if its bytes are gzip.

    Parameters
    ----------
    fh : file object
        The file, open for reading and writing in binary mode.
    max_size : int or None
        Per-file ceiling of the decompressed file, bytes.
    source : str
        The file or URL, for the messages.

    Returns
    -------
    written : tuple or None
        ``(size, sha256)`` of the decompressed file, or None if the file was
        not gzip-compressed (left as it is).
    """
    if not is_gzip(fh):
        return None
    return gunzip_in_place(fh, max_size=max_size, source=source)


@contextlib.contextmanager
def open_fits(path, *, max_size):
    """Open a local FITS file, plain, tile-compressed or gzip-compressed.

    Only a regular file is opened (`~twomass_vo._files.local_files.open_regular`);
    gzip is undone in memory within ``max_size``, so that the ceiling holds
    after decompression (astropy would unpack any size).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file.
    max_size : int or None
        Per-file ceiling in bytes, of the file and of its decompressed bytes.

    Yields
    ------
    hdul : `~astropy.io.fits.HDUList`
        The file, opened without memory mapping (compressed image HDUs are
        `~astropy.io.fits.CompImageHDU`).

    Raises
    ------
    ValueError
        If the path is not a regular file, is over the ceiling, is not a
        complete gzip file, or is not readable FITS (the message names the
        path, never the file's bytes).
    """
    from astropy.io import fits

    with open_regular(path, max_size=max_size) as fh:
        source = fh
        if is_gzip(fh):
            source = io.BytesIO()
            gunzip_stream(fh, source, max_size=max_size, source=str(path))
            source.seek(0)
        try:
            hdul = fits.open(source, memmap=False)
        except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise ValueError(
                f"{path} is not a readable FITS file ({type(exc).__name__})"
            ) from None
        with hdul:
            yield hdul
