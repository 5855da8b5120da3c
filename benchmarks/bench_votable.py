# Licensed under a 3-clause BSD style license - see LICENSE
"""Writing a large result: BINARY2 VOTable against FITS and astropy's writers.

Run from the project root (the simulated survey is built on first use)::

    python benchmarks/bench_votable.py              # 300,000 rows, 3 runs each
    python benchmarks/bench_votable.py --rows 100000 --repeat 1

A result of ``--rows`` rows (a 7-degree region on M31, its rows repeated)
is written, each way in a child process of its own (so that its peak memory
is its own), best of ``--repeat`` runs:

* ``fits``: `~twomass_vo.results.result_writer.write_table` to ``.fits`` (the
  reference of the issue: at most 3x its time for BINARY2);
* ``binary2``: ``write_table`` to ``.vot`` with ``votable_format="binary2"``
  (the numpy stream of `twomass_vo.results.votable_binary`; ``auto`` chooses it for
  large results);
* ``tabledata``: ``write_table`` with ``votable_format="tabledata"`` (what
  ``-o x.vot`` wrote before);
* ``astropy tabledata`` and ``astropy binary2``: what a user would otherwise
  write, ``Table.write(path, format="votable")`` with
  ``tabledata_format`` ``"tabledata"`` / ``"binary2"`` (no query metadata).

Printed per way: seconds, the ratio to ``fits`` and to ``astropy
tabledata``, the file size, and the peak memory of the child (``ru_maxrss``)
with its growth over the table held before writing.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
from twomass_vo import TwoMassBatch
from twomass_vo.results.result_writer import write_table

way, rows, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
region = TwoMassBatch(archive="sim").query_region("00h42m44.3s +41d16m08s", 7)
table = region[np.resize(np.arange(len(region)), rows)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
folder = Path(tempfile.mkdtemp())
path = folder / ("t.fits" if way == "fits" else "t.vot")
from astropy.table import Table
plain = Table(table, copy=False)  # what a user holds: an astropy Table
plain.meta = {}

def write():
    path.unlink(missing_ok=True)
    if way == "fits":
        write_table(table, path)
    elif way in ("binary2", "tabledata"):
        write_table(table, path, votable_format=way)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain.write(path, format="votable", tabledata_format=way.split()[1])

best = float("inf")
for _ in range(repeat):
    start = time.perf_counter()
    write()
    best = min(best, time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": best, "bytes": path.stat().st_size,
                  "peak_mb": peak / 1024, "growth_mb": (peak - before) / 1024}))
path.unlink()
folder.rmdir()
"""

WAYS = ("fits", "binary2", "tabledata", "astropy tabledata", "astropy binary2")


def run(way, rows, repeat):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, way, str(rows), str(repeat)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{way}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=WAYS)
    args = parser.parse_args(argv)
    results = {way: run(way, args.rows, args.repeat) for way in args.ways}
    fits = results.get("fits", {}).get("seconds")
    astropy = results.get("astropy tabledata", {}).get("seconds")
    print(f"{args.rows} rows, best of {args.repeat}")
    print(
        f"{'way':18} {'seconds':>8} {'x fits':>7} {'x astropy':>9} {'MB':>7} "
        f"{'peak MB':>8} {'growth MB':>9}"
    )
    for way, r in results.items():
        vs_fits = f"{r['seconds'] / fits:.2f}" if fits else "-"
        vs_astropy = f"{r['seconds'] / astropy:.3f}" if astropy else "-"
        print(
            f"{way:18} {r['seconds']:8.2f} {vs_fits:>7} {vs_astropy:>9} "
            f"{r['bytes'] / 1e6:7.1f} {r['peak_mb']:8.0f} {r['growth_mb']:9.0f}"
        )
    return results


if __name__ == "__main__":
    main()
