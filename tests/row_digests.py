# Licensed under a 3-clause BSD style license - see LICENSE
"""Column digests of query results: proof that a refactor changes no row.

`table_digest` reduces a result table (an `~twomass_vo.ImageTable`) to a
JSON-ready dict that is equal for two results if and only if they hold the
same rows -- values exact to the bit, in the same order -- under the same
schema and query metadata, and that does not depend on where the package's
modules live. ``tests/test_same_rows.py`` compares the digests of fresh
queries with those stored in ``tests/data/row_digests.json`` (written by
``tests/data/make_row_digests.py``).

The digest
----------
``rows``
    The row count.
``type``
    The class name of the table (``ImageTable``): a name, not a module path.
``order``
    The column names in order.
``columns``
    Per column: ``kind`` (dtype kind, with the item size for numbers and
    booleans: ``i8``, ``f8``, ``b1``; only ``S`` / ``U`` / ``O`` for text,
    whose width follows the longest value and so the length of a port or a
    temporary folder) and ``unit`` (its string, or None).
``column_info``
    The SHA-256 of every column's description and ``meta`` (UCD ...).
``digests``
    Per column, the SHA-256 (hex) of the canonical encoding of its values:

    * numbers: cast to a fixed little-endian dtype (``<i8``, ``<u8``,
      ``<f8``, ``<c16``, booleans ``u1``), the shape, then the raw bytes;
      every NaN is written as the one quiet NaN (its sign and payload bits
      are not behaviour); ``-0.0`` and ``0.0`` stay distinct. Masked
      entries are set to 0 and the mask is hashed after the values.
    * text (``S``, ``U``, ``O``): every value as UTF-8, length-prefixed
      (so that no separator can collide with a value); bytes are decoded;
      a masked value is a marker no text can take; other objects (arrays
      in object columns, numbers) by an exact text form (``repr`` of Python
      floats round-trips).
``meta``
    ``table.meta`` itself (normalised, below) without ``date`` (the time
    of the query) and ``version`` (the package version, which follows the
    commit): both legitimately change from run to run.
``not_found``
    The digest of ``table.not_found`` (the unmatched rows of the sources
    mode) when the table has one, else None.
``warnings``
    (`query_digest` only) every warning the query gave, in order, as
    ``"Category: message"`` (a class name, not a module path).

Normalised, in every text (column values and metadata)
--------------------------------------------------------
* The port of a local test server: ``http://127.0.0.1:PORT`` (and
  ``localhost``) becomes ``http://127.0.0.1:{port}``. The IRSA stand-in
  listens on a port the OS picks, so its ``access_url``, ``cutout_url``
  and the ``urls`` / ``route_urls`` metadata change from session to
  session; the DaCHS mirror's port is a setting (``DACHS_PORT``).
* The given ``roots`` (folders of the archives made in the session's
  temporary folder, such as the simulated survey's private store) become
  ``{root}``: the ``file://`` ``access_url`` of local archives hold them.

Nothing else is excluded: every column is digested. The digests are exact,
so they also change with the numerical libraries (numpy, astropy, erfa) when
those change a last bit; they prove "no behaviour change" between two
commits run in the same environment, not across dependency upgrades.
"""

import hashlib
import json
import math
import re
import warnings

import numpy as np

__all__ = ["normalise_text", "query_digest", "table_digest"]

#: The local servers' ports, which change from session to session.
PORT = re.compile(r"(https?://(?:127\.0\.0\.1|localhost|\[::1\])):\d+")

#: ``table.meta`` keys left out: the time of the query and the package version.
VARYING_META = ("date", "version")

#: A masked (or None) value in a text column: no decoded text contains NUL + this.
MASKED = "\x00masked\x00"


def normalise_text(text, roots=()):
    """Return ``text`` with the run-dependent parts replaced by placeholders."""
    for root in sorted({str(r) for r in roots if str(r)}, key=len, reverse=True):
        text = text.replace(root, "{root}")
    return PORT.sub(r"\1:{port}", text)


