# Licensed under a 3-clause BSD style license - see LICENSE
"""Footprints out: coverage MOCs and DS9/CRTF region files, API and CLI."""

import sys
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from regions import Regions

from twomass_vo.cli import main
from twomass_vo.exceptions import NoResultsWarning
from twomass_vo.geometry import Footprints
from twomass_vo.results.moc import REGION_FORMATS

mocpy = pytest.importorskip("mocpy")

M31 = "00h42m44.3s +41d16m08s"
#: area of one 2MASS Atlas image, 512" x 1024"
IMAGE_AREA = (512 * 1024 * u.arcsec**2).to(u.deg**2)


def run(*argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return main(["--archive", "sim", *(str(a) for a in argv)])


@pytest.fixture
def region_table(batch):
    return batch.query_region(M31, 0.3)


def test_moc_covers_the_footprints_and_nothing_far(region_table):
    moc = region_table.to_moc()
    ra, dec = Footprints.from_s_region(
        np.asarray(region_table["s_region"])
    ).corners_radec()
    # the image centres and the corners are in; the query centre too
    centres = np.asarray(region_table["ra"]), np.asarray(region_table["dec"])
    assert moc.contains_lonlat(centres[0] * u.deg, centres[1] * u.deg).all()
    assert moc.contains_lonlat(ra.ravel() * u.deg, dec.ravel() * u.deg).all()
    centre = SkyCoord(M31)
    assert moc.contains_skycoords(centre)
    # a degree away is out
    far = centre.directional_offset_by(np.arange(0, 360, 45) * u.deg, 1 * u.deg)
    assert not moc.contains_skycoords(far).any()
    # the area: at least one image, at most the sum of the (8 distinct) images
    area = moc.sky_fraction * 4 * np.pi * u.sr
    sets = len(set(region_table["coadd_key"]))
    assert IMAGE_AREA < area < 1.2 * sets * IMAGE_AREA


def test_moc_depth_and_empty_table(batch, region_table):
    coarse = region_table.to_moc(max_depth=8)
    assert coarse.max_order == 8
    assert coarse.sky_fraction >= region_table.to_moc().sky_fraction
    with pytest.raises(ValueError, match="max_depth"):
        region_table.to_moc(max_depth=30)
    with pytest.warns(NoResultsWarning):
        empty = batch.query_scan("970804", "n", 96)
    assert empty.to_moc().sky_fraction == 0


def test_clear_error_without_mocpy(region_table, monkeypatch):
    monkeypatch.setitem(sys.modules, "mocpy", None)
    with pytest.raises(ImportError, match=r"pip install 'twomass_vo\[moc\]'"):
        region_table.to_moc()


def test_cli_writes_a_moc_fits_file(region_table, tmp_path, capsys):
    path = tmp_path / "cover.moc.fits"
    assert run("region", M31, "0.3", "-o", path) == 0
    with fits.open(path) as hdul:
        hdul.verify("exception")
        # MOC 1.0 compatible (NUNIQ), which every Aladin reads
        header = hdul[1].header
        assert (header["ORDERING"], header["COORDSYS"]) == ("NUNIQ", "C")
        assert header["MOCORDER"] == 13
    loaded = mocpy.MOC.load(str(path), format="fits")
    assert loaded == region_table.to_moc()
    # the same result again is written again; another one needs --overwrite
    assert run("region", M31, "0.3", "-o", path) == 0
    assert run("region", M31, "0.5", "-o", path) == 2
    assert "holds another result (other content)" in capsys.readouterr().err
    assert mocpy.MOC.load(str(path), format="fits") == region_table.to_moc()
    assert run("region", M31, "0.5", "-o", path, "--overwrite") == 0
    assert mocpy.MOC.load(str(path), format="fits") != region_table.to_moc()


@pytest.mark.parametrize(("suffix", "fmt"), [(".reg", "ds9"), (".crtf", "crtf")])
def test_cli_writes_footprint_region_files(region_table, tmp_path, suffix, fmt):
    path = tmp_path / f"footprints{suffix}"
    assert run("region", M31, "0.3", "-o", path) == 0
    regions = Regions.read(str(path), format=fmt)
    assert len(regions) == len(region_table) // 3  # one per image set
    ra, dec = Footprints.from_s_region(
        np.asarray(region_table["s_region"][::3])
    ).corners_radec()
    for i, region in enumerate(regions):
        want = SkyCoord(ra[i], dec[i], unit="deg")
        assert region.vertices.separation(want).max() < 0.01 * u.arcsec
        assert region.meta["text" if fmt == "ds9" else "label"].endswith(": J/H/Ks")
    text = path.read_text()
    if fmt == "ds9":
        assert text.startswith("# Region file format: DS9")
        assert "text={971101n scan 31 image 244: J/H/Ks}" in text
    else:
        assert "label='971101n scan 31 image 244: J/H/Ks'" in text


@pytest.mark.parametrize(
    ("suffix", "header"),
    [
        (".reg", "# Region file format: DS9 astropy/regions\nicrs\n"),
        (".crtf", "#CRTFv0"),
    ],
)
def test_an_empty_region_file_has_its_header(batch, tmp_path, suffix, header):
    from twomass_vo.results.moc import write_footprints

    with pytest.warns(NoResultsWarning):
        empty = batch.query_scan("970804", "n", 96)
    path = tmp_path / f"none{suffix}"
    write_footprints(empty, path)
    assert path.read_text().startswith(header)
    assert len(Regions.read(str(path), format=REGION_FORMATS[suffix])) == 0
    with pytest.raises(OSError, match="exists"):
        write_footprints(empty, path)
