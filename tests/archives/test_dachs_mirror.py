# Licensed under a 3-clause BSD style license - see LICENSE
"""Integration: every mode over SIA v2 / TAP against a real DaCHS mirror.

The mirror is started by ``mirror/dachs/mirror.sh up`` (``.ci/run`` does it and
exports the ``SIA_URL``, ``TAP_URL``, ``TAP_TABLE``, ``DATALINK_URL`` and
``ARCHIVE_PATH`` lines it prints). The same `LocalArchive` folder the mirror
publishes is opened locally, and both must give the same rows. In CI
(``CI=true``) a missing server is a failure, not a skip.
"""

import os
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.exceptions import ArchiveError, NoResultsWarning

pytestmark = pytest.mark.dachs

M31 = "00h42m44.3s +41d16m08s"
IDENTITY = ["scntr", "coadd_key", "band", "ordate", "hemisphere", "scanno", "image"]


@pytest.fixture(scope="module")
def mirror(mirror_env):
    from twomass_vo.archives.vo import VOArchive

    archive = VOArchive(
        sia_url=mirror_env["SIA_URL"],
        tap_url=mirror_env["TAP_URL"],
        table=mirror_env["TAP_TABLE"],
        datalink_url=mirror_env["DATALINK_URL"],
    )
    status = archive.check()
    if not all(status.values()):
        message = f"the DaCHS mirror does not answer: {status}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return archive


@pytest.fixture(scope="module")
def remote(mirror):
    yield TwoMassBatch(archive=mirror)
    mirror.close()


@pytest.fixture(scope="module")
def local(mirror, mirror_env):
    # depends on ``mirror``: the local copy is only compared with a live server
    return TwoMassBatch(archive=LocalArchive(mirror_env["ARCHIVE_PATH"]))


def same_rows(a, b):
    """Same files, same identity, same footprints (to 1 mas)."""
    assert len(a) == len(b) > 0
    assert a[IDENTITY].as_array().tolist() == b[IDENTITY].as_array().tolist()
    from twomass_vo.geometry import parse_s_region

    ca = parse_s_region(np.asarray(a["s_region"]).astype(str))
    cb = parse_s_region(np.asarray(b["s_region"]).astype(str))
    # same polygons up to the starting vertex and winding: compare vertex sets
    for pa, pb in zip(ca, cb, strict=True):
        d = np.abs(pa[:, None, :] - pb[None, :, :]).sum(-1).min(1)
        assert (d < 1e-8).all()


