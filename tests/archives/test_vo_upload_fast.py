# Licensed under a 3-clause BSD style license - see LICENSE
"""The two-step position route of `VOArchive` (pairs first, then each set once).

Offline: the BINARY2 upload writer, the CSV reader of integer answers and its
checks, `sets_of_pairs`, and the validation of the pairs a service returns.
On the DaCHS mirror (marker ``dachs``): the route gives exactly the rows of
the previous query shape (``pairs_first=False``: every file row's columns in
one query) and the same rows as the `LocalArchive` the mirror publishes, sync
and async.
"""

import io
from urllib.parse import unquote_plus

import numpy as np
import pytest
import requests
from astropy.table import Table
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse

from twomass_vo.archives.base import ImageSets
from twomass_vo.archives.vo import VOArchive
from twomass_vo.archives.vo.image_sets import sets_of_pairs
from twomass_vo.archives.vo.tap import binary2_upload, read_integer_answer
from twomass_vo.exceptions import ArchiveError

TAP = "http://127.0.0.1:8080/tap"
URL = f"{TAP}/sync"


def answer(body, content_type="text/csv;charset=utf-8", status=200):
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else body
    response.headers["Content-Type"] = content_type
    response.url = URL
    return response


# ------------------------------------------------------------ BINARY2 upload
def test_binary2_upload_round_trip():
    table = Table(
        {
            "pos_idx": np.array([0, 1, 2], np.int32),
            "pos_ra": np.array([10.684583123456789, 0.0, 359.99999999999994]),
            "pos_dec": np.array([41.26, -90.0, 89.5]),
            "key_value": np.array([1, 2**40, 3], np.int64),
            "scan_ordate": np.array([b"980923", b"000101", b"991231"]),
            "scan_hem": np.array([b"n", b"s", b"n"]),
        }
    )
    document = binary2_upload(table).getvalue()
    assert b"<BINARY2>" in document
    back = Table.read(io.BytesIO(document), format="votable")
    for name in ("pos_idx", "pos_ra", "pos_dec", "key_value"):
        assert back[name].dtype == table[name].dtype
        assert np.array_equal(back[name], table[name])  # bit for bit
    assert back["scan_ordate"].tolist() == ["980923", "000101", "991231"]
    assert back["scan_hem"].tolist() == ["n", "s", "n"]
    # masked values: astropy's writer (nulls flagged)
    masked = Table({"v": np.ma.MaskedArray([1, 2], mask=[False, True])})
    back = Table.read(binary2_upload(masked), format="votable")
    assert back["v"].mask.tolist() == [False, True]
    stream = io.BytesIO(b"<VOTABLE/>")
    assert binary2_upload(stream) is stream


# ------------------------------------------------------- integer answers
def test_read_integer_answer_csv():
    body = "pos_idx,coadd_key\r\n3,1277291\r\n0,431190\r\n3,336753\r\n"
    index, keys = read_integer_answer(answer(body), URL, ("pos_idx", "coadd_key"), 10)
    assert index.tolist() == [3, 0, 3] and keys.tolist() == [1277291, 431190, 336753]
    assert index.dtype == np.int64
    index, keys = read_integer_answer(
        answer("pos_idx,coadd_key\r\n"), URL, ("pos_idx", "coadd_key"), 10
    )
    assert len(index) == len(keys) == 0


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("a,b\r\n1,2\r\n", "CSV columns"),
        ("pos_idx,coadd_key\r\n1,2\r\n3,x\r\n", "'x'.*row 1"),
        ("pos_idx,coadd_key\r\n1,2\r\n3,\r\n", "not an integer"),
        ("pos_idx,coadd_key\r\n1,2.5\r\n", "not an integer"),
        ("pos_idx,coadd_key\r\n1,2,3\r\n", "not an integer|columns"),
        ("pos_idx,coadd_key\r\n" + "1,2\r\n" * 4, "truncated at 4 rows"),
    ],
)
def test_read_integer_answer_rejects(body, match):
    with pytest.raises(ArchiveError, match=match) as info:
        read_integer_answer(answer(body), URL, ("pos_idx", "coadd_key"), 4)
    assert URL in str(info.value)


