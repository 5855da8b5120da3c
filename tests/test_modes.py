# Licensed under a 3-clause BSD style license - see LICENSE
"""The five batch modes end to end through the public API, on the simulated survey.

Answers are checked against astropy WCS on the files' own headers (an oracle
independent of `twomass_vo.geometry`), against brute force, and against the
help page's statements about its example tables.
"""

import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from regions import CircleSkyRegion, PolygonSkyRegion

from twomass_vo import ImageTable, TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.exceptions import (
    DiameterClampedWarning,
    InputError,
    InvalidQueryError,
    NoResultsWarning,
    QuicklookWarning,
)
from twomass_vo.results.image_table import COLUMNS

M31 = "00h42m44.3s +41d16m08s"


def pixel_edge_distance(header, ra, dec):
    """Distance (arcsec) from (ra, dec) to the nearest outer pixel edge, via WCS."""
    x, y = WCS(header).all_world2pix(ra, dec, 1)
    d = np.minimum.reduce(
        [x - 0.5, header["NAXIS1"] + 0.5 - x, y - 0.5, header["NAXIS2"] + 0.5 - y]
    )
    return d * abs(header["CDELT2"]) * 3600


def circle_points(ra, dec, radius_deg, n=720):
    centre = SkyCoord(ra, dec, unit="deg")
    angles = np.linspace(0, 360, n, endpoint=False) * u.deg
    return centre.directional_offset_by(angles, radius_deg * u.deg)


def headers(table):
    out = {}
    for row in table:
        key = int(row["coadd_key"])
        if key not in out:
            out[key] = row.open()[0].header
    return out


# ----------------------------------------------------------------------- region
@pytest.mark.parametrize("diameter", [0.5, 1.0])
def test_region_relations_are_nested_and_exact(batch, diameter):
    tables = {
        i: batch.query_region(M31, diameter, intersect=i, band="J")
        for i in ("overlaps", "enclosed")
    }
    keys = {i: set(t["coadd_key"]) for i, t in tables.items()}
    assert keys["enclosed"] <= keys["overlaps"]
    centre = SkyCoord(M31)
    radius = diameter / 2
    for row in tables["enclosed"]:
        values = np.array(row["s_region"].split()[2:], float).reshape(4, 2)
        corners = SkyCoord(values[:, 0], values[:, 1], unit="deg")
        assert (centre.separation(corners).deg <= radius + 1e-9).all()
    # every image touched by a sampled point of the disc is reported as overlapping
    rng = np.random.default_rng(5)
    r = radius * np.sqrt(rng.uniform(0, 1, 3000))
    samples = centre.directional_offset_by(rng.uniform(0, 360, 3000) * u.deg, r * u.deg)
    sims = batch.archive.find_circle(centre.ra.deg, centre.dec.deg, radius)
    for i in range(len(sims)):
        sets = sims.take([i])
        header = batch.archive.local_path(
            batch.archive.files(sets, np.array([0]), "atlas").access_url[0]
        )
        with fits.open(header) as hdul:
            h = hdul[0].header
        hit = (pixel_edge_distance(h, samples.ra.deg, samples.dec.deg) >= 0).any()
        if hit:
            assert int(sets.coadd_key[0]) in keys["overlaps"]


def test_region_covers_means_the_image_contains_the_circle(batch, sim):
    sets = sim.find_scans(["971031"], ["n"], [96], [197])
    ra, dec = float(sets.ra[0]), float(sets.dec[0])
    table = batch.query_region(SkyCoord(ra, dec, unit="deg"), 0.1, intersect="covers")
    assert int(sets.coadd_key[0]) in set(table["coadd_key"])
    assert set(table["band"]) == {"J", "H", "K"}
    for header in headers(table).values():
        boundary = circle_points(ra, dec, 0.05)
        assert (
            pixel_edge_distance(header, boundary.ra.deg, boundary.dec.deg) >= -1e-3
        ).all()
    # geometric limits of the help page's definitions (tile inscribed radius 256")
    with pytest.warns(NoResultsWarning):
        empty = batch.query_region(
            SkyCoord(ra, dec, unit="deg"), 0.15, intersect="covers"
        )
    assert len(empty) == 0
    with pytest.warns(NoResultsWarning):
        batch.query_region(SkyCoord(ra, dec, unit="deg"), 0.3, intersect="enclosed")


