# Licensed under a 3-clause BSD style license - see LICENSE
"""The HTTP transport of downloads: redirects, TLS, credentials, proxies, keep-alive.

Files are fetched with urllib3 (`twomass_vo._http.download_session`), which does
itself what `requests` did for the engine: follow redirects (to ``http(s)``
only), verify TLS with the CA bundle `requests` would use, send ``.netrc``
credentials (else the URL's own) to their own host only, go through the
proxies of the environment with their credentials, and keep connections
alive. Each is
proven here through `twomass_vo._http.fetch.fetch` and, where it matters to a
user, `ImageTable.download` and a row's ``download``.

Every server is `fault_server.FaultServer` on 127.0.0.1 (also under the
name ``localhost``, a second host for ``.netrc``); its HTTPS certificates
come from a throw-away CA (`trustme`). A thread keeps its connections and
each host's proxy and credentials, so every call runs in a fresh thread:
`fetch` and a row's ``download`` in `bounded` (which also fails a call that
hangs), `ImageTable.download` in its own new worker threads. No test
asserts a speed.
"""

import base64
import hashlib
import importlib.util
import io
import os
import ssl
import time
from pathlib import Path

import pytest
import trustme

from twomass_vo import conf
from twomass_vo._http.fetch import FetchError, fetch
from twomass_vo.retrieval.loaders import file_name_for

from .test_hostile_downloads import bounded
from .test_retrieval import FAST, FaultServer, http_table, parts_in, small_fits

#: The proxy variables `requests` reads (either case).
PROXY_VARIABLES = [
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (base, base.lower())
]


# ---------------------------------------------------------------------- helpers
def get(url, *, policy=FAST, timeout=5.0):
    """Fetch ``url`` in a fresh thread; return (result, bytes written)."""
    fh = io.BytesIO()
    result = bounded(fetch, url, fh, policy=policy, timeout=timeout)
    return result, fh.getvalue()


def fails(url, *, policy=FAST, timeout=5.0):
    """Fetch ``url`` in a fresh thread, which must fail; return (message, written)."""
    fh = io.BytesIO()
    with pytest.raises(FetchError) as info:
        bounded(fetch, url, fh, policy=policy, timeout=timeout)
    return str(info.value), fh.getvalue()


def basic(user, password):
    """The ``Authorization`` value of HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def write_netrc(path, entries):
    """A ``.netrc`` file with one ``machine`` line per (host, user, password)."""
    path.write_text(
        "".join(f"machine {h} login {u} password {p}\n" for h, u, p in entries)
    )
    path.chmod(0o600)
    return path


def moved_table(batch, server, statuses):
    """Rows whose URLs answer a redirect (one status per row) to their file.

    Returns the table and the file of each row (name -> bytes).
    """
    table = http_table(batch, server, len(statuses))
    originals = {}
    for row, status in zip(table, statuses, strict=True):
        name = file_name_for(row)
        originals[name] = server.files.pop(name)
        server.files[f"moved/{name}"] = originals[name]
        # a relative Location, resolved against the URL that answered it
        server.script(name, [("redirect", f"moved/{name}", status)] * 3)
    return table, originals


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path, monkeypatch):
    """No proxy, no ``.netrc`` (NETRC names a missing file), a private cache."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with conf.set_temp("cache_dir", str(tmp_path / "cache")):
        yield


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_pem(ca, tmp_path):
    """The CA's certificate, as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def tls_context(ca, *names):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def tls_server(ca):
    """An HTTPS server whose certificate (127.0.0.1, localhost) the CA signed."""
    with FaultServer(ssl_context=tls_context(ca, "127.0.0.1", "localhost")) as srv:
        yield srv


@pytest.fixture
def no_ca_bundle(monkeypatch):
    """The default CA bundle (certifi's, as `requests` has it)."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


# -------------------------------------------------------------------- redirects
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("form", ["absolute URL", "absolute path", "relative path"])
def test_redirects_are_followed(server, status, form):
    server.files["data/real.fits"] = body = small_fits(1)
    location = {
        "absolute URL": server.url("data/real.fits"),
        "absolute path": "/data/real.fits",
        "relative path": "real.fits",  # against /data/old.fits
    }[form]
    server.script("data/old.fits", [("redirect", location, status)])
    result, written = get(server.url("data/old.fits"))
    assert written == body
    assert (result.size, result.attempts) == (len(body), 1)
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert [(r.path, r.status) for r in server.requests] == [
        ("data/old.fits", status),
        ("data/real.fits", 200),
    ]


def test_thirty_redirects_are_followed(server):
    server.files["hop30"] = body = small_fits(2)
    for i in range(30):
        server.script(f"hop{i}", [("redirect", f"/hop{i + 1}", (301, 307)[i % 2])])
    result, written = get(server.url("hop0"))
    assert written == body and result.attempts == 1
    assert [r.path for r in server.requests] == [f"hop{i}" for i in range(31)]


def test_a_redirect_loop_fails_at_once(server):
    server.script("a.fits", [("redirect", "b.fits", 302)] * 40)
    server.script("b.fits", [("redirect", "/a.fits", 307)] * 40)
    message, written = fails(server.url("a.fits"))
    assert "more than 30 redirects" in message and "(1 attempt)" in message
    assert written == b""
    assert len(server.requests) == 31  # the first request and 30 redirects, once


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1:21/pub/a.fits"]
)
def test_a_redirect_off_http_is_refused_at_once(server, location):
    server.script("a.fits", [("redirect", location, 302)] * 5)
    message, written = fails(server.url("a.fits"))
    assert location in message and "(1 attempt)" in message
    assert written == b""
    assert len(server.requests) == 1


