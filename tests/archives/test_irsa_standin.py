# Licensed under a 3-clause BSD style license - see LICENSE
"""`IrsaArchive` over a local IRSA stand-in (IBE + a TAP without a 2MASS table).

The stand-in (`irsa_standin.IrsaStandIn`) serves a simulated `LocalArchive`
patch the way IBE serves the 2MASS All-Sky table. Pointed at it,
`IrsaArchive` must find no TAP image table, take the IBE routes, and answer
all five modes with exactly the rows `LocalArchive` gives on the same data
(best images included); downloads of the ``.fits.gz`` files must end
byte-identical. The DaCHS mirror part (marker ``dachs``) adds a TAP that has
an image table.
"""

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from irsa_standin import IrsaStandIn

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.cli import main
from twomass_vo.exceptions import ArchiveError, NoResultsWarning, QuicklookWarning

M31 = SkyCoord(10.6846, 41.2689, unit="deg")
IDENTITY = ["scntr", "coadd_key", "band", "ordate", "hemisphere", "scanno", "image"]


@pytest.fixture
def patch(m31_patch):
    return m31_patch


@pytest.fixture
def standin(irsa_server):
    return irsa_server


def make_irsa(standin, **kwargs):
    return standin.irsa_archive(**{"sia_url": "", **kwargs})  # IBE for regions


@pytest.fixture
def irsa(standin):
    archive = make_irsa(standin)
    yield archive
    archive.close()


def same_rows(a, b, *, extra=()):
    assert len(a) == len(b) > 0
    names = IDENTITY + list(extra)
    assert a[names].as_array().tolist() == b[names].as_array().tolist()
    from twomass_vo.geometry import parse_s_region

    ca = parse_s_region(np.asarray(a["s_region"]).astype(str))
    cb = parse_s_region(np.asarray(b["s_region"]).astype(str))
    assert np.allclose(ca, cb, atol=1e-12)


def sample_points(n, seed, radius=0.1):
    rng = np.random.default_rng(seed)
    points = M31.directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, rng.uniform(0, radius, n) * u.deg
    )
    return Table({"ra": points.ra.deg, "dec": points.dec.deg})


# ------------------------------------------------------------ the five modes
@pytest.mark.parametrize("intersect", ["overlaps", "covers", "enclosed"])
def test_region_is_the_local_archive(irsa, patch, intersect):
    remote, local = TwoMassBatch(archive=irsa), TwoMassBatch(archive=patch)
    diameter = {"overlaps": 0.12, "covers": 0.05, "enclosed": 0.6}[intersect]
    centre = M31
    if intersect == "covers":  # a small circle inside one image: its centre
        sets = patch.find_circle(M31.ra.deg, M31.dec.deg, 0.01)
        centre = SkyCoord(sets.ra[0], sets.dec[0], unit="deg")
    a = remote.query_region(centre, diameter, intersect=intersect)
    b = local.query_region(centre, diameter, intersect=intersect)
    same_rows(a, b)
    assert a.meta["route"] == "ibe-box"
    assert a.meta["route_urls"] == irsa.ibe_url
    assert irsa.discovery is None  # the region route never needs TAP


@pytest.mark.parametrize("suffix", [".vot", ".tbl", ".fits", ".ecsv"])
def test_route_is_kept_in_written_results(irsa, patch, tmp_path, suffix):
    from twomass_vo.results.result_reader import read_result
    from twomass_vo.results.result_writer import write_table

    key = int(patch.columns["coadd_key"][0])
    table = TwoMassBatch(archive=irsa).query_coadd_keys([key])
    assert len(table) == 3
    path = tmp_path / f"result{suffix}"
    write_table(table, path)
    back = read_result(path)
    assert back.meta["route"] == table.meta["route"] == "ibe-where"
    assert back.meta["route_urls"] == table.meta["route_urls"] == irsa.ibe_url
    assert back.meta["urls"] == table.meta["urls"]


@pytest.mark.parametrize("best", [False, True])
def test_positions_are_the_local_archive(irsa, patch, standin, best):
    table = sample_points(60, seed=3)
    before = len(standin.searches())
    a = TwoMassBatch(archive=irsa).query_positions(table, best=best)
    b = TwoMassBatch(archive=patch).query_positions(table, best=best)
    same_rows(a, b, extra=["best"])
    assert np.allclose(a["dist_edge"], b["dist_edge"], atol=1e-9)
    assert a.meta["route"] == "ibe-upload"
    # one upload for all 60 positions, never one request per position
    (search,) = standin.searches()[before:]
    assert search.method == "POST" and "POS" in search.params
    # discovery read TAP_SCHEMA and found no 2MASS All-Sky image table
    assert irsa.discovery.table is None
    assert "lists no 2MASS All-Sky image table" in irsa.discovery.reason
    assert "twomass.full_images" in irsa.discovery.tables_seen