def test_read_integer_answer_errors_and_votables(data_path):
    error = (data_path / "vo" / "dachs_tap_error.xml").read_bytes()
    with pytest.raises(ArchiveError, match="Could not locate table"):
        read_integer_answer(answer(error, "text/xml", 400), URL, ("a",), 10)
    with pytest.raises(ArchiveError, match=f"503 Server Error.*{URL}"):
        read_integer_answer(
            answer("<html>overloaded</html>", "text/html", 503), URL, ("a",), 10
        )
    with pytest.raises(ArchiveError, match="neither CSV nor VOTable"):
        read_integer_answer(answer("{}", "application/json"), URL, ("a",), 10)
    overflow = (data_path / "vo" / "dachs_tap_overflow.xml").read_bytes()
    with pytest.raises(ArchiveError, match="truncated"):
        read_integer_answer(
            answer(overflow, "text/xml"), URL, ("coadd_key", "scanno"), 1000
        )
    points = (data_path / "vo" / "dachs_tap_points.xml").read_bytes()
    index, keys = read_integer_answer(
        answer(points, "application/x-votable+xml"), URL, ("pos_idx", "coadd_key"), 99
    )
    assert len(index) == len(keys) > 0 and (keys > 0).all()
    with pytest.raises(ArchiveError, match="lacks the nosuch column"):
        read_integer_answer(answer(points, "text/xml"), URL, ("nosuch",), 99)
    with pytest.raises(ArchiveError, match="not an integer"):
        read_integer_answer(answer(points, "text/xml"), URL, ("ordate",), 99)


# ------------------------------------------------------------ sets_of_pairs
def _sets(keys, refs):
    n = len(keys)
    return ImageSets(
        ref=np.asarray(refs, np.int64),
        coadd_key=np.asarray(keys, np.int64),
        ordate=np.full(n, "980923"),
        hemisphere=np.full(n, "n"),
        scanno=np.arange(n, dtype=np.int64) + 1,
        image=np.arange(n, dtype=np.int64) + 10,
        ra=np.zeros(n),
        dec=np.zeros(n),
        corners=np.zeros((n, 4, 3)),
        has_band=np.ones((n, 3), bool),
        query_index=np.zeros(n, np.int64),
    )


def test_sets_of_pairs_looks_each_set_up_once():
    asked = []

    def look_up(keys):
        asked.append(keys.tolist())
        return _sets([7, 5, 9], [10, 11, 12])  # any order, extra sets ignored

    sets = sets_of_pairs(
        [2, 0, 1, 0, 2], [7, 5, 5, 5, 5], look_up, source="the test service"
    )
    assert asked == [[5, 7]]
    got = list(zip(sets.query_index.tolist(), sets.ref.tolist(), strict=True))
    assert got == [(0, 11), (1, 11), (2, 10), (2, 11)]  # by query, then set
    assert sets.coadd_key.tolist() == [5, 5, 7, 5]
    assert sets.image.tolist() == [11, 11, 10, 11]
    empty = sets_of_pairs([], [], look_up, source="x")
    assert len(empty) == 0 and len(asked) == 1


def test_sets_of_pairs_missing_set():
    with pytest.raises(ArchiveError, match=r"the test service: point 4 .* 8"):
        sets_of_pairs(
            [0, 4], [5, 8], lambda keys: _sets([5], [0]), source="the test service"
        )


