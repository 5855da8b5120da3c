# Licensed under a 3-clause BSD style license - see LICENSE
"""The contract is whole: an archive written in one file answers every mode.

``docs/development/table_archive.py`` (shown in ``docs/development/new_archive.rst``)
implements `~twomass_vo.archives.Archive` over a plain astropy Table. It is
loaded here by its path and filled with image sets of the simulated archive:
each mode, best image and cutouts included, gives the rows the simulated
archive gives for the same sets.
"""

import ast
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.table import MaskedColumn, Table

from twomass_vo import TwoMassBatch
from twomass_vo.archives import ImageSets
from twomass_vo.exceptions import ArchiveError, QuicklookWarning

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "docs" / "development" / "table_archive.py"
)
CENTRE = (150.1, 2.2)


def _example():
    spec = importlib.util.spec_from_file_location("table_archive", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_uses_the_contract_and_the_geometry_only():
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    package = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module.startswith("twomass_vo")
    }
    assert package == {"twomass_vo.archives.base", "twomass_vo.geometry"}


@pytest.fixture(scope="module")
def sets(sim):
    """Sets around CENTRE plus two whole scans crossing it, each once."""
    around = sim.find_circle(*CENTRE, 1.0)
    scan_id = np.char.add(
        np.char.add(around.ordate, around.hemisphere), around.scanno.astype("U3")
    )
    chosen = around.take(np.unique(scan_id, return_index=True)[1][:2])
    whole = sim.find_scans(chosen.ordate, chosen.hemisphere, chosen.scanno, [0, 0])
    found = ImageSets.concatenate([around, whole])
    return found.take(np.unique(found.coadd_key, return_index=True)[1])


@pytest.fixture(scope="module")
def table_archive(sim, sets):
    return _example().TableArchive.from_archive(sim, sets, name="cosmos")


@pytest.fixture(scope="module")
def both(sim, table_archive):
    return TwoMassBatch(archive=sim), TwoMassBatch(archive=table_archive)


_EXACT = (
    "scntr",
    "id",
    "in_ra",
    "in_dec",
    "coadd_key",
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    "band",
    "image_type",
    "ra",
    "dec",
    "best",
    "s_region",
    "access_url",
    "cutout_size",
)


def _same_rows(ours, theirs):
    assert len(ours) > 0
    assert len(ours) == len(theirs)
    for name in _EXACT:
        np.testing.assert_array_equal(
            np.asarray(ours[name]), np.asarray(theirs[name]), err_msg=name
        )
    # the corners went through degrees and back: the same to a micro-arcsecond
    np.testing.assert_allclose(
        np.asarray(ours["dist_edge"], float),
        np.asarray(theirs["dist_edge"], float),
        atol=1e-6,
        equal_nan=True,
    )
    assert ours.meta["archive"] == "cosmos"


@pytest.mark.parametrize(
    ("intersect", "diameter"), [("overlaps", 0.4), ("covers", 0.05), ("enclosed", 0.8)]
)
def test_region(both, sets, intersect, diameter):
    # near the middle of an image set: some image covers a small circle there
    nearest = np.argmin(np.hypot(sets.ra - CENTRE[0], sets.dec - CENTRE[1]))
    centre = f"{sets.ra[nearest] + 0.01} {sets.dec[nearest]}"
    sim, ours = (b.query_region(centre, diameter, intersect=intersect) for b in both)
    _same_rows(ours, sim)


def _positions(n=40, seed=3):
    rng = np.random.default_rng(seed)
    return Table(
        {
            "ra": CENTRE[0] + rng.uniform(-0.3, 0.3, n),
            "dec": CENTRE[1] + rng.uniform(-0.3, 0.3, n),
            "id": [f"p{i}" for i in range(n)],
        }
    )


@pytest.mark.parametrize("best", [False, True])
def test_positions_and_the_best_image(both, best):
    table = _positions()
    sim, ours = (b.query_positions(table, best=best, band="J") for b in both)
    _same_rows(ours, sim)
    if best:
        assert len(np.unique(ours["scntr"])) == len(ours)
    else:
        assert len(ours) > len(table)  # positions in two sets: both listed
        assert not np.asarray(ours["best"]).all()


