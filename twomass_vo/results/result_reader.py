# Licensed under a 3-clause BSD style license - see LICENSE
"""Reading result files back, with their query metadata.

`read_result` reads any file `~twomass_vo.results.result_writer.write_table`
writes (VOTable, IPAC, FITS, ECSV, CSV) back into an
`~twomass_vo.ImageTable` whose ``meta`` has the structure of
`twomass_vo.results.query_metadata`, and gives its columns the contract's
UCDs, utypes and descriptions.
"""

from pathlib import Path

from .query_metadata import structured_meta
from .result_writer import FORMATS

__all__ = ["read_result"]


def _read_votable(source):
    """Read a VOTable once: its first table's rows, and its query metadata."""
    from astropy.io.votable import parse

    votable = parse(source, verify="ignore")
    first = votable.get_first_table()
    flat = {info.name: info.value for info in votable.resources[0].infos}
    for param in first.params:
        value = param.value
        flat[param.name] = value.decode() if isinstance(value, bytes) else str(value)
    return first.to_table(), structured_meta(flat)


def read_result(path):
    """Read a result file of any format, with its query metadata.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The file; the format comes from the extension.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        The rows, with ``table.meta`` in the structure of
        `twomass_vo.results.query_metadata`. Its rows load from
        ``access_url`` (no archive attached).

    Raises
    ------
    ValueError
        For an unknown extension, a path that is not a regular file (a FIFO,
        a device), or a file larger than ``twomass_vo.conf.max_input_size``.
    OSError
        If there is no such file.
    """
    import io
    import warnings

    from .. import conf
    from .._files.local_files import read_regular
    from .image_table import ImageTable

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown table format for {path} (use {', '.join(FORMATS)})")
    if not path.exists():
        raise OSError(f"{path}: no such file")
    data = read_regular(
        path, max_size=int(conf.max_input_size), limit="twomass_vo.conf.max_input_size"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. VOTable or FITS unit dialects
        if fmt == "votable":  # parsed once, for the rows and the metadata
            rows, meta = _read_votable(io.BytesIO(data))
            table = ImageTable(rows, meta=meta, copy=False)
        else:
            table = ImageTable.read(io.BytesIO(data), format=fmt)
            table.meta = structured_meta(dict(table.meta))
    _apply_contract(table)
    return table


def _apply_contract(table):
    """Give the contract columns of a table read from disk their UCD, utype, text.

    Files written by older versions (or CSV, which has no column metadata)
    then write out as current results do. Units are set only where the file
    had none (CSV); a unit the file has is kept.
    """
    from .image_table import COLUMNS, ImageTable

    contract = ImageTable.from_columns({})
    for name, _, unit, _, description in COLUMNS:
        if name not in table.colnames:
            continue
        column = table[name]
        column.meta.pop("utype", None)
        column.meta.update(contract[name].meta)  # ucd, ObsCore utype
        column.description = description
        if unit is not None and column.unit is None:
            column.unit = unit