def test_positions_in_chunks(standin, patch):
    archive = make_irsa(standin, ibe_chunk_size=7)
    table = sample_points(30, seed=4)
    before = len(standin.searches())
    a = TwoMassBatch(archive=archive).query_positions(table, best=True)
    b = TwoMassBatch(archive=patch).query_positions(table, best=True)
    same_rows(a, b, extra=["best"])
    assert len(standin.searches()) - before == 5  # ceil(30 / 7) uploads


def test_coadd_keys_are_the_local_archive(irsa, patch):
    keys = np.asarray(patch.columns["coadd_key"])
    asked = Table({"coadd_key": [keys[2], 123, keys[0], keys[2]], "band": list("jaKH")})
    a = TwoMassBatch(archive=irsa).query_coadd_keys(asked)
    b = TwoMassBatch(archive=patch).query_coadd_keys(asked)
    same_rows(a, b)
    assert a.meta["route"] == "ibe-where"


def test_scan_and_scans_are_the_local_archive(irsa, patch):
    ordate = np.asarray(patch.columns["ordate"]).astype(str)
    hem = np.asarray(patch.columns["hemisphere"]).astype(str)
    scanno = np.asarray(patch.columns["scanno"]).astype(int)
    image = np.asarray(patch.columns["image"]).astype(int)
    remote, local = TwoMassBatch(archive=irsa), TwoMassBatch(archive=patch)
    same_rows(
        remote.query_scan(ordate[0], hem[0], scanno[0]),
        local.query_scan(ordate[0], hem[0], scanno[0]),
    )
    same_rows(
        remote.query_scan(ordate[1], hem[1], scanno[1], image=image[1]),
        local.query_scan(ordate[1], hem[1], scanno[1], image=image[1]),
    )
    table = Table(
        {
            "xdate": [ordate[0], ordate[-1], "990101"],
            "hem": [hem[0], hem[-1], "s"],
            "scan": [scanno[0], scanno[-1], 5],
            "image": [image[0], 0, 0],
        }
    )
    a, b = remote.query_scans(table), local.query_scans(table)
    same_rows(a, b)
    assert a.meta["route"] == "ibe-where"


def test_empty_answers_keep_the_schema(irsa):
    with pytest.warns(NoResultsWarning):
        result = TwoMassBatch(archive=irsa).query_coadd_keys([1])
    assert len(result) == 0 and "access_url" in result.colnames


def test_downloads_are_byte_identical(irsa, patch, standin, tmp_path):
    result = TwoMassBatch(archive=irsa).query_coadd_keys(
        [int(patch.columns["coadd_key"][0])], band="J"
    )
    (url,) = result["access_url"]
    assert url.endswith(".fits.gz") and url.startswith(standin.data_url_root)
    relative = url[len(standin.data_url_root) :]
    served = standin.gz(relative)
    fetched = requests.get(url, timeout=30).content
    assert fetched == served
    original = patch.local_path(patch.files_uri + relative[: -len(".gz")]).read_bytes()
    assert gzip.decompress(served) == original
    done = result.download(tmp_path / "out", progress=False)
    assert list(done["status"]) == ["ok"]
    # written decompressed (the row's file name is .fits): the original bytes
    assert Path(done["local_path"][0]).read_bytes() == original


# ------------------------------------------------------------ routes and faults
def test_describe_check_lists_every_route(irsa):
    info = irsa.describe(check=True)
    assert {m: r["route"] for m, r in info["routes"].items()} == {
        "region": "ibe-box",
        "positions": "ibe-upload",
        "coadd_keys": "ibe-where",
        "scan": "ibe-where",
        "scans": "ibe-where",
        "quicklook": "sia1-box",
    }
    assert info["routes"]["quicklook"]["url"] == irsa.sia1_url
    assert all(r["ok"] for r in info["routes"].values())
    assert info["endpoints"]["tap"]["ok"]  # TAP answers, without a 2MASS table
    assert "lists no 2MASS All-Sky image table" in info["endpoints"]["tap"]["detail"]
    assert info["endpoints"]["ibe"]["ok"] and info["endpoints"]["data"]["ok"]
    assert info["endpoints"]["sia1"]["ok"], info["endpoints"]["sia1"]
    assert "Quicklook file(s) listed" in info["endpoints"]["sia1"]["detail"]


def test_cli_info_check_prints_routes(standin, capsys):
    from twomass_vo.archives.irsa import conf

    with (
        conf.set_temp("sia_url", ""),
        conf.set_temp("tap_url", standin.tap_url),
        conf.set_temp("ibe_url", standin.ibe_url),
        conf.set_temp("data_url_root", standin.data_url_root),
        conf.set_temp("sia1_url", standin.sia1_url),
    ):
        assert main(["info", "--check"]) == 0
    out = capsys.readouterr().out
    assert f"route positions: ibe-upload {standin.ibe_url} ok" in out
    assert f"route region: ibe-box {standin.ibe_url} ok" in out
    assert f"route quicklook: sia1-box {standin.sia1_url} ok" in out
    assert "NOT ANSWERING" not in out


