# Licensed under a 3-clause BSD style license - see LICENSE
"""Retrieval at scale: `ImageTable.download` and `twomass_vo.retrieval`.

Local files come from the simulated survey (compared byte for byte with its
store); ``http`` files from `fault_server.FaultServer` on 127.0.0.1, which
serves small simulated FITS files and injects faults: 5xx, 429/503 with
``Retry-After``, connections reset mid-body, short bodies, slow and stalled
answers, HTML error pages. Every wait is bounded (request timeouts of a few
seconds, retry budgets, deadlines on every loop).
"""

import argparse
import concurrent.futures as cf
import hashlib
import io
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import fault_server
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from twomass_vo import ImageTable, conf
from twomass_vo._http.fetch import FetchError
from twomass_vo._http.retry_policy import RetryPolicy, parse_retry_after
from twomass_vo.cli import main, parse_size
from twomass_vo.exceptions import QuicklookWarning
from twomass_vo.retrieval import (
    MANIFEST_NAME,
    Manifest,
    byte_count,
    cache_dir,
    cached_path,
    check_fits,
    clear_cache,
    download,
)
from twomass_vo.retrieval.loaders import file_name_for
from twomass_vo.retrieval.manifest import folder_lock

FaultServer = fault_server.FaultServer

#: Fast retries for the tests: tiny waits, a bounded budget.
FAST = RetryPolicy(retries=4, backoff=0.02, max_backoff=0.1, budget=30)
SCAN = ("971031", "n", 96)


# ---------------------------------------------------------------------- helpers
def small_fits(seed, shape=(40, 40)):
    """A small, deterministic FITS file (the content the server serves)."""
    rng = np.random.default_rng(seed)
    hdu = fits.PrimaryHDU(rng.normal(100, 5, size=shape).astype("f4"))
    hdu.header["SEED"] = seed
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


def http_table(batch, server, n, *, shape=(40, 40), sizes=None):
    """``n`` Atlas rows of scan 971031 n 96 whose files are on the server."""
    table = batch.query_scan(*SCAN)
    if n > len(table):
        from astropy.table import vstack

        more = batch.query_scan("981121", "n", 69)
        table = vstack([table, more])
        table = ImageTable(table, archive=None)
    table = table[:n].copy()
    table.archive = None
    urls, estsizes = [], []
    for i, row in enumerate(table):
        name = file_name_for(row)
        body = small_fits(i, sizes[i] if sizes is not None else shape)
        server.files[name] = body
        urls.append(server.url(name))
        estsizes.append(math.ceil(len(body) / 1000))
    table["access_url"] = urls
    table["access_estsize"] = estsizes
    return table


