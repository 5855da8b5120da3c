# Licensed under a 3-clause BSD style license - see LICENSE
"""`ImageTable`: its schema, its rows and their lazy loaders (open, cutout, download).

The cutouts are checked with astropy WCS on the files' own headers; downloads
byte for byte against the archive's files.
"""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table
from astropy.wcs import WCS
from regions import PolygonSkyRegion

from twomass_vo import ImageTable
from twomass_vo.exceptions import NoResultsWarning, QuicklookWarning
from twomass_vo.results.image_table import COLUMNS, ImageRow, empty_image_table
from twomass_vo.retrieval.loaders import file_name_for

NAMES = [c[0] for c in COLUMNS]
OBSCORE = {
    "access_url": "obscore:Access.Reference",
    "access_format": "obscore:Access.Format",
    "access_estsize": "obscore:Access.Size",
    "s_region": "obscore:Char.SpatialAxis.Coverage.Support.Area",
    "ra": "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
    "dec": "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
}
M31 = "00h42m44.3s +41d16m08s"


@pytest.fixture
def scan_table(batch):
    """The J, H and K Atlas images of 971031 n 96, image 197 (a fresh table)."""
    return batch.query_scan("971031", "n", 96, image=197)


@pytest.fixture
def positions_table(batch):
    """The best J image of a position 100" from the centre of 971031 n 96 #197."""
    table = batch.query_scan("971031", "n", 96, image=197, band="J")
    centre = SkyCoord(table["ra"][0], table["dec"][0], unit="deg")
    target = centre.directional_offset_by(0 * u.deg, 100 * u.arcsec)
    positions = Table({"ra": [target.ra.deg], "dec": [target.dec.deg]})
    return batch.query_positions(positions, best=True, band="J")


def quicklook_table(batch):
    with pytest.warns(QuicklookWarning):
        return batch.query_scan(
            "971031", "n", 96, image=197, band="H", image_type="quicklook"
        )


def files_under(folder):
    return sorted(p.relative_to(folder) for p in Path(folder).rglob("*") if p.is_file())


# ------------------------------------------------------------------------ schema
def check_schema(table):
    assert table.colnames == NAMES
    for name, _, unit, ucd, description in COLUMNS:
        column = table[name]
        assert column.meta["ucd"] == ucd
        assert column.description == description
        if unit is None:
            assert column.unit is None
        else:
            assert column.unit == u.Unit(unit)
        assert column.meta.get("utype") == OBSCORE.get(name)


def test_schema(scan_table):
    check_schema(scan_table)
    assert scan_table["best"].dtype == bool
    assert scan_table["scntr"].dtype.kind == scan_table["coadd_key"].dtype.kind == "i"
    assert scan_table["ra"].dtype == scan_table["dist_edge"].dtype == np.float64


def test_votable_round_trip_keeps_units_and_ucds(scan_table, tmp_path):
    path = tmp_path / "images.vot"
    scan_table.write(path, format="votable")
    fields = {f.name: f for f in parse(path).get_first_table().fields}
    assert list(fields) == NAMES
    for name, _, unit, ucd, _ in COLUMNS:
        assert fields[name].ucd == ucd
        assert fields[name].utype == OBSCORE.get(name)
        assert (fields[name].unit is None) == (unit is None)
    back = ImageTable.read(path, format="votable")
    for name, _, unit, ucd, _ in COLUMNS:
        assert back[name].meta["ucd"] == ucd
        assert back[name].unit == (None if unit is None else u.Unit(unit))
    for name in ("access_url", "s_region", "band", "ordate"):
        assert [str(v) for v in back[name]] == [str(v) for v in scan_table[name]]
    assert np.array_equal(back["ra"], scan_table["ra"])
    assert list(back["best"]) == list(scan_table["best"])


def test_from_columns_fills_the_missing_columns():
    table = ImageTable.from_columns({"coadd_key": [5, 6], "extra": ["a", "b"]})
    assert table.colnames == [*NAMES, "extra"]
    assert list(table["coadd_key"]) == [5, 6]
    assert np.isnan(table["in_ra"]).all() and np.isnan(table["dist_edge"]).all()
    assert (table["cutout_size"] == 0).all() and not table["best"].any()
    assert list(table["access_url"]) == ["", ""]
    assert table.archive is None


