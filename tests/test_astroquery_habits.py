# Licensed under a 3-clause BSD style license - see LICENSE
"""What astroquery users type works, or fails with a clear message.

Class-level calls, ``radius=`` as well as ``diameter=``, Quantities and str
angles, band lists, tab completion and top-level imports. Queries on IRSA are
only built (``get_query_payload=True``), never sent.
"""

import inspect

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

import twomass_vo
from twomass_vo import TwoMassBatch
from twomass_vo.exceptions import InvalidQueryError

M31 = "00h42m44.3s +41d16m08s"
SCAN = ("971031", "n", 96)


# ------------------------------------------------------------------ the class
def test_query_methods_work_on_the_class_like_astroquery():
    on_class = TwoMassBatch.query_region(M31, 0.3, get_query_payload=True)
    on_instance = TwoMassBatch().query_region(M31, 0.3, get_query_payload=True)
    assert on_class == on_instance and on_class[0]["service"] == "sia"
    assert TwoMassBatch.query_coadd_keys(
        [1590591], get_query_payload=True
    ) == TwoMassBatch().query_coadd_keys([1590591], get_query_payload=True)
    assert TwoMassBatch.query_scan(*SCAN, get_query_payload=True)
    # bad input is still checked first
    with pytest.raises(InvalidQueryError, match="intersect"):
        TwoMassBatch.query_region(M31, 0.3, intersect="x", get_query_payload=True)


def test_class_level_methods_keep_their_signature_and_docs():
    # as for any method looked up on its class: self, then the arguments
    signature = inspect.signature(TwoMassBatch.query_region)
    assert list(signature.parameters)[:3] == ["self", "center", "diameter"]
    assert "radius" in signature.parameters
    assert "Images that overlap" in TwoMassBatch.query_region.__doc__
    assert "{common}" not in TwoMassBatch.query_positions.__doc__
    batch = TwoMassBatch()
    assert batch.query_region.__self__ is batch
    assert "self" not in inspect.signature(batch.query_region).parameters


# ------------------------------------------------------------ region sizes
def test_radius_as_well_as_diameter(batch):
    expected = batch.query_region(M31, 0.3, band="J")
    for kwargs in (
        {"radius": 0.15},
        {"radius": 9 * u.arcmin},
        {"diameter": 0.3 * u.deg},
        {"diameter": 18 * u.arcmin},
        {"diameter": "18arcmin"},
        {"radius": "0.15deg"},
    ):
        got = batch.query_region(M31, band="J", **kwargs)
        assert list(got["coadd_key"]) == list(expected["coadd_key"]), kwargs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"diameter": 0.3, "radius": 0.15}, "diameter or radius, not both"),
        ({}, "diameter is required"),
        ({"diameter": [0.1, 0.2] * u.deg}, "single angle"),
        ({"diameter": 10**400}, "too large"),
        ({"diameter": True}, "not an angle"),
        ({"diameter": 0}, "positive"),
        ({"diameter": 0 * u.arcmin}, "positive"),
        ({"radius": -1}, "radius=-1 must be a positive"),
        ({"diameter": 1 + 0j}, "not a real number"),
        ({"diameter": 0.3 * u.km}, "not an angle"),
        ({"diameter": np.array([0.3])}, "single angle"),
    ],
)
def test_bad_region_sizes_are_clear_errors(kwargs, match):
    with pytest.raises(InvalidQueryError, match=match):
        TwoMassBatch().query_region(M31, get_query_payload=True, **kwargs)


def test_a_region_object_takes_no_size():
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion

    circle = CircleSkyRegion(SkyCoord(M31), 0.15 * u.deg)
    payload = TwoMassBatch().query_region(circle, get_query_payload=True)
    assert "0.15" in payload[0]["params"]["POS"]
    with pytest.raises(InvalidQueryError, match="no diameter, radius or width"):
        TwoMassBatch().query_region(circle, radius=0.1, get_query_payload=True)


# ------------------------------------------------------------- band lists
def test_band_lists(batch):
    both = batch.query_region(M31, 0.3, band=["J", "H"])
    assert set(both["band"]) == {"J", "H"}
    assert len(both) == 2 * len(batch.query_region(M31, 0.3, band="J"))
    keys = sorted(set(both["coadd_key"]))[:2]
    assert set(batch.query_coadd_keys(keys, band=("H", "Ks"))["band"]) == {"H", "K"}
    assert set(batch.query_scan(*SCAN, image=197, band=["ks"])["band"]) == {"K"}
    table = Table({"ra": [10.6847], "dec": [41.2688]})
    got = batch.query_positions(table, band=["J", "K"], size=1 * u.arcmin)
    assert set(got["band"]) == {"J", "K"}
    with pytest.raises(InvalidQueryError, match="'Q'"):
        batch.query_region(M31, 0.3, band=["J", "Q"])


