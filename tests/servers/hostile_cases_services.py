# Licensed under a 3-clause BSD style license - see LICENSE
"""Hostile cases against the services: TAP_SCHEMA, IBE answers, slow answers.

The surfaces ``discovery``, ``ibe`` and ``time`` of `hostile_cases.CASES`
(see `hostile_case` for what a case is).
"""

import itertools

from hostile_case import Case, archive_error, returned

__all__ = ["DISCOVERY", "IBE", "TIME"]


# -------------------------------------------------------------- discovery
#: IBE's column names: a table with them (and ``poly``) is an image table.
_IMAGE_COLUMNS = [
    "fname", "ordate", "hemisphere", "scanno", "coaddno", "coadd_key", "filter",
    "crval1", "crval2", "ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4",
    "poly",
]  # fmt: skip

#: Table names that smuggle ADQL into a query.
_INJECTIONS = {
    "semicolon": "twomass.allsky_images; DROP TABLE twomass.allsky_images --",
    "union": "twomass.allsky_images WHERE 1=0 UNION SELECT * FROM secret.table",
    "comment": "twomass.allsky_images/* comment */",
    "newline": "twomass.allsky_images\nWHERE 1=0",
    "quote": "twomass.allsky_images') OR ('1'='1",
}


def _schema(services, tables):
    from irsa_standin import TAP_SCHEMA_TABLES

    services.standin.tap_schema = {**TAP_SCHEMA_TABLES, **tables}


def _injection(label):
    name = _INJECTIONS[label]

    def prepare(services):
        _schema(services, {name: _IMAGE_COLUMNS})
        return """
        archive = irsa()
        table = TwoMassBatch(archive=archive).query_coadd_keys([KEY])
        result = dict(rows=len(table), route=table.meta["route"],
                      reason=archive.discovery.reason, logged=logged)
        """

    def check(out, services):
        problems = returned(out)
        sent = services.standin.tap_queries
        marker = name.split("images", 1)[1].strip()[:8]
        leaked = [q for q in sent if marker in q]
        if leaked:
            problems.append(f"the name reached ADQL: {leaked[0][:160]!r}")
        if not problems:
            result = out["result"]
            if result["rows"] != 3:
                problems.append(f"{result['rows']} rows instead of 3")
            if not any("not ADQL identifiers" in m for m in result["logged"]):
                problems.append("the skipped name was not logged")
        return problems

    return Case("discovery", f"table-name-{label}", prepare, check)


#: Column names that look like IBE's but are not (the first letter, or the
#: whole name, is another character).
_LOOK_ALIKES = {
    "kelvin-sign": "coadd_\u212aey",  # 'K'.lower() == 'k'
    "cyrillic-o": "\u043erdate",
    "zero-width": "ordate\u200b",
    "trailing-blank": "ordate ",
}


def _look_alike(label):
    fake = _LOOK_ALIKES[label]
    real = fake.replace("\u212a", "k").replace("\u043e", "o").strip().strip("\u200b")

    def prepare(services):
        columns = [fake if c == real else c for c in _IMAGE_COLUMNS]
        _schema(services, {"twomass.allsky_images": columns})
        return """
        from twomass_vo.cli import main
        result = main(["--archive", "irsa", "coadd-keys", str(KEY)])
        """

    def check(out, services):
        problems = returned(out)
        if not problems and out["result"] != 0:
            problems.append(f"exit status {out['result']} instead of 0 (IBE)")
        return problems

    return Case("discovery", f"column-{label}", prepare, check)


def _many_tables(services):
    services.standin.tap_schema = {
        f"twomass.allsky_images_{i}": ["coadd_key"] for i in range(100_000)
    }
    return """
    found = irsa().discover_table()
    result = dict(table=found.table, reason=found.reason[:200])
    """


def _ended_without_table(out, services):
    problems = returned(out)
    if not problems and out["result"]["table"] is not None:
        problems.append(f"took {out['result']['table']!r}")
    return problems


def _raw_schema(behaviour):
    def prepare(services):
        services.hostile.route("/tap/sync", behaviour)
        return """
        found = irsa(tap_url=HOSTILE + "/tap").discover_table()
        result = dict(table=found.table, reason=found.reason[:300])
        """

    return prepare


def _schema_answer_is_refused(out, services):
    """A bad TAP_SCHEMA answer: no table (IBE is used) or an ArchiveError."""
    if out["ended"] == "raised":
        return archive_error(out, services.hostile.url("/tap"))
    return _ended_without_table(out, services)


