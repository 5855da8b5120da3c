# Licensed under a 3-clause BSD style license - see LICENSE
"""What a hostile case of issue 18 is, and the checks of how its child ended.

A `Case` sets up the services on 127.0.0.1 (`Services`: an IRSA stand-in
whose TAP_SCHEMA and answers a case may change, and a `HostileServer` for
raw answers), returns the Python code its child runs (`hostile_child`), and
checks how the child ended: `Case.problems` lists what was mishandled (an
empty list: handled). The cases themselves are in
``hostile_cases_services.py`` (discovery, IBE answers, slow answers) and
``hostile_cases_local.py`` (arguments and names, the download folder, input
files); ``hostile_cases.py`` gathers them by surface.

The child's code starts with `PRELUDE` (imports, the stand-in's URLs, and
``logged``: the warnings of the ``twomass_vo`` logger).
"""

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PRELUDE",
    "Case",
    "Services",
    "archive_error",
    "refused",
    "returned",
    "sent",
]


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
        self.standin.requests.clear()
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
def refused(out, kind, *needles):
    """Problems unless the child raised a ``kind`` naming each of ``needles``.

    ``kind`` is the name of the exception class or of one of its bases.
    """
    if out["ended"] != "raised":
        return [f"no error: it returned {out.get('result')!r}"]
    if kind not in out["bases"]:
        return [f"{out['error']} instead of {kind}: {out['message'][:300]}"]
    message = out["message"]
    return [
        f"the message does not name {n!r}: {message[:300]}"
        for n in needles
        if n not in message
    ]


def archive_error(out, *needles):
    """Problems unless the child raised ArchiveError naming each of ``needles``."""
    return refused(out, "ArchiveError", *needles)


def returned(out):
    """Problems unless the child returned."""
    if out["ended"] != "returned":
        return [f"{out['error']}: {out['message'][:300]}"]
    return []


def sent(services, where):
    """A problem if the stand-in was asked for a path containing ``where``."""
    asked = [r.path for r in services.standin.requests if where in r.path]
    return [f"{len(asked)} request(s) sent: {asked[:3]}"] if asked else []
