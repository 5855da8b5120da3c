# Licensed under a 3-clause BSD style license - see LICENSE
"""The fast paths of local archives give exactly the rows of the straightforward path.

The oracle here is the straightforward route the package took before the
index stored its footprint geometry (commit 38d0bea): footprints built from
the WCS columns for every candidate, containment and edge distance on them,
the best image by sorting, rows ordered by sorting, URLs and ``s_region``
assembled as unicode strings. Every column of `TwoMassBatch.query_positions`
must equal it value for value (floats bit for bit) on the simulated survey.
Also: stored geometry equals recomputed geometry bit for bit, archives of
index format 1 still open and answer the same, an old simulated index is
rebuilt, and tables with one-value columns write every format and open.
"""

import json
import shutil

import numpy as np
import pytest
from astropy.io.ascii import convert_numpy
from astropy.table import Table

from twomass_vo import ImageTable, TwoMassBatch
from twomass_vo.archives import LocalArchive, SimulatedArchive
from twomass_vo.archives.base import BANDS
from twomass_vo.archives.local.archive import (
    FORMAT,
    GEOMETRY_COLUMNS,
    WCS_COLUMNS,
    relative_paths,
)
from twomass_vo.geometry import (
    Footprints,
    contains_distance,
    format_s_region,
    radec_to_xyz,
    sin_corners,
)
from twomass_vo.geometry.sky_index import ZoneIndex
from twomass_vo.planner import best_flags


def oracle_positions(archive, ra, dec, *, best, bands="JHK", image_type="atlas"):
    """The rows of ``query_positions`` by the straightforward route (38d0bea)."""
    col = archive.columns
    points, rows = archive.zones.query_pairs(ra, dec, archive.search_radius)
    wcs = [np.asarray(col[c][rows]) for c in WCS_COLUMNS]
    corners = sin_corners(*wcs) if len(rows) else np.zeros((0, 4, 3))
    footprints = Footprints(corners)
    xyz = radec_to_xyz(ra, dec)[points]
    inside = footprints.contains(xyz)
    distance = footprints.edge_distance(xyz)[inside]
    rows, points, corners = rows[inside], points[inside], corners[inside]
    key = np.asarray(col["coadd_key"][rows], np.int64)
    order = np.lexsort((key, -distance, points))
    first = np.ones(len(order), bool)
    first[1:] = points[order][1:] != points[order][:-1]
    is_best = np.zeros(len(order), bool)
    is_best[order[first]] = True
    keep = is_best | (not best)
    rows, points, corners, key, distance, is_best = (
        a[keep] for a in (rows, points, corners, key, distance, is_best)
    )
    wanted = np.array([b in bands for b in BANDS])
    sel, band = np.nonzero(np.asarray(col["has_band"][rows], bool) & wanted)
    order = np.lexsort((band, key[sel], -distance[sel], points[sel]))
    sel, band = sel[order], band[order]
    r = rows[sel]
    ordate = col["ordate"][r].astype("U6")
    hemisphere = col["hemisphere"][r].astype("U1")
    scanno = np.asarray(col["scanno"][r], np.int64)
    image = np.asarray(col["image"][r], np.int64)
    add = np.char.add
    scan3 = np.char.zfill(scanno.astype("U3"), 3)
    folder, kind = ("/image/", "i") if image_type == "atlas" else ("/ql/", "q")
    path = add(
        add(
            add(add(add(add(ordate, hemisphere), "/s"), scan3), folder),
            add(add(np.array(["j", "h", "k"])[band], kind), scan3),
        ),
        add(np.char.zfill(image.astype("U4"), 4), ".fits"),
    )
    return {
        "scntr": points[sel],
        "coadd_key": key[sel],
        "ordate": ordate,
        "hemisphere": hemisphere,
        "scanno": scanno,
        "image": image,
        "band": np.array(BANDS)[band],
        "image_type": np.full(len(sel), image_type),
        "ra": np.asarray(col["crval1"][r], float),
        "dec": np.asarray(col["crval2"][r], float),
        "s_region": format_s_region(corners[sel]) if len(sel) else np.zeros(0, "U1"),
        "dist_edge": np.degrees(distance[sel]) * 3600,
        "best": is_best[sel],
        "access_url": add(archive.files_uri, path),
        "access_format": np.full(len(sel), "image/fits"),
        "access_estsize": np.full(
            len(sel), int(archive.meta.get(f"estsize_{image_type}", -1))
        ),
        "in_ra": np.asarray(ra, float)[points[sel]],
        "in_dec": np.asarray(dec, float)[points[sel]],
    }


