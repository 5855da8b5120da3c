# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark of the VO path on the local DaCHS mirror (loopback).

Start the mirror first, then run from the project root::

    set -a; eval "$(mirror/dachs/mirror.sh up)"; set +a
    python benchmarks/bench_vo.py [--loop-max 2500]

Compares, on the same positions inside the mirrored patch:

* ``TwoMassBatch(archive=VOArchive(...)).query_positions(...)``: one TAP
  query with the positions uploaded (chunked, async past a size);
* the astroquery-style loop: one SIA v2 query per position
  (``pyvo.dal.SIA2Service.search(pos=(ra, dec, r))``), the candidates then
  decided the same way (a point search returns every image containing it).

Both give the same (position, image) pairs (checked), and the speed-up is
reported as a ratio from the same run; then the upload path's scaling for
10^2 ... 10^5 positions.
"""

import argparse
import os
import time

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from pyvo.dal import SIA2Service

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive, VOArchive

CENTRE = SkyCoord("00h42m44.3s +41d16m08s")


def positions(n, seed=0):
    rng = np.random.default_rng(seed)
    points = CENTRE.directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, 0.2 * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    )
    return Table({"ra": points.ra.deg, "dec": points.dec.deg})


def sia_loop(sia_url, table):
    """One SIA v2 query per position; returns the set of (row, file URL)."""
    service = SIA2Service(sia_url)
    pairs = set()
    for i, (ra, dec) in enumerate(zip(table["ra"], table["dec"], strict=True)):
        result = service.search(pos=(ra * u.deg, dec * u.deg, 1e-6 * u.deg))
        for url, subtype in zip(
            result["access_url"], result["dataproduct_subtype"], strict=True
        ):
            if str(subtype) == "atlas":
                pairs.add((i, str(url)))
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-max", type=int, default=2500)
    args = parser.parse_args()
    env = {
        k: os.environ[k] for k in ("SIA_URL", "TAP_URL", "TAP_TABLE", "ARCHIVE_PATH")
    }
    archive = VOArchive(
        sia_url=env["SIA_URL"], tap_url=env["TAP_URL"], table=env["TAP_TABLE"]
    )
    batch = TwoMassBatch(archive=archive)
    local = TwoMassBatch(archive=LocalArchive(env["ARCHIVE_PATH"]))
    batch.query_positions(positions(10))  # warm: capabilities, connections

    n = args.loop_max
    table = positions(n)
    start = time.perf_counter()
    result = batch.query_positions(table)
    upload = time.perf_counter() - start
    start = time.perf_counter()
    looped = sia_loop(env["SIA_URL"], table)
    loop = time.perf_counter() - start
    uploaded = {
        (int(s), str(url))
        for s, url in zip(result["scntr"], result["access_url"], strict=True)
    }
    expected = local.query_positions(table)
    rows = {
        (int(s), int(k), str(b))
        for s, k, b in zip(
            result["scntr"], result["coadd_key"], result["band"], strict=True
        )
    }
    local_rows = {
        (int(s), int(k), str(b))
        for s, k, b in zip(
            expected["scntr"], expected["coadd_key"], expected["band"], strict=True
        )
    }
    print(
        f"{n} positions, all images: upload path {upload:.2f} s, "
        f"one SIA query per position {loop:.1f} s: {loop / upload:.0f}x faster"
    )
    print(
        f"  (position, file) pairs: upload {len(uploaded)}, SIA loop {len(looped)}, "
        f"differing {len(uploaded ^ looped)} (the loop's 1e-6 deg circles also "
        "touch images whose edge passes within 3.6 mas of a position)"
    )
    print(
        f"  rows vs the LocalArchive on the same data: {len(rows)} vs "
        f"{len(local_rows)}, differing {len(rows ^ local_rows)}"
    )

    print("upload path scaling (best=True):")
    for n in (100, 1_000, 10_000, 100_000):
        table = positions(n, seed=n)
        start = time.perf_counter()
        rows = len(batch.query_positions(table, best=True))
        seconds = time.perf_counter() - start
        print(
            f"  {n:>7} positions: {seconds:6.2f} s  ({rows} rows, "
            f"{n / seconds:,.0f} positions/s)"
        )


if __name__ == "__main__":
    main()
