# Licensed under a 3-clause BSD style license - see LICENSE
"""Downloads and local copies against hostile or broken sources (issue 8).

Every server here is ``tests/servers/fault_server.py`` on 127.0.0.1. A call that
could hang without the fix runs in a thread joined with a generous limit, so
a regression fails instead of hanging the suite; no test asserts a speed.
"""

import io
import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u

from twomass_vo import conf
from twomass_vo._http.fetch import FetchError, fetch
from twomass_vo._http.retry_policy import RetryPolicy
from twomass_vo.retrieval import byte_count
from twomass_vo.retrieval.loaders import file_name_for

from .test_retrieval import FaultServer, http_table, small_fits

#: The longest any call here may take before the test fails as "hung".
HANG = 60


def bounded(function, *args, **kwargs):
    """Run ``function`` in a thread; fail if it has not returned after HANG s."""
    out = {}

    def run():
        try:
            out["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"{function.__name__} did not return: it hangs"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path):
    with conf.set_temp("cache_dir", str(tmp_path / "cache")):
        yield


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


# ------------------------------------------------------------------------- time
@pytest.mark.parametrize("kind", ["trickle", "headers_forever"])
def test_a_one_byte_per_second_server_is_given_up_on(server, kind):
    server.files["a.fits"] = small_fits(1)
    server.script("a.fits", [(kind, 0.05)] * 50)
    policy = RetryPolicy(retries=2, backoff=0.01, budget=30, attempt_timeout=0.5)
    with pytest.raises(FetchError, match="deadline passed") as info:
        bounded(fetch, server.url("a.fits"), io.BytesIO(), timeout=5, policy=policy)
    assert "gave up after 3 attempts" in str(info.value)
    assert len(server.requests_for("a.fits")) == 3


def test_the_budget_includes_the_attempts(server):
    server.files["a.fits"] = small_fits(1)
    server.script("a.fits", [("trickle", 0.05)] * 50)
    policy = RetryPolicy(retries=50, backoff=0.01, budget=1.0, attempt_timeout=100)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"deadline passed|budget") as info:
        bounded(fetch, server.url("a.fits"), io.BytesIO(), timeout=5, policy=policy)
    assert "gave up after" not in str(info.value)  # the budget ended it, not retries
    assert time.monotonic() - start < HANG


def test_a_trickling_download_fails_and_the_others_are_written(batch, server, tmp_path):
    table = http_table(batch, server, 3)
    slow = file_name_for(table[1])
    server.script(slow, [("trickle", 0.05)] * 20)
    with (
        conf.set_temp("attempt_timeout", 0.5),
        conf.set_temp("retry_budget", 2.0),
    ):
        result = bounded(table.download, tmp_path, progress=False, retries=1)
    assert list(result["status"]) == ["ok", "failed", "ok"]
    assert "deadline passed" in result["error"][1]
    assert not (tmp_path / slow).exists()


# ------------------------------------------------------------------ Retry-After
def test_a_huge_retry_after_is_capped(server):
    server.files["a.fits"] = body = small_fits(2)
    server.script("a.fits", [("retry_after", 503, "99999999"), "ok"])
    policy = RetryPolicy(retries=3, backoff=0.01, budget=30, max_retry_after=0.2)
    out = io.BytesIO()
    result = bounded(fetch, server.url("a.fits"), out, policy=policy)
    assert out.getvalue() == body and result.attempts == 2


def test_a_huge_retry_after_does_not_block_the_host_for_good(server):
    server.files["a.fits"] = body = small_fits(3)
    server.script("a.fits", [("retry_after", 429, "99999999")])
    policy = RetryPolicy(retries=3, backoff=0.01, budget=0.3, max_retry_after=0.6)
    with pytest.raises(FetchError, match=r"99999999 s \(capped at 0.6 s\)"):
        bounded(fetch, server.url("a.fits"), io.BytesIO(), policy=policy)
    time.sleep(0.7)  # the capped wait is over: a later call tries again
    out = io.BytesIO()
    bounded(fetch, server.url("a.fits"), out, policy=policy)
    assert out.getvalue() == body


def test_the_retry_after_cap_is_a_config_item(batch, server, tmp_path):
    table = http_table(batch, server, 1)
    name = file_name_for(table[0])
    server.script(name, [("retry_after", 503, "99999999"), "ok"])
    with conf.set_temp("max_retry_after", 0.1):
        result = bounded(table.download, tmp_path, progress=False)
    assert result["status"][0] == "ok"


