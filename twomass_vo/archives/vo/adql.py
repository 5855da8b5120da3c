# Licensed under a 3-clause BSD style license - see LICENSE
"""The TAP/ADQL queries and uploads of each batch mode (and their SIA v2 twins).

`DEFAULT_COLUMNS` maps the archive's contract columns to the columns of a TAP
image table; `checked_columns` and `check_table_name` validate the names that
go into ADQL (`is_column_name` and `is_table_name` say whether a name would
pass, for names a service lists), and `adql_string` writes a string literal.
`AdqlBuilder` (``archive.queries`` of a `~twomass_vo.archives.VOArchive`)
builds the requests of each look-up without network access (the ``payload_*``
methods): ADQL with typed, validated values only -- ``IN (...)`` lists for
short inputs, uploaded tables for long ones -- or SIA v2 parameters where the
archive searches by SIA v2.
"""

import re

import numpy as np
from astropy.table import Table

from ...exceptions import ArchiveError, InvalidQueryError
from ..set_keys import dhs_keys
from .query_values import (
    format_number,
    validated_ints,
    validated_points,
    validated_scans,
)
from .sia2 import POINT_RADIUS

__all__ = [
    "DEFAULT_COLUMNS",
    "MAX_NAME_LENGTH",
    "POS_IDX",
    "AdqlBuilder",
    "adql_string",
    "check_table_name",
    "checked_columns",
    "is_column_name",
    "is_table_name",
]

#: Contract column -> column of the TAP image table (one row per image file).
#: ``None`` means the table has no such column. ``corners`` is an optional
#: sequence of 8 corner columns (``ra1 dec1 ... ra4 dec4``) read instead of
#: ``s_region`` (which is still the geometry used in ADQL); ``file_name`` an
#: optional column holding the file name (``ji0600256.fits.gz``).
DEFAULT_COLUMNS = {
    "coadd_key": "coadd_key",
    "ordate": "ordate",
    "hemisphere": "hemisphere",
    "scanno": "scanno",
    "image": "image",
    "band": "band",
    "image_type": "image_type",
    "ra": "ra",
    "dec": "dec",
    "s_region": "s_region",
    "corners": None,
    "file_name": None,
    "access_url": "access_url",
    "access_format": "access_format",
    "access_estsize": "access_estsize",
    "pubdid": "pubdid",
}


#: Names of the uploaded tables and their columns (distinct from any image
#: table column: some services reject uploads whose names clash).
_POS_TABLE, POS_IDX, _POS_RA, _POS_DEC = "pos", "pos_idx", "pos_ra", "pos_dec"
_KEY_TABLE, _KEY_VALUE = "keys", "key_value"
_SCAN_TABLE = "scans"
_SCAN_ORDATE, _SCAN_HEM, _SCAN_NO = "scan_ordate", "scan_hem", "scan_no"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}\Z")

#: Longest table or column name taken (characters); PostgreSQL, under most
#: TAP services, cuts identifiers at 63 bytes.
MAX_NAME_LENGTH = 256


def is_column_name(name):
    """Whether ``name`` is a regular ADQL identifier (ASCII letters, digits, _).

    Parameters
    ----------
    name : object
        A column name, configured or listed by a service.

    Returns
    -------
    ok : bool
        True for a str of at most `MAX_NAME_LENGTH` characters that starts
        with an ASCII letter or ``_``; False for anything else (a look-alike
        letter such as the Kelvin sign, a blank, a quote, a comment...).
    """
    return _matches(_IDENTIFIER, name)


def is_table_name(name):
    """Whether ``name`` is a table name ADQL takes as it is (``schema.table``).

    Parameters
    ----------
    name : object
        A table name, configured or listed by a service.

    Returns
    -------
    ok : bool
        True for one to three regular identifiers (see `is_column_name`)
        joined by dots (``[catalog.][schema.]table``), at most
        `MAX_NAME_LENGTH` characters in all.
    """
    return _matches(_TABLE_NAME, name)


def _matches(pattern, name):
    return (
        isinstance(name, str)
        and len(name) <= MAX_NAME_LENGTH
        and pattern.match(name) is not None
    )


def adql_string(text):
    """Return ``text`` as an ADQL string literal (quoted, ``'`` doubled).

    Parameters
    ----------
    text : str
        The value.

    Returns
    -------
    literal : str
        E.g. ``'twomass.allsky_images'``; ``O'Brien`` becomes ``'O''Brien'``.
    """
    return "'" + str(text).replace("'", "''") + "'"


