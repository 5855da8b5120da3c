# Licensed under a 3-clause BSD style license - see LICENSE
"""Structure check of a FITS file: complete, nothing missing, nothing extra.

`check_fits` reads only the headers of a file and checks that its HDUs end
exactly at its end. The download engine and the file cache run it on every
file before it gets its final name. Its messages never quote the file's
bytes (a hostile file could hold anything).
"""

import math
import os

__all__ = ["check_fits"]

_BLOCK = 2880


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
    path : str, `~pathlib.Path` or file object
        The file, or a binary file open for reading (with a ``fileno``): it
        is flushed, then read from its start at given offsets (``pread``),
        its position left as it was.

    Raises
    ------
    ValueError
        If the file is not FITS, or is truncated or has extra bytes.
    """
    if hasattr(path, "fileno"):
        flush = getattr(path, "flush", None)
        if flush is not None:
            flush()
        _check_fd(path.fileno())
        return
    with open(path, "rb", buffering=0) as fh:  # one open: size, signature, headers
        _check_fd(fh.fileno())


def _check_fd(fd):
    """Check the open file ``fd``: one ``fstat``, one ``pread`` per header block."""
    size = os.fstat(fd).st_size
    first = os.pread(fd, _BLOCK, 0)
    _check_start(first[:8], size)
    _check_hdus(fd, size, first)


def _check_start(head, size):
    if head != b"SIMPLE  ":
        raise ValueError("not a FITS file: it does not start with 'SIMPLE  '")
    if size % _BLOCK:
        raise ValueError(
            f"not a complete FITS file: its length ({size} bytes) is not a "
            f"multiple of {_BLOCK}"
        )


def _check_hdus(fd, size, first_block):
    offset = 0
    while offset < size:
        keys = {}
        first = None
        blocks = 0
        end = False
        while not end:
            at = offset + blocks * _BLOCK
            block = first_block if at == 0 else os.pread(fd, _BLOCK, at)
            if len(block) < _BLOCK:
                raise ValueError(
                    f"not a complete FITS file: a header at byte {offset} has "
                    "no END card"
                )
            if not block.isascii():
                raise ValueError(f"not a FITS file: non-ASCII header at byte {offset}")
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
                            "does not start with "
                            + ("SIMPLE" if offset == 0 else "XTENSION")
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