# ------------------------------------------------------------------ byte budget
def test_understated_sizes_cannot_blow_the_budget(batch, server, tmp_path):
    sizes = [(200, 100)] * 30  # 80 kB files ...
    table = http_table(batch, server, 30, sizes=sizes)
    table["access_estsize"] = 1  # ... announced as 1 kB
    largest = max(len(b) for b in server.files.values())
    budget, workers = 200_000, 4
    result = table.download(
        tmp_path, max_bytes=budget, max_workers=workers, progress=False
    )
    written = sum(
        os.path.getsize(p)
        for p, s in zip(result["local_path"], result["status"], strict=True)
        if s == "ok"
    )
    assert 0 < written <= budget + workers * largest
    assert set(result["status"]) == {"ok", "deferred"}
    started = {r.path for r in server.requests}
    assert len(started) <= math.ceil(budget / largest) + workers


def test_bytes_count_as_they_arrive(batch, server, tmp_path):
    """A large file under way counts before it ends: nothing new starts."""
    sizes = [(600, 600)] + [(20, 20)] * 40  # 1.4 MB, then 40 small files
    table = http_table(batch, server, 41, sizes=sizes)
    table["access_estsize"] = 1
    big = file_name_for(table[0])
    server.script(big, [("stall", 2.0)])  # half the body at once, then 2 s
    result = bounded(
        table.download, tmp_path, max_bytes=300_000, max_workers=2, progress=False
    )
    assert result["status"][0] == "ok"
    small_started = {r.path for r in server.requests} - {big}
    # without counting live bytes, the small files go on during the stall
    assert len(small_started) <= 3
    assert (np.asarray(result["status"][1:]) == "deferred").sum() >= 37


# ---------------------------------------------------------------- max_bytes form
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1GiB", 2**30),
        ("500MB", 500_000_000),
        ("1.5 KiB", 1536),
        ("2G", 2_000_000_000),
        ("123", 123),
        (" 7 bytes", 7),
        ("none", None),
        (None, None),
        (1 * u.GB, 10**9),
        (2 * u.Gibyte, 2 * 2**30),
        (1000, 1000),
        (np.int64(5), 5),
    ],
)
def test_byte_counts(value, expected):
    assert byte_count(value) == expected


@pytest.mark.parametrize(
    "value",
    ["lots", "1 GiBB", "-5", "1 iB", -1, 1.5, True, 1 * u.m, [1, 2], float("nan")],
)
def test_bad_byte_counts_are_named(batch, server, tmp_path, value):
    table = http_table(batch, server, 1)
    with pytest.raises(ValueError, match="max_bytes=") as info:
        table.download(tmp_path / "d", max_bytes=value, progress=False)
    assert repr(value) in str(info.value)
    assert server.requests == [] and not (tmp_path / "d").exists()


def test_the_readme_budgets(batch, server, tmp_path):
    table = http_table(batch, server, 2)
    for k, budget in enumerate(["1GiB", 1 * u.GB]):
        result = table.download(tmp_path / str(k), max_bytes=budget, progress=False)
        assert set(result["status"]) == {"ok"}


# ---------------------------------------------------------------- local sources
@pytest.fixture
def local_rows(batch):
    table = batch.query_scan("971031", "n", 96)[:2].copy()
    table.archive = None
    return table


def _with_url(table, url):
    table = table.copy()
    table.archive = None
    table["access_url"] = [url] * len(table)
    table["access_estsize"] = 1
    return table


def test_dev_zero_is_refused(local_rows, tmp_path):
    table = _with_url(local_rows, "file:///dev/zero")
    with conf.set_temp("max_file_size", 10_000_000):
        result = bounded(table.download, tmp_path, progress=False)
        assert set(result["status"]) == {"failed"}
        assert "character device, not a regular file" in result["error"][0]
        with pytest.raises(ValueError, match="character device"):
            bounded(table[0].open)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twomass_vo-manifest.jsonl"]


def test_a_fifo_is_refused_without_blocking(local_rows, tmp_path):
    fifo = tmp_path / "pipe.fits"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would block
    table = _with_url(local_rows, fifo.as_uri())
    result = bounded(table.download, tmp_path / "out", progress=False)
    assert set(result["status"]) == {"failed"}
    assert "FIFO" in result["error"][0]
    with pytest.raises(ValueError, match="FIFO"):
        bounded(table[0].open)
    plain = _with_url(local_rows, str(fifo))  # a plain path, no scheme
    assert "FIFO" in bounded(plain.download, tmp_path / "p", progress=False)["error"][0]


