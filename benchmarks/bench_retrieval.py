# Licensed under a 3-clause BSD style license - see LICENSE
"""Benchmark of the retrieval issue: parallel downloads from a local HTTP server.

Run from the project root::

    python benchmarks/bench_retrieval.py              # 500 files (~2 minutes)
    python benchmarks/bench_retrieval.py --files 100  # quicker
    python benchmarks/bench_retrieval.py --files 200 --versus  # vs a plain loop
    # at 0 and 20 ms per answer:
    python benchmarks/bench_retrieval.py --files 200 --versus --versus-latency 0 0.02

What is measured (wall-clock, best of two runs but for the serial run with
latency, fresh target folder each time):

* a simulated survey patch is written once (`LocalArchive.simulate`): its
  Atlas images are 2.1 MB FITS files; the first ``--files`` Atlas rows of a
  region query are served by ``tests/servers/fault_server.py`` in a child process on
  127.0.0.1 with ``--latency`` (50 ms) added to every answer;
* ``ImageTable.download`` of those rows with 1 worker and with 8 (and 16)
  workers: the speed-up is the ratio of the times (the issue asks >= 5x);
* the same with no added latency: the engine's own overhead (HTTP, SHA-256,
  FITS check, atomic rename);
* the limit: a plain loopback copy of the same bytes (1, 2 or 8 TCP
  connections, ``sendfile`` on one side, ``recv_into`` and file writes on the
  other, no HTTP, no checks, no latency; the best of 3 runs of each); each
  download's throughput is given as a ratio to the fastest;
* side by side (``--versus``, issue 10): ``ImageTable.download(max_workers=8)``
  against what a user writes by hand -- a ``ThreadPoolExecutor(8)`` with one
  ``requests.Session`` per thread, streaming each file to disk in 1 MiB
  reads, no checks -- and against the same loop computing each file's
  SHA-256 as the chunks arrive (like for like: the package records that
  checksum in its manifest), on the same server and files, in rotated
  order, each run in a fresh child process (so that its peak memory is its
  own), each after an ``os.sync()`` (no dirty pages of the previous run
  are written back during the next); at each of ``--versus-latency``
  (default 0 ms added per answer). The medians of ``--rounds`` runs give
  the ratios of throughputs (>= 1.0 is the goal; the median of the paired
  rounds' ratios is printed too), each one's ratio to the loopback copy,
  its CPU time and its peak RSS (and its growth during the transfer);
  with ``--bare``, a fourth: the package's per-byte work and checks alone
  (one `http.client` connection per thread, SHA-256, atomic rename,
  `check_fits`), the yardstick of what the engine's orchestration costs.

Ratios, not absolute times, are what compare across machines.
"""

import argparse
import json
import os
import resource
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
    """Start the fault server in a child process; return (process, port).

    The server is tests/servers/fault_server.py.
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "servers" / "fault_server.py"),
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


def _status_mb(key):
    """VmRSS (now) or VmHWM (peak) of this process, MB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def plain_loop(urls, folder, workers, *, sha256=False):
    """What a user writes: a thread pool, one Session per thread, 1 MiB reads.

    With ``sha256``, each file's SHA-256 is computed as its chunks arrive
    (what the package records in its manifest): the like-for-like loop.
    """
    import concurrent.futures as cf
    import hashlib

    import requests

    local = threading.local()
    folder.mkdir(parents=True, exist_ok=True)

    def get(url):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        digest = hashlib.sha256() if sha256 else None
        with session.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            with open(folder / url.rsplit("/", 1)[1], "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
        return digest.hexdigest() if digest is not None else None

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(get, urls))


def bare_client(urls, folder, workers):
    """The yardstick: the package's per-byte work and checks, nothing else.

    One `http.client` connection per thread, 1 MiB reads, SHA-256 as the
    bytes arrive, a hidden temporary file renamed once `check_fits` passed:
    what a transfer with the package's checks costs without its retries,
    deadlines, budget, manifest and coordination.
    """
    import concurrent.futures as cf
    import hashlib
    import http.client
    from urllib.parse import urlsplit

    from twomass_vo.retrieval.fits_check import check_fits

    local = threading.local()
    folder.mkdir(parents=True, exist_ok=True)

    def get(url):
        parts = urlsplit(url)
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=60
            )
            local.buffer = memoryview(bytearray(1 << 20))
        connection.request("GET", parts.path)
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
        digest = hashlib.sha256()
        name = url.rsplit("/", 1)[1]
        part = folder / f".part-{name}"
        with open(part, "w+b") as out:
            while n := response.readinto(local.buffer):
                out.write(local.buffer[:n])
                digest.update(local.buffer[:n])
            out.flush()
            check_fits(out)
        os.replace(part, folder / name)
        return digest.hexdigest()

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(get, urls))


