# Licensed under a 3-clause BSD style license - see LICENSE
"""VO queries against a hostile service: bounded in memory and time, bad values refused.

The service is `hostile_server.HostileServer` on 127.0.0.1. Memory is measured
in a child process under a hard address-space limit (``RLIMIT_AS``), so an
unbounded reader fails (``MemoryError``) instead of eating the machine; time
is bounded by the deadlines set here (the tests only check that the query
ended, with an `~twomass_vo.exceptions.ArchiveError`).
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hostile_server import HostileServer

import twomass_vo
from twomass_vo import TwoMassBatch
from twomass_vo.archives.vo import VOArchive
from twomass_vo.exceptions import ArchiveError

ROOT = Path(__file__).resolve().parents[2]
TABLE = "twomass.images"

#: Time given to a query that must give up after a deadline of a few seconds
#: before the test calls it hung (a liveness bound, not a timing assertion).
HUNG = 60.0


@pytest.fixture
def server():
    with HostileServer() as running:
        yield running


def _tap(server, **kwargs):
    return VOArchive(tap_url=server.url("/tap"), table=TABLE, upload=False, **kwargs)


def _ended(call):
    """Run ``call`` in a thread; return the exception it ended with.

    Fails the test if it has not ended after `HUNG` seconds.
    """
    outcome = {}

    def run():
        try:
            call()
        except BaseException as exc:
            outcome["exc"] = exc
        else:
            outcome["exc"] = None

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HUNG)
    assert not thread.is_alive(), "the query did not give up"
    return outcome["exc"]


# ------------------------------------------------------------------- memory
CHILD = """
import json, resource, sys
import twomass_vo
from twomass_vo import TwoMassBatch
from twomass_vo.archives.vo import VOArchive

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

twomass_vo.conf.max_answer_size = 8 << 20
archive = VOArchive(tap_url=sys.argv[1], table="twomass.images", upload=False)
batch = TwoMassBatch(archive=archive)
limit = vm_size() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    batch.query_region("10.0 10.0", 0.1)
    out = {"error": None}