@pytest.mark.parametrize("intersect", ["overlaps", "covers", "enclosed"])
def test_region_every_intersect(remote, local, intersect):
    diameter = {"overlaps": 0.3, "covers": 0.05, "enclosed": 0.5}[intersect]
    centre = M31
    if intersect == "covers":  # a circle inside one image: its centre
        sets = local.archive.find_circle(10.6846, 41.2689, 0.01)
        centre = SkyCoord(sets.ra[0], sets.dec[0], unit="deg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoResultsWarning)
        a = remote.query_region(centre, diameter, intersect=intersect)
        b = local.query_region(centre, diameter, intersect=intersect)
    same_rows(a, b)


def test_positions_best_and_all(remote, local):
    rng = np.random.default_rng(2)
    centre = SkyCoord(M31)
    points = centre.directional_offset_by(
        rng.uniform(0, 360, 30) * u.deg, rng.uniform(0, 0.2, 30) * u.deg
    )
    table = Table({"ra": points.ra.deg, "dec": points.dec.deg})
    for best in (False, True):
        a = remote.query_positions(table, best=best)
        b = local.query_positions(table, best=best)
        same_rows(a, b)
        # the mirror publishes s_region with 6 decimals (3.6 mas), the local
        # archive computes footprints from the WCS values
        assert np.allclose(a["dist_edge"], b["dist_edge"], atol=5e-3)
        assert list(a["best"]) == list(b["best"])


def test_positions_async_and_chunked_uploads(mirror, local, request):
    from twomass_vo.archives.vo import VOArchive

    small = VOArchive(
        sia_url=os.environ["SIA_URL"],
        tap_url=os.environ["TAP_URL"],
        table=os.environ["TAP_TABLE"],
        chunk_size=7,
        async_threshold=5,
    )
    request.addfinalizer(small.close)
    rng = np.random.default_rng(3)
    points = SkyCoord(M31).directional_offset_by(
        rng.uniform(0, 360, 12) * u.deg, rng.uniform(0, 0.2, 12) * u.deg
    )
    table = Table({"ra": points.ra.deg, "dec": points.dec.deg})
    payload = TwoMassBatch(archive=small).query_positions(table, get_query_payload=True)
    assert len(payload) == 2 and all(p["service"] == "tap" for p in payload)
    same_rows(
        TwoMassBatch(archive=small).query_positions(table, best=True),
        local.query_positions(table, best=True),
    )


def test_coadd_keys_and_scans(remote, local):
    keys = np.asarray(local.archive.columns["coadd_key"][:5]).tolist()
    table = Table({"coadd_key": keys * 2, "band": ["a"] * 5 + ["j"] * 5})
    same_rows(remote.query_coadd_keys(table), local.query_coadd_keys(table))
    row = local.query_coadd_keys(keys[:1])[0]
    date, hem, scan = str(row["ordate"]), str(row["hemisphere"]), int(row["scanno"])
    same_rows(remote.query_scan(date, hem, scan), local.query_scan(date, hem, scan))
    same_rows(
        remote.query_scan(date, hem, scan, image=int(row["image"]), band="H"),
        local.query_scan(date, hem, scan, image=int(row["image"]), band="H"),
    )
    dhs = Table(
        {
            "xdate": [date, date],
            "hem": [hem, hem],
            "scan": [scan, scan],
            "image": [int(row["image"]), 0],
        }
    )
    same_rows(remote.query_scans(dhs), local.query_scans(dhs))


def test_files_and_cutouts_from_the_server(remote, local):
    a = remote.query_positions(
        Table({"ra": [10.6846], "dec": [41.2689], "size": [30]}), best=True, band="J"
    )
    b = local.query_positions(
        Table({"ra": [10.6846], "dec": [41.2689], "size": [30]}), best=True, band="J"
    )
    same_rows(a, b)
    assert a[0]["access_url"].startswith("http://127.0.0.1")
    assert np.array_equal(a[0].open()[0].data, b[0].open()[0].data)
    assert a[0]["cutout_url"]
    cut = a[0].cutout()
    assert 25 <= cut[0].data.shape[0] <= 35 and 25 <= cut[0].data.shape[1] <= 35


def test_server_errors_are_clear(mirror):
    from twomass_vo.archives.vo import VOArchive

    with (
        VOArchive(
            tap_url=os.environ["TAP_URL"], table="twomass.no_such_table"
        ) as broken,
        pytest.raises(ArchiveError, match="no_such_table"),
    ):
        TwoMassBatch(archive=broken).query_coadd_keys([1])


def test_cli_on_the_mirror(local, tmp_path, capsys):
    from astropy.table import Table as T

    from twomass_vo.cli import main

    mirror_options = [
        "--sia-url",
        os.environ["SIA_URL"],
        "--tap-url",
        os.environ["TAP_URL"],
        "--tap-table",
        os.environ["TAP_TABLE"],
        "--datalink-url",
        os.environ["DATALINK_URL"],
    ]
    assert main([*mirror_options, "info", "--check"]) == 0
    out = capsys.readouterr().out
    for name in ("sia", "tap", "datalink"):
        assert f"endpoint {name}: " in out
    assert "NOT ANSWERING" not in out
    path = tmp_path / "region.vot"
    assert main([*mirror_options, "region", M31, "0.3", "-o", str(path)]) == 0
    written = T.read(path)
    expected = local.query_region(M31, 0.3)
    assert list(written["coadd_key"]) == list(expected["coadd_key"])
    assert list(written["band"]) == list(expected["band"])
