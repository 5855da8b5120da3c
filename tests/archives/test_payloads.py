# Licensed under a 3-clause BSD style license - see LICENSE
"""get_query_payload (astroquery's convention) through TwoMassBatch: no network.

Every IRSA route shows its requests: SIA v2 (region), IBE (box, uploads,
where), TAP (a configured or discovered table) and one SIA v2 request per
position (when neither TAP nor IBE is available).
"""

import re
import urllib.parse

import numpy as np
import pytest
from astropy.table import Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import IrsaArchive, LocalArchive
from twomass_vo.archives.irsa import conf as irsa_conf
from twomass_vo.archives.irsa.ibe import IBE_COLUMNS, IBE_PARAMETERS
from twomass_vo.exceptions import InputError, InvalidQueryError

IBE = "https://irsa.ipac.caltech.edu/ibe/search/twomass/allsky/allsky"


@pytest.fixture
def irsa():
    """The default archive: IBE routes until TAP_SCHEMA has been read."""
    return TwoMassBatch()


@pytest.fixture
def irsa_tap():
    """IRSA with a configured TAP table (no discovery): the TAP routes."""
    return TwoMassBatch(
        archive=IrsaArchive(table="twomass.allsky_images", discover=False)
    )


def test_irsa_is_the_default_archive(irsa):
    assert isinstance(irsa.archive, IrsaArchive)
    assert isinstance(TwoMassBatch(archive="irsa").archive, IrsaArchive)
    info = irsa.archive.describe()
    assert info["sia_url"] == irsa_conf.sia_url
    assert info["tap_url"] == irsa_conf.tap_url
    assert info["ibe_url"] == irsa_conf.ibe_url == IBE
    assert info["collection"] == "twomass_allsky"
    assert info["discovery"] == "not read yet"


def check_payload(payloads, service, route):
    assert isinstance(payloads, list) and payloads
    for p in payloads:
        assert p["service"] == service and p["route"] == route
        assert p["url"].startswith("https://irsa.ipac.caltech.edu/")
        if service == "sia":
            assert set(p) >= {"service", "url", "params"}
        elif service == "ibe":
            assert p["url"] == IBE
            assert {k.lower() for k in p["params"]} <= set(IBE_PARAMETERS)
            assert p["params"]["columns"] == ",".join(IBE_COLUMNS)
        else:
            assert set(p) >= {"service", "url", "query", "uploads"}
            assert "SELECT" in p["query"].upper()


def test_region_payload_is_one_sia_circle(irsa):
    (payload,) = irsa.query_region("10.68 41.27", 0.5, get_query_payload=True)
    check_payload([payload], "sia", "sia")
    params = payload["params"]
    assert params["COLLECTION"] == "twomass_allsky"
    ra, dec, r = (float(v) for v in params["POS"].split()[1:])
    assert params["POS"].split()[0].upper() == "CIRCLE"
    # the SIA circle must reach every image overlapping the 0.25 deg circle
    assert (ra, dec) == pytest.approx((10.68, 41.27)) and r >= 0.25


def test_region_payload_without_sia_is_one_ibe_box():
    batch = TwoMassBatch(archive=IrsaArchive(sia_url=""))
    (payload,) = batch.query_region("10.68 41.27", 0.5, get_query_payload=True)
    check_payload([payload], "ibe", "ibe-box")
    params = payload["params"]
    assert payload["method"] == "GET"
    assert params["POS"] == "10.68,41.27" and " " not in params["POS"]
    assert params["INTERSECT"] == "OVERLAPS" and params["ct"] == "ipac_table"
    # the box (side SIZE) holds the whole 0.25 deg circle
    assert 0.5 <= float(params["SIZE"]) < 0.5 + 1e-6
    assert "where" not in params and "mcen" not in params


def test_positions_payload_is_one_ibe_upload_per_chunk(irsa):
    table = Table(
        {
            "ra": [10.68, 10.70],
            "dec": [41.27, 41.28],
            "id": ["x'; DROP TABLE images --", "b"],
        }
    )
    payloads = irsa.query_positions(table, best=True, get_query_payload=True)
    check_payload(payloads, "ibe", "ibe-upload")
    (payload,) = payloads
    assert payload["method"] == "POST" and "POS" not in payload["params"]
    assert payload["rows"] == (0, 2)
    upload = Table.read(payload["upload"].splitlines(), format="ascii.ipac")
    assert upload.colnames == ["ra", "dec", "idx"]
    assert upload["ra"].tolist() == [10.68, 10.70]
    assert upload["dec"].tolist() == [41.27, 41.28]
    assert upload["idx"].tolist() == [0, 1]
    assert "DROP" not in payload["upload"]


def test_many_positions_are_chunked_for_ibe(irsa, monkeypatch):
    monkeypatch.setattr(irsa.archive, "ibe_chunk_size", 1000)
    rng = np.random.default_rng(0)
    table = Table({"ra": rng.uniform(0, 360, 2500), "dec": rng.uniform(-80, 80, 2500)})
    payloads = irsa.query_positions(table, get_query_payload=True)
    assert [p["rows"] for p in payloads] == [(0, 1000), (1000, 2000), (2000, 2500)]
    lines = [len(p["upload"].splitlines()) - 4 for p in payloads]
    assert lines == [1000, 1000, 500]


