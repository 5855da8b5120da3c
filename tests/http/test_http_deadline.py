# Licensed under a 3-clause BSD style license - see LICENSE
"""The one overall-deadline mechanism of downloads and VO queries.

`twomass_vo._http.deadline` bounds the requests of both sessions: the
download session (`twomass_vo._http.fetch`) and the VO session
(`~twomass_vo._http.vo_session.TimeoutSession`). The server here sends
headers that never end, one byte every 50 ms, so only an overall deadline
ends a request (or the low-speed limit: 20 bytes a second is slow). A call
that could hang runs in a thread joined with a generous limit; no test
asserts a speed.
"""

import io
import socket
import threading
import time

import pytest

from twomass_vo import conf
from twomass_vo._http.deadline import (
    Deadline,
    current_deadline,
    low_speed,
    time_limit,
    watching,
)
from twomass_vo._http.fetch import FetchError, fetch
from twomass_vo._http.retry_policy import RetryPolicy
from twomass_vo._http.vo_session import make_session
from twomass_vo.exceptions import ArchiveError

from ..retrieval.test_hostile_downloads import HANG, bounded


class EndlessHeaders:
    """A server (or HTTP proxy) whose answers' headers never end."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.first_lines = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._drip, args=(conn,), name="endless-drip", daemon=True
            ).start()

    def _drip(self, conn):
        with conn:
            try:
                request = conn.recv(65536)
                self.first_lines.append(request.split(b"\r\n", 1)[0].decode())
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Endless: ")
                end = time.monotonic() + HANG
                while not self.stop.is_set() and time.monotonic() < end:
                    conn.sendall(b"a")
                    time.sleep(0.05)
            except OSError:
                return

    def url(self, path="a.fits"):
        return f"http://127.0.0.1:{self.port}/{path}"

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.fixture
def endless():
    server = EndlessHeaders()
    yield server
    server.close()


def test_a_download_through_a_proxy_keeps_its_deadline(endless, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{endless.port}")
    policy = RetryPolicy(retries=0, budget=30, attempt_timeout=0.5)
    url = "http://images.example.invalid/a.fits"
    with pytest.raises(FetchError, match="deadline passed"):
        bounded(fetch, url, io.BytesIO(), timeout=5, policy=policy)
    # the request went to the proxy (no name was resolved), as a proxy request
    assert endless.first_lines == [f"GET {url} HTTP/1.1"]


def test_a_vo_request_through_a_proxy_keeps_its_deadline(endless):
    session = make_session(5)
    url = "http://tap.example.invalid/sync"
    proxies = {"http": f"http://127.0.0.1:{endless.port}"}
    with pytest.raises(ArchiveError, match=r"no complete answer within 0\.5 s"):
        bounded(session.get, url, deadline=0.5, proxies=proxies)
    assert endless.first_lines == [f"GET {url} HTTP/1.1"]


def test_a_vo_request_inside_a_download_deadline_has_its_own(endless):
    session = make_session(5)

    def run():
        with watching(time.monotonic() + HANG) as outer:
            with pytest.raises(ArchiveError, match="the time limit of the request"):
                session.get(endless.url(), deadline=0.5)
            assert current_deadline() is outer  # the outer one is back
        assert not outer.expired  # the inner one's passing did not cut it
        assert current_deadline() is None

    bounded(run)


def test_a_look_up_time_limit_cuts_the_requests_inside(endless):
    session = make_session(5)

    def run():
        with time_limit(0.5):
            with pytest.raises(ArchiveError, match="the time limit of the look-up"):
                session.get(endless.url())
            with pytest.raises(ArchiveError, match="not requested"):
                session.get(endless.url())

    bounded(run)
    assert len(endless.first_lines) == 1  # the second was never sent


def test_one_watchdog_thread_serves_every_request(endless):
    """Downloads and VO queries at once: one watchdog, no thread per request."""
    policy = RetryPolicy(retries=0, budget=30, attempt_timeout=3)
    session_of = threading.local()
    errors = []

    def download():
        try:
            fetch(endless.url(), io.BytesIO(), timeout=10, policy=policy)
        except FetchError as exc:
            errors.append(exc)

    def query():
        session_of.session = make_session(10)
        try:
            session_of.session.get(endless.url("sync"), deadline=3)
        except ArchiveError as exc:
            errors.append(exc)

    before = set(threading.enumerate())
    workers = [threading.Thread(target=f, daemon=True) for f in [download, query] * 3]
    for worker in workers:
        worker.start()
    end = time.monotonic() + HANG
    while len(endless.first_lines) < len(workers) and time.monotonic() < end:
        time.sleep(0.01)
    assert len(endless.first_lines) == len(workers)  # all six under way
    names = [t.name for t in threading.enumerate()]
    assert names.count("twomass_vo-watchdog") == 1
    started = [t.name for t in set(threading.enumerate()) - before]
    others = {"twomass_vo-watchdog", "endless-drip"} | {w.name for w in workers}
    assert [name for name in started if name not in others] == []
    for worker in workers:
        worker.join(HANG)
        assert not worker.is_alive()
    assert len(errors) == len(workers)  # every one was cut by its deadline


# ---------------------------------------------------------- low-speed limit
def test_low_speed_windows_start_at_the_first_byte():
    limit = Deadline(time.monotonic() + 3600, speed=(100.0, 10.0))
    t0 = time.monotonic()
    assert not limit.slowed(t0 + 1000)  # nothing received yet: the socket's wait
    limit.count(5)
    first = limit._first
    assert not limit.slowed(first + 9.9)  # the first window is not over
    limit.count(995)  # 1000 bytes in 10 s: 100 bytes/s, not less
    assert not limit.slowed(first + 10)
    limit.count(999)  # the next window: 999 bytes in 10 s, too few
    assert not limit.slowed(first + 19.9)
    assert limit.slowed(first + 20)
    assert limit.too_slow
    assert "fewer than 100 bytes/s for 10 s (1999 bytes received" in limit.why()


@pytest.mark.parametrize(
    ("rate", "seconds", "expected"),
    [(1000, 30, (1000.0, 30.0)), (0, 30, None), (1000, 0, None), ("5", "1", (5, 1))],
)
def test_low_speed_limits(rate, seconds, expected):
    assert low_speed(rate, seconds) == expected


@pytest.mark.parametrize(
    ("rate", "seconds"), [(-1, 30), (1000, float("nan")), (float("inf"), 1), ("x", 1)]
)
def test_low_speed_limits_are_checked(rate, seconds):
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        low_speed(rate, seconds)


def test_a_slow_vo_answer_is_given_up_on_before_its_deadline(endless):
    # 20 bytes/s of headers, a limit of 1000 bytes/s over 1 s; deadline 600 s
    session = make_session(5)
    start = time.monotonic()
    with (
        conf.set_temp("low_speed_time", 1.0),
        pytest.raises(ArchiveError, match="low-speed limit") as info,
    ):
        bounded(session.get, endless.url("sync"))
    assert time.monotonic() - start < HANG / 2
    assert "fewer than 1000 bytes/s for 1 s" in str(info.value)
    assert endless.url("sync") in str(info.value)


def test_a_slow_download_is_given_up_on_and_retried(endless):
    policy = RetryPolicy(
        retries=1, backoff=0.01, budget=HANG, attempt_timeout=HANG, low_speed_time=1
    )
    with pytest.raises(FetchError, match="low-speed limit") as info:
        bounded(fetch, endless.url(), io.BytesIO(), timeout=5, policy=policy)
    assert "gave up after 2 attempts" in str(info.value)
    assert len(endless.first_lines) == 2


def test_an_answer_above_the_low_speed_limit_is_not_cut(endless):
    # 20 bytes/s against 5 bytes/s over 0.5 s: only the deadline ends it
    session = make_session(5)
    with (
        conf.set_temp("low_speed_limit", 5.0),
        conf.set_temp("low_speed_time", 0.5),
        pytest.raises(ArchiveError, match=r"no complete answer within 2 s"),
    ):
        bounded(session.get, endless.url("sync"), deadline=2)


# ---------------------------------------------------------------- timeouts
@pytest.mark.parametrize("value", [float("nan"), 0, -1.5, float("inf"), "x", True])
def test_time_limits_are_positive_finite_numbers(value, endless):
    from twomass_vo._http.deadline import positive_seconds
    from twomass_vo.archives.vo import VOArchive
    from twomass_vo.exceptions import InvalidQueryError

    match = r"timeout=.* must be a positive finite number of seconds"
    with pytest.raises(InvalidQueryError, match=match):
        positive_seconds(value, "timeout")
    with pytest.raises(InvalidQueryError, match=match):
        fetch(endless.url(), io.BytesIO(), timeout=value)
    with pytest.raises(InvalidQueryError, match=match):
        VOArchive(tap_url=endless.url("tap"), table="t.images", timeout=value)
    with pytest.raises(InvalidQueryError, match="async_" + match):
        VOArchive(tap_url=endless.url("tap"), table="t.images", async_timeout=value)
    archive = VOArchive(tap_url=endless.url("tap"), table="t.images")
    with pytest.raises(InvalidQueryError, match=match):
        archive.describe(check=True, timeout=value)
    assert endless.first_lines == []  # refused before any request
    assert positive_seconds("2.5", "timeout") == 2.5
