# Licensed under a 3-clause BSD style license - see LICENSE
"""A local stand-in for IRSA's 2MASS services, answering from a LocalArchive.

`IrsaStandIn` listens on 127.0.0.1 only (a free port, one thread per
request) and serves the image sets of a `~twomass_vo.archives.LocalArchive`
the way IRSA serves the 2MASS All-Sky images, written from IRSA's documents
and the earlier implementation of IBE (``bonimy/ibe`` @ 7a1b4d9e,
``controllers/search.py`` and ``lib/streamer.py``; its data and cutout
server ``src/nph-serve.cxx``, ``src/cutout_pixel_box.cxx`` @ 4a0f64d),
strictly:

* ``/ibe/search/twomass/allsky/allsky``, GET or POST (form or multipart):
  parameter names are case-insensitive, each may appear once, anything but
  ``ct format pos refby size intersect columns where mcen`` is an HTTP 400;
  ``POS=ra,dec`` (no blanks, RA in [0, 360], Dec in [-90, 90]) or an
  uploaded IPAC table of positions (``ra``, ``dec`` and any other column,
  copied back with the ``in_`` prefix, plus ``in_row_id`` counted from 1);
  ``SIZE`` (a box, degrees; wider than `IrsaStandIn.max_size`, 5 degrees,
  an HTTP 400 "Search region is too large"), ``INTERSECT`` (COVERS,
  ENCLOSED, CENTER, OVERLAPS), ``mcen`` (the rows of the most centred image
  set per position), ``columns`` (unknown -> 400), ``where`` (``=``, ``IN``,
  ``AND``, ``OR``, parentheses; unknown column -> 400), ``ct`` (IPAC by
  default, ``csv``), ``FORMAT=METADATA``; no ``POS`` and no ``where`` -> 400.
  One row per image file (Atlas J, H, Ks), IBE's column names.
* ``/ibe/data/twomass/allsky/allsky/{ordate}{hem}/s{scan}/image/{fname}``:
  the archive's file, gzip-compressed (``.fits.gz``, deterministic bytes);
  with ``center`` and ``size`` (each exactly once; ``gzip`` at most once;
  anything else a 400) a cutout as IBE's data server makes it: ``center``
  ``x,y`` in degrees (or ``arcsec``, ``arcmin``, ``rad``, pixels ``px``),
  ``size`` ``w[,h]`` in the same units (default degrees), the pixel box
  around the centre clipped to the image, the header's WCS moved with it,
  gzip-compressed unless ``gzip`` is false (``false``, ``0``, ``off``,
  ``f``, ``n``); a box that misses the image is an HTTP 500 HTML page
  "Cutout does not overlap image", as IBE answers.
* ``/SIA``: SIA v2 as IRSA serves it (``POS=CIRCLE ra dec r``, ``RANGE``
  and ``POLYGON`` too; ``COLLECTION``, ``MAXREC``, ``RESPONSEFORMAT``): one
  ObsCore row per Atlas file (``s_ra``, ``s_dec``, ``s_region``,
  ``access_url`` of IBE's files, ``energy_bandpassname`` J/H/K,
  ``dataproduct_subtype`` science, ...), overlap only.
* ``/cgi-bin/2MASS/IM/nph-im_sia``: the SIA v1 CGI of IRSA's 2MASS image
  inventory: ``type`` ``at`` or ``ql``, ``ds=asky``, ``POS=ra,dec``
  (required: without it ``QUERY_STATUS=ERROR`` "No location specified"),
  ``SIZE`` (full width of a box, degrees; 0: a point), ``INTERSECT``,
  ``FORMAT`` (``image/fits``, ``text/html``, ``ALL``, ``METADATA``; the
  CGI refuses upper-cased MIME types, pyvo issue #394). Two rows per image
  (``image/fits`` and ``text/html``) with the CGI's columns (``name``,
  ``download``, ``center_ra``, ``center_dec``, ``naxis``, ``crpix``,
  ``crval``, ``crota2``, ``band`` J/H/K, ``type`` A/Q, ``date``, ``hem``,
  ``scan``, ``image``, ``coadd_key``, ...). ``/cgi-bin/2MASS/IM/nph-im``
  serves the files of its ``download`` URLs: Atlas files as plain FITS,
  Quicklook files as stored (an HCOMPRESS-tiled image extension).
* ``/tap/sync``: a synchronous TAP answering ``TAP_SCHEMA.tables`` /
  ``TAP_SCHEMA.columns`` queries with VOTables. Its schema has NO 2MASS
  All-Sky image table (``fp_psc`` and ``twomass.full_images``, another
  release); any other query is an error document ("table not found").

Every request is logged (`requests`: method, path, parameter names), with
the bytes of each answer (`IrsaStandIn.bytes_sent`).
"""