_VOTABLE_WITHOUT_COLUMNS = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE><FIELD name="x" datatype="char" arraysize="*"/>
<DATA><TABLEDATA><TR><TD>twomass.allsky_images</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>
"""

DISCOVERY = [
    *(_injection(label) for label in _INJECTIONS),
    *(_look_alike(label) for label in _LOOK_ALIKES),
    Case(
        "discovery",
        "100000-tables",
        _many_tables,
        _ended_without_table,
        seconds=120,
        memory=2 << 30,
    ),
    Case(
        "discovery",
        "html-answer",
        _raw_schema(("body", b"<html><body>Oops</body></html>", {})),
        _schema_answer_is_refused,
    ),
    Case(
        "discovery",
        "answer-without-table_name",
        _raw_schema(("body", _VOTABLE_WITHOUT_COLUMNS, {})),
        _schema_answer_is_refused,
    ),
    Case(
        "discovery",
        "gzip-bomb",
        _raw_schema(("gzip_bomb", 768 << 20)),
        _schema_answer_is_refused,
        memory=1536 << 20,
    ),
]


# --------------------------------------------------------------------- IBE
def _ibe_answer(services):
    """IBE's answer (IPAC text) for the case's coadd_key: header and rows as cells."""
    import urllib.parse
    import urllib.request

    from twomass_vo.archives.irsa.ibe import IBE_COLUMNS

    query = urllib.parse.urlencode(
        {"where": f"coadd_key IN ({services.key})", "columns": ",".join(IBE_COLUMNS)}
    )
    with urllib.request.urlopen(f"{services.standin.ibe_url}?{query}") as answer:
        lines = answer.read().decode("ascii").splitlines()
    bars = [k for k, c in enumerate(lines[0]) if c == "|"]

    def cells(line):
        return [line[a + 1 : b].strip() for a, b in itertools.pairwise(bars)]

    return [cells(line) for line in lines[:4]], [cells(line) for line in lines[4:]]


def _ipac_text(header, rows):
    """Fixed-width IPAC text of header lines and rows of cells (str)."""
    widths = [max(len(r[k]) for r in header + rows) for k in range(len(header[0]))]
    lines = ["|" + "|".join(c.rjust(w) for c, w in zip(h, widths, strict=True)) + "|"
             for h in header]  # fmt: skip
    lines += [" " + " ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " "
              for r in rows]  # fmt: skip
    return "\n".join(lines) + "\n"


def _edited(column, value, row=1):
    """An edit of IBE's answer: ``column`` of ``row`` set to ``value``."""

    def edit(header, rows):
        rows[row][header[0].index(column)] = value
        return _ipac_text(header, rows)

    return edit


def _ibe_case(name, edit, *needles, charset="utf-8", ctype="text/plain", status=200):
    """An IBE answer edited by ``edit(header, rows) -> text`` (or a fixed text)."""
    ctype = f"{ctype}; charset={charset}"

    def prepare(services):
        body = edit(*_ibe_answer(services)) if callable(edit) else edit
        data = body.encode(charset)
        answer = ("status", status, data, {"Content-Type": ctype})
        services.hostile.route("/ibe", answer)
        return """
        archive = irsa(ibe_url=HOSTILE + "/ibe", discover=False)
        table = TwoMassBatch(archive=archive).query_coadd_keys([KEY])
        result = dict(rows=len(table), urls=list(table["access_url"]))
        """

    def check(out, services):
        problems = archive_error(out, services.hostile.url("/ibe"), *needles)
        if "\n" in out.get("message", ""):
            problems.append("the message has more than one line")
        return problems

    return Case("ibe", name, prepare, check)


def _shifted(header, rows):
    text = _ipac_text(header, rows).split("\n")
    text[5] = " " + text[5]  # the second row, one character to the right
    return "\n".join(text)


def _longer(header, rows):
    text = _ipac_text(header, rows).split("\n")
    text[4] += "   more"
    return "\n".join(text)


def _separated(character):
    def edit(header, rows):
        text = _ipac_text(header, rows).split("\n")
        text[4] = text[4][:30] + character + text[4][31:]
        return "\n".join(text)

    return edit


def _duplicate_by_case(header, rows):
    for line in header:
        line.append(line[header[0].index("ordate")])
    header[0][-1] = "ORDATE"
    for row in rows:
        row.append(row[header[0].index("ordate")])
    return _ipac_text(header, rows)


def _empty_with(names):
    def edit(header, rows):
        return _ipac_text([names, ["char"] * len(names)], [])

    return edit


def _with_month(month):
    def edit(header, rows):
        k = header[0].index("ordate")
        rows[1][k] = rows[1][k][:2] + month + rows[1][k][4:]
        return _ipac_text(header, rows)

    return edit


_WIDE_HEADER = "|" + "|".join(f"c{i}" for i in range(100_000)) + "|\n"