def test_a_resume_after_a_redirect_asks_the_target_for_the_rest(server):
    server.files["real.fits"] = body = small_fits(3, (200, 200))
    server.script("old.fits", [("redirect", "/real.fits", 302)] * 2)
    server.script("real.fits", [("short", 0.4)])
    result, written = get(server.url("old.fits"))
    assert written == body and result.attempts == 2
    first, second = server.requests_for("real.fits")
    assert (first.range, first.status) == (None, 200)
    assert (second.range, second.status) == (f"bytes={int(len(body) * 0.4)}-", 206)
    # the redirecting URL was asked for the rest too, and sent it on
    assert [r.range for r in server.requests_for("old.fits")] == [None, second.range]


def test_download_follows_redirects(batch, server, tmp_path):
    table, originals = moved_table(batch, server, [301, 302, 303, 307, 308])
    result = table.download(tmp_path / "all", progress=False, retries=FAST)
    assert list(result["status"]) == ["ok"] * 5
    for row in result:
        path = Path(row["local_path"])
        assert path.parent == tmp_path / "all"
        assert path.read_bytes() == originals[path.name]
    assert parts_in(tmp_path / "all") == []
    # a row's own download, in the calling thread, follows them too
    path = bounded(table[1].download, tmp_path / "one")
    assert path.read_bytes() == originals[file_name_for(table[1])]


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1:21/pub/a.fits"]
)
def test_download_refuses_a_redirect_off_http(batch, server, tmp_path, location):
    table = http_table(batch, server, 3)
    name = file_name_for(table[1])
    server.script(name, [("redirect", location, 302)] * 5)
    result = table.download(tmp_path / "all", progress=False, retries=FAST)
    assert list(result["status"]) == ["ok", "failed", "ok"]
    assert location in result["error"][1] and "(1 attempt)" in result["error"][1]
    assert len(server.requests_for(name)) == 1
    assert not (tmp_path / "all" / name).exists()
    assert parts_in(tmp_path / "all") == []
    with pytest.raises(FetchError, match=location):
        bounded(table[1].download, tmp_path / "one")
    assert len(server.requests_for(name)) == 2
    assert list((tmp_path / "one").iterdir()) == []


