# Licensed under a 3-clause BSD style license - see LICENSE
"""A local stand-in for IRSA's IBE (and a bare TAP), answering from a LocalArchive.

`IrsaStandIn` listens on 127.0.0.1 only (a free port, one thread per
request) and serves the image sets of a `~twomass_vo.archives.LocalArchive`
the way IRSA's Image Back End serves the 2MASS All-Sky table. It follows
IBE's server code (``bonimy/ibe`` @ 7a1b4d9e, ``controllers/search.py`` and
``lib/streamer.py``), strictly:

* ``/ibe/search/twomass/allsky/allsky``, GET or POST (form or multipart):
  parameter names are case-insensitive, each may appear once, anything but
  ``ct format pos refby size intersect columns where mcen`` is an HTTP 400;
  ``POS=ra,dec`` (no blanks, RA in [0, 360], Dec in [-90, 90]) or an
  uploaded IPAC table of positions (``ra``, ``dec`` and any other column,
  copied back with the ``in_`` prefix, plus ``in_row_id`` counted from 1);
  ``SIZE`` (a box, degrees), ``INTERSECT`` (COVERS, ENCLOSED, CENTER,
  OVERLAPS), ``mcen`` (the rows of the most centred image set per
  position), ``columns`` (unknown -> 400), ``where`` (``=``, ``IN``,
  ``AND``, ``OR``, parentheses; unknown column -> 400), ``ct`` (IPAC by
  default, ``csv``), ``FORMAT=METADATA``; no ``POS`` and no ``where`` -> 400.
  One row per image file (Atlas J, H, Ks), IBE's column names.
* ``/ibe/data/twomass/allsky/allsky/{ordate}{hem}/s{scan}/image/{fname}``:
  the archive's file, gzip-compressed (``.fits.gz``, deterministic bytes).
* ``/tap/sync``: a synchronous TAP answering ``TAP_SCHEMA.tables`` /
  ``TAP_SCHEMA.columns`` queries with VOTables. Its schema has NO 2MASS
  All-Sky image table (``fp_psc`` and ``twomass.full_images``, another
  release); any other query is an error document ("table not found").

Every request is logged (`requests`: method, path, parameter names).
"""

import gzip
import io
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from astropy.table import Table

from twomass_vo.geometry import Footprints, radec_to_xyz, xyz_to_radec

__all__ = ["IrsaStandIn", "Request"]

SEARCH = "/ibe/search/twomass/allsky/allsky"
DATA = "/ibe/data/twomass/allsky/allsky/"
VALID = {
    "ct",
    "format",
    "pos",
    "refby",
    "size",
    "intersect",
    "columns",
    "where",
    "mcen",
}
CORNERS = ("ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4")
#: Columns of the stand-in's table (IBE names), in IBE's principal order.
PRINCIPAL = (
    "cntr",
    "fname",
    "scanno",
    "ordate",
    "hemisphere",
    "coaddno",
    "filter",
    "ns",
    "nl",
    "crpix1",
    "crpix2",
    "crval1",
    "crval2",
    "cdelt1",
    "cdelt2",
    "crota2",
    "coadd_key",
    "ra",
    "dec",
)
_FILE = re.compile(
    r"(?P<ordate>\d{6})(?P<hem>[ns])/s(?P<scan>\d{3})/image/"
    r"(?P<band>[jhk])i(?P=scan)(?P<image>\d{4})\.fits\.gz\Z"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[=(),]))"
)


class BadRequest(Exception):
    """An HTTP 400 with IBE's message."""


@dataclass
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    params: list = field(default_factory=list)
    status: int = 0


def _ipac(table):
    """IPAC text of a table (vectorised: astropy's writer is slow for 10^4 rows)."""
    header, types, cells, widths = [], [], [], []
    for name in table.colnames:
        values = np.asarray(table[name])
        if values.dtype.kind == "f":
            text, kind = np.char.mod("%.17g", values), "double"
        elif values.dtype.kind in "iu":
            text, kind = values.astype(str), "long"
        else:
            text, kind = values.astype(str), "char"
        text = np.atleast_1d(text)
        longest = int(np.char.str_len(text).max(initial=0))
        width = max(len(name), len(kind), longest, 4)
        header.append(name.rjust(width))
        types.append(kind.rjust(width))
        cells.append(np.char.rjust(text, width) if len(text) else text)
        widths.append(width)
    lines = [
        "|" + "|".join(header) + "|",
        "|" + "|".join(types) + "|",
        "|" + "|".join(" " * w for w in widths) + "|",
        "|" + "|".join("null".rjust(w) for w in widths) + "|",
    ]
    if len(table):
        rows = cells[0]
        for column in cells[1:]:
            rows = np.char.add(np.char.add(rows, " "), column)
        lines.extend(np.char.add(np.char.add(" ", rows), " ").tolist())
    return "\n".join(lines) + "\n"


