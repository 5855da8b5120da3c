# Licensed under a 3-clause BSD style license - see LICENSE
"""Offline tests of `VOArchive` and `IrsaArchive`.

No network: every archive's session has a fake transport adapter mounted
(`FakeHTTP`) that answers with the canned responses of ``tests/data/vo/``
(recorded from the project's DaCHS mirror, or shaped like IRSA's answers; see
tests/data/README.md) and refuses anything else.
"""

import io
import re
from email.parser import BytesParser
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import requests
import urllib3
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning
from requests.adapters import BaseAdapter, HTTPAdapter

from twomass_vo.archives.base import ImageSets
from twomass_vo.archives.irsa import IrsaArchive, conf
from twomass_vo.archives.vo import (
    DEFAULT_COLUMNS,
    VOArchive,
    band_codes,
    dhs_keys,
    parse_image_paths,
)
from twomass_vo.exceptions import ArchiveError, InvalidQueryError
from twomass_vo.geometry import Footprints, radec_to_xyz

DACHS = "http://127.0.0.1:8080"
SIA = f"{DACHS}/twomass/q/siap2/siap2.xml"
DLGET = f"{DACHS}/twomass/q/dl/dlget"
IBE = "https://irsa.ipac.caltech.edu/ibe/data/twomass/allsky/allsky/"
IRSA_SIA = "https://irsa.ipac.caltech.edu/SIA"
IRSA_TAP = "https://irsa.ipac.caltech.edu/TAP"
INJECTION = "x'; DROP TABLE images; --"


# ---------------------------------------------------------------- fake HTTP
class FakeHTTP(BaseAdapter):
    """A requests transport adapter answering from a route table."""

    def __init__(self):
        super().__init__()
        self.routes = {}
        self.sent = []

    def route(self, method, url, body=b"", *, status=200, headers=None, then=None):
        """Answer ``method url`` (query string ignored) with ``body``.

        ``then``: a list of (body, headers) answered (in order) after the
        first request, the last one for every further request.
        """
        answers = [(body, headers), *(then or [])]
        self.routes[(method, url)] = [
            (
                status,
                b.encode() if isinstance(b, str) else b,
                {"Content-Type": "text/xml", **(h or {})},
            )
            for b, h in answers
        ]

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        key = (request.method, request.url.split("?")[0])
        if key not in self.routes:
            raise requests.ConnectionError(f"no route to {key}")
        answers = self.routes[key]
        status, body, headers = answers.pop(0) if len(answers) > 1 else answers[0]
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=status,
            preload_content=False,
            decode_content=False,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self):
        pass

    def requests_to(self, method, url):
        return [
            r for r, _ in self.sent if (r.method, r.url.split("?")[0]) == (method, url)
        ]


def form(request):
    """The form fields of a request (query string, urlencoded or multipart)."""
    if request.method == "GET":
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    ctype = request.headers["Content-Type"]
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    if ctype.startswith("multipart/"):
        message = BytesParser().parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        return {
            part.get_param("name", header="content-disposition"): part.get_payload(
                decode=True
            )
            for part in message.get_payload()
        }
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def text(value):
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def vo_data(data_path):
    def read(name):
        return (data_path / "vo" / name).read_bytes()

    return read


@pytest.fixture
def fake():
    return FakeHTTP()


def _mount(archive, fake):
    archive.session.mount("http://", fake)
    archive.session.mount("https://", fake)
    return archive


@pytest.fixture
def dachs(fake):
    """A VOArchive on the (faked) DaCHS mirror, TAP only, with SODA."""
    return _mount(
        VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images", datalink_url=DLGET),
        fake,
    )


def _irsa_tap(**kwargs):
    """IrsaArchive on a configured TAP table (the recorded IRSA answers).

    No table is confirmed at IRSA, so by default IrsaArchive reads TAP_SCHEMA
    first (see test_irsa_routes.py); these tests configure the table of the
    recorded answers, which has no image-number column (parsed from fname).
    """
    kwargs.setdefault("sia1_url", "")  # the recorded answers have no SIA v1 CGI
    return IrsaArchive(
        table="twomass.allsky_images", discover=False, columns={"image": None}, **kwargs
    )


@pytest.fixture
def irsa(fake):
    return _mount(_irsa_tap(), fake)


# ---------------------------------------------------------------- payloads
def test_payload_circle_sia(irsa, fake):
    (payload,) = irsa.payload_circle(10.68, 41.27, 0.1)
    assert payload == {
        "service": "sia",
        "url": IRSA_SIA,
        "params": {
            "POS": "CIRCLE 10.68 41.27 0.1",
            "COLLECTION": "twomass_allsky",
            "MAXREC": "100000",
        },
        "route": "sia",
    }
    assert fake.sent == []


def test_payload_circle_tap(dachs):
    (payload,) = dachs.payload_circle(370.5, -30.25, 1e-5)
    assert payload["service"] == "tap"
    assert payload["url"] == f"{DACHS}/tap"
    assert payload["mode"] == "sync"
    assert payload["uploads"] == {}
    assert payload["query"] == (
        "SELECT i.coadd_key, i.ordate, i.hemisphere, i.scanno, i.image, i.band, "
        "i.image_type, i.ra, i.dec, i.s_region, i.access_url, i.access_format, "
        "i.access_estsize, i.pubdid FROM twomass.images AS i WHERE "
        "INTERSECTS(CIRCLE('ICRS', 10.5, -30.25, 0.00001), i.s_region) = 1"
    )


@pytest.mark.parametrize(
    ("ra", "dec", "radius"),
    [(np.nan, 0, 1), (0, 91, 1), (0, 0, 0), (0, 0, -1), (0, 0, 91), ("x", 0, 1)],
)
def test_payload_circle_rejects(dachs, ra, dec, radius):
    with pytest.raises((InvalidQueryError, ValueError)):
        dachs.payload_circle(ra, dec, radius)