# ------------------------------------------------------------------------- netrc
@pytest.mark.parametrize("where", ["NETRC", "HOME"])
def test_netrc_credentials_go_to_their_own_host(server, tmp_path, monkeypatch, where):
    if where == "NETRC":
        path = tmp_path / "credentials"
        monkeypatch.setenv("NETRC", str(path))
    else:  # ~/.netrc
        path = tmp_path / "home" / ".netrc"
        path.parent.mkdir()
        monkeypatch.delenv("NETRC")
        monkeypatch.setenv("HOME", str(path.parent))
    write_netrc(path, [("127.0.0.1", "alice", "s3cret"), ("localhost", "bob", "pw")])
    server.files["a.fits"] = body = small_fits(4)
    assert get(server.url("a.fits"))[1] == body
    assert get(server.url("a.fits", host="localhost"))[1] == body
    by_ip, by_name = server.requests
    assert by_ip.headers.get_all("Authorization") == [basic("alice", "s3cret")]
    assert by_name.headers.get_all("Authorization") == [basic("bob", "pw")]


@pytest.mark.parametrize("other", [None, ("bob", "pw")])
def test_netrc_credentials_stay_with_their_host_across_redirects(
    tmp_path, monkeypatch, other
):
    entries = [("127.0.0.1", "alice", "s3cret")]
    if other is not None:
        entries.append(("localhost", *other))
    monkeypatch.setenv("NETRC", str(write_netrc(tmp_path / "netrc", entries)))
    with FaultServer() as first, FaultServer() as second:
        second.files["a.fits"] = body = small_fits(5)
        first.script("a.fits", [("redirect", "/b.fits", 302)])  # same host
        first.script(
            "b.fits", [("redirect", second.url("a.fits", host="localhost"), 307)]
        )
        assert get(first.url("a.fits"))[1] == body
    for request in first.requests:
        assert request.headers.get_all("Authorization") == [basic("alice", "s3cret")]
    (request,) = second.requests
    if other is None:
        assert "Authorization" not in request.headers
    else:
        assert request.headers.get_all("Authorization") == [basic(*other)]


def test_credentials_in_the_url_go_to_its_host_as_basic_auth():
    with FaultServer() as first, FaultServer() as second:
        second.files["a.fits"] = body = small_fits(12)
        first.script("a.fits", [("redirect", "b.fits", 302)])  # same host
        first.script(
            "b.fits", [("redirect", second.url("a.fits", host="localhost"), 307)]
        )
        url = f"http://alice:p%40ss@127.0.0.1:{first.port}/a.fits"
        assert get(url)[1] == body
    assert [r.line for r in first.requests] == [
        "GET /a.fits HTTP/1.1",
        "GET /b.fits HTTP/1.1",
    ]
    for request in first.requests:
        assert request.headers.get_all("Authorization") == [basic("alice", "p@ss")]
    (request,) = second.requests
    assert "Authorization" not in request.headers


def test_credentials_in_the_url_are_not_shown_to_a_proxy(monkeypatch):
    with FaultServer({"a.fits": small_fits(13)}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        assert (
            get("http://alice:p%40ss@images.example.invalid/a.fits")[1]
            == (proxy.files["a.fits"])
        )
    (request,) = proxy.requests
    assert request.line == "GET http://images.example.invalid/a.fits HTTP/1.1"
    assert request.headers.get_all("Authorization") == [basic("alice", "p@ss")]
    assert "Proxy-Authorization" not in request.headers


# --------------------------------------------------------------------------- TLS
@pytest.mark.usefixtures("no_ca_bundle")
@pytest.mark.parametrize("bundle", ["default", "another CA"])
def test_https_without_its_ca_is_a_tls_error_never_retried(
    tls_server, tmp_path, monkeypatch, bundle
):
    if bundle == "another CA":
        other = tmp_path / "other.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    tls_server.files["a.fits"] = small_fits(6)
    message, written = fails(tls_server.url("a.fits"))
    assert "TLS error" in message and "certificate verify failed" in message
    assert "(1 attempt)" in message
    assert written == b""
    assert tls_server.requests == [] and tls_server.connections == 1


@pytest.mark.usefixtures("no_ca_bundle")
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_https_with_its_ca_arrives_intact(tls_server, ca_pem, monkeypatch, variable):
    monkeypatch.setenv(variable, str(ca_pem))
    tls_server.files["a.fits"] = body = small_fits(7, (200, 200))
    result, written = get(tls_server.url("a.fits"))
    assert written == body and result.attempts == 1
    assert result.sha256 == hashlib.sha256(body).hexdigest()


def test_a_certificate_for_another_name_is_refused(ca, ca_pem, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_pem))
    with FaultServer(
        {"a.fits": small_fits(8)}, ssl_context=tls_context(ca, "images.example.org")
    ) as impostor:
        message, written = fails(impostor.url("a.fits"))
        assert impostor.requests == [] and impostor.connections == 1
    assert "TLS error" in message and "(1 attempt)" in message
    assert written == b""