# -------------------------------------------------------------------------- rows
def test_rows_slices_and_copies_keep_the_archive(scan_table, sim):
    assert scan_table.archive is sim
    assert all(isinstance(row, ImageRow) for row in scan_table)
    for part in (
        scan_table[1:],
        scan_table[[0, 2]],
        scan_table[scan_table["band"] == "H"],
        scan_table.copy(),
        scan_table.copy(copy_data=False),
    ):
        assert isinstance(part, ImageTable)
        assert part.archive is sim
        assert isinstance(part[0], ImageRow)
    assert list(scan_table[1:]["band"]) == ["H", "K"]


def test_url_elements_are_str_although_stored_as_bytes(scan_table):
    assert scan_table["access_url"].dtype.kind == "S"
    assert scan_table["s_region"].dtype.kind == "S"
    url = scan_table[0]["access_url"]
    assert isinstance(url, str) and url.startswith("file://")
    assert all(isinstance(v, str) for v in scan_table["access_url"])
    assert isinstance(scan_table[0]["s_region"], str)


# -------------------------------------------------------------------------- open
def test_open_is_lazy_and_cached(batch, sim, monkeypatch):
    calls = []
    real = sim.local_path

    def spy(url):
        calls.append(url)
        return real(url)

    monkeypatch.setattr(sim, "local_path", spy)
    table = batch.query_scan("971031", "n", 96, image=197)
    table[1:].to_regions()
    assert calls == []  # the query and the table's own methods fetch nothing
    hdul = table[0].open()
    assert isinstance(hdul, fits.HDUList)
    assert hdul[0].data.shape == (1024, 512)
    assert hdul[0].header["CRVAL1"] == pytest.approx(table["ra"][0])
    assert calls == [table[0]["access_url"]]
    assert table[0].open() is hdul
    assert calls == [table[0]["access_url"]]
    assert table[1].open() is not hdul
    assert len(calls) == 2


def test_open_does_not_make_the_file_twice(batch, sim, monkeypatch):
    table = batch.query_scan("971031", "n", 96, image=197, band="K")
    path = sim.local_path(table[0]["access_url"])  # the file exists from here on
    made = []
    monkeypatch.setattr(type(sim), "_make_file", lambda self, rel, p: made.append(rel))
    table[0].open()
    table[0].open()
    assert made == []
    assert path.exists()


# ------------------------------------------------------------------------ cutout
def centre_of(table, row=0):
    return SkyCoord(table["ra"][row], table["dec"][row], unit="deg")


def assert_centred(cutout, center, n):
    """The cutout is n x n pixels and ``center`` falls on its central pixel."""
    assert cutout[0].data.shape == (n, n)
    x, y = WCS(cutout[0].header).world_to_pixel(center)
    assert abs(x - (n - 1) / 2) <= 0.5 + 1e-6
    assert abs(y - (n - 1) / 2) <= 0.5 + 1e-6


@pytest.mark.parametrize(
    ("size", "n"),
    [
        (30, 30),
        (30.0 * u.arcsec, 30),
        (1 * u.arcmin, 60),
        (0.01 * u.deg, 36),
        (45.0, 45),
    ],
)
def test_cutout_size_and_centre(scan_table, size, n):
    cutout = scan_table[0].cutout(size)
    assert_centred(cutout, centre_of(scan_table), n)  # no input position: image centre


def test_cutout_pixels_are_the_image_pixels(scan_table):
    row = scan_table[2]
    full = row.open()[0]
    cutout = row.cutout(20)[0]
    assert cutout.header["CUTOUT"] is True
    world = WCS(cutout.header).pixel_to_world([0, 19, 7], [0, 19, 12])
    x, y = WCS(full.header).world_to_pixel(world)
    ix, iy = np.round(x).astype(int), np.round(y).astype(int)
    assert np.allclose(x, ix, atol=1e-6) and np.allclose(y, iy, atol=1e-6)
    assert list(cutout.data[[0, 19, 12], [0, 19, 7]]) == list(full.data[iy, ix])


