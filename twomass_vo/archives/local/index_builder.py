# Licensed under a 3-clause BSD style license - see LICENSE
"""Building the index of a `~twomass_vo.archives.LocalArchive`.

`base_columns` validates per-set columns and puts them in index order
(declination zones, then RA) with the two look-up indexes (coadd_key and
`~twomass_vo.archives.set_keys.dhs_keys`: date-hemisphere-scan-image);
`index_columns` adds the stored footprint geometry in memory;
`write_index_folder` writes the folder (``archive.json``,
``index/<column>.npy``, ``files/``) atomically.
"""

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ...exceptions import ArchiveError, InputError
from ...geometry.sky_index import ZoneIndex
from ..set_keys import dhs_keys
from .index_files import (
    GEOMETRY_COLUMNS,
    WCS_COLUMNS,
    geometry_blocks,
    search_radius,
    write_geometry,
)

__all__ = [
    "FORMAT",
    "READABLE_FORMATS",
    "REQUIRED_COLUMNS",
    "ZONE_HEIGHT",
    "base_columns",
    "index_columns",
    "write_index_folder",
]

FORMAT = "twomass_vo-local/2"
#: Formats this version opens: format 1 folders (no stored geometry) are read
#: as they are, their footprints computed per query from the WCS columns.
READABLE_FORMATS = ("twomass_vo-local/1", FORMAT)
#: Look-ups of more rows than this drop the index pages they mapped.
ZONE_HEIGHT = 0.5  # deg
#: Index columns every archive has.
REQUIRED_COLUMNS = (
    "coadd_key",
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    *WCS_COLUMNS,
)
_STORED_DTYPES = {
    "coadd_key": np.int64,
    "ordate": "S6",
    "hemisphere": "S1",
    "scanno": np.int16,
    "image": np.int16,
    "crval1": np.float64,
    "crval2": np.float64,
    "crpix1": np.float64,
    "crpix2": np.float64,
    "naxis1": np.int32,
    "naxis2": np.int32,
    "cdelt1": np.float64,
    "cdelt2": np.float64,
    "crota2": np.float64,
}


def index_columns(sets, *, name, extra_meta=None):
    """All index columns in memory (for an archive without a folder)."""
    columns, meta = base_columns(sets, name=name, extra_meta=extra_meta)
    blocks = list(geometry_blocks(columns))
    for column in (*GEOMETRY_COLUMNS, "s_region"):
        columns[column] = np.concatenate([b[column] for b in blocks])
    meta["search_radius"] = search_radius([b["radius"] for b in blocks])
    return columns, meta


def base_columns(sets, *, name, extra_meta=None):
    """Return the validated index columns in index order, without geometry."""
    missing = [c for c in REQUIRED_COLUMNS if c not in sets]
    if missing:
        raise InputError(
            f"required index columns missing: {missing}", column=missing[0]
        )
    columns = {
        c: np.asarray(sets[c]).astype(_STORED_DTYPES[c], copy=False)
        for c in REQUIRED_COLUMNS
    }
    n = len(columns["coadd_key"])
    keys, first = np.unique(columns["coadd_key"], return_index=True)
    if len(keys) != n:
        dup = np.setdiff1d(np.arange(n), first)[0]
        raise InputError(
            "is a duplicate coadd_key",
            row=int(dup),
            column="coadd_key",
            value=int(columns["coadd_key"][dup]),
        )
    del keys, first
    columns["has_band"] = np.asarray(sets.get("has_band", np.ones((n, 3), bool)), bool)
    if "scandir" in sets:
        columns["scandir"] = np.asarray(sets["scandir"]).astype("S1")
    for kind in ("url_atlas", "url_quicklook"):
        if kind in sets:
            columns[kind] = np.asarray(sets[kind]).astype("U").astype("S")
    order = ZoneIndex.sort_order(
        columns["crval1"], columns["crval2"], zone_height=ZONE_HEIGHT
    )
    for column in list(columns):  # one column at a time: bounded memory
        columns[column] = columns[column][order]
    del order
    columns["key_order"] = np.argsort(columns["coadd_key"], kind="stable")
    dhs = dhs_keys(
        columns["ordate"],
        columns["hemisphere"],
        columns["scanno"],
        columns["image"],
    )
    columns["dhs_order"] = np.argsort(dhs, kind="stable")
    columns["dhs_sorted"] = dhs[columns["dhs_order"]]
    meta = {
        "format": FORMAT,
        "name": name,
        "n_sets": n,
        "zone_height": ZONE_HEIGHT,
        "files": "files",
        **(extra_meta or {}),
    }
    return columns, meta


def write_index_folder(path, columns, meta):
    """Write ``archive.json``, ``index/`` and an empty ``files/`` in ``path``.

    The folder is built under a temporary name beside ``path`` and renamed,
    so no half-written archive ever stands under the final name. The index
    columns are taken out of ``columns`` as they are written (bounded memory).

    Raises
    ------
    ArchiveError
        If ``path`` already holds an archive.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir keeps the umask's permissions (mkdtemp would make it 0700,
    # unreadable for a server such as DaCHS running as another user)
    tmp = path.parent / f".{path.name}-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        (tmp / "index").mkdir()
        for column in list(columns):
            np.save(tmp / "index" / f"{column}.npy", columns.pop(column))
        meta["search_radius"] = write_geometry(tmp / "index")
        (tmp / "files").mkdir()
        (tmp / "archive.json").write_text(json.dumps(meta, indent=2))
        if path.exists():
            if (path / "archive.json").exists():
                raise ArchiveError(f"{path} already holds an archive")
            path.rmdir()  # an empty folder may be replaced
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