class _Where:
    """IBE's ``where`` subset: ``=``, ``IN``, ``AND``, ``OR`` and parentheses."""

    def __init__(self, text, table):
        self.tokens = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise BadRequest(
                    f"Invalid WHERE clause: cannot parse at {text[pos:]!r}"
                )
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.table = table
        self.i = 0

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def _take(self, kind=None, value=None):
        token = self._peek()
        if (
            token[0] is None
            or (kind and token[0] != kind)
            or (value and token[1].upper() != value)
        ):
            raise BadRequest(f"Invalid WHERE clause: expected {value or kind}")
        self.i += 1
        return token[1]

    def evaluate(self):
        mask = self._or()
        if self.i != len(self.tokens):
            raise BadRequest("Invalid WHERE clause: trailing text")
        return mask

    def _or(self):
        mask = self._and()
        while self._peek()[0] == "word" and self._peek()[1].upper() == "OR":
            self.i += 1
            mask = mask | self._and()
        return mask

    def _and(self):
        mask = self._factor()
        while self._peek()[0] == "word" and self._peek()[1].upper() == "AND":
            self.i += 1
            mask = mask & self._factor()
        return mask

    def _literal(self, column):
        kind, text = self._peek()
        self.i += 1
        numeric = column.dtype.kind in "iuf"
        if kind == "str" and not numeric:
            return text[1:-1]
        if kind == "num" and numeric:
            return float(text)
        raise BadRequest(f"Invalid WHERE clause: {text!r} does not fit {column.name}")

    def _factor(self):
        if self._peek() == ("op", "("):
            self.i += 1
            mask = self._or()
            self._take("op", ")")
            return mask
        name = self._take("word").lower()
        if name not in self.table.colnames:
            raise BadRequest(
                f"Table twomass.allsky.allsky does not contain a column named {name}."
            )
        column = self.table[name]
        values = np.asarray(column)
        if self._peek() == ("op", "="):
            self.i += 1
            return values == self._literal(column)
        self._take("word", "IN")
        self._take("op", "(")
        wanted = [self._literal(column)]
        while self._peek() == ("op", ","):
            self.i += 1
            wanted.append(self._literal(column))
        self._take("op", ")")
        return np.isin(values, wanted)


