# Licensed under a 3-clause BSD style license - see LICENSE
"""Finding a TAP table of 2MASS All-Sky image files at run time.

IRSA's TAP service is confirmed, but the name and columns of a 2MASS All-Sky
image table there are not (IRSA's own code shows the pattern
``twomass.*_images``). `discover_image_table` reads ``TAP_SCHEMA.tables`` and
``TAP_SCHEMA.columns`` (two small synchronous queries) and maps the columns
of the first usable table by their IBE names (`CANDIDATE_NAMES`); names the
user configured come first. `Discovery` records what was found -- or why
nothing was -- so the archive can route each mode to TAP or to IBE.
"""

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.units import UnitsWarning

__all__ = [
    "CANDIDATE_NAMES",
    "TABLE_PATTERN",
    "Discovery",
    "discover_image_table",
    "map_columns",
]

#: Table names taken for the 2MASS All-Sky image table when none is
#: configured: 2MASS, "all-sky" and "image" in the name, in that order
#: (``twomass.allsky_images``; not ``twomass.full_images``, another release).
TABLE_PATTERN = re.compile(r"(two|2)mass.*all_?sky.*image", re.IGNORECASE)

#: Contract column -> column names looked for (IBE's names), after the
#: configured name. ``corners`` needs all 8.
CANDIDATE_NAMES = {
    "coadd_key": ("coadd_key",),
    "ordate": ("ordate",),
    "hemisphere": ("hemisphere",),
    "scanno": ("scanno",),
    "image": ("coaddno",),
    "file_name": ("fname",),
    "band": ("filter",),
    "ra": ("crval1", "ra"),
    "dec": ("crval2", "dec"),
    "s_region": ("poly", "s_region"),
    "corners": (("ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4"),),
    "image_type": (),
    "access_url": (),
    "access_format": (),
    "access_estsize": (),
    "pubdid": (),
}

#: Columns without which a table cannot answer any look-up.
_NEEDED = ("coadd_key", "ordate", "hemisphere", "scanno")


@dataclass
class Discovery:
    """What `discover_image_table` found.

    Attributes
    ----------
    table : str or None
        The image table, or None when there is no usable one.
    columns : dict
        Contract column -> table column (``None``: absent), for
        `~twomass_vo.archives.vo.VOArchive`.
    reason : str
        Why this table, or why none.
    tables_seen : list of str
        The 2MASS tables ``TAP_SCHEMA.tables`` listed.
    """

    table: str | None
    columns: dict = field(default_factory=dict)
    reason: str = ""
    tables_seen: list = field(default_factory=list)

    @property
    def spatial(self):
        """Whether the table can answer positions (a footprint geometry)."""
        return self.table is not None and self.columns.get("s_region") is not None


def _run(service, query):
    from pyvo.dal.exceptions import DALOverflowWarning

    with warnings.catch_warnings():
        for category in (DALOverflowWarning, VOWarning, UnitsWarning):
            warnings.simplefilter("ignore", category)
        return service.run_sync(query, maxrec=100_000).to_table()


def _text(values):
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("ascii", "replace")
        out.append("" if v is None or v is np.ma.masked else str(v))
    return out


def map_columns(available, configured):
    """Map contract columns to the names of ``available`` (any case).

    Parameters
    ----------
    available : iterable of str
        The table's column names.
    configured : dict
        Contract column -> configured name (``None``: not configured); a
        configured name wins when the table has it.

    Returns
    -------
    columns : dict
        Contract column -> the table's name, or None.
    """
    lower = {name.lower(): name for name in available}
    columns = {}
    for key, candidates in CANDIDATE_NAMES.items():
        wanted = configured.get(key)
        names = ([wanted] if wanted else []) + list(candidates)
        columns[key] = None
        for name in names:
            if isinstance(name, (tuple, list)) or (key == "corners"):
                group = name.split() if isinstance(name, str) else list(name)
                if group and all(n.lower() in lower for n in group):
                    columns[key] = tuple(lower[n.lower()] for n in group)
                    break
            elif name.lower() in lower:
                columns[key] = lower[name.lower()]
                break
    return columns


def discover_image_table(service, *, table=None, configured=None):
    """Find the 2MASS All-Sky image table of a TAP service.

    Parameters
    ----------
    service : `pyvo.dal.TAPService`
        The TAP service (with the archive's session).
    table : str, optional
        The configured table name: only it is considered.
    configured : dict, optional
        Configured column names (contract column -> name).

    Returns
    -------
    discovery : `Discovery`
        ``table`` None (with the reason) when no usable table exists.

    Raises
    ------
    requests.ConnectionError, requests.Timeout
        When the service cannot be reached (the caller says so once).
    """
    from pyvo.dal.exceptions import DALAccessError

    configured = configured or {}
    if table is not None:
        where = f"table_name = '{table}'"  # a validated table name
    else:
        where = "table_name LIKE '%mass%'"
    try:
        tables = _run(
            service, f"SELECT table_name FROM TAP_SCHEMA.tables WHERE {where}"
        )
        names = _text(tables["table_name"]) if "table_name" in tables.colnames else []
        if table is not None:
            candidates = [n for n in names if n.lower() == table.lower()]
        else:
            candidates = [n for n in names if TABLE_PATTERN.search(n)]
        if not candidates:
            what = f"table {table!r}" if table else "2MASS All-Sky image table"
            return Discovery(
                None,
                reason=f"TAP_SCHEMA.tables at {service.baseurl} lists no {what}",
                tables_seen=names,
            )
        quoted = ", ".join(f"'{n}'" for n in candidates)
        cols = _run(
            service,
            "SELECT table_name, column_name FROM TAP_SCHEMA.columns "
            f"WHERE table_name IN ({quoted})",
        )
    except DALAccessError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
            raise cause from exc
        return Discovery(
            None, reason=f"TAP_SCHEMA at {service.baseurl} could not be read: {exc}"
        )
    owner = _text(cols["table_name"])
    column_names = _text(cols["column_name"])
    for name in candidates:
        available = [c for t, c in zip(owner, column_names, strict=True) if t == name]
        columns = map_columns(available, configured)
        missing = [k for k in _NEEDED if columns[k] is None]
        if columns["image"] is None and columns["file_name"] is None:
            missing.append("image (coaddno or fname)")
        if columns["band"] is None and columns["file_name"] is None:
            missing.append("band (filter or fname)")
        if not missing:
            return Discovery(
                name,
                columns,
                reason=f"{name} in TAP_SCHEMA at {service.baseurl}",
                tables_seen=names,
            )
    return Discovery(
        None,
        reason=(
            f"no 2MASS image table at {service.baseurl} has the needed columns "
            f"({', '.join(candidates)} lack {', '.join(missing)})"
        ),
        tables_seen=names,
    )