import gzip
import io
import re
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP

import numpy as np
from astropy.table import Table
from quiet_http import QuietHandler, QuietServer

from twomass_vo.archives.local.store_paths import relative_paths
from twomass_vo.geometry import (
    ConvexPolygon,
    Footprints,
    radec_to_xyz,
    xyz_to_radec,
)

__all__ = ["IrsaStandIn", "Request"]

SEARCH = "/ibe/search/twomass/allsky/allsky"
DATA = "/ibe/data/twomass/allsky/allsky/"
SIA2 = "/SIA"
CGI = "/cgi-bin/2MASS/IM/nph-im_sia"
CGI_FILES = "/cgi-bin/2MASS/IM/nph-im"
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


class ServerError(Exception):
    """An HTTP 500 with IBE's message (its HTML error page)."""


def _html_500(exc):
    """IBE's error page for an HTTP 500 (``HttpException::write_error_response``)."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" '
        '"http://www.w3.org/TR/html4/strict.dtd">\n<html>\n'
        "<head><title>500 Internal Server Error</title></head>\n<body>\n"
        "<h1>500 Internal Server Error</h1>\nThe server encountered an internal "
        "error.<br /><br />\n<tt>ibe::HttpException</tt> thrown at "
        "<tt>src/stream_subimage.cxx: 334</tt> in <tt>stream_subimage</tt>:<br/>\n"
        f"{exc}</body>\n</html>\n"
    )


@dataclass
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    params: list = field(default_factory=list)
    status: int = 0
    query: dict = field(default_factory=dict)
    sent: int = 0


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

    #: Most gzip-compressed files kept in memory (least recently used dropped).
    GZ_CACHE = 64

    def __init__(self, archive, *, max_size=5.0):
        self.archive = archive
        self.max_size = max_size
        self.requests = []
        self.table = self._rows(archive)
        self.footprints = Footprints(self._corners)
        self._gz = OrderedDict()
        self._lock = threading.Lock()
        self._server = None
        self._flight = {}
        #: Most requests under way at once, per path (search, CGI, files...).
        self.peak = {}

    # ------------------------------------------------------------- lifecycle
    def start(self):
        """Listen on a free port of 127.0.0.1 (a daemon thread)."""
        standin = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        self._server = QuietServer(Handler).start()
        return self

    def stop(self):
        """Stop listening and close the socket."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        """The port it listens on."""
        return self._server.port

    @property
    def base(self):
        """``http://127.0.0.1:<port>``."""
        return self._server.url()

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

    @property
    def sia_url(self):
        """The SIA v2 query endpoint."""
        return self.base + SIA2

    @property
    def sia1_url(self):
        """The SIA v1 CGI."""
        return self.base + CGI

    def irsa_archive(self, **options):
        """An `IrsaArchive` on every service of the stand-in (``options`` win)."""
        from twomass_vo.archives.irsa import IrsaArchive

        urls = dict(
            sia_url=self.sia_url,
            tap_url=self.tap_url,
            ibe_url=self.ibe_url,
            data_url_root=self.data_url_root,
            sia1_url=self.sia1_url,
        )
        return IrsaArchive(**{**urls, **options})

    def searches(self):
        """The IBE search requests received so far."""
        return [r for r in self.requests if r.path == SEARCH]

    def received(self, path):
        """The requests received so far on ``path``."""
        return [r for r in self.requests if r.path == path]

    def bytes_sent(self):
        """Bytes of every answer body sent so far."""
        return sum(r.sent for r in self.requests)

    def _stats(self):
        """JSON: requests and bytes sent so far, per kind of path."""
        import json

        stats = {}
        with self._lock:
            for r in self.requests:
                kind = DATA if r.path.startswith(DATA) else r.path
                if kind == DATA and "center" in r.query:
                    kind += " (cutouts)"
                count, sent = stats.get(kind, (0, 0))
                stats[kind] = (count + 1, sent + r.sent)
        return json.dumps(stats)

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
        with self._lock:
            if relative in self._gz:
                self._gz.move_to_end(relative)
                return self._gz[relative]
        path = self._atlas_path(relative)
        if path is None:
            return None
        data = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        with self._lock:
            self._gz[relative] = data
            while len(self._gz) > self.GZ_CACHE:
                self._gz.popitem(last=False)
        return data

    def _image(self, path):
        """The (header, pixels) of a local file, the last `GZ_CACHE` kept."""
        from astropy.io import fits

        key = ("image", str(path))
        with self._lock:
            if key in self._gz:
                self._gz.move_to_end(key)
                return self._gz[key]
        with fits.open(path, memmap=False) as hdul:
            image = hdul[0].header.copy(), np.asarray(hdul[0].data)
        with self._lock:
            self._gz[key] = image
            while len(self._gz) > self.GZ_CACHE:
                self._gz.popitem(last=False)
        return image

    def _atlas_path(self, relative):
        """The local (plain) file of an IBE data path, or None."""
        match = _FILE.fullmatch(relative)
        if match is None:
            return None
        t = self.table
        hit = (
            (np.asarray(t["ordate"]) == match["ordate"])
            & (np.asarray(t["hemisphere"]) == match["hem"])
            & (np.asarray(t["fname"]) == relative.rsplit("/", 1)[1])
        )
        if not hit.any():
            return None
        return self.archive.local_path(self.archive.files_uri + relative[: -len(".gz")])

    # -------------------------------------------------------------- requests
    def _handle(self, handler, method):
        parts = urllib.parse.urlsplit(handler.path)
        record = Request(method, parts.path)
        kind = DATA if parts.path.startswith(DATA) else parts.path
        with self._lock:
            self.requests.append(record)
            self._flight[kind] = self._flight.get(kind, 0) + 1
            self.peak[kind] = max(self.peak.get(kind, 0), self._flight[kind])
        try:
            self._answer(handler, method, parts, record)
        finally:
            with self._lock:
                self._flight[kind] -= 1

    def _answer(self, handler, method, parts, record):
        body = b""
        if method == "POST":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            params += self._body_params(handler.headers.get("Content-Type", ""), body)
            record.params = [name for name, _ in params]
            record.query = {n: v for n, v in params if isinstance(v, str)}
            if parts.path == SEARCH:
                status, ctype, payload = 200, "text/plain", self._search(params)
            elif parts.path.startswith(DATA):
                status, ctype, payload = self._data(parts.path[len(DATA) :], params)
            elif parts.path == SIA2:
                status, ctype, payload = self._sia2(params)
            elif parts.path == CGI:
                status, ctype, payload = self._cgi(params)
            elif parts.path == CGI_FILES:
                status, ctype, payload = self._cgi_file(params)
            elif parts.path == "/tap/sync":
                status, ctype, payload = self._tap(dict(params))
            elif parts.path == "/stats":  # for the benchmarks: bytes per path
                status, ctype, payload = 200, "application/json", self._stats()
            else:
                status, ctype, payload = 404, "text/plain", "not found\n"
        except BadRequest as exc:
            status, ctype, payload = 400, "text/plain", f"{exc}\n"
        except ServerError as exc:  # IBE's HTML error page (its HttpException)
            status, ctype, payload = 500, "text/html; charset=utf-8", _html_500(exc)
        except Exception as exc:  # a bug of the stand-in: say so, as IBE does
            status, ctype, payload = 500, "text/plain", f"{type(exc).__name__}: {exc}\n"
        if isinstance(payload, str):
            payload = payload.encode()
        record.status = status
        record.sent = len(payload)
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
            if max(s1, s2) > self.max_size:
                raise BadRequest(
                    "Search region is too large - the maximum region bounding "
                    f"circle radius is {self.max_size / np.sqrt(2)!r} deg"
                )
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
        names = [name for name, _ in params]
        for name in names:
            if name not in ("center", "size", "gzip"):
                raise BadRequest(f"unknown parameter: {name}")
        if relative == "":
            if params:
                raise BadRequest(f"invalid parameter: {names[0]}")
            return 200, "text/html", "<html><body>2MASS All-Sky images</body></html>\n"
        relative = urllib.parse.unquote(relative)
        cutout = "center" in names or "size" in names
        if not cutout:
            if params:
                raise BadRequest(f"invalid parameter: {names[0]}")
            data = self.gz(relative)
            if data is None:
                return 404, "text/plain", "not found\n"
            return 200, "application/x-gzip", data
        for name in ("center", "size"):
            if names.count(name) != 1:
                raise BadRequest(f"{name} parameter must be specifed exactly once")
        if names.count("gzip") > 1:
            raise BadRequest("gzip parameter must be specifed at most once")
        values = dict(params)
        compress = _parse_bool(values.get("gzip", "true"))
        path = self._atlas_path(relative)
        if path is None:
            return 404, "text/plain", "not found\n"
        data = _cutout(self._image(path), values["center"], values["size"])
        if compress:
            return 200, "application/gzip", gzip.compress(data, mtime=0)
        return 200, "application/fits", data

    # ----------------------------------------------------------------- SIA v2
    def _sia2(self, params):
        allowed = {"pos", "band", "collection", "maxrec", "responseformat"}
        shapes, collection, maxrec = [], None, None
        for name, value in params:
            key = name.lower()
            if key not in allowed:
                raise BadRequest(f"{name}: parameter not supported by the stand-in")
            if key == "pos":
                shapes.append(_sia2_shape(value))
            elif key == "collection":
                collection = value
            elif key == "maxrec":
                if not value.isdigit():
                    raise BadRequest(f"MAXREC={value!r} is not a count")
                maxrec = int(value)
            elif key == "responseformat" and value.lower() not in (
                "votable",
                "application/x-votable+xml",
            ):
                raise BadRequest(f"RESPONSEFORMAT {value} not supported")
            elif key == "band":
                raise BadRequest("BAND is not supported by the stand-in")
        hit = np.zeros(len(self.table), bool)
        if collection in (None, "twomass_allsky"):
            if not shapes:
                hit[:] = True
            for kind, shape in shapes:
                if kind == "circle":
                    centre, radius = shape
                    hit |= self.footprints.relate_circle(centre, radius)[0]
                else:
                    hit |= self.footprints.relate_polygon(shape)[0]
        rows = np.flatnonzero(hit)
        status = "OK"
        if maxrec is not None and len(rows) > maxrec:
            rows, status = rows[:maxrec], "OVERFLOW"
        t = self.table[rows]
        n = len(rows)
        band = np.char.upper(np.asarray(t["filter"]).astype(str))
        folder = np.char.add(
            np.char.add(np.asarray(t["ordate"]).astype(str), t["hemisphere"]),
            np.char.add("/s", np.char.zfill(np.asarray(t["scanno"]).astype(str), 3)),
        )
        access = np.char.add(
            np.char.add(self.data_url_root, folder), np.char.add("/image/", t["fname"])
        )
        obs_id = np.char.add(
            np.char.add(folder, "/"), np.asarray(t["fname"]).astype(str)
        )
        out = Table()
        out["s_ra"] = np.asarray(t["crval1"], np.float64)
        out["s_dec"] = np.asarray(t["crval2"], np.float64)
        out["s_region"] = _s_region(self._corners[rows])
        out["access_url"] = access
        out["access_format"] = np.full(n, "image/fits")
        out["access_estsize"] = np.full(n, 2097, np.int64)
        out["energy_bandpassname"] = band
        out["dataproduct_type"] = np.full(n, "image")
        out["dataproduct_subtype"] = np.full(n, "science")
        out["obs_collection"] = np.full(n, "twomass_allsky")
        out["obs_id"] = obs_id
        out["obs_publisher_did"] = np.char.add(
            "ivo://irsa.ipac/twomass_allsky?", obs_id
        )
        out["facility_name"] = np.full(n, "FLWO")
        out["calib_level"] = np.full(n, 2, np.int16)
        return 200, "application/x-votable+xml", _votable(out, status=status)

    # ----------------------------------------------------------- SIA v1 CGI
    def _cgi(self, params):
        given = {}
        for name, value in params:
            key = name.upper() if name.upper() in _CGI_UPPER else name
            if key not in (*_CGI_UPPER, "type", "ds"):
                return _cgi_error(f"Unknown parameter {name}")
            given[key] = value
        fmt = given.get("FORMAT")
        if fmt is not None and fmt not in (
            "image/fits",
            "text/html",
            "ALL",
            "METADATA",
        ):
            return _cgi_error(f"FORMAT {fmt} not supported")
        if given.get("ds", "asky") != "asky":
            return _cgi_error(f"Unknown dataset {given['ds']}")
        kind = given.get("type", "at")
        if kind not in ("at", "ql"):
            return _cgi_error(f"Unknown image type {kind}")
        if fmt == "METADATA":
            return (
                200,
                "text/xml",
                _votable(self._cgi_rows(np.zeros(0, np.int64), kind)),
            )
        if "POS" not in given:
            return _cgi_error("No location specified")
        try:
            ra, dec = (float(v) for v in given["POS"].split(","))
            sizes = [float(v) for v in given.get("SIZE", "0").split(",")]
        except ValueError:
            return _cgi_error(f"Bad POS or SIZE: {given['POS']!r}")
        if not (0 <= ra <= 360 and -90 <= dec <= 90) or len(sizes) not in (1, 2):
            return _cgi_error(f"Bad POS or SIZE: {given['POS']!r}")
        w, h = sizes[0], sizes[-1]
        intersect = given.get("INTERSECT", "OVERLAPS").upper()
        centre = radec_to_xyz(ra, dec)
        if w == 0 and h == 0:
            hit = self.footprints.contains(centre)
        else:
            over, covers, enclosed = self.footprints.relate_polygon(_box(ra, dec, w, h))
            hit = {"OVERLAPS": over, "COVER": covers, "ENCLOSED": enclosed}.get(
                intersect, over
            )
            if intersect == "CENTER":
                hit = self.footprints.contains(centre)
        rows = self._cgi_rows(np.flatnonzero(hit), kind)
        if fmt in ("image/fits", "text/html"):
            rows = rows[np.asarray(rows["format"]) == fmt]
        return 200, "text/xml", _votable(rows)

    def _cgi_rows(self, rows, kind):
        """Two rows per file (``image/fits``, ``text/html``), the CGI's columns."""
        t = self.table[rows]
        n = len(rows)
        band = np.char.upper(np.asarray(t["filter"]).astype(str))
        letter = "q" if kind == "ql" else "i"
        scan3 = np.char.zfill(np.asarray(t["scanno"]).astype(str), 3)
        image4 = np.char.zfill(np.asarray(t["coaddno"]).astype(str), 4)
        name = np.char.add(
            np.char.add(
                np.char.add(np.asarray(t["filter"]).astype(str), letter), scan3
            ),
            np.char.add(image4, ".fits"),
        )
        dh = np.char.add(np.asarray(t["ordate"]).astype(str), t["hemisphere"])
        query = np.char.add(np.char.add("?ds=asky&atdir=/ti08&dh=", dh), "&scan=")
        fits_url = np.char.add(
            np.char.add(self.base + CGI_FILES, query),
            np.char.add(np.char.add(scan3, "&name="), name),
        )
        html_url = np.char.add(
            np.char.add(
                self.base + "/cgi-bin/2MASS/IM/nph-im_key?ds=asky&key=",
                np.asarray(t["coadd_key"]).astype(str),
            ),
            np.char.add("&band=", band),
        )
        what = "Quicklook" if kind == "ql" else "Atlas"
        title = np.char.add(
            np.char.add("All-Sky Release Survey ", band),
            np.char.add(
                f"-Band {what} Image: ",
                np.char.add(np.char.add(np.char.add(dh, " "), scan3), " " + "x"),
            ),
        )
        out = Table()
        out["name"] = np.concatenate([title, title])
        out["download"] = np.concatenate([fits_url, html_url])
        out["center_ra"] = np.tile(np.asarray(t["crval1"], np.float64), 2)
        out["center_dec"] = np.tile(np.asarray(t["crval2"], np.float64), 2)
        out["naxes"] = np.full(2 * n, 2, np.int16)
        out["naxis"] = np.tile(np.stack([t["ns"], t["nl"]], axis=1), (2, 1))
        out["scale"] = np.tile(np.stack([t["cdelt1"], t["cdelt2"]], axis=1), (2, 1))
        out["format"] = np.repeat(["image/fits", "text/html"], n)
        out["crpix"] = np.tile(np.stack([t["crpix1"], t["crpix2"]], axis=1), (2, 1))
        out["crval"] = np.tile(np.stack([t["crval1"], t["crval2"]], axis=1), (2, 1))
        out["crota2"] = np.tile(np.asarray(t["crota2"], np.float64), 2)
        out["band"] = np.tile(band, 2)
        out["type"] = np.full(2 * n, "Q" if kind == "ql" else "A")
        out["dataset"] = np.full(2 * n, "asky")
        out["pixflags"] = np.full(2 * n, "CZ")
        out["date"] = np.tile(np.asarray(t["ordate"]).astype(str), 2)
        out["hem"] = np.tile(np.asarray(t["hemisphere"]).astype(str), 2)
        out["scan"] = np.tile(np.asarray(t["scanno"], np.int64), 2)
        out["image"] = np.tile(np.asarray(t["coaddno"], np.int64), 2)
        out["coadd_key"] = np.tile(np.asarray(t["coadd_key"], np.int64), 2)
        out["seesh"] = np.full(2 * n, 1.1)
        out["magzp"] = np.full(2 * n, 20.5)
        order = np.argsort(np.r_[np.arange(n), np.arange(n)], kind="stable")
        return out[order]  # each file's two rows together, as the CGI lists them

    def _cgi_file(self, params):
        values = dict(params)
        match = re.fullmatch(r"(\d{6})([ns])", values.get("dh", ""))
        name = re.fullmatch(
            r"([jhk])([iq])(\d{3})(\d{4})\.fits", values.get("name", "")
        )
        if match is None or name is None or values.get("scan") != name[3]:
            return 404, "text/html", "<html><body>No such image</body></html>\n"
        t = self.table
        hit = (
            (np.asarray(t["ordate"]) == match[1])
            & (np.asarray(t["hemisphere"]) == match[2])
            & (np.asarray(t["scanno"]) == int(name[3]))
            & (np.asarray(t["coaddno"]) == int(name[4]))
            & (np.asarray(t["filter"]) == name[1])
        )
        if not hit.any():
            return 404, "text/html", "<html><body>No such image</body></html>\n"
        (relative,) = relative_paths(
            [match[1]],
            [match[2]],
            [int(name[3])],
            [int(name[4])],
            ["jhk".index(name[1])],
            "quicklook" if name[2] == "q" else "atlas",
        )
        path = self.archive.local_path(self.archive.files_uri + relative)
        return 200, "image/fits", path.read_bytes()

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