def test_cutout_explicit_center(scan_table):
    center = centre_of(scan_table).directional_offset_by(45 * u.deg, 150 * u.arcsec)
    cutout = scan_table[0].cutout(25 * u.arcsec, center=center)
    assert_centred(cutout, center, 25)
    assert_centred(scan_table[0].cutout(25, center=center.galactic), center, 25)


def test_cutout_is_trimmed_at_the_image_edge(scan_table):
    row = scan_table[0]
    full = WCS(row.open()[0].header)
    corner = full.pixel_to_world(2, 3)
    cutout = row.cutout(21, center=corner)
    assert cutout[0].data.shape == (14, 13)  # pixels -8..12 (x) and -7..13 (y), trimmed
    x, y = WCS(cutout[0].header).world_to_pixel(corner)
    assert (x, y) == pytest.approx((2, 3), abs=1e-6)


def test_cutout_off_the_image(scan_table):
    far = centre_of(scan_table).directional_offset_by(0 * u.deg, 1 * u.deg)
    with pytest.raises(ValueError):
        scan_table[0].cutout(20, center=far)


def test_cutout_defaults_to_the_input_position(positions_table):
    row = positions_table[0]
    assert np.isfinite(row["in_ra"])
    position = SkyCoord(row["in_ra"], row["in_dec"], unit="deg")
    assert position.separation(centre_of(positions_table)).arcsec > 90
    assert_centred(row.cutout(16), position, 16)


def test_cutout_uses_the_row_size(batch, positions_table):
    table = batch.query_positions(
        Table(
            {"ra": [positions_table["in_ra"][0]], "dec": [positions_table["in_dec"][0]]}
        ),
        best=True,
        band="J",
        size=24,
    )
    assert table["cutout_size"][0] == 24
    assert table[0].cutout()[0].data.shape == (24, 24)
    assert table[0].cutout(10)[0].data.shape == (10, 10)  # an explicit size wins


@pytest.mark.parametrize(
    "size", [0, -5, 0 * u.arcsec, -1 * u.arcmin, np.nan, "wide", 3 * u.m]
)
def test_cutout_bad_size(scan_table, size):
    with pytest.raises(ValueError, match="size"):
        scan_table[0].cutout(size)


def test_cutout_without_any_size(scan_table):
    assert scan_table["cutout_size"][0] == 0
    with pytest.raises(ValueError, match="cutout_size"):
        scan_table[0].cutout()


# ---------------------------------------------------------------------- download
def test_download_writes_one_file(scan_table, sim, tmp_path):
    folder = tmp_path / "new" / "folder"
    row = scan_table[1]
    path = row.download(folder)
    assert path == (folder / file_name_for(row)).resolve()
    assert path.name == "971031n_hi0960197.fits"
    assert files_under(tmp_path) == [Path("new/folder/971031n_hi0960197.fits")]
    assert path.read_bytes() == sim.local_path(row["access_url"]).read_bytes()
    with fits.open(path) as hdul:
        hdul.verify("exception")


def test_download_every_row(scan_table, tmp_path):
    paths = [row.download(tmp_path) for row in scan_table]
    assert sorted(p.name for p in paths) == sorted(file_name_for(r) for r in scan_table)
    assert len(set(paths)) == 3
    assert files_under(tmp_path) == sorted(Path(p.name) for p in paths)  # no .part-*


def test_download_cutout_row(batch, positions_table, tmp_path):
    table = batch.query_positions(
        Table(
            {"ra": [positions_table["in_ra"][0]], "dec": [positions_table["in_dec"][0]]}
        ),
        best=True,
        band="J",
        size=32,
    )
    path = table[0].download(tmp_path)
    assert path.name == "971031n_ji0960197_cut0.fits"
    assert files_under(tmp_path) == [Path(path.name)]
    with fits.open(path) as hdul:
        assert hdul[0].data.shape == (32, 32)
        assert np.array_equal(hdul[0].data, table[0].cutout()[0].data)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ordate", "../../x"),
        ("ordate", "/tmp/x"),
        ("band", "/"),
        ("band", "."),
        ("hemisphere", "/"),
        ("scanno", -1),
        ("image", 10000),
    ],
)
def test_download_refuses_tampered_metadata(scan_table, tmp_path, column, value):
    outside = sorted(p.name for p in tmp_path.parent.iterdir())
    table = scan_table.copy()
    if isinstance(value, str):  # room for the whole value (no truncation)
        table[column] = table[column].astype("U16")
    table[column][0] = value
    with pytest.raises(ValueError, match="2MASS image identity"):
        table[0].download(tmp_path / "dl")
    assert files_under(tmp_path) == []
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == outside