@pytest.mark.usefixtures("no_ca_bundle")
def test_download_over_https(batch, tls_server, ca_pem, tmp_path, monkeypatch):
    table = http_table(batch, tls_server, 3)
    assert all(url.startswith("https://") for url in table["access_url"])
    failed = table.download(tmp_path / "untrusted", progress=False, retries=FAST)
    assert list(failed["status"]) == ["failed"] * 3
    for error in failed["error"]:
        assert "TLS error" in error and "(1 attempt)" in error
    assert tls_server.requests == [] and tls_server.connections == 3
    assert not any((tmp_path / "untrusted").glob("*.fits"))
    assert parts_in(tmp_path / "untrusted") == []
    with pytest.raises(FetchError, match="TLS error"):
        bounded(table[0].download, tmp_path / "one")

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_pem))
    result = table.download(tmp_path / "trusted", progress=False, retries=FAST)
    assert list(result["status"]) == ["ok"] * 3
    for row in result:
        path = Path(row["local_path"])
        assert path.read_bytes() == tls_server.files[path.name]
    path = bounded(table[0].download, tmp_path / "one")
    assert path.read_bytes() == tls_server.files[path.name]


# ------------------------------------------------------------------------ proxies
def test_an_http_proxy_gets_its_credentials_and_the_absolute_uri(monkeypatch):
    with FaultServer({"a.fits": small_fits(9)}) as proxy:  # answers the file itself
        monkeypatch.setenv("HTTP_PROXY", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
        url = "http://images.example.invalid/a.fits"
        result, written = get(url)
    assert written == proxy.files["a.fits"] and result.attempts == 1
    (request,) = proxy.requests
    assert request.line == f"GET {url} HTTP/1.1"
    assert request.headers.get_all("Proxy-Authorization") == [basic("user", "p@ss")]
    assert "Authorization" not in request.headers


def test_no_proxy_hosts_are_reached_directly(server, monkeypatch):
    with FaultServer() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        server.files["a.fits"] = body = small_fits(10)
        assert get(server.url("a.fits"))[1] == body
        assert proxy.requests == [] and proxy.connections == 0
    assert [r.line for r in server.requests] == ["GET /a.fits HTTP/1.1"]


def test_a_socks_proxy_without_pysocks_is_a_clear_error(server, monkeypatch):
    if importlib.util.find_spec("socks") is not None:
        pytest.skip("PySocks is installed: SOCKS proxies work")
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1")
    server.files["a.fits"] = small_fits(11)
    message, written = fails(server.url("a.fits"))
    assert "PySocks" in message and "(1 attempt)" in message
    assert written == b"" and server.connections == 0


# ------------------------------------------------------- headers and keep-alive
def test_headers_and_one_connection_per_thread(server):
    names = [f"f{i}.fits" for i in range(4)]
    for i, name in enumerate(names):
        server.files[name] = small_fits(20 + i)

    def fetch_all():
        out = []
        for name in names:
            fh = io.BytesIO()
            fetch(server.url(name), fh, policy=FAST, timeout=5.0)
            out.append(fh.getvalue())
        return out

    assert bounded(fetch_all) == [server.files[name] for name in names]
    assert [r.path for r in server.requests] == names
    for request in server.requests:
        assert request.headers["User-Agent"].startswith("twomass_vo/")
        assert request.headers.get_all("Accept-Encoding") == ["identity"]
    assert server.connections == 1
    assert len({r.client for r in server.requests}) == 1


def test_download_with_one_worker_keeps_one_connection(batch, server, tmp_path):
    table = http_table(batch, server, 5)
    result = table.download(tmp_path, progress=False, max_workers=1, retries=FAST)
    assert list(result["status"]) == ["ok"] * 5
    assert len(server.requests) == 5
    assert all(
        r.headers["User-Agent"].startswith("twomass_vo/") for r in server.requests
    )
    assert server.connections == 1
    assert os.path.commonpath(list(result["local_path"])) == str(tmp_path)


# ------------------------------------------- settings that change, forked workers
def test_a_thread_follows_a_change_of_its_environment(tls_server, ca_pem, monkeypatch):
    """A CA bundle set after a thread's first request holds for its next one."""
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    tls_server.files["a.fits"] = body = small_fits(30)

    def twice():
        with pytest.raises(FetchError, match="TLS error"):
            fetch(tls_server.url("a.fits"), io.BytesIO(), policy=FAST, timeout=5.0)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_pem))
        fh = io.BytesIO()
        fetch(tls_server.url("a.fits"), fh, policy=FAST, timeout=5.0)
        return fh.getvalue()

    assert bounded(twice) == body  # one thread: no fresh state but the new setting


