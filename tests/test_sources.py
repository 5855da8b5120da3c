# Licensed under a 3-clause BSD style license - see LICENSE
"""The sources mode: catalogue rows linked to the images that measured them.

A PSC-like table is made from the simulated survey: sources placed in known
images of a known scan, some in the overlap of two images of that scan, some
measured on another night where another scan's image is more centred. The
expected images are decided here, from the corners of the sets (not the
archive's stored geometry) and by construction.
"""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from irsa_standin import IrsaStandIn

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.cli import main
from twomass_vo.exceptions import (
    InputError,
    InvalidQueryError,
    NoResultsWarning,
    NotFoundWarning,
)
from twomass_vo.geometry import Footprints, radec_to_xyz
from twomass_vo.inputs.sources import sources_request

SCAN = ("971031", "n", 96)  # a night of the help page's examples


def iso(yymmdd):
    century = "19" if yymmdd[0] in "56789" else "20"
    return f"{century}{yymmdd[:2]}-{yymmdd[2:4]}-{yymmdd[4:]}"


def scan_sets(sim, ordate, hem, scanno):
    sets = sim.find_scans(
        np.array([ordate]), np.array([hem]), np.array([scanno]), np.array([0])
    )
    return sets.take(np.argsort(sets.dec))  # south to north, along the scan


def most_centred(sets, ra, dec):
    """Oracle: the set of ``sets`` containing the point that is most centred."""
    footprints = Footprints(sets.corners)
    point = radec_to_xyz(ra, dec)
    distance = footprints.edge_distance(point)
    inside = footprints.contains(point)
    assert inside.any()
    distance[~inside] = -np.inf
    return int(np.argmax(distance))


@pytest.fixture(scope="module")
def psc(sim):
    """A PSC-like table and the coadd_key each row must link to."""
    sets = scan_sets(sim, *SCAN)
    assert len(sets) == 23
    rows, expected = [], []

    def add(name, ra, dec, date, hem, scanno, key):
        rows.append((name, ra, dec, iso(date), hem, scanno, key))
        expected.append(key)

    for k in (0, 5, 11, 22):  # image centres
        add(f"centre{k}", sets.ra[k], sets.dec[k], *SCAN, sets.coadd_key[k])
    footprints = Footprints(sets.corners)
    for k, shift in ((3, 20.0), (9, -20.0), (15, 30.0)):
        # in the overlap of images k and k+1, 20-30" off the overlap's middle
        dec = (sets.dec[k] + sets.dec[k + 1]) / 2 + shift / 3600
        ra = sets.ra[k]
        inside = footprints.contains(radec_to_xyz(ra, dec))
        assert inside[k] and inside[k + 1], "the point must be in both images"
        key = sets.coadd_key[k + 1] if shift > 0 else sets.coadd_key[k]
        assert key == sets.coadd_key[most_centred(sets, ra, dec)]
        add(f"overlap{k}", ra, dec, *SCAN, key)
    # measured on another night: near the east edge of image 8 of SCAN, where
    # a tile of another night overlaps; that night's image is the link even
    # though SCAN's image may be more centred
    centre = SkyCoord(sets.ra[8], sets.dec[8], unit="deg")
    point = centre.directional_offset_by(90 * u.deg, 200 * u.arcsec)
    around = sim.contain_points(np.array([point.ra.deg]), np.array([point.dec.deg]))[0]
    other = np.flatnonzero((around.ordate != SCAN[0]) | (around.scanno != SCAN[2]))
    assert len(other), "the simulated tiles overlap in RA"
    j = other[0]
    add(
        "othernight",
        point.ra.deg,
        point.dec.deg,
        str(around.ordate[j]),
        str(around.hemisphere[j]),
        int(around.scanno[j]),
        around.coadd_key[j],
    )
    names, ra, dec, xdate, hemis, scan, keys = zip(*rows, strict=True)
    table = Table(
        {
            "designation": names,
            "ra": ra,
            "dec": dec,
            "xdate": xdate,
            "hemis": hemis,
            "scan": scan,
            "j_m": np.linspace(10, 15, len(rows)),
            "coadd_key": keys,
        }
    )
    return table, np.array(expected)


