# Licensed under a 3-clause BSD style license - see LICENSE
"""Hostile cases on this side: arguments and names, the download folder, input files.

The surfaces ``messages``, ``files`` and ``inputs`` of `hostile_cases.CASES`
(see `hostile_case` for what a case is).
"""

import os
import textwrap

from hostile_case import Case, refused, returned, sent

__all__ = ["FILES", "INPUTS", "MESSAGES"]


# ---------------------------------------------------------------- messages
def _cli(*argv):
    """A command line run in the child, the name resolver recorded."""

    def prepare(services):
        return f"""
        from twomass_vo.cli import main
        from twomass_vo.inputs.coordinates import use_resolver
        sent = []
        def resolver(name):
            sent.append(name)
            raise KeyError(name)
        with use_resolver(resolver):
            try:
                status = main({["--archive", "irsa", *argv]!r})
            except SystemExit as exc:  # argparse: a usage error
                status = exc.code
        result = dict(status=status, sent=sent)
        """

    return prepare


def _refused_offline(out, services):
    """Exit 2 (bad input), nothing sent to the resolver nor to a service."""
    problems = returned(out)
    if problems:
        return problems
    if out["result"]["sent"]:
        problems.append(f"sent to the name resolver: {out['result']['sent']!r}")
    if out["result"]["status"] != 2:
        problems.append(f"exit status {out['result']['status']} instead of 2")
    return problems + sent(services, "/ibe/")


def _download_timeout(value):
    def prepare(services):
        return f"""
        archive = irsa(discover=False)
        table = TwoMassBatch(archive=archive).query_coadd_keys([KEY])
        done = table.download(os.path.join(TMP, "files"), timeout={value})
        result = dict(status=[str(s) for s in done["status"]],
                      error=str(done["error"][0]))
        """

    return prepare


def _timeout_refused(out, services):
    """An InvalidQueryError naming the timeout, before any file was asked for."""
    return refused(out, "ValueError", "timeout") + sent(services, "/ibe/data/")


def _archive_timeout(value):
    def prepare(services):
        return f"""
        archive = irsa(timeout={value}, discover=False)
        result = len(TwoMassBatch(archive=archive).query_coadd_keys([KEY]))
        """

    return prepare


_TIMEOUTS = {
    "nan": "float('nan')",
    "zero": "0",
    "negative": "-5",
    "inf": "float('inf')",
}

MESSAGES = [
    Case("messages", "semicolon-coordinates", _cli("region", "10.68;41.27", "0.1"),
         _refused_offline),
    Case("messages", "semicolon-sexagesimal",
         _cli("region", "00:42:44.3;+41:16:08", "0.1"), _refused_offline),
    Case("messages", "truncated-designation",
         _cli("region", "2MASS J00424433+41160", "0.1"), _refused_offline),
    Case("messages", "short-designation", _cli("region", "2MASS J0042+41", "0.1"),
         _refused_offline),
    Case("messages", "cli-timeout-nan",
         _cli("coadd-keys", "1", "--download", "/nonexistent-folder", "--timeout",
              "nan"), _refused_offline),
    *(Case("messages", f"{where}-timeout-{label}", make(value), _timeout_refused)
      for where, make, values in (
          ("download", _download_timeout, ("nan", "zero", "negative", "inf")),
          ("archive", _archive_timeout, ("nan", "negative")))
      for label, value in ((v, _TIMEOUTS[v]) for v in values)),
]  # fmt: skip


# ------------------------------------------------------------------ files
_OUTSIDE = """
folder = os.path.join(TMP, "files")
os.makedirs(folder)
outside = os.path.join(TMP, "outside.fits")
from astropy.io import fits
fits.PrimaryHDU(np.zeros((4, 4), "f4")).writeto(outside)
before = open(outside, "rb").read()
table = TwoMassBatch(archive=irsa(discover=False)).query_coadd_keys([KEY])
"""


def _planted(make):
    """A download into a folder where ``make`` planted something."""

    def prepare(services):
        return (
            _OUTSIDE
            + textwrap.dedent(make)
            + """
entries = set(os.listdir(TMP)) | {"cache"}
try:
    done = table.download(folder, max_workers=1)
    result = dict(status=[str(s) for s in done["status"]],
                  links=[os.path.islink(p) for p in done["local_path"]])
finally:
    new = set(os.listdir(TMP)) - entries
    intact = open(outside, "rb").read() == before and not new
    logged.append(f"outside intact: {intact}")
"""
        )

    return prepare


def _outside_intact(out):
    if not any(m == "outside intact: True" for m in out.get("logged", ())):
        return ["a file outside the folder was written"]
    return []