def checked_columns(columns):
    """Return `DEFAULT_COLUMNS` updated by ``columns``, every name validated.

    ``None`` or ``''`` means the table has no such column; ``corners`` becomes
    a tuple of 8 names.

    Raises
    ------
    twomass_vo.exceptions.InvalidQueryError
        For an unknown key or a name that is not an ADQL identifier.
    """
    merged = dict(DEFAULT_COLUMNS)
    for key, value in (columns or {}).items():
        if key not in DEFAULT_COLUMNS:
            raise InvalidQueryError(
                f"columns: unknown key {key!r}; known: {', '.join(DEFAULT_COLUMNS)}"
            )
        merged[key] = value
    for key, value in merged.items():
        if value is None or value == "":
            merged[key] = None
        elif key == "corners":
            names = value.split() if isinstance(value, str) else list(value)
            if len(names) != 8 or not all(is_column_name(n) for n in names):
                raise InvalidQueryError(
                    f"columns['corners']={value!r} must name 8 columns "
                    "(ra1 dec1 ... ra4 dec4)"
                )
            merged[key] = tuple(names)
        elif not is_column_name(value):
            raise InvalidQueryError(
                f"columns[{key!r}]={value!r} is not a valid column name"
            )
    return merged


def check_table_name(table):
    """Return ``table`` if it is a valid (schema-qualified) table name.

    Raises
    ------
    twomass_vo.exceptions.InvalidQueryError
        Otherwise.
    """
    if not is_table_name(table):
        raise InvalidQueryError(f"table={table!r} is not a valid table name")
    return table


