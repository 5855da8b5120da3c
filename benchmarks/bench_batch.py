# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmarks of the five-modes issue, on the simulated all-sky archive.

Run from the project root (after ``pip install -e ".[test,bench]"``)::

    python benchmarks/bench_batch.py            # everything (~2 minutes)
    python benchmarks/bench_batch.py --quick    # skips the 10^6-position run

What is measured (wall-clock, best of a few runs where cheap, warm caches):

* building the all-sky index into a new folder (once per machine);
* ``query_positions`` with 2,500 positions and ``best=True``; with 10^6
  positions in a child process that reports its peak memory (ru_maxrss);
* the best image over 10^6 (position, image) pairs with the numpy route
  (footprints from the index's stored geometry, `Footprints.edge_distance`
  and the per-position choice), against the per-object
  routes on a sample of the same pairs, scaled to 10^6: ``regions``
  (`PolygonSphericalSkyRegion.contains` per pair, plus an astropy WCS per
  pair for the edge distance, since regions has no distance) and
  ``spherical-geometry`` (`SphericalPolygon.contains_lonlat` per pair; it
  has no point-to-arc distance either, so its figure covers containment only
  and flatters it);
* ``query_region`` with a 7° circle for each ``intersect``.

Ratios, not absolute times, are what compare across machines.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.table import Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import SimulatedArchive
from twomass_vo.exceptions import NoResultsWarning
from twomass_vo.geometry import Footprints, radec_to_xyz, xyz_to_radec
from twomass_vo.planner import best_flags

M31 = "00h42m44.3s +41d16m08s"


