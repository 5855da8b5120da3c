# Licensed under a 3-clause BSD style license - see LICENSE
"""One date-hemisphere-scan-image key for every archive, hemisphere in any case.

`~twomass_vo.archives.set_keys.dhs_keys` is the one key the embedded
(`LocalArchive`, the simulated survey), VO and IRSA archives join requested
scans with. These tests ask each archive for the same scans with the
hemisphere written ``n`` / ``N`` (``s`` / ``S``) and want the same sets; the VO
archive also reads an answer whose hemisphere column is upper case.
"""

import io

import numpy as np
import pytest
import requests
import urllib3
from astropy.table import Table
from irsa_standin import IrsaStandIn
from requests.adapters import BaseAdapter, HTTPAdapter

from twomass_vo.archives.set_keys import dhs_keys
from twomass_vo.archives.vo import VOArchive

DACHS = "http://127.0.0.1:8080"


def test_dhs_keys_ignore_the_case_of_the_hemisphere():
    lower = dhs_keys(["971031", "971031"], ["n", "s"], [96, 96], [197, 197])
    upper = dhs_keys(["971031", "971031"], ["N", "S"], [96, 96], [197, 197])
    stored = dhs_keys(np.array([b"971031"] * 2), np.array([b"N", b"s"]), [96] * 2, 197)
    assert lower.tolist() == upper.tolist() == stored.tolist()
    assert lower[1] - lower[0] == 1000 * 10_000  # south: its own range of keys
    assert lower[0] == ((971031 * 2) * 1000 + 96) * 10_000 + 197


def test_dhs_keys_sort_by_date_hemisphere_scan_image():
    keys = dhs_keys(
        ["971031", "971031", "971031", "971101", "971031"],
        ["n", "N", "S", "n", "n"],
        [96, 96, 96, 1, 97],
        [1, 9999, 1, 1, 1],
    )
    assert np.argsort(keys).tolist() == [0, 1, 4, 2, 3]


def _same_sets(a, b):
    assert len(a) == len(b) > 0
    assert a.coadd_key.tolist() == b.coadd_key.tolist()
    assert a.query_index.tolist() == b.query_index.tolist()


@pytest.mark.parametrize(("scan", "hems"), [(("001022", 62, 186), "sS")])
def test_embedded_archive_joins_either_case(sim, scan, hems):
    ordate, scanno, image = scan
    lower = sim.find_scans([ordate] * 2, [hems[0]] * 2, [scanno] * 2, [image, 0])
    upper = sim.find_scans([ordate] * 2, [hems[1]] * 2, [scanno] * 2, [image, 0])
    _same_sets(lower, upper)
    assert set(lower.hemisphere.tolist()) == {"s"}
    north = sim.find_scans([ordate], ["N"], [scanno], [image])
    assert not set(north.coadd_key.tolist()) & set(lower.coadd_key.tolist())


# ----------------------------------------------------------------- VO archive
class _Answer(BaseAdapter):
    """Answers every TAP query with one VOTable (no network)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def send(self, request, **kwargs):
        if request.url.split("?")[0] != f"{DACHS}/tap/sync":
            raise requests.ConnectionError(f"no route to {request.url}")
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(self.body),
            headers={"Content-Type": "text/xml"},
            status=200,
            preload_content=False,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self):
        pass


def _vo_archive(data_path, hemisphere):
    """A VOArchive whose TAP answers the recorded DaCHS rows, in ``hemisphere``."""
    table = Table.read(data_path / "vo" / "dachs_tap_circle.xml")
    table["hemisphere"] = [hemisphere] * len(table)
    out = io.BytesIO()
    table.write(out, format="votable")
    archive = VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images")
    archive.session.mount("http://", _Answer(out.getvalue()))
    return archive, table


@pytest.mark.parametrize("answered", ["n", "N", "s", "S"])
def test_vo_archive_joins_either_case(data_path, answered):
    archive, table = _vo_archive(data_path, answered)
    ordate, scanno = str(table["ordate"][0]), int(table["scanno"][0])
    image = int(table["image"][0])
    in_scan = np.unique(
        np.asarray(table["coadd_key"])[
            (table["ordate"] == ordate) & (table["scanno"] == scanno)
        ]
    )
    hem = answered.lower()
    other = "n" if hem == "s" else "s"
    asked = [hem, hem.upper(), other, other.upper(), hem.upper()]
    sets = archive.find_scans([ordate] * 5, asked, [scanno] * 5, [0, 0, 0, 0, image])
    found = {
        q: sorted(sets.coadd_key[sets.query_index == q].tolist()) for q in range(5)
    }
    assert found[0] == found[1] == sorted(in_scan.tolist())
    assert found[2] == found[3] == []
    assert found[4] == [int(table["coadd_key"][0])]
    assert set(sets.hemisphere.tolist()) == {hem}


# --------------------------------------------------------------- IRSA archive
def test_irsa_and_embedded_archives_join_the_same_sets(m31_patch, irsa_server):
    irsa = irsa_server.irsa_archive(sia_url="")
    assert isinstance(irsa_server, IrsaStandIn)
    try:
        every = m31_patch.find_circle(10.6846, 41.2689, 0.05)
        ordate, hem = str(every.ordate[0]), str(every.hemisphere[0])
        scanno, image = int(every.scanno[0]), int(every.image[0])
        asked = ([ordate] * 3, [hem, hem.upper(), hem], [scanno] * 3, [0, 0, image])
        local = m31_patch.find_scans(*asked)
        remote = irsa.find_scans(*asked)
        upper = m31_patch.find_scans(
            [ordate] * 3, [hem.upper(), hem, hem.upper()], [scanno] * 3, [0, 0, image]
        )
    finally:
        irsa.close()
    _same_sets(local, remote)
    _same_sets(local, upper)
    counts = np.bincount(local.query_index, minlength=3)
    assert counts[0] == counts[1] > counts[2] == 1
