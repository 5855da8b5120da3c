# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark of the VO upload route on the local DaCHS mirror (loopback).

Start the mirror first, then run from the project root::

    set -a; . /tmp/mirror_env; set +a       # or: eval "$(mirror/dachs/mirror.sh up)"
    python benchmarks/bench_vo.py [--baseline DIR] [--loop-max 2500]

``--baseline DIR``: a checkout of an earlier version of the package (e.g.
``git worktree add /tmp/base d4ae316``, or ``git archive d4ae316 | tar -x -C
/tmp/base``) measured side by side with this one, in the same run.

Every measurement of the package runs in a fresh Python process (so that its
peak memory, ``ru_maxrss``, is its own) which prints its time, peak memory
and a digest of its rows; equal digests mean the same rows. ``--repeat N``:
the median time of N such runs.

1. 10^4 positions, all images: this version vs the baseline (time ratio, peak
   memory, same rows).
2. 2,500 positions with the best image: ``TwoMassBatch(archive=VOArchive(...))
   .query_positions(..., best=True)`` vs what a user would write by hand: one
   ``pyvo.dal.SIA2Service.search(pos=(ra, dec, r))`` per position, then the
   Atlas J file of each candidate set kept if its ``s_region`` polygon
   (`regions.PolygonSphericalSkyRegion`) contains the position, and the most
   centred one chosen (edge distances in a tangent-plane
   `astropy.wcs.WCS`); reported: ratio and how many choices differ.
3. Scaling of the upload route (best image) for 10^2 ... 10^5 positions (the
   baseline too with ``--baseline-scaling``): time, peak memory, positions per
   second, and the log-log slope of time vs positions.
"""

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CENTRE = ("00h42m44.3s +41d16m08s", 10.684583, 41.268889)
RADIUS = 0.2  # degrees: inside the mirrored M31 patch


def positions(n, seed=0):
    """``n`` random positions in a 0.2 degree circle around M31 (a Table)."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    rng = np.random.default_rng(seed)
    points = SkyCoord(CENTRE[0]).directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, RADIUS * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    )
    return Table({"ra": points.ra.deg, "dec": points.dec.deg})


def mirror_env():
    names = ("SIA_URL", "TAP_URL", "TAP_TABLE")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        sys.exit(f"set {', '.join(missing)} first (the DaCHS mirror's settings)")
    return {n: os.environ[n] for n in names}


# ------------------------------------------------------------ child process
def child(n, best, seed):
    """Time one query_positions in this process; print a JSON line."""
    from twomass_vo import TwoMassBatch
    from twomass_vo.archives import VOArchive

    env = mirror_env()
    archive = VOArchive(
        sia_url=env["SIA_URL"], tap_url=env["TAP_URL"], table=env["TAP_TABLE"]
    )
    batch = TwoMassBatch(archive=archive)
    table = positions(n, seed)
    batch.query_positions(positions(10, seed + 1))  # capabilities, connections
    start = time.perf_counter()
    result = batch.query_positions(table, best=best)
    seconds = time.perf_counter() - start
    rows = sorted(
        zip(
            np.asarray(result["scntr"]).tolist(),
            np.asarray(result["coadd_key"]).tolist(),
            np.asarray(result["band"]).astype(str).tolist(),
            np.asarray(result["best"]).tolist(),
            np.asarray(result["access_url"]).astype(str).tolist(),
            strict=True,
        )
    )
    best_urls = {  # the chosen set's Atlas J file, per input row (scntr)
        scntr: url for scntr, _, band, is_best, url in rows if is_best and band == "J"
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": len(rows),
                "digest": hashlib.sha256(repr(rows).encode()).hexdigest()[:16],
                "best": best_urls if n <= 10_000 else {},
            }
        )
    )


#: Runs per measurement of the package (the median time is reported).
REPEAT = [1]


def measure(code, n, best, seed):
    """Median of ``REPEAT`` runs of `measure_once` (largest peak memory)."""
    runs = [measure_once(code, n, best, seed) for _ in range(REPEAT[0])]
    median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    if len({r["digest"] for r in runs}) != 1:
        sys.exit(f"different rows from the same code in repeated runs ({code}, {n})")
    return {**median, "peak_mb": max(r["peak_mb"] for r in runs)}


def measure_once(code, n, best, seed):
    """Run `child` with the package at ``code``; return its JSON answer."""
    env = dict(os.environ, PYTHONPATH=str(code))
    args = [sys.executable, str(Path(__file__).resolve()), "--child", str(n)]
    args += ["--seed", str(seed)] + (["--best"] if best else [])
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"measurement failed ({code}, {n}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------- the hand-written loop
def _corners(s_region):
    """RA, Dec of the vertices of an STC-S ``POLYGON [ICRS] ra dec ...``."""
    words = str(s_region).split()
    numbers = [float(w) for w in words if w[0].isdigit() or w[0] in "+-."]
    return np.array(numbers[0::2]), np.array(numbers[1::2])


