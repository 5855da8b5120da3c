# Licensed under a 3-clause BSD style license - see LICENSE
r"""Writing result files that keep the query metadata.

`write_table` writes an `~twomass_vo.ImageTable` in every table format of
the command line (`FORMATS`: VOTable, IPAC, FITS, ECSV, CSV) with the query
metadata of `twomass_vo.results.query_metadata`: as VOTable ``INFO`` (mode,
archive, route, URLs, version, date) and ``PARAM`` (query parameters)
elements (`to_votable`; BINARY2 rows for large tables, see
`twomass_vo.results.votable_binary`), IPAC ``\keyword`` lines, FITS
``HIERARCH TMVO ...`` cards and ECSV metadata (CSV holds the rows only).
`~twomass_vo.results.result_reader.read_result` reads any of them back into
the same structure (it needs `~twomass_vo.results.image_table.ImageTable`
and so lives above this module).
"""

import functools
from pathlib import Path

import numpy as np

from .query_metadata import (
    FITS_PREFIX,
    META_KEYS,
    ascii_flat_meta,
    flat_meta,
    structured_meta,
)

__all__ = [
    "BINARY2_ROWS",
    "FORMATS",
    "VOTABLE_FORMATS",
    "to_votable",
    "write_table",
]

#: File name extension -> astropy format name, for `write_table` and
#: `~twomass_vo.results.result_reader.read_result`.
FORMATS = {
    ".tbl": "ascii.ipac",
    ".ipac": "ascii.ipac",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
}

#: The ``votable_format`` of `write_table`: ``auto`` is BINARY2 for more than
#: `BINARY2_ROWS` rows, TABLEDATA (readable as text) for fewer.
VOTABLE_FORMATS = ("auto", "tabledata", "binary2")
BINARY2_ROWS = 1000

# UCDs of the query parameters written as VOTable PARAMs (meta.code otherwise)
_PARAM_UCDS = {
    "band": "instr.bandpass",
    "center": "pos.eq;obs.field",
    "region": "pos.outline;obs.field",
    "diameter": "phys.angSize;obs.field",
    "size": "phys.angSize",
    "date": "time.epoch;obs",
    "hemisphere": "meta.code;instr.obsty",
    "scan": "meta.number;obs.sequence",
    "image": "meta.number;obs.image",
    "n_inputs": "meta.number",
    "source": "meta.ref",
}
_PARAM_UNITS = {"diameter": "deg", "size": "arcsec"}


@functools.cache
def _text_param_class():
    """Return the class of the text PARAMs of `to_votable` (made on first use)."""
    from astropy.io.votable.tree import Field, Param

    class TextParam(Param):
        """A text PARAM whose value is escaped once in the XML.

        astropy's ``Param.to_xml`` escapes a char value (``&`` -> ``&amp;``)
        and its XML writer escapes the attribute again, so that ``&`` reads
        back as ``&amp;``: the value is written here as the attribute it is.
        """

        def to_xml(self, w, **kwargs):
            Field.to_xml(self, w, **kwargs)

    return TextParam


def to_votable(table):
    """Convert a result to a VOTable that keeps its query metadata.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result.

    Returns
    -------
    votable : `~astropy.io.votable.tree.VOTableFile`
        Columns with units, UCDs, descriptions and ObsCore utypes; the query
        as ``INFO`` elements of the resource (mode, archive, route,
        ``url_<name>``, version, date, ...) and its parameters as ``PARAM``
        elements (``param_<name>``) of the table.
    """
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    plain = table.copy(copy_data=False)
    plain.meta = {}
    votable = from_table(plain)
    resource = votable.resources[0]
    vot_table = resource.tables[0]
    meta = structured_meta(dict(table.meta))
    if "query" in meta:
        vot_table.description = f"2MASS image files for {meta['query']}"
    for key, value in flat_meta(meta).items():
        if key.startswith("param_"):
            name = key[6:]
            vot_table.params.append(
                _text_param_class()(
                    votable,
                    name=key,
                    ID=key,
                    datatype="char" if value.isascii() else "unicodeChar",
                    arraysize="*",
                    value=value,
                    ucd=_PARAM_UCDS.get(name, "meta.code"),
                    unit=_PARAM_UNITS.get(name),
                )
            )
        else:
            info = Info(name=key, value=value)
            if key in META_KEYS:
                info.content = META_KEYS[key]
            elif key.startswith("url_"):
                info.content = f"URL of the {key[4:]} endpoint"
            resource.infos.append(info)
    return votable