def test_payload_points_upload_chunks_and_async(fake):
    archive = _mount(
        VOArchive(
            tap_url=f"{DACHS}/tap",
            table="twomass.images",
            upload=True,
            chunk_size=2,
            async_threshold=1,
        ),
        fake,
    )
    ra = np.array([1.0, 2.0, 3.0, 4.0, 365.0])
    dec = np.array([-1.0, -2.0, -3.0, -4.0, -5.0])
    payloads = archive.payload_points(ra, dec)
    assert [p["mode"] for p in payloads] == ["async", "async", "sync"]
    for p in payloads:  # two steps: (position, coadd_key) pairs first, as CSV
        assert p["query"] == (
            "SELECT DISTINCT u.pos_idx, i.coadd_key "
            "FROM twomass.images AS i JOIN TAP_UPLOAD.pos AS u ON "
            "CONTAINS(POINT('ICRS', u.pos_ra, u.pos_dec), i.s_region) = 1"
        )
        assert p["format"] == "csv" and p["columns"] == ("pos_idx", "coadd_key")
    one_step = VOArchive(
        tap_url=f"{DACHS}/tap", table="twomass.images", upload=True, pairs_first=False
    )
    (p,) = one_step.payload_points(ra, dec)
    assert p["query"].startswith("SELECT u.pos_idx, i.coadd_key, i.ordate, ")
    assert "format" not in p and p["mode"] == "sync"
    tables = [p["uploads"]["pos"] for p in payloads]
    assert all(isinstance(t, Table) for t in tables)
    assert np.concatenate([t["pos_idx"] for t in tables]).tolist() == [0, 1, 2, 3, 4]
    assert np.concatenate([t["pos_ra"] for t in tables]).tolist() == [1, 2, 3, 4, 5]
    assert tables[2]["pos_dec"].tolist() == [-5.0]
    assert fake.sent == []


def test_payload_points_without_uploads(fake):
    sia = VOArchive(
        sia_url=SIA, tap_url=f"{DACHS}/tap", table="twomass.images", upload=False
    )
    payloads = sia.payload_points([10.5, 20.25], [1.0, -2.0])
    assert [p["service"] for p in payloads] == ["sia", "sia"]
    assert payloads[1]["params"]["POS"] == "CIRCLE 20.25 -2 0.0001"
    tap = VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images", upload=False)
    payloads = tap.payload_points([10.5], [1.0])
    assert payloads[0]["query"].endswith(
        "WHERE CONTAINS(POINT('ICRS', 10.5, 1), i.s_region) = 1"
    )


def test_payload_coadd_keys_in_list(dachs):
    (payload,) = dachs.payload_coadd_keys(
        np.array([1590591, 7, 1590591], dtype=np.int32)
    )
    assert payload["query"].endswith("WHERE i.coadd_key IN (7, 1590591)")
    for keys in (["0001590591", "7"], np.array([1590591.0, 7.0])):
        (payload,) = dachs.payload_coadd_keys(keys)
        assert payload["query"].endswith("WHERE i.coadd_key IN (7, 1590591)")


def test_payload_coadd_keys_upload_and_lists(fake):
    kwargs = dict(tap_url=f"{DACHS}/tap", table="twomass.images", upload_threshold=3)
    keys = np.arange(10, 0, -1)
    payloads = VOArchive(**kwargs, upload=True, chunk_size=4).payload_coadd_keys(keys)
    assert len(payloads) == 3
    assert payloads[0]["query"].endswith(
        "JOIN TAP_UPLOAD.keys AS u ON i.coadd_key = u.key_value"
    )
    values = [p["uploads"]["keys"]["key_value"].tolist() for p in payloads]
    assert values == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert payloads[0]["uploads"]["keys"]["key_value"].dtype == np.int64
    payloads = VOArchive(**kwargs, upload=False).payload_coadd_keys(keys)
    assert [p["query"].split("WHERE ")[1] for p in payloads] == [
        "i.coadd_key IN (1, 2, 3)",
        "i.coadd_key IN (4, 5, 6)",
        "i.coadd_key IN (7, 8, 9)",
        "i.coadd_key IN (10)",
    ]
    assert all(p["uploads"] == {} for p in payloads)


@pytest.mark.parametrize(
    "keys", [[1, INJECTION], ["1 OR 1=1"], [1.5], [-3], [np.nan], ["12e3"]]
)
def test_payload_coadd_keys_rejects_strings(dachs, keys):
    with pytest.raises(InvalidQueryError):
        dachs.payload_coadd_keys(keys)


def test_payload_scans_terms(dachs):
    (payload,) = dachs.payload_scans(
        ["971031", "71031", "971031", "000917"],
        ["N", "n", "n", "s"],
        [96, 96, 97, 112],
        [197, 256, 0, 3],
    )
    where = payload["query"].split(" WHERE ")[1]
    assert where == (
        "(i.ordate = '000917' AND i.hemisphere = 's' AND i.scanno = 112 "
        "AND i.image IN (3)) OR "
        "(i.ordate = '071031' AND i.hemisphere = 'n' AND i.scanno = 96 "
        "AND i.image IN (256)) OR "
        "(i.ordate = '971031' AND i.hemisphere = 'n' AND i.scanno = 96 "
        "AND i.image IN (197)) OR "
        "(i.ordate = '971031' AND i.hemisphere = 'n' AND i.scanno = 97)"
    )


def test_payload_scans_upload(fake):
    archive = VOArchive(
        tap_url=f"{DACHS}/tap",
        table="twomass.images",
        upload=True,
        upload_threshold=1,
    )
    (payload,) = archive.payload_scans(
        ["971031", "971031", "000917"], ["n", "n", "s"], [96, 96, 112], [0, 5, 0]
    )
    assert payload["query"].endswith(
        "JOIN TAP_UPLOAD.scans AS u ON i.ordate = u.scan_ordate AND "
        "i.hemisphere = u.scan_hem AND i.scanno = u.scan_no"
    )
    upload = payload["uploads"]["scans"]
    assert upload["scan_ordate"].dtype.kind == "S"  # VOTable char, not unicodeChar
    assert upload["scan_ordate"].tolist() == ["000917", "971031"]
    assert upload["scan_hem"].tolist() == ["s", "n"]
    assert upload["scan_no"].tolist() == [112, 96]


