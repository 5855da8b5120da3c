# Licensed under a 3-clause BSD style license - see LICENSE
"""The simulated survey, LocalArchive (create, open, simulate, from_table)."""

import io
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from twomass_vo.archives import LocalArchive
from twomass_vo.archives.local.archive import WCS_COLUMNS
from twomass_vo.archives.simulated.survey_layout import (
    IMAGES_PER_TILE,
    N_TILES,
    image_numbers,
    survey_layout,
)
from twomass_vo.exceptions import ArchiveError, InputError
from twomass_vo.geometry import Footprints, radec_to_xyz

FIXTURE_KEYWORDS = (
    "ORDATE",
    "DAYNUM",
    "FN_PRFX",
    "TYPE",
    "SCANNO",
    "SCANDIR",
    "ORIGIN",
    "CTYPE1",
    "CTYPE2",
    "CRPIX1",
    "CRPIX2",
    "CRVAL1",
    "CRVAL2",
    "CROTA2",
    "CDELT1",
    "CDELT2",
    "SKYVAL",
    "SKYSIG",
    "MAGZP",
    "SEESH",
    "TELNAME",
    "FILTER",
    "UT_DATE",
)


@pytest.fixture(scope="module")
def layout():
    return survey_layout()


def test_layout_has_the_real_survey_numbers(layout):
    n_sets = N_TILES * IMAGES_PER_TILE
    assert n_sets == 1_373_813
    assert len(layout["coadd_key"]) == n_sets
    assert len(np.unique(layout["coadd_key"])) == n_sets
    tiles = np.unique(
        np.char.add(
            np.char.add(layout["ordate"], layout["hemisphere"]),
            layout["scanno"].astype(str),
        )
    )
    assert len(tiles) == 59_731
    # 23 image sets per tile, numbered like the real files
    _, per_tile = np.unique(
        layout["ordate"].astype("U6").astype(object)
        + layout["hemisphere"]
        + layout["scanno"].astype(str),
        return_counts=True,
    )
    assert set(per_tile) == {23}
    assert set(np.unique(layout["image"])) == set(image_numbers())
    assert layout["scanno"].min() >= 1 and layout["scanno"].max() <= 999
    assert set(np.unique(layout["hemisphere"])) == {"n", "s"}
    assert (layout["naxis1"] == 512).all() and (layout["naxis2"] == 1024).all()
    assert np.abs(layout["crota2"]).max() <= 0.03


