# Licensed under a 3-clause BSD style license - see LICENSE
"""SAMP: a real in-process hub on 127.0.0.1 and a real receiving client.

The receiver subscribes to the MTypes the package sends and, in its handler,
reads what it was sent from the URL (as TOPCAT or Aladin would) before it
replies; the tests then check what it read. No mocks. Every message is a call
with a reply bounded by a timeout; the hub and the clients are stopped in
fixture finalizers.
"""

import threading
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from astropy.io import fits

from twomass_vo.cli import main
from twomass_vo.results.result_reader import read_result
from twomass_vo.results.samp import SAMPError, broadcast

samp = pytest.importorskip("pyvo.samp")

SCAN = ("971031", "n", "96")
MTYPES = ("table.load.votable", "image.load.fits", "coverage.load.moc.fits")


def local_path(url):
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return unquote(parsed.path)


@pytest.fixture
def hub(tmp_path):
    """A SAMP hub on 127.0.0.1 with its lock file in tmp_path (not ~/.samp)."""
    server = samp.SAMPHubServer(
        web_profile=False,
        addr="127.0.0.1",
        lockfile=str(tmp_path / "samp.lock"),
        timeout=120,  # the hub stops itself if a test leaves it running
    )
    server.start(wait=False)
    yield server
    server.stop()


class Receiver:
    """A SAMP client that loads what it is sent and remembers it."""

    def __init__(self, hub, *, fail=None):
        self.received = {m: [] for m in MTYPES}
        self.fail = fail
        self.lock = threading.Lock()
        self.client = samp.SAMPIntegratedClient(name="receiver")
        self.client.connect(hub=hub)
        for mtype in MTYPES:
            self.client.bind_receive_call(mtype, self.on_call)

    @property
    def id(self):
        return self.client.get_public_id()

    def on_call(self, private_key, sender_id, msg_id, mtype, params, extra):
        if mtype == self.fail:
            self.client.reply(
                msg_id,
                {"samp.status": "samp.error", "samp.error": {"samp.errortxt": "nope"}},
            )
            return
        path = local_path(params["url"])
        if mtype == "table.load.votable":
            loaded = read_result(path)
        elif mtype == "image.load.fits":
            with fits.open(path) as hdul:
                loaded = hdul[0].header.copy()
        else:
            from mocpy import MOC

            loaded = MOC.load(path, format="fits")
        with self.lock:
            self.received[mtype].append((params, loaded))
        self.client.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})


@pytest.fixture
def receiver(hub):
    client = Receiver(hub)
    yield client
    client.client.disconnect()


@pytest.fixture
def table(batch):
    return batch.query_scan(*SCAN, image=197)


def test_broadcast_sends_the_table(hub, receiver, table, tmp_path):
    sent = table.broadcast(hub, folder=tmp_path / "out", timeout=20)
    assert sent == {"table.load.votable": [receiver.id]}
    ((params, loaded),) = receiver.received["table.load.votable"]
    assert params["name"] == "2MASS scans: 3 file(s)"
    assert list(loaded["access_url"]) == list(table["access_url"])
    assert list(loaded["coadd_key"]) == list(table["coadd_key"])
    assert loaded.meta["mode"] == "scans"
    assert loaded.meta["parameters"]["scan"] == "96"
    assert loaded["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert receiver.received["image.load.fits"] == []


def test_broadcast_images_and_coverage(hub, receiver, table, tmp_path):
    pytest.importorskip("mocpy")
    sent = broadcast(table, hub, images=True, footprints=True, folder=tmp_path)
    assert set(sent) == set(MTYPES)
    assert all(ids == [receiver.id] for ids in sent.values())
    headers = [header for _, header in receiver.received["image.load.fits"]]
    assert len(headers) == 3
    assert sorted(h["FILTER"] for h in headers) == ["h", "j", "k"]
    assert {(str(h["ORDATE"]), int(h["SCANNO"])) for h in headers} == {("971031", 96)}
    # the files sent are those of the table, written into the folder
    for params, _ in receiver.received["image.load.fits"]:
        assert local_path(params["url"]).startswith(str(tmp_path))
    ((_, moc),) = receiver.received["coverage.load.moc.fits"]
    assert moc == table.to_moc()


def test_broadcast_with_a_connected_client(hub, receiver, table, tmp_path):
    sender = samp.SAMPIntegratedClient(name="sender")
    sender.connect(hub=hub)
    try:
        sent = table.broadcast(client=sender, folder=tmp_path)
        assert sent["table.load.votable"] == [receiver.id]
        assert sender.is_connected  # left as it was given
    finally:
        sender.disconnect()


def test_a_client_error_is_reported(hub, table, tmp_path):
    failing = Receiver(hub, fail="table.load.votable")
    try:
        with pytest.raises(SAMPError, match=f"{failing.id} failed.*nope"):
            table.broadcast(hub, folder=tmp_path)
    finally:
        failing.client.disconnect()


def test_no_hub_is_a_clear_error(table, tmp_path, monkeypatch):
    missing = tmp_path / "no-such.lock"
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{missing.as_uri()}")
    with pytest.raises(SAMPError, match="no SAMP hub"):
        table.broadcast(folder=tmp_path)


def test_cli_samp(hub, receiver, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'samp.lock').as_uri()}")
    status = main(["--archive", "sim", "scan", *SCAN, "--image", "197", "--samp"])
    assert status == 0
    assert "table sent over SAMP to 1 client(s)" in capsys.readouterr().out
    ((_, loaded),) = receiver.received["table.load.votable"]
    assert len(loaded) == 3
    assert np.all(loaded["scanno"] == 96)


def test_cli_samp_without_a_hub_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such.lock"
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{missing.as_uri()}")
    status = main(["--archive", "sim", "scan", *SCAN, "--image", "197", "--samp"])
    out, err = capsys.readouterr()
    assert status == 3  # a service is missing: not bad input
    assert err.startswith("twomass-vo: error: no SAMP hub") and err.count("\n") == 1
    assert "971031" in out  # the table was printed all the same
