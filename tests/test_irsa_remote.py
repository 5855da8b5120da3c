# Licensed under a 3-clause BSD style license - see LICENSE
"""Live tests of `IrsaArchive` against IRSA (``pytest --remote-data``).

They settle the facts marked UNCERTAIN in ``research/irsa-2mass-services.md``
and in `twomass_vo.archives.irsa.conf`: the SIA v2 collection name, its band
values, ``dataproduct_subtype`` and file path pattern; the TAP table of image
files and its column names (``twomass.allsky_images``: ``coadd_key``,
``ordate``, ``hemisphere``, ``scanno``, ``fname``, ``filter``, ``crval1/2``,
``ra1..dec4``, ``poly``); uploads and asynchronous jobs; IBE file and cutout
URLs; and that no Quicklook collection exists. A failure names the fact.

Reference images: IRSA's own SIA v1 example position (314.30417, +77.595559)
lies in the Atlas sets 000616n / scan 060 / image 0256 (coadd_key 1388256)
and 001129n / 019 / 0256 (coadd_key 1528372).
"""

import warnings

import numpy as np
import pytest
from astropy.table import Table

from twomass_vo.archives.irsa import IrsaArchive, conf
from twomass_vo.archives.vo import band_codes, parse_image_paths
from twomass_vo.geometry import Footprints, radec_to_xyz

pytestmark = [
    pytest.mark.remote_data,
    # IRSA's VOTables may trip astropy's pedantic VOTable checks
    pytest.mark.filterwarnings("ignore::astropy.io.votable.exceptions.VOWarning"),
    pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning"),
]

RA, DEC = 314.30417, 77.595559
KNOWN = {1388256: ("000616", "n", 60, 256), 1528372: ("001129", "n", 19, 256)}


@pytest.fixture(scope="module")
def irsa():
    return IrsaArchive()


def _dhs(sets):
    return set(
        zip(
            sets.ordate.tolist(),
            sets.hemisphere.tolist(),
            sets.scanno.tolist(),
            sets.image.tolist(),
            strict=True,
        )
    )


def _tap(irsa, query):
    from pyvo.dal import TAPService

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TAPService(irsa.tap_url, session=irsa.session).run_sync(query).to_table()


def test_endpoints_answer(irsa):
    endpoints = irsa.check(timeout=120)
    failed = {k: v["detail"] for k, v in endpoints.items() if not v["ok"]}
    assert not failed, f"IRSA endpoints failed: {failed}"


def test_sia2_url_is_the_query_endpoint():
    """IrsaArchive sends SIA v2 queries to conf.sia_url without reading VOSI."""
    from pyvo.dal import SIA2Service

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        endpoint = SIA2Service(conf.sia_url).query_ep
    assert endpoint.rstrip("?&") == conf.sia_url


def test_sia2_collection_bands_paths(irsa):
    """UNCERTAIN: collection name, band values, subtype, path pattern, s_region."""
    from pyvo.dal import SIA2Query

    (payload,) = irsa.payload_circle(RA, DEC, 0.001)
    query = SIA2Query(payload["url"], session=irsa.session)
    query.update(payload["params"])
    query.maxrec = 1000
    table = query.execute().to_table()
    assert len(table) > 0, "no twomass_allsky rows at the reference position"
    assert set(np.asarray(table["obs_collection"]).astype(str)) == {"twomass_allsky"}
    subtype = np.asarray(table["dataproduct_subtype"]).astype(str)
    assert "science" in subtype, f"dataproduct_subtype values: {set(subtype)}"
    science = table[subtype == "science"]
    bands = set(np.asarray(science["energy_bandpassname"]).astype(str))
    assert bands <= {"J", "H", "K", "Ks"}, f"energy_bandpassname values: {bands}"
    assert (band_codes(science["energy_bandpassname"]) >= 0).all()
    urls = np.asarray(science["access_url"]).astype(str)
    assert all(u.startswith(conf.data_url_root) for u in urls), urls[:3]
    assert parse_image_paths(urls)["ok"].all(), urls[:3]
    regions = np.asarray(science["s_region"]).astype(str)
    assert all(r.upper().startswith("POLYGON") for r in regions), regions[:2]


def test_find_circle(irsa):
    sets = irsa.find_circle(RA, DEC, 0.01)
    assert set(KNOWN.values()) <= _dhs(sets)
    assert sets.has_band.all()
    inside = Footprints(sets.corners).contains(np.tile(radec_to_xyz(RA, DEC), (2, 1)))
    assert inside.sum() >= 2


