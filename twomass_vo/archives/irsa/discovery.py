# Licensed under a 3-clause BSD style license - see LICENSE
"""Finding a TAP table of 2MASS All-Sky image files at run time.

IRSA's TAP service is confirmed, but the name and columns of a 2MASS All-Sky
image table there are not (IRSA's own code shows the pattern
``twomass.*_images``). `discover_image_table` reads ``TAP_SCHEMA.tables`` and
``TAP_SCHEMA.columns`` (two small synchronous queries) and maps the columns
of a usable table by their IBE names (`CANDIDATE_NAMES`); names the user
configured come first. A table is found

1. by the name configured (only that one, when there is one); else
2. by its name (`TABLE_PATTERN`: ``twomass.allsky_images``); else
3. by its columns, so that a renamed table is still found: a table of a
   ``twomass`` schema with a ``coadd_key`` column and a footprint (the corner
   columns ``ra1 .. dec4`` or a polygon column, ``poly`` / ``s_region``),
   whose name is not that of another 2MASS image set (`OTHER_IMAGE_SETS`);
   exactly one such table must have the needed columns (two are ambiguous:
   none is taken).

``TAP_SCHEMA`` is a service's answer, so it is not trusted: a table or column
name that is not a regular ADQL identifier
(`~twomass_vo.archives.vo.adql.is_table_name`,
`~twomass_vo.archives.vo.adql.is_column_name`: a quote, a comment, a blank, a
look-alike letter such as the Kelvin sign) is skipped and logged, never
written into a query; names go into the ``TAP_SCHEMA.columns`` query as
escaped string literals; the work is linear in the size of the answers (at
most `MAX_CANDIDATES` tables are looked at). `Discovery` records what was
found -- or why nothing was -- so the archive can route each mode to TAP or
to IBE.
"""

import logging
import re
import warnings
from dataclasses import dataclass, field

import requests
from astropy.io.votable.exceptions import VOWarning
from astropy.units import UnitsWarning

from ..vo.adql import adql_string, is_column_name, is_table_name
from ..vo.column_text import as_text

__all__ = [
    "CANDIDATE_NAMES",
    "MAX_CANDIDATES",
    "OTHER_IMAGE_SETS",
    "TABLE_PATTERN",
    "Discovery",
    "discover_image_table",
    "map_columns",
]

log = logging.getLogger("twomass_vo.archives")

#: Table names taken for the 2MASS All-Sky image table when none is
#: configured: 2MASS, "all-sky" and "image" in the name, in that order
#: (``twomass.allsky_images``; not ``twomass.full_images``, another release).
TABLE_PATTERN = re.compile(r"(two|2)mass.*all_?sky.*image", re.IGNORECASE)

#: Names (after the schema) of IRSA's other 2MASS image sets, which have the
#: All-Sky table's columns: never taken for it by their columns (the full
#: survey, 6x, Large Galaxy Atlas, Lockman Hole, calibration, Quicklook).
OTHER_IMAGE_SETS = re.compile(
    r"(?:^|_)(?:full|sixx|6x|lga|lh|cal|ql|quicklook)", re.IGNORECASE
)

#: Most tables looked at by name, and by columns (a listing of more is cut).
MAX_CANDIDATES = 50

#: Rows read from each ``TAP_SCHEMA`` query (MAXREC).
_MAXREC = 100_000

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
        `~twomass_vo.archives.VOArchive`.
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
        return service.run_sync(query, maxrec=_MAXREC).to_table()


class _Unreadable(Exception):
    """A ``TAP_SCHEMA`` answer without the columns asked for."""


def _text(table, name, url):
    """Return a column of a ``TAP_SCHEMA`` answer as a list of str (one pass)."""
    if name not in table.colnames:
        raise _Unreadable(
            f"TAP_SCHEMA at {url} answered without a {name} column "
            f"(columns: {', '.join(table.colnames)[:200]})"
        )
    return as_text(table[name]).tolist()


class _Skipped:
    """Names of a ``TAP_SCHEMA`` answer that are not ADQL identifiers, logged once."""

    def __init__(self, url):
        self.url = url
        self.names = {"table": {}, "column": {}}  # distinct, in order

    def keep(self, name, kind):
        ok = is_table_name(name) if kind == "table" else is_column_name(name)
        if not ok:
            self.names[kind].setdefault(name)
        return ok

    def log(self):
        for kind, names in self.names.items():
            if names:
                log.warning(
                    "TAP_SCHEMA at %s lists %d %s name(s) that are not ADQL "
                    "identifiers: skipped (first: %a)",
                    self.url,
                    len(names),
                    kind,
                    next(iter(names))[:200],
                )


