# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark of the retrieval issue: parallel downloads from a local HTTP server.

Run from the project root::

    python benchmarks/bench_retrieval.py              # 500 files (~2 minutes)
    python benchmarks/bench_retrieval.py --files 100  # quicker

What is measured (wall-clock, best of two runs but for the serial run with
latency, fresh target folder each time):

* a simulated survey patch is written once (`LocalArchive.simulate`): its
  Atlas images are 2.1 MB FITS files; the first ``--files`` Atlas rows of a
  region query are served by ``tests/fault_server.py`` in a child process on
  127.0.0.1 with ``--latency`` (50 ms) added to every answer;
* ``ImageTable.download`` of those rows with 1 worker and with 8 (and 16)
  workers: the speed-up is the ratio of the times (the issue asks >= 5x);
* the same with no added latency: the engine's own overhead (HTTP, SHA-256,
  FITS check, atomic rename);
* the limit: a plain loopback copy of the same bytes (1, 2 or 8 TCP
  connections, ``sendfile`` on one side, ``recv_into`` and file writes on the
  other, no HTTP, no checks, no latency; the best of 3 runs of each); each
  download's throughput is given as a ratio to the fastest.

Ratios, not absolute times, are what compare across machines.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive

ROOT = Path(__file__).resolve().parent.parent
M31 = "00h42m44.3s +41d16m08s"


def start_server(files_dir, latency):
    """Start tests/fault_server.py in a child process; return (process, port)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fault_server.py"),
            str(files_dir),
            "--latency",
            str(latency),
            "--duration",
            "1800",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc, int(line.split()[1])


def http_rows(table, files_uri, port):
    """The table with its file:// URLs turned into the server's http:// URLs."""
    out = table.copy()
    out.archive = None
    out["access_url"] = [
        f"http://127.0.0.1:{port}/" + str(url)[len(files_uri) :]
        for url in table["access_url"]
    ]
    return out


def _copy_stream(paths, target, names):
    """Copy ``paths`` through one loopback TCP connection into ``target``."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def send():
        conn, _ = listener.accept()
        with conn:
            for path in paths:
                with open(path, "rb") as fh:
                    conn.sendfile(fh)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with socket.create_connection(("127.0.0.1", port)) as conn:
        for path, name in zip(paths, names, strict=True):
            with open(target / name, "wb") as out:
                left = path.stat().st_size
                while left:
                    n = conn.recv_into(view[: min(left, len(buffer))])
                    if not n:
                        raise RuntimeError("connection closed early")
                    out.write(view[:n])
                    left -= n
    sender.join(timeout=10)
    listener.close()


def loopback_copy(paths, target, streams):
    """Copy files over ``streams`` loopback TCP connections; return seconds.

    No HTTP, no checksum, no check, no latency: the bytes from the source
    files to new files, which is what any download of them must at least do.
    """
    names = [f"{i}.fits" for i in range(len(paths))]
    start = time.perf_counter()
    threads = [
        threading.Thread(
            target=_copy_stream, args=(paths[k::streams], target, names[k::streams])
        )
        for k in range(streams)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def timed_download(table, folder, workers):
    start = time.perf_counter()
    result = table.download(folder, max_workers=workers, max_bytes=None, progress=False)
    elapsed = time.perf_counter() - start
    status = set(result["status"])
    if status != {"ok"}:
        raise RuntimeError(f"download not complete: {status}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--keep", type=Path, help="reuse/keep the patch in this folder")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 8, 16], help="pool sizes"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_retrieval-"))
    patch_dir = args.keep or work / "patch"
    try:
        start = time.perf_counter()
        if (patch_dir / "archive.json").exists():
            patch = LocalArchive(patch_dir)
        else:
            patch = LocalArchive.simulate(patch_dir, M31, 1.15)
        print(f"patch: {len(patch)} image sets ({time.perf_counter() - start:.1f} s)")
        table = TwoMassBatch(archive=patch).query_region(M31, 2.3)[: args.files]
        if len(table) < args.files:
            raise SystemExit(f"the patch has only {len(table)} Atlas files")
        paths = [patch.local_path(url) for url in table["access_url"]]
        total = sum(p.stat().st_size for p in paths)
        print(
            f"{len(table)} Atlas files, {total / 1e6:.0f} MB "
            f"({total / len(table) / 1e6:.2f} MB each)"
        )

        limit = np.inf
        for streams in (1, 2, 8):
            for _ in range(3):  # best of 3
                limit_dir = work / "loopback"
                limit_dir.mkdir()
                elapsed = loopback_copy(paths, limit_dir, streams)
                shutil.rmtree(limit_dir)
                limit = min(limit, elapsed)
            print(
                f"plain loopback copy, {streams} stream(s): best so far "
                f"{limit:.2f} s, {total / limit / 1e6:.0f} MB/s"
            )
        limit_rate = total / limit
        print(f"the limit: {limit_rate / 1e6:.0f} MB/s")

        results = {}
        for latency in (args.latency, 0.0):
            proc, port = start_server(patch.files_dir, latency)
            try:
                rows = http_rows(table, patch.files_uri, port)
                for workers in args.workers:
                    elapsed = np.inf
                    # best of 2, but for the slow serial run with latency
                    for _ in range(1 if latency and workers == 1 else 2):
                        folder = work / f"dl-{latency}-{workers}"
                        elapsed = min(elapsed, timed_download(rows, folder, workers))
                        shutil.rmtree(folder)
                    results[latency, workers] = elapsed
                    rate = total / elapsed
                    print(
                        f"latency {latency * 1000:3.0f} ms, {workers:2d} worker(s): "
                        f"{elapsed:6.2f} s, {rate / 1e6:5.0f} MB/s, "
                        f"{rate / limit_rate:.2f} of the loopback limit"
                    )
            finally:
                proc.kill()
                proc.wait()
        ms = args.latency * 1000
        for workers in args.workers:
            if workers != 1 and (args.latency, 1) in results:
                speedup = results[args.latency, 1] / results[args.latency, workers]
                print(
                    f"speed-up, {workers} workers vs 1 at {ms:.0f} ms latency: "
                    f"{speedup:.1f}x"
                )
        print(f"CPUs: {os.cpu_count()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
