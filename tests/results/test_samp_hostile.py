# Licensed under a 3-clause BSD style license - see LICENSE
"""SAMP against hubs and clients that misbehave: bounded, one line, no leftovers.

The hostile hubs are `hostile_server.HostileServer` on 127.0.0.1, named by a
lock file (``SAMP_HUB``): a hub that accepts and never answers, one that
answers garbage, one that drips its answer or its headers forever, one that
sends an endless answer; the silent client is a real client of pyvo's hub
that never replies. Each send runs in a child process under a hard
address-space limit (``RLIMIT_AS``) and a time limit, as the other hostile
tests do; it must end with a `~twomass_vo.results.samp.SAMPError` within a few
seconds, and leave no temporary folder behind. The command line says it on
one line, exits with status 3, and still downloads with ``--download``.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import pytest
from hostile_server import HostileServer

from twomass_vo.cli import main
from twomass_vo.results.samp import SAMPError

samp = pytest.importorskip("pyvo.samp")

ROOT = Path(__file__).resolve().parents[2]
SCAN = ("971031", "n", "96")
#: Time a child may take before the test calls it hung (liveness, not timing).
HUNG = 120

CHILD = """
import json, os, resource, sys, time
from twomass_vo import ImageTable
from twomass_vo.results.samp import broadcast

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

table = ImageTable.from_columns({"coadd_key": [1590591], "band": ["J"]})
limit = vm_size() + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
start = time.monotonic()
try:
    broadcast(table, timeout=float(sys.argv[2]))
    out = {"error": None}
except BaseException as exc:
    out = {"error": type(exc).__name__, "message": str(exc)}
out["seconds"] = time.monotonic() - start
print(json.dumps(out))
"""


def lock_file(folder, url):
    path = folder / "samp.lock"
    path.write_text(
        f"samp.secret=abc\nsamp.hub.xmlrpc.url={url}\nsamp.profile.version=1.3\n"
    )
    return f"std-lockurl:{path.as_uri()}"


def run_child(hub, tmp_path, *, timeout=2, headroom=128 << 20):
    """Broadcast to the hub in a capped child; return its outcome and its tmp."""
    child_tmp = tmp_path / "child-tmp"
    child_tmp.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SAMP_HUB": hub,
        "TMPDIR": str(child_tmp),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(headroom), str(timeout)],
        env=env,
        capture_output=True,
        text=True,
        timeout=HUNG,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), list(child_tmp.iterdir())


@pytest.fixture
def server():
    with HostileServer() as running:
        yield running


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        (("silent",), "gave no answer within 2 s"),
        (("body", b"this is no XML at all"), "not XML-RPC"),
        (("body", b"<?xml version='1.0'?><methodResponse><params>"), "not XML-RPC"),
        (("drip", b"<" * 1000, 0.5), "gave no answer within 2 s"),
        (("headers_forever", 0.2), "gave no answer within 2 s"),
        (("huge", 1 << 30), "answered more than 1048576 bytes"),
    ],
)
def test_a_hostile_hub_ends_in_time_with_one_line(server, tmp_path, behaviour, says):
    server.route("/xmlrpc", behaviour)
    out, left = run_child(lock_file(tmp_path, server.url("/xmlrpc")), tmp_path)
    assert out["error"] == "SAMPError", out
    assert says in out["message"] and server.url("/xmlrpc") in out["message"]
    assert "\n" not in out["message"]
    assert out["seconds"] < 15
    assert left == []  # no folder made without a hub


def test_no_hub_makes_no_folder(tmp_path):
    out, left = run_child(f"std-lockurl:{(tmp_path / 'none.lock').as_uri()}", tmp_path)
    assert out["error"] == "SAMPError" and "no SAMP hub" in out["message"]
    assert left == []


@pytest.fixture
def hub(tmp_path):
    server = samp.SAMPHubServer(
        web_profile=False, addr="127.0.0.1", lockfile=str(tmp_path / "samp.lock"),
        timeout=120,
    )  # fmt: skip
    server.start(wait=False)
    yield server
    server.stop()


@pytest.fixture
def silent_client(hub):
    """A client subscribed to table.load.votable that never replies."""
    client = samp.SAMPIntegratedClient(name="silent")
    client.connect(hub=hub)
    calls = []
    client.bind_receive_call(
        "table.load.votable", lambda *args: calls.append(args)
    )  # no reply
    yield client
    client.disconnect()


def test_a_client_that_never_replies(hub, silent_client, tmp_path):
    lock = f"std-lockurl:{(tmp_path / 'samp.lock').as_uri()}"
    out, left = run_child(lock, tmp_path, timeout=2)
    assert out["error"] == "SAMPError", out
    assert out["message"].startswith(
        f"SAMP client {silent_client.get_public_id()} did not load table.load.votable"
    )
    assert out["seconds"] < 20
    assert left == []  # the folder was removed when the child exited


def test_the_folder_is_removed_once_sent(hub, batch, tmp_path, monkeypatch):
    received = []
    client = samp.SAMPIntegratedClient(name="receiver")
    client.connect(hub=hub)

    def on_call(private_key, sender_id, msg_id, mtype, params, extra):
        received.append(Path(params["url"].removeprefix("file://")).read_bytes())
        client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

    client.bind_receive_call("table.load.votable", on_call)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    try:
        table = batch.query_scan(*SCAN, image=197)
        sent = table.broadcast(hub, timeout=10)
        assert sent == {"table.load.votable": [client.get_public_id()]}
        assert received and received[0].startswith(b"<?xml")
        assert list((tmp_path / "tmp").iterdir()) == []  # removed once loaded
    finally:
        client.disconnect()


def test_cli_samp_failure_is_one_line_and_the_download_still_runs(
    server, sim, tmp_path, monkeypatch, capsys
):
    server.route("/xmlrpc", ("silent",))
    monkeypatch.setenv("SAMP_HUB", lock_file(tmp_path, server.url("/xmlrpc")))
    folder = tmp_path / "images"
    argv = ["--archive", "sim", "scan", *SCAN, "--image", "197", "--samp"]
    argv += ["--timeout", "2"]
    box = {}

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            box["status"] = main([*argv, "--download", str(folder)])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HUNG)
    assert not thread.is_alive(), "--samp hung"
    out, err = capsys.readouterr()
    assert box["status"] == 3
    (line,) = err.splitlines()
    assert line.startswith("twomass-vo: error: the SAMP hub at ")
    assert "gave no answer within 2 s" in line and len(line) <= 200
    assert "3 file(s) in" in out  # --download ran all the same
    assert len(list(folder.glob("*.fits"))) == 3
    # garbage: the same, no traceback
    server.route("/xmlrpc", ("body", b"garbage"))
    assert main(argv) == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert "not XML-RPC" in line and "ExpatError" not in line


def test_samp_error_is_the_packages_own(tmp_path, monkeypatch, batch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'x.lock').as_uri()}")
    with pytest.raises(SAMPError, match="no SAMP hub"):
        batch.query_scan(*SCAN, image=197).broadcast()
