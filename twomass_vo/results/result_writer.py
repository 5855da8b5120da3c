# Licensed under a 3-clause BSD style license - see LICENSE
r"""The query metadata of a result, and writing result files that keep it.

Every `~twomass_vo.ImageTable` made by a query carries, in ``table.meta``,
one structure describing the query that made it (all values are strings):

``mode``
    The batch mode: ``region``, ``positions``, ``coadd_keys`` or ``scans``.
``archive``
    The archive's name (``irsa``, ``sim``, a mirror's name, ...).
``route``
    How the archive was asked: ``local`` for the embedded archives, ``vo``
    for SIA v2 / TAP services, or the routes an archive records for the
    look-up (`~twomass_vo.archives.IrsaArchive`: e.g. ``sia, ibe-where``).
``route_urls``
    The service URLs the look-up asked, space-separated (archives that
    record their routes only).
``urls``
    Mapping of endpoint name (``sia``, ``tap``, ``datalink``, ...) to URL.
``image_type``
    ``atlas`` or ``quicklook``.
``query``
    The query in words, e.g. ``3 position(s)``.
``parameters``
    Mapping of the query's parameters (``band``, ``center``, ``region``,
    ``best``, ...) to their values as text.
``version``
    The ``twomass_vo`` version that ran the query.
``date``
    When the query ran: UTC, ISO 8601.

Other plain text entries (e.g. ``intersect``) are kept as they are.

`write_table` writes a table with that structure in every format of the
command line: as VOTable ``INFO`` (mode, archive, route, URLs, version, date)
and ``PARAM`` (query parameters) elements, IPAC ``\keyword`` lines, FITS
``HIERARCH TMVO ...`` cards and ECSV metadata;
`~twomass_vo.results.result_reader.read_table` reads any of them back into the same
structure (it needs `~twomass_vo.results.image_table.ImageTable` and so lives above
this module). The names used by the flat formats are given
by `flat_meta`: ``url_<name>`` and ``param_<name>`` for the two mappings.

Every value is text that each format can hold: control characters (a
newline in a file name) are written as their escapes (``\\n``) and bytes
that are not UTF-8 (a Latin-1 file name) as ``\\xe9``. FITS cards and IPAC
keywords hold printable ASCII only, and astropy misreads some of their
quoted strings (``'/`` in FITS, a backslash in IPAC): in those two formats
every ``%``, ``'``, ``&``, backslash, non-ASCII character and trailing blank
is percent-encoded (an ``encoding = percent`` entry says so), and decoded
on reading.
"""

import datetime
import functools
import re
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np

__all__ = [
    "BINARY2_ROWS",
    "FORMATS",
    "META_KEYS",
    "VOTABLE_FORMATS",
    "flat_meta",
    "record_query",
    "structured_meta",
    "to_votable",
    "write_table",
]

#: File name extension -> astropy format name, for `write_table` and
#: `~twomass_vo.results.result_reader.read_table`.
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

#: The documented scalar entries: name -> description (VOTable INFO text).
META_KEYS = {
    "mode": "Batch mode of the query",
    "archive": "Name of the archive queried",
    "route": "How the archive was asked (local, vo, sia, tap, ibe-upload, ...)",
    "route_urls": "The service URLs the look-up asked (space-separated)",
    "image_type": "atlas or quicklook",
    "intersect": "Region mode: overlaps, covers or enclosed",
    "query": "The query in words",
    "version": "Version of twomass_vo that ran the query",
    "date": "When the query ran (UTC, ISO 8601)",
}

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
_FITS_PREFIX = "TMVO "


#: Control characters (C0, DEL, C1): written as their escapes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The entry marking percent-encoded values (FITS, IPAC), and what stays as it is.
_ENCODING = "encoding"
_ASCII_SAFE = "".join(
    chr(c) for c in range(0x20, 0x7F) if chr(c) not in "%'&\\" and not chr(c).isalnum()
)


