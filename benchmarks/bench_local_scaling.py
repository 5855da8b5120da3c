# Licensed under a 3-clause BSD style license - see LICENSE
"""Scaling of ``query_positions`` on the simulated all-sky archive, old against new.

Run from the project root::

    TWOMASS_VO_SIM_PATH=/tmp/sim-new python benchmarks/bench_local_scaling.py \\
        --old-python /path/to/old-venv/bin/python --old-sim-path /tmp/sim-old

Every measurement runs in a child process of its own, which reports its wall
time and its peak resident memory (``VmHWM`` of ``/proc/self/status``: the
whole process, interpreter, imports and mapped index pages included):

* ``query_positions`` with best image for 10^3, 10^4, 10^5 and 10^6 random
  positions over the whole sky (after one warm-up query), with this checkout
  and, if ``--old-python`` is given, with another installation of the
  package (e.g. an older commit in a second virtual environment, with its own
  index folder); the ratio old/new is printed, and whether both gave the same
  rows (a digest of every column; URLs without their folder prefix);
* the log-log slope of time and memory against the number of positions;
* the cold build of the all-sky index (1,373,813 sets) into a new folder:
  time and peak memory;
* the best image over about 10^6 (position, image) pairs: footprints from the
  index's stored geometry (this checkout) against footprints built from the
  corners, plus the edge distances and the per-position choice.

Ratios, not absolute times, are what compare across machines; the machine's
load matters (each side runs in turn, ``--repeat`` times, best kept).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def peak_bytes():
    """Peak resident memory of this process (VmHWM), bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def random_positions(n, seed=0):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


def digest(table, files_uri):
    """Digest of every column of a result (URLs without the store's folder)."""
    h = hashlib.sha256()
    for name in table.colnames:
        values = np.asarray(table[name])
        if values.dtype.kind in "SU":
            text = values.astype("U")
            if name == "access_url" and files_uri:
                text = np.char.replace(text, files_uri, "")
            h.update(name.encode())
            h.update("\n".join(text.tolist()).encode())
        else:
            h.update(name.encode())
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def child_positions(n):
    """Child process: one warm-up, then n positions with best image."""
    from astropy.table import Table

    from twomass_vo import TwoMassBatch

    batch = TwoMassBatch(archive="sim")
    batch.query_positions(Table({"ra": [10.0], "dec": [41.0]}), best=True)  # warm
    ra, dec = random_positions(n)
    positions = Table({"ra": ra, "dec": dec})
    start = time.perf_counter()
    result = batch.query_positions(positions, best=True)
    seconds = time.perf_counter() - start
    files_uri = getattr(batch.archive, "files_uri", "")
    out = {
        "seconds": seconds,
        "rows": len(result),
        "peak_bytes": peak_bytes(),
        "digest": digest(result, files_uri),
    }
    print(json.dumps(out))


def child_build(path):
    """Child process: cold build of the all-sky index into ``path``."""
    from twomass_vo.archives import SimulatedArchive

    start = time.perf_counter()
    SimulatedArchive.build(path)
    print(
        json.dumps({"seconds": time.perf_counter() - start, "peak_bytes": peak_bytes()})
    )


def child_best(n_pairs):
    """Child process: the best image over about n_pairs (position, image) pairs."""
    from twomass_vo.archives import SimulatedArchive
    from twomass_vo.geometry import Footprints, radec_to_xyz
    from twomass_vo.planner import best_flags

    sim = SimulatedArchive.default()
    ra, dec = random_positions(int(n_pairs / 1.3), seed=7)
    sets, _ = sim.contain_points(ra, dec)
    points = radec_to_xyz(ra, dec)[sets.query_index]
    sets = sets.take(np.arange(len(sets)))  # the pairs, as a look-up returns them

    def timed(func, repeat=3):
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            result = func()
            best = min(best, time.perf_counter() - start)
        return best, result

    def decide(footprints):
        distance = footprints.edge_distance(points)
        return best_flags(sets.query_index, distance, sets.coadd_key)

    stored, flags = timed(lambda: decide(sim.set_footprints(sets)))
    rebuilt, again = timed(lambda: decide(Footprints(sets.corners)))
    print(
        json.dumps(
            {
                "pairs": len(sets),
                "stored": stored,
                "rebuilt": rebuilt,
                "same": bool(np.array_equal(flags, again)),
            }
        )
    )