# ------------------------------------------- pairs validated by find_points
class Queue(BaseAdapter):
    """Answers every request with the next of some canned answers."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append(request)
        body, content_type = self.answers.pop(0)
        raw = HTTPResponse(
            body=io.BytesIO(body.encode() if isinstance(body, str) else body),
            headers={"Content-Type": content_type},
            status=200,
            preload_content=False,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self):
        pass


def _archive(*answers):
    archive = VOArchive(tap_url=TAP, table="twomass.images", upload=True)
    queue = Queue(*answers)
    archive.session.mount("http://", queue)
    return archive, queue


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        ("pos_idx,coadd_key\r\n0,5\r\n2,6\r\n", r"row 1 of the answer: .* \(2, 6\)"),
        ("pos_idx,coadd_key\r\n-1,5\r\n", r"row 0 of the answer: .* \(-1, 5\)"),
        ("pos_idx,coadd_key\r\n1,-5\r\n", r"row 0 of the answer: .* \(1, -5\)"),
        (
            f"pos_idx,coadd_key\r\n0,1\r\n1,{2**62 + 1}\r\n",
            r"row 1 of the answer: .* \(1, 46",
        ),
    ],
)
def test_find_points_rejects_bad_pairs(pairs, match):
    archive, queue = _archive((pairs, "text/csv"))
    with pytest.raises(ArchiveError, match=match):
        archive.find_points([10.0, 11.0], [41.0, 41.0])
    assert len(queue.sent) == 1  # no look-up of the sets after a bad answer


def test_find_points_set_missing_from_the_look_up(data_path):
    points = (data_path / "vo" / "dachs_tap_points.xml").read_bytes()
    archive, queue = _archive(
        ("pos_idx,coadd_key\r\n0,1\r\n", "text/csv"), (points, "text/xml")
    )
    with pytest.raises(ArchiveError, match="coadd_key 1, but the look-up"):
        archive.find_points([10.68], [41.27])
    assert "coadd_key IN (1)" in unquote_plus(queue.sent[1].body)


# ------------------------------------------------------------- on the mirror


def _batch(env, request, **options):
    from twomass_vo import TwoMassBatch

    archive = VOArchive(tap_url=env["TAP_URL"], table=env["TAP_TABLE"], **options)
    request.addfinalizer(archive.close)
    return TwoMassBatch(archive=archive)


def _positions(n, seed):
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(seed)
    points = SkyCoord("00h42m44.3s +41d16m08s").directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, 0.25 * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    )
    ra = np.append(points.ra.deg, [200.0, points.ra.deg[0]])  # outside; repeated
    dec = np.append(points.dec.deg, [0.0, points.dec.deg[0]])
    return Table({"ra": ra, "dec": dec})


def _identical(a, b):
    assert a.colnames == b.colnames and len(a) == len(b)
    for name in a.colnames:
        assert np.array_equal(np.asarray(a[name]), np.asarray(b[name])), name


@pytest.mark.dachs
def test_pairs_route_gives_the_old_rows(mirror_env, request):
    from twomass_vo import TwoMassBatch
    from twomass_vo.archives import LocalArchive

    table = _positions(400, 5)
    new = _batch(mirror_env, request)
    old = _batch(mirror_env, request, pairs_first=False)
    local = TwoMassBatch(archive=LocalArchive(mirror_env["ARCHIVE_PATH"]))
    identity = ["scntr", "coadd_key", "band", "ordate", "hemisphere", "scanno"]
    for best in (False, True):
        a = new.query_positions(table, best=best)
        b = old.query_positions(table, best=best)
        _identical(a, b)  # every column, bit for bit
        c = local.query_positions(table, best=best)
        assert len(a) == len(c) > 1000 // (3 if best else 1)
        assert a[[*identity, "image", "best"]].as_array().tolist() == (
            c[[*identity, "image", "best"]].as_array().tolist()
        )
    payloads = new.query_positions(table, get_query_payload=True)
    assert [p["format"] for p in payloads] == ["csv"]


@pytest.mark.dachs
def test_pairs_route_async_and_chunked(mirror_env, request):
    table = _positions(300, 6)
    chunked = _batch(mirror_env, request, chunk_size=250, async_threshold=200)
    payloads = chunked.query_positions(table, get_query_payload=True)
    assert [p["mode"] for p in payloads] == ["async", "sync"]
    _identical(
        chunked.query_positions(table, best=True),
        _batch(mirror_env, request).query_positions(table, best=True),
    )
