# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark: 60" cutouts around 2,500 positions from IRSA, query and files.

Runs on the IRSA stand-in of ``tests/servers/irsa_standin.py`` (loopback, in its own
process), serving a simulated patch written once into ``--work``::

    python benchmarks/bench_irsa_files.py [--n 2500] [--radius 0.5]

Side by side, each in a fresh child process (wall time, peak RSS), on the
same positions (best image, J/H/Ks, 60 arcsec):

* **package-atlas**: ``query_positions(best=True, size=60)`` on
  `IrsaArchive` (one IBE upload per 5,000 positions), then
  ``download()`` of IBE's cutouts (``?center&size&gzip=false``), 8 workers
  (at most ``conf.max_per_host`` to the host);
* **package-quicklook**: the same with ``image_type="quicklook"``: IBE
  upload, then the SIA v1 CGI for the Quicklook files, one request per sky
  cell; the cutouts are made locally from the (small) Quicklook files;
* **user-loop**: what a user writes today: per position one SIA v2 request
  (pyvo ``SIA2Query``), the most centred image set (smallest separation
  from ``s_ra``/``s_dec``), its three full files opened with
  ``astropy.io.fits.open(url)`` and cut with `astropy.nddata.Cutout2D`;
* **user-pool**: the same loop over a ``ThreadPoolExecutor(8)``.

Printed per contender: query and file times, rows and files written, the
requests and bytes the stand-in sent (its ``/stats``), the peak RSS of the
child, and the ratios to the user loop measured in the same run.
"""

import argparse
import concurrent.futures as cf
import json
import resource
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
from bench_irsa import start_standin  # the stand-in in its own process

CENTRE = (10.6846, 41.2689)
SIZE = 60.0  # arcsec


# ------------------------------------------------------------------- set-up
def make_patch(work, radius):
    from astropy.coordinates import SkyCoord

    from twomass_vo.archives import LocalArchive

    path = Path(work) / f"patch-{radius:g}"
    if (path / "archive.json").is_file():
        return path
    start = time.perf_counter()
    LocalArchive.simulate(path, SkyCoord(*CENTRE, unit="deg"), radius)
    print(f"patch of {radius} deg written in {time.perf_counter() - start:.0f} s")
    return path


def positions(n, radius, seed=0):
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(seed)
    centre = SkyCoord(*CENTRE, unit="deg")
    points = centre.directional_offset_by(
        rng.uniform(0, 360, n) * u.deg,
        (radius - 0.1) * np.sqrt(rng.uniform(0, 1, n)) * u.deg,
    )
    return points.ra.deg, points.dec.deg


def stats(base):
    with urllib.request.urlopen(base + "/stats", timeout=60) as answer:
        return json.load(answer)


# --------------------------------------------------------------- contenders
def package(base, ra, dec, out, image_type):
    from astropy.table import Table

    from twomass_vo import TwoMassBatch, conf
    from twomass_vo.archives.irsa import IrsaArchive

    archive = IrsaArchive(
        sia_url=base + "/SIA",
        tap_url=base + "/tap",
        ibe_url=base + "/ibe/search/twomass/allsky/allsky",
        data_url_root=base + "/ibe/data/twomass/allsky/allsky/",
        sia1_url=base + "/cgi-bin/2MASS/IM/nph-im_sia",
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = TwoMassBatch(archive=archive).query_positions(
            Table({"ra": ra, "dec": dec}), best=True, size=SIZE, image_type=image_type
        )
    query = time.perf_counter() - start
    with conf.set_temp("cache_dir", str(out / "cache")):
        done = table.download(out / "files", max_workers=8, progress=False)
    files = time.perf_counter() - start - query
    ok = int(np.count_nonzero(np.asarray(done["status"]) == "ok"))
    return {
        "query": query,
        "files": files,
        "rows": len(table),
        "written": ok,
        "route": table.meta.get("route"),
    }


def _user_position(sia_url, ra, dec, out, index):
    """One position as a user writes it: SIA v2, best set, 3 files, Cutout2D."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS
    from pyvo.dal import SIA2Query

    coord = SkyCoord(ra, dec, unit="deg")
    found = (
        SIA2Query(sia_url, pos=(coord, 1 * u.arcsec), collection="twomass_allsky")
        .execute()
        .to_table()
    )
    if not len(found):
        return 0
    sep = coord.separation(SkyCoord(found["s_ra"], found["s_dec"], unit="deg"))
    best = str(found["access_url"][int(np.argmin(sep))])
    folder, name = best.rsplit("/", 1)
    written = 0
    for band in "jhk":
        url = f"{folder}/{band}{name[1:]}"
        with fits.open(url, cache=False) as hdul:
            cut = Cutout2D(
                hdul[0].data, coord, SIZE * u.arcsec, wcs=WCS(hdul[0].header)
            )
            hdu = fits.PrimaryHDU(cut.data, cut.wcs.to_header())
            hdu.writeto(out / f"{index:05d}_{band}.fits", overwrite=True)
            written += 1
    return written