def test_region_across_ra_zero_and_at_the_pole(batch):
    table = batch.query_region("0.01 -20", 0.5, band="K")
    ras = np.array(table["ra"])
    assert (ras < 1).any() and (ras > 359).any()
    pole = batch.query_region("0 89.99", 0.2, band="J")
    assert len(pole) > 0
    for row, header in zip(
        pole, [headers(pole)[int(k)] for k in pole["coadd_key"]], strict=True
    ):
        d = pixel_edge_distance(header, 0.0, 89.99)
        # overlap: the pole region's centre lies within r of the image
        assert d > -0.1 * 3600 - 1, row["coadd_key"]


def test_region_shapes_from_regions(batch):
    circle = CircleSkyRegion(SkyCoord(M31), 0.25 * u.deg)
    by_shape = batch.query_region(circle, band="H")
    by_string = batch.query_region(M31, 0.5, band="H")
    assert list(by_shape["coadd_key"]) == list(by_string["coadd_key"])
    centre = SkyCoord(M31)
    half = 0.3
    square = PolygonSkyRegion(
        SkyCoord(
            [
                centre.ra.deg - half / np.cos(centre.dec.rad),
                centre.ra.deg + half / np.cos(centre.dec.rad),
                centre.ra.deg + half / np.cos(centre.dec.rad),
                centre.ra.deg - half / np.cos(centre.dec.rad),
            ],
            [
                centre.dec.deg - half,
                centre.dec.deg - half,
                centre.dec.deg + half,
                centre.dec.deg + half,
            ],
            unit="deg",
        )
    )
    inside = set(batch.query_region(M31, 2 * half * 0.95, band="H")["coadd_key"])
    outside = set(batch.query_region(M31, 2 * half * 1.5, band="H")["coadd_key"])
    in_square = set(batch.query_region(square, band="H")["coadd_key"])
    assert inside <= in_square <= outside
    enclosed = batch.query_region(square, intersect="enclosed", band="H")
    assert 0 < len(enclosed) < len(in_square)


def test_region_non_convex_polygon_is_an_error(batch):
    arrow = PolygonSkyRegion(
        SkyCoord([10, 10.5, 10.1, 10.5], [40, 40, 40.2, 40.5], unit="deg")
    )
    with pytest.raises(InvalidQueryError, match="convex"):
        batch.query_region(arrow)


def test_region_diameter_is_clamped_with_a_warning(batch):
    with pytest.warns(DiameterClampedWarning, match="clamped to 7"):
        big = batch.query_region(M31, 9, band="J")
    assert list(big["coadd_key"]) == list(
        batch.query_region(M31, 7, band="J")["coadd_key"]
    )
    with pytest.warns(DiameterClampedWarning, match=r"clamped to 0\.05"):
        small = batch.query_region(M31, 0.001 * u.deg, band="J")
    assert len(small) == len(batch.query_region(M31, 0.05, band="J"))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((M31, -1), {}, "positive"),
        ((M31, float("nan")), {}, "positive"),
        ((M31, "wide"), {}, "not an angle"),
        ((M31,), {}, "diameter is required"),
        ((M31, 0.5), {"intersect": "touches"}, "intersect='touches'"),
        ((M31, 0.5), {"band": "Q"}, "'Q'"),
        ((M31, 0.5), {"image_type": "raw"}, "image_type='raw'"),
        (("12:61:00 +10:00:00", 0.5), {}, "61"),
        (("10 95", 0.5), {}, "95"),
    ],
)
def test_region_bad_input_fails_before_any_lookup(no_lookup_batch, args, kwargs, match):
    with pytest.raises(InvalidQueryError, match=match):
        no_lookup_batch.query_region(*args, **kwargs)