def linked_keys(result):
    keys = {}
    for row in result:
        keys.setdefault(row["id"], set()).add(int(row["coadd_key"]))
    return keys


def test_measured_link_by_key_and_by_scan_gives_the_known_images(batch, psc):
    table, expected = psc
    names = list(table["designation"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is not found
        by_key = batch.query_sources(table)
        scans_only = table.copy()
        del scans_only["coadd_key"]
        by_scan = batch.query_sources(scans_only)
    for result in (by_key, by_scan):
        assert linked_keys(result) == {
            n: {int(k)} for n, k in zip(names, expected, strict=True)
        }
        assert list(result["band"]) == ["J", "H", "K"] * len(table)
        assert list(result["scntr"]) == list(np.repeat(np.arange(len(table)), 3))
        assert np.array_equal(result["in_ra"][::3], table["ra"])
        assert np.array_equal(result["in_dec"][::3], table["dec"])
        assert not result["best"].any()
        assert (result["dist_edge"] > 0).all()
        assert len(result.not_found) == 0
        assert result.meta["mode"] == "sources"
        assert result.meta["parameters"]["link"] == "measured"
    for name in by_key.colnames:
        assert np.array_equal(by_key[name], by_scan[name]), name


def test_measured_is_not_the_most_centred_image(batch, psc):
    table, expected = psc
    best = batch.query_sources(table, link="best", band="J")
    measured = batch.query_sources(table, band="J")
    other = list(table["designation"]).index("othernight")
    assert measured["coadd_key"][other] == expected[other]
    assert best["coadd_key"][other] != expected[other]
    assert best["best"].all() and best.meta["parameters"]["link"] == "best"
    every = batch.query_sources(table, link="all", band="J")
    for name in ("overlap3", "overlap9", "overlap15"):
        assert np.count_nonzero(every["id"] == name) >= 2


def test_measured_dist_edge_is_the_position_in_its_image(batch, psc, sim):
    table, expected = psc
    result = batch.query_sources(table, band="H")
    sets = sim.find_coadd_keys(np.asarray(expected))
    order = np.argsort(sets.query_index)
    footprints = Footprints(sets.corners[order])
    distance = footprints.edge_distance(radec_to_xyz(table["ra"], table["dec"]))
    assert np.allclose(result["dist_edge"], np.degrees(distance) * 3600, atol=1e-6)


def test_cutouts_are_centred_on_the_sources(batch, psc):
    table, _ = psc
    result = batch.query_sources(table[:2], size=30 * u.arcsec, band="K")
    assert np.allclose(result["cutout_size"], 30)
    hdul = result[0].cutout()
    assert hdul[0].data.shape[0] in (30, 31)


def test_unknown_keys_and_scans_are_reported_not_dropped(batch, psc):
    table, expected = psc
    bad = Table(table, masked=True)
    bad["coadd_key"][1] = 123  # no such set
    bad["coadd_key"].mask[2:4] = True  # null keys: linked by their scans
    bad["scan"][3] = 999  # a scan the survey did not observe
    with pytest.warns(NotFoundWarning, match=r"2 of 8 source\(s\) found no image"):
        result = batch.query_sources(bad)
    assert list(result.not_found["row"]) == [1, 3]
    assert list(result.not_found["reason"]) == [
        "coadd_key 123 is not in the archive",
        "scan 971031 n 999 is not in the archive",
    ]
    assert list(result.not_found["designation"]) == ["centre5", "centre22"]
    kept = [n for i, n in enumerate(table["designation"]) if i not in (1, 3)]
    assert sorted(set(result["id"])) == sorted(kept)
    assert int(result["coadd_key"][result["id"] == "centre11"][0]) == expected[2]


def test_a_position_outside_its_scan_is_reported(batch, psc):
    table, _ = psc
    moved = table[:1].copy()
    del moved["coadd_key"]
    moved["dec"] = -45.0  # far from scan 971031 n 96
    with pytest.warns(NotFoundWarning), pytest.warns(NoResultsWarning):
        result = batch.query_sources(moved)
    assert len(result) == 0
    assert list(result.not_found["reason"]) == [
        "no image of scan 971031 n 96 contains the position"
    ]


def test_missing_link_columns_are_named(batch, psc):
    table, _ = psc
    bare = table["designation", "ra", "dec"]
    with pytest.raises(InputError, match=r"missing: xdate \(or date\), hemis, scan"):
        batch.query_sources(bare)
    no_hemis = table["designation", "ra", "dec", "xdate", "scan"]
    with pytest.raises(InputError, match=r"missing: hemis \(and coadd_key\)"):
        batch.query_sources(no_hemis)
    keyed = Table(table["designation", "ra", "dec", "coadd_key"], masked=True)
    keyed["coadd_key"].mask[4] = True
    with pytest.raises(
        InputError, match=r"row 4, column 'coadd_key': None is missing, and the"
    ):
        batch.query_sources(keyed)
    assert len(batch.query_sources(bare, link="best")) == 3 * len(table)


def test_bad_values_name_row_column_and_value(batch, psc):
    table, _ = psc
    bad = table.copy()
    bad["coadd_key"][5] = -7
    with pytest.raises(InputError, match=r"row 5, column 'coadd_key': -7 is not"):
        batch.query_sources(bad)
    dated = table.copy()
    del dated["coadd_key"]
    dated["xdate"][6] = "1997-13-01"
    with pytest.raises(InputError, match=r"row 6, column 'xdate': '1997-13-01'"):
        batch.query_sources(dated)
    with pytest.raises(InvalidQueryError, match="link='nearest' must be one of"):
        batch.query_sources(table, link="nearest")


@pytest.mark.parametrize("service", ["lineA", "vizier", "pandas"])
def test_column_names_of_the_data_centres(batch, psc, service):
    table, expected = psc
    if service == "lineA":  # decl, date in yymmdd, pts_key, no designation
        source = Table(
            {
                "pts_key": np.arange(100, 100 + len(table)),
                "ra": table["ra"],
                "decl": table["dec"],
                "date": [d.replace("-", "")[2:] for d in table["xdate"]],
                "hemis": table["hemis"],
                "scan": table["scan"],
            }
        )
        ids = [str(k) for k in source["pts_key"]]
    else:  # VizieR II/246 (astroquery spells 2MASS as _2MASS)
        source = Table(
            {
                "RAJ2000": table["ra"],
                "DEJ2000": table["dec"],
                "_2MASS": table["designation"],
                "Date": table["xdate"],
                "Hemis": table["hemis"],
                "Scan": table["scan"],
                "coaddKey": table["coadd_key"],
            }
        )
        ids = list(table["designation"])
        if service == "pandas":
            source = source.to_pandas()
    result = batch.query_sources(source, band="J")
    assert list(result["id"]) == ids
    assert np.array_equal(result["coadd_key"], expected)


def test_real_psc_rows_are_read(batch, data_path):
    path = data_path / "gator_fp_psc_polygon_10_10.xml"
    request = sources_request(path)
    assert list(request.ordate) == ["000921"] * 7
    assert list(request.hemisphere) == ["n"] * 7
    assert list(request.scanno) == [64] * 7
    assert request.positions.id[0] == "00400376+1005572"
    # the simulated survey has its own scans: the link is reported, not dropped
    with pytest.warns(NotFoundWarning, match="7 of 7"), pytest.warns(NoResultsWarning):
        result = batch.query_sources(path)
    assert len(result) == 0 and list(result.not_found["row"]) == list(range(7))
    assert result.not_found["reason"][0].startswith(
        ("scan 000921 n 64 is not", "no image of scan 000921 n 64")
    )
    best = batch.query_sources(path, link="best", band="J")
    assert list(best["id"]) == list(Table.read(path)["designation"])
    m31 = sources_request(data_path / "gator_fp_psc_cone_m31_1arcsec.xml")
    assert len(m31) == 1 and m31.positions.id[0] == "00424433+4116085"


def test_payload_asks_each_key_and_scan_once(psc):
    table, expected = psc
    irsa = IrsaArchive(sia_url="", tap_url="http://127.0.0.1:9/tap", discover=False)
    mixed = Table(table, masked=True)
    mixed["coadd_key"].mask[:4] = True
    payloads = TwoMassBatch(archive=irsa).query_sources(mixed, get_query_payload=True)
    assert [p["route"] for p in payloads] == ["ibe-where", "ibe-where"]
    where = [p["params"]["where"] for p in payloads]
    for key in np.unique(expected[4:]):
        assert where[0].count(str(key)) == 1
    assert "ordate = '971031'" in where[1] and where[1].count("scanno = 96") == 1


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    m31 = SkyCoord(10.6846, 41.2689, unit="deg")
    return LocalArchive.simulate(tmp_path_factory.mktemp("src") / "patch", m31, 0.08)


def test_on_irsa_the_link_is_the_local_archive(patch):
    """IBE ``where`` look-ups (batched) give the rows the local index gives."""
    server = IrsaStandIn(patch).start()
    try:
        col = patch.columns
        n = len(patch)
        table = Table(
            {
                "designation": [f"s{i}" for i in range(n)],
                "ra": np.asarray(col["crval1"]),
                "dec": np.asarray(col["crval2"]),
                "xdate": np.asarray(col["ordate"]).astype(str),
                "hemis": np.asarray(col["hemisphere"]).astype(str),
                "scan": np.asarray(col["scanno"]).astype(int),
                "coadd_key": np.asarray(col["coadd_key"]),
            },
            masked=True,
        )
        table["coadd_key"].mask[::2] = True  # half by key, half by scan
        irsa = IrsaArchive(
            sia_url="",
            tap_url=server.tap_url,
            ibe_url=server.ibe_url,
            data_url_root=server.data_url_root,
            ibe_where_size=2,
        )
        remote = TwoMassBatch(archive=irsa).query_sources(table)
        local = TwoMassBatch(archive=patch).query_sources(table)
        irsa.close()
    finally:
        server.stop()
    names = ["scntr", "id", "coadd_key", "band", "ordate", "scanno", "image"]
    assert remote[names].as_array().tolist() == local[names].as_array().tolist()
    assert np.allclose(remote["dist_edge"], local["dist_edge"], atol=1e-6)
    assert len(local) == 3 * n
    assert "ibe-where" in remote.meta["route"]
    searches = [r for r in server.requests if r.path.endswith("allsky")]
    assert len(searches) >= 2  # batched: at most 2 keys or scans per request


def test_cli_sources_writes_the_result_and_the_not_found_rows(psc, tmp_path, capsys):
    table, _ = psc
    bad = table.copy()
    bad["coadd_key"][0] = 123
    source = tmp_path / "psc.vot"
    bad.write(source, format="votable")
    out, lost = tmp_path / "images.ecsv", tmp_path / "lost.csv"
    argv = ["--archive", "sim", "sources", str(source), "--band", "J", "-o", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a plain python run shows them
        status = main([*argv, "--not-found", str(lost)])
    assert status == 0
    err = capsys.readouterr().err
    assert "twomass-vo: NotFoundWarning: 1 of 8 source(s) found no image" in err
    written = Table.read(out)
    assert len(written) == len(table) - 1
    assert written.meta["parameters"]["link"] == "measured"
    assert list(Table.read(lost)["reason"]) == ["coadd_key 123 is not in the archive"]


def test_contain_keys_of_the_index_equals_the_generic_look_up(sim, psc):
    """LocalArchive reads no corners; the base method asks find_coadd_keys."""
    from twomass_vo.archives.base import Archive

    table, expected = psc
    keys = np.array([expected[2], 123, expected[0], expected[2], expected[5]])
    ra = np.array([table["ra"][2], 1.0, table["ra"][0], 0.0, table["ra"][5]])
    dec = np.array([table["dec"][2], 1.0, table["dec"][0], 0.0, table["dec"][5]])
    fast = sim.contain_keys(keys, ra, dec, with_corners=False)
    generic = Archive.contain_keys(sim, keys, ra, dec)
    assert fast[0].corners is None and generic[0].corners is not None
    assert list(fast[0].query_index) == list(generic[0].query_index) == [0, 2, 3, 4]
    assert list(fast[0].coadd_key) == list(generic[0].coadd_key)
    assert list(fast[1]) == list(generic[1]) == [True, True, False, True]
    assert np.allclose(fast[2], generic[2], rtol=0, atol=1e-12)