@pytest.mark.parametrize(
    ("ordate", "hem", "scan", "image"),
    [
        (INJECTION, "n", 1, 0),
        ("971031", INJECTION, 1, 0),
        ("971031", "n' OR '1'='1", 1, 0),
        ("9710311", "n", 1, 0),
        ("971031", "n", INJECTION, 0),
        ("971031", "n", 1, 2.5),
        ("971031", "n", 1000, 0),
        ("971031", "e", 1, 0),
    ],
)
def test_payload_scans_rejects(dachs, ordate, hem, scan, image):
    with pytest.raises(InvalidQueryError):
        dachs.payload_scans([ordate], [hem], [scan], [image])


def test_payloads_never_paste_user_text(dachs):
    payloads = [
        *dachs.payload_coadd_keys(["42", 43]),
        *dachs.payload_scans(["971031"], ["n"], ["96"], ["0"]),
        *dachs.payload_circle("10", "20", "0.5"),
    ]
    for payload in payloads:
        assert "'" not in payload["query"].replace("'ICRS'", "").replace(
            "'971031'", ""
        ).replace("'n'", "")
    assert "IN (42, 43)" in payloads[0]["query"]
    assert "i.scanno = 96)" in payloads[1]["query"]


# ---------------------------------------------------------- construction
@pytest.mark.parametrize(
    "kwargs",
    [
        {"tap_url": "ftp://host/tap"},
        {"tap_url": "file:///etc/passwd"},
        {"tap_url": "/local/tap"},
        {"sia_url": "javascript:alert(1)"},
        {"datalink_url": "file:///x"},
        {"table": "images; DROP TABLE x"},
        {"table": "a.b.c.d"},
        {"columns": {"band": "band, 1"}},
        {"columns": {"nonsense": "x"}},
        {"columns": {"corners": "ra1 dec1"}},
        {"columns": {"access_url": None}},
        {"chunk_size": 0},
        {"maxrec": 2.5},
    ],
)
def test_constructor_validation(kwargs):
    base = {"tap_url": f"{DACHS}/tap", "table": "twomass.images"}
    with pytest.raises(InvalidQueryError):
        VOArchive(**{**base, **kwargs})


