# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark of IrsaArchive's position routes on local stand-ins (loopback).

Start the DaCHS mirror first, then run from the project root::

    set -a; . /tmp/mirror_env; set +a        # or: eval "$(mirror/dachs/mirror.sh up)"
    python benchmarks/bench_irsa.py [--n 2500]

On the same positions inside the mirrored patch, through
``TwoMassBatch(archive=IrsaArchive(...)).query_positions(...)``:

* **ibe-upload**: IBE, one multipart ``POS`` upload per 5,000 positions, on
  the IRSA stand-in of ``tests/servers/irsa_standin.py`` serving the mirror's
  `LocalArchive` (``ARCHIVE_PATH``);
* **tap-upload**: TAP, the positions uploaded to the mirror's TAP (the table
  found in ``TAP_SCHEMA`` first);
* **sia-per-position**: one SIA v2 request per position to the mirror's
  SIA v2 service (the route taken only when neither TAP nor IBE is there).

All three must give the same (position, image, band) rows as the
`LocalArchive` itself (also timed, as the floor without HTTP). Times and
the ratios to the per-position route are printed from the same run, with
the peak Python memory of each route (tracemalloc). The stand-in runs in its
own process (as the mirror does).
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive

CENTRE = SkyCoord("00h42m44.3s +41d16m08s")
MIRROR_COLUMNS = {
    "image": "image",
    "band": "band",
    "image_type": "image_type",
    "s_region": "s_region",
}


STANDIN = Path(__file__).resolve().parents[1] / "tests" / "servers" / "irsa_standin.py"


def _standin_module():
    if str(STANDIN.parent) not in sys.path:  # its quiet_http base beside it
        sys.path.insert(0, str(STANDIN.parent))
    spec = importlib.util.spec_from_file_location("irsa_standin", STANDIN)
    module = importlib.util.module_from_spec(spec)
    sys.modules["irsa_standin"] = module
    spec.loader.exec_module(module)
    return module


def start_standin(path):
    """Run the IRSA stand-in in its own process; return (process, base URL)."""
    process = subprocess.Popen(
        [sys.executable, str(STANDIN), path],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    line = process.stdout.readline().split()
    if line[:1] != ["PORT"]:
        process.kill()
        sys.exit("the IRSA stand-in did not start")
    return process, f"http://127.0.0.1:{line[1]}"


def positions(n, seed=0):
    rng = np.random.default_rng(seed)
    points = CENTRE.directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, 0.2 * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    )
    return Table({"ra": points.ra.deg, "dec": points.dec.deg})


def run(name, archive, table):
    batch = TwoMassBatch(archive=archive)
    tracemalloc.start()
    start = time.perf_counter()
    result = batch.query_positions(table)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pairs = set(
        zip(
            result["scntr"].tolist(),
            result["ordate"].tolist(),
            result["hemisphere"].tolist(),
            result["scanno"].tolist(),
            result["image"].tolist(),
            result["band"].tolist(),
            strict=True,
        )
    )
    print(
        f"{name:<18} {seconds:8.2f} s  {len(result):6d} rows  "
        f"peak {peak / 2**20:6.1f} MiB  route {result.meta.get('route')!r}"
    )
    return seconds, pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2500, help="positions (2500)")
    args = parser.parse_args()
    env = {k: os.environ.get(k) for k in ("SIA_URL", "TAP_URL", "TAP_TABLE")}
    env["ARCHIVE_PATH"] = os.environ.get("ARCHIVE_PATH")
    if not all(env.values()):
        sys.exit("set SIA_URL, TAP_URL, TAP_TABLE and ARCHIVE_PATH (the DaCHS mirror)")
    sia_endpoint = env["SIA_URL"].rstrip("/") + "/siap2.xml"
    table = positions(args.n)
    module = _standin_module()
    process, base = start_standin(env["ARCHIVE_PATH"])
    ibe_url, data_root, tap_url = (
        base + module.SEARCH,
        base + module.DATA,
        base + "/tap",
    )
    try:
        ibe = IrsaArchive(
            sia_url="", tap_url=tap_url, ibe_url=ibe_url, data_url_root=data_root
        )
        tap = IrsaArchive(
            sia_url="",
            tap_url=env["TAP_URL"],
            table=env["TAP_TABLE"],
            columns=MIRROR_COLUMNS,
            ibe_url=ibe_url,
            data_url_root=data_root,
        )
        sia = IrsaArchive(
            sia_url=sia_endpoint,
            tap_url=tap_url,
            ibe_url="",
            data_url_root=data_root,
            collection="",  # the mirror has no collection constraint
            resolve_coadd_keys=False,  # no TAP table, no IBE: keys stay surrogate
        )
        local = LocalArchive(env["ARCHIVE_PATH"])
        print(f"{args.n} positions within 0.2 deg of M31, mirrored patch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for archive in (ibe, tap, sia, local):  # warm-up: imports, discovery
                TwoMassBatch(archive=archive).query_positions(positions(3, seed=1))
            t_local, p_local = run("local (no HTTP)", local, table)
            t_ibe, p_ibe = run("ibe-upload", ibe, table)
            t_tap, p_tap = run("tap-upload", tap, table)
            t_sia, p_sia = run("sia-per-position", sia, table)
        assert p_ibe == p_tap == p_sia == p_local, "the routes disagree"
        print("same (position, image, band) pairs on every route: yes")
        print(f"sia-per-position / ibe-upload: {t_sia / t_ibe:6.1f}x")
        print(f"sia-per-position / tap-upload: {t_sia / t_tap:6.1f}x")
        print(f"tap-upload / ibe-upload:       {t_tap / t_ibe:6.2f}x")
        print(f"ibe-upload / local (no HTTP):  {t_ibe / t_local:6.1f}x")
        n_ibe = len(ibe.payload_points(table["ra"], table["dec"]))
        n_tap = len(tap.payload_points(table["ra"], table["dec"]))
        print(
            f"requests: ibe {n_ibe} IBE upload(s); tap {n_tap} TAP query(ies); "
            f"sia {args.n} SIA v2 requests"
        )
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
