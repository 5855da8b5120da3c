# Licensed under a 3-clause BSD style license - see LICENSE
"""What reading IBE's answers strictly costs: `parse_ipac` against astropy's reader.

Run from the project root::

    python benchmarks/bench_ipac.py                 # 150,000 rows
    python benchmarks/bench_ipac.py --rows 30000 --code /other/checkout

An IBE answer of ``--rows`` rows (the IPAC table the IRSA stand-in of
``tests/servers/irsa_standin.py`` writes for a simulated patch, its rows repeated)
is read, in a fresh child process each (so that the peak RSS is its own),
best of ``--rounds``:

* ``parse_ipac``: the package's strict reader
  (`twomass_vo.archives.irsa.ipac_tables`: printable ASCII, rows in line, names
  unique in any case, at most 1,000 columns);
* ``parse_ipac + ibe_file_rows``: and every value checked (dates, integers,
  file names, WCS, footprints), as a look-up does;
* ``astropy ascii.ipac``: ``Table.read(text, format="ascii.ipac",
  guess=False)``, what a user would otherwise write (no checks).

Printed: seconds, the ratio to astropy's reader, and the peak RSS of each.
A header of 100,000 columns (a 900 kB answer) is read too: refused at once.
A read still going after ``--limit`` seconds (default 120) is killed.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import resource, sys, time
what, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path).read()
from astropy.table import Table
from twomass_vo.archives.irsa.ibe import ibe_file_rows, parse_ipac
from twomass_vo.exceptions import ArchiveError
best = None
for _ in range(rounds):
    start = time.perf_counter()
    try:
        if what == "astropy":
            table = Table.read(text, format="ascii.ipac", guess=False)
        else:
            table = parse_ipac(text, "bench")
            if what == "checked":
                ibe_file_rows(table, "bench", "https://irsa.example/data/")
        outcome = f"{len(table)} rows"
    except ArchiveError as exc:
        outcome = f"ArchiveError: {str(exc)[:70]}"
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{best:.3f} {peak:.0f} {outcome}")
"""


def run(code, what, path, rounds, limit):
    env = {**os.environ, "PYTHONPATH": str(code)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, what, str(path), str(rounds)],
            env=env,
            cwd=str(code.parent),
            capture_output=True,
            text=True,
            check=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return float(limit), float("nan"), f"not done after {limit:g} s (killed)"
    seconds, peak, outcome = done.stdout.split(maxsplit=2)
    return float(seconds), float(peak), outcome.strip()


def answer(rows, folder):
    """IBE's IPAC answer of ``rows`` rows (a patch's rows, repeated)."""
    sys.path.insert(0, str(HERE.parent / "tests" / "servers"))
    from irsa_standin import IrsaStandIn

    from twomass_vo.archives import LocalArchive

    patch = LocalArchive.simulate(folder / "patch", "10.6846 41.2689", 0.1)
    table = IrsaStandIn(patch).table
    out = io.StringIO()
    table.write(out, format="ascii.ipac")
    lines = out.getvalue().splitlines()
    header = [line for line in lines if line.startswith("|")]
    data = lines[len(header) :]
    body = (data * (rows // len(data) + 1))[:rows]
    return "\n".join(header + body) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", type=Path, default=HERE.parent)
    parser.add_argument(
        "--limit", type=float, default=120.0, help="seconds before a read is killed"
    )
    args = parser.parse_args()
    code = args.code.resolve()
    with tempfile.TemporaryDirectory(prefix="bench_ipac-") as tmp:
        tmp = Path(tmp)
        path = tmp / "answer.tbl"
        path.write_text(answer(args.rows, tmp))
        print(f"code: {code}")
        print(f"answer: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB")
        base, _, _ = results = run(code, "astropy", path, args.rounds, args.limit)
        rows = [("astropy ascii.ipac", results)]
        for label, what in (
            ("parse_ipac", "parse"),
            ("parse_ipac + ibe_file_rows", "checked"),
        ):
            rows.append((label, run(code, what, path, args.rounds, args.limit)))
        for label, (seconds, peak, outcome) in rows:
            print(
                f"{label:28s} {seconds:7.3f} s  {base / seconds:5.2f}x astropy's "
                f"speed  peak RSS {peak:5.0f} MB  ({outcome})"
            )
        wide = tmp / "wide.tbl"
        wide.write_text("|" + "|".join(f"c{i}" for i in range(100_000)) + "|\n")
        seconds, peak, outcome = run(code, "parse", wide, 1, args.limit)
        print(f"100,000-column header (0.9 MB): {seconds:.3f} s, {outcome}")


if __name__ == "__main__":
    main()