def timed(func, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def random_positions(n, seed=0):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


def bench_build():
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        SimulatedArchive.build(Path(tmp) / "sim")
        return time.perf_counter() - start


def bench_positions(batch, n, repeat=3):
    ra, dec = random_positions(n)
    table = Table({"ra": ra, "dec": dec})
    seconds, result = timed(lambda: batch.query_positions(table, best=True), repeat)
    return seconds, len(result)


def child_million(n):
    """Run in a child process: 10^6 positions, report time and peak memory."""
    batch = TwoMassBatch(archive="sim")
    batch.query_positions(Table({"ra": [10.0], "dec": [41.0]}), best=True)  # warm
    seconds, rows = bench_positions(batch, n, repeat=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    # (the whole child: interpreter, imports and mapped index pages included)
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_bytes": peak}))


def pairs_for_best(sim, n_pairs):
    """About n_pairs (position, image) pairs with the position inside the image."""
    ra, dec = random_positions(int(n_pairs / 1.3), seed=7)
    sets = sim.find_points(ra, dec)
    points = radec_to_xyz(ra, dec)[sets.query_index]
    inside = Footprints(sets.corners).contains(points)
    sets = sets.take(inside)
    return sets, points[inside]


def numpy_best(sim, sets, points):
    """Best image with the footprints of the index's stored geometry."""
    return best_given_footprints(sim.set_footprints(sets), sets, points)


def best_given_footprints(footprints, sets, points):
    distance = footprints.edge_distance(points)
    return best_flags(sets.query_index, distance, sets.coadd_key)


def regions_route(sim, sets, points, sample):
    """Per pair: regions spherical polygon contains + astropy WCS edge distance."""
    from astropy.coordinates import SkyCoord
    from astropy.wcs import WCS
    from regions import PolygonSphericalSkyRegion

    ra, dec = xyz_to_radec(points[:sample])
    col = sim.columns
    start = time.perf_counter()
    for i in range(sample):
        footprint = Footprints(sets.corners[i])
        cra, cdec = footprint.corners_radec()
        region = PolygonSphericalSkyRegion(SkyCoord(cra[0], cdec[0], unit="deg"))
        point = SkyCoord(ra[i], dec[i], unit="deg")
        region.contains(point)
        row = sets.ref[i]
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        wcs.wcs.crval = [col["crval1"][row], col["crval2"][row]]
        wcs.wcs.crpix = [col["crpix1"][row], col["crpix2"][row]]
        wcs.wcs.cdelt = [col["cdelt1"][row], col["cdelt2"][row]]
        wcs.wcs.crota = [0, col["crota2"][row]]
        x, y = wcs.all_world2pix(ra[i], dec[i], 1)
        min(x - 0.5, 512.5 - x, y - 0.5, 1024.5 - y)
    return (time.perf_counter() - start) / sample


def spherical_geometry_route(sets, points, sample):
    """Per pair: spherical-geometry polygon + containment (no distance available)."""
    from spherical_geometry.polygon import SphericalPolygon

    ra, dec = xyz_to_radec(points[:sample])
    cra, cdec = Footprints(sets.corners[:sample]).corners_radec()
    start = time.perf_counter()
    for i in range(sample):
        polygon = SphericalPolygon.from_radec(
            np.append(cra[i], cra[i][0]), np.append(cdec[i], cdec[i][0])
        )
        polygon.contains_lonlat(ra[i], dec[i])
    return (time.perf_counter() - start) / sample


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10^6 positions")
    parser.add_argument("--child-million", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_million:
        child_million(args.child_million)
        return

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    build = bench_build()
    print(f"build all-sky index (1,373,813 sets): {build:.1f} s   (target <= 120 s)")

    batch = TwoMassBatch(archive="sim")
    sim = batch.archive
    batch.query_positions(Table({"ra": [10.0], "dec": [41.0]}), best=True)  # warm
    seconds, rows = bench_positions(batch, 2500)
    print(
        f"query_positions 2,500 positions best=True: {seconds:.3f} s, {rows} rows "
        f"(target <= 1 s)"
    )

    if not args.quick:
        out = subprocess.run(
            [sys.executable, __file__, "--child-million", "1000000"],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            "query_positions 1,000,000 positions best=True: "
            f"{result['seconds']:.1f} s, "
            f"{result['rows']} rows, "
            f"peak memory {result['peak_bytes'] / 2**30:.2f} GiB "
            f"(targets <= 60 s, <= 1.2 GB; old/new ratio: bench_local_scaling.py)"
        )

    sets, points = pairs_for_best(sim, 1_000_000)
    n_pairs = len(sets)
    seconds, _ = timed(lambda: numpy_best(sim, sets, points))
    stored, footprints = timed(lambda: sim.set_footprints(sets))
    build, _ = timed(lambda: Footprints(sets.corners))
    decide, _ = timed(lambda: best_given_footprints(footprints, sets, points))
    print(
        f"best image, numpy, {n_pairs:,} (position, image) pairs: {seconds:.3f} s "
        f"= footprints from the index's stored geometry {stored:.3f} s + edge "
        f"distances and argmax {decide:.3f} s (target <= 0.5 s; footprints "
        f"built from corners instead: {build:.3f} s)"
    )
    per_pair = seconds / n_pairs
    for name, route in (
        (
            "regions (spherical polygon contains + WCS distance)",
            lambda: regions_route(sim, sets, points, 300),
        ),
        (
            "spherical-geometry (contains only)",
            lambda: spherical_geometry_route(sets, points, 1000),
        ),
    ):
        each = route()
        print(
            f"  per-object {name}: {each * 1e6:.0f} us/pair -> "
            f"{each * n_pairs:.0f} s for {n_pairs:,} pairs; numpy is "
            f"{each / per_pair:,.0f}x faster"
        )

    for intersect in ("overlaps", "covers", "enclosed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoResultsWarning)  # covers at 7°: empty
            seconds, rows = timed(
                lambda i=intersect: len(batch.query_region(M31, 7.0, intersect=i))
            )
        print(
            f"query_region 7° {intersect}, all bands: {seconds * 1000:.1f} ms, "
            f"{rows} rows "
            f"(target <= 0.5 s)"
        )


if __name__ == "__main__":
    main()
