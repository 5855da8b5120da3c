# Licensed under a 3-clause BSD style license - see LICENSE
"""The files of a `~twomass_vo.archives.LocalArchive` index: geometry and mapping.

`write_geometry` computes the stored footprint geometry of an index folder
block by block, straight into its ``.npy`` files (the memory of one block,
whatever the size of the index); `map_npy` memory-maps one column, keeping
the `mmap.mmap` so that the pages a large look-up read can be released.
"""

import mmap

import numpy as np

from ...geometry import (
    Footprints,
    angle_between,
    format_s_region,
    radec_to_xyz,
    sin_corners,
)
from ...geometry.sky_index import ZoneIndex

__all__ = [
    "BUILD_BLOCK",
    "FOOTPRINT_COLUMNS",
    "GEOMETRY_COLUMNS",
    "WCS_COLUMNS",
    "buffer_address",
    "geometry_blocks",
    "map_npy",
    "search_radius",
    "write_geometry",
]

WCS_COLUMNS = (
    "crval1",
    "crval2",
    "crpix1",
    "crpix2",
    "naxis1",
    "naxis2",
    "cdelt1",
    "cdelt2",
    "crota2",
)
#: Stored geometry (format 2): the corners from `sin_corners`, the
#: `Footprints` made from them (`Footprints.stored_parts`: whether the corners
#: were reversed to point the normals inward, the inward normals, centres and
#: radii), and the image centres' unit vectors of the zone index
#: (`ZoneIndex.item_vectors`), bit for bit.
GEOMETRY_COLUMNS = (
    "corners",
    "reversed",
    "normals",
    "centers",
    "radii",
    "center_xyz",
)
#: The arguments of `Footprints.from_stored`, in order.
FOOTPRINT_COLUMNS = ("corners", "reversed", "normals", "centers", "radii")
#: Rows per block when the index geometry is computed (bounds build memory).
BUILD_BLOCK = 1 << 16


def map_npy(path):
    """Memory-map a ``.npy`` file read-only: the array and its `mmap.mmap`."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    array = np.ndarray(
        shape, dtype, buffer=mapped, offset=offset, order="F" if fortran else "C"
    )
    return array, mapped


def buffer_address(mapped):
    """Address of the first byte of a `mmap.mmap`."""
    return np.frombuffer(mapped, np.uint8, count=0).__array_interface__["data"][0]


def geometry_blocks(columns):
    """Footprint geometry of the index rows, block by block.

    Yields dicts with the `GEOMETRY_COLUMNS`, ``s_region`` (ASCII bytes) and
    ``radius`` (largest centre-to-corner angle of the block, degrees). Every
    value is computed row by row exactly as `sin_corners` and `Footprints`
    compute it for a query, so stored and recomputed values are equal bit
    for bit.
    """
    n = len(columns["crval1"])
    for start in range(0, n, BUILD_BLOCK):
        part = slice(start, min(start + BUILD_BLOCK, n))
        wcs = [np.asarray(columns[c][part]) for c in WCS_COLUMNS]
        corners = sin_corners(*wcs)
        centre = radec_to_xyz(wcs[0], wcs[1])
        yield {
            "corners": corners,
            **Footprints(corners).stored_parts(corners),
            "center_xyz": ZoneIndex.item_vectors(wcs[0], wcs[1]),
            "s_region": format_s_region(corners).astype("S"),
            "radius": float(
                np.degrees(angle_between(centre[:, None, :], corners).max())
            ),
        }
    if n == 0:
        yield {
            "corners": np.zeros((0, 4, 3)),
            "normals": np.zeros((0, 4, 3)),
            "centers": np.zeros((0, 3)),
            "radii": np.zeros(0),
            "reversed": np.zeros(0, bool),
            "center_xyz": np.zeros((0, 3)),
            "s_region": np.zeros(0, "S1"),
            "radius": 0.0,
        }


def search_radius(radii):
    """Candidate search radius (degrees) from the largest footprint radius."""
    return max(radii, default=0.0) * (1 + 1e-9) + 1e-9


def _npy_header(file, dtype, shape):
    np.lib.format.write_array_header_1_0(
        file,
        {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": shape,
        },
    )


def write_geometry(index_dir):
    """Compute and write the geometry columns and ``s_region`` of an index folder.

    The blocks go straight to the ``.npy`` files, so the memory used is that
    of one block whatever the size of the index. Returns the search radius.
    """
    columns = {c: np.load(index_dir / f"{c}.npy", mmap_mode="r") for c in WCS_COLUMNS}
    n = len(columns["crval1"])
    files = {c: open(index_dir / f"{c}.npy", "wb") for c in GEOMETRY_COLUMNS}  # noqa: SIM115
    raw = open(index_dir / "s_region.raw", "wb")  # noqa: SIM115
    widths, radii, first = [], [], True
    try:
        for block in geometry_blocks(columns):
            for c, f in files.items():
                if first:
                    _npy_header(f, block[c].dtype, (n, *block[c].shape[1:]))
                f.write(np.ascontiguousarray(block[c]).tobytes())
            first = False
            widths.append((len(block["s_region"]), block["s_region"].dtype.itemsize))
            raw.write(block["s_region"].tobytes())
            radii.append(block["radius"])
    finally:
        for f in (*files.values(), raw):
            f.close()
    # s_region: every block padded to the widest string, as one array
    width = max(w for _, w in widths)
    with (
        open(index_dir / "s_region.raw", "rb") as raw,
        open(index_dir / "s_region.npy", "wb") as out,
    ):
        _npy_header(out, f"S{width}", (n,))
        for count, w in widths:
            block = np.frombuffer(raw.read(count * w), f"S{w}")
            out.write(block.astype(f"S{width}").tobytes())
    (index_dir / "s_region.raw").unlink()
    return search_radius(radii)
