# Licensed under a 3-clause BSD style license - see LICENSE
"""Results as pandas frames and Parquet files, with their query metadata.

A result of `~twomass_vo.TwoMassBatch` on a dask DataFrame is a dask
DataFrame whose partitions are pandas frames of the `~twomass_vo.ImageTable`
columns (`image_frame`); the query metadata (the structure of
`twomass_vo.results.query_metadata`) rides in each frame's ``attrs["twomass_vo"]``.
`partition_table` turns a partition (or any such frame) back into an
`~twomass_vo.ImageTable` whose rows open and download; `write_parquet`
writes an ImageTable (one file) or a dask result (a folder of one file per
partition) with the metadata in the Parquet key-value metadata
(``twomass_vo``: JSON), and `read_parquet` / `read_parquet_frame` read them
back -- and the files of dask's own ``result.to_parquet(path)`` too, whose
pandas metadata keeps the frames' ``attrs``. Needs pandas and pyarrow (the
``parquet`` or ``dask`` extra).

String columns are Arrow strings (``string[pyarrow]``): the ASCII byte
columns of a result become Arrow string arrays without a Python object per
value.
"""

import json
from pathlib import Path

import numpy as np

__all__ = [
    "META_KEY",
    "frame_meta",
    "image_frame",
    "partition_table",
    "read_parquet",
    "read_parquet_frame",
    "write_parquet",
]

#: Key of the query metadata in ``frame.attrs`` and in the Parquet metadata.
META_KEY = "twomass_vo"


def _arrow_strings(values):
    """Return an Arrow string array of a str/bytes column (no Python objects)."""
    import pyarrow as pa

    values = np.asarray(values)
    n = len(values)
    if n and values.strides[0] == 0:  # one value on every row (a broadcast view)
        first = values[0]
        text = first.decode("ascii") if isinstance(first, bytes) else str(first)
        return pa.repeat(pa.scalar(text, pa.string()), n)
    if values.dtype.kind != "S":
        return pa.array(values.astype(str), pa.string())
    width = max(values.dtype.itemsize, 1)
    matrix = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    lengths = np.char.str_len(values)
    data = matrix[np.arange(width)[None, :] < lengths[:, None]]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    array = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data)
    )
    return array.cast(pa.string())  # checks that the bytes are UTF-8


def image_frame(table, *, meta=None):
    """Return a pandas DataFrame of an ImageTable's columns, with its metadata.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A result (any number of rows).
    meta : dict, optional
        The query metadata to keep (default: the table's own, made
        structured by `~twomass_vo.results.query_metadata.structured_meta`).

    Returns
    -------
    frame : `pandas.DataFrame`
        The same columns and values (strings as ``string[pyarrow]``), the
        metadata in ``frame.attrs["twomass_vo"]``.
    """
    import pandas as pd

    from .query_metadata import structured_meta

    columns = {}
    for name in table.colnames:
        values = table[name]
        if values.dtype.kind in "SUO":
            columns[name] = pd.arrays.ArrowStringArray(_arrow_strings(values))
        else:
            columns[name] = np.asarray(values)
    frame = pd.DataFrame(columns, copy=False)
    frame.attrs[META_KEY] = structured_meta(dict(table.meta if meta is None else meta))
    return frame


def frame_meta(frame):
    """Return the query metadata of a result frame (``{}`` if it has none).

    Parameters
    ----------
    frame : `pandas.DataFrame` or dask DataFrame
        A partition, or a whole dask result.

    Returns
    -------
    meta : dict
        The structure of `twomass_vo.results.query_metadata`.
    """
    attrs = getattr(frame, "attrs", None)
    if attrs is None:  # a dask DataFrame: its empty pandas frame holds them
        attrs = frame._meta.attrs
    return dict(attrs.get(META_KEY, {}))


