# Licensed under a 3-clause BSD style license - see LICENSE
"""Positions with best image beyond one process: a LocalCluster against in process.

Run from the project root (the simulated index is built on first use)::

    TWOMASS_VO_SIM_PATH=/tmp/sim python benchmarks/bench_dask.py \\
        --positions 10000000 --workers 2 --in-process 1000000

In the same run:

* **in process**: ``query_positions(best=True)`` of ``--in-process`` random
  positions in a child process (wall time, rows, peak resident memory of
  the whole process, ``VmHWM``), as in ``bench_local_scaling.py``;
* **on Dask**: ``--positions`` random positions made partition by partition
  on the workers (``dask.dataframe.from_map``: no input shipped from the
  client, as when reading Parquet files), ``query_positions(best=True)`` on a
  `~distributed.LocalCluster` of ``--workers`` worker processes of one thread,
  (1) counted per partition (the query and the frame conversion, nothing
  kept) and (2) written to Parquet (``write_parquet``) in a temporary folder;
  wall time, rows, rows per second, the peak resident memory of each worker
  (``VmHWM``, the mapped index pages included) and the size written;
* **on paper**: with the measured rate per worker, the time of 10^8
  positions and of the whole Point Source Catalog (470,992,970 sources) on N
  workers, if the rate scales with the workers (it does here only while the
  workers have cores of their own).

The Dask rows equal the in-process rows (``tests/test_dask_queries.py``);
here only their count is checked against the random seed's own in-process
count on the first partition.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_local_scaling import peak_bytes, random_positions

PSC_SOURCES = 470_992_970


def make_partition(k, size):
    """Partition ``k`` of the input: ``size`` random positions, seed ``k``."""
    import pandas as pd

    ra, dec = random_positions(size, seed=1000 + k)
    return pd.DataFrame({"ra": ra, "dec": dec})


def child_in_process(n):
    from astropy.table import Table

    from twomass_vo import TwoMassBatch

    batch = TwoMassBatch(archive="sim")
    batch.query_positions(Table({"ra": [10.0], "dec": [41.0]}), best=True)  # warm
    ra, dec = random_positions(n)
    start = time.perf_counter()
    result = batch.query_positions(Table({"ra": ra, "dec": dec}), best=True)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": len(result), "peak": peak_bytes()}))


def worker_peak():
    return peak_bytes()


def run_dask(args):
    import dask.dataframe as dd
    import pyarrow.parquet as pq
    from distributed import Client, LocalCluster

    from twomass_vo import TwoMassBatch
    from twomass_vo.results.parquet import write_parquet

    batch = TwoMassBatch(archive="sim")  # built or opened once, untimed
    parts = -(-args.positions // args.partition)
    sizes = [
        min(args.partition, args.positions - k * args.partition) for k in range(parts)
    ]
    template = make_partition(0, 1).iloc[:0]
    out = {}
    with (
        tempfile.TemporaryDirectory(dir=args.scratch) as scratch,
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            memory_limit=args.memory_limit,
            local_directory=scratch,
        ) as cluster,
        Client(cluster) as client,
    ):
        frame = dd.from_map(make_partition, range(parts), sizes, meta=template)
        for what in ("count", "parquet"):
            client.restart()  # fresh workers: their peak memory is this run's
            start = time.perf_counter()
            result = batch.query_positions(frame, best=True)
            if what == "count":
                rows = int(result.map_partitions(len).sum().compute())
                written = 0
            else:
                target = Path(scratch) / "result.parquet"
                write_parquet(result, target)
                rows = sum(  # from the files' footers: nothing read back
                    pq.read_metadata(str(f)).num_rows for f in target.glob("*.parquet")
                )
                written = sum(f.stat().st_size for f in target.iterdir())
            seconds = time.perf_counter() - start
            peaks = client.run(worker_peak)
            out[what] = {
                "seconds": seconds,
                "rows": rows,
                "peaks": sorted(peaks.values()),
                "written": written,
            }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--partition", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GiB")
    parser.add_argument("--in-process", type=int, default=1_000_000)
    parser.add_argument("--scratch", default=None, help="folder for the Parquet result")
    parser.add_argument("--child-in-process", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_in_process:
        return child_in_process(args.child_in_process)
    if not os.environ.get("TWOMASS_VO_SIM_PATH"):
        parser.error("set TWOMASS_VO_SIM_PATH to this checkout's index folder")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    child = subprocess.run(
        [sys.executable, __file__, "--child-in-process", str(args.in_process)],
        check=True,
        capture_output=True,
        text=True,
    )
    local = json.loads(child.stdout.strip().splitlines()[-1])
    local_rate = local["rows"] / local["seconds"]
    print(
        f"in process: {args.in_process:,} positions -> {local['rows']:,} rows in "
        f"{local['seconds']:.1f} s ({args.in_process / local['seconds']:,.0f} "
        f"positions/s, {local_rate:,.0f} rows/s), peak {local['peak'] / 2**20:,.0f} MiB"
    )
    runs = run_dask(args)
    for what, r in runs.items():
        rate = args.positions / r["seconds"]
        peaks = ", ".join(f"{p / 2**20:,.0f}" for p in r["peaks"])
        extra = f", {r['written'] / 2**30:.2f} GiB written" if r["written"] else ""
        print(
            f"dask ({what}): {args.positions:,} positions -> {r['rows']:,} rows in "
            f"{r['seconds']:.1f} s on {args.workers} worker(s) "
            f"({rate:,.0f} positions/s, "
            f"{r['rows'] / r['seconds']:,.0f} rows/s; "
            f"{rate / (args.in_process / local['seconds']):.2f}x the in-process "
            f"rate); peak per worker {peaks} MiB{extra}"
        )
    per_worker = args.positions / runs["parquet"]["seconds"] / args.workers
    print(f"on paper, at {per_worker:,.0f} positions/s per worker (Parquet written):")
    for n in (args.workers, 16, 64, 256):
        t8 = 1e8 / (per_worker * n)
        tp = PSC_SOURCES / (per_worker * n)
        print(
            f"  {n:>4} workers: 10^8 positions {t8 / 60:,.1f} min; the whole PSC "
            f"({PSC_SOURCES:,}) {tp / 3600:,.2f} h"
        )


if __name__ == "__main__":
    main()
