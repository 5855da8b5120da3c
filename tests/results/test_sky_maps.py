# Licensed under a 3-clause BSD style license - see LICENSE
"""Where the pictures look (sky_maps) and what they say (picture_style)."""

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from twomass_vo.results.picture_style import (
    check_count,
    count_text,
    designation,
    position_label,
    result_title,
)
from twomass_vo.results.sky_maps import allsky_wcs, central_ra, sky_extent, sky_groups

M31 = (10.684583, 41.268889)
M42 = (83.822083, -5.391111)
CEN_A = (201.365063, -43.019112)


# ------------------------------------------------------------------ sky_maps
def test_sky_extent_across_ra_zero_and_of_nothing():
    ra0, dec0, radius = sky_extent([359.5, 0.5], [10.0, 10.0])
    assert min(ra0, 360 - ra0) < 1e-9 and dec0 == pytest.approx(10.0, abs=1e-3)
    assert radius == pytest.approx(0.4924, abs=1e-3)  # 0.5 deg of RA at dec 10
    ra0, dec0, radius = sky_extent([], [])
    assert np.isnan(ra0) and np.isnan(dec0) and radius == 180.0
    # opposite points cancel out: no mean direction
    assert sky_extent([0, 180], [0, 0])[2] == 180.0


def test_central_ra_puts_the_map_edge_in_the_widest_empty_band():
    ra = [M31[0], M42[0], CEN_A[0]]
    centre = central_ra(ra)
    edge = (centre + 180.0) % 360.0
    # the widest empty band runs from Cen A (201.4) round to M31 (370.7)
    assert CEN_A[0] < edge < M31[0] + 360.0
    assert centre % 30.0 == 0.0  # rounded to two hours where that is safe
    # points around RA 180 are not cut in two
    assert abs(central_ra([170.0, 190.0]) - 180.0) < 1e-9
    # no gap wider than the rounding: the exact middle is kept
    even = np.arange(0.0, 360.0, 10.0) + 3.0
    gap_centre = central_ra(even)
    assert (gap_centre + 180.0) % 10.0 == pytest.approx(8.0)
    assert central_ra([]) == 0.0


@pytest.mark.parametrize("projection", ["AIT", "MOL"])
def test_allsky_wcs_holds_the_whole_sky_in_its_ellipse(projection):
    wcs = allsky_wcs([M31[0]], [M31[1]], npix=400, projection=projection)
    assert wcs.wcs.ctype[0] == f"RA---{projection}"
    assert wcs.pixel_shape == (400, 200)
    rng = np.random.default_rng(16)
    ra = rng.uniform(0, 360, 2000)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    x, y = wcs.world_to_pixel_values(ra, dec)
    ellipse = ((x - 199.5) / 200.0) ** 2 + ((y - 99.5) / 100.0) ** 2
    assert np.all(ellipse <= 1.0 + 1e-6)
    # and it fills it: the poles and the edge meridian touch the frame
    x, y = wcs.world_to_pixel_values(
        [0.0, 0.0, wcs.wcs.crval[0] + 179.999], [90.0, -90.0, 0.0]
    )
    np.testing.assert_allclose(y[:2], [199.5, -0.5], atol=0.6)
    assert x[2] == pytest.approx(-0.5, abs=0.6)


def test_allsky_wcs_refuses_other_projections_and_sizes():
    with pytest.raises(ValueError, match=r"projection='TAN'.*AIT, MOL"):
        allsky_wcs(projection="TAN")
    with pytest.raises(ValueError, match=r"npix=0: give a whole number of at least 1"):
        allsky_wcs(npix=0)