def test_cutouts_local_and_by_template(sim, both, table_archive):
    table = _positions(4, seed=8)
    theirs, ours = (b.query_positions(table, size=20, band="H") for b in both)
    _same_rows(ours, theirs)
    assert set(np.asarray(ours["cutout_url"]).astype(str)) == {""}
    sim.local_path(ours[0]["access_url"])  # the simulated store makes the file
    mine, reference = ours[0].cutout(), theirs[0].cutout()
    np.testing.assert_array_equal(mine[0].data, reference[0].data)
    assert mine[0].data.shape[0] < 30
    template = "{access_url}?center={ra},{dec}&size={size}arcsec"
    served = _example().TableArchive(table_archive.table, cutout_template=template)
    assert served.makes_cutouts and not table_archive.makes_cutouts
    rows = TwoMassBatch(archive=served).query_positions(table, size=20, band="H")
    first = rows[0]
    assert first["cutout_url"] == (
        f"{first['access_url']}?center={first['in_ra']},{first['in_dec']}&size=20arcsec"
    )


def test_coadd_keys(both, sets):
    keys = [int(k) for k in sets.coadd_key[::7]] + [1, int(sets.coadd_key[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # key 1: not in either archive
        sim, ours = (b.query_coadd_keys(keys) for b in both)
    _same_rows(ours, sim)


def _whole_scan(sim, sets):
    """The sets of a scan the table holds whole (the fixture added two)."""
    scan_id = np.char.add(
        np.char.add(sets.ordate, sets.hemisphere), sets.scanno.astype("U3")
    )
    for value in np.unique(scan_id):
        held = sets.take(np.flatnonzero(scan_id == value))
        every = sim.find_scans(
            held.ordate[:1], held.hemisphere[:1], held.scanno[:1], [0]
        )
        if len(held) == len(every) > 10:
            return held
    raise AssertionError("no whole scan in the table")


def test_one_scan_and_a_list_of_scans(sim, both, sets):
    whole = _whole_scan(sim, sets)
    date, hem = str(whole.ordate[0]), str(whole.hemisphere[0])
    scan = int(whole.scanno[0])
    sim, ours = (b.query_scan(date, hem, scan) for b in both)
    _same_rows(ours, sim)
    assert len(np.unique(ours["coadd_key"])) >= 20
    image = int(whole.image[3])
    sim, ours = (b.query_scan(date, hem, scan, image=image) for b in both)
    _same_rows(ours, sim)
    listed = Table(
        {
            "xdate": [date, date, str(whole.ordate[-1])],
            "hem": [hem, hem, str(whole.hemisphere[-1])],
            "scan": [scan, scan, int(whole.scanno[-1])],
            "image": [0, int(whole.image[2]), 0],
            "band": ["J", "a", "k"],
        }
    )
    sim, ours = (b.query_scans(listed) for b in both)
    _same_rows(ours, sim)


def test_sources_by_coadd_key_and_by_scan(both, sets):
    table = _positions(12, seed=5)
    best = both[0].query_positions(table, best=True, band="J")
    keys = [int(best["coadd_key"][best["scntr"] == i][0]) for i in range(len(table))]
    sources = Table(
        {
            "ra": table["ra"],
            "dec": table["dec"],
            "designation": table["id"],
            "coadd_key": MaskedColumn(keys, mask=[i % 2 == 0 for i in range(12)]),
            "xdate": [str(sets.ordate[0])] * len(table),
            "hemis": [str(sets.hemisphere[0])] * len(table),
            "scan": [int(sets.scanno[0])] * len(table),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows outside their scan: not found
        sim, ours = (b.query_sources(sources) for b in both)
    _same_rows(ours, sim)
    assert len(ours.not_found) == len(sim.not_found)


def test_quicklook_and_its_refusal(both, table_archive):
    with pytest.warns(QuicklookWarning):
        sim, ours = (
            b.query_region(f"{CENTRE[0]} {CENTRE[1]}", 0.3, image_type="quicklook")
            for b in both
        )
    _same_rows(ours, sim)
    atlas_only = table_archive.table.copy()
    atlas_only.remove_columns(["ql_url_j", "ql_url_h", "ql_url_k"])
    archive = _example().TableArchive(atlas_only)
    assert not archive.serves_quicklook
    with pytest.warns(QuicklookWarning), pytest.raises(ArchiveError, match="no Quick"):
        TwoMassBatch(archive=archive).query_coadd_keys([1], image_type="quicklook")


def test_the_defaults_of_the_contract(both, table_archive):
    ours = both[1]
    centre = f"{CENTRE[0]} {CENTRE[1]}"
    assert ours.query_region(centre, 0.2, get_query_payload=True) == []
    assert ours.query_positions(_positions(3), get_query_payload=True) == []
    assert table_archive.route_info() == {}
    info = table_archive.describe(check=True)
    assert info["kind"] == "TableArchive"
    assert info["image_sets"] == len(table_archive.table)
    with table_archive as same:
        assert same is table_archive
    assert "cosmos" in repr(table_archive)