def test_keys_and_scans_payloads_ibe_where_only_validated_values(irsa):
    (keys,) = irsa.query_coadd_keys(
        Table({"coadd_key": ["1590591", "699387"]}), get_query_payload=True
    )
    check_payload([keys], "ibe", "ibe-where")
    assert keys["params"]["where"] == "coadd_key IN (699387, 1590591)"
    assert "POS" not in keys["params"]
    (scan,) = irsa.query_scan("971031", "North", 96, image=197, get_query_payload=True)
    check_payload([scan], "ibe", "ibe-where")
    assert scan["params"]["where"] == (
        "(ordate = '971031' AND hemisphere = 'n' AND scanno = 96 AND coaddno IN (197))"
    )
    (scans,) = irsa.query_scans(
        Table({"xdate": ["971031", "981121"], "hem": ["n", "N"], "scan": [96, 69]}),
        get_query_payload=True,
    )
    check_payload([scans], "ibe", "ibe-where")
    assert scans["params"]["where"] == (
        "(ordate = '971031' AND hemisphere = 'n' AND scanno = 96) OR "
        "(ordate = '981121' AND hemisphere = 'n' AND scanno = 69)"
    )
    # what goes over the wire: one GET whose where is exactly this text
    query = urllib.parse.urlencode(scans["params"])
    assert urllib.parse.parse_qs(query)["where"] == [scans["params"]["where"]]


def test_long_ibe_where_lists_are_split(irsa, monkeypatch):
    monkeypatch.setattr(irsa.archive, "ibe_where_size", 2)
    payloads = irsa.query_coadd_keys([5, 4, 3, 2, 1], get_query_payload=True)
    assert [p["params"]["where"] for p in payloads] == [
        "coadd_key IN (1, 2)",
        "coadd_key IN (3, 4)",
        "coadd_key IN (5)",
    ]


def test_ibe_where_holds_nothing_but_validated_tokens(irsa):
    (scan,) = irsa.query_scan("000616", "s", 60, get_query_payload=True)
    where = scan["params"]["where"]
    tokens = re.findall(r"'[0-9ns]+'|\d+|[A-Za-z_]+|[=(),]", where)
    assert "".join(tokens) == where.replace(" ", "")
    with pytest.raises(InputError):
        irsa.query_scan("000616' OR 1=1 --", "s", 60, get_query_payload=True)
    with pytest.raises(InputError):
        irsa.query_coadd_keys(["1 OR 1=1"], get_query_payload=True)


def test_tap_routes_when_a_table_is_known(irsa_tap):
    archive = irsa_tap.archive
    assert archive.routes() == {
        "region": "sia",
        "positions": "tap-upload",
        "coadd_keys": "tap",
        "scan": "tap",
        "scans": "tap",
    }
    table = Table({"ra": [10.68, 10.70], "dec": [41.27, 41.28]})
    (payload,) = irsa_tap.query_positions(table, get_query_payload=True)
    check_payload([payload], "tap", "tap-upload")
    (upload,) = payload["uploads"].values()
    assert len(upload) == 2 and "TAP_UPLOAD" in payload["query"].upper()
    assert (
        "CONTAINS(POINT('ICRS', u.pos_ra, u.pos_dec), i.poly) = 1" in (payload["query"])
    )
    (keys,) = irsa_tap.query_coadd_keys([1590591], get_query_payload=True)
    check_payload([keys], "tap", "tap")
    assert keys["query"].endswith(
        "FROM twomass.allsky_images AS i WHERE i.coadd_key IN (1590591)"
    )
    assert "i.coaddno" in keys["query"] and "i.fname" in keys["query"]
    (scan,) = irsa_tap.query_scan("971031", "n", 96, image=197, get_query_payload=True)
    check_payload([scan], "tap", "tap")
    assert "i.coaddno IN (197)" in scan["query"]


def test_sia_per_position_only_without_tap_and_ibe():
    batch = TwoMassBatch(archive=IrsaArchive(ibe_url=""))
    assert batch.archive.routes()["positions"] == "sia-per-position"
    table = Table({"ra": [10.68, 10.70, 11.0], "dec": [41.27, 41.28, 41.3]})
    payloads = batch.query_positions(table, get_query_payload=True)
    check_payload(payloads, "sia", "sia-per-position")
    assert len(payloads) == 3
    assert [p["params"]["POS"].split()[1] for p in payloads] == ["10.68", "10.7", "11"]


def test_validation_runs_before_the_payload(irsa):
    with pytest.raises(InputError, match="97084"):
        irsa.query_scan("97084", "n", 1, get_query_payload=True)
    with pytest.raises(InvalidQueryError, match="intersect"):
        irsa.query_region("10.68 41.27", 0.5, intersect="x", get_query_payload=True)


def test_many_positions_are_chunked_for_tap(irsa_tap, monkeypatch):
    monkeypatch.setattr(irsa_tap.archive, "chunk_size", 1000)
    rng = np.random.default_rng(0)
    table = Table({"ra": rng.uniform(0, 360, 2500), "dec": rng.uniform(-80, 80, 2500)})
    payloads = irsa_tap.query_positions(table, get_query_payload=True)
    assert len(payloads) == 3
    assert sum(len(next(iter(p["uploads"].values()))) for p in payloads) == 2500


def test_local_archives_send_no_requests(tmp_path):
    patch = LocalArchive.simulate(tmp_path / "p", "10.68 41.27", 0.05)
    batch = TwoMassBatch(archive=patch)
    assert batch.query_region("10.68 41.27", 0.1, get_query_payload=True) == []
    assert batch.query_coadd_keys([1], get_query_payload=True) == []