_CGI_UPPER = ("POS", "SIZE", "INTERSECT", "FORMAT")
_UNITS = (
    (re.compile(r"(px?|pix(els?)?)", re.I), None),
    (re.compile(r'("|a(rc)?-?sec(onds?)?)', re.I), 1 / 3600),
    (re.compile(r"('|a(rc)?-?min(utes?)?)", re.I), 1 / 60),
    (re.compile(r"(d|deg(rees?)?)?", re.I), 1.0),
    (re.compile(r"(r|rad(ians?)?)", re.I), 180 / np.pi),
)


def _parse_bool(text):
    value = text.strip().lower()
    if value in ("1", "true", "t", "y", "yes", "on"):
        return True
    if value in ("0", "false", "f", "n", "no", "off"):
        return False
    raise BadRequest(f"invalid boolean: {text!r}")


def _coords(text, name, pair):
    """IBE's ``parse_coords``: ``x[,y][units]`` -> (values, degrees per unit)."""
    match = re.fullmatch(
        r"\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*(?:,\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?))?"
        r"\s*(\S*)\s*",
        text,
    )
    if match is None or (pair and match[2] is None):
        raise BadRequest(f"invalid parameter: {name}")
    values = [float(match[1]), float(match[2] if match[2] is not None else match[1])]
    for pattern, scale in _UNITS:
        if pattern.fullmatch(match[3]):
            return values, scale
    raise BadRequest(
        f"Value of {name} parameter has invalid trailing unit specification"
    )