class IrsaStandIn:
    """IBE search, IBE data and a bare TAP on 127.0.0.1, from a LocalArchive.

    Parameters
    ----------
    archive : `~twomass_vo.archives.LocalArchive`
        Its image sets become the rows (J, H, Ks Atlas files) and its files
        the ``.fits.gz`` files.

    Examples
    --------
    >>> with IrsaStandIn(archive) as standin:  # doctest: +SKIP
    ...     IrsaArchive(sia_url="", ibe_url=standin.ibe_url, ...)
    """

    def __init__(self, archive):
        self.archive = archive
        self.requests = []
        self.table = self._rows(archive)
        self.footprints = Footprints(self._corners)
        self._gz = {}
        self._lock = threading.Lock()
        self._server = None

    # ------------------------------------------------------------- lifecycle
    def start(self):
        """Listen on a free port of 127.0.0.1 (a daemon thread)."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        """The port it listens on."""
        return self._server.server_address[1]

    @property
    def base(self):
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ibe_url(self):
        """The IBE search URL."""
        return self.base + SEARCH

    @property
    def data_url_root(self):
        """The IBE data root (ends with ``/``)."""
        return self.base + DATA

    @property
    def tap_url(self):
        """The bare TAP's base URL."""
        return self.base + "/tap"

    def searches(self):
        """The IBE search requests received so far."""
        return [r for r in self.requests if r.path == SEARCH]

    # ------------------------------------------------------------------ data
    def _rows(self, archive):
        keys = np.asarray(archive.columns["coadd_key"], np.int64)
        sets = archive.find_coadd_keys(keys)
        col = {
            c: np.asarray(archive.columns[c])[sets.ref]
            for c in archive.columns
            if np.ndim(archive.columns[c]) >= 1 and len(archive.columns[c]) == len(keys)
        }
        set_row, band = np.nonzero(sets.has_band)
        n = len(set_row)
        letters = np.array(list("jhk"))[band]
        scan3 = np.char.zfill(sets.scanno[set_row].astype("U3"), 3)
        image4 = np.char.zfill(sets.image[set_row].astype("U4"), 4)
        fname = np.char.add(
            np.char.add(np.char.add(np.char.add(letters, "i"), scan3), image4),
            ".fits.gz",
        )
        corners = sets.corners[set_row]
        ra_c, dec_c = xyz_to_radec(corners.reshape(-1, 3))
        ra_c, dec_c = ra_c.reshape(n, 4), dec_c.reshape(n, 4)
        table = Table()
        table["cntr"] = np.arange(1, n + 1)
        table["fname"] = fname
        table["scanno"] = sets.scanno[set_row]
        table["ordate"] = sets.ordate[set_row]
        table["hemisphere"] = sets.hemisphere[set_row]
        table["coaddno"] = sets.image[set_row]
        table["filter"] = letters
        table["ns"] = col["naxis1"][set_row].astype(np.int64)
        table["nl"] = col["naxis2"][set_row].astype(np.int64)
        for c in ("crpix1", "crpix2", "crval1", "crval2", "cdelt1", "cdelt2", "crota2"):
            table[c] = col[c][set_row].astype(np.float64)
        table["coadd_key"] = sets.coadd_key[set_row]
        table["ra"], table["dec"] = table["crval1"], table["crval2"]
        for k in range(4):
            table[f"ra{k + 1}"], table[f"dec{k + 1}"] = ra_c[:, k], dec_c[:, k]
        self._corners = corners
        self._set_of = set_row
        return table

    def gz(self, relative):
        """The ``.fits.gz`` bytes served for a data path (None if no such file)."""
        match = _FILE.fullmatch(relative)
        if match is None:
            return None
        with self._lock:
            if relative not in self._gz:
                t = self.table
                hit = (
                    (np.asarray(t["ordate"]) == match["ordate"])
                    & (np.asarray(t["hemisphere"]) == match["hem"])
                    & (np.asarray(t["fname"]) == relative.rsplit("/", 1)[1])
                )
                if not hit.any():
                    return None
                url = self.archive.files_uri + relative[: -len(".gz")]
                path = self.archive.local_path(url)
                self._gz[relative] = gzip.compress(path.read_bytes(), mtime=0)
            return self._gz[relative]

    # -------------------------------------------------------------- requests
    def _handle(self, handler, method):
        parts = urllib.parse.urlsplit(handler.path)
        record = Request(method, parts.path)
        with self._lock:
            self.requests.append(record)
        body = b""
        if method == "POST":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            params += self._body_params(handler.headers.get("Content-Type", ""), body)
            record.params = [name for name, _ in params]
            if parts.path == SEARCH:
                status, ctype, payload = 200, "text/plain", self._search(params)
            elif parts.path.startswith(DATA):
                status, ctype, payload = self._data(parts.path[len(DATA) :], params)
            elif parts.path == "/tap/sync":
                status, ctype, payload = self._tap(dict(params))
            else:
                status, ctype, payload = 404, "text/plain", "not found\n"
        except BadRequest as exc:
            status, ctype, payload = 400, "text/plain", f"{exc}\n"
        except Exception as exc:  # a bug of the stand-in: say so, as IBE does
            status, ctype, payload = 500, "text/plain", f"{type(exc).__name__}: {exc}\n"
        if isinstance(payload, str):
            payload = payload.encode()
        record.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _body_params(ctype, body):
        if not body:
            return []
        if ctype.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            out = []
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True)
                if part.get_filename() is not None:
                    out.append((name, _Upload(data)))
                else:
                    out.append((name, data.decode()))
            return out
        return urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)

    # ------------------------------------------------------------ IBE search
    def _search(self, params):
        given = {}
        for name, value in params:
            lower = name.lower()
            if lower not in VALID:
                raise BadRequest(f"Parameter {name} is not recognized")
            if lower in given:
                raise BadRequest(
                    f"Parameter {name} was specified multiple times (note: parameters "
                    "names are case insensitive)"
                )
            given[lower] = value
        ct = given.get("ct")
        if ct not in (None, "text/plain", "text", "ipac_table", "csv", "text/csv"):
            raise BadRequest(f"Requested output format ({ct}) not supported")
        if given.get("format") == "METADATA":
            meta = Table({"name": list(PRINCIPAL), "description": list(PRINCIPAL)})
            return _ipac(meta)
        if given.get("format") not in (None, "ALL", "image/fits"):
            raise BadRequest("FORMAT must be one of ALL, image/fits or METADATA")
        if "refby" in given:
            raise BadRequest("refby is not supported by the stand-in")
        columns = self._columns(given.get("columns"))
        rows = np.ones(len(self.table), bool)
        if "where" in given:
            if not given["where"].strip():
                raise BadRequest("Empty WHERE clause")
            rows &= _Where(given["where"], self.table).evaluate()
        pos = given.get("pos")
        if pos is None and "where" not in given:
            raise BadRequest(
                "No spatial constraint (POS) or relational constraint (where, refby) "
                "specified"
            )
        if pos is None:
            out = self.table[rows][list(columns)]
        else:
            out = self._spatial(pos, given, rows, columns)
        if ct in ("csv", "text/csv"):
            buffer = io.StringIO()
            out.write(buffer, format="ascii.csv")
            return buffer.getvalue()
        return _ipac(out)

    def _columns(self, text):
        if text is None:
            return PRINCIPAL + CORNERS
        names = [c.strip() for c in text.split(",") if c.strip()]
        for name in names:
            if name not in self.table.colnames:
                raise BadRequest(
                    f"Column {name} does not exist in table twomass.allsky.allsky"
                )
        return tuple(names)

    def _positions(self, pos):
        if isinstance(pos, _Upload):
            try:
                upload = Table.read(pos.data.decode().splitlines(), format="ascii.ipac")
            except Exception as exc:
                raise BadRequest(f"Invalid POS file: {exc}") from None
            if "ra" not in upload.colnames or "dec" not in upload.colnames:
                raise BadRequest("POS file lacks ra / dec columns")
            return upload
        if " " in pos:
            raise BadRequest("POS contains embedded whitespace")
        values = pos.split(",")
        if len(values) != 2:
            raise BadRequest(f"Invalid POS ({pos}): expecting RA,Dec")
        try:
            ra, dec = float(values[0]), float(values[1])
        except ValueError:
            raise BadRequest(f"Invalid POS ({pos}): not numbers") from None
        if not (0 <= ra <= 360 and -90 <= dec <= 90):
            raise BadRequest(f"Invalid POS ({pos}): out of range")
        return Table({"ra": [ra], "dec": [dec]})

    def _spatial(self, pos, given, rows, columns):
        upload = self._positions(pos)
        size = given.get("size")
        s1 = s2 = 0.0
        if size is not None:
            try:
                values = [float(v) for v in size.split(",")]
            except ValueError:
                raise BadRequest(f"Invalid SIZE ({size})") from None
            if len(values) not in (1, 2) or min(values) < 0:
                raise BadRequest(f"Invalid SIZE ({size})")
            s1, s2 = values[0], values[-1]
        intersect = given.get("intersect", "OVERLAPS")
        if intersect not in ("COVERS", "ENCLOSED", "CENTER", "OVERLAPS"):
            raise BadRequest(
                "INTERSECT must be one of COVERS, ENCLOSED, CENTER, OVERLAPS"
            )
        point = (s1 == 0 and s2 == 0) or intersect == "CENTER"
        mcen = "mcen" in given
        ra = np.asarray(upload["ra"], np.float64)
        dec = np.asarray(upload["dec"], np.float64)
        in_row, file_row = [], []
        if point and not mcen and intersect != "ENCLOSED":  # vectorised: per file
            points = radec_to_xyz(ra, dec)
            hit = np.zeros((len(ra), len(self.table)), bool)
            for j in np.flatnonzero(rows):
                hit[:, j] = self.footprints.contains(points, np.full(len(ra), j))
            in_row, file_row = np.nonzero(hit)  # by position, then file row
            ra = ra[:0]  # nothing left for the loop below
        for k in range(len(ra)):
            centre = radec_to_xyz(ra[k], dec[k])
            if point:
                if intersect == "ENCLOSED":
                    continue
                hit = self.footprints.contains(centre) & rows
                if mcen and hit.any():
                    dist = np.where(hit, self.footprints.edge_distance(centre), -np.inf)
                    best = self._set_of[int(np.argmax(dist))]
                    hit &= self._set_of == best
            else:
                box = _box(ra[k], dec[k], s1, s2)
                over, covers, enclosed = self.footprints.relate_polygon(box)
                hit = {"OVERLAPS": over, "COVERS": covers, "ENCLOSED": enclosed}[
                    intersect
                ] & rows
            found = np.flatnonzero(hit)
            in_row += [k] * len(found)
            file_row += found.tolist()
        in_row = np.asarray(in_row, np.int64)
        out = Table()
        for name in upload.colnames:
            out[f"in_{name}"] = np.asarray(upload[name])[in_row]
        out["in_row_id"] = in_row + 1
        selected = self.table[np.asarray(file_row, np.int64)][list(columns)]
        for name in selected.colnames:
            out[name] = selected[name]
        return out

    # --------------------------------------------------------------- IBE data
    def _data(self, relative, params):
        if params:
            raise BadRequest("the stand-in serves whole files only (no cutouts)")
        if relative == "":
            return 200, "text/html", "<html><body>2MASS All-Sky images</body></html>\n"
        data = self.gz(urllib.parse.unquote(relative))
        if data is None:
            return 404, "text/plain", "not found\n"
        return 200, "application/x-gzip", data

    # -------------------------------------------------------------------- TAP
    def _tap(self, params):
        """A synchronous TAP: ``TAP_SCHEMA.tables`` / ``.columns``, else "not found".

        The schema is `TAP_SCHEMA_TABLES` (no 2MASS All-Sky table), or the
        ``tap_schema`` attribute when a test sets one (table name -> column
        names). ``TAP_SCHEMA`` queries are answered as a TAP service does
        (`_schema_answer`): their ``WHERE`` (``=``, ``LIKE``, ``IN``, ``AND``,
        ``OR``, parentheses; anything else is an error document) and
        ``MAXREC`` (a longer answer is cut, with ``QUERY_STATUS`` OVERFLOW).
        Every query is kept in ``tap_queries``.
        """
        query = params.get("QUERY", "")
        self.__dict__.setdefault("tap_queries", []).append(query)
        tables = getattr(self, "tap_schema", None) or TAP_SCHEMA_TABLES
        votable = "application/x-votable+xml"
        if re.search(r"FROM\s+TAP_SCHEMA\.(tables|columns)\b", query, re.I):
            try:
                return 200, votable, _schema_answer(query, tables, params)
            except BadRequest as exc:
                return 400, votable, _votable_error(str(exc))
        match = re.search(r"FROM\s+([A-Za-z_.]+)", query, re.I)
        missing = match[1] if match else "?"
        return 400, votable, _votable_error(f"Table '{missing}' not found")


