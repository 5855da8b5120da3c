# Licensed under a 3-clause BSD style license - see LICENSE
"""What a hostile VO service costs a query: peak memory and time to give up.

Run from the project root::

    python benchmarks/hostile_vo.py                 # this checkout
    python benchmarks/hostile_vo.py --code /other/checkout   # e.g. main, to compare

Two cases, each a ``VOArchive.find_circle`` (a TAP query) against
``tests/servers/hostile_server.py`` on 127.0.0.1, run in a child process with a hard
address-space limit (``--limit-gb``, default 6) so that an unbounded reader
fails instead of eating the machine:

* ``bomb``: the TAP answer is a gzip body of ``--bomb-mb`` MB (default 1) that
  decodes to ~1000 times as much; printed: the child's peak RSS (ru_maxrss)
  and how it ended;
* ``drip``: the answer's headers come at once, then one byte per second of a
  10 kB body (every read well within the socket timeout); printed: the time
  until the query gave up (or ``--drip-limit`` seconds, default 120, after
  which the child is killed: "not given up");
* ``drip-file``: the same server, as the source of one file of a download
  (``twomass_vo._http.fetch.fetch`` with the download's retry policy from
  ``twomass_vo.conf``: retries included); printed: the time until the file
  was given up (``--drip-file-limit``, default 400 s).

The settings of the run (``conf.request_deadline``, ``conf.max_answer_size``,
the low-speed limit ``conf.low_speed_limit`` / ``low_speed_time``, the
retries) are the package defaults unless ``--deadline`` / ``--max-answer``
are given.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "servers"))

from hostile_server import HostileServer  # noqa: E402

CHILD = """
import resource, sys, time
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import twomass_vo
from twomass_vo.archives.vo import VOArchive
if sys.argv[3] != "-":
    twomass_vo.conf.request_deadline = float(sys.argv[3])
if sys.argv[4] != "-":
    twomass_vo.conf.max_answer_size = int(sys.argv[4])
archive = VOArchive(tap_url=sys.argv[1], table="twomass.images", upload=False)
start = time.perf_counter()
try:
    if sys.argv[5] == "file":
        import io
        from twomass_vo._http.fetch import fetch
        from twomass_vo._http.retry_policy import retry_policy
        fetch(sys.argv[1] + "/a.fits", io.BytesIO(), timeout=twomass_vo.conf.timeout,
              policy=retry_policy())
    else:
        archive.find_circle(10.0, 10.0, 0.1)
    outcome = "answered"
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:160]}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{time.perf_counter() - start:.1f} s, peak RSS {peak:.0f} MB, {outcome}")
"""


def run_child(code, tap_url, args, wait, mode="query"):
    env = {**os.environ, "PYTHONPATH": str(code)}
    limit = int(args.limit_gb * (1 << 30))
    command = [
        sys.executable,
        "-c",
        CHILD,
        tap_url,
        str(limit),
        "-" if args.deadline is None else str(args.deadline),
        "-" if args.max_answer is None else str(args.max_answer),
        mode,
    ]
    start = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, text=True, cwd=code.parent
    )
    try:
        out, _ = child.communicate(timeout=wait)
        return out.strip() or f"exit {child.returncode}"
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return f"not given up after {time.perf_counter() - start:.0f} s (killed)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=HERE.parent.resolve())
    parser.add_argument("--bomb-mb", type=float, default=1.0)
    parser.add_argument("--limit-gb", type=float, default=6.0)
    parser.add_argument("--drip-limit", type=float, default=120.0)
    parser.add_argument("--drip-file-limit", type=float, default=400.0)
    parser.add_argument("--deadline", type=float)
    parser.add_argument("--max-answer", type=int)
    parser.add_argument("--cases", default="bomb,drip,drip-file")
    args = parser.parse_args()
    print(f"code: {args.code}")
    cases = args.cases.split(",")
    if "bomb" in cases:
        decoded = int(args.bomb_mb * 1030 * (1 << 20))
        with HostileServer(default=("gzip_bomb", decoded)) as server:
            size = len(server.bomb(decoded))
            out = run_child(args.code, server.url("/tap"), args, 600)
        print(f"bomb ({size / 1e6:.2f} MB gzip -> {decoded / 1e9:.2f} GB): {out}")
    if "drip" in cases:
        behaviour = ("drip", b"<" * 10_000, 1.0)
        with HostileServer(default=behaviour) as server:
            out = run_child(args.code, server.url("/tap"), args, args.drip_limit)
        print(f"drip (1 byte/s): {out}")
    if "drip-file" in cases:
        behaviour = ("drip", b"<" * 10_000, 1.0)
        with HostileServer(default=behaviour) as server:
            out = run_child(
                args.code, server.url("/files"), args, args.drip_file_limit, "file"
            )
        print(f"drip-file (1 byte/s, a download with its retries): {out}")


if __name__ == "__main__":
    main()