def test_download_keeps_an_existing_file_unless_overwrite(scan_table, sim, tmp_path):
    row = scan_table[0]
    target = tmp_path / file_name_for(row)
    target.write_bytes(b"not replaced")
    assert row.download(tmp_path) == target.resolve()
    assert target.read_bytes() == b"not replaced"
    row.download(tmp_path, overwrite=True)
    assert target.read_bytes() == sim.local_path(row["access_url"]).read_bytes()
    assert files_under(tmp_path) == [Path(target.name)]


def test_download_quicklook(batch, sim, tmp_path):
    table = quicklook_table(batch)
    row = table[0]
    plain = row.download(tmp_path / "plain")
    stored = row.download(tmp_path / "stored", decompress=False)
    assert plain.name == file_name_for(row) == "971031n_hq0960197.fits"
    assert (
        stored.name
        == file_name_for(row, decompress=False)
        == "971031n_hq0960197.fits.fz"
    )
    assert stored.read_bytes() == sim.local_path(row["access_url"]).read_bytes()
    with fits.open(stored) as hdul:
        assert isinstance(hdul[1], fits.CompImageHDU)
    with fits.open(plain) as hdul:
        assert not any(isinstance(hdu, fits.CompImageHDU) for hdu in hdul)
        assert hdul[0].data.shape == (1024, 512) and hdul[0].data.dtype.kind == "i"
        assert np.array_equal(hdul[0].data, row.open()[0].data)
        assert hdul[0].header["CRVAL1"] == pytest.approx(row["ra"])