def test_layout_dates_are_real_calendar_nights(layout):
    dates = np.unique(layout["ordate"])
    years = dates.astype("U2").astype(int)
    assert set(years) <= {97, 98, 99, 0}
    from datetime import datetime

    for d in dates[:: max(1, len(dates) // 50)]:
        datetime.strptime(str(d), "%y%m%d")  # raises if not a real date
    # the north started 1997-06, the south 1998-03, as the real survey
    north = layout["ordate"][layout["hemisphere"] == "n"]
    assert (north.astype("U2") == "97").any()
    south = layout["ordate"][layout["hemisphere"] == "s"]
    assert not (south.astype("U2") == "97").any()


def test_layout_covers_the_whole_sky(layout):
    """Every random point of the sky lies inside at least one image (exactly)."""
    from twomass_vo.geometry.sky_index import ZoneIndex

    rng = np.random.default_rng(1)
    n = 20_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra = np.concatenate([ra, [0.0, 359.9999, 12.0, 200.0]])
    dec = np.concatenate([dec, [0.0, 3.0, 89.99, -89.99]])
    order = ZoneIndex.sort_order(layout["crval1"], layout["crval2"])
    index = ZoneIndex(layout["crval1"][order], layout["crval2"][order])
    point, item = index.query_pairs(ra, dec, 0.16)
    rows = order[item]
    wcs = [layout[c][rows] for c in WCS_COLUMNS]
    inside = Footprints.from_wcs(*wcs).contains(radec_to_xyz(ra, dec)[point])
    covered = np.zeros(len(ra), bool)
    covered[point[inside]] = True
    assert covered.all(), (ra[~covered], dec[~covered])


def test_help_page_examples_exist_in_the_simulation(layout):
    keys = set(layout["coadd_key"].tolist())
    assert {1590591, 1230312, 1590590, 699387} <= keys
    for date, hem, scan, image in [
        ("971031", "n", 96, 197),
        ("981121", "n", 69, 256),
        ("001022", "s", 62, 186),
    ]:
        sel = (layout["ordate"] == date) & (layout["hemisphere"] == hem)
        sel &= layout["scanno"] == scan
        assert sel.sum() == 23
        assert image in layout["image"][sel]


def test_sim_archive_opens_and_counts(sim):
    assert len(sim) == 1_373_813
    info = sim.describe()
    assert info["image_sets"] == 1_373_813
    assert sim.meta["synthetic_pixels"] is True


def test_sim_files_are_made_on_demand_deterministic_and_real_shaped(
    sim, tmp_path, data_path
):
    sets = sim.find_scans(["001022"], ["s"], [62], [186])
    assert len(sets) == 1
    refs = sim.files(sets, np.array([0]), "atlas")
    url = refs.access_url[0]
    assert url.startswith("file://") and url.endswith(
        "001022s/s062/image/ji0620186.fits"
    )
    path = sim.local_path(url)
    first = path.read_bytes()
    path.unlink()
    assert sim.local_path(url).read_bytes() == first  # deterministic
    with fits.open(path) as hdul:
        header, data = hdul[0].header, hdul[0].data
    assert data.shape == (1024, 512) and data.dtype.kind == "f"
    assert header["SYNTHETC"] is True
    assert "SYNTHETIC" in str(header["COMMENT"])
    real = fits.Header.fromtextfile(data_path / "aH_asky_001022s0620186.hdr")
    for keyword in FIXTURE_KEYWORDS:
        assert keyword in header, keyword
        assert type(header[keyword]) is type(real[keyword]), keyword
    assert header["ORDATE"] == "001022" and header["SCANNO"] == 62
    assert header["FILTER"] == "j" and header["TELNAME"] == "CTIO"
    assert header["DAYNUM"] == real["DAYNUM"]  # the same night numbering as 2MASS
    # the header WCS footprint is the index footprint
    from_header = Footprints.from_header(header)
    assert np.allclose(
        from_header.corners, Footprints(sets.corners).corners, atol=1e-12
    )
    assert refs.access_estsize[0] == -(-len(first) // 1000)


def test_quicklook_is_hcompressed_and_lossy(sim):
    sets = sim.find_scans(["971031"], ["n"], [96], [197])
    atlas = sim.local_path(sim.files(sets, np.array([1]), "atlas").access_url[0])
    quick = sim.local_path(sim.files(sets, np.array([1]), "quicklook").access_url[0])
    with fits.open(atlas) as a, fits.open(quick) as q:
        assert isinstance(q[1], fits.CompImageHDU)
        assert q[1].compression_type == "HCOMPRESS_1"
        assert q[1].header["BITPIX"] == 16
        difference = q[1].data.astype(float) - a[0].data
        assert 0 < np.abs(difference).max() < 100  # lossy, but the same image
    assert quick.stat().st_size < atlas.stat().st_size / 3


def test_quicklook_files_made_by_threads_at_once_are_intact(layout):
    # astropy's HCOMPRESS encoder is not thread-safe: without the simulated
    # archive's lock, Quicklook files made by parallel downloads were corrupt
    import concurrent.futures as cf

    from twomass_vo.archives.local.archive import WCS_COLUMNS
    from twomass_vo.archives.simulated.synthetic_fits import image_bytes

    names = ("coadd_key", "ordate", "hemisphere", "scanno", "image", "scandir")
    sets = [
        {name: layout[name][i] for name in (*names, *WCS_COLUMNS)}
        for i in range(0, 60_000, 10_000)
    ]
    alone = [image_bytes(fields, 1, "quicklook") for fields in sets]
    with cf.ThreadPoolExecutor(len(sets)) as pool:
        at_once = list(pool.map(lambda f: image_bytes(f, 1, "quicklook"), sets * 2))
    assert at_once == alone * 2
    with fits.open(io.BytesIO(at_once[0])) as hdul:
        assert hdul[1].data.shape == (1024, 512)


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    return LocalArchive.simulate(
        tmp_path_factory.mktemp("arch") / "patch", "10.68 41.27", 0.12
    )


def test_simulate_patch_writes_index_and_files(patch, sim):
    assert len(patch) > 0
    reopened = LocalArchive(patch.path)
    assert len(reopened) == len(patch)
    files = sorted(
        p.relative_to(patch.files_dir) for p in patch.files_dir.rglob("*.fits")
    )
    assert len(files) == 6 * len(patch)  # J, H, K x atlas, quicklook
    # a patch holds exactly the simulated sets overlapping the circle
    centre = radec_to_xyz(10.68, 41.27)
    sets = sim.find_circle(10.68, 41.27, 0.12)
    overlaps = Footprints(sets.corners).relate_circle(centre, np.radians(0.12))[0]
    assert sorted(sets.coadd_key[overlaps]) == sorted(patch.columns["coadd_key"])
    # and its files are the simulated survey's, byte for byte
    rel = str(files[0])
    assert (patch.files_dir / rel).read_bytes() == sim.local_path(
        sim.files_uri + rel
    ).read_bytes()


def test_open_rejects_what_is_not_an_archive(tmp_path):
    with pytest.raises(ArchiveError, match="not a twomass_vo LocalArchive"):
        LocalArchive(tmp_path)
    (tmp_path / "archive.json").write_text('{"format": "other"}')
    with pytest.raises(ArchiveError, match="unknown format"):
        LocalArchive(tmp_path)


def test_create_refuses_to_overwrite_an_archive(patch, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(patch.path, copy)
    sets = {
        c: np.asarray(patch.columns[c])
        for c in patch.columns
        if c not in ("key_order", "dhs_order", "dhs_sorted", "s_region")
    }
    with pytest.raises(ArchiveError, match="already holds an archive"):
        LocalArchive.create(copy, sets)


def _sia_v1_rows(sim, key):
    """An IRSA SIA v1 style response (one row per file + text/html rows)."""
    sets = sim.find_coadd_keys([key])
    col = sim.columns
    row = sets.ref[0]
    rows = []
    for band in "JHK":
        common = dict(
            date=str(sets.ordate[0]),
            hem=str(sets.hemisphere[0]),
            scan=int(sets.scanno[0]),
            image=int(sets.image[0]),
            coadd_key=key,
            band=band,
            crval=[float(col["crval1"][row]), float(col["crval2"][row])],
            crpix=[256.5, 512.5],
            naxis=[512, 1024],
            scale=[0.0002777777845, 0.0002777777845],
            crota2=float(col["crota2"][row]),
        )
        rows.append(
            {
                **common,
                "download": f"https://example.org/{band}.fits",
                "format": "image/fits",
            }
        )
        rows.append(
            {
                **common,
                "download": f"https://example.org/{band}.html",
                "format": "text/html",
            }
        )
    return Table(rows=rows)


def test_from_table_sia_v1_columns(sim):
    table = _sia_v1_rows(sim, 1590591)
    archive = LocalArchive.from_table(table)
    assert len(archive) == 1
    sets = archive.find_coadd_keys([1590591])
    expected = sim.find_coadd_keys([1590591])
    assert np.allclose(sets.corners, expected.corners, atol=1e-12)
    refs = archive.files(sets.take([0, 0, 0]), np.array([0, 1, 2]), "atlas")
    assert list(refs.access_url) == [f"https://example.org/{b}.fits" for b in "JHK"]
    assert archive.local_path(refs.access_url[0]) is None  # not a local store


def test_from_table_flattened_columns_and_path(sim, tmp_path):
    table = _sia_v1_rows(sim, 699387)
    for name in ("crval", "crpix", "naxis", "scale"):
        table[f"{name}1"] = table[name][:, 0]
        table[f"{name}2"] = table[name][:, 1]
        del table[name]
    table.rename_column("date", "XDATE")
    archive = LocalArchive.from_table(table, path=tmp_path / "flat")
    assert LocalArchive(tmp_path / "flat").columns["coadd_key"][0] == 699387
    assert (
        len(
            archive.find_scans(
                [table["XDATE"][0]],
                ["n" if table["hem"][0] == "n" else "s"],
                [table["scan"][0]],
                [0],
            )
        )
        == 1
    )


def test_from_table_errors_name_row_column_value(sim):
    table = _sia_v1_rows(sim, 1590591)
    del table["crota2"]
    with pytest.raises(InputError, match="'crota2'"):
        LocalArchive.from_table(table)
    table = _sia_v1_rows(sim, 1590591)
    table["hem"] = table["hem"].astype("U5")
    table["hem"][2] = "west"
    with pytest.raises(InputError, match=r"row 1, column 'hem': 'west'"):
        LocalArchive.from_table(table)
