# Licensed under a 3-clause BSD style license - see LICENSE
"""The hostile cases of issue 18, by surface, each run in its own capped child process.

A `Case` sets up the services on 127.0.0.1 (`Services`: an IRSA stand-in
whose TAP_SCHEMA and answers a case may change, and a `HostileServer` for
raw answers), returns the Python code its child runs (`hostile_child`), and
checks how the child ended: `Case.problems` lists what was mishandled (an
empty list: handled). ``tests/test_hostile_round3.py`` runs every case as a
test; ``benchmarks/hostile_census.py`` runs them against any checkout and
counts, per surface, the cases tried and mishandled.

The child's code starts with `PRELUDE` (imports, the stand-in's URLs, and
``logged``: the warnings of the ``twomass_vo`` logger).
"""

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CASES", "PRELUDE", "Case", "Services", "archive_error"]


@dataclass
class Services:
    """The servers of the cases, and a folder of the case's own."""

    standin: object  # irsa_standin.IrsaStandIn
    hostile: object  # hostile_server.HostileServer
    key: int  # a coadd_key of the stand-in's patch (3 Atlas files)
    tmp: Path = None

    def reset(self, tmp):
        """Forget what the last case set up; give the next one ``tmp``."""
        self.standin.__dict__.pop("tap_schema", None)
        self.standin.__dict__["tap_queries"] = []
        self.hostile.routes.clear()
        self.hostile.log.clear()
        self.tmp = Path(tmp)


@dataclass
class Case:
    """One hostile case.

    Attributes
    ----------
    surface : str
        What is attacked (``discovery``, ``ibe``, ...).
    name : str
        The case.
    prepare : callable
        ``prepare(services) -> code``: sets the servers up, returns the
        child's code (after `PRELUDE`).
    check : callable
        ``check(out, services) -> list of str``: what was mishandled.
    seconds : float
        The child's time limit (killed after it: a hang).
    memory : int
        Address space the child may add, bytes.
    """

    surface: str
    name: str
    prepare: Callable
    check: Callable
    seconds: float = 60.0
    memory: int = 768 << 20

    @property
    def id(self):
        """``surface-name``."""
        return f"{self.surface}-{self.name}"

    def code(self, services):
        """The child's whole code."""
        prelude = PRELUDE.format(
            tap=services.standin.tap_url,
            ibe=services.standin.ibe_url,
            data=services.standin.data_url_root,
            hostile=services.hostile.url(""),
            key=services.key,
            tmp=str(services.tmp),
        )
        return prelude + textwrap.dedent(self.prepare(services))

    def problems(self, out, services):
        """What was mishandled (see `check`); a kill or a crash always is."""
        if out["ended"] == "killed":
            return [f"still running after {self.seconds:g} s: killed"]
        if out["ended"] == "died":
            return [f"the child died (status {out.get('status')})"]
        return list(self.check(out, services))


#: What every child runs first.
PRELUDE = """
import logging, os, sys
import numpy as np
import twomass_vo
from twomass_vo import TwoMassBatch
from twomass_vo.archives import irsa as _irsa
from twomass_vo.archives.irsa import IrsaArchive
TAP, IBE, DATA, HOSTILE = {tap!r}, {ibe!r}, {data!r}, {hostile!r}
KEY, TMP = {key!r}, {tmp!r}
logged = []
class _Keep(logging.Handler):
    def emit(self, record):
        logged.append(record.getMessage())
logging.getLogger("twomass_vo").addHandler(_Keep())
twomass_vo.conf.cache_dir = os.path.join(TMP, "cache")
for _name, _value in (("sia_url", ""), ("tap_url", TAP), ("ibe_url", IBE),
                      ("data_url_root", DATA)):
    setattr(_irsa.conf, _name, _value)
def irsa(**kwargs):
    return IrsaArchive(**kwargs)
"""


# ------------------------------------------------------------------- checks
def archive_error(out, *needles):
    """Problems unless the child raised ArchiveError naming each of ``needles``."""
    if out["ended"] != "raised":
        return [f"no error: it returned {out.get('result')!r}"]
    if "ArchiveError" not in out["bases"]:
        return [f"{out['error']} instead of ArchiveError: {out['message'][:300]}"]
    return [
        f"the message does not name {n!r}" for n in needles if n not in out["message"]
    ]


def returned(out):
    """Problems unless the child returned."""
    if out["ended"] != "returned":
        return [f"{out['error']}: {out['message'][:300]}"]
    return []


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

#: Every case, by surface.
CASES = {"discovery": DISCOVERY}
