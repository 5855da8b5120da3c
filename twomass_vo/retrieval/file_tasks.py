# Licensed under a 3-clause BSD style license - see LICENSE
"""The files of a download: byte counts, one task per file, what is already there.

`byte_count` reads a budget or a ceiling as the user writes it (``"1GiB"``,
``1 * u.GB``); `plan_files` turns the rows of a table into `Task` objects (one per
distinct file name, built from validated metadata only) and reports the rows
that cannot be downloaded; `already_complete` tells whether a file in the
folder is the one wanted. Nothing here touches the network.
"""

import hashlib
import math
import re
import stat
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from .fits_check import check_fits
from .loaders import cutout_center, file_name_for

__all__ = ["Task", "already_complete", "byte_count", "plan_files"]

_BLOCK = 2880
_COPY_CHUNK = 1 << 20
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def byte_count(value, name="max_bytes"):
    """Read a byte count: an integer, a string such as ``"1GiB"``, or a Quantity.

    Parameters
    ----------
    value : int, str, `~astropy.units.Quantity` or None
        ``1073741824``, ``"1GiB"``, ``"500MB"``, ``"2G"``, ``"1.5 KiB"``
        (k, M, G, T: powers of 1000; Ki, Mi, Gi, Ti: powers of 1024; the
        ``B`` is optional), ``1 * u.GB``, ``2 * u.Gibyte``; None or
        ``"none"`` for no limit.
    name : str, optional
        The argument's name, for the error message.

    Returns
    -------
    count : int or None
        Bytes (rounded down), or None for no limit.

    Raises
    ------
    ValueError
        If the value is not a byte count >= 0 (the message names it).
    """
    from astropy import units as u

    if value is None:
        return None
    bad = ValueError(
        f"{name}={value!r} is not a byte count: give an integer >= 0, a size "
        "such as '1GiB' or '500MB', a Quantity such as 1*u.GB, or None"
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("none", "unlimited", "inf"):
            return None
        match = re.fullmatch(
            r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b|bytes?)?", text, re.IGNORECASE
        )
        if match is None or (match[3] and not match[2]):
            raise bad
        number, prefix, binary = float(match[1]), match[2].lower(), match[3]
        factor = 1024 ** ("kmgt".index(prefix) + 1) if binary else _UNITS[prefix]
        return int(number * factor)
    if isinstance(value, u.Quantity):
        try:
            count = value.to_value(u.byte)
        except u.UnitsError:
            raise bad from None
    else:
        count = value
    try:
        if not (np.ndim(count) == 0 and np.isfinite(count) and count >= 0):
            raise bad
        if int(count) != count and not isinstance(value, u.Quantity):
            raise bad
        return int(count)
    except (TypeError, ValueError, OverflowError):
        raise bad from None


@dataclass(frozen=True)
class Task:
    """One file to write (picklable: it may travel to a Dask worker).

    Attributes
    ----------
    name : str
        File name in the folder (from validated metadata).
    url : str
        Its source.
    mode : str
        ``"copy"``, ``"decompress"`` or ``"cutout"`` (made locally).
    cutout : tuple or None
        ``(ra, dec, size_arcsec)`` of a local cutout.
    estimate : int
        Expected size in bytes (0: unknown).
    """

    name: str
    url: str
    mode: str  # "copy", "decompress" or "cutout"
    cutout: tuple | None
    estimate: int

    def identity(self):
        """Return what the manifest records of the source (URL, cutout, ...)."""
        ident = {"url": self.url}
        if self.cutout is not None:
            ident["cutout"] = [float(v) for v in self.cutout]
        if self.mode == "decompress":
            ident["decompressed"] = True
        return ident


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    parsed = urlparse(url)
    if not url:
        raise ValueError("this row has no URL")
    if parsed.scheme not in ("http", "https", "file", ""):
        raise ValueError(f"unsupported URL scheme in {url!r} (only http, https, file)")
    if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
        raise ValueError(
            f"refusing {url!r}: a file:// URL with a host ({parsed.netloc!r}) is "
            "not a local file (use file:///path)"
        )


def _cutout_estimate(size_arcsec, full):
    side = math.ceil(size_arcsec)  # 2MASS Atlas pixels are 1 arcsec
    estimate = -(-(side * side * 4 + 2 * _BLOCK) // _BLOCK) * _BLOCK
    return min(estimate, full) if full > 0 else estimate


def plan_files(table, folder, decompress):
    """Plan a download: one task per distinct file name, before any transfer.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The rows.
    folder : `~pathlib.Path`
        The (resolved) target folder.
    decompress : bool
        Whether Quicklook files are written decompressed.

    Returns
    -------
    tasks : list of `Task`
        In the order of the rows.
    rows_of : dict
        File name -> indices of the rows it serves.
    bad : dict
        Row index -> why the row cannot be downloaded (metadata or URL).
    """
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
            return Task(name, cutout_url, "copy", None, estimate)
        ra, dec = cutout_center(row)
        return Task(name, url, "cutout", (ra, dec, size), estimate)
    if decompress and str(row["image_type"]) == "quicklook":
        # hcompress makes Quicklook files about twenty times smaller
        return Task(name, url, "decompress", None, 20 * full)
    return Task(name, url, "copy", None, full)


def already_complete(target, task, manifest):
    """Whether ``target`` already holds the task's file (recording it if new).

    Parameters
    ----------
    target : `~pathlib.Path`
        The file in the folder.
    task : `Task`
        What should be there.
    manifest : `~twomass_vo.retrieval.manifest.Manifest`
        The folder's record.

    Returns
    -------
    complete : bool
        True if the manifest records it for the same source and size (or
        does not know it) and its FITS structure is complete. Never for a
        symbolic link or anything but a regular file under its name (not
        followed: it is replaced by the file downloaded).
    """
    try:
        info = target.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    size = info.st_size
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