def _cutout(image, center, size):
    """The FITS bytes of IBE's cutout of an image (``cutout_pixel_box``)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    (cx, cy), c_scale = _coords(center, "center", True)
    (w, h), s_scale = _coords(size, "size", False)
    if w < 0 or h < 0:
        raise BadRequest("Negative cutout size")
    header, data = image[0].copy(), image[1]
    if c_scale is not None:
        ra, dec = cx * c_scale, cy * c_scale
        if not -90 <= dec <= 90:
            raise BadRequest("Center declination out of range [-90, 90] deg")
        cx, cy = WCS(header).all_world2pix([[ra % 360, dec]], 1)[0]
    if s_scale is not None:  # an angle along each pixel axis
        w = w * s_scale / abs(header["CDELT1"])
        h = h * s_scale / abs(header["CDELT2"])
    xmin, xmax = np.floor(cx - w / 2 + 0.5), np.floor(cx + w / 2 + 0.5)
    ymin, ymax = np.floor(cy - h / 2 + 0.5), np.floor(cy + h / 2 + 0.5)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    finite = np.isfinite([xmin, xmax, ymin, ymax]).all()  # a point past the horizon
    if not finite or xmin > nx or ymin > ny or xmax < 1 or ymax < 1:
        raise ServerError("Cutout does not overlap image")
    x0, y0 = int(max(1, xmin)), int(max(1, ymin))
    x1, y1 = int(min(nx, xmax)), int(min(ny, ymax))
    header["CRPIX1"] -= x0 - 1
    header["CRPIX2"] -= y0 - 1
    out = io.BytesIO()
    fits.PrimaryHDU(data[y0 - 1 : y1, x0 - 1 : x1], header).writeto(out)
    return out.getvalue()


def _sia2_shape(text):
    """An SIA v2 ``POS`` value: ('circle', (centre, radius)) or ('polygon', ...)."""
    parts = text.split()
    try:
        kind, values = parts[0].upper(), [float(v) for v in parts[1:]]
    except (IndexError, ValueError):
        raise BadRequest(f"POS {text!r} is not CIRCLE, RANGE or POLYGON") from None
    if kind == "CIRCLE" and len(values) == 3:
        return "circle", (radec_to_xyz(values[0], values[1]), np.radians(values[2]))
    if kind == "RANGE" and len(values) == 4:
        ra1, ra2, dec1, dec2 = values
        ra = [ra1, ra2, ra2, ra1]
        dec = [dec1, dec1, dec2, dec2]
        return "polygon", ConvexPolygon.from_radec(ra, dec)
    if kind == "POLYGON" and len(values) >= 6 and len(values) % 2 == 0:
        return "polygon", ConvexPolygon.from_radec(values[0::2], values[1::2])
    raise BadRequest(f"POS {text!r} is not CIRCLE, RANGE or POLYGON")


def _s_region(corners):
    """IRSA's ``s_region``: ``POLYGON ICRS`` with the first corner repeated."""
    n = len(corners)
    if not n:
        return np.zeros(0, "U1")
    ra, dec = xyz_to_radec(corners.reshape(-1, 3))
    ra, dec = ra.reshape(n, 4), dec.reshape(n, 4)
    pairs = [
        np.char.add(
            np.char.add(np.char.mod("%.17g", ra[:, k]), " "),
            np.char.mod("%.17g", dec[:, k]),
        )
        for k in (0, 1, 2, 3, 0)
    ]
    text = np.full(n, "POLYGON ICRS")
    for pair in pairs:
        text = np.char.add(np.char.add(text, " "), pair)
    return text


def _cgi_error(message):
    return 200, "text/xml", _votable_error(message)


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


def _votable(table, status="OK"):
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    votable = from_table(table)
    resource = votable.resources[0]
    resource.type = "results"
    resource.infos.append(Info(name="QUERY_STATUS", value=status))
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
    server = IrsaStandIn(LocalArchive(args.path))
    server.GZ_CACHE = 4096
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    _main()