def folder_state(folder):
    """Every file of a folder (name -> bytes): the complete result of a run."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def parts_in(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".part-")]


def assert_served_copy(result, server):
    """Every row is ok, and its file is byte-identical to what the server has."""
    for row in result:
        assert row["status"] == "ok", row["error"]
        name = Path(row["local_path"]).name
        assert Path(row["local_path"]).read_bytes() == server.files[name]


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def scan_table(batch):
    return batch.query_scan(*SCAN, image=197)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path):
    """Each test has its own file cache."""
    with conf.set_temp("cache_dir", str(tmp_path / "cache")):
        yield


# ------------------------------------------------------------------- FITS check
def test_check_fits_accepts_complete_files(tmp_path, sim, scan_table, batch):
    check_fits(sim.local_path(scan_table[0]["access_url"]))
    with pytest.warns(QuicklookWarning):
        (ql,) = batch.query_scan(*SCAN, image=197, band="J", image_type="quicklook")
    check_fits(sim.local_path(ql["access_url"]))  # primary + compressed extension
    path = tmp_path / "x.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.zeros((3, 5), "i2")),
            fits.BinTableHDU(Table({"a": [1, 2, 3]})),
        ]
    ).writeto(path)
    check_fits(path)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b[:-2880], "HDUs end at byte"),
        (lambda b: b + b"\0" * 2880, "header at byte 17280 does not start with"),
        (lambda b: b[:-100], "multiple of 2880"),
        (lambda b: b"", "not a FITS file: it does not start with 'SIMPLE  '"),
        (lambda b: b[2880:], "does not start with"),
        (lambda b: b"<html>" + b" " * 2874, "does not start with 'SIMPLE  '"),
        (lambda b: b[:2880], "HDUs end at byte"),
        (lambda b: b[:2880].replace(b"END" + b" " * 77, b" " * 80), "no END card"),
        (lambda b: b[:2000] + "é".encode("latin-1") + b[2001:], "non-ASCII"),
    ],
)
@pytest.mark.parametrize("given", ["path", "open file"])
def test_check_fits_rejects_bad_files(tmp_path, mangle, message, given):
    body = small_fits(1, (60, 60))
    path = tmp_path / "bad.fits"
    with open(path, "w+b") as fh:
        fh.write(mangle(body))  # not flushed: check_fits flushes an open file
        if given == "path":
            fh.flush()
        with pytest.raises(ValueError, match=message) as info:
            check_fits(path if given == "path" else fh)
    assert "html" not in str(info.value) and "\\x00" not in str(info.value)


def test_check_fits_reads_an_open_file_where_it_is_and_leaves_it_there(tmp_path):
    body = small_fits(2, (60, 60))
    with open(tmp_path / "x.fits", "w+b") as fh:
        fh.write(body)  # still in the buffer
        check_fits(fh)
        assert fh.tell() == len(body)
        fh.seek(100)
        check_fits(fh)
        assert fh.tell() == 100


# ------------------------------------------------------------ simulated archive
def test_download_local_archive_files(batch, sim, tmp_path):
    table = batch.query_scan(*SCAN, image=197)
    result = table.download(tmp_path / "dl", progress=False)
    assert isinstance(result, ImageTable) and result.archive is table.archive
    assert result.colnames == [*table.colnames, "local_path", "status", "error"]
    assert list(result["status"]) == ["ok"] * 3
    assert list(result["error"]) == [""] * 3
    assert result["status"].meta["ucd"] == "meta.code.status"
    assert result["local_path"].description and result["error"].description
    for row in result:
        path = Path(row["local_path"])
        assert path.parent == (tmp_path / "dl").resolve()
        assert path.name == file_name_for(row)
        assert path.read_bytes() == sim.local_path(row["access_url"]).read_bytes()
    entries = Manifest(tmp_path / "dl").entries
    assert sorted(entries) == sorted(Path(p).name for p in result["local_path"])
    for row in result:
        entry = entries[Path(row["local_path"]).name]
        data = Path(row["local_path"]).read_bytes()
        assert entry["url"] == row["access_url"]
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert parts_in(tmp_path / "dl") == []
    again = table.download(tmp_path / "dl", progress=False)
    assert list(again["status"]) == ["cached"] * 3
    assert list(again["local_path"]) == list(result["local_path"])


def test_cutouts_and_quicklook_through_the_same_path(batch, sim, tmp_path):
    table = batch.query_scan(*SCAN, image=197, band="J")
    centre = (table["ra"][0], table["dec"][0])
    positions = Table(
        {"ra": [centre[0], centre[0]], "dec": [centre[1], centre[1] + 0.01]}
    )
    cutouts = batch.query_positions(positions, size=30, band="J")
    with pytest.warns(QuicklookWarning):
        quicklook = batch.query_scan(*SCAN, image=197, image_type="quicklook")
    result = cutouts.download(tmp_path / "cut", progress=False)
    assert set(result["status"]) == {"ok"}
    for row in result:
        with fits.open(row["local_path"]) as hdul:
            expected = cutouts[list(result["scntr"]).index(row["scntr"])].cutout()
            assert np.array_equal(hdul[0].data, expected[0].data)
            assert hdul[0].header["CUTOUT"] is True
    entry = Manifest(tmp_path / "cut").get(Path(result["local_path"][0]).name)
    assert entry["cutout"][2] == 30.0
    plain = quicklook.download(tmp_path / "ql", progress=False)
    stored = quicklook.download(tmp_path / "fz", progress=False, decompress=False)
    for row, p, s in zip(quicklook, plain, stored, strict=True):
        assert p["status"] == s["status"] == "ok"
        assert Path(s["local_path"]).name.endswith(".fits.fz")
        assert (
            Path(s["local_path"]).read_bytes()
            == sim.local_path(row["access_url"]).read_bytes()
        )
        with fits.open(p["local_path"]) as hdul:
            assert len(hdul) == 1
            assert np.array_equal(hdul[0].data, row.open()[0].data)
    assert Manifest(tmp_path / "ql").get(Path(plain["local_path"][0]).name)[
        "decompressed"
    ]


# ----------------------------------------------------------------- HTTP faults
@pytest.mark.parametrize(
    ("faults", "n_requests"),
    [
        ([("status", 500), ("status", 502), ("status", 504)], 4),
        ([("retry_after", 503, "0")], 2),
        ([("retry_after", 429, "0")], 2),
        ([("reset", 0.5)], 2),
        ([("short", 0.3)], 2),
        ([("short", 0.0)], 2),
        ([("length", 5760)], 2),
        ([("slow", 3.0)], 2),
        ([("stall", 3.0)], 2),
        ([("short", 0.5), ("norange",)], 2),
        ([("reset", 0.2), ("reset", 0.6), ("short", 0.9)], 4),
        ([("gzip",)], 1),
        ([("reset", 0.5), ("gzip",)], 2),
    ],
)
def test_transient_faults_are_retried(batch, server, tmp_path, faults, n_requests):
    table = http_table(batch, server, 3, shape=(200, 200))
    name = file_name_for(table[1])
    server.script(name, faults)
    result = download(
        table, tmp_path, progress=False, retries=FAST, timeout=1.0, max_bytes=None
    )
    assert_served_copy(result, server)
    assert len(server.requests_for(name)) == n_requests
    assert parts_in(tmp_path) == []


def test_short_body_resumes_with_a_range_request(batch, server, tmp_path):
    table = http_table(batch, server, 1, shape=(200, 200))
    name = file_name_for(table[0])
    size = len(server.files[name])
    server.script(name, [("short", 0.25), ("short", 0.5)])
    result = download(table, tmp_path, progress=False, retries=FAST, timeout=2.0)
    assert_served_copy(result, server)
    first, second, third = server.requests_for(name)
    assert first.range is None
    assert second.range == f"bytes={int(size * 0.25)}-" and second.status == 206
    assert third.range.startswith("bytes=") and third.status == 206
    assert int(third.range[6:-1]) > int(second.range[6:-1])


@pytest.mark.parametrize("kind", ["short", "reset"])
def test_a_cut_body_keeps_every_byte_received_for_the_retry(
    batch, server, tmp_path, kind
):
    """Bytes are written once per MiB; those received since are written too
    when the body ends short or the read fails, so the retry asks for the
    rest only: from the exact cut after a clean close; after a reset, from
    what the client got before it (the kernel drops what was unread)."""
    table = http_table(batch, server, 1, shape=(700, 700))  # 1.96 MB
    name = file_name_for(table[0])
    size = len(server.files[name])
    assert size > 1.5 * 2**20
    server.script(name, [(kind, 0.7)])  # 1.37 MB sent
    result = download(table, tmp_path, progress=False, retries=FAST, timeout=2.0)
    assert_served_copy(result, server)
    first, second = server.requests_for(name)
    assert first.range is None and second.status == 206
    start = int(second.range.removeprefix("bytes=").removesuffix("-"))
    if kind == "short":
        assert start == int(size * 0.7)
    else:  # none of the bytes read before the error is lost
        assert 0 < start <= int(size * 0.7)


def test_retry_after_is_honoured_for_the_whole_host(batch, server, tmp_path):
    table = http_table(batch, server, 3)
    names = [file_name_for(row) for row in table]
    server.script(names[0], [("retry_after", 429, "2")])
    server.script(names[1], [("slow", 1.0)])  # ends after the 429 was received
    result = download(table, tmp_path, progress=False, retries=FAST, max_workers=2)
    assert_served_copy(result, server)
    told = server.requests_for(names[0])[0]
    assert told.status == 429
    assert server.requests_for(names[0])[1].time >= told.time + 1.9
    # the third file started after the 429: it waited too, though never told
    assert server.requests_for(names[2])[0].time >= told.time + 1.9


def test_retry_after_as_an_http_date(batch, server, tmp_path):
    table = http_table(batch, server, 1)
    name = file_name_for(table[0])
    server.script(name, [("retry_after", 503, fault_server.http_date(2))])
    result = download(table, tmp_path, progress=False, retries=FAST)
    assert_served_copy(result, server)
    first, second = server.requests_for(name)
    assert second.time - first.time >= 0.9  # the date has a 1 s resolution


@pytest.mark.parametrize(
    ("faults", "n_requests", "message"),
    [
        ([("status", 404)], 1, "HTTP 404"),
        ([("status", 403)], 1, "HTTP 403"),
        ([("status", 410)], 1, "HTTP 410"),
        ([("html",)], 1, "not a FITS file"),
        ([("status", 500)] * 10, 5, "gave up after 5 attempts"),
        ([("retry_after", 503, "3600")], 1, "asked to wait 3600 s"),
    ],
)
def test_permanent_failures_are_reported(
    batch, server, tmp_path, caplog, faults, n_requests, message
):
    table = http_table(batch, server, 3)
    name = file_name_for(table[2])
    server.script(name, faults)
    with caplog.at_level(logging.WARNING, logger="twomass_vo"):
        result = download(table, tmp_path, progress=False, retries=FAST)
    assert list(result["status"]) == ["ok", "ok", "failed"]
    assert message in result["error"][2]
    assert result["local_path"][2] == ""
    assert len(server.requests_for(name)) == n_requests
    assert not (tmp_path / name).exists() and parts_in(tmp_path) == []
    assert name not in Manifest(tmp_path).entries
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 1 and name in failures[0].getMessage()
    assert message in failures[0].getMessage()


def test_the_time_budget_ends_the_retries(batch, server, tmp_path):
    table = http_table(batch, server, 1)
    name = file_name_for(table[0])
    server.script(name, [("status", 503)] * 50)
    policy = RetryPolicy(retries=50, backoff=0.2, max_backoff=0.4, budget=1.5)
    start = time.monotonic()
    result = download(table, tmp_path, progress=False, retries=policy)
    assert time.monotonic() - start < 3
    assert result["status"][0] == "failed"
    assert "budget" in result["error"][0]
    assert 2 <= len(server.requests_for(name)) < 12


def test_the_per_file_size_ceiling(batch, server, tmp_path):
    table = http_table(batch, server, 2, sizes=[(40, 40), (300, 300)])
    with conf.set_temp("max_file_size", 100_000):
        result = download(table, tmp_path, progress=False, retries=FAST)
    assert list(result["status"]) == ["ok", "failed"]
    assert "ceiling" in result["error"][1]
    assert len(server.requests_for(file_name_for(table[1]))) == 1
    assert parts_in(tmp_path) == []


def test_chaos_every_file_is_identical_or_failed(batch, server, tmp_path):
    """Random faults on 40% of the requests, 16 workers, some files missing."""
    table = http_table(batch, server, 60, shape=(120, 120))
    missing = {file_name_for(table[i]) for i in (5, 17, 42)}
    for name in missing:
        del server.files[name]
    server.chaos(
        seed=12,
        rate=0.4,
        kinds=[
            ("status", 500),
            ("status", 503),
            ("retry_after", 503, "0"),
            ("retry_after", 429, "0"),
            ("reset", 0.3),
            ("short", 0.6),
            ("length", 100),
            ("stall", 2.0),
        ],
    )
    policy = RetryPolicy(retries=8, backoff=0.01, max_backoff=0.05, budget=30)
    result = download(
        table, tmp_path, progress=False, retries=policy, timeout=0.5, max_workers=16
    )
    by_status = Counter(result["status"])
    assert by_status["ok"] + by_status["failed"] == len(table)
    injected = Counter(r.fault for r in server.requests if r.fault)
    assert sum(injected.values()) >= 20 and len(injected) == 8  # every kind
    for row in result:
        name = file_name_for(row)
        if row["status"] == "ok":
            assert (tmp_path / name).read_bytes() == server.files[name]
        else:
            assert row["error"] and not (tmp_path / name).exists()
    assert {file_name_for(r) for r in result if r["status"] == "failed"} >= missing
    assert by_status["ok"] >= 50
    assert parts_in(tmp_path) == []
    assert set(Manifest(tmp_path).entries) == {
        file_name_for(r) for r in result if r["status"] == "ok"
    }


def test_sixteen_concurrent_workers(batch, tmp_path):
    with FaultServer(latency=0.3) as server:
        table = http_table(batch, server, 48)
        start = time.monotonic()
        result = table.download(tmp_path, max_workers=16, progress=False)
        elapsed = time.monotonic() - start
    assert_served_copy(result, server)
    assert server.max_active >= 16
    assert elapsed < 48 * 0.3 / 4  # far from serial


def test_requests_to_one_host_are_capped(batch, tmp_path):
    from twomass_vo import conf

    with FaultServer(latency=0.2) as server, conf.set_temp("max_per_host", 3):
        table = http_table(batch, server, 24)
        result = table.download(tmp_path, max_workers=8, progress=False)
    assert_served_copy(result, server)
    assert 1 < server.max_active <= 3  # 8 workers, at most 3 at once to the host


# ----------------------------------------------------------------------- budget
@pytest.mark.parametrize("workers", [1, 8])
def test_the_budget_is_respected_to_one_file(batch, server, tmp_path, workers):
    rng = np.random.default_rng(3)
    sizes = [(int(s), 50) for s in rng.integers(20, 200, 40)]
    table = http_table(batch, server, 40, sizes=sizes)
    budget = 300_000
    result = table.download(
        tmp_path, max_bytes=budget, max_workers=workers, progress=False
    )
    status = np.asarray(result["status"])
    assert set(status) == {"ok", "deferred"}
    done = [len(server.files[file_name_for(r)]) for r in result if r["status"] == "ok"]
    largest = max(len(b) for b in server.files.values())
    assert sum(done) <= budget + largest
    assert sum(done) >= budget - workers * 1000  # estimates are rounded up to kB
    first_deferred = int(np.argmax(status == "deferred"))
    assert (status[first_deferred:] == "deferred").all()  # the rest, in order
    assert all(result["local_path"][status == "deferred"] == "")
    deferred = [file_name_for(r) for r in result if r["status"] == "deferred"]
    assert not any((tmp_path / name).exists() for name in deferred)
    assert not any(server.requests_for(name) for name in deferred)
    rest = result[status == "deferred"]
    second = rest.download(tmp_path, max_bytes=None, progress=False)
    assert set(second["status"]) == {"ok"}
    final = table.download(tmp_path, progress=False, max_bytes=0)
    assert set(final["status"]) == {"cached"}  # cached files cost no budget
    assert sorted(n for n in folder_state(tmp_path) if n != MANIFEST_NAME) == sorted(
        server.files
    )


def test_a_zero_budget_defers_everything(batch, server, tmp_path):
    table = http_table(batch, server, 5)
    result = table.download(tmp_path, max_bytes=0, progress=False)
    assert set(result["status"]) == {"deferred"}
    assert server.requests == []
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST_NAME]


# ------------------------------------------------------------------ resume
class Stop(KeyboardInterrupt):
    """Ctrl-C after k files."""


def stop_after(k):
    def progress(files, total_files, nbytes, total_bytes):
        assert files <= total_files and nbytes <= total_bytes * 2
        if files >= k:
            raise Stop()

    return progress


@pytest.mark.parametrize("workers", [1, 6])
def test_an_interrupted_run_resumed_gives_the_uninterrupted_result(
    batch, tmp_path, workers
):
    with FaultServer(latency=0.02) as server:
        table = http_table(batch, server, 30, shape=(100, 100))
        reference = table.download(
            tmp_path / "ref", max_workers=workers, progress=False
        )
        assert_served_copy(reference, server)
        folder = tmp_path / "stopped"
        with pytest.raises(Stop):
            table.download(folder, max_workers=workers, progress=stop_after(7))
        assert parts_in(folder) == []
        written = [p for p in folder.iterdir() if p.suffix == ".fits"]
        assert 7 <= len(written) < 30
        for path in written:  # a final name is always a complete file
            assert path.read_bytes() == server.files[path.name]
        assert set(Manifest(folder).entries) == {p.name for p in written}
        before = len(server.requests)
        resumed = table.download(folder, max_workers=workers, progress=False)
        assert len(server.requests) - before == 30 - len(written)
    assert Counter(resumed["status"]) == {
        "cached": len(written),
        "ok": 30 - len(written),
    }
    assert folder_state(folder) == folder_state(tmp_path / "ref")


@pytest.mark.slow
def test_a_killed_run_resumed_gives_the_uninterrupted_result(batch, tmp_path):
    """SIGKILL a ``twomass-vo download`` after k files; resume in process."""
    with FaultServer(latency=0.25) as server:
        table = http_table(batch, server, 40, shape=(150, 150))
        table.write(tmp_path / "table.ecsv")
        reference = table.download(tmp_path / "ref", max_workers=4, progress=False)
        folder = tmp_path / "killed"
        command = [
            sys.executable,
            "-m",
            "twomass_vo.cli",
            "download",
            str(tmp_path / "table.ecsv"),
            str(folder),
            "--max-workers",
            "4",
        ]
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 60
            manifest = folder / MANIFEST_NAME
            while time.monotonic() < deadline and proc.poll() is None:
                if manifest.exists() and len(manifest.read_text().splitlines()) >= 8:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, proc.stderr.read().decode()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
            proc.stderr.close()
        written = [p for p in folder.iterdir() if p.suffix == ".fits"]
        assert 8 <= len(written) < 40
        for path in written:
            assert path.read_bytes() == server.files[path.name]
        resumed = table.download(folder, max_workers=4, progress=False)
    assert set(resumed["status"]) == {"ok", "cached"}
    assert Counter(resumed["status"])["cached"] >= 8
    assert parts_in(folder) == []  # leftovers of the killed run were removed
    assert folder_state(folder) == folder_state(tmp_path / "ref")
    assert_served_copy(reference, server)


def test_existing_files_are_checked_before_they_are_kept(batch, server, tmp_path):
    table = http_table(batch, server, 4)
    names = [file_name_for(row) for row in table]
    (tmp_path / names[0]).write_bytes(server.files[names[0]][:-2880])  # truncated
    (tmp_path / names[1]).write_bytes(server.files[names[1]])  # complete, unrecorded
    result = table.download(tmp_path, progress=False)
    assert list(result["status"]) == ["ok", "cached", "ok", "ok"]
    assert_served_copy(result[[0, 2, 3]], server)
    assert names[1] in Manifest(tmp_path).entries  # recorded now, with its checksum
    assert (
        Manifest(tmp_path).get(names[1])["sha256"]
        == hashlib.sha256(server.files[names[1]]).hexdigest()
    )
    # a recorded file whose size changed, or recorded for another URL, is fetched
    (tmp_path / names[2]).write_bytes(small_fits(99, (10, 10)))
    moved = table.copy()
    moved["access_url"] = moved["access_url"].astype("U256")
    moved["access_url"][3] = server.url(names[3]) + "?mirror=1"  # same file
    again = moved.download(tmp_path, progress=False)
    assert list(again["status"]) == ["cached", "cached", "ok", "ok"]
    forced = table.download(tmp_path, progress=False, overwrite=True)
    assert set(forced["status"]) == {"ok"}


def test_rows_of_one_file_are_fetched_once(batch, server, tmp_path):
    table = http_table(batch, server, 3)
    from astropy.table import vstack

    doubled = ImageTable(vstack([table, table[1:2]]), archive=None)
    result = doubled.download(tmp_path, progress=False)
    assert list(result["status"]) == ["ok"] * 4
    assert result["local_path"][1] == result["local_path"][3]
    assert len(server.requests_for(file_name_for(table[1]))) == 1


def test_manifest_survives_a_cut_line(tmp_path):
    (tmp_path / "a.fits").write_bytes(small_fits(0))
    line = json.dumps({"name": "a.fits", "url": "u", "size": 1, "sha256": "x"})
    (tmp_path / MANIFEST_NAME).write_text(line + "\n" + line[:20])
    manifest = Manifest(tmp_path)
    assert list(manifest.entries) == ["a.fits"]
    manifest.close()
    entry = {"name": "a.fits", "url": "u", "size": 1, "sha256": "x"}
    assert (tmp_path / MANIFEST_NAME).read_text() == json.dumps(
        entry, sort_keys=True
    ) + "\n"


def test_one_run_per_folder(batch, server, tmp_path):
    table = http_table(batch, server, 2)
    with folder_lock(tmp_path), pytest.raises(OSError, match="in use by another"):
        table.download(tmp_path, progress=False)
    assert set(table.download(tmp_path, progress=False)["status"]) == {"ok"}


# --------------------------------------------------------------------- safety
@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("ordate", "../../x", "2MASS image identity"),
        ("band", "/", "2MASS image identity"),
        ("access_url", "ftp://example.org/x.fits", "unsupported URL scheme"),
        ("access_url", "data:,SIMPLE", "unsupported URL scheme"),
        ("access_url", "", "no URL"),
    ],
)
def test_bad_rows_fail_alone(batch, server, tmp_path, column, value, message):
    table = http_table(batch, server, 3)
    table[column] = table[column].astype("U64")
    table[column][1] = value
    outside = sorted(p.name for p in tmp_path.parent.iterdir())
    result = table.download(tmp_path / "dl", progress=False)
    assert list(result["status"]) == ["ok", "failed", "ok"]
    assert message in result["error"][1]
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == outside
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == sorted(
        [MANIFEST_NAME, file_name_for(table[0]), file_name_for(table[2])]
    )


def test_a_table_read_from_csv_keeps_its_leading_zero_dates(batch, tmp_path):
    table = batch.query_coadd_keys([1590591], band="J")  # ordate 001022
    assert table["ordate"][0].startswith("0")
    table.write(tmp_path / "t.csv")
    back = ImageTable.read(tmp_path / "t.csv")
    assert back["ordate"].dtype.kind == "i"
    result = back.download(tmp_path / "dl", progress=False)
    assert result["status"][0] == "ok"
    assert Path(result["local_path"][0]).name == file_name_for(table[0])


# ---------------------------------------------------------------------- cache
def test_http_files_opened_are_cached_and_cleared(batch, server):
    table = http_table(batch, server, 2)
    name = file_name_for(table[0])
    hdul = table[0].open()
    assert hdul[0].header["SEED"] == 0
    again = ImageTable(table.copy(), archive=None)  # a fresh loader
    assert again[0].open()[0].header["SEED"] == 0
    assert len(server.requests_for(name)) == 1
    cached = list(cache_dir().rglob("*.fits"))
    assert len(cached) == 1 and cached[0].read_bytes() == server.files[name]
    assert clear_cache() == 1
    assert list(cache_dir().rglob("*")) == []
    ImageTable(table.copy(), archive=None)[0].open()
    assert len(server.requests_for(name)) == 2


def test_download_copies_what_the_cache_holds(batch, server, tmp_path):
    table = http_table(batch, server, 3)
    names = [file_name_for(row) for row in table]
    table[0].open()  # cached
    result = table.download(tmp_path / "out", progress=False)
    assert list(result["status"]) == ["ok"] * 3
    assert [len(server.requests_for(n)) for n in names] == [1, 1, 1]
    for name in names:
        assert (tmp_path / "out" / name).read_bytes() == server.files[name]


def test_download_with_an_empty_or_missing_cache_fetches(batch, server, tmp_path):
    table = http_table(batch, server, 2)
    names = [file_name_for(row) for row in table]
    assert not cache_dir().exists()
    first = table.download(tmp_path / "a", progress=False)
    cache_dir().mkdir(parents=True)
    second = table.download(tmp_path / "b", progress=False)
    assert list(first["status"]) == list(second["status"]) == ["ok", "ok"]
    assert [len(server.requests_for(n)) for n in names] == [2, 2]


def test_a_temporary_name_clash_draws_another_name(tmp_path, monkeypatch):
    import random

    from twomass_vo._files.atomic_files import PART_PREFIX, atomic_writer

    draws = iter([7, 7, 7, 8])
    monkeypatch.setattr(random, "getrandbits", lambda bits: next(draws))
    folder = tmp_path / "new" / "folder"  # made when the first try finds none
    with atomic_writer(folder / "a.fits") as fh:  # 7 (no folder), then 7
        fh.write(b"a")
    (folder / f"{PART_PREFIX}{7:032x}").write_bytes(b"someone else's")
    with atomic_writer(folder / "b.fits") as fh:  # 7 is taken: 8
        fh.write(b"b")
    assert next(draws, None) is None
    assert (folder / "a.fits").read_bytes() == b"a"
    assert (folder / "b.fits").read_bytes() == b"b"
    assert (folder / f"{PART_PREFIX}{7:032x}").read_bytes() == b"someone else's"


def test_errors_are_never_cached(batch, server):
    table = http_table(batch, server, 1)
    name = file_name_for(table[0])
    server.script(name, [("status", 404), ("html",), "ok"])
    with pytest.raises(FetchError, match="HTTP 404"):
        cached_path(table["access_url"][0], retries=FAST)
    with pytest.raises(ValueError, match="not a FITS file"):
        cached_path(table["access_url"][0], retries=FAST)
    assert not cache_dir().exists() or not list(cache_dir().rglob("*.fits"))
    path = cached_path(table["access_url"][0], retries=FAST)
    assert path.read_bytes() == server.files[name]
    assert len(server.requests_for(name)) == 3


def test_cutouts_of_http_images_fetch_each_image_once(batch, sim, server, tmp_path):
    table = batch.query_scan(*SCAN, image=197, band="J")
    name = file_name_for(table[0])
    server.files[name] = sim.local_path(table["access_url"][0]).read_bytes()
    centre = (table["ra"][0], table["dec"][0])
    positions = Table(
        {"ra": [centre[0]] * 3, "dec": [centre[1] + d for d in (-0.01, 0, 0.01)]}
    )
    cutouts = batch.query_positions(positions, size=20, band="J", best=True)
    assert list(cutouts["coadd_key"]) == [table["coadd_key"][0]] * 3
    expected = [row.cutout()[0].data for row in cutouts]
    cutouts["access_url"] = [server.url(name)] * len(cutouts)
    cutouts.archive = None
    result = cutouts.download(tmp_path, progress=False, max_workers=3)
    assert list(result["status"]) == ["ok"] * 3
    for path, data in zip(result["local_path"], expected, strict=True):
        with fits.open(path) as hdul:
            assert np.array_equal(hdul[0].data, data)
    assert len(server.requests_for(name)) == 1


def test_cutouts_of_one_file_decompress_it_once(batch, sim, tmp_path, monkeypatch):
    import twomass_vo.retrieval.tasks as tasks

    opened = Counter()
    real = tasks.open_fits

    def counting(path, **kwargs):
        opened[str(path)] += 1
        return real(path, **kwargs)

    monkeypatch.setattr(tasks, "open_fits", counting)
    monkeypatch.setattr(tasks, "_IMAGES", tasks._ImageCache())
    table = batch.query_scan(*SCAN, image=197, band="J")
    centre = (table["ra"][0], table["dec"][0])
    positions = Table(
        {"ra": [centre[0]] * 4, "dec": [centre[1] + d for d in (-0.02, -0.01, 0, 0.01)]}
    )
    with pytest.warns(QuicklookWarning):
        cutouts = batch.query_positions(
            positions, size=20, band="J", best=True, image_type="quicklook"
        )
    expected = [row.cutout()[0].data for row in cutouts]
    (original,) = {sim.local_path(url) for url in cutouts["access_url"]}
    source = tmp_path / "jq.fits"  # a copy: the session's survey stays as it is
    source.write_bytes(original.read_bytes())
    cutouts["access_url"] = [source.as_uri()] * len(cutouts)
    cutouts.archive = None
    result = cutouts.download(tmp_path / "a", progress=False, max_workers=2)
    assert list(result["status"]) == ["ok"] * 4
    for path, data in zip(result["local_path"], expected, strict=True):
        with fits.open(path) as hdul:
            assert np.array_equal(hdul[0].data, data)
    assert opened[str(source)] <= 2  # two workers may both miss it first
    # a file changed on disk (size, time) is read again
    with fits.open(source) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    hdul[1].data = hdul[1].data // 2
    hdul.writeto(source, overwrite=True)
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))
    before = opened[str(source)]
    again = cutouts.download(tmp_path / "b", progress=False, max_workers=1)
    assert opened[str(source)] == before + 1
    with fits.open(again["local_path"][0]) as hdul:
        assert not np.array_equal(hdul[0].data, expected[0])


# ------------------------------------------------------------------ executors
def test_a_thread_pool_executor(batch, server, tmp_path):
    table = http_table(batch, server, 12)
    with cf.ThreadPoolExecutor(3) as pool:
        result = table.download(tmp_path, executor=pool, progress=False)
        assert pool.submit(int, "7").result() == 7  # still usable: not shut down
    assert_served_copy(result, server)


def test_a_thread_pool_smaller_than_max_workers_runs_every_file(
    batch, server, tmp_path
):
    table = http_table(batch, server, 12)
    with cf.ThreadPoolExecutor(2) as pool:  # 6 jobs asked, 2 threads to run them
        result = table.download(tmp_path, executor=pool, max_workers=6, progress=False)
    assert_served_copy(result, server)


@pytest.mark.parametrize("workers", [1, 8])
def test_the_progress_callback_hears_of_every_file_in_the_calling_thread(
    batch, server, tmp_path, workers
):
    import threading

    table = http_table(batch, server, 20)
    calls = []

    def progress(files, total_files, nbytes, total_bytes):
        calls.append((files, total_files, nbytes, threading.current_thread()))

    result = table.download(tmp_path, max_workers=workers, progress=progress)
    assert_served_copy(result, server)
    assert [c[0] for c in calls] == list(range(1, 21))
    assert {c[1] for c in calls} == {20}
    assert calls[-1][2] == sum(len(b) for b in server.files.values())
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)
    assert {c[3] for c in calls} == {threading.main_thread()}


@pytest.mark.slow
def test_a_process_pool_executor(batch, server, tmp_path):
    import multiprocessing

    table = http_table(batch, server, 8)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(2, mp_context=context) as pool:
        result = table.download(tmp_path, executor=pool, progress=False)
    assert_served_copy(result, server)


@pytest.mark.slow
# distributed's own notices on a busy machine, not failures of the test
@pytest.mark.filterwarnings("ignore:Creating scratch directories:UserWarning")
@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
def test_a_dask_local_cluster_gives_the_same_files(batch, tmp_path):
    distributed = pytest.importorskip("distributed")
    with FaultServer(latency=0.02) as server:
        table = http_table(batch, server, 24, shape=(100, 100))
        server.script(file_name_for(table[3]), [("status", 503), ("reset", 0.5)])
        server.files.pop(file_name_for(table[5]))
        threads = table.download(tmp_path / "threads", progress=False)
        server.script(file_name_for(table[3]), [("status", 503), ("reset", 0.5)])
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=2,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address=None,
                local_directory=tmp_path / "dask-scratch",
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            result = table.download(tmp_path / "dask", executor=client, progress=False)
            workers = client.nthreads()
    assert len(workers) == 2
    assert list(result["status"]) == list(threads["status"])
    assert result["status"][5] == "failed" and "HTTP 404" in result["error"][5]
    assert folder_state(tmp_path / "dask") == folder_state(tmp_path / "threads")


def test_bad_arguments(batch, server, tmp_path):
    table = http_table(batch, server, 1)
    with pytest.raises(ValueError, match="max_workers"):
        table.download(tmp_path, max_workers=0)
    with pytest.raises(ValueError, match="max_bytes"):
        table.download(tmp_path, max_bytes=-1)
    with pytest.raises(ValueError, match="retries"):
        table.download(tmp_path, retries=-2)
    with pytest.raises(TypeError, match="executor"):
        table.download(tmp_path, executor=object())
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        table.download(tmp_path / "file")


# ------------------------------------------------------------------- progress
class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("use_tqdm", [True, False])
def test_one_bar_on_a_terminal(batch, server, tmp_path, monkeypatch, use_tqdm):
    if use_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    table = http_table(batch, server, 5)
    stream = FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    table.download(tmp_path / "a", progress=True)
    assert "5/5 files" in stream.getvalue()
    quiet = FakeTTY()
    monkeypatch.setattr(sys, "stderr", quiet)
    table.download(tmp_path / "b", progress=False)
    assert quiet.getvalue() == ""


def test_quiet_when_not_a_terminal(batch, server, tmp_path, capsys):
    table = http_table(batch, server, 3)
    table.download(tmp_path, progress=True)
    assert capsys.readouterr() == ("", "")


def test_progress_callback(batch, server, tmp_path):
    table = http_table(batch, server, 4)
    calls = []
    table.download(tmp_path, progress=lambda *a: calls.append(a), max_workers=1)
    assert [c[0] for c in calls] == [1, 2, 3, 4]
    assert {c[1] for c in calls} == {4}
    assert calls[-1][2] == sum(len(b) for b in server.files.values())


# --------------------------------------------------------------- retry policy
def test_backoff_is_exponential_with_jitter():
    import random

    policy = RetryPolicy(backoff=0.5, max_backoff=4.0)
    rng = random.Random(1)
    for attempt, cap in enumerate([0.5, 1, 2, 4, 4, 4]):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert cap / 2 <= min(delays) and max(delays) <= cap
        assert max(delays) - min(delays) > cap / 4  # jitter


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("soon", None),
        (None, None),
        ("-3", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_future_date():
    now = 1_000_000_000.0
    header = fault_server.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30)


def test_a_host_held_back_stays_held_until_the_longest_hold_ends():
    from twomass_vo._http.retry_policy import hold_host, host_wait

    host = "held-back.invalid:8080"
    assert host_wait(host) <= 0
    hold_host(host, 30)
    hold_host(host, 1)  # a shorter hold does not shorten it
    assert 29 < host_wait(host) <= 30
    assert host_wait("other.invalid") <= 0


def test_released_hosts_are_asked_again_at_once():
    from twomass_vo._http.retry_policy import hold_host, host_wait, release_hosts

    hold_host("a.invalid", 30)
    hold_host("b.invalid", 30)
    release_hosts("a.invalid")
    assert host_wait("a.invalid") <= 0 < host_wait("b.invalid")
    release_hosts()
    assert host_wait("b.invalid") <= 0


def test_retry_policy_validation():
    with pytest.raises(ValueError, match="retries"):
        RetryPolicy(retries=-1)
    with pytest.raises(ValueError, match="budget"):
        RetryPolicy(budget=-1)


# ------------------------------------------------------------------------ CLI
@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GiB", 2**30),
        ("500MB", 500_000_000),
        ("2G", 2_000_000_000),
        ("1.5KiB", 1536),
        ("123", 123),
        ("none", None),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


SIZE_TEXTS = ["1GiB", "500MB", "2G", "1.5 KiB", "123", " 7 bytes", "none", "0", ".5k"]
BAD_SIZE_TEXTS = ["5iB", "1 iB", "lots", "1 GiBB", "-5", "1e3", "5 Mi B", ""]


@pytest.mark.parametrize("text", SIZE_TEXTS + BAD_SIZE_TEXTS)
def test_one_byte_size_grammar_for_the_cli_and_the_api(text):
    # --max-bytes and max_bytes= accept and refuse the same texts
    try:
        expected = byte_count(text)
    except ValueError:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(repr(text))):
            parse_size(text)
        assert text in BAD_SIZE_TEXTS
    else:
        assert parse_size(text) == expected
        assert text in SIZE_TEXTS


def test_cli_refuses_a_size_without_a_prefix(capsys, tmp_path):
    # "5iB" was 5 bytes on the command line and an error in the API
    with pytest.raises(SystemExit) as info:
        main(["download", str(tmp_path / "t.vot"), str(tmp_path), "--max-bytes", "5iB"])
    assert info.value.code == 2
    assert "'5iB' is not a size" in capsys.readouterr().err


def run_cli(capsys, *argv):
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_download_a_table_and_its_rest(batch, server, tmp_path, capsys):
    table = http_table(batch, server, 10, shape=(60, 60))
    table.write(tmp_path / "images.vot", format="votable")
    folder = tmp_path / "images"
    budget = sum(len(b) for b in list(server.files.values())[:4])
    status, out, err = run_cli(
        capsys,
        "download",
        tmp_path / "images.vot",
        folder,
        "--max-bytes",
        str(budget),
        "--max-workers",
        "1",
        "--no-progress",
        "--rest",
        tmp_path / "rest.tbl",
        "-o",
        tmp_path / "status.ecsv",
    )
    assert (status, err) == (1, "")
    assert "deferred (byte budget)" in out
    rest = Table.read(tmp_path / "rest.tbl", format="ascii.ipac")
    done = Table.read(tmp_path / "status.ecsv")
    assert set(done["status"]) == {"ok", "deferred"}
    assert len(rest) == Counter(done["status"])["deferred"] > 0
    status, out, err = run_cli(
        capsys, "download", tmp_path / "rest.tbl", folder, "--max-bytes", "none"
    )
    assert (status, err) == (0, "")
    assert out == f"{len(rest)} file(s) in {folder}\n"
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".fits") == sorted(
        server.files
    )
    for name, body in server.files.items():
        assert (folder / name).read_bytes() == body


def test_cli_download_failures_are_logged_one_line_each(
    batch, server, tmp_path, capsys
):
    table = http_table(batch, server, 4)
    table.write(tmp_path / "t.ecsv")
    for row in table[1:3]:
        server.script(file_name_for(row), [("status", 404)])
    status, out, err = run_cli(
        capsys,
        "download",
        tmp_path / "t.ecsv",
        tmp_path / "dl",
        "--retries",
        "0",
        "--timeout",
        "5",
    )
    assert status == 1
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("twomass-vo: ") and "HTTP 404" in line for line in lines)
    assert "2 failed" in out
    # the line to run to continue: this very command
    command = f"twomass-vo download {tmp_path / 't.ecsv'} {tmp_path / 'dl'}"
    assert f"run: {command} --retries 0 --timeout 5" in out
    status, out, err = run_cli(capsys, "download", tmp_path / "t.ecsv", tmp_path / "dl")
    assert (status, err) == (0, "")


def test_cli_query_mode_with_a_budget(batch, sim, tmp_path, capsys):
    folder = tmp_path / "dl"
    status, out, err = run_cli(
        capsys,
        "--archive",
        "sim",
        "scan",
        *SCAN,
        "--band",
        "J",
        "-o",
        tmp_path / "scan.vot",
        "--download",
        folder,
        "--max-bytes",
        "5MB",
        "--max-workers",
        "2",
    )
    assert (status, err) == (1, "")
    assert len([p for p in folder.iterdir() if p.suffix == ".fits"]) == 3
    status, out, err = run_cli(
        capsys, "download", tmp_path / "scan.vot", folder, "--max-bytes", "none"
    )
    assert (status, err) == (0, "")
    assert out == f"23 file(s) in {folder}\n"


def test_cli_download_errors(tmp_path, capsys):
    status, _, err = run_cli(capsys, "download", tmp_path / "nothere.vot", tmp_path)
    assert status == 2 and "nothere.vot" in err and len(err.splitlines()) == 1
    # IRSA is the default archive: bad input still fails before any request
    status, _, err = run_cli(capsys, "scan", "97084", "n", "96")
    assert status == 2 and "97084" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["download", "t.vot", "dl", "--max-bytes", "lots"])


def test_cli_ctrl_c_says_how_to_resume(batch, server, tmp_path, capsys, monkeypatch):
    table = http_table(batch, server, 3)
    table.write(tmp_path / "t.ecsv")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ImageTable, "download", interrupted)
    status, _, err = run_cli(capsys, "download", tmp_path / "t.ecsv", tmp_path / "dl")
    assert status == 130
    assert err.startswith("twomass-vo: interrupted")
    assert f"to continue, run: twomass-vo download {tmp_path / 't.ecsv'}" in err


# ----------------------------------------------------------------- the budget
def test_the_budget_counts_live_bytes_and_stays_closed():
    from twomass_vo.retrieval.runs import Budget

    budget = Budget(1000, 5)
    assert budget.mean_size() == 0
    assert budget.admit(0, 300) and budget.admit(1, 300)
    budget.live[0] = 600  # more than its estimate: the real bytes count
    assert budget.in_flight() == 600
    assert budget.admit(2, 100)  # 600 + 300 spent
    budget.finish(0, 600, ok=True)
    budget.finish(1, 0, ok=False)  # a failed file counts what it received: 0
    assert budget.mean_size() == 600  # of the files written
    budget.live[2] = 450  # past its estimate of 100
    assert not budget.admit(3, 1)  # 600 + 450 >= 1000
    budget.finish(2, 450, ok=True)
    assert not budget.admit(4, 0) and budget.closed  # it stays closed
    assert budget.admitted == 3 and budget.in_flight() == 0
    assert budget.mean_size() == 525


def test_the_budget_takes_the_mean_size_for_a_file_of_unknown_size():
    from twomass_vo.retrieval.runs import Budget

    budget = Budget(1000, 3)
    assert budget.admit(0, 0)
    budget.finish(0, 600, ok=True)
    assert budget.admit(1, 0)  # counted as 600, the mean of the files written
    assert not budget.admit(2, 0)  # 600 done + 600 expected >= 1000