IBE = [
    _ibe_case("html-starting-with-bar", "| <html><body>Error</body></html>\n"),
    _ibe_case(
        "empty-with-other-columns",
        _empty_with(["name", "description"]),
        "lacks the column",
    ),
    _ibe_case("duplicate-names-by-case", _duplicate_by_case, "ORDATE"),
    _ibe_case("ordate-month-13", _with_month("13"), "ordate", "is not a date"),
    _ibe_case("ordate-day-32", _edited("ordate", "991132"), "ordate", "991132"),
    _ibe_case("unicode-digit-ordate", _edited("ordate", "99110\u0666"), "ordate"),
    _ibe_case("unicode-digit-scanno", _edited("scanno", "\u0665\u0664"), "scanno"),
    _ibe_case(
        "unicode-digit-fname", _edited("fname", "hi05402\u0665\u0666.fits.gz"), "fname"
    ),
    _ibe_case("nul-byte", _edited("filter", "h\x00"), "filter"),
    _ibe_case("tab", _edited("hemisphere", "\tn"), "hemisphere"),
    _ibe_case("row-shifted", _shifted, "row 1", "out of line"),
    _ibe_case("row-too-long", _longer, "row 0", "out of line"),
    _ibe_case("form-feed-in-a-row", _separated("\x0c"), "row 0"),
    _ibe_case("record-separator-in-a-row", _separated("\x1e"), "row 0"),
    _ibe_case(
        "coadd_key-beyond-64-bits",
        _edited("coadd_key", str(2**70)),
        "coadd_key",
        str(2**70)[:6],
    ),
    _ibe_case("ns-beyond-64-bits", _edited("ns", "9" * 25), "ns"),
    _ibe_case("coadd_key-with-underscore", _edited("coadd_key", "1_000"), "coadd_key"),
    _ibe_case("huge-footprint", _edited("cdelt1", "-1.0"), "cdelt1", "degrees wide"),
    _ibe_case("nan-pixel-size", _edited("cdelt2", "nan"), "cdelt2"),
    _ibe_case("100000-columns", _WIDE_HEADER, "100000 columns"),
    _ibe_case(
        "http-500-html-page",
        "<html>\n<body>\n<h1>Internal error</h1>\n</body>\n</html>\n",
        "HTTP 500",
        ctype="text/html",
        status=500,
    ),
    _ibe_case(
        "latin-1-answer",
        _edited("fname", "hi0540256.fits.g\xe9"),
        "fname",
        charset="iso-8859-1",
    ),
]


# -------------------------------------------------------------------- time
#: The low-speed window of the time cases (the default is 30 s).
_SLOW_WINDOW = 3.0


def _slow_query(route, answer):
    """A query whose service answers with the hostile ``answer`` behaviour."""

    def prepare(services):
        services.hostile.route(route, answer)
        return f"""
        twomass_vo.conf.low_speed_time = {_SLOW_WINDOW}
        from twomass_vo.archives.vo import VOArchive
        if {route!r} == "/ibe":
            archive = irsa(ibe_url=HOSTILE + "/ibe", discover=False)
            TwoMassBatch(archive=archive).query_coadd_keys([KEY])
        else:
            archive = VOArchive(tap_url=HOSTILE + "/tap", table="twomass.images")
            TwoMassBatch(archive=archive).query_region("10.68 41.27", 0.1)
        """

    def check(out, services):
        problems = archive_error(out, services.hostile.url(route), "low-speed limit")
        if out.get("seconds", 0) > 4 * _SLOW_WINDOW:
            problems.append(f"gave up after {out['seconds']:.0f} s")
        return problems

    return prepare, check


def _slow_download(answer):
    def prepare(services):
        services.hostile.route("/file.fits", answer)
        return f"""
        twomass_vo.conf.low_speed_time = {_SLOW_WINDOW}
        archive = irsa(discover=False)
        table = TwoMassBatch(archive=archive).query_coadd_keys([KEY])[:1]
        table["access_url"] = [HOSTILE + "/file.fits"]
        done = table.download(os.path.join(TMP, "files"), retries=1)
        result = dict(status=str(done["status"][0]), error=str(done["error"][0]))
        """

    def check(out, services):
        problems = returned(out)
        if problems:
            return problems
        if out["result"]["status"] != "failed":
            problems.append(f"status {out['result']['status']!r}")
        if "low-speed limit" not in out["result"]["error"]:
            problems.append(f"error {out['result']['error']!r}")
        if out["seconds"] > 8 * _SLOW_WINDOW:
            problems.append(f"gave up after {out['seconds']:.0f} s")
        return problems

    return prepare, check


_DRIP = ("drip", b"<" * 100_000, 0.2)  # 5 bytes/s

TIME = [
    Case("time", "tap-answer-5-bytes-per-s", *_slow_query("/tap/sync", _DRIP)),
    Case("time", "ibe-answer-5-bytes-per-s", *_slow_query("/ibe", _DRIP)),
    Case(
        "time",
        "tap-headers-5-bytes-per-s",
        *_slow_query("/tap/sync", ("headers_forever", 0.2)),
    ),
    Case("time", "file-5-bytes-per-s", *_slow_download(_DRIP)),
    Case(
        "time",
        "file-headers-5-bytes-per-s",
        *_slow_download(("headers_forever", 0.2)),
    ),
]