def run_child(python, args, *, env, cwd):
    out = subprocess.run(
        [python, str(Path(__file__).resolve()), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def side_env(sim_path, pythonpath):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TWOMASS_VO_SIM_PATH"] = str(sim_path)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def slope(sizes, values):
    """Least-squares slope of log(values) against log(sizes)."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--old-python",
        help="Python of a second installation (e.g. an older commit) to compare with",
    )
    parser.add_argument(
        "--old-sim-path", help="index folder for the second installation"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--child-positions", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-build", help=argparse.SUPPRESS)
    parser.add_argument("--child-best", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_positions:
        return child_positions(args.child_positions)
    if args.child_build:
        return child_build(args.child_build)
    if args.child_best:
        return child_best(args.child_best)

    root = Path(__file__).resolve().parent.parent
    new_sim = os.environ.get("TWOMASS_VO_SIM_PATH")
    if not new_sim:
        parser.error("set TWOMASS_VO_SIM_PATH to this checkout's index folder")
    new = {"python": sys.executable, "env": side_env(new_sim, str(root)), "cwd": root}
    sides = {"new": new}
    if args.old_python:
        if not args.old_sim_path:
            parser.error("--old-python needs --old-sim-path (its own index folder)")
        # run outside any checkout, so that the installation's own code is used
        sides["old"] = {
            "python": args.old_python,
            "env": side_env(args.old_sim_path, None),
            "cwd": tempfile.gettempdir(),
        }
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for side in sides.values():  # build or open each index once, untimed
        run_child(side["python"], ["--child-positions", "10"], **_kw(side))

    results = {name: [] for name in sides}
    print(
        f"{'positions':>10} {'side':>4} {'seconds':>8} {'rows':>9} "
        f"{'peak MiB':>9} {'old/new':>8} same rows"
    )
    for n in args.sizes:
        runs = {}
        for name, side in sides.items():
            best = None
            for _ in range(args.repeat):
                r = run_child(
                    side["python"], ["--child-positions", str(n)], **_kw(side)
                )
                if best is None or r["seconds"] < best["seconds"]:
                    best = r
            runs[name] = best
            results[name].append(best)
        for name, r in runs.items():
            ratio = same = ""
            if name == "old":
                ratio = f"{r['seconds'] / runs['new']['seconds']:.2f}x"
                same = "yes" if r["digest"] == runs["new"]["digest"] else "NO"
            print(
                f"{n:>10,} {name:>4} {r['seconds']:>8.3f} {r['rows']:>9,} "
                f"{r['peak_bytes'] / 2**20:>9.0f} {ratio:>8} {same}"
            )
    if len(args.sizes) > 1:
        for name, rs in results.items():
            seconds = [r["seconds"] for r in rs]
            peaks = [r["peak_bytes"] for r in rs]
            steps = [
                slope(args.sizes[i : i + 2], seconds[i : i + 2])
                for i in range(len(rs) - 1)
            ]
            print(
                f"{name}: log-log slope, time {slope(args.sizes, seconds):.2f} "
                f"(per decade: {', '.join(f'{s:.2f}' for s in steps)}); "
                f"peak memory {slope(args.sizes, peaks):.2f}"
            )

    if not args.skip_build:
        for name, side in sides.items():
            with tempfile.TemporaryDirectory() as tmp:
                r = run_child(
                    side["python"],
                    ["--child-build", str(Path(tmp) / "sim")],
                    **_kw(side),
                )
            print(
                f"cold index build ({name}): {r['seconds']:.1f} s, peak "
                f"{r['peak_bytes'] / 2**20:.0f} MiB ({r['peak_bytes'] / 1e9:.2f} GB)"
            )

    r = run_child(new["python"], ["--child-best", "1000000"], **_kw(new))
    print(
        f"best image over {r['pairs']:,} (position, image) pairs: "
        f"{r['stored']:.3f} s with the stored geometry, {r['rebuilt']:.3f} s "
        f"building footprints from corners; same flags: {r['same']}"
    )


def _kw(side):
    return {"env": side["env"], "cwd": side["cwd"]}


if __name__ == "__main__":
    main()