def partition_table(frame, *, archive=None):
    """Turn a result frame (a partition of a dask result) into an ImageTable.

    Parameters
    ----------
    frame : `pandas.DataFrame`
        A frame of `image_frame` (a computed partition, or a Parquet file
        read with pandas).
    archive : `~twomass_vo.archives.Archive`, optional
        The archive the rows came from (it makes simulated files on demand);
        without it the rows load from ``access_url``.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        The rows, with units, UCDs and the query metadata; its rows open,
        cut out and download as those of any result.
    """
    from .image_table import ImageTable

    columns = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "O":
            values = values.astype(str) if len(values) else np.zeros(0, "U1")
        columns[name] = values
    return ImageTable.from_columns(columns, archive=archive, meta=frame_meta(frame))


def _parquet_metadata(meta):
    from .query_metadata import structured_meta

    return {META_KEY.encode(): json.dumps(structured_meta(dict(meta))).encode()}


def write_parquet(result, path, *, overwrite=False, compute=True):
    """Write a result to Parquet with its query metadata.

    Parameters
    ----------
    result : `~twomass_vo.ImageTable` or dask DataFrame
        An in-process result (written as one file), or a dask result
        (written as a folder of one file per partition, computed on the
        current Dask scheduler).
    path : str or `~pathlib.Path`
        The file or folder (``result.parquet``).
    overwrite : bool, optional
        Replace an existing file or folder.
    compute : bool, optional
        For a dask result: write now (default), or return the delayed
        write, to compute together with other work.

    Returns
    -------
    write : None or dask Delayed
        The delayed write of a dask result with ``compute=False``.

    Raises
    ------
    OSError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OSError(
            f"{path} already exists. If you mean to replace it then use the "
            "argument overwrite=True."
        )
    if hasattr(result, "npartitions"):
        metadata = _parquet_metadata(frame_meta(result))
        return result.to_parquet(
            str(path),
            custom_metadata=metadata,
            write_index=False,
            overwrite=overwrite,
            compute=compute,
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = image_frame(result)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), **_parquet_metadata(result.meta)}
    pq.write_table(table.replace_schema_metadata(metadata), str(path))
    return None


def _stored_meta(path):
    import pyarrow.parquet as pq

    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
    for file in files[:1]:
        stored = pq.read_schema(str(file)).metadata or {}
        if META_KEY.encode() in stored:
            return json.loads(stored[META_KEY.encode()])
        # written by dask's or pandas' own to_parquet: the frames' attrs
        attributes = json.loads(stored.get(b"pandas", b"{}")).get("attributes", {})
        return dict(attributes.get(META_KEY, {}))
    return {}


def read_parquet(path, *, archive=None):
    """Read a Parquet result (a file, or a folder of partitions) as one ImageTable.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A file or folder written by `write_parquet`.
    archive : `~twomass_vo.archives.Archive`, optional
        As for `partition_table`.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        Every row, with the query metadata.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise OSError(f"{path}: no such file or folder")
    frame = pd.read_parquet(str(path))
    frame.attrs[META_KEY] = _stored_meta(path)
    return partition_table(frame, archive=archive)


def read_parquet_frame(path):
    """Read a Parquet result lazily, as a dask DataFrame (one partition per file).

    Parameters
    ----------
    path : str or `~pathlib.Path`
        A file or folder written by `write_parquet`.

    Returns
    -------
    frame : dask DataFrame
        The rows, partition by partition, the query metadata in the attrs
        of its partitions (see `frame_meta`); `partition_table` turns a
        computed partition into an `~twomass_vo.ImageTable`.
    """
    import dask.dataframe as dd

    path = Path(path)
    if not path.exists():
        raise OSError(f"{path}: no such file or folder")
    meta = _stored_meta(path)
    frame = dd.read_parquet(str(path))

    def with_meta(part):
        part = part.copy(deep=False)
        part.attrs[META_KEY] = meta
        return part

    empty = frame._meta.copy()
    empty.attrs[META_KEY] = meta
    return frame.map_partitions(with_meta, meta=empty)