class AdqlBuilder:
    """The requests (ADQL and SIA v2) of each look-up, built without network access.

    `~twomass_vo.archives.VOArchive` builds one over its current table and
    settings (``archive.queries``); its ``payload_*`` methods return what
    this builds.

    Parameters
    ----------
    table : str or None
        The TAP table of image files (validated, see `check_table_name`).
    columns : dict
        Contract name -> column of ``table`` (see `checked_columns`).
    tap_url : str
        The TAP base URL the requests go to.
    sia : `~twomass_vo.archives.vo.sia2.SiaClient` or None, optional
        The SIA v2 service: regions (and positions without uploads) are asked
        there when given.
    uploads : bool, optional
        Whether TAP requests may upload tables.
    maxrec : int, optional
        ``MAXREC`` of every TAP request.
    upload_threshold : int, optional
        Longest ``IN (...)`` list; longer inputs are uploaded.
    async_threshold : int, optional
        Uploaded rows above which a TAP request is asynchronous.
    chunk_size : int, optional
        Most rows uploaded per TAP request.
    pairs_first : bool, optional
        Positions: ask first for the distinct (position, coadd_key) pairs.
    """

    def __init__(
        self,
        table,
        columns,
        *,
        tap_url,
        sia=None,
        uploads=True,
        maxrec=1_000_000,
        upload_threshold=100,
        async_threshold=12_000,
        chunk_size=100_000,
        pairs_first=True,
    ):
        self.table = table
        self.columns = columns
        self.tap_url = tap_url
        self.sia = sia
        self.uploads = bool(uploads)
        self.maxrec = maxrec
        self.upload_threshold = upload_threshold
        self.async_threshold = async_threshold
        self.chunk_size = chunk_size
        self.pairs_first = pairs_first

    def select(self):
        """Return the select list, ``i.<column>`` for every mapped column."""
        names = []
        for key, value in self.columns.items():
            if value is None or (key == "s_region" and self.columns["corners"]):
                continue
            for name in value if key == "corners" else (value,):
                if name not in names:
                    names.append(name)
        return ", ".join(f"i.{name}" for name in names)

    def _need(self, *keys, purpose):
        missing = [k for k in keys if self.columns[k] is None]
        if missing:
            raise ArchiveError(
                f"{self.table} at {self.tap_url} has no {', '.join(missing)} "
                f"column: cannot {purpose}"
            )

    def _tap(self, query, uploads=None, rows=0):
        return {
            "service": "tap",
            "url": self.tap_url,
            "query": query,
            "uploads": dict(uploads or {}),
            "maxrec": self.maxrec,
            "mode": "async" if rows > self.async_threshold else "sync",
        }

    def _region(self):
        return f"i.{self.columns['s_region']}"

    def circle(self, ra, dec, radius):
        """Build the requests of `~twomass_vo.archives.VOArchive.find_circle`.

        Without network access.

        Parameters
        ----------
        ra, dec : float
            Centre, ICRS degrees.
        radius : float
            Radius, degrees (0 < radius <= 90).

        Returns
        -------
        payloads : list of dict
            One request: ``{"service": "sia", "url", "params"}`` with
            ``POS=CIRCLE ra dec r`` (when there is an SIA v2 service), else
            ``{"service": "tap", "url", "query", "uploads", "maxrec", "mode"}``
            with ``INTERSECTS(CIRCLE('ICRS', ra, dec, r), s_region) = 1``.
        """
        (ra,), (dec,) = validated_points(ra, dec)
        radius = float(radius)
        if not (np.isfinite(radius) and 0 < radius <= 90):
            raise InvalidQueryError(f"radius={radius!r} must be in (0, 90] degrees")
        if self.sia is not None:
            return [self.sia.circle(ra, dec, radius)]
        self._need("s_region", purpose="search a region")
        query = (
            f"SELECT {self.select()} FROM {self.table} AS i WHERE "
            f"INTERSECTS(CIRCLE('ICRS', {format_number(ra)}, {format_number(dec)}, "
            f"{format_number(radius)}), {self._region()}) = 1"
        )
        return [self._tap(query)]

    def points(self, ra, dec):
        """Build the requests of `~twomass_vo.archives.VOArchive.find_points`.

        Without network access.

        Parameters
        ----------
        ra, dec : array-like of float
            Points, ICRS degrees.

        Returns
        -------
        payloads : list of dict
            With uploads: one TAP request per ``chunk_size`` points, the
            points uploaded as table ``pos`` (``pos_idx``, ``pos_ra``,
            ``pos_dec``; ``pos_idx`` is the index into ``ra``) and joined
            with ``CONTAINS(POINT('ICRS', u.pos_ra, u.pos_dec), s_region) = 1``,
            ``mode`` ``async`` above ``async_threshold`` rows. With
            ``pairs_first`` (and a coadd_key column) the request selects only
            ``DISTINCT u.pos_idx, i.coadd_key`` and asks for CSV (``"format":
            "csv"``, ``"columns"``: the two names);
            `~twomass_vo.archives.VOArchive.find_points` then looks up the
            distinct coadd_keys of the answer with `coadd_keys`
            (requests that depend on the first answer, so not listed here).
            Otherwise every mapped column of every matching file row is
            selected. Without uploads: one SIA v2 request per point
            (``POS=CIRCLE ra dec 1e-4``), or one TAP request per point when
            there is no SIA v2 endpoint, in the order of the points.
        """
        ra, dec = validated_points(ra, dec)
        n = len(ra)
        if not self.uploads:
            if self.sia is not None:
                return [
                    self.sia.circle(a, d, POINT_RADIUS)
                    for a, d in zip(ra, dec, strict=True)
                ]
            self._need("s_region", purpose="search positions")
            return [
                self._tap(
                    f"SELECT {self.select()} FROM {self.table} AS i WHERE "
                    f"CONTAINS(POINT('ICRS', {format_number(a)}, {format_number(d)}), "
                    f"{self._region()}) = 1"
                )
                for a, d in zip(ra, dec, strict=True)
            ]
        self._need("s_region", purpose="search positions")
        join = (
            f"FROM {self.table} AS i JOIN TAP_UPLOAD.{_POS_TABLE} AS u ON "
            f"CONTAINS(POINT('ICRS', u.{_POS_RA}, u.{_POS_DEC}), "
            f"{self._region()}) = 1"
        )
        key = self.columns["coadd_key"]
        pairs = self.pairs_first and key is not None
        if pairs:
            query = f"SELECT DISTINCT u.{POS_IDX}, i.{key} {join}"
        else:
            query = f"SELECT u.{POS_IDX}, {self.select()} {join}"
        # 32-bit indices where they fit: a smaller upload
        index_type = np.int32 if n < 2**31 else np.int64
        payloads = []
        for start in range(0, n, self.chunk_size):
            stop = min(start + self.chunk_size, n)
            upload = Table(
                {
                    POS_IDX: np.arange(start, stop, dtype=index_type),
                    _POS_RA: ra[start:stop],
                    _POS_DEC: dec[start:stop],
                }
            )
            payload = self._tap(query, {_POS_TABLE: upload}, stop - start)
            if pairs:
                payload.update(format="csv", columns=(POS_IDX, key))
            payloads.append(payload)
        return payloads

    def _listed(self, values, clause, upload_query, make_upload):
        """IN-list queries for short inputs, upload queries for long ones."""
        n = len(values)
        if n == 0:
            return []
        if n <= self.upload_threshold or not self.uploads:
            return [
                self._tap(
                    f"SELECT {self.select()} FROM {self.table} AS i WHERE "
                    + clause(values[start : start + self.upload_threshold])
                )
                for start in range(0, n, self.upload_threshold)
            ]
        payloads = []
        for start in range(0, n, self.chunk_size):
            part = values[start : start + self.chunk_size]
            payloads.append(self._tap(upload_query, make_upload(part), len(part)))
        return payloads

    def coadd_keys(self, keys):
        """Build the requests of `~twomass_vo.archives.VOArchive.find_coadd_keys`.

        Without network access.

        Parameters
        ----------
        keys : array-like of int
            The coadd_keys (integers, or strings of digits); duplicates are
            asked for once.

        Returns
        -------
        payloads : list of dict
            TAP requests: ``coadd_key IN (...)`` with at most
            ``upload_threshold`` keys each, or, for more keys (and uploads on),
            the keys uploaded as table ``keys`` (``key_value``) and joined on
            ``coadd_key``.

        Raises
        ------
        twomass_vo.exceptions.InvalidQueryError
            If a key is not a non-negative integer.
        """
        keys = np.unique(validated_ints(keys, "coadd_key", low=0, high=2**62))
        self._need("coadd_key", purpose="look up coadd_keys")
        column = f"i.{self.columns['coadd_key']}"
        return self._listed(
            keys,
            lambda part: f"{column} IN ({', '.join(str(int(k)) for k in part)})",
            f"SELECT {self.select()} FROM {self.table} AS i "
            f"JOIN TAP_UPLOAD.{_KEY_TABLE} AS u ON {column} = u.{_KEY_VALUE}",
            lambda part: {_KEY_TABLE: Table({_KEY_VALUE: part})},
        )

    def scans(self, ordate, hemisphere, scanno, image):
        """Build the requests of `~twomass_vo.archives.VOArchive.find_scans`.

        Without network access.

        Parameters
        ----------
        ordate, hemisphere : array-like of str
            ``yymmdd`` and ``n`` / ``s``.
        scanno, image : array-like of int
            Scan numbers, and image numbers (0: every image of the scan).

        Returns
        -------
        payloads : list of dict
            TAP requests for the distinct scans: OR-ed
            ``(ordate = '...' AND hemisphere = '.' AND scanno = N
            [AND image IN (...)])`` terms for up to ``upload_threshold``
            scans each, or, for more scans (and uploads on), the scans
            uploaded as table ``scans`` (``scan_ordate``, ``scan_hem``,
            ``scan_no``) and joined on the three columns. Image numbers are
            filtered on the client when the table has no ``image`` column.

        Raises
        ------
        twomass_vo.exceptions.InvalidQueryError
            For a date that is not 6 digits, a hemisphere other than n / s, or
            a scan or image number that is not an integer.
        """
        ordate, hem, scanno, image = validated_scans(ordate, hemisphere, scanno, image)
        self._need("ordate", "hemisphere", "scanno", purpose="look up scans")
        c = {k: f"i.{self.columns[k]}" for k in ("ordate", "hemisphere", "scanno")}
        # distinct scans, each with its sorted image numbers
        scan_keys = dhs_keys(ordate, hem, scanno, 0)
        order = np.lexsort((image, scan_keys))
        _, starts, counts = np.unique(
            scan_keys[order], return_index=True, return_counts=True
        )
        first = order[starts]  # a request row of each distinct scan
        sorted_images = image[order]
        image_column = self.columns["image"]

        def term(j):
            row = first[j]
            text = (
                f"({c['ordate']} = '{ordate[row]}' AND {c['hemisphere']} = "
                f"'{hem[row]}' AND {c['scanno']} = {int(scanno[row])}"
            )
            images = sorted_images[starts[j] : starts[j] + counts[j]]
            if image_column is not None and images[0] > 0:  # not "all images"
                numbers = ", ".join(str(int(v)) for v in np.unique(images))
                text += f" AND i.{image_column} IN ({numbers})"
            return text + ")"

        def upload(part):
            rows = first[part]
            return {
                _SCAN_TABLE: Table(
                    {
                        _SCAN_ORDATE: np.char.encode(ordate[rows], "ascii"),
                        _SCAN_HEM: np.char.encode(hem[rows], "ascii"),
                        _SCAN_NO: scanno[rows],
                    }
                )
            }

        return self._listed(
            np.arange(len(first)),
            lambda part: " OR ".join(term(j) for j in part),
            f"SELECT {self.select()} FROM {self.table} AS i "
            f"JOIN TAP_UPLOAD.{_SCAN_TABLE} AS u ON {c['ordate']} = u.{_SCAN_ORDATE} "
            f"AND {c['hemisphere']} = u.{_SCAN_HEM} AND {c['scanno']} = u.{_SCAN_NO}",
            upload,
        )