def sky_positions(n, seed):
    """Random positions over the whole sky, plus the poles and the RA seam."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra = np.concatenate([ra, [0.0, 359.9999, 0.02, 180.0, 45.0, 10.684708]])
    dec = np.concatenate([dec, [0.0, -30.0, 89.99, -89.99, 90.0, 41.268750]])
    return ra, dec


def assert_same_rows(table, expected):
    assert len(table) == len(expected["scntr"])
    for name, values in expected.items():
        got = np.asarray(table[name])
        if got.dtype.kind == "S":
            got = got.astype("U")
        if values.dtype.kind == "f":
            # bit for bit: same float64 bytes
            assert got.dtype == np.float64, name
            assert np.array_equal(got.view(np.int64), values.view(np.int64)), name
        else:
            assert np.array_equal(got, values), name


@pytest.mark.parametrize(
    ("seed", "best", "bands", "image_type"),
    [
        (1, True, "JHK", "atlas"),
        (2, False, "JHK", "atlas"),
        (3, True, "H", "quicklook"),
        (4, False, "K", "atlas"),
    ],
)
def test_positions_equal_the_straightforward_path(sim, seed, best, bands, image_type):
    import warnings

    from twomass_vo.exceptions import QuicklookWarning

    ra, dec = sky_positions(3000, seed=seed)
    batch = TwoMassBatch(archive=sim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuicklookWarning)
        table = batch.query_positions(
            Table({"ra": ra, "dec": dec}),
            best=best,
            band=bands if bands != "JHK" else "all",
            image_type=image_type,
        )
    expected = oracle_positions(
        sim, ra, dec, best=best, bands=bands, image_type=image_type
    )
    assert_same_rows(table, expected)
    assert len(table) > 2000
    # the small chunks of a large query (several look-ups, several table chunks)
    if best and bands == "JHK":
        from twomass_vo import conf, planner

        with conf.set_temp("chunk_size", 700):
            old = planner.FILES_CHUNK
            planner.FILES_CHUNK = 1000
            try:
                again = batch.query_positions(Table({"ra": ra, "dec": dec}), best=True)
            finally:
                planner.FILES_CHUNK = old
        assert_same_rows(again, expected)


def test_stored_geometry_equals_recomputed_geometry(sim):
    assert sim.has_geometry and sim.meta["format"] == FORMAT
    rng = np.random.default_rng(5)
    rows = np.concatenate([rng.choice(len(sim), 20_000), [0, len(sim) - 1]])
    wcs = [np.asarray(sim.columns[c][rows]) for c in WCS_COLUMNS]
    corners = sin_corners(*wcs)
    fresh = Footprints(corners)
    stored = sim.footprints(rows)
    for name in ("corners", "normals", "centers", "radii"):
        assert np.array_equal(getattr(stored, name), getattr(fresh, name)), name
    sets = sim._sets(rows)
    assert np.array_equal(sets.corners, corners)
    xyz = radec_to_xyz(wcs[0] + 0.01, wcs[1])
    inside, distance = contains_distance(stored.normals, xyz)
    assert np.array_equal(inside, fresh.contains(xyz))
    assert np.array_equal(distance, fresh.edge_distance(xyz))
    assert np.array_equal(
        np.asarray(sim.columns["s_region"][rows]).astype("U"), format_s_region(corners)
    )
    centres = ZoneIndex.item_vectors(wcs[0], wcs[1])
    assert np.array_equal(np.asarray(sim.columns["center_xyz"][rows]), centres)


def reference_best(point, distance, key):
    """The best flags by sorting (the route before the grouped one)."""
    order = np.lexsort((key, -distance, point))
    first = np.ones(len(point), bool)
    first[1:] = point[order][1:] != point[order][:-1]
    best = np.zeros(len(point), bool)
    best[order[first]] = True
    return best


def test_best_flags_grouped_path_equals_the_sort():
    rng = np.random.default_rng(11)
    for _ in range(50):
        n = int(rng.integers(1, 400))
        point = np.sort(rng.integers(0, 60, n))
        # ties in distance (and repeated keys) must go the same way
        distance = rng.choice([0.0, -0.0, 1e-9, 2e-9, 0.5], n)
        key = rng.integers(0, 8, n)
        assert np.array_equal(
            best_flags(point, distance, key), reference_best(point, distance, key)
        )
        # unsorted points and NaN distances take the general route
        shuffled = rng.permutation(n)
        distance[rng.random(n) < 0.1] = np.nan
        args = (point[shuffled], distance[shuffled], key[shuffled])
        assert np.array_equal(best_flags(*args), reference_best(*args))
        args = (point, distance, key)
        assert np.array_equal(best_flags(*args), reference_best(*args))


def test_relative_paths_fast_route_equals_string_route():
    rng = np.random.default_rng(3)
    n = 500
    ordate = np.array([f"{d:06d}" for d in rng.integers(0, 10**6, n)])
    hemisphere = rng.choice(["n", "s"], n)
    scanno = rng.integers(0, 1000, n)
    image = rng.integers(0, 10000, n)
    band = rng.integers(0, 3, n)
    for kind in ("atlas", "quicklook"):
        fast = relative_paths(ordate, hemisphere, scanno, image, band, kind)
        add = np.char.add
        scan3 = np.char.zfill(scanno.astype("U3"), 3)
        folder, letter = ("/image/", "i") if kind == "atlas" else ("/ql/", "q")
        slow = add(
            add(add(add(add(ordate, hemisphere), "/s"), scan3), folder),
            add(
                add(add(np.array(["j", "h", "k"])[band], letter), scan3),
                add(np.char.zfill(image.astype("U4"), 4), ".fits"),
            ),
        )
        assert fast.dtype.kind == "U" and np.array_equal(fast, slow)
        as_bytes = relative_paths(
            ordate.astype("S"), hemisphere.astype("S"), scanno, image, band, kind
        )
        assert np.array_equal(as_bytes, slow)
    # outside the fixed-width layout (scan 1000): the string route, same as ever
    odd = relative_paths(["001022"], ["s"], [1234], [5], [0], "atlas")
    assert odd[0] == "001022s/s123/image/ji1230005.fits"


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory, sim):
    """A LocalArchive folder (format 2) of the sets around M31."""
    sets = sim.find_circle(10.68, 41.27, 1.5)
    rows = sets.ref
    columns = {
        c: np.asarray(sim.columns[c][rows])
        for c in (
            "coadd_key",
            "ordate",
            "hemisphere",
            "scanno",
            "image",
            *WCS_COLUMNS,
        )
    }
    return LocalArchive.create(tmp_path_factory.mktemp("m31") / "archive", columns)


def downgrade_to_format_1(path):
    """Make a folder look as the code before index format 2 wrote it."""
    for column in GEOMETRY_COLUMNS:
        (path / "index" / f"{column}.npy").unlink()
    meta = json.loads((path / "archive.json").read_text())
    meta["format"] = "twomass_vo-local/1"
    (path / "archive.json").write_text(json.dumps(meta))


def test_format_1_folders_open_and_answer_the_same(small_archive, tmp_path):
    old_path = tmp_path / "old"
    shutil.copytree(small_archive.path, old_path)
    downgrade_to_format_1(old_path)
    old = LocalArchive(old_path)
    assert not old.has_geometry and small_archive.has_geometry
    rng = np.random.default_rng(2)
    ra = 10.68 + rng.uniform(-1, 1, 800)
    dec = 41.27 + rng.uniform(-1, 1, 800)
    for best in (True, False):
        new_rows = TwoMassBatch(archive=small_archive).query_positions(
            Table({"ra": ra, "dec": dec}), best=best
        )
        old_rows = TwoMassBatch(archive=old).query_positions(
            Table({"ra": ra, "dec": dec}), best=best
        )
        expected = oracle_positions(old, ra, dec, best=best)
        expected["access_url"] = np.char.replace(
            expected["access_url"], old.files_uri, small_archive.files_uri
        )
        assert_same_rows(new_rows, expected)
        for name in ("coadd_key", "s_region", "dist_edge", "best", "band"):
            assert np.array_equal(new_rows[name], old_rows[name]), name
    # around the centre of an image set, so that every relation has answers
    centre = f"{old.columns['crval1'][0]} {old.columns['crval2'][0]}"
    for intersect, diameter in (("overlaps", 0.5), ("covers", 0.05), ("enclosed", 1)):
        a = TwoMassBatch(archive=small_archive).query_region(
            centre, diameter, intersect=intersect
        )
        b = TwoMassBatch(archive=old).query_region(
            centre, diameter, intersect=intersect
        )
        assert len(a) > 0 and np.array_equal(a["coadd_key"], b["coadd_key"])
        assert np.array_equal(a["s_region"], b["s_region"])


def test_old_simulated_index_is_rebuilt(monkeypatch, tmp_path):
    from twomass_vo.archives import simulated

    full = simulated.survey_layout

    def small_layout():
        layout = full()
        near = np.abs(layout["crval2"] - 41.0) < 2
        return {name: values[near] for name, values in layout.items()}

    monkeypatch.setattr(simulated, "survey_layout", small_layout)
    path = tmp_path / "sim"
    SimulatedArchive.build(path)
    (path / "files" / "kept.txt").write_text("made on demand before")
    downgrade_to_format_1(path)
    archive = SimulatedArchive(path)
    assert archive.has_geometry and archive.meta["format"] == FORMAT
    assert (path / "files" / "kept.txt").read_text() == "made on demand before"
    # no leftovers (but the build lock file next to the folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".sim.lock", "sim"]
    # same format, a geometry file missing (an interrupted copy): rebuilt too
    (path / "index" / "normals.npy").unlink()
    assert SimulatedArchive(path).has_geometry
    # a folder that is not an index at all is an error, not rebuilt
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "archive.json").write_text(json.dumps({"format": "x/9"}))
    with pytest.raises(Exception, match=r"unknown format 'x/9'"):
        LocalArchive(tmp_path / "junk")


def test_one_value_columns_cost_nothing_and_write_every_format(sim, tmp_path):
    batch = TwoMassBatch(archive=sim)
    ra, dec = sky_positions(200, seed=4)
    table = batch.query_positions(Table({"ra": ra, "dec": dec}), best=True)
    for name in ("image_type", "access_format", "access_estsize", "cutout_url"):
        assert table[name].strides == (0,), name  # one value, no memory per row
    for name in ("ordate", "hemisphere", "band", "s_region", "access_url"):
        assert table[name].dtype.kind == "S", name  # ASCII bytes, read out as str
    row = table[0]
    assert isinstance(row["image_type"], str) and row["image_type"] == "atlas"
    assert isinstance(row["access_url"], str) and row["access_url"].startswith("file:")
    assert set(table["band"]) == {"J", "H", "K"}
    expected = {
        name: [str(v) for v in table[name]]
        for name in ("ordate", "hemisphere", "band", "image_type", "s_region")
    }
    for fmt, suffix in (
        ("votable", ".xml"),
        ("ascii.ipac", ".tbl"),
        ("ascii.csv", ".csv"),
        ("ascii.ecsv", ".ecsv"),
        ("fits", ".fits"),
    ):
        path = tmp_path / f"t{suffix}"
        plain = table.copy(copy_data=False)  # shares the one-value views
        assert plain["image_type"].strides == (0,)
        plain.meta = {}  # the IPAC writer warns about free-form metadata
        plain.write(path, format=fmt)
        # CSV has no types: read every column as text
        text = {"converters": {"*": [convert_numpy(str)]}} if fmt == "ascii.csv" else {}
        back = Table.read(path, format=fmt, **text)
        for name, values in expected.items():
            assert [str(v) for v in back[name]] == values, (fmt, name)
        assert [int(v) for v in back["access_estsize"]] == list(table["access_estsize"])
    assert table[0].open()[0].header["NAXIS"] == 2
    # slices, sorts and copies hold ordinary arrays
    part = table[table["band"] == "J"]
    assert part["image_type"].strides != (0,) and set(part["image_type"]) == {"atlas"}
    copy = table.copy()
    copy["image_type"][0] = "quicklook"
    assert copy["image_type"][0] == "quicklook" and table["image_type"][0] == "atlas"
    table.sort("coadd_key")
    assert set(table["image_type"]) == {"atlas"}
    assert isinstance(table, ImageTable)


def test_archives_pickle_by_folder(sim, small_archive):
    import pickle

    for archive in (sim, small_archive):
        again = pickle.loads(pickle.dumps(archive))
        assert type(again) is type(archive) and len(again) == len(archive)
        assert again.path == archive.path and again.has_geometry
        rows = np.arange(0, len(archive), max(1, len(archive) // 50))
        assert np.array_equal(
            again.footprints(rows).normals, archive.footprints(rows).normals
        )
    in_memory = LocalArchive.from_table(
        Table(
            {
                "coadd_key": [1],
                "ordate": ["001022"],
                "hemisphere": ["s"],
                "scanno": [62],
                "image": [186],
                "band": ["J"],
                "crval1": [10.0],
                "crval2": [41.0],
                "crpix1": [256.5],
                "crpix2": [512.5],
                "naxis1": [512],
                "naxis2": [1024],
                "scale1": [0.0002777778],
                "scale2": [0.0002777778],
                "crota2": [0.0],
                "download": ["https://example.org/ji0620186.fits"],
                "format": ["image/fits"],
            }
        )
    )
    assert len(pickle.loads(pickle.dumps(in_memory))) == 1


def test_contain_points_with_and_without_corners(sim, small_archive, tmp_path):
    ra, dec = sky_positions(2000, seed=9)
    full, distance = sim.contain_points(ra, dec)
    lean, same_distance = sim.contain_points(ra, dec, with_corners=False)
    assert lean.corners is None and full.corners.shape == (len(full), 4, 3)
    assert np.array_equal(distance, same_distance)
    assert np.array_equal(full.ref, lean.ref)
    assert np.array_equal(full.query_index, lean.query_index)
    # the generic route (format 1: footprints from the corners) agrees
    old_path = tmp_path / "old"
    shutil.copytree(small_archive.path, old_path)
    downgrade_to_format_1(old_path)
    rng = np.random.default_rng(8)
    ra, dec = 10.68 + rng.uniform(-1, 1, 500), 41.27 + rng.uniform(-1, 1, 500)
    for with_corners in (True, False):
        a, da = small_archive.contain_points(ra, dec, with_corners=with_corners)
        b, db = LocalArchive(old_path).contain_points(
            ra, dec, with_corners=with_corners
        )
        assert np.array_equal(a.coadd_key, b.coadd_key)
        assert np.array_equal(a.query_index, b.query_index)
        assert np.array_equal(da, db)
        assert (a.corners is None) == (b.corners is None) == (not with_corners)