def test_sky_groups_gather_neighbours_and_stop_past_a_limit():
    ra = [M31[0], M42[0], CEN_A[0], M31[0] + 0.3, M42[0]]
    dec = [M31[1], M42[1], CEN_A[1], M31[1], M42[1] - 0.9]
    assert sky_groups(ra, dec).tolist() == [0, 1, 2, 0, 1]
    assert sky_groups(ra, dec, radius=0.5).tolist() == [0, 1, 2, 0, 3]
    assert sky_groups(ra, dec, limit=3).tolist() == [0, 1, 2, 0, 1]
    assert sky_groups(ra, dec, limit=2) is None
    assert sky_groups([], []).tolist() == []


# ------------------------------------------------------------- picture_style
@pytest.mark.parametrize("value", [-1, 0, 2.5, True, "3", None])
def test_check_count_names_the_option_and_the_value(value):
    with pytest.raises(ValueError, match=rf"max_panels={value!r}: give a whole"):
        check_count(value, "max_panels")


def test_check_count_takes_numpy_integers_and_a_minimum():
    assert check_count(np.int64(3), "n") == 3
    assert check_count(0, "zooms", minimum=0) == 0


def test_count_text():
    assert count_text(0, "image file") == "no image files"
    assert count_text(1, "set") == "1 set"
    assert count_text(24, "image file") == "24 image files"


@pytest.mark.parametrize(
    ("ra", "dec"),
    [M31, M42, CEN_A, (0.0, 0.0), (123.456789, -0.000001), (300.1, 89.99)],
)
def test_designation_matches_astropy(ra, dec):
    coord = SkyCoord(ra, dec, unit="deg")
    want = (
        "J"
        + coord.ra.to_string(unit=u.hourangle, sep="", precision=2, pad=True)
        + coord.dec.to_string(sep="", precision=1, alwayssign=True, pad=True)
    )
    got = designation(ra, dec)
    if dec < 0 and got[10] == "+":  # rounds to 0: no minus zero
        want = want[:10] + "+" + want[11:]
    assert got == want


def test_designation_carries_rounding_into_the_next_field():
    # 23h59m59.999s rounds to 0h, 41d59m59.99s to 42d
    assert designation(359.9999999, 41.9999999) == "J000000.00+420000.0"
    assert designation(15.0 * (59.9999 / 3600), -0.5) == "J000100.00-003000.0"


def test_position_label_uses_the_id_or_the_designation():
    assert position_label("M31", *M31) == "M31\n10.68458 +41.26889"
    assert position_label("  ", *M31) == "J004244.30+411608.0\n10.68458 +41.26889"
    assert (
        position_label("", 0, -1, sep="  ") == "J000000.00-010000.0  0.00000 -1.00000"
    )


def test_titles_say_mode_archive_and_counts(batch):
    region = batch.query_region("00h42m44.3s +41d16m08s", 0.3)
    assert result_title(region) == "region mode, sim archive: 24 image files in 8 sets"
    scan = batch.query_scan("971031", "n", 96, image=197)
    assert result_title(scan) == (
        "scan mode (971031 n 96, image 197), sim archive: 3 image files in 1 set"
    )
    whole_scan = batch.query_scan("971031", "n", 96, band="J")
    assert result_title(whole_scan).startswith("scan mode (971031 n 96), sim")
    scans = batch.query_scans(
        Table({"xdate": ["971031"], "hem": ["n"], "scan": [96], "image": [197]})
    )
    assert result_title(scans).startswith("scans mode, sim archive: 3 image files")
    positions = batch.query_positions(
        Table({"ra": [M31[0], M42[0]], "dec": [M31[1], M42[1]]}), band="J", best=True
    )
    assert result_title(positions) == (
        "positions mode, sim archive: 2 image files in 2 sets, 2 positions"
    )
    keys = batch.query_coadd_keys([335943], band="H")
    assert result_title(keys) == "coadd-keys mode, sim archive: 1 image file in 1 set"
    empty = region[:0]
    assert result_title(empty) == "region mode, sim archive: no image files"
    bare = region.copy()
    bare.meta = {}
    assert result_title(bare) == "24 image files in 8 sets"