def test_tap_table_and_columns(irsa):
    """UNCERTAIN: the TAP table name and every configured column name."""
    found = _tap(
        irsa,
        f"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = '{conf.table}'",
    )
    names = {str(n).lower() for n in found["column_name"]}
    assert names, f"{conf.table} is not in IRSA's TAP_SCHEMA"
    wanted = set()
    for key, value in irsa.columns.items():
        if value:
            wanted |= set(value) if key == "corners" else {value}
    assert wanted <= names, f"missing columns {wanted - names}; has {sorted(names)}"


def test_tap_band_values(irsa):
    column = irsa.columns["band"]
    found = _tap(
        irsa,
        f"SELECT DISTINCT {column} FROM {conf.table} WHERE "
        f"{irsa.columns['coadd_key']} IN ({', '.join(map(str, KNOWN))})",
    )
    values = {str(v) for v in found[column]}
    assert (band_codes(sorted(values)) >= 0).all(), values


def test_find_coadd_keys_and_files(irsa):
    import requests

    sets = irsa.find_coadd_keys(list(KNOWN))
    got = {
        int(k): d
        for k, d in zip(
            sets.coadd_key.tolist(),
            zip(
                sets.ordate.tolist(),
                sets.hemisphere.tolist(),
                sets.scanno.tolist(),
                sets.image.tolist(),
                strict=True,
            ),
            strict=True,
        )
    }
    assert got == KNOWN
    refs = irsa.files(sets, np.zeros(len(sets), int), "atlas")
    for url, (ordate, hem, scan, image) in zip(
        refs.access_url, (got[k] for k in sets.coadd_key.tolist()), strict=True
    ):
        assert url == (
            f"{conf.data_url_root}{ordate}{hem}/s{scan:03d}/image/"
            f"ji{scan:03d}{image:04d}.fits.gz"
        )
    response = irsa.session.head(refs.access_url[0], allow_redirects=True)
    assert response.status_code == 200, refs.access_url[0]
    cut = irsa.cutout_urls(refs.access_url[:1], [RA], [DEC], [20.0])[0]
    data = requests.get(cut, timeout=120)
    assert data.status_code == 200 and data.content[:6] == b"SIMPLE", cut


def test_find_scans(irsa):
    sets = irsa.find_scans(["000616", "000616"], ["n", "n"], [60, 60], [0, 256])
    whole = sets.take(sets.query_index == 0)
    assert 20 <= len(whole) <= 23, f"{len(whole)} image sets in 000616n/060"
    one = sets.take(sets.query_index == 1)
    assert one.coadd_key.tolist() == [1388256]


def test_find_points_upload(irsa):
    sets = irsa.find_points([RA, 0.0], [DEC, 0.0])
    assert set(KNOWN) <= set(sets.coadd_key[sets.query_index == 0].tolist())


def test_find_points_async_upload():
    archive = IrsaArchive(async_threshold=1)
    (payload,) = archive.payload_points([RA, RA + 1e-4], [DEC, DEC])
    assert payload["mode"] == "async"
    sets = archive.find_points([RA, RA + 1e-4], [DEC, DEC])
    assert set(np.unique(sets.query_index).tolist()) == {0, 1}


def test_find_points_per_position_sia():
    archive = IrsaArchive(upload=False)
    sets = archive.find_points([RA], [DEC])
    assert set(KNOWN.values()) <= _dhs(sets)


def test_no_quicklook_collection(irsa):
    """UNCERTAIN: IRSA serves no 2MASS Quicklook images through SIA v2."""
    found = _tap(
        irsa,
        "SELECT DISTINCT collection FROM caom.observation "
        "WHERE collection LIKE 'twomass%'",
    )
    collections = {str(c) for c in found["collection"]}
    assert conf.collection in collections, collections
    assert not any("ql" in c or "quick" in c for c in collections), collections


def test_batch_modes(irsa):
    from twomass_vo import TwoMassBatch

    batch = TwoMassBatch(archive=irsa)
    region = batch.query_region(f"{RA} {DEC}", 0.05, band="J")
    assert len(region) > 0 and set(region["band"]) == {"J"}
    positions = batch.query_positions(
        Table({"ra": [RA], "dec": [DEC]}), best=True, size=30
    )
    assert len(positions) == 3 and positions["best"].all()
    assert all("center=" in u for u in positions["cutout_url"])
    keys = batch.query_coadd_keys(list(KNOWN), band="H")
    assert sorted(keys["coadd_key"].tolist()) == sorted(KNOWN)
    scan = batch.query_scan("000616", "n", 60, image=256)
    assert scan["coadd_key"].tolist() == [1388256] * 3