def child(kind, table_path, folder, workers):
    """One timed run in this (fresh) process; prints JSON."""
    import requests  # noqa: F401 - imports are not what is timed

    import twomass_vo.retrieval  # noqa: F401
    from twomass_vo import ImageTable

    table = ImageTable.read(table_path, format="votable")
    table.archive = None
    urls = [str(u) for u in table["access_url"]]
    base = _status_mb("VmRSS")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if kind.startswith("plain"):
        plain_loop(urls, Path(folder), workers, sha256=kind == "plain-sha256")
    elif kind == "bare":
        bare_client(urls, Path(folder), workers)
    else:
        result = table.download(
            folder, max_workers=workers, max_bytes=None, progress=False
        )
        if set(result["status"]) != {"ok"}:
            raise RuntimeError(f"download not complete: {set(result['status'])}")
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = _status_mb("VmHWM")  # ru_maxrss would include the parent's (execve)
    print(
        json.dumps({"elapsed": elapsed, "cpu": cpu, "peak_mb": peak, "base_mb": base})
    )


def run_child(kind, table_path, folder, workers):
    # every run starts with no dirty pages of the last one left to write back
    # (their writeback would otherwise steal CPU from whichever run comes next)
    os.sync()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            str(table_path),
            str(folder),
            str(workers),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(folder, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


#: The contenders of ``--versus``: (kind, label).
CONTENDERS = (
    ("plain", "ThreadPoolExecutor + requests"),
    ("plain-sha256", "  the same, hashing (SHA-256)"),
    ("package", "ImageTable.download"),
)
#: With ``--bare``: the package's per-byte work and checks alone.
BARE = ("bare", "bare client: hash + checks only")


def versus(table, files_uri, files_dir, work, total, limit_rate, rounds, latency, bare):
    """The package against plain ThreadPoolExecutor + requests loops."""
    workers = 8
    contenders = (*CONTENDERS, BARE) if bare else CONTENDERS
    proc, port = start_server(files_dir, latency)
    try:
        rows = http_rows(table, files_uri, port)
        table_path = work / "rows.vot"
        rows.write(table_path, format="votable", overwrite=True)
        runs = {kind: [] for kind, _ in contenders}
        n = len(runs)
        for k in range(rounds):
            order = list(runs)[k % n :] + list(runs)[: k % n]  # rotated each round
            for kind in order:
                runs[kind].append(
                    run_child(kind, table_path, work / f"vs-{kind}", workers)
                )
    finally:
        proc.kill()
        proc.wait()
    median = {
        kind: float(np.median([r["elapsed"] for r in found]))
        for kind, found in runs.items()
    }
    cpu = {
        kind: float(np.median([r["cpu"] for r in found]))
        for kind, found in runs.items()
    }
    print(f"--- {workers} workers, {latency * 1000:.0f} ms latency per request")
    for kind, label in contenders:
        rate = total / median[kind]
        peak = max(r["peak_mb"] for r in runs[kind])
        growth = max(r["peak_mb"] - r["base_mb"] for r in runs[kind])
        times = ", ".join(f"{r['elapsed']:.2f}" for r in runs[kind])
        print(
            f"{label:30s} median {median[kind]:.2f} s ({times}), "
            f"{rate / 1e6:.0f} MB/s, {rate / limit_rate:.2f} of the loopback copy; "
            f"CPU {cpu[kind]:.2f} s; peak RSS {peak:.0f} MB (+{growth:.0f} MB)"
        )
    for kind, what in (("plain", "plain loop"), ("plain-sha256", "hashing loop")):
        paired = np.median(
            [
                p["elapsed"] / q["elapsed"]
                for p, q in zip(runs[kind], runs["package"], strict=True)
            ]
        )
        print(
            f"throughput ratio, ImageTable.download / {what}: "
            f"{median[kind] / median['package']:.2f} (wall-clock medians; "
            f"{paired:.2f} median of the {rounds} paired rounds); "
            f"CPU-time ratio {cpu[kind] / cpu['package']:.2f}"
        )


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
    parser.add_argument(
        "--versus",
        action="store_true",
        help="only the side-by-side run against a plain thread-pool loop",
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (median)")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="--versus also runs the yardstick: http.client + SHA-256 + atomic "
        "rename + check_fits, no retries, deadlines, budget or manifest",
    )
    parser.add_argument(
        "--versus-latency",
        type=float,
        nargs="+",
        default=[0.0],
        help="latencies (s) added to every answer in the --versus runs",
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
        if args.versus:
            for latency in args.versus_latency:
                versus(
                    table,
                    patch.files_uri,
                    patch.files_dir,
                    work,
                    total,
                    limit_rate,
                    args.rounds,
                    latency,
                    args.bare,
                )
            return

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
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