#: The stand-in TAP's schema: table -> columns (no 2MASS All-Sky image table:
#: ``twomass.full_images`` is another release).
TAP_SCHEMA_TABLES = {
    "fp_psc": ["ra", "dec", "j_m", "h_m", "k_m", "coadd_key"],
    "twomass.full_images": [
        "fname",
        "ordate",
        "hemisphere",
        "scanno",
        "coaddno",
        "coadd_key",
        "filter",
        "crval1",
        "crval2",
        "poly",
    ],
}

_SCHEMA_QUERY = re.compile(
    r"\s*SELECT\s+(?P<select>.+?)\s+FROM\s+TAP_SCHEMA\.(?P<table>tables|columns)"
    r"(?:\s+WHERE\s+(?P<where>.*?))?\s*\Z",
    re.I | re.S,
)
_SCHEMA_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[=(),]))"
)


def _schema_answer(query, tables, params):
    """The VOTable answer of a ``TAP_SCHEMA.tables`` or ``.columns`` query."""
    match = _SCHEMA_QUERY.match(query)
    if match is None:
        raise BadRequest(f"cannot parse {query[:200]!r}")
    if match["table"].lower() == "tables":
        known = ("table_name",)
        rows = [{"table_name": name} for name in tables]
    else:
        known = ("table_name", "column_name")
        rows = [
            {"table_name": name, "column_name": column}
            for name, columns in tables.items()
            for column in columns
        ]
    select = [c.strip().lower() for c in match["select"].split(",")]
    if not set(select) <= set(known):
        raise BadRequest(f"unknown column in {match['select']!r}")
    if match["where"]:
        tokens = _schema_tokens(match["where"])
        keep = _schema_where(tokens, known)
        if tokens:
            raise BadRequest(f"cannot parse the WHERE clause at {tokens[-1][1]!r}")
        rows = [row for row in rows if keep(row)]
    maxrec = int(params.get("MAXREC", 10**9))
    overflow = len(rows) > maxrec
    table = Table(
        {c: [row[c] for row in rows[:maxrec]] for c in select},
        dtype=[str] * len(select),
    )
    answer = _votable(table)
    if overflow:  # after the table, as DaCHS writes it
        answer = answer.replace(
            b"</RESOURCE>",
            b'<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n</RESOURCE>',
        )
    return answer