def sia_loop_best(sia_url, table):
    """One SIA v2 query per position, selection on the client; best set's URL.

    Returns ``{row: access_url of the chosen Atlas J file}``.
    """
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.wcs import WCS
    from pyvo.dal import SIA2Service
    from regions import PolygonSphericalSkyRegion

    service = SIA2Service(sia_url)
    chosen = {}
    for i, (ra, dec) in enumerate(zip(table["ra"], table["dec"], strict=True)):
        result = service.search(pos=(ra * u.deg, dec * u.deg, 1e-6 * u.deg))
        point = SkyCoord(ra, dec, unit="deg")
        best = None
        for row in result:
            if str(row["dataproduct_subtype"]) != "atlas":
                continue
            if not float(row["em_min"]) < 1.2e-6:  # J: 1.07-1.41 um; H from 1.44
                continue
            cra, cdec = _corners(row["s_region"])
            region = PolygonSphericalSkyRegion(SkyCoord(cra, cdec, unit="deg"))
            centre = SkyCoord(float(row["s_ra"]), float(row["s_dec"]), unit="deg")
            if not region.contains(centre):  # regions wants the other winding
                cra, cdec = cra[::-1], cdec[::-1]
                region = PolygonSphericalSkyRegion(SkyCoord(cra, cdec, unit="deg"))
            if not region.contains(point):
                continue
            wcs = WCS(naxis=2)  # tangent plane at the point, arcsec
            wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
            wcs.wcs.crval = [ra, dec]
            wcs.wcs.cdelt = [-1 / 3600, 1 / 3600]
            ring_ra, ring_dec = np.append(cra, cra[0]), np.append(cdec, cdec[0])
            x, y = wcs.all_world2pix(ring_ra, ring_dec, 0)
            ex, ey = np.diff(x), np.diff(y)
            distance = np.min(np.abs(ex * y[:-1] - ey * x[:-1]) / np.hypot(ex, ey))
            if best is None or distance > best[0]:
                best = (distance, str(row["access_url"]))
        if best is not None:
            chosen[i] = best[1]
    return chosen


# ------------------------------------------------------------------- report
def line(label, got):
    return (
        f"  {label:<22} {got['seconds']:7.2f} s  peak {got['peak_mb']:6.0f} MB  "
        f"{got['rows']} rows  digest {got['digest']}"
    )


def scaling(code, sizes, label):
    print(f"upload route scaling, best image ({label}):")
    times = []
    for n in sizes:
        got = measure(code, n, True, seed=n)
        times.append(got["seconds"])
        print(
            f"  {n:>7} positions: {got['seconds']:7.2f} s  peak "
            f"{got['peak_mb']:6.0f} MB  {got['rows']:>7} rows  "
            f"{n / got['seconds']:8,.0f} positions/s"
        )
    if len(sizes) > 1:
        slope = np.polyfit(np.log10(sizes), np.log10(times), 1)[0]
        steps = [
            np.log10(times[k + 1] / times[k]) / np.log10(sizes[k + 1] / sizes[k])
            for k in range(len(sizes) - 1)
        ]
        print(
            f"  log-log slope {slope:.2f} (1 = linear); per decade: "
            + ", ".join(f"{s:.2f}" for s in steps)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="earlier package checkout")
    parser.add_argument("--baseline-scaling", action="store_true")
    parser.add_argument("--loop-max", type=int, default=2500)
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--best", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child, args.best, args.seed)
    env = mirror_env()
    REPEAT[0] = max(1, args.repeat)
    here = HERE.parent
    sizes = [int(s) for s in args.sizes.split(",")]

    parts = {int(p) for p in args.parts.split(",")}
    if 1 in parts:
        compare_10k(here, args.baseline)
    if 2 in parts:
        compare_loop(here, args.baseline, args.loop_max, env["SIA_URL"])
    if 3 in parts:
        print("3.", end=" ")
        scaling(here, sizes, "this version")
        if args.baseline is not None and args.baseline_scaling:
            scaling(args.baseline, sizes, "baseline")


def compare_10k(here, baseline):
    print("1. 10^4 positions, all images")
    new = measure(here, 10_000, False, seed=1)
    print(line("this version", new))
    if baseline is not None:
        old = measure(baseline, 10_000, False, seed=1)
        print(line("baseline", old))
        print(
            f"  {old['seconds'] / new['seconds']:.1f}x faster, peak memory "
            f"{new['peak_mb'] / old['peak_mb']:.2f} of the baseline's, same rows: "
            f"{new['digest'] == old['digest']}"
        )


def compare_loop(here, baseline, n, sia_url):
    print(f"2. {n} positions, best image")
    new = measure(here, n, True, seed=2)
    print(line("this version", new))
    if baseline is not None:
        old = measure(baseline, n, True, seed=2)
        print(line("baseline", old))
    start = time.perf_counter()
    looped = sia_loop_best(sia_url, positions(n, 2))
    loop = time.perf_counter() - start
    print(f"  SIA loop + regions/WCS {loop:7.2f} s")
    ours = {int(k): v for k, v in new["best"].items()}  # scntr: the input row
    differ = sum(ours.get(i) != looped.get(i) for i in set(ours) | set(looped))
    print(
        f"  {loop / new['seconds']:.0f}x faster than the loop"
        + (f" (baseline: {loop / old['seconds']:.0f}x)" if baseline is not None else "")
        + f"; positions with an image: {len(ours)} vs {len(looped)}, "
        f"different image chosen: {differ}"
    )


if __name__ == "__main__":
    main()