def test_the_per_file_ceiling_applies_to_local_files(local_rows, sim, tmp_path):
    source = sim.local_path(local_rows["access_url"][0])
    size = source.stat().st_size
    table = _with_url(local_rows[:1], source.as_uri())
    with conf.set_temp("max_file_size", size - 1):
        result = table.download(tmp_path / "a", progress=False)
        assert result["status"][0] == "failed"
        assert "over the per-file ceiling" in result["error"][0]
        with pytest.raises(ValueError, match="over the per-file ceiling"):
            table[0].open()
        with pytest.raises(ValueError, match="over the per-file ceiling"):
            table[0].download(tmp_path / "b")
    assert table.download(tmp_path / "c", progress=False)["status"][0] == "ok"
    assert table[0].open()[0].data.shape == (1024, 512)


def test_file_urls_with_a_host_are_refused(local_rows, tmp_path):
    table = _with_url(local_rows, "file://evil.example.org/etc/passwd")
    result = table.download(tmp_path, progress=False)
    assert set(result["status"]) == {"failed"}
    assert "with a host ('evil.example.org')" in result["error"][0]
    with pytest.raises(ValueError, match="with a host"):
        table[0].open()
    ok = _with_url(local_rows, "file://localhost/nonexistent/x.fits")
    assert "with a host" not in ok.download(tmp_path, progress=False)["error"][0]


def test_errors_never_quote_file_bytes(local_rows, tmp_path):
    secret = tmp_path / "secret.fits"
    secret.write_bytes(b"SECRET-TOKEN=hunter2\n" * 200)
    table = _with_url(local_rows, secret.as_uri())
    result = table.download(tmp_path / "out", progress=False)
    assert result["status"][0] == "failed"
    with pytest.raises(ValueError) as info:
        table[0].open()
    for text in (result["error"][0], str(info.value)):
        assert "SECRET" not in text and "hunter2" not in text
    assert str(secret) in str(info.value)


def test_a_simulated_row_read_back_still_makes_its_file(batch, tmp_path):
    """The simulated archive registers its file maker (loaders do not know it)."""
    from twomass_vo import ImageTable

    table = batch.query_scan("971031", "n", 96, image=197, band="J")
    path = Path(str(table["access_url"][0])[len("file://") :])
    path.unlink(missing_ok=True)
    table.write(tmp_path / "t.vot", format="votable")
    back = ImageTable.read(tmp_path / "t.vot", format="votable")
    assert back.archive is None
    assert back[0].open()[0].data.shape == (1024, 512)
    assert path.is_file()


def test_the_cli_takes_the_readme_budget(batch, server, tmp_path, capsys):
    from twomass_vo.cli import main

    table = http_table(batch, server, 2)
    table.write(tmp_path / "images.vot", format="votable")
    args = ["download", str(tmp_path / "images.vot"), str(tmp_path / "images")]
    assert main([*args, "--max-bytes", "1GiB", "--no-progress"]) == 0
    assert len(list((tmp_path / "images").glob("*.fits"))) == 2
    with pytest.raises(SystemExit) as info:
        main([*args, "--max-bytes", "lots"])
    assert info.value.code == 2
    assert "'lots'" in capsys.readouterr().err


def test_a_fresh_process_opens_and_downloads_simulated_rows_read_back(
    batch, sim, tmp_path
):
    """Nothing imports the archives in the child but reading the table."""
    import subprocess
    import sys

    table = batch.query_scan("971031", "n", 96, image=186, band="H")
    path = sim.local_path(table["access_url"][0])
    path.unlink()
    table.write(tmp_path / "t.vot", format="votable")
    code = (
        "import sys; from twomass_vo import ImageTable; "
        f"t = ImageTable.read({str(tmp_path / 't.vot')!r}, format='votable'); "
        "print(t[0].open()[0].data.shape); "
        f"r = t.download({str(tmp_path / 'out')!r}, progress=False); "
        "print(r['status'].tolist())"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG,
    )
    assert out.stdout.split("\n")[:2] == ["(1024, 512)", "['ok']"], out.stderr
    assert path.is_file()
