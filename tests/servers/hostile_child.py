# Licensed under a 3-clause BSD style license - see LICENSE
"""Hostile cases, each in its own child process under memory, file-size and time caps.

`CaseRunner` starts one helper process that imports twomass_vo once (about a
second); every case is then a fork of it (milliseconds), which

* caps its address space at its size + ``memory`` bytes (``RLIMIT_AS``: an
  unbounded reader fails with `MemoryError` instead of eating the machine)
  and the files it writes at ``file_size`` bytes (``RLIMIT_FSIZE``; a write
  past it fails with ``EFBIG``);
* runs a snippet of Python (``exec``), which may set ``result`` (anything
  JSON can hold) and ``logged`` (a list of messages, reported however the
  snippet ends) and may raise;
* is killed after ``seconds`` (a hang is a result, not a stuck suite).

`CaseRunner.run` returns how the case ended, a dict::

    {"ended": "returned" | "raised" | "killed" | "died",
     "error": "ArchiveError", "bases": ["ArchiveError", "RuntimeError", ...],
     "message": "...", "result": ..., "logged": [...], "seconds": 1.2,
     "peak_mb": 180.0}

The services the cases talk to run in the calling process (on 127.0.0.1);
``PYTHONPATH`` says which twomass_vo the children import (the checkout, or
another one: ``benchmarks/hostile_census.py --code``). Run as a script, this
module is the helper process (one JSON request per line on stdin, one JSON
answer per line on stdout).
"""

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

__all__ = ["CaseRunner"]

ROOT = Path(__file__).resolve().parents[2]


class CaseRunner:
    """The helper process that forks one child per hostile case.

    Parameters
    ----------
    home : str or `~pathlib.Path`
        A folder for the children's caches and configuration
        (``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``): never the user's own.
    code : str or `~pathlib.Path`, optional
        The checkout whose twomass_vo the children import (default: this one).
    """

    def __init__(self, home, *, code=ROOT):
        for folder in ("cache", "config"):
            (Path(home) / folder).mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "XDG_CACHE_HOME": str(Path(home) / "cache"),
            "XDG_CONFIG_HOME": str(Path(home) / "config"),
        }
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(code),
            text=True,
        )

    def run(self, code, *, memory=512 << 20, file_size=64 << 20, seconds=60.0):
        """Run ``code`` in a new child; return how it ended (see the module).

        Parameters
        ----------
        code : str
            Python statements.
        memory : int, optional
            Address space the child may add to its size at the start, bytes.
        file_size : int, optional
            Largest file the child may write, bytes.
        seconds : float, optional
            Time after which the child is killed.
        """
        request = {
            "code": code,
            "memory": int(memory),
            "file_size": int(file_size),
            "seconds": float(seconds),
        }
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the hostile-case helper process ended")
        return json.loads(line)

    def close(self):
        """End the helper process."""
        self._process.stdin.close()
        self._process.wait(30)
        self._process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------- the helper side
def _vm_size():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(request, channel):
    """In the forked child: set the caps, run the case, write how it ended."""
    os.dup2(2, 1)  # the case's prints must not reach the helper's answers
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    limit = _vm_size() + request["memory"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    size = request["file_size"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    namespace = {"__name__": "__hostile_case__"}
    start = time.monotonic()
    out = {"ended": "returned"}
    try:
        exec(request["code"], namespace)
        out["result"] = namespace.get("result")
    except BaseException as exc:
        out.update(
            ended="raised",
            error=type(exc).__name__,
            bases=[c.__name__ for c in type(exc).__mro__],
            message=str(exc)[:4000],
            traceback=traceback.format_exc()[-4000:],
        )
    out["logged"] = [str(m)[:500] for m in namespace.get("logged") or ()]
    out["seconds"] = time.monotonic() - start
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        text = json.dumps(out, default=repr)
    except (TypeError, ValueError):
        out["result"] = repr(out.get("result"))
        text = json.dumps(out)
    os.write(channel, text.encode())


def _case(request):
    """Fork a child for one case; wait for it within its time limit."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            _child(request, write)
        finally:
            os._exit(0)
    os.close(write)
    end = time.monotonic() + request["seconds"]
    chunks = []
    while True:
        left = end - time.monotonic()
        ready = select.select([read], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            return {"ended": "killed", "seconds": request["seconds"]}
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return {"ended": "died", "status": status}
    return json.loads(b"".join(chunks))


def _serve():
    import twomass_vo.archives.irsa  # imported once here, forked often
    import twomass_vo.core
    import twomass_vo.retrieval  # noqa: F401

    for line in sys.stdin:
        print(json.dumps(_case(json.loads(line))), flush=True)


if __name__ == "__main__":
    _serve()