def test_configured_tap_table_missing_falls_back_to_ibe(standin, patch):
    archive = make_irsa(standin, table="twomass.allsky_images", discover=False)
    assert archive.routes()["coadd_keys"] == "tap"
    keys = [int(k) for k in patch.columns["coadd_key"][:2]]
    before = len(standin.requests)
    a = TwoMassBatch(archive=archive).query_coadd_keys(keys)
    b = TwoMassBatch(archive=patch).query_coadd_keys(keys)
    same_rows(a, b)
    sent = [(r.path, r.status) for r in standin.requests[before:]]
    assert sent[0] == ("/tap/sync", 400)  # "Table ... not found"
    assert all(path != "/tap/sync" for path, _ in sent[1:])
    assert archive.routes()["coadd_keys"] == "ibe-where"  # remembered
    assert "IBE is used instead" in archive.discovery.reason
    # the router remembers; the archive's configuration is not rewritten
    assert archive.router.configured_table == "twomass.allsky_images"
    assert archive.table is None and archive.router.table is None
    assert a.meta["route"] == "tap, ibe-where"
    TwoMassBatch(archive=archive).query_coadd_keys(keys)
    assert sum(r.path == "/tap/sync" for r in standin.requests[before:]) == 1


def test_failing_sia_falls_back_to_the_ibe_box(standin, patch):
    archive = make_irsa(standin, sia_url=standin.base + "/SIA-gone")  # HTTP 404
    assert archive.routes()["region"] == "sia"
    a = TwoMassBatch(archive=archive).query_region(M31, 0.12)
    b = TwoMassBatch(archive=patch).query_region(M31, 0.12)
    same_rows(a, b)
    assert a.meta["route"] == "sia, ibe-box"
    assert archive.routes()["region"] == "ibe-box"  # remembered
    assert "SIA v2 failed" in archive.describe()["sia_failure"]


def test_configured_table_not_in_tap_schema(standin):
    archive = make_irsa(standin, table="twomass.allsky_images")
    found = archive.discover_table()
    assert found.table is None and "twomass.allsky_images" in found.reason
    assert archive.routes()["positions"] == "ibe-upload"


