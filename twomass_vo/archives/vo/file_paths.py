# Licensed under a 3-clause BSD style license - see LICENSE
"""2MASS file paths read as date, hemisphere, scan, image, band and kind.

Where a service has no 2MASS columns (IRSA's SIA v2), the identity of each
image file is read from its path
``{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``:
`parse_image_paths` parses a column of paths, `LazyPaths` only when a value
is first needed.
"""

import re
from urllib.parse import urlsplit

import numpy as np

from .column_text import as_text

__all__ = [
    "LazyPaths",
    "parse_image_paths",
]

#: A 2MASS image file: ``[{ordate}{hem}/s{scan}/image/]{b}i{scan}{image}.fits[.gz]``.
_PATH_RE = re.compile(
    r"(?:(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<dscan>\d{3})/(?:image|ql)/)?"
    r"(?P<band>[jhk])(?P<kind>[iq])(?P<scan>\d{3})(?P<image>\d{4})"
    r"\.fits(?:\.gz|\.fz)?\Z"
)


def parse_image_paths(values):
    """Date, hemisphere, scan, image, band and kind from 2MASS file paths.

    Parameters
    ----------
    values : array-like of str
        URLs or paths ending in
        ``{ordate}{hem}/s{scan:03d}/image/{b}i{scan:03d}{image:04d}.fits[.gz]``
        (IRSA's file tree), or bare file names ``{b}i{scan}{image}.fits[.gz]``
        (then ``ordate`` and ``hemisphere`` are ``''``). A query string is
        ignored. Quicklook files (``ql/{b}q...``) are recognised too.

    Returns
    -------
    parsed : dict of ndarray
        ``ok`` (bool: the value is such a path), ``ordate``, ``hemisphere``,
        ``scanno``, ``image``, ``band_code`` (0, 1, 2; -1 if not ok) and
        ``kind`` (0 atlas, 1 quicklook).
    """
    text = as_text(np.asarray(values))
    n = len(text)
    out = {
        "ok": np.zeros(n, bool),
        "ordate": np.full(n, "", "U6"),
        "hemisphere": np.full(n, "", "U1"),
        "scanno": np.zeros(n, np.int64),
        "image": np.zeros(n, np.int64),
        "band_code": np.full(n, -1, np.int64),
        "kind": np.zeros(n, np.int64),
    }
    for i, value in enumerate(text):  # string parsing: one regex per value
        path = urlsplit(value).path if "://" in value else value.split("?")[0]
        match = _PATH_RE.search(path)
        if match is None:
            continue
        if match["dscan"] is not None and match["dscan"] != match["scan"]:
            continue
        if match.start() > 0 and path[match.start() - 1] not in "/":
            continue
        out["ok"][i] = True
        out["ordate"][i] = match["ordate"] or ""
        out["hemisphere"][i] = match["hem"] or ""
        out["scanno"][i] = int(match["scan"])
        out["image"][i] = int(match["image"])
        out["band_code"][i] = "jhk".index(match["band"])
        out["kind"][i] = 0 if match["kind"] == "i" else 1
    return out


class LazyPaths:
    """`parse_image_paths` of a column, run on first use only."""

    def __init__(self, column, n):
        self._column, self._n, self._parsed = column, n, None

    def __getitem__(self, key):
        if self._parsed is None:
            values = self._column if self._column is not None else [""] * self._n
            self._parsed = parse_image_paths(values)
        return self._parsed[key]