def _manifest_refused(out, services):
    """The planted manifest is refused with an OSError naming it."""
    manifest = refused(out, "OSError", "twomass_vo-manifest.jsonl", "refused")
    return manifest + _outside_intact(out)


def _replaced(out, services):
    """The planted link is replaced by the file downloaded (not taken as done)."""
    problems = returned(out)
    if not problems:
        if out["result"]["status"] != ["ok"] * 3:
            problems.append(f"status {out['result']['status']} instead of ok")
        if any(out["result"]["links"]):
            problems.append("a result is still a symbolic link")
    return problems + _outside_intact(out)


_MANIFEST = 'os.path.join(folder, "twomass_vo-manifest.jsonl")'
_TARGET = 'os.path.join(folder, str(table[0]["ordate"]) + "n_ji0540256.fits")'

FILES = [
    Case("files", "manifest-symlink", _planted(f"os.symlink(outside, {_MANIFEST})"),
         lambda out, services: _manifest_refused(out, services)),
    Case("files", "manifest-dangling-symlink",
         _planted(f"os.symlink(outside + '.new', {_MANIFEST})"),
         lambda out, services: _manifest_refused(out, services)),
    Case("files", "manifest-fifo", _planted(f"os.mkfifo({_MANIFEST})"),
         _manifest_refused, seconds=30),
    Case("files", "target-symlink-to-a-fits-file",
         _planted(f"os.symlink(outside, {_TARGET})"), _replaced),
    Case("files", "part-file-symlink",
         _planted("os.symlink(outside, os.path.join(folder, '.part-' + '0' * 32))"),
         _replaced),
]  # fmt: skip


# ----------------------------------------------------------------- inputs
_BOMBS = {}


def _gzip_bomb(decoded):
    """A .csv.gz of a header, a row, then ``decoded`` bytes of zeros (made once)."""
    import gzip

    from hostile_server import gzip_of_zeros

    if decoded not in _BOMBS:
        _BOMBS[decoded] = gzip.compress(b"ra,dec\n10.68,41.27\n") + gzip_of_zeros(
            decoded
        )
    return _BOMBS[decoded]


def _input(make, call):
    """An input table planted by ``make(tmp) -> name``, then read by ``call``."""

    def prepare(services):
        name = make(services.tmp)
        return f"""
        twomass_vo.conf.max_input_size = 64 << 20
        path = os.path.join(TMP, {name!r})
        batch = TwoMassBatch(archive=irsa(discover=False))
        {call}
        """

    def check(out, services):
        why = refused(out, "ValueError", "refused", str(services.tmp))
        return why + sent(services, "/")

    return prepare, check


def _fifo(name):
    def make(tmp):
        os.mkfifo(tmp / name)
        return name

    return make


def _link(target, name):
    def make(tmp):
        (tmp / name).symlink_to(target)
        return name

    return make


def _sparse(name, size):
    def make(tmp):
        with open(tmp / name, "wb") as fh:
            fh.truncate(size)
        return name

    return make


def _bomb(name):
    def make(tmp):
        (tmp / name).write_bytes(_gzip_bomb(2 << 30))
        return name

    return make


_POSITIONS = "batch.query_positions(path)"
_KEYS = "batch.query_coadd_keys(path)"

INPUTS = [
    Case("inputs", "positions-fifo", *_input(_fifo("pos.csv"), _POSITIONS),
         seconds=30),
    Case("inputs", "positions-ipac-fifo", *_input(_fifo("pos.tbl"), _POSITIONS),
         seconds=30),
    Case("inputs", "positions-dev-zero", *_input(_link("/dev/zero", "pos.csv"),
                                                 _POSITIONS), seconds=60),
    Case("inputs", "keys-dev-zero", *_input(_link("/dev/zero", "keys.tbl"), _KEYS),
         seconds=60),
    Case("inputs", "positions-csv-gz-bomb", *_input(_bomb("pos.csv.gz"), _POSITIONS),
         seconds=120, memory=1 << 30),
    Case("inputs", "positions-8-GiB-sparse", *_input(_sparse("pos.csv", 8 << 30),
                                                     _POSITIONS), seconds=120),
    Case("inputs", "result-table-fifo", *_input(
        _fifo("result.vot"),
        "from twomass_vo.results.result_reader import read_result\n"
        "        read_result(path)  # what 'twomass-vo download FILE' reads"),
         seconds=30),
    Case("inputs", "result-table-8-GiB-sparse", *_input(
        _sparse("result.csv", 8 << 30),
        "from twomass_vo.results.result_reader import read_result\n"
        "        read_result(path)"), seconds=120),
]  # fmt: skip