def test_download_file_mode_follows_the_umask(scan_table, tmp_path):
    umask = os.umask(0o022)
    try:
        path = scan_table[0].download(tmp_path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------- tables from disk
def test_a_table_read_from_votable_opens_by_url(scan_table, sim, tmp_path):
    expected = scan_table[0].open()[0].data
    path = tmp_path / "images.vot"
    scan_table.write(path, format="votable")
    back = ImageTable.read(path, format="votable")
    assert isinstance(back, ImageTable) and back.archive is None
    assert isinstance(back[0], ImageRow)
    assert np.array_equal(back[0].open()[0].data, expected)
    assert back[0].open() is back[0].open()
    copy = back[0].download(tmp_path / "dl")
    assert copy.name == file_name_for(scan_table[0])
    assert copy.read_bytes() == sim.local_path(scan_table[0]["access_url"]).read_bytes()


def test_a_file_url_outside_any_archive(scan_table, sim, tmp_path):
    """A row whose file:// URL points at a plain file (no archive holds it)."""
    source = sim.local_path(scan_table[2]["access_url"])
    elsewhere = tmp_path / "store" / "k.fits"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(source.read_bytes())
    table = scan_table[2:].copy()
    table["access_url"] = [elsewhere.as_uri()]
    path = tmp_path / "moved.vot"
    table.write(path, format="votable")
    back = ImageTable.read(path, format="votable")
    assert back.archive is None and back[0]["access_url"].startswith("file://")
    hdul = back[0].open()
    assert np.array_equal(hdul[0].data, scan_table[2].open()[0].data)
    elsewhere.unlink()  # the cached HDUList is served without the file
    assert back[0].open() is hdul


def test_a_cutout_row_read_from_votable(positions_table, tmp_path):
    table = positions_table.copy()
    table["cutout_size"] = 18.0
    path = tmp_path / "cutouts.vot"
    table.write(path, format="votable")
    back = ImageTable.read(path, format="votable")
    position = SkyCoord(back["in_ra"][0], back["in_dec"][0], unit="deg")
    assert_centred(back[0].cutout(), position, 18)
    assert back[0].download(tmp_path / "dl").name.endswith("_cut0.fits")


def test_cutout_of_a_votable_row_without_input_position(scan_table, tmp_path):
    path = tmp_path / "images.vot"
    scan_table.write(path, format="votable")
    back = ImageTable.read(path, format="votable")
    assert_centred(back[0].cutout(12), centre_of(scan_table), 12)


@pytest.mark.parametrize("fmt", ["ascii.csv", "ascii.ecsv", "fits"])
def test_cutout_of_a_row_read_from_other_formats(positions_table, tmp_path, fmt):
    table = positions_table.copy()
    table["cutout_size"] = 18.0
    path = tmp_path / "cutouts.out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITS: HIERARCH cards for the metadata
        table.write(path, format=fmt)
    back = ImageTable.read(path, format=fmt)
    position = SkyCoord(back["in_ra"][0], back["in_dec"][0], unit="deg")
    assert_centred(back[0].cutout(), position, 18)


# ------------------------------------------------------------------------ regions
def vertices(text):
    return np.array(text.split(), float).reshape(-1, 2)


def same_polygon(a, b, atol=1e-6):
    """Same vertices in the same cyclic order, either direction."""
    for poly in (b, b[::-1]):
        for shift in range(len(poly)):
            if np.allclose(a, np.roll(poly, shift, axis=0), rtol=0, atol=atol):
                return True
    return False


def test_to_regions_one_per_image_set(batch):
    table = batch.query_region(M31, 0.3)
    regions = table.to_regions()
    sets = {(r["ordate"], r["hemisphere"], r["scanno"], r["image"]) for r in table}
    assert len(regions) == len(sets) == len(table) // 3 > 3  # J/H/Ks drawn once
    assert all(isinstance(r, PolygonSkyRegion) for r in regions)
    ds9 = regions.serialize(format="ds9")
    polygons = re.findall(r"^polygon\(([^)]*)\)\s*#\s*text=\{([^}]*)\}", ds9, re.M)
    assert len(polygons) == len(sets)
    for row, (coords, label) in zip(table[::3], polygons, strict=True):
        drawn = vertices(coords.replace(",", " "))
        assert drawn.shape == (4, 2)
        assert same_polygon(drawn, vertices(row["s_region"].split(maxsplit=2)[2]))
        name = f"scan {row['scanno']} image {row['image']}"
        assert label == f"{row['ordate']}{row['hemisphere']} {name}: J/H/Ks"


def test_to_regions_labels_say_the_bands_and_hold_no_markup(batch):
    table = batch.query_scan("971031", "n", 96, image=197)
    (region,) = table[table["band"] != "H"].to_regions()
    assert region.meta["text"] == "971031n scan 96 image 197: J/Ks"
    assert region.meta["label"] == region.meta["text"]  # CRTF's name for it
    # a value read from a hostile file cannot end the label or the line
    forged = table.copy()
    forged["ordate"] = np.array(["97}\npolygon(0,0,1,1,1,0) # text={x"] * 3)
    text = forged.to_regions().serialize(format="ds9")
    assert text.count("polygon(") == 1 and text.count("\n") == 4
    assert "{97??polygon?0?0?1?1?1?0????text??xn scan 96 image 197: J/H/Ks}" in text


def test_to_regions_of_an_empty_table():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoResultsWarning)
        assert len(ImageTable.empty().to_regions()) == 0


# -------------------------------------------------------------------------- empty
def test_empty_warns_and_has_the_full_schema(sim):
    with pytest.warns(NoResultsWarning, match="No 2MASS images found for the query"):
        table = ImageTable.empty()
    assert len(table) == 0
    check_schema(table)
    with pytest.warns(NoResultsWarning, match="for scan 42"):
        table = ImageTable.empty(archive=sim, meta={"query": "scan 42"})
    assert table.archive is sim and table.meta["query"] == "scan 42"


def test_empty_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = empty_image_table(warn=False)
    assert isinstance(table, ImageTable) and len(table) == 0
    check_schema(table)
