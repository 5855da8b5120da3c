# Licensed under a 3-clause BSD style license - see LICENSE
r"""The query metadata of a result: what it holds, and how files hold it.

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

`record_query` fills the structure in. The result files keep it
(`~twomass_vo.results.result_writer.write_table` writes it,
`~twomass_vo.results.result_reader.read_result` reads it back): as VOTable
``INFO`` (mode, archive, route, URLs, version, date) and ``PARAM`` (query
parameters) elements, IPAC ``\keyword`` lines, FITS ``HIERARCH TMVO ...``
cards (`FITS_PREFIX`), ECSV metadata and Parquet key-value metadata. The
names used by the flat formats are given by `flat_meta`: ``url_<name>`` and
``param_<name>`` for the two mappings; `structured_meta` rebuilds the
structure from any of them.

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
import re
from urllib.parse import quote, unquote

import numpy as np

__all__ = [
    "FITS_PREFIX",
    "META_KEYS",
    "ascii_flat_meta",
    "flat_meta",
    "record_query",
    "structured_meta",
]

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

#: The prefix of the FITS keywords holding the metadata (``HIERARCH TMVO MODE``).
FITS_PREFIX = "TMVO "

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


def ascii_flat_meta(meta):
    """Flatten the query metadata for the ASCII formats (FITS cards, IPAC).

    What they cannot hold (non-ASCII), lose (trailing blanks) or astropy
    misreads (``'/`` in a FITS string, a backslash or quote in an IPAC
    keyword, a final ``&``) is percent-encoded, with ``%`` itself.

    Parameters
    ----------
    meta : dict
        The structure of this module (or a flat one).

    Returns
    -------
    flat : dict
        `flat_meta` of ``meta``, percent-encoded, after a first entry
        ``encoding = percent`` that tells `structured_meta` to decode.
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
    elif any(str(k).startswith(FITS_PREFIX) for k in meta):  # FITS
        flat = {
            k[len(FITS_PREFIX) :].lower(): v
            for k, v in meta.items()
            if str(k).startswith(FITS_PREFIX)
        }

    else:
        flat = meta
    if flat.get(_ENCODING) == "percent":  # FITS and IPAC (`ascii_flat_meta`)
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