def _fetch_in_child(url, queue):
    fh = io.BytesIO()
    try:
        fetch(url, fh, policy=FAST, timeout=5.0)
        queue.put(hashlib.sha256(fh.getvalue()).hexdigest())
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(repr(exc))


def test_a_forked_worker_makes_its_own_connections(server):
    """A child forked after a fetch does not use its parent's kept-alive socket."""
    import multiprocessing

    server.files["a.fits"] = body = small_fits(31)
    url = server.url("a.fits")
    digest = hashlib.sha256(body).hexdigest()
    context = multiprocessing.get_context("fork")

    def parent_then_child_then_parent():
        assert fetch(url, io.BytesIO(), policy=FAST, timeout=5.0).sha256 == digest
        queue = context.Queue()
        child = context.Process(target=_fetch_in_child, args=(url, queue))
        child.start()
        got = queue.get(timeout=30)
        child.join(30)
        assert fetch(url, io.BytesIO(), policy=FAST, timeout=5.0).sha256 == digest
        return got

    assert bounded(parent_then_child_then_parent) == digest
    # the parent's thread kept its connection (1), the child made its own (2)
    assert server.connections == 2
    assert len({r.client for r in server.requests}) == 2


def fetch_two(server, fault, *, pause=0.0):
    """Fetch a.fits (answered with ``fault``), then b.fits, in one thread.

    Returns the two `FetchResult` and whether each file arrived intact.
    """
    server.files["a.fits"] = small_fits(32)
    server.files["b.fits"] = small_fits(33)
    server.script("a.fits", [fault])

    def both():
        results = []
        for name in ("a.fits", "b.fits"):
            fh = io.BytesIO()
            results.append(fetch(server.url(name), fh, policy=FAST, timeout=5.0))
            results.append(fh.getvalue() == server.files[name])
            time.sleep(pause)
        return results

    return bounded(both)


def test_a_connection_the_server_closed_is_not_used_again(server):
    """A kept-alive connection closed by the server between two requests."""
    got_a, intact_a, got_b, intact_b = fetch_two(server, ("hangup",), pause=0.2)
    assert intact_a and intact_b
    # the second request went on a new connection at once: no failed attempt
    assert got_a.attempts == got_b.attempts == 1
    assert server.connections == 2 and len(server.requests) == 2


def test_an_encoded_answer_is_decoded_and_the_connection_kept(server):
    """A gzip body (identity was asked for) is decoded; the next file reuses it."""
    got_a, intact_a, _, intact_b = fetch_two(server, ("gzip",))
    assert intact_a and intact_b
    assert got_a.sha256 == hashlib.sha256(server.files["a.fits"]).hexdigest()
    assert [r.fault for r in server.requests] == [("gzip",), None]
    assert server.connections == 1