@pytest.fixture
def no_lookup_batch(sim, monkeypatch):
    """A batch whose archive fails the test if it is asked anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("the archive was asked before the input was validated")

    for name in (
        "find_circle",
        "find_points",
        "find_coadd_keys",
        "find_scans",
        "files",
    ):
        monkeypatch.setattr(sim, name, refuse)
    return TwoMassBatch(archive=sim)


def test_empty_result_has_the_full_schema_and_warns(batch):
    with pytest.warns(NoResultsWarning, match="No 2MASS images"):
        table = batch.query_coadd_keys([1])
    assert isinstance(table, ImageTable) and len(table) == 0
    assert table.colnames == [c[0] for c in COLUMNS]
    for name, _, unit, ucd, description in COLUMNS:
        assert table[name].meta["ucd"] == ucd
        assert table[name].description == description
        assert (table[name].unit is None) == (unit is None)


# -------------------------------------------------------------------- positions
def test_positions_help_examples(batch, data_path):
    all_images = batch.query_positions(data_path / "help_positions_all.tbl")
    best = batch.query_positions(data_path / "help_positions_best.tbl")
    cut = batch.query_positions(data_path / "help_positions_size.tbl")
    assert len(all_images) >= len(best) == 3
    assert set(best["band"]) == {"J", "H", "K"} and best["best"].all()
    assert len(set(best["coadd_key"])) == 1
    best_key = best["coadd_key"][0]
    ranked = all_images[all_images["band"] == "J"]
    assert ranked["coadd_key"][np.argmax(ranked["dist_edge"])] == best_key
    assert list(cut["coadd_key"]) == list(best["coadd_key"])
    assert (cut["cutout_size"] == 50).all()
    hdul = cut[0].cutout()
    assert hdul[0].data.shape == (50, 50)
    gator = batch.query_positions(data_path / "help_positions_gator.tbl", best=True)
    assert sorted(set(gator["scntr"])) == [0, 1, 2] and len(gator) == 9


def test_positions_best_and_dist_edge_agree_with_wcs(batch):
    rng = np.random.default_rng(11)
    ra = rng.uniform(0, 360, 40)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))
    table = batch.query_positions(Table({"ra": ra, "dec": dec}), band="J")
    assert sorted(set(table["scntr"])) == list(range(40))  # the sky is covered
    hdrs = headers(table)
    for row in table:
        truth = pixel_edge_distance(
            hdrs[int(row["coadd_key"])], row["in_ra"], row["in_dec"]
        )
        assert truth >= 0  # the image contains the position
        assert abs(truth - row["dist_edge"]) < 0.01  # arcsec (SIN edges: < 1 mas)
    for scntr in range(40):
        rows = table[table["scntr"] == scntr]
        assert rows["best"].sum() == 1
        assert rows["dist_edge"][rows["best"]][0] == rows["dist_edge"].max()
        assert list(rows["dist_edge"]) == sorted(rows["dist_edge"], reverse=True)


def test_positions_find_every_containing_image(batch, sim):
    """Against brute force over the whole index (no spatial index involved)."""
    from twomass_vo.geometry import Footprints, radec_to_xyz

    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, 5), rng.uniform(-89, 89, 5)
    ra[0], dec[0] = 359.999, 0.001
    table = batch.query_positions(Table({"ra": ra, "dec": dec}), band="K")
    centres = radec_to_xyz(
        np.asarray(sim.columns["crval1"]), np.asarray(sim.columns["crval2"])
    )
    for i in range(5):
        p = radec_to_xyz(ra[i], dec[i])
        near = np.flatnonzero(centres @ p > np.cos(np.radians(0.5)))
        inside = Footprints(sim._sets(near).corners).contains(
            np.broadcast_to(p, (len(near), 3))
        )
        expected = set(sim.columns["coadd_key"][near[inside]].tolist())
        assert set(table["coadd_key"][table["scntr"] == i].tolist()) == expected


def overlap_point(sim):
    """A point inside two consecutive images of scan 971031n96 (their overlap)."""
    sets = sim.find_scans(["971031", "971031"], ["n", "n"], [96, 96], [186, 197])
    return float(sets.ra.mean()), float(sets.dec.mean())


def test_positions_per_row_best_and_size_override_the_globals(batch, sim):
    ra, dec = (str(v) for v in overlap_point(sim))
    table = Table(
        {
            "ra": [ra, ra, ra],
            "dec": [dec, dec, dec],
            "best": ["n", "", "Y"],
            "size": ["", "30", "0"],
            "id": ["all", "global", "best"],
        }
    )
    result = batch.query_positions(table, best=False, size=20 * u.arcsec, band="J")
    counts = {i: (result["scntr"] == i).sum() for i in range(3)}
    assert counts[0] == counts[1] > 1 and counts[2] == 1
    assert set(result["id"]) == {"all", "global", "best"}
    sizes = {int(s): set(result["cutout_size"][result["scntr"] == s]) for s in range(3)}
    assert sizes == {0: {20.0}, 1: {30.0}, 2: {0.0}}
    best = batch.query_positions(table, best=True, band="J")
    assert [(best["scntr"] == i).sum() for i in range(3)] == [counts[0], 1, 1]


def test_positions_keep_one_row_per_position_and_image(batch, sim):
    ra, dec = overlap_point(sim)
    table = Table({"ra": [ra, ra], "dec": [dec, dec]})
    result = batch.query_positions(table, band="H")
    assert (result["scntr"] == 0).sum() == (result["scntr"] == 1).sum() >= 2


def test_positions_sexagesimal_and_designations(batch):
    table = Table(
        {"ra": ["04:21:59.43", "02h42m05.0s"], "dec": ["+19:32:06.3", "-00d00m48s"]}
    )
    result = batch.query_positions(table, best=True, band="J")
    assert len(result) == 2
    assert np.allclose(result["in_ra"], [65.497625, 40.520833], atol=1e-5)


def test_positions_empty_table(batch):
    with pytest.warns(NoResultsWarning):
        result = batch.query_positions(Table({"ra": np.zeros(0), "dec": np.zeros(0)}))
    assert len(result) == 0 and "dist_edge" in result.colnames


@pytest.mark.parametrize(
    ("table", "kwargs", "match"),
    [
        (Table({"ra": [10, 400], "dec": [0, 0]}), {}, r"row 1, column 'ra': 400"),
        (Table({"ra": [10, 10], "dec": [0, np.nan]}), {}, r"row 1, column 'dec'"),
        (
            Table({"ra": [10], "dec": [0], "best": ["maybe"]}),
            {},
            r"row 0, column 'best': 'maybe'",
        ),
        (Table({"ra": [10], "dec": [0], "size": [-5]}), {}, r"row 0, column 'size'"),
        (
            Table({"ra": [10], "dec": [0], "size": ["big"]}),
            {},
            r"row 0, column 'size': 'big'",
        ),
        (Table({"x": [10], "y": [0]}), {}, "ra"),
        (Table({"ra": [10], "dec": [0]}), {"best": "yes please"}, "best"),
        (Table({"ra": [10], "dec": [0]}), {"size": -3}, "size"),
    ],
)
def test_positions_bad_input(no_lookup_batch, table, kwargs, match):
    with pytest.raises(InvalidQueryError, match=match):
        no_lookup_batch.query_positions(table, **kwargs)


def test_positions_missing_file(no_lookup_batch, tmp_path):
    with pytest.raises(InputError, match=r"nothere\.tbl"):
        no_lookup_batch.query_positions(tmp_path / "nothere.tbl")


# ------------------------------------------------------------------- coadd_keys
def test_coadd_key_help_examples(batch, data_path):
    per_band = batch.query_coadd_keys(data_path / "help_coadd_keys_bands.tbl")
    succinct = batch.query_coadd_keys(data_path / "help_coadd_keys_all.tbl")
    assert len(per_band) == 3  # "will return 3 FITS images"
    assert list(per_band["band"]) == list(succinct["band"]) == ["J", "H", "K"]
    assert list(per_band["access_url"]) == list(succinct["access_url"])
    ids = batch.query_coadd_keys(data_path / "help_coadd_keys_ids.tbl")
    assert list(ids["coadd_key"]) == [1590591] * 3 + [1230312] * 3 + [1590590, 699387]
    assert list(ids["band"]) == ["J", "H", "K", "J", "H", "K", "J", "K"]
    assert list(ids["id"]) == ["1"] * 3 + ["59"] * 3 + ["3", "200"]
    assert list(ids["scntr"]) == [0, 0, 0, 1, 1, 1, 2, 3]


def test_coadd_keys_duplicates_are_dropped(batch):
    table = Table(
        {"coadd_key": [1590591, 1590591, 1590591, 699387], "band": ["J", "a", "k", "j"]}
    )
    result = batch.query_coadd_keys(table)
    assert list(zip(result["scntr"], result["band"], strict=True)) == [
        (0, "J"),
        (1, "H"),
        (1, "K"),
        (3, "J"),
    ]
    assert len(batch.query_coadd_keys(1590591, band="Ks")) == 1


@pytest.mark.parametrize("keys", [["12a"], [1.5], Table({"coadd_key": ["7", "x"]})])
def test_coadd_keys_must_be_integers(no_lookup_batch, keys):
    with pytest.raises(InputError):
        no_lookup_batch.query_coadd_keys(keys)


# ------------------------------------------------------------------------ scans
def test_one_scan(batch):
    scan = batch.query_scan("971031", "n", 96)
    assert len(scan) == 69 and len(set(scan["coadd_key"])) == 23
    assert list(scan["band"][:3]) == ["J", "H", "K"]
    assert list(scan["image"]) == sorted(scan["image"])
    one = batch.query_scan("971031", "North", 96, image=197)
    assert len(one) == 3 and set(one["image"]) == {197}
    assert len(batch.query_scan("971031", "N", 96, image=0, band="j")) == 23
    with pytest.warns(NoResultsWarning):
        batch.query_scan("971031", "s", 96)


def test_scan_help_examples(batch, data_path):
    six = batch.query_scans(data_path / "help_dhs_bands.tbl")
    same = batch.query_scans(data_path / "help_dhs_all_bands.tbl")
    assert len(six) == 6  # "will return 6 FITS images"
    assert list(six["access_url"]) == list(same["access_url"])
    assert list(six["image"]) == [197] * 3 + [256] * 3
    whole = [
        batch.query_scans(data_path / name)
        for name in (
            "help_dhs_scan.tbl",
            "help_dhs_scan_null.tbl",
            "help_dhs_scan_noimage.tbl",
        )
    ]
    assert [len(t) for t in whole] == [69, 69, 69]
    assert (
        list(whole[0]["access_url"])
        == list(whole[1]["access_url"])
        == list(whole[2]["access_url"])
    )


def test_scans_duplicates_are_dropped(batch):
    table = Table(
        {
            "xdate": ["971031", "971031", "971031"],
            "hem": ["n", "n", "N"],
            "scan": [96, 96, 96],
            "image": [197, 0, -1],
            "id": ["a", "b", "c"],
        }
    )
    result = batch.query_scans(table, band="J")
    assert len(result) == 23
    assert list(result["id"][result["image"] == 197]) == ["a"]
    assert set(result["id"]) == {"a", "b"}


def test_an_image_table_feeds_back_into_the_scans_and_keys_modes(batch, tmp_path):
    result = batch.query_scan("981121", "n", 69, image=256)
    path = tmp_path / "result.vot"
    result.write(path, format="votable")
    again = batch.query_scans(path)
    assert list(again["access_url"]) == list(result["access_url"])
    keys = batch.query_coadd_keys(path)
    assert list(keys["access_url"]) == list(result["access_url"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("97084", "n", 96), r"'97084'"),
        (("971332", "n", 96), r"'971332'"),
        (("abcdef", "n", 96), r"'abcdef'"),
        (("971031", "w", 96), r"'w'"),
        (("971031", "n", 0), r"0"),
        (("971031", "n", 1000), r"1000"),
        (("971031", "n", "12a"), r"'12a'"),
    ],
)
def test_scan_bad_input(no_lookup_batch, args, match):
    with pytest.raises(InputError, match=match):
        no_lookup_batch.query_scan(*args)


def test_scans_missing_column(no_lookup_batch):
    with pytest.raises(InputError, match="hem"):
        no_lookup_batch.query_scans(Table({"xdate": ["971031"], "scan": [96]}))


# --------------------------------------------------------------- common options
def test_quicklook_warns_and_loads(batch):
    with pytest.warns(QuicklookWarning, match="photometric"):
        table = batch.query_scan("971031", "n", 96, image=197, image_type="quicklook")
    assert set(table["image_type"]) == {"quicklook"}
    assert all("/ql/" in url for url in table["access_url"])
    plain = table[0].open()
    assert plain[0].data.dtype.kind == "i" and plain[0].data.shape == (1024, 512)
    stored = table[0].open(decompress=False)
    assert isinstance(stored[1], fits.CompImageHDU)


def test_queries_fetch_nothing_until_asked(sim, monkeypatch):
    made = []
    monkeypatch.setattr(
        type(sim), "_make_file", lambda self, rel, path: made.append(rel)
    )
    batch = TwoMassBatch(archive=sim)
    table = batch.query_region(M31, 1.0)
    assert len(table) > 0 and made == []


def test_local_archive_patch_gives_the_same_rows_as_the_sim(batch, tmp_path):
    patch = LocalArchive.simulate(tmp_path / "m31", M31, 0.2)
    local = TwoMassBatch(archive=tmp_path / "m31")
    assert local.archive.path == patch.path
    for intersect in ("overlaps", "enclosed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoResultsWarning)
            a = local.query_region(M31, 0.2, intersect=intersect)
            b = batch.query_region(M31, 0.2, intersect=intersect)
        columns = [
            "coadd_key",
            "band",
            "ordate",
            "hemisphere",
            "scanno",
            "image",
            "s_region",
        ]
        assert a[columns].as_array().tolist() == b[columns].as_array().tolist()
    assert (
        local.query_positions(Table({"ra": [10.6846], "dec": [41.2689]}), best=True)[
            "coadd_key"
        ][0]
        == batch.query_positions(Table({"ra": [10.6846], "dec": [41.2689]}), best=True)[
            "coadd_key"
        ][0]
    )


def test_archive_argument(sim, tmp_path):
    assert TwoMassBatch(archive="sim").archive is sim
    with pytest.raises(InvalidQueryError, match="archive="):
        TwoMassBatch(archive=tmp_path)
