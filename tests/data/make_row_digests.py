# Licensed under a 3-clause BSD style license - see LICENSE
"""Write ``row_digests.json``: the digests ``tests/test_same_rows.py`` compares with.

Run by hand, from the repository root, with the package of THIS checkout
importable (an editable install of another checkout would digest that one)::

    PYTHONPATH=. python tests/data/make_row_digests.py

and, for the DaCHS mirror's entries, with the mirror up first::

    eval "$(mirror/dachs/mirror.sh up | grep =)"   # as root; exports the URLs
    PYTHONPATH=. SIA_URL=... python tests/data/make_row_digests.py
    mirror/dachs/mirror.sh down

It runs ``tests/test_same_rows.py`` under pytest with
``TWOMASS_VO_RECORD_ROW_DIGESTS`` set, so the queries, archives and fixtures
are exactly those of the test (the simulated survey in a private store, the
IRSA stand-in on the ``m31_patch``, the mirror when its settings are in the
environment); each test appends its digest instead of comparing. The digests
of the archives that ran replace the stored ones; those of an archive that
was skipped (the mirror, when it is not up) are kept as they were.

Provenance is written into the file, per archive (``runs``): the commit
(``git rev-parse HEAD``), whether ``twomass_vo/`` differed from it (it must
not: the digests are of that commit's code), the date and the versions of
Python, numpy and astropy. Regenerate only at a commit whose behaviour is
the reference (the commit before a reorganisation), never to make a failing
comparison pass.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "row_digests.json"
TEST = "tests/test_same_rows.py"


def git(*args):
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def dumps(out):
    """JSON, one line per part of each digest (diffs name the part that moved)."""

    def block(mapping, indent, inner):
        pad = " " * indent
        items = [f"{pad} {json.dumps(k)}: {inner(v)}" for k, v in mapping.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"

    def compact(value):
        return json.dumps(value, separators=(",", ":"))

    def entry(digest):
        return block(digest, 2, compact)

    parts = {
        "about": json.dumps(out["about"]),
        "runs": block(out["runs"], 1, compact),
        "digests": block(out["digests"], 1, entry),
    }
    return "{\n" + ",\n".join(f' "{k}": {v}' for k, v in parts.items()) + "\n}\n"


def main():
    import astropy
    import numpy

    import twomass_vo

    package = Path(twomass_vo.__file__).resolve().parent
    if package != ROOT / "twomass_vo":
        sys.exit(
            f"twomass_vo is imported from {package}, not from this checkout: "
            f"set PYTHONPATH={ROOT}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "digests.jsonl"
        record.touch()
        env = {**os.environ, "TWOMASS_VO_RECORD_ROW_DIGESTS": str(record)}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"]
        done = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if done.returncode != 0:
            sys.exit(f"pytest failed (exit {done.returncode}): nothing written")
        lines = record.read_text(encoding="utf-8").splitlines()
    fresh = {}
    for line in lines:
        entry = json.loads(line)
        fresh[entry["key"]] = entry["digest"]
    sites = sorted({key.split("/")[0] for key in fresh})
    old = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    digests = {
        key: value
        for key, value in old.get("digests", {}).items()
        if key.split("/")[0] not in sites
    }
    digests.update(fresh)
    clean = git("status", "--porcelain", "--", "twomass_vo") == ""
    run = {
        "commit": git("rev-parse", "HEAD"),
        "twomass_vo_unchanged_from_commit": clean,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "astropy": astropy.__version__,
        "command": f"python tests/data/make_row_digests.py ({TEST}, recording)",
    }
    runs = {**old.get("runs", {}), **dict.fromkeys(sites, run)}
    out = {
        "about": (
            "Column digests of query results (tests/row_digests.py), "
            "compared by tests/test_same_rows.py; written by "
            "tests/data/make_row_digests.py. Keys: archive/query."
        ),
        "runs": dict(sorted(runs.items())),
        "digests": dict(sorted(digests.items())),
    }
    OUT.write_text(dumps(out), encoding="utf-8")
    kept = sorted({key.split("/")[0] for key in digests} - set(sites))
    print(f"{OUT.name}: {len(fresh)} digests recorded for {', '.join(sites)}", end="")
    print(f"; kept as stored: {', '.join(kept)}" if kept else "")
    if not clean:
        print("WARNING: twomass_vo/ differs from the commit: not a reference")


if __name__ == "__main__":
    main()