def test_default_session_timeout_and_agent(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    dachs.find_circle(10.68, 41.27, 0.1)
    request, kwargs = fake.sent[-1]
    assert kwargs["timeout"] == 60.0
    assert kwargs["verify"] not in (False, None)  # TLS verification kept
    agent = request.headers["User-Agent"]
    assert agent.startswith("twomass_vo/") and "pyVO/" in agent


def test_user_session_kept(fake):
    session = requests.Session()
    archive = VOArchive(tap_url=f"{DACHS}/tap", table="t", session=session)
    assert archive.session is session


# ------------------------------------------------- DaCHS mirror (recorded)
def test_find_circle_tap(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = dachs.find_circle(10.68, 41.27, 0.1)
    (request,) = fake.requests_to("POST", f"{DACHS}/tap/sync")
    fields = form(request)
    assert fields["QUERY"] == dachs.payload_circle(10.68, 41.27, 0.1)[0]["query"]
    assert fields["MAXREC"] == "1000000"
    assert len(sets) == 5
    assert (sets.query_index == 0).all()
    assert sets.has_band.all()
    assert (sets.coadd_key > 0).all()
    assert len(np.unique(sets.coadd_key)) == 5
    assert set(sets.hemisphere) == {"n"}
    assert all(len(d) == 6 and d.isdigit() for d in sets.ordate)
    # footprints: valid, and each contains its own centre
    footprints = Footprints(sets.corners)
    assert footprints.contains(radec_to_xyz(sets.ra, sets.dec)).all()
    atlas = dachs.files(sets, np.zeros(5, int), "atlas")
    quick = dachs.files(sets, np.full(5, 2), "quicklook")
    for i in range(5):
        stem = f"{sets.ordate[i]}{sets.hemisphere[i]}/s{sets.scanno[i]:03d}"
        assert atlas.access_url[i] == (
            f"{DACHS}/getproduct/twomass/files/{stem}/image/"
            f"ji{sets.scanno[i]:03d}{sets.image[i]:04d}.fits"
        )
        assert quick.access_url[i].endswith(
            f"{stem}/ql/kq{sets.scanno[i]:03d}{sets.image[i]:04d}.fits"
        )
    assert set(atlas.access_format) == {"image/fits"}
    assert (atlas.access_estsize > 1000).all()
    assert (quick.access_estsize < atlas.access_estsize).all()
    assert all(s.startswith(b"POLYGON ICRS ") for s in atlas.s_region)
    again = Footprints.from_s_region(atlas.s_region)
    assert np.allclose(again.corners, footprints.corners, atol=1e-8)


def test_find_circle_sia(fake, vo_data):
    archive = _mount(
        VOArchive(
            sia_url=SIA,
            tap_url=f"{DACHS}/tap",
            table="twomass.images",
            resolve_coadd_keys=False,
        ),
        fake,
    )
    fake.route("GET", SIA, vo_data("dachs_sia2_circle.xml"))
    sets = archive.find_circle(10.68, 41.27, 0.1)
    # no capabilities at the query endpoint itself: it is used as it is
    assert fake.sent[0][0].url == f"{SIA}/capabilities"
    assert archive.sia_query_url == SIA
    (request,) = fake.requests_to("GET", SIA)
    assert form(request) == archive.payload_circle(10.68, 41.27, 0.1)[0]["params"]
    assert not fake.requests_to("POST", f"{DACHS}/tap/sync")
    assert len(sets) == 5
    # ObsCore rows have no coadd_key: the surrogate is -(date-hem-scan-image key)
    keys = dhs_keys(sets.ordate, sets.hemisphere, sets.scanno, sets.image)
    assert (sets.coadd_key == -keys).all()
    # the same sets as the TAP table gives
    tap = _mount(VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images"), fake)
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    by_tap = tap.find_circle(10.68, 41.27, 0.1)
    order = np.argsort(keys)
    tap_keys = dhs_keys(by_tap.ordate, by_tap.hemisphere, by_tap.scanno, by_tap.image)
    tap_order = np.argsort(tap_keys)
    assert (keys[order] == tap_keys[tap_order]).all()
    assert np.allclose(sets.corners[order], by_tap.corners[tap_order], atol=1e-7)
    # dataproduct_subtype (atlas / quicklook) tells the image types apart
    quick = archive.files(sets, np.ones(5, int), "quicklook").access_url
    assert all("/ql/hq" in u for u in quick)


def test_sia_sets_get_real_coadd_keys(fake, vo_data):
    archive = _mount(
        VOArchive(sia_url=SIA, tap_url=f"{DACHS}/tap", table="twomass.images"),
        fake,
    )
    fake.route("GET", SIA, vo_data("dachs_sia2_circle.xml"))
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = archive.find_circle(10.68, 41.27, 0.1)
    assert (sets.coadd_key > 0).all()
    # the follow-up is payload_scans of the sets found, on the TAP table
    (request,) = fake.requests_to("POST", f"{DACHS}/tap/sync")
    (expected,) = archive.payload_scans(
        sets.ordate, sets.hemisphere, sets.scanno, sets.image
    )
    assert form(request)["QUERY"] == expected["query"]
    tap = _mount(VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images"), fake)
    by_tap = tap.find_circle(10.68, 41.27, 0.1)
    assert sorted(sets.coadd_key.tolist()) == sorted(by_tap.coadd_key.tolist())
    # a failing follow-up leaves the surrogates, with a warning
    failing = _mount(
        VOArchive(sia_url=SIA, tap_url=f"{DACHS}/tap", table="twomass.images"),
        fake,
    )
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_error.xml"))
    with pytest.warns(AstropyUserWarning, match="surrogate"):
        sets = failing.find_circle(10.68, 41.27, 0.1)
    assert (sets.coadd_key < 0).all()


def test_find_points_upload(dachs, fake, vo_data):
    # a service that answers VOTable although CSV was asked for: read as VOTable
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_points.xml"))
    fake.route(
        "GET", f"{DACHS}/tap/capabilities", vo_data("dachs_tap_capabilities.xml")
    )
    ra, dec = [10.68, 10.7, 200.0], [41.27, 41.3, 0.0]
    sets = dachs.find_points(ra, dec)
    assert fake.requests_to("GET", f"{DACHS}/tap/capabilities")  # upload=None
    # two requests: the (position, coadd_key) pairs, then the distinct sets
    pairs, distinct = fake.requests_to("POST", f"{DACHS}/tap/sync")
    fields = form(pairs)
    assert text(fields["QUERY"]) == dachs.payload_points(ra, dec)[0]["query"]
    assert text(fields["RESPONSEFORMAT"]) == "csv"
    assert text(fields["UPLOAD"]) == "pos,param:pos"
    assert b"<BINARY2>" in fields["pos"]
    uploaded = Table.read(io.BytesIO(fields["pos"]), format="votable")
    assert uploaded["pos_idx"].tolist() == [0, 1, 2]
    (expected,) = dachs.payload_coadd_keys(np.unique(sets.coadd_key))
    assert form(distinct)["QUERY"] == expected["query"]
    assert sorted(sets.query_index.tolist()) == [0, 0, 1]
    inside = Footprints(sets.corners).contains(
        radec_to_xyz(np.array(ra)[sets.query_index], np.array(dec)[sets.query_index])
    )
    assert inside.all()
    assert dachs.describe()["upload"] is True


def test_find_points_falls_back_without_upload_capability(fake, vo_data):
    archive = _mount(
        VOArchive(sia_url=SIA, tap_url=f"{DACHS}/tap", table="twomass.images"), fake
    )
    capabilities = vo_data("dachs_tap_capabilities.xml")
    assert b"upload-inline" in capabilities
    capabilities = re.sub(rb"<uploadMethod [^>]*/>", b"", capabilities)
    fake.route("GET", f"{DACHS}/tap/capabilities", capabilities)
    fake.route("GET", SIA, vo_data("dachs_sia2_circle.xml"))
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = archive.find_points([10.68, 10.75], [41.27, 41.25])
    assert archive.describe()["upload"] is False
    assert len(fake.requests_to("GET", SIA)) == 2  # one SIA request per point
    # and one TAP request for the coadd_keys, an IN list (no uploads)
    (request,) = fake.requests_to("POST", f"{DACHS}/tap/sync")
    assert "TAP_UPLOAD" not in form(request)["QUERY"]
    assert (sets.coadd_key > 0).all()
    # every set of each (superset) answer, tagged with its point
    assert np.bincount(sets.query_index).tolist() == [5, 5]


def test_find_points_async(fake, vo_data):
    archive = _mount(
        VOArchive(
            tap_url=f"{DACHS}/tap",
            table="twomass.images",
            upload=True,
            async_threshold=2,
            async_timeout=12.5,
        ),
        fake,
    )
    job = f"{DACHS}/__system__/tap/run/async/jiu75tzy"
    fake.route("POST", f"{DACHS}/tap/async", status=303, headers={"Location": job})
    fake.route("GET", job, vo_data("dachs_uws_job.xml"))
    fake.route("POST", f"{job}/phase", status=303, headers={"Location": job})
    fake.route("GET", f"{job}/results/result", vo_data("dachs_tap_points.xml"))
    fake.route("DELETE", job, status=303, headers={"Location": f"{DACHS}/tap/async"})
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_points.xml"))
    sets = archive.find_points([10.68, 10.7, 200.0], [41.27, 41.3, 0.0])
    assert sorted(sets.query_index.tolist()) == [0, 0, 1]
    (create,) = fake.requests_to("POST", f"{DACHS}/tap/async")
    assert "pos" in form(create)
    assert text(form(create)["RESPONSEFORMAT"]) == "csv"
    assert fake.requests_to("POST", f"{job}/phase")
    assert fake.requests_to("DELETE", job)
    # the distinct sets' look-up: a short IN list, synchronous
    (distinct,) = fake.requests_to("POST", f"{DACHS}/tap/sync")
    assert "TAP_UPLOAD" not in form(distinct)["QUERY"]
    # every poll of the job is bounded by what is left of async_timeout
    polls = [
        kw for r, kw in fake.sent if (r.method, r.url.split("?")[0]) == ("GET", job)
    ]
    assert polls and all(kw["timeout"] <= 12.5 for kw in polls)


def test_find_coadd_keys_matches_inputs(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    every = dachs.find_circle(10.68, 41.27, 0.1)
    k1, k2 = (int(k) for k in every.coadd_key[:2])
    fake.sent.clear()
    # the (superset) answer holds 5 sets; only the asked ones come back
    sets = dachs.find_coadd_keys(np.array([k1, 5, k1, k2]))
    (request,) = fake.sent
    query = form(request[0])["QUERY"]
    assert query.endswith(f"IN (5, {min(k1, k2)}, {max(k1, k2)})")
    got = sorted(zip(sets.query_index.tolist(), sets.coadd_key.tolist(), strict=True))
    assert got == [(0, k1), (2, k1), (3, k2)]
    assert not fake.requests_to("GET", f"{DACHS}/tap/capabilities")  # short list
    assert dachs.find_coadd_keys([]).coadd_key.size == 0


def test_find_scans_matches_inputs(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    every = dachs.find_circle(10.68, 41.27, 0.1)
    i = int(np.argmax(np.bincount(every.scanno)[every.scanno]))  # busiest scan
    o, h, s = every.ordate[i], every.hemisphere[i], every.scanno[i]
    in_scan = (every.ordate == o) & (every.scanno == s)
    sets = dachs.find_scans([o, o, "991231"], [h, h, "s"], [s, s, 1], [0, 244, 0])
    counts = np.bincount(sets.query_index, minlength=3)
    assert counts[0] == in_scan.sum()
    assert counts[1] == ((every.image == 244) & in_scan).sum()
    assert counts[2] == 0
    assert (sets.image[sets.query_index == 1] == 244).all()


def test_uploads_for_long_lists(fake, vo_data):
    archive = _mount(
        VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images", upload_threshold=1),
        fake,
    )
    fake.route(
        "GET", f"{DACHS}/tap/capabilities", vo_data("dachs_tap_capabilities.xml")
    )
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    k1, k2 = (int(k) for k in archive.find_circle(10.68, 41.27, 0.1).coadd_key[:2])
    fake.sent.clear()
    sets = archive.find_coadd_keys([k2, k1, 1])
    (request,) = fake.requests_to("POST", f"{DACHS}/tap/sync")
    fields = form(request)
    assert text(fields["UPLOAD"]) == "keys,param:keys"
    assert Table.read(io.BytesIO(fields["keys"]), format="votable")[
        "key_value"
    ].tolist() == sorted([1, k1, k2])
    assert sorted(sets.query_index.tolist()) == [0, 1]


def test_overflow_raises(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_overflow.xml"))
    with pytest.raises(ArchiveError, match="truncated at 4 rows"):
        dachs.find_circle(10.68, 41.27, 0.1)


def test_sia_maxrec_reached_raises(fake, vo_data):
    archive = _mount(_irsa_tap(sia_maxrec=7), fake)
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_twomass_allsky.xml"))
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    with pytest.raises(ArchiveError, match=r"MAXREC=7"):
        archive.find_circle(314.3, 77.6, 0.05)
    assert len(_mount(_irsa_tap(sia_maxrec=8), fake).find_circle(314.3, 77.6, 1)) == 2


def test_query_error_wrapped(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_error.xml"))
    with pytest.raises(ArchiveError) as info:
        dachs.find_coadd_keys([1])
    message = str(info.value)
    assert f"{DACHS}/tap/sync" in message
    assert "Could not locate table 'twomass.nosuch'" in message
    assert type(info.value.__cause__).__name__ == "DALQueryError"


def test_http_error_wrapped(dachs, fake):
    fake.route(
        "POST",
        f"{DACHS}/tap/sync",
        "<html>Service temporarily overloaded</html>",
        status=503,
        headers={"Content-Type": "text/html"},
    )
    with pytest.raises(ArchiveError, match=f"503 Server Error.*{DACHS}/tap/sync"):
        dachs.find_circle(1, 2, 0.1)


def test_transport_error_wrapped(dachs):
    dachs.session.mount("http://", FakeHTTP())  # no routes: connection error
    with pytest.raises(ArchiveError, match="no route to"):
        dachs.find_circle(1, 2, 0.1)


def test_empty_answer(dachs, fake, vo_data):
    dtypes = {"coadd_key": int, "scanno": int, "image": int, "ra": float}
    dtypes.update(dec=float, access_estsize=int)
    names = [v for v in DEFAULT_COLUMNS.values() if v]
    table = Table({n: np.zeros(0, dtypes.get(n, "U8")) for n in ["pos_idx", *names]})
    out = io.BytesIO()
    table.write(out, format="votable")
    fake.route("POST", f"{DACHS}/tap/sync", out.getvalue())
    sets = dachs.find_circle(200, -10, 0.1)
    assert len(sets) == 0 and sets.corners.shape == (0, 4, 3)
    assert len(dachs.find_points([200.0], [-10.0])) == 0
    refs = dachs.files(sets, np.zeros(0, int), "atlas")
    assert len(refs.access_url) == 0
    assert len(dachs.find_points([], [])) == 0
    assert len(dachs.find_scans([], [], [], [])) == 0


def test_cutout_urls_soda(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = dachs.find_circle(10.68, 41.27, 0.1)
    refs = dachs.files(sets.take([0, 0, 0]), np.array([0, 1, 2]), "atlas")
    urls = np.append(refs.access_url, "http://elsewhere/x.fits")
    cut = dachs.cutout_urls(
        urls, np.full(4, 10.7), np.full(4, 41.1), np.array([60.0, 0.0, 36, 60])
    )
    assert dachs.makes_cutouts
    pubdid = "ivo://twomass-vo.mirror/~?twomass/files/" + urls[0].split("files/")[1]
    assert cut[0] == (
        f"{DLGET}?ID={requests.utils.quote(pubdid, safe='')}"
        "&CIRCLE=10.70000000%2041.10000000%200.00833333"
    )
    assert cut[1] == "" and cut[3] == ""  # no size / unknown file
    assert cut[2].endswith("CIRCLE=10.70000000%2041.10000000%200.00500000")
    plain = VOArchive(tap_url=f"{DACHS}/tap", table="t")
    assert not plain.makes_cutouts
    assert (
        plain.cutout_urls(urls, np.zeros(4), np.zeros(4), np.ones(4)).tolist()
        == [""] * 4
    )


def test_files_of_unknown_sets(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = dachs.find_circle(10.68, 41.27, 0.1)
    dachs.clear_cache()
    with pytest.raises(ArchiveError, match="not found by this archive"):
        dachs.files(sets, np.zeros(len(sets), int), "atlas")
    with pytest.raises(InvalidQueryError):
        dachs.files(sets, np.zeros(len(sets), int), "preview")


def test_check_and_describe(fake, vo_data):
    archive = _mount(
        VOArchive(
            sia_url=SIA,
            tap_url=f"{DACHS}/tap",
            table="twomass.images",
            datalink_url=DLGET,
        ),
        fake,
    )
    fake.route("GET", SIA, vo_data("dachs_sia2_circle.xml"))
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_overflow.xml"))
    fake.route("GET", DLGET, "missing ID", status=422)
    info = archive.describe(check=True, timeout=3.0)
    assert info["kind"] == "VOArchive" and info["table"] == "twomass.images"
    assert info["columns"] == DEFAULT_COLUMNS
    endpoints = info["endpoints"]
    assert {k: v["ok"] for k, v in endpoints.items()} == {
        "sia": True,
        "tap": True,
        "datalink": True,
    }
    assert all(kw["timeout"] == 3.0 for _, kw in fake.sent)
    sia_request = fake.requests_to("GET", SIA)[0]
    assert form(sia_request)["MAXREC"] == "0"
    tap_query = form(fake.requests_to("POST", f"{DACHS}/tap/sync")[0])["QUERY"]
    assert tap_query.startswith("SELECT TOP 1 i.coadd_key")
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_error.xml"))
    fake.route("GET", DLGET, "down", status=502)
    del fake.routes[("GET", SIA)]
    endpoints = archive.check()
    assert {k: v["ok"] for k, v in endpoints.items()} == {
        "sia": False,
        "tap": False,
        "datalink": False,
    }
    assert "twomass.nosuch" in endpoints["tap"]["detail"]


# --------------------------------------------------------- IRSA-shaped answers
def test_irsa_sia_rows(fake, vo_data):
    irsa = _mount(_irsa_tap(resolve_coadd_keys=False), fake)
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_twomass_allsky.xml"))
    sets = irsa.find_circle(314.30417, 77.595559, 0.05)
    (request,) = fake.sent
    assert form(request[0]) == {
        "POS": "CIRCLE 314.30417 77.595559 0.05",
        "COLLECTION": "twomass_allsky",
        "MAXREC": "100000",
    }
    assert request[0].url.startswith("https://")
    order = np.argsort(sets.ordate)
    sets = sets.take(order)
    assert sets.ordate.tolist() == ["000616", "001129"]
    assert sets.hemisphere.tolist() == ["n", "n"]
    assert sets.scanno.tolist() == [60, 19]
    assert sets.image.tolist() == [256, 256]
    assert sets.has_band.all()
    assert np.allclose(sets.ra, [314.25, 314.40]) and np.allclose(
        sets.dec, [77.62, 77.55]
    )
    assert (sets.coadd_key < 0).all()  # no coadd_key in SIA v2: surrogate
    point = radec_to_xyz(314.30417, 77.595559)
    assert Footprints(sets.corners).contains(np.tile(point, (2, 1))).all()
    refs = irsa.files(sets.take([0, 0, 0, 1]), np.array([0, 1, 2, 2]), "atlas")
    assert refs.access_url.tolist() == [
        IBE + "000616n/s060/image/ji0600256.fits.gz",
        IBE + "000616n/s060/image/hi0600256.fits.gz",
        IBE + "000616n/s060/image/ki0600256.fits.gz",
        IBE + "001129n/s019/image/ki0190256.fits.gz",
    ]
    assert refs.access_estsize.tolist() == [2100] * 4
    with pytest.raises(ArchiveError, match="Quicklook"):
        irsa.files(sets, np.zeros(2, int), "quicklook")


def test_irsa_sia_band_names_and_bad_urls(irsa, fake, vo_data):
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    table = Table.read(io.BytesIO(vo_data("irsa_sia2_twomass_allsky.xml")))
    table["energy_bandpassname"] = [
        {"J": "J", "H": "H", "K": "Ks"}[b] for b in table["energy_bandpassname"]
    ]
    out = io.BytesIO()
    table.write(out, format="votable")
    fake.route("GET", IRSA_SIA, out.getvalue())
    assert irsa.find_circle(314.3, 77.6, 0.05).has_band.all()
    table["access_url"][0] = "file:///etc/passwd/000616n/s060/image/ji0600256.fits"
    out = io.BytesIO()
    table.write(out, format="votable")
    fake.route("GET", IRSA_SIA, out.getvalue())
    with pytest.raises(ArchiveError, match="not an http"):
        irsa.find_circle(314.3, 77.6, 0.05)


def test_irsa_sia_unknown_file_raises(irsa, fake, vo_data):
    table = Table.read(io.BytesIO(vo_data("irsa_sia2_twomass_allsky.xml")))
    table["access_url"][0] = "https://irsa.ipac.caltech.edu/other/file.fits"
    out = io.BytesIO()
    table.write(out, format="votable")
    fake.route("GET", IRSA_SIA, out.getvalue())
    with pytest.raises(
        ArchiveError, match=r"row 0 of the answer: ordate .* cannot be read"
    ):
        irsa.find_circle(314.3, 77.6, 0.05)


def test_irsa_sia_error(irsa, fake, vo_data):
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_error.xml"))
    with pytest.raises(ArchiveError, match="Illegal POS value") as info:
        irsa.find_circle(1, 2, 0.1)
    assert IRSA_SIA in str(info.value)


def test_irsa_tap_rows(irsa, fake, vo_data):
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    sets = irsa.find_coadd_keys([1528372])
    (request,) = fake.sent
    query = form(request[0])["QUERY"]
    assert query == (
        "SELECT i.coadd_key, i.ordate, i.hemisphere, i.scanno, i.filter, i.crval1, "
        "i.crval2, i.ra1, i.dec1, i.ra2, i.dec2, i.ra3, i.dec3, i.ra4, i.dec4, "
        "i.fname FROM twomass.allsky_images AS i WHERE i.coadd_key IN (1528372)"
    )
    assert sets.coadd_key.tolist() == [1528372]
    assert (sets.ordate[0], sets.scanno[0], sets.image[0]) == ("001129", 19, 256)
    assert np.allclose([sets.ra[0], sets.dec[0]], [314.40, 77.55])
    refs = irsa.files(sets.take([0, 0]), np.array([1, 2]), "atlas")
    assert refs.access_url.tolist() == [
        IBE + "001129n/s019/image/hi0190256.fits.gz",
        IBE + "001129n/s019/image/ki0190256.fits.gz",
    ]
    assert refs.access_format.tolist() == ["image/fits"] * 2
    assert refs.access_estsize.tolist() == [-1, -1]
    # the corners columns give the same footprint as IRSA's SIA v2 s_region
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_twomass_allsky.xml"))
    by_sia = irsa.find_circle(314.3, 77.6, 0.05)
    same = by_sia.take(by_sia.ordate == "001129")
    assert np.allclose(same.corners, sets.corners, atol=1e-7)
    # the TAP answer gave the real coadd_key to the set SIA v2 found too
    assert same.coadd_key.tolist() == [1528372]


def test_irsa_scans_filter_images_on_client(irsa, fake, vo_data):
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    sets = irsa.find_scans(["001129", "000616"], ["n", "n"], [19, 60], [256, 255])
    (request,) = fake.sent
    query = form(request[0])["QUERY"]
    assert "image" not in query.split("WHERE")[1]  # no image column at IRSA
    assert sets.query_index.tolist() == [0]
    assert sets.coadd_key.tolist() == [1528372]


def test_irsa_cutout_urls(irsa):
    urls = np.array(
        [
            IBE + "000616n/s060/image/ji0600256.fits.gz",
            IBE + "000616n/s060/image/hi0600256.fits.gz",
            "https://irsa.ipac.caltech.edu/other.fits",
        ]
    )
    cut = irsa.cutout_urls(urls, np.full(3, 314.3), np.full(3, -7.5), [50, 0, 50])
    assert irsa.makes_cutouts
    assert cut.tolist() == [
        urls[0] + "?center=314.3000000,-7.5000000&size=50arcsec&gzip=false",
        "",
        "",
    ]


def test_irsa_conf_settings():
    with (
        conf.set_temp("collection", "twomass_full"),
        conf.set_temp("column_image", "image"),
        conf.set_temp("column_corners", ""),
    ):
        archive = IrsaArchive(table="twomass.full_images")
        assert archive.collection == "twomass_full"
        assert archive.columns["image"] == "image"
        assert archive.columns["corners"] is None
        assert archive.payload_circle(1, 2, 0.1)[0]["params"]["COLLECTION"] == (
            "twomass_full"
        )
    archive = IrsaArchive(columns={"band": "band"}, upload=False)
    assert archive.columns["band"] == "band" and archive.upload is False
    assert archive.table is None  # found in TAP_SCHEMA on first use
    assert archive.describe()["data_url_root"] == IBE


# ------------------------------------------------------------ helpers
def test_parse_image_paths():
    parsed = parse_image_paths(
        [
            IBE + "000616n/s060/image/ji0600256.fits.gz",
            "https://x/971031s/s096/image/hi0960197.fits?center=1,2",
            "/store/001022s/s062/ql/kq0620186.fits",
            "ki0190256.fits.gz",
            "https://x/000616n/s061/image/ji0600256.fits",  # scan mismatch
            "https://x/000616n/s060/image/xji0600256.fits",
            "https://x/000616n/s060/pers.tbl",
            "",
        ]
    )
    assert parsed["ok"].tolist() == [True] * 4 + [False] * 4
    assert parsed["ordate"][:4].tolist() == ["000616", "971031", "001022", ""]
    assert parsed["hemisphere"][:4].tolist() == ["n", "s", "s", ""]
    assert parsed["scanno"][:4].tolist() == [60, 96, 62, 19]
    assert parsed["image"][:4].tolist() == [256, 197, 186, 256]
    assert parsed["band_code"].tolist() == [0, 1, 2, 2, -1, -1, -1, -1]
    assert parsed["kind"][:4].tolist() == [0, 0, 1, 0]


def test_band_codes():
    names = ["J", "h", "Ks", "KS", "K", "2MASS J", "2MASS KS", " k ", "W1", ""]
    assert band_codes(names).tolist() == [0, 1, 2, 2, 2, 0, 2, 2, -1, -1]
    assert band_codes(np.array([b"H", b"Ks"])).tolist() == [1, 2]


def test_dhs_keys_order_and_uniqueness():
    keys = dhs_keys(
        ["971031", "971031", "971031", "971031", "000101"],
        ["n", "s", "n", "n", "n"],
        [96, 96, 97, 96, 1],
        [197, 197, 1, 198, 1],
    )
    assert len(np.unique(keys)) == 5
    assert keys[0] < keys[3] < keys[2] < keys[1]  # image, then scan, then hem


def test_footprint_forms(fake):
    from twomass_vo.archives.vo.image_sets import parse_footprints

    corners = [10, 20, 10.1, 20, 10.1, 20.2, 10, 20.2]
    closed = np.ma.MaskedArray([np.array(corners + corners[:2], float)], dtype=object)
    closed.name = "s_region"
    got = parse_footprints(closed, np.array([0]))
    assert got.shape == (1, 4, 3)
    assert np.allclose(got[0, 2], radec_to_xyz(10.1, 20.2))
    stc = np.array([b"POLYGON ICRS 10 20 10.1 20 10.1 20.2 10 20.2"])
    assert np.allclose(parse_footprints(_named(stc), np.array([0])), got)
    fixed = _named(np.array([corners], float))
    assert np.allclose(parse_footprints(fixed, np.array([0])), got)
    with pytest.raises(ArchiveError, match="3 vertices"):
        parse_footprints(_named(np.array([corners[:6]], float)), np.array([0]))
    with pytest.raises(ArchiveError, match="s_region"):
        parse_footprints(_named(np.array(["CIRCLE 1 2 3"])), np.array([0]))


def _named(values):
    from astropy.table import Column

    return Column(values, name="s_region")


# ------------------------------------------------------- through the planner
def test_batch_end_to_end(dachs, fake, vo_data):
    from twomass_vo import TwoMassBatch

    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    batch = TwoMassBatch(archive=dachs)
    table = batch.query_region("10.68 41.27", 0.2, band="J")
    assert len(table) > 0
    assert set(table["band"]) == {"J"}
    assert all("/image/ji" in u for u in table["access_url"])
    centre = radec_to_xyz(10.68, 41.27)
    relation = Footprints.from_s_region(list(table["s_region"])).relate_circle(
        centre, np.radians(0.1)
    )
    assert relation[0].all()  # every row overlaps the region
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_points.xml"))
    fake.route(
        "GET", f"{DACHS}/tap/capabilities", vo_data("dachs_tap_capabilities.xml")
    )
    positions = Table({"ra": [10.68, 10.7, 200.0], "dec": [41.27, 41.3, 0.0]})
    table = batch.query_positions(positions, size=30, band="K")
    assert sorted(set(table["scntr"])) == [0, 1]
    assert all(u.startswith(f"{DLGET}?ID=") for u in table["cutout_url"])


def test_image_sets_type(dachs, fake, vo_data):
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    sets = dachs.find_circle(10.68, 41.27, 0.1)
    assert isinstance(sets, ImageSets)
    assert sets.ref.dtype == np.int64 and sets.query_index.dtype == np.int64
    assert sets.ordate.dtype.kind == "U" and sets.corners.shape == (5, 4, 3)
    # a second answer for the same sets reuses their refs
    assert (dachs.find_circle(10.68, 41.27, 0.1).ref == sets.ref).all()
    assert dachs.describe()["cached_sets"] == 5


def test_irsa_sia_only_auxiliary_rows(irsa, fake, vo_data):
    table = Table.read(io.BytesIO(vo_data("irsa_sia2_twomass_allsky.xml")))
    out = io.BytesIO()
    table[table["dataproduct_subtype"] == "auxiliary"].write(out, format="votable")
    fake.route("GET", IRSA_SIA, out.getvalue())
    sets = irsa.find_circle(314.3, 77.6, 0.05)
    assert len(sets) == 0 and sets.has_band.shape == (0, 3)


def test_real_coadd_key_replaces_surrogate(fake, vo_data):
    irsa = _mount(_irsa_tap(resolve_coadd_keys=False), fake)
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_twomass_allsky.xml"))
    by_sia = irsa.find_circle(314.3, 77.6, 0.05)
    assert (by_sia.coadd_key < 0).all()
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    by_tap = irsa.find_coadd_keys([1388256, 1528372])
    assert sorted(by_tap.ref.tolist()) == sorted(by_sia.ref.tolist())  # same sets
    again = irsa.find_circle(314.3, 77.6, 0.05)
    assert sorted(again.coadd_key.tolist()) == [1388256, 1528372]


def test_sia_base_url_resolved_once(fake, vo_data):
    base = f"{DACHS}/twomass/q/siap2"
    archive = _mount(
        VOArchive(sia_url=base, tap_url=f"{DACHS}/tap", table="twomass.images"),
        fake,
    )
    assert archive.payload_circle(1, 2, 0.1)[0]["url"] == base  # not yet read
    fake.route("GET", f"{base}/capabilities", vo_data("dachs_sia2_capabilities.xml"))
    fake.route("GET", SIA, vo_data("dachs_sia2_circle.xml"))
    fake.route("POST", f"{DACHS}/tap/sync", vo_data("dachs_tap_circle.xml"))
    assert len(archive.find_circle(10.68, 41.27, 0.1)) == 5
    assert len(archive.find_circle(10.68, 41.27, 0.1)) == 5
    assert archive.sia_query_url == SIA
    assert archive.payload_circle(1, 2, 0.1)[0]["url"] == SIA
    assert len(fake.requests_to("GET", f"{base}/capabilities")) == 1
    assert len(fake.requests_to("GET", SIA)) == 2
    assert archive.describe()["sia_query_url"] == SIA
    irsa = _mount(_irsa_tap(), fake)  # its SIA URL is the query endpoint
    fake.route("GET", IRSA_SIA, vo_data("irsa_sia2_twomass_allsky.xml"))
    fake.route("POST", f"{IRSA_TAP}/sync", vo_data("irsa_tap_allsky_images.xml"))
    sets = irsa.find_circle(314.3, 77.6, 0.05)
    assert not fake.requests_to("GET", f"{IRSA_SIA}/capabilities")
    assert sorted(sets.coadd_key.tolist()) == [1388256, 1528372]
    (request,) = fake.requests_to("POST", f"{IRSA_TAP}/sync")
    assert form(request)["QUERY"].endswith(
        "WHERE (i.ordate = '000616' AND i.hemisphere = 'n' AND i.scanno = 60) OR "
        "(i.ordate = '001129' AND i.hemisphere = 'n' AND i.scanno = 19)"
    )