def map_columns(available, configured):
    """Map contract columns to the names of ``available`` (any case).

    Parameters
    ----------
    available : iterable of str
        The table's column names (ADQL identifiers).
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


def _missing(columns):
    """Return the needed contract columns a mapping lacks."""
    missing = [k for k in _NEEDED if columns[k] is None]
    if columns["image"] is None and columns["file_name"] is None:
        missing.append("image (coaddno or fname)")
    if columns["band"] is None and columns["file_name"] is None:
        missing.append("band (filter or fname)")
    return missing


def _images_by_columns(name, available, configured):
    """Map the columns of a table that looks like the All-Sky image table.

    A table of a ``twomass`` schema, not named as another image set, with
    ``coadd_key`` and a footprint (the 8 corners or a polygon column);
    None for any other table.
    """
    schema, _, bare = name.rpartition(".")
    if schema.rpartition(".")[2].lower() != "twomass":
        return None
    if OTHER_IMAGE_SETS.search(bare):
        return None
    key = (configured.get("coadd_key") or "coadd_key").lower()
    if not any(c.lower() in (key, "coadd_key") for c in available):
        return None  # a quick look first: most tables of the schema are catalogs
    columns = map_columns(available, configured)
    footprint = columns["corners"] is not None or columns["s_region"] is not None
    return columns if columns["coadd_key"] is not None and footprint else None


def discover_image_table(service, *, table=None, configured=None):
    """Find the 2MASS All-Sky image table of a TAP service.

    Parameters
    ----------
    service : `pyvo.dal.TAPService`
        The TAP service (with the archive's session).
    table : str, optional
        The configured table name (validated): only it is considered.
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
    url = service.baseurl
    skipped = _Skipped(url)
    try:
        if table is not None:
            where = f"table_name = {adql_string(table)}"
        else:
            where = "table_name LIKE '%mass%'"
        listed = _run(
            service, f"SELECT table_name FROM TAP_SCHEMA.tables WHERE {where}"
        )
        names = [
            n for n in _text(listed, "table_name", url) if skipped.keep(n, "table")
        ]
        if table is not None:
            by_name = [n for n in names if n.lower() == table.lower()][:1]
            if not by_name:
                skipped.log()
                return Discovery(
                    None,
                    reason=f"TAP_SCHEMA.tables at {url} lists no table {table!r}",
                    tables_seen=names,
                )
        else:
            by_name = [n for n in names if TABLE_PATTERN.search(n)]
            by_name = by_name[:MAX_CANDIDATES]
        wanted = []
        if by_name:
            wanted.append(
                f"table_name IN ({', '.join(adql_string(n) for n in by_name)})"
            )
        if table is None:  # and the tables of a twomass schema, by their columns
            wanted.append("table_name LIKE 'twomass.%'")
        cols = _run(
            service,
            "SELECT table_name, column_name FROM TAP_SCHEMA.columns "
            f"WHERE {' OR '.join(wanted)}",
        )
        owners = _text(cols, "table_name", url)
        column_names = _text(cols, "column_name", url)
    except DALAccessError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
            raise cause from exc
        return Discovery(None, reason=f"TAP_SCHEMA at {url} could not be read: {exc}")
    except _Unreadable as exc:
        return Discovery(None, reason=str(exc))
    available = {}  # table -> its column names, in one pass over the answer
    for owner, column in zip(owners, column_names, strict=True):
        if skipped.keep(owner, "table") and skipped.keep(column, "column"):
            available.setdefault(owner, []).append(column)
    skipped.log()
    return _choose(url, names, by_name, available, configured, table)


def _choose(url, names, by_name, available, configured, table):
    """Return the `Discovery`: a table found by name, else one found by columns."""
    lacking = {}  # table -> the needed columns it lacks
    for name in by_name:
        columns = map_columns(available.get(name, ()), configured)
        lacking[name] = _missing(columns)
        if not lacking[name]:
            how = "configured" if table is not None else "by its name"
            return Discovery(
                name,
                columns,
                reason=f"{name} in TAP_SCHEMA at {url} ({how})",
                tables_seen=names,
            )
    found = []
    for name, cols in available.items() if table is None else ():
        if name in lacking:
            continue
        columns = _images_by_columns(name, cols, configured)
        if columns is None:
            continue
        lacking[name] = _missing(columns)
        if not lacking[name]:
            found.append((name, columns))
            if len(found) == MAX_CANDIDATES:
                break
    if len(found) == 1:
        name, columns = found[0]
        return Discovery(
            name,
            columns,
            reason=f"{name} in TAP_SCHEMA at {url} (by its columns: coadd_key "
            "and a footprint, in a twomass schema)",
            tables_seen=names,
        )
    if found:
        return Discovery(
            None,
            reason=(
                f"TAP_SCHEMA at {url} lists several tables with the columns of "
                f"a 2MASS image table ({_listed(n for n, _ in found)}): none is "
                "taken; configure the table (IrsaArchive(table=...))"
            ),
            tables_seen=names,
        )
    if not lacking:
        return Discovery(
            None,
            reason=(
                f"TAP_SCHEMA.tables at {url} lists no 2MASS All-Sky image table "
                "(by its name, nor by its columns in a twomass schema)"
            ),
            tables_seen=names,
        )
    return Discovery(
        None,
        reason=(
            f"no 2MASS image table at {url} has the needed columns ("
            + _listed(f"{n} lacks {', '.join(m)}" for n, m in lacking.items())
            + ")"
        ),
        tables_seen=names,
    )


def _listed(items, most=5):
    """Join up to ``most`` items by '; ', and how many more there are."""
    items = list(items)
    text = "; ".join(items[:most])
    return text + (f"; and {len(items) - most} more" if len(items) > most else "")
