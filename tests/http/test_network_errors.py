# Licensed under a 3-clause BSD style license - see LICENSE
"""Network failures are exit status 3, in one short line naming the host and cause.

Each failure is made for real on 127.0.0.1 (a closed port, a server that
accepts and never answers) or by a resolver that fails (``socket.getaddrinfo``
replaced for the test: no test touches the network), through the command
line as a user runs it: the exit status, the line, its length, and the
details that ``-v`` adds.
"""

import socket
import threading
import urllib.error
import warnings

import pytest
import requests

import twomass_vo
from twomass_vo._http.network_errors import network_failure
from twomass_vo.archives.irsa import conf as irsa_conf
from twomass_vo.cli import main
from twomass_vo.exceptions import ArchiveError, ArchiveUnreachableError

TABLE = "twomass.images"


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def no_dns(monkeypatch):
    """No name resolves (as offline), 127.0.0.1 and localhost aside."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def run(capsys, *argv):
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        status = main([str(a) for a in argv])
    return status, *capsys.readouterr()


def one_line(status, out, err, *fragments):
    """Assert exit status 3 and one error line of at most 200 characters."""
    assert status == 3, err
    (line,) = err.splitlines()
    assert line.startswith("twomass-vo: error: ") and len(line) <= 200, line
    for fragment in fragments:
        assert fragment in line, line
    return line


def mirror(url):
    return ["--tap-url", f"{url}/tap", "--tap-table", TABLE]


# ------------------------------------------------------------- each failure
def test_a_vo_mirror_that_refuses_connections(capsys):
    url = f"http://127.0.0.1:{closed_port()}"
    status, out, err = run(capsys, *mirror(url), "scan", "971031", "n", "96")
    line = one_line(status, out, err, f"{url}/tap/sync", "connection refused")
    assert "DALFormatError" not in line and "MaxRetryError" not in line
    # in the API: an ArchiveUnreachableError, not pyvo's DALFormatError
    archive = twomass_vo.VOArchive(tap_url=f"{url}/tap", table=TABLE)
    with pytest.raises(ArchiveUnreachableError) as info:
        twomass_vo.TwoMassBatch(archive=archive).query_scan("971031", "n", 96)
    assert (info.value.host, info.value.why) == ("127.0.0.1", "connection refused")
    assert "Connection refused" in info.value.detail


def test_a_server_that_never_answers(capsys, silent_server):
    with (
        irsa_conf.set_temp("sia_url", f"{silent_server}/SIA"),
        irsa_conf.set_temp("tap_url", f"{silent_server}/TAP"),
        irsa_conf.set_temp("timeout", 1),
    ):
        status, out, err = run(capsys, "coadd-keys", "1590591")
    one_line(status, out, err, f"{silent_server}/TAP", "timed out after 1 s")


def test_irsa_offline(capsys, no_dns):
    for argv in (("region", "10. 41.", "0.3"), ("coadd-keys", "1")):
        status, out, err = run(capsys, *argv)
        line = one_line(
            status, out, err, "irsa.ipac.caltech.edu", "cannot resolve host"
        )
        assert "--archive sim" in line  # what to do instead
    # -v: the details, after the line
    status, out, err = run(capsys, "region", "10. 41.", "0.3", "-v")
    assert status == 3
    first, *details = err.splitlines()
    assert len(first) <= 200 and "cannot resolve host" in first
    assert details and all(d.startswith("twomass-vo: details: ") for d in details)
    assert any("Name or service not known" in d for d in details)


def test_an_object_name_offline_is_a_network_failure(capsys, monkeypatch, sim):
    from astropy.coordinates import SkyCoord
    from astropy.coordinates.name_resolve import NameResolveError

    def offline(name, *args, **kwargs):  # what astropy's Sesame query raises
        raise NameResolveError(
            "All Sesame queries failed. Unable to retrieve coordinates. See errors "
            f"per URL below: https://cds.unistra.fr/cgi-bin/nph-sesame/SNV?{name}: "
            "[Errno -2] Name or service not known http://vizier.cfa.harvard.edu/"
            f"viz-bin/nph-sesame/SNV?{name}: [Errno -2] Name or service not known"
        )

    monkeypatch.setattr(SkyCoord, "from_name", offline)
    # the cause is the network (3), not the input (2)
    status, out, err = run(capsys, "--archive", "sim", "region", "M31", "0.3")
    one_line(
        status,
        out,
        err,
        "could not resolve 'M31': cannot reach cds.unistra.fr: cannot resolve host",
    )
    # an unknown name is still bad input
    monkeypatch.setattr(
        SkyCoord, "from_name", lambda name: (_ for _ in ()).throw(KeyError(name))
    )
    status, out, err = run(capsys, "--archive", "sim", "region", "Nowhere1", "1")
    assert status == 2 and "could not resolve 'Nowhere1'" in err


def test_info_check_says_each_failure_in_words(capsys, silent_server):
    refused = f"http://127.0.0.1:{closed_port()}"
    with (
        irsa_conf.set_temp("sia_url", ""),
        irsa_conf.set_temp("tap_url", f"{refused}/TAP"),
        irsa_conf.set_temp("ibe_url", f"{silent_server}/ibe"),
        irsa_conf.set_temp("data_url_root", f"{refused}/data/"),
        twomass_vo.conf.set_temp("timeout", 1),
    ):
        status, out, err = run(capsys, "info", "--check")
        assert status == 3 and err == ""
        lines = out.splitlines()
        assert lines[0] == "archive: irsa (IrsaArchive)"
        assert not any(x.startswith(("upload_threshold", "chunk_size")) for x in lines)
        by_name = {x.split(":")[0]: x for x in lines}
        assert by_name["endpoint tap"].endswith(
            "NOT ANSWERING (cannot reach 127.0.0.1: connection refused)"
        )
        assert (
            "(cannot reach 127.0.0.1: timed out after 10 s)" in by_name["endpoint ibe"]
        )
        assert "timed out after 10 s" in by_name["route scan"]  # 10 s per check
        assert all(len(x) <= 200 for x in lines)
        status, out, _ = run(capsys, "info", "--check", "-v")
        assert status == 3 and "upload_threshold: " in out
        assert "Connection refused" in out  # the full text


# ------------------------------------------------------------ network_failure
@pytest.mark.parametrize(
    ("raise_it", "expected"),
    [
        (lambda: requests.get("http://127.0.0.1:9/x", timeout=5), "connection refused"),
        (
            lambda: (_ for _ in ()).throw(
                urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
            ),
            "cannot resolve host",  # urllib's error is an OSError: its text
        ),
        (lambda: (_ for _ in ()).throw(ConnectionResetError(104, "reset")), "reset"),
        (lambda: (_ for _ in ()).throw(ValueError("bad value")), None),
        (lambda: (_ for _ in ()).throw(PermissionError(13, "denied", "f")), None),
        (lambda: (_ for _ in ()).throw(ArchiveError("HTTP 500: oops")), None),
    ],
)
def test_network_failure_finds_the_cause(raise_it, expected):
    try:
        raise_it()
    except Exception as exc:
        failure = network_failure(exc)
    if expected is None:
        assert failure is None
    else:
        assert expected in failure.cause