def _text(value):
    """Return a metadata value as text every format can hold (see the module)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    text = str(value)
    if text.isprintable():
        return text
    try:  # a name from the file system: its undecodable bytes as \xNN
        text = text.encode("utf-8", "surrogateescape").decode(
            "utf-8", "backslashreplace"
        )
    except UnicodeEncodeError:  # other lone surrogates
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _ascii_flat(meta):
    """`flat_meta` percent-encoded for the ASCII formats (FITS cards, IPAC).

    What they cannot hold (non-ASCII), lose (trailing blanks) or astropy
    misreads (``'/`` in a FITS string, a backslash or quote in an IPAC
    keyword, a final ``&``) is encoded, with ``%`` itself; the first entry,
    ``encoding = percent``, tells `structured_meta` to decode.
    """
    flat = {_ENCODING: "percent"}
    for key, text in flat_meta(meta).items():
        body = text.rstrip(" ")
        flat[key] = quote(body, safe=_ASCII_SAFE) + "%20" * (len(text) - len(body))
    return flat


def _archive_urls(archive):
    """Return the archive's endpoints as name -> URL (empty for local ones)."""
    info = archive.describe(check=False)  # no endpoint is asked
    return {
        key[: -len("_url")]: str(value)
        for key, value in info.items()
        if key.endswith("_url") and isinstance(value, str) and value
    }


def record_query(table, *, archive, parameters):
    """Complete ``table.meta`` with the query's parameters, route, URLs, version, date.

    Entries already there (e.g. a ``route`` or ``urls`` the archive recorded)
    are kept.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        A query result; changed in place.
    archive : `~twomass_vo.archives.Archive`
        The archive queried.
    parameters : dict
        The query's parameters; `None` values are left out, the others are
        stored as text.

    Returns
    -------
    table : `~twomass_vo.ImageTable`
        The same table.
    """
    from ..version import version

    meta = table.meta
    meta.setdefault("archive", archive.name)
    urls = dict(_archive_urls(archive))
    urls.update(meta.get("urls") or {})
    meta["urls"] = urls
    meta.setdefault("route", "vo" if urls else "local")
    params = {k: _text(v) for k, v in parameters.items() if v is not None}
    params.update(meta.get("parameters") or {})
    meta["parameters"] = params
    meta.setdefault("version", version)
    meta.setdefault(
        "date",
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    return table


def flat_meta(meta):
    """Flatten the query metadata to one level of text values.

    Parameters
    ----------
    meta : dict
        The structure of this module (or an already flat one).

    Returns
    -------
    flat : dict
        Scalar entries as they are, ``urls`` as ``url_<name>`` and
        ``parameters`` as ``param_<name>`` entries; everything as `str`.
        Entries that are neither text nor numbers (e.g. astropy's own
        ``comments``) are left out.
    """
    flat = {}
    for key, value in meta.items():
        if key == "urls" and isinstance(value, dict):
            flat.update({f"url_{k}": _text(v) for k, v in value.items()})
        elif key == "parameters" and isinstance(value, dict):
            flat.update({f"param_{k}": _text(v) for k, v in value.items()})
        elif isinstance(value, str | int | float | bool | np.generic):
            flat[str(key)] = _text(value)
    return flat


def structured_meta(meta):
    """Rebuild the query metadata from what a file reader returns.

    Parameters
    ----------
    meta : dict
        ``table.meta`` of a table read from any format of `write_table`
        (IPAC ``keywords``, FITS ``TMVO ...`` keys, ECSV structure) or the
        flat form of `flat_meta`.

    Returns
    -------
    meta : dict
        The structure documented in this module (``urls`` and ``parameters``
        always present, possibly empty).
    """
    if isinstance(meta.get("keywords"), dict):  # IPAC
        flat = {k: v.get("value", v) for k, v in meta["keywords"].items()}
    elif any(str(k).startswith(_FITS_PREFIX) for k in meta):  # FITS
        flat = {
            k[len(_FITS_PREFIX) :].lower(): v
            for k, v in meta.items()
            if str(k).startswith(_FITS_PREFIX)
        }

    else:
        flat = meta
    if flat.get(_ENCODING) == "percent":  # FITS and IPAC (`_ascii_flat`)
        flat = {
            k: unquote(v) if isinstance(v, str) else v
            for k, v in flat.items()
            if k != _ENCODING
        }
    out, urls, params = {}, {}, {}
    for key, value in flat.items():
        if key == "urls" and isinstance(value, dict):
            urls.update({k: _text(v) for k, v in value.items()})
        elif key == "parameters" and isinstance(value, dict):
            params.update({k: _text(v) for k, v in value.items()})
        elif key.startswith("url_"):
            urls[key[4:]] = _text(value)
        elif key.startswith("param_"):
            params[key[6:]] = _text(value)
        elif isinstance(value, str | int | float | bool | np.generic):
            out[key] = _text(value)
    out["urls"] = urls
    out["parameters"] = params
    return out


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
            k: {"value": v} for k, v in _ascii_flat(structured_meta(table.meta)).items()
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
    for key, value in _ascii_flat(structured_meta(table.meta)).items():
        hdu.header[f"HIERARCH {_FITS_PREFIX}{key.upper()}"] = value
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