def test_quicklook_without_the_cgi_is_refused_before_any_request(standin):
    before = len(standin.requests)
    batch = TwoMassBatch(archive=make_irsa(standin, sia1_url=""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuicklookWarning)
        with pytest.raises(ArchiveError, match="only through its SIA v1 CGI"):
            batch.query_region(M31, 0.1, image_type="quicklook")
        with pytest.raises(ArchiveError, match="Quicklook"):
            batch.query_coadd_keys([1], image_type="quicklook")
    assert len(standin.requests) == before


def closed_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_irsa_fails_fast_with_one_message():
    base = f"http://127.0.0.1:{closed_port()}"
    archive = IrsaArchive(
        sia_url=f"{base}/SIA",
        tap_url=f"{base}/TAP",
        ibe_url=f"{base}/ibe/search/twomass/allsky/allsky",
        data_url_root=f"{base}/ibe/data/twomass/allsky/allsky/",
    )
    batch = TwoMassBatch(archive=archive)
    for call, url in (
        (lambda: batch.query_region(M31, 0.1), f"{base}/SIA"),
        (lambda: batch.query_coadd_keys([1]), f"{base}/TAP"),
    ):
        with pytest.raises(ArchiveError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"IRSA cannot be reached at {url} ")
        assert "--archive sim" in message
        assert message.count("cannot be reached") == 1


def test_cli_unreachable_irsa_one_line(capsys):
    from twomass_vo.archives.irsa import conf

    base = f"http://127.0.0.1:{closed_port()}"
    with (
        conf.set_temp("sia_url", ""),
        conf.set_temp("tap_url", f"{base}/TAP"),
        conf.set_temp("ibe_url", f"{base}/ibe"),
    ):
        assert main(["coadd-keys", "1"]) == 3  # archive unreachable
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith(f"twomass-vo: error: IRSA cannot be reached at {base}")
        assert "--archive sim" in err[0]
        assert main(["info", "--check"]) == 3  # 3: the archive does not answer
        assert "NOT ANSWERING" in capsys.readouterr().out


# --------------------------------------------------- stand-in strictness (IBE)
def test_standin_is_as_strict_as_ibe(standin):
    url = standin.ibe_url

    def get(params):
        return requests.get(url, params=params, timeout=30)

    assert get({"POS": "10.68,41.27"}).status_code == 200
    bad = get({"POS": "10.68,41.27", "radius": "1"})
    assert bad.status_code == 400 and "not recognized" in bad.text
    twice = requests.get(f"{url}?POS=10.68,41.27&pos=10.7,41.2", timeout=30)
    assert twice.status_code == 400 and "multiple times" in twice.text
    assert get({"POS": "10.68, 41.27"}).status_code == 400  # blank inside POS
    assert get({"columns": "fname"}).status_code == 400  # neither POS nor where
    assert get({"where": "nosuch = 1"}).status_code == 400
    assert get({"where": "coadd_key IN (1"}).status_code == 400
    assert get({"POS": "10.68,41.27", "columns": "nosuch"}).status_code == 400
    assert get({"POS": "10.68,41.27", "ct": "votable"}).status_code == 400


def test_ibe_most_centred_is_the_best_image(standin, patch):
    from twomass_vo.archives.irsa.ibe import ibe_search, parse_ipac

    table = sample_points(5, seed=9, radius=0.05)
    local = TwoMassBatch(archive=patch).query_positions(table, best=True)
    for i, (ra, dec) in enumerate(zip(table["ra"], table["dec"], strict=True)):
        payload = ibe_search(standin.ibe_url, pos=(ra, dec), mcen=True)
        text = requests.get(payload["url"], params=payload["params"], timeout=30).text
        answer = parse_ipac(text, payload["url"])
        assert set(answer["coadd_key"]) == set(local["coadd_key"][local["scntr"] == i])


# ------------------------------------------------ with the DaCHS mirror's TAP


@pytest.fixture(scope="module")
def mirror_standin(mirror_env):
    server = IrsaStandIn(LocalArchive(mirror_env["ARCHIVE_PATH"])).start()
    yield server
    server.stop()


@pytest.mark.dachs
def test_with_the_mirror_tap_every_mode_is_the_local_archive(
    mirror_env, mirror_standin, tmp_path
):
    local_archive = LocalArchive(mirror_env["ARCHIVE_PATH"])
    archive = make_irsa(
        mirror_standin,
        tap_url=mirror_env["TAP_URL"],
        table=mirror_env["TAP_TABLE"],
        # the mirror's own names win where they differ from IBE's
        columns={
            "image": "image",
            "band": "band",
            "image_type": "image_type",
            "s_region": "s_region",
        },
    )
    found = archive.discover_table()
    assert found.table == mirror_env["TAP_TABLE"]
    assert archive.routes() == {
        "region": "ibe-box",
        "positions": "tap-upload",
        "coadd_keys": "tap",
        "scan": "tap",
        "scans": "tap",
    }
    remote, local = TwoMassBatch(archive=archive), TwoMassBatch(archive=local_archive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoResultsWarning)
        same_rows(remote.query_region(M31, 0.3), local.query_region(M31, 0.3))
    table = sample_points(40, seed=5, radius=0.2)
    for best in (False, True):
        a = remote.query_positions(table, best=best)
        b = local.query_positions(table, best=best)
        # the (position, coadd_key) pairs by upload, then each set once by key
        assert a.meta["route"] == "tap-upload, tap"
        assert a[[*IDENTITY, "best"]].as_array().tolist() == (
            b[[*IDENTITY, "best"]].as_array().tolist()
        )
    keys = [int(k) for k in local_archive.columns["coadd_key"][:4]]
    a, b = remote.query_coadd_keys(keys), local.query_coadd_keys(keys)
    assert a.meta["route"] == "tap" and a.meta["route_urls"] == mirror_env["TAP_URL"]
    same_keys = a[IDENTITY].as_array().tolist() == b[IDENTITY].as_array().tolist()
    assert same_keys
    ordate = local_archive.columns["ordate"][0].decode()
    hem = local_archive.columns["hemisphere"][0].decode()
    scan = int(local_archive.columns["scanno"][0])
    a, b = remote.query_scan(ordate, hem, scan), local.query_scan(ordate, hem, scan)
    assert a[IDENTITY].as_array().tolist() == b[IDENTITY].as_array().tolist()
    scans = Table({"xdate": [ordate], "hem": [hem], "scan": [scan], "image": [0]})
    a, b = remote.query_scans(scans), local.query_scans(scans)
    assert a[IDENTITY].as_array().tolist() == b[IDENTITY].as_array().tolist()
    # the files come from the stand-in's IBE data path, byte-identical
    url = a["access_url"][0]
    assert url.startswith(mirror_standin.data_url_root) and url.endswith(".fits.gz")
    relative = url[len(mirror_standin.data_url_root) :]
    fetched = requests.get(url, timeout=30).content
    assert fetched == mirror_standin.gz(relative)
    original = local_archive.local_path(local_archive.files_uri + relative[:-3])
    assert gzip.decompress(fetched) == original.read_bytes()
    archive.close()