# ----------------------------------------------------------- the top level
def test_tab_completion_and_top_level_imports():
    from twomass_vo import (  # noqa: F401 (the import is the test)
        ImageTable,
        IrsaArchive,
        LocalArchive,
        TwoMassBatch,
        VOArchive,
    )
    from twomass_vo.archives import vo

    names = dir(twomass_vo)
    for name in ("TwoMassBatch", "ImageTable", "LocalArchive", "IrsaArchive"):
        assert name in names and name in twomass_vo.__all__
    assert twomass_vo.VOArchive is vo.VOArchive
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        twomass_vo.Nope  # noqa: B018


# -------------------------------------------- coordinates=, width=, --width
def test_coordinates_is_astroquerys_name_for_the_centre(batch):
    from astropy.coordinates import SkyCoord

    expected = batch.query_region(M31, 0.3, band="J")
    for centre in (M31, SkyCoord(M31)):
        got = batch.query_region(coordinates=centre, radius=0.15 * u.deg, band="J")
        assert list(got["coadd_key"]) == list(expected["coadd_key"])
    payload = TwoMassBatch.query_region(
        coordinates=SkyCoord(M31), radius="9arcmin", get_query_payload=True
    )
    assert payload == TwoMassBatch().query_region(M31, 0.3, get_query_payload=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"center": M31, "coordinates": M31, "radius": 1}, "not both"),
        ({"radius": 1}, "needs a center"),
        ({"center": M31, "width": 0.3, "radius": 0.1}, "radius or width, not both"),
        (
            {"center": M31, "width": 1, "radius": 1, "diameter": 1},
            "one of diameter, radius and width",
        ),
        ({"center": M31, "width": "2 parsec"}, "width='2 parsec' has the unit pc"),
        ({"center": M31, "width": -1}, "width=-1 must be a positive"),
    ],
)
def test_bad_coordinates_and_widths(kwargs, match):
    with pytest.raises(InvalidQueryError, match=match):
        TwoMassBatch().query_region(get_query_payload=True, **kwargs)


def test_width_is_a_square_between_its_two_circles(batch):
    from astropy.coordinates import SkyCoord
    from regions import PolygonSkyRegion

    square = batch.query_region(coordinates=M31, width=42 * u.arcmin)
    inside = batch.query_region(M31, diameter=42 * u.arcmin)
    outside = batch.query_region(M31, diameter=42 * 2**0.5 * u.arcmin)
    keys = set(square["coadd_key"])
    assert set(inside["coadd_key"]) <= keys <= set(outside["coadd_key"])
    assert len(inside) < len(square) < len(outside)  # a square, not either circle
    # the same as the polygon of its corners (tangent-plane square, north up)
    region = square.meta["parameters"]["region"].split()[2:]
    corners = np.array(region, float).reshape(4, 2)
    centre = SkyCoord(M31)
    sides = SkyCoord(corners[:, 0], corners[:, 1], unit="deg")
    diagonal = np.degrees(np.arctan(2**0.5 * np.tan(np.radians(0.35))))
    assert centre.separation(sides).deg == pytest.approx([diagonal] * 4, abs=1e-6)
    assert corners[0, 1] == pytest.approx(corners[1, 1])  # the top edge: north
    polygon = PolygonSkyRegion(sides)
    assert list(batch.query_region(polygon)["coadd_key"]) == list(square["coadd_key"])
    assert square.meta["parameters"]["width"] == "0.7"
    for text in ("0.7deg", "42arcmin"):
        again = batch.query_region(coordinates=M31, width=text)
        assert list(again["coadd_key"]) == list(square["coadd_key"])


def test_a_width_outside_the_service_range_is_clamped(batch):
    from twomass_vo.exceptions import DiameterClampedWarning

    with pytest.warns(DiameterClampedWarning, match="width 10.0 deg .* 4.949 deg"):
        big = batch.query_region(M31, width=10, band="J", intersect="enclosed")
    assert float(big.meta["parameters"]["width"]) == pytest.approx(4.949, abs=1e-3)
    with pytest.warns(DiameterClampedWarning, match="clamped to 0.050"):
        batch.query_region(M31, width=1 * u.arcsec, band="J")


def test_cli_radius_and_width(sim, tmp_path, capsys):
    from twomass_vo.cli import main
    from twomass_vo.results.result_reader import read_result

    def keys(*argv):
        path = tmp_path / "out.ecsv"
        status = main(["--archive", "sim", "region", M31, *argv, "-o", str(path)])
        assert status == 0, capsys.readouterr().err
        found = list(read_result(path)["coadd_key"])
        path.unlink()
        return found

    by_diameter = keys("0.3")
    assert keys("--radius", "9arcmin") == by_diameter
    assert keys("--radius", "0.15") == by_diameter
    assert keys("--width", "18arcmin") == list(
        TwoMassBatch(archive=sim).query_region(M31, width=0.3)["coadd_key"]
    )
    for argv, says in (
        ((), "give the region's DIAMETER, --radius or --width: none was given"),
        (("0.3", "--width", "1"), "not DIAMETER and --width"),
        (("--width", "1pc"), "--width '1pc' is not an angle"),
    ):
        capsys.readouterr()
        assert main(["--archive", "sim", "region", M31, *argv]) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert says in line