def _schema_tokens(text):
    tokens, pos = [], 0
    while text[pos:].strip():
        match = _SCHEMA_TOKEN.match(text, pos)
        if match is None:
            raise BadRequest(f"cannot parse the WHERE clause at {text[pos:][:80]!r}")
        kind = match.lastgroup
        value = match[kind]
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        tokens.append((kind, value))
        pos = match.end()
    return tokens[::-1]  # popped from the end


def _schema_where(tokens, known, word="OR"):
    """Compile ``a OR b ...`` of ``AND`` terms (``word="AND"``: of terms).

    Returns a function of a row; the tokens read are consumed.
    """
    if word == "OR":
        part, combine = (lambda: _schema_where(tokens, known, "AND")), any
    else:
        part, combine = (lambda: _schema_term(tokens, known)), all
    terms = [part()]
    while tokens and tokens[-1][0] == "word" and tokens[-1][1].upper() == word:
        tokens.pop()
        terms.append(part())
    return lambda row: combine(term(row) for term in terms)


def _schema_term(tokens, known):
    if not tokens:
        raise BadRequest("the WHERE clause ends too early")
    kind, value = tokens.pop()
    if (kind, value) == ("op", "("):
        inner = _schema_where(tokens, known)
        if not tokens or tokens.pop() != ("op", ")"):
            raise BadRequest("a parenthesis is not closed")
        return inner
    if kind != "word" or value.lower() not in known:
        raise BadRequest(f"unknown column {value!r}")
    column = value.lower()
    op = tokens.pop() if tokens else (None, None)
    if op == ("op", "="):
        wanted = _schema_string(tokens)
        return lambda row: row[column] == wanted
    if op[0] == "word" and op[1].upper() == "LIKE":
        pattern = _schema_string(tokens)
        regex = re.compile(
            "".join(
                ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
            ),
            re.S,
        )
        return lambda row: regex.fullmatch(row[column]) is not None
    if op[0] == "word" and op[1].upper() == "IN":
        if not tokens or tokens.pop() != ("op", "("):
            raise BadRequest("IN needs a list")
        values = {_schema_string(tokens)}
        while tokens and tokens[-1] == ("op", ","):
            tokens.pop()
            values.add(_schema_string(tokens))
        if not tokens or tokens.pop() != ("op", ")"):
            raise BadRequest("IN list not closed")
        return lambda row: row[column] in values
    raise BadRequest(f"unsupported operator {op[1]!r}")