def _text(value, roots):
    """Return one value as exact, normalised text."""
    if value is None or value is np.ma.masked:
        return MASKED
    if isinstance(value, bytes | np.bytes_):
        return normalise_text(bytes(value).decode("utf-8", "backslashreplace"), roots)
    if isinstance(value, str):
        return normalise_text(str(value), roots)
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "nan" if math.isnan(value) else repr(float(value))
    if isinstance(value, np.ma.MaskedArray):
        filled = value.astype(object).filled(None)
        return "[" + ",".join(_text(v, roots) for v in filled.ravel()) + "]"
    if isinstance(value, np.ndarray | list | tuple):
        return "[" + ",".join(_text(v, roots) for v in np.asarray(value).ravel()) + "]"
    return normalise_text(repr(value), roots)


def _kind(dtype):
    if dtype.kind in "SUO":
        return dtype.kind
    return f"{dtype.kind}{dtype.itemsize}"


#: The fixed dtype numbers are cast to before hashing, by dtype kind.
CANONICAL = {"b": "u1", "i": "<i8", "u": "<u8", "f": "<f8", "c": "<c16"}


def _column_sha(col, roots):
    data = np.ma.getdata(col)
    mask = np.ma.getmaskarray(col)
    sha = hashlib.sha256()
    kind = data.dtype.kind
    if kind in CANONICAL:
        values = np.array(data, dtype=CANONICAL[kind])  # a copy
        values[mask] = 0
        if kind in "fc":
            values[np.isnan(values)] = np.nan  # one NaN bit pattern
        sha.update(repr(values.shape).encode())
        sha.update(values.tobytes())
        sha.update(b"mask:" + np.packbits(mask.ravel()).tobytes())
        return sha.hexdigest()
    if kind not in "SUO":
        raise TypeError(f"column {col.name!r}: no canonical encoding of {data.dtype}")
    sha.update(repr(data.shape).encode())
    for value, masked in zip(data.ravel(), mask.ravel(), strict=True):
        text = (MASKED if masked else _text(value, roots)).encode("utf-8")
        sha.update(b"%d:" % len(text) + text)
    return sha.hexdigest()


def _plain(value, roots):
    """Return metadata as JSON-ready values, texts normalised."""
    if isinstance(value, dict):
        return {str(k): _plain(v, roots) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, list | tuple):
        return [_plain(v, roots) for v in value]
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    return _text(value, roots)  # floats exactly, as text (NaN is not JSON)


def _info_sha(table, roots):
    info = {
        name: {
            "description": table[name].info.description,
            "meta": _plain(table[name].info.meta, roots),
        }
        for name in table.colnames
    }
    text = json.dumps(_plain(info, roots), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def table_digest(table, roots=()):
    """Return the digest of a result table (see the module docstring).

    Parameters
    ----------
    table : `~astropy.table.Table`
        A result (an `~twomass_vo.ImageTable`), or any table.
    roots : sequence of str or path-like, optional
        Folders that change from run to run (archives in temporary folders):
        replaced by ``{root}`` wherever a text holds them.

    Returns
    -------
    dict
        JSON-ready: ``rows``, ``type``, ``order``, ``columns``,
        ``column_info``, ``digests``, ``meta`` and ``not_found``.
    """
    roots = tuple(str(r) for r in roots)
    columns, digests = {}, {}
    for name in table.colnames:
        col = table[name]
        columns[name] = {
            "kind": _kind(np.ma.getdata(col).dtype),
            "unit": None if col.unit is None else str(col.unit),
        }
        digests[name] = _column_sha(col, roots)
    meta = {k: v for k, v in table.meta.items() if k not in VARYING_META}
    not_found = getattr(table, "not_found", None)
    return {
        "rows": len(table),
        "type": type(table).__name__,
        "order": list(table.colnames),
        "columns": columns,
        "column_info": _info_sha(table, roots),
        "digests": digests,
        "meta": _plain(meta, roots),
        "not_found": None if not_found is None else table_digest(not_found, roots),
    }


def query_digest(call, roots=()):
    """Run ``call()`` (a query) and return its digest and the warnings it gave.

    Every warning is recorded (none is turned into an error nor shown once
    only) as ``"Category: message"``, the message normalised: warnings are
    behaviour too (a `~twomass_vo.exceptions.NoResultsWarning` or a
    `~twomass_vo.exceptions.QuicklookWarning` that comes or goes is a change).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = call()
    digest = table_digest(table, roots)
    digest["warnings"] = [
        f"{w.category.__name__}: {normalise_text(str(w.message), roots)}"
        for w in caught
    ]
    return digest