except BaseException as exc:
    out = {"error": type(exc).__name__, "message": str(exc)}
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _child_query(tap_url, headroom):
    """Run a region query in a child process capped at its size + ``headroom``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, tap_url, str(headroom)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_gzip_bomb_answer_is_capped(server):
    # 0.5 MB of gzip that decodes to 512 MiB, in a process allowed 256 MiB more
    server.route("/tap/sync", ("gzip_bomb", 512 << 20))
    out = _child_query(server.url("/tap"), 256 << 20)
    assert out["error"] == "ArchiveError", out
    assert server.url("/tap/sync") in out["message"]
    assert "max_answer_size" in out["message"]
    assert "decoded" in out["message"]


def test_huge_answer_without_length_is_capped(server):
    # no Content-Length: the bytes are counted as they come
    server.route("/tap/sync", ("huge", 64 << 20))
    with (
        twomass_vo.conf.set_temp("max_answer_size", 4 << 20),
        pytest.raises(ArchiveError, match="max_answer_size") as info,
    ):
        _tap(server).find_circle(10.0, 10.0, 0.1)
    assert server.url("/tap/sync") in str(info.value)


def test_announced_length_over_the_cap_is_refused(server):
    server.route("/tap/sync", ("body", b"<" * (2 << 20)))
    with (
        twomass_vo.conf.set_temp("max_answer_size", 1 << 20),
        pytest.raises(ArchiveError, match=r"Content-Length 2097152"),
    ):
        _tap(server).find_circle(10.0, 10.0, 0.1)


def test_capabilities_bomb_is_capped(server):
    # the SIA v2 endpoint look-up reads {sia_url}/capabilities first
    server.route("/sia/capabilities", ("gzip_bomb", 64 << 20))
    archive = VOArchive(
        sia_url=server.url("/sia"), tap_url=server.url("/tap"), table=TABLE
    )
    with (
        twomass_vo.conf.set_temp("max_answer_size", 1 << 20),
        pytest.raises(ArchiveError, match="max_answer_size") as info,
    ):
        archive.find_circle(10.0, 10.0, 0.1)
    assert server.url("/sia/capabilities") in str(info.value)


def test_redirect_bodies_are_capped(server):
    # requests reads the body of every redirect whole: ours are read capped
    server.route("/tap/sync", ("redirect_bomb", server.url("/tap/result"), 64 << 20))
    server.route("/tap/result", ("body", b"<never reached/>"))
    with (
        twomass_vo.conf.set_temp("max_answer_size", 1 << 20),
        pytest.raises(ArchiveError, match="max_answer_size"),
    ):
        _tap(server).find_circle(10.0, 10.0, 0.1)
    assert ("GET", "/tap/result") not in server.log


# --------------------------------------------------------------------- time
def test_one_byte_per_second_gives_up(server):
    # every read returns within the socket timeout; the answer never ends
    server.route("/tap/sync", ("drip", b"<" * 10_000, 0.2))
    with twomass_vo.conf.set_temp("request_deadline", 2):
        exc = _ended(lambda: _tap(server, timeout=30).find_circle(10.0, 10.0, 0.1))
    assert isinstance(exc, ArchiveError), exc
    assert server.url("/tap/sync") in str(exc)
    assert "within 2 s" in str(exc)


def test_headers_forever_gives_up(server):
    server.route("/tap/sync", ("headers_forever", 0.2))
    with twomass_vo.conf.set_temp("request_deadline", 2):
        batch = TwoMassBatch(archive=_tap(server, timeout=30))
        exc = _ended(lambda: batch.query_region("10.0 10.0", 0.1))
    assert isinstance(exc, ArchiveError), exc
    assert "within 2 s" in str(exc)


def test_async_job_that_never_ends_gives_up(server, data_path):
    job = "/tap/async/job1"
    uws = (data_path / "vo" / "dachs_uws_job.xml").read_bytes()
    uws = uws.replace(b"<uws:phase>COMPLETED", b"<uws:phase>EXECUTING")
    server.route("/tap/async", ("redirect", server.url(job), 303))
    server.route(job, ("body", uws))
    server.route(f"{job}/phase", ("redirect", server.url(job), 303))
    archive = VOArchive(
        tap_url=server.url("/tap"),
        table=TABLE,
        upload=True,
        async_threshold=1,
        async_timeout=2,
    )
    exc = _ended(lambda: archive.find_points([10.0, 11.0], [10.0, 11.0]))
    assert isinstance(exc, ArchiveError), exc
    assert "still EXECUTING after 2 s" in str(exc)
    assert ("DELETE", job) in server.log  # cleaned up all the same


def test_describe_check_gives_up(server):
    server.route("/tap/sync", ("drip", b"<" * 10_000, 0.2))
    server.route("/dlget", ("headers_forever", 0.2))
    archive = VOArchive(
        tap_url=server.url("/tap"), table=TABLE, datalink_url=server.url("/dlget")
    )
    info = _ended_value(lambda: archive.describe(check=True, timeout=1))
    for name, path in (("tap", "/tap/sync"), ("datalink", "/dlget")):
        status = info["endpoints"][name]
        assert not status
        assert "ArchiveUnreachableError" in status["detail"]
        assert server.url(path) in status["detail"]
        assert "within 1 s" in status["detail"]
        assert status["cause"] == "cannot reach 127.0.0.1: timed out after 1 s"


def _ended_value(call):
    box = {}
    exc = _ended(lambda: box.setdefault("value", call()))
    assert exc is None, exc
    return box["value"]


def test_cli_info_check_gives_up(server):
    # the check's time limit (10 s per endpoint) is its overall deadline
    server.route("/tap/sync", ("headers_forever", 0.5))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twomass_vo.cli",
            "--tap-url",
            server.url("/tap"),
            "--tap-table",
            TABLE,
            "info",
            "--check",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HUNG,
    )
    assert done.returncode == 3, done.stderr  # 3: the archive does not answer
    line = next(x for x in done.stdout.splitlines() if x.startswith("endpoint tap"))
    # in words (the details with -v)
    assert line.endswith("NOT ANSWERING (cannot reach 127.0.0.1: timed out after 10 s)")


# --------------------------------------------------------------- bad values
def _answer(
    data_path, column=None, row=3, value=None, name="dachs_tap_circle.xml", more=()
):
    """A DaCHS TAP answer (VOTable) with ``column[row]`` replaced by ``value``.

    ``more``: further (column, value) pairs replaced in the same row.
    """
    import io
    import warnings

    import numpy as np
    from astropy.io.votable import from_table, parse
    from astropy.io.votable.tree import Info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(data_path / "vo" / name).get_first_table().to_table()
    for name, new in ((column, value), *more):
        if name is None:
            continue
        values = list(table[name])
        values[row] = new
        if isinstance(new, str):
            table[name] = np.array(values, dtype=object)
        elif isinstance(new, np.ndarray):
            table[name] = np.array(values, dtype=np.float64)
        else:
            table[name] = np.array(values)
    votable = from_table(table)
    votable.resources[0].type = "results"
    votable.resources[0].infos.append(Info(name="QUERY_STATUS", value="OK"))
    out = io.BytesIO()
    votable.to_xml(out)
    return out.getvalue()


def test_good_answer_is_read(server, data_path):
    # the rewritten answer itself is fine: the cases below change one value
    server.route("/tap/sync", ("body", _answer(data_path)))
    table = TwoMassBatch(archive=_tap(server)).query_region("10.68 41.27", 0.1)
    assert len(table) == 12
    assert set(table["ordate"]) == {"971101", "991106"}


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("access_url", "http://127.0.0.1/files/99110\u00e96n.fits", "printable ASCII"),
        ("access_url", "http://127.0.0.1/a file.fits", "printable ASCII"),
        ("access_url", "file:///etc/passwd", "http"),
        ("ordate", "abcdef", "not a date yymmdd"),
        ("ordate", "19991106", "not a date yymmdd"),
        ("ordate", "1106", "not a date yymmdd"),
        ("ordate", "991306", "not a date yymmdd"),
        ("hemisphere", "x", "not n or s"),
        ("scanno", 4_000_000_054, "not 1..999"),
        ("scanno", 4.5, "cannot be read"),
        ("scanno", 0, "not 1..999"),
        ("image", 12345, "not 1..9999"),
        ("coadd_key", -7, "not 0..2\\*\\*62"),
        ("coadd_key", 1e30, "not an integer"),
        ("coadd_key", 7.5, "not an integer"),
        ("dec", 95.0, "beyond \\+-90"),
        ("ra", float("inf"), "not finite"),
    ],
)
def test_bad_value_is_an_archive_error(server, data_path, column, value, why):
    server.route("/tap/sync", ("body", _answer(data_path, column, 3, value)))
    batch = TwoMassBatch(archive=_tap(server))
    with pytest.raises(ArchiveError, match=why) as info:
        batch.query_region("10.68 41.27", 0.1)
    message = str(info.value)
    assert server.url("/tap") in message
    assert "row 3 of the answer" in message
    assert column in message


@pytest.mark.parametrize(
    ("corners", "why"),
    [
        ([10.0, 41.0] * 4, "degenerate"),  # one point four times
        ([10.0, 41.0, 10.0, 41.1, 10.0, 41.2, 10.0, 41.3], "degenerate"),  # a line
        ([10.0, 41.0, 10.1, 41.0, 10.1, 95.0, 10.0, 41.1], r"\|dec\| <= 90"),
        ([10.0, 41.0, 10.1, 41.0, np.inf, 41.1, 10.0, 41.1], "polygon"),
    ],
)
def test_bad_footprint_is_an_archive_error(server, data_path, corners, why):
    value = np.array(corners, dtype=np.float64)
    # row 0: the first row of its image set, whose footprint the set takes
    server.route("/tap/sync", ("body", _answer(data_path, "s_region", 0, value)))
    batch = TwoMassBatch(archive=_tap(server))
    with pytest.raises(ArchiveError, match=why) as info:
        batch.query_region("10.68 41.27", 0.1)
    message = str(info.value)
    assert server.url("/tap") in message
    assert "row 0 of the answer: footprint" in message


def test_centre_without_a_finite_coordinate_comes_from_the_footprint(server, data_path):
    # NaN is a null double in VOTable: the centre is then the footprint's
    server.route("/tap/sync", ("body", _answer(data_path, "ra", 3, float("nan"))))
    table = TwoMassBatch(archive=_tap(server)).query_region("10.68 41.27", 0.1)
    assert len(table) == 12
    assert np.isfinite(table["ra"]).all()


@pytest.mark.parametrize("value", [7, -1, 1.5])
def test_position_index_not_uploaded_is_an_archive_error(server, data_path, value):
    # the service echoes the uploaded pos_idx: one that was never uploaded
    # would pin the row on a position that was not asked for
    answer = _answer(data_path, "pos_idx", 2, value, name="dachs_tap_points.xml")
    server.route("/tap/sync", ("body", answer))
    archive = VOArchive(tap_url=server.url("/tap"), table=TABLE, upload=True)
    with pytest.raises(ArchiveError, match="pos_idx") as info:
        archive.find_points([10.68, 10.7, 200.0], [41.27, 41.3, 0.0])
    assert "row 2 of the answer" in str(info.value)
    assert server.url("/tap") in str(info.value)


def test_unknown_image_type_is_an_archive_error(server, data_path):
    # an image type neither atlas nor quicklook, and a file name that does
    # not tell either: the row is not guessed to be an Atlas image
    answer = _answer(
        data_path,
        "image_type",
        3,
        "xyz",
        more=[("access_url", "http://127.0.0.1/files/file3.fits")],
    )
    server.route("/tap/sync", ("body", answer))
    with pytest.raises(ArchiveError, match="row 3 of the answer: image_type 'xyz'"):
        TwoMassBatch(archive=_tap(server)).query_region("10.68 41.27", 0.1)


def test_bad_value_in_an_sia_answer_names_the_sia_service(server, data_path):
    # an SIA v2 answer: the file's identity comes from its path, which is fine
    # here; the URL itself (a query string with a non-ASCII character) is not
    url = "http://127.0.0.1/files/991106n/s054/image/ji0540244.fits?v=\u00e9"
    answer = _answer(data_path, "access_url", 3, url, name="dachs_sia2_circle.xml")
    server.route("/sia", ("body", answer))
    archive = VOArchive(
        sia_url=server.url("/sia"),
        sia_capabilities=False,
        tap_url=server.url("/tap"),
        table=TABLE,
        resolve_coadd_keys=False,
    )
    with pytest.raises(ArchiveError, match="printable ASCII") as info:
        TwoMassBatch(archive=archive).query_region("10.68 41.27", 0.1)
    assert str(info.value).startswith(server.url("/sia") + ": row 3 of the answer")


def _encoded(data, encoding):
    import gzip
    import zlib

    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "gzip (two members)":
        half = len(data) // 2
        return gzip.compress(data[:half]) + gzip.compress(data[half:])
    if encoding == "deflate (zlib)":
        return zlib.compress(data)
    encoder = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return encoder.compress(data) + encoder.flush()


@pytest.mark.parametrize(
    "encoding", ["gzip", "gzip (two members)", "deflate (zlib)", "deflate (raw)"]
)
def test_compressed_answers_are_decoded(server, data_path, encoding):
    # the counted decoder reads what urllib3 read before, in chunks; 3 MB of
    # blanks (a few kB compressed) make one chunk received decode to many
    answer = _answer(data_path)
    answer = answer.replace(b"<VOTABLE", b"<!--" + b" " * 3_000_000 + b"-->\n<VOTABLE")
    assert len(answer) > 3_000_000
    body = _encoded(answer, encoding)
    header = encoding.split()[0]
    server.route("/tap/sync", ("body", body, {"Content-Encoding": header}))
    with twomass_vo.conf.set_temp("max_answer_size", 4 << 20):
        table = TwoMassBatch(archive=_tap(server)).query_region("10.68 41.27", 0.1)
    assert len(table) == 12


def test_cut_compressed_answer_is_an_archive_error(server, data_path):
    body = _encoded(_answer(data_path), "gzip")[:-100]
    server.route("/tap/sync", ("body", body, {"Content-Encoding": "gzip"}))
    with pytest.raises(ArchiveError, match="ends inside its compressed body"):
        _tap(server).find_circle(10.68, 41.27, 0.1)


def test_unknown_content_encoding_is_an_archive_error(server, data_path):
    server.route("/tap/sync", ("body", _answer(data_path), {"Content-Encoding": "xz"}))
    with pytest.raises(ArchiveError, match="content encoding 'xz'"):
        _tap(server).find_circle(10.68, 41.27, 0.1)


def test_columns_the_same_in_any_case_are_refused(server, data_path):
    # ORDATE beside ordate, with another valid date: which is meant cannot be
    # told (the last one found used to win)
    import io
    import warnings

    from astropy.io.votable import from_table, parse
    from astropy.io.votable.tree import Info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(data_path / "vo" / "dachs_tap_circle.xml").get_first_table()
        table = table.to_table()
    table["ORDATE"] = np.full(len(table), "000101")
    votable = from_table(table)
    votable.resources[0].type = "results"
    votable.resources[0].infos.append(Info(name="QUERY_STATUS", value="OK"))
    out = io.BytesIO()
    votable.to_xml(out)
    server.route("/tap/sync", ("body", out.getvalue()))
    with pytest.raises(ArchiveError, match="the same name in any case") as info:
        TwoMassBatch(archive=_tap(server)).query_region("10.68 41.27", 0.1)
    assert "'ordate' and 'ORDATE'" in str(info.value)
    assert server.url("/tap") in str(info.value)


def test_an_html_error_page_is_reported_on_one_line(server):
    page = b"<html>\n<head><title>Oops</title></head>\n<body>\n<h1>Down</h1>\n</body>\n"
    server.route("/tap/sync", ("status", 502, page, {"Content-Type": "text/html"}))
    with pytest.raises(ArchiveError, match="502") as info:
        _tap(server).find_circle(10.68, 41.27, 0.1)
    assert "\n" not in str(info.value)
    assert "<h1>Down</h1>" in str(info.value)