def _schema_string(tokens):
    if not tokens or tokens[-1][0] != "str":
        raise BadRequest("a string literal is expected")
    return tokens.pop()[1]


@dataclass
class _Upload:
    """A file part of a multipart request."""

    data: bytes


def _box(ra, dec, s1, s2):
    """Corners (4, 3) of a box of s1 x s2 degrees centred on (ra, dec).

    Edges are great circles at angular distance s1/2 (s2/2) from the centre
    (a gnomonic rectangle), so a circle of radius r fits a box of 2r.
    """
    c = radec_to_xyz(ra, dec)
    east = np.array([-np.sin(np.radians(ra)), np.cos(np.radians(ra)), 0.0])
    north = np.cross(c, east)
    a, b = np.tan(np.radians(s1 / 2)), np.tan(np.radians(s2 / 2))
    out = np.array(
        [c + x * east + y * north for x, y in ((a, b), (-a, b), (-a, -b), (a, -b))]
    )
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _votable(table):
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    votable = from_table(table)
    resource = votable.resources[0]
    resource.type = "results"
    resource.infos.append(Info(name="QUERY_STATUS", value="OK"))
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()


def _votable_error(message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        '<RESOURCE type="results">\n'
        f'<INFO name="QUERY_STATUS" value="ERROR">{message}</INFO>\n'
        "</RESOURCE>\n</VOTABLE>\n"
    )


def _main():
    """Serve a LocalArchive folder until stopped: ``python irsa_standin.py PATH``.

    Prints ``PORT <n>`` on stdout once listening (for the benchmark, which
    runs the stand-in in its own process).
    """
    import argparse
    import sys
    import time

    from twomass_vo.archives import LocalArchive

    parser = argparse.ArgumentParser(description="IRSA stand-in on 127.0.0.1")
    parser.add_argument("path", help="a LocalArchive folder")
    args = parser.parse_args()
    server = IrsaStandIn(LocalArchive(args.path)).start()
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    _main()
