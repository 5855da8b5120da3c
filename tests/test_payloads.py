# Licensed under a 3-clause BSD style license - see LICENSE
"""get_query_payload (astroquery's convention) through TwoMassBatch: no network."""

import numpy as np
import pytest
from astropy.table import Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import IrsaArchive, LocalArchive
from twomass_vo.archives.irsa import conf as irsa_conf
from twomass_vo.exceptions import InputError, InvalidQueryError


@pytest.fixture
def irsa():
    return TwoMassBatch()


def test_irsa_is_the_default_archive(irsa):
    assert isinstance(irsa.archive, IrsaArchive)
    assert isinstance(TwoMassBatch(archive="irsa").archive, IrsaArchive)
    info = irsa.archive.describe()
    assert info["sia_url"] == irsa_conf.sia_url
    assert info["tap_url"] == irsa_conf.tap_url
    assert info["collection"] == "twomass_allsky"


def check_payload(payloads, service):
    assert isinstance(payloads, list) and payloads
    for p in payloads:
        assert p["service"] == service
        assert p["url"].startswith("https://irsa.ipac.caltech.edu/")
        if service == "sia":
            assert set(p) >= {"service", "url", "params"}
        else:
            assert set(p) >= {"service", "url", "query", "uploads"}
            assert "SELECT" in p["query"].upper()


def test_region_payload_is_one_sia_circle(irsa):
    (payload,) = irsa.query_region("10.68 41.27", 0.5, get_query_payload=True)
    check_payload([payload], "sia")
    params = payload["params"]
    assert params["COLLECTION"] == "twomass_allsky"
    ra, dec, r = (float(v) for v in params["POS"].split()[1:])
    assert params["POS"].split()[0].upper() == "CIRCLE"
    # the SIA circle must reach every image overlapping the 0.25 deg circle
    assert (ra, dec) == pytest.approx((10.68, 41.27)) and r >= 0.25


def test_positions_payload_uploads_typed_positions(irsa):
    table = Table(
        {
            "ra": [10.68, 10.70],
            "dec": [41.27, 41.28],
            "id": ["x'; DROP TABLE images --", "b"],
        }
    )
    payloads = irsa.query_positions(table, best=True, get_query_payload=True)
    check_payload(payloads, "tap")
    (payload,) = payloads
    (upload,) = payload["uploads"].values()
    assert len(upload) == 2 and upload.dtype.kind == "V"
    assert np.allclose([upload[c][0] for c in upload.colnames[1:]], [10.68, 41.27])
    assert "DROP" not in payload["query"] and "TAP_UPLOAD" in payload["query"].upper()


def test_keys_and_scans_payloads_hold_only_validated_values(irsa):
    (keys,) = irsa.query_coadd_keys(
        Table({"coadd_key": ["1590591", "699387"]}), get_query_payload=True
    )
    check_payload([keys], "tap")
    assert "1590591" in keys["query"] and "699387" in keys["query"]
    scan = irsa.query_scan("971031", "North", 96, image=197, get_query_payload=True)
    check_payload(scan, "tap")
    text = " ".join(p["query"] for p in scan)
    assert "971031" in text and "North" not in text
    scans = irsa.query_scans(
        Table({"xdate": ["971031", "981121"], "hem": ["n", "N"], "scan": [96, 69]}),
        get_query_payload=True,
    )
    check_payload(scans, "tap")


def test_validation_runs_before_the_payload(irsa):
    with pytest.raises(InputError, match="97084"):
        irsa.query_scan("97084", "n", 1, get_query_payload=True)
    with pytest.raises(InvalidQueryError, match="intersect"):
        irsa.query_region("10.68 41.27", 0.5, intersect="x", get_query_payload=True)


def test_many_positions_are_chunked(irsa, monkeypatch):
    monkeypatch.setattr(irsa.archive, "chunk_size", 1000)
    rng = np.random.default_rng(0)
    table = Table({"ra": rng.uniform(0, 360, 2500), "dec": rng.uniform(-80, 80, 2500)})
    payloads = irsa.query_positions(table, get_query_payload=True)
    assert len(payloads) == 3
    assert sum(len(next(iter(p["uploads"].values()))) for p in payloads) == 2500


def test_local_archives_send_no_requests(tmp_path):
    patch = LocalArchive.simulate(tmp_path / "p", "10.68 41.27", 0.05)
    batch = TwoMassBatch(archive=patch)
    assert batch.query_region("10.68 41.27", 0.1, get_query_payload=True) == []
    assert batch.query_coadd_keys([1], get_query_payload=True) == []