def user(base, ra, dec, out, workers):
    out = out / "files"
    out.mkdir(parents=True, exist_ok=True)
    sia_url = base + "/SIA"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if workers == 1:
            counts = [
                _user_position(sia_url, a, d, out, i)
                for i, (a, d) in enumerate(zip(ra, dec, strict=True))
            ]
        else:
            with cf.ThreadPoolExecutor(workers) as pool:
                counts = list(
                    pool.map(
                        lambda i: _user_position(sia_url, ra[i], dec[i], out, i),
                        range(len(ra)),
                    )
                )
    return {
        "query": float("nan"),
        "files": time.perf_counter() - start,
        "rows": int(sum(counts)),
        "written": int(sum(counts)),
        "route": "sia2",
    }


CONTENDERS = {
    "package-atlas": lambda b, ra, dec, out: package(b, ra, dec, out, "atlas"),
    "package-quicklook": lambda b, ra, dec, out: package(b, ra, dec, out, "quicklook"),
    "user-loop": lambda b, ra, dec, out: user(b, ra, dec, out, 1),
    "user-pool": lambda b, ra, dec, out: user(b, ra, dec, out, 8),
}


def peak_rss_mb():
    """This process's peak resident memory (VmHWM: its own, not its parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args):
    """Run one contender (in its own process) and print its figures as JSON."""
    ra, dec = positions(args.n, args.radius)
    out = Path(args.work) / args.child
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = CONTENDERS[args.child](args.base, ra, dec, out)
    result["peak_rss_mb"] = peak_rss_mb()
    size = sum(p.stat().st_size for p in (out / "files").rglob("*.fits"))
    result["written_mb"] = size / 1e6
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2500, help="positions (2500)")
    parser.add_argument("--radius", type=float, default=0.5, help="patch, deg (0.5)")
    parser.add_argument("--work", default="/tmp/twomass_vo_bench_irsa_files")
    parser.add_argument(
        "--only", nargs="*", default=list(CONTENDERS), help="contenders to run"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    patch = make_patch(args.work, args.radius)
    process, base = start_standin(patch)
    results = {}
    try:
        for name in args.only:
            before = stats(base)
            command = [
                sys.executable,
                __file__,
                "--child",
                name,
                "--base",
                base,
                "--n",
                str(args.n),
                "--radius",
                str(args.radius),
                "--work",
                args.work,
            ]
            start = time.perf_counter()
            answer = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if answer.returncode:
                print(answer.stderr)
                sys.exit(f"{name} failed")
            result = json.loads(answer.stdout.strip().splitlines()[-1])
            after = stats(base)
            moved = {
                k: (v[0] - before.get(k, (0, 0))[0], v[1] - before.get(k, (0, 0))[1])
                for k, v in after.items()
            }
            result["wall"] = wall
            result["requests"] = sum(c for c, _ in moved.values())
            result["moved_mb"] = sum(b for _, b in moved.values()) / 1e6
            result["by_path"] = {k: v for k, v in moved.items() if v[0]}
            results[name] = result
            print(
                f"{name:<18} query {result['query']:7.1f} s  files "
                f"{result['files']:7.1f} s  rows {result['rows']:6d}  written "
                f"{result['written']:6d} ({result['written_mb']:7.1f} MB)  requests "
                f"{result['requests']:6d}  moved {result['moved_mb']:8.1f} MB  "
                f"peak RSS {result['peak_rss_mb']:6.0f} MB",
                flush=True,
            )
            for path, (count, sent) in sorted(result["by_path"].items()):
                print(f"{'':<20}{path}: {count} requests, {sent / 1e6:.1f} MB")
    finally:
        process.terminate()
        process.wait()
    if "user-loop" in results:
        loop = results["user-loop"]
        loop_time = loop["files"]
        for name, result in results.items():
            total = np.nansum([result["query"], result["files"]])
            print(
                f"{name:<18} total {total:7.1f} s: {loop_time / total:5.1f}x the user "
                f"loop, {result['moved_mb'] / loop['moved_mb']:6.3f} of its bytes"
            )


if __name__ == "__main__":
    main()