def _ipac_table(table):
    from astropy.table import Column

    out = table.copy(copy_data=False)
    out.meta = {
        "keywords": {
            k: {"value": v}
            for k, v in ascii_flat_meta(structured_meta(table.meta)).items()
        }
    }
    # IPAC has no boolean type: y/n as in the help page
    if "best" in out.colnames:
        best = out["best"]
        if best.dtype.kind != "b":  # already y/n (a table read from IPAC)
            best = best == "y"
        out.replace_column(
            "best",
            Column(
                np.where(best, "y", "n"),
                name="best",
                description=out["best"].description,
                meta=out["best"].meta,
            ),
        )
    return out


def _utf8_columns(table):
    """Replace the text columns that are not ASCII by their UTF-8 bytes, in place.

    FITS string columns hold bytes, and astropy writes unicode text as ASCII
    (an error for a non-ASCII ``id``); the UTF-8 bytes are written instead,
    which astropy reads back as the same text.
    """
    from astropy.table import MaskedColumn

    for name in table.colnames:
        column = table[name]
        data = np.ma.getdata(column)
        if data.dtype.kind != "U" or not data.size:
            continue
        if np.ascontiguousarray(data).view(np.uint32).max() < 0x80:
            continue
        encoded = np.char.encode(data, "utf-8")
        if isinstance(column, MaskedColumn):
            encoded = np.ma.MaskedArray(encoded, mask=column.mask)
        table[name] = column.__class__(
            encoded,
            name=name,
            unit=column.unit,
            description=column.description,
            meta=column.meta,
        )


def _write_fits(table, path, overwrite):
    from astropy.io import fits

    plain = table.copy(copy_data=False)
    plain.meta = {}
    _utf8_columns(plain)
    hdu = fits.table_to_hdu(plain)
    hdu.header["EXTNAME"] = "IMAGES"
    for key, value in ascii_flat_meta(structured_meta(table.meta)).items():
        hdu.header[f"HIERARCH {FITS_PREFIX}{key.upper()}"] = value
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=overwrite)


def _write_votable(table, path, votable_format):
    """Write a VOTable: TABLEDATA, or BINARY2 (`twomass_vo.results.votable_binary`)."""
    from .votable_binary import binary2_layout, split_document, write_binary2

    if votable_format not in VOTABLE_FORMATS:
        known = ", ".join(VOTABLE_FORMATS)
        raise ValueError(f"votable_format={votable_format!r}: use one of {known}")
    binary = votable_format == "binary2" or (
        votable_format == "auto" and len(table) > BINARY2_ROWS
    )
    if not binary:
        to_votable(table).to_xml(str(path))
        return
    rowless = to_votable(table[:0])  # every FIELD, PARAM and INFO, no rows
    vot_table = rowless.resources[0].tables[0]
    layout = binary2_layout(vot_table.fields, table)
    if layout is None or vot_table.infos:  # not fixed-size, not UCS-2: as text
        to_votable(table).to_xml(str(path))
        return
    header, footer = split_document(rowless)
    with open(path, "wb") as fh:
        write_binary2(fh, header, footer, table, layout)


def write_table(table, path, *, overwrite=False, votable_format="auto"):
    """Write a result, with its query metadata, in the format of the extension.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result (or any table with its columns, e.g. a download result).
    path : str or `~pathlib.Path`
        ``.vot``/``.xml``/``.votable`` (VOTable), ``.tbl``/``.ipac`` (IPAC:
        ``best`` as y/n), ``.fits``, ``.ecsv`` or ``.csv`` (rows only).
    overwrite : bool, optional
        Replace an existing file.
    votable_format : {'auto', 'tabledata', 'binary2'}, optional
        How a VOTable holds its rows: ``tabledata`` (XML, readable as
        text), ``binary2`` (base64 binary: written about ten times faster
        than TABLEDATA, and a third smaller), or ``auto`` (the default):
        BINARY2 for more than `BINARY2_ROWS` rows. The metadata (INFO,
        PARAM, FIELD) is the same. A table that BINARY2 cannot hold as
        fixed-size records (e.g. text outside the Basic Multilingual Plane,
        which ``unicodeChar`` cannot hold) is written as TABLEDATA.

    Raises
    ------
    ValueError
        For an unknown extension or ``votable_format``.
    OSError
        If the file exists and ``overwrite`` is false.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown table format for {path} (use {', '.join(FORMATS)})")
    if path.exists() and not overwrite:
        raise OSError(
            f"File {path} already exists. If you mean to replace it "
            "then use the argument overwrite=True."
        )
    if fmt == "votable":
        _write_votable(table, path, votable_format)
    elif fmt == "fits":
        _write_fits(table, path, overwrite)
    elif fmt == "ascii.ipac":
        _ipac_table(table).write(path, format=fmt, overwrite=overwrite)
    else:
        out = table.copy(copy_data=False)
        out.meta = structured_meta(table.meta) if fmt == "ascii.ecsv" else {}
        out.write(path, format=fmt, overwrite=overwrite)
