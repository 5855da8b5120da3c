# Licensed under a 3-clause BSD style license - see LICENSE
"""Tests of twomass_vo.geometry.

The randomised tests compare against independent oracles:

* astropy.wcs for the SIN corners and for the best-image pixel distances;
* shapely in a gnomonic projection centred on the region: great circles become
  straight lines and a cap of radius r a disc of radius tan(r), so the planar
  predicates are exact, and the angular distance from the projection centre
  is atan of the planar distance.

Cases within 1e-9 rad of a decision boundary (where the two exact methods
may round differently) are excluded; see ``BOUNDARY``.
"""

from pathlib import Path

import numpy as np
import pytest
import shapely
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from twomass_vo.exceptions import InputError
from twomass_vo.geometry import (
    ConvexPolygon,
    Footprints,
    angle_between,
    format_s_region,
    parse_s_region,
    radec_to_xyz,
    sin_corners,
    sin_pix2world,
    xyz_to_radec,
)

FIXTURE = Path("/work/shared/fixtures/aH_asky_001022s0620186.hdr")
HEADER_PATH = Path(__file__).parents[1] / "data" / "aH_asky_001022s0620186.hdr"
CDELT = 0.0002777777845  # 2MASS Atlas pixel, degrees
PIX_ARCSEC = CDELT * 3600
ARCSEC = np.deg2rad(1 / 3600)
#: Decisions closer than this (radians) to a boundary are not compared.
BOUNDARY = 1e-9

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _header_path():
    for path in (HEADER_PATH, FIXTURE):
        if path.exists():
            return path
    pytest.skip("2MASS fixture header not available")


def sin_header(crval1, crval2, crota2, *, naxis=(512, 1024), cdelt=(-CDELT, CDELT)):
    h = fits.Header()
    h["NAXIS"] = 2
    h["NAXIS1"], h["NAXIS2"] = naxis
    h["CTYPE1"], h["CTYPE2"] = "RA---SIN", "DEC--SIN"
    h["CRPIX1"], h["CRPIX2"] = (naxis[0] + 1) / 2, (naxis[1] + 1) / 2
    h["CRVAL1"], h["CRVAL2"] = crval1, crval2
    h["CDELT1"], h["CDELT2"] = cdelt
    h["CROTA2"] = crota2
    return h


def wcs_corners(header):
    w = WCS(header)
    n1, n2 = header["NAXIS1"], header["NAXIS2"]
    px = np.array([0.5, n1 + 0.5, n1 + 0.5, 0.5])
    py = np.array([0.5, 0.5, n2 + 0.5, n2 + 0.5])
    return radec_to_xyz(*w.all_pix2world(px, py, 1))


# ---- helpers for the oracles ---------------------------------------------


def basis(c):
    """Two unit vectors orthogonal to unit vector c (and to each other)."""
    ref = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.9 else np.array([1.0, 0, 0])
    e = np.cross(ref, c)
    e /= np.linalg.norm(e)
    return e, np.cross(c, e)


def offset(c, rho, phi):
    """Points at angular distance rho (rad) from c, position angle phi."""
    e, n = basis(c)
    rho = np.asarray(rho)[..., None]
    phi = np.asarray(phi)[..., None]
    return np.cos(rho) * c + np.sin(rho) * (np.cos(phi) * e + np.sin(phi) * n)


def gnomonic(v, c):
    e, n = basis(c)
    w = v @ c
    assert np.all(w > 0.5)
    return np.stack([(v @ e) / w, (v @ n) / w], axis=-1)


def random_tiles(rng, c, r, n):
    """SIN 512x1024 tiles centred within r + 0.35 deg of c (some very close)."""
    far = rng.uniform(0, r + np.deg2rad(0.35), n)
    near = rng.uniform(0, np.deg2rad(0.08), n)
    rho = np.where(rng.random(n) < 0.7, far, near)
    centres = offset(c, rho, rng.uniform(0, 2 * np.pi, n))
    ra, dec = xyz_to_radec(centres)
    rot = np.where(
        rng.random(n) < 0.5, rng.uniform(-0.06, 0.06, n), rng.uniform(-180, 180, n)
    )
    return ra, dec, rot


def tile_corners(ra, dec, rot):
    return sin_corners(ra, dec, 256.5, 512.5, 512, 1024, -CDELT, CDELT, rot)


def shapely_circle_oracle(corners, c, r):
    """(overlaps, covers, enclosed, margin) from shapely in gnomonic projection."""
    polys = shapely.polygons(gnomonic(corners, c))
    origin = shapely.points(0.0, 0.0)
    inside = shapely.covers(polys, origin)
    d_poly = np.arctan(shapely.distance(polys, origin))  # 0 when inside
    d_edge = np.arctan(shapely.distance(shapely.boundary(polys), origin))
    d_far = np.arctan(shapely.hausdorff_distance(origin, polys))  # farthest vertex
    overlaps = d_poly <= r
    covers = inside & (d_edge >= r)
    enclosed = d_far <= r
    margin = np.minimum.reduce(
        [
            np.where(inside, np.inf, np.abs(d_poly - r)),
            np.abs(d_edge - r),
            d_edge,
            np.abs(d_far - r),
        ]
    )
    return overlaps, covers, enclosed, margin


def rel1(relations):
    """The three relations of a single footprint as a tuple of bools."""
    return tuple(bool(x[0]) for x in relations)


def circle_centre(family, u1, u2, u3):
    """A circle centre (ra, dec) of a family from three uniform numbers."""
    if family == "generic":
        return 360 * u1, np.rad2deg(np.arcsin(2 * u2 - 1))
    if family == "pole":
        # |dec| > 88, half of them within 0.01 deg of the pole
        depth = 0.01 * u2 if u3 < 0.5 else 2 * u2
        return 360 * u1, (90 - depth) * (1 if u3 % 0.5 < 0.25 else -1)
    if family == "wrap":
        return (3 * u1 - 1.5) % 360, 160 * u2 - 80
    raise ValueError(family)


unit = st.floats(0, 1, exclude_max=True)
families = st.sampled_from(["generic", "pole", "wrap"])


# ---- vectors ---------------------------------------------------------------


def test_radec_xyz_round_trip():
    ra = np.array([0.0, 359.9999999, 180.0, 45.0, 10.0])
    dec = np.array([0.0, -89.9999, 90.0, -45.0, 0.5])
    xyz = radec_to_xyz(ra, dec)
    assert xyz.shape == (5, 3)
    assert_allclose(np.linalg.norm(xyz, axis=-1), 1.0)
    ra2, dec2 = xyz_to_radec(xyz)
    assert_allclose(dec2, dec, atol=1e-12)
    assert_allclose(ra2[[0, 1, 3, 4]], ra[[0, 1, 3, 4]], atol=1e-9)
    assert_allclose(radec_to_xyz(0, 90), [0, 0, 1], atol=1e-16)
    # broadcasting and the seam
    assert radec_to_xyz([[1.0], [2.0]], [3.0, 4.0, 5.0]).shape == (2, 3, 3)
    ra3, _ = xyz_to_radec([[1.0, -1e-18, 0.0], [1.0, 1e-18, 0.0]])
    assert np.all((ra3 >= 0) & (ra3 < 360))


def test_angle_between_small_and_large():
    a = np.array([1.0, 0.0, 0.0])
    t = 1e-11
    assert_allclose(angle_between(a, [np.cos(t), np.sin(t), 0.0]), t, rtol=1e-12)
    assert_allclose(angle_between(a, [np.cos(3 * t), 0.0, np.sin(3 * t)]), 3 * t)
    assert_allclose(angle_between(a, -a), np.pi)
    # broadcasting, unnormalised input
    got = angle_between(3 * radec_to_xyz([0, 90], [0, 0]), [1.0, 0, 0])
    assert_allclose(got, [0, np.pi / 2], atol=1e-15)


# ---- SIN corners vs astropy.wcs ------------------------------------------------


def test_sin_corners_real_header():
    h = fits.Header.fromtextfile(_header_path())
    got = sin_corners(
        h["CRVAL1"],
        h["CRVAL2"],
        h["CRPIX1"],
        h["CRPIX2"],
        h["NAXIS1"],
        h["NAXIS2"],
        h["CDELT1"],
        h["CDELT2"],
        h["CROTA2"],
    )
    assert got.shape == (1, 4, 3)
    ref = wcs_corners(h)
    assert angle_between(got[0], ref).max() < 1e-6 * ARCSEC
    # the tile's half diagonal is 0.159 deg
    fp = Footprints(got)
    assert_allclose(np.rad2deg(fp.radii), 0.159, atol=0.001)
    from_header = Footprints.from_header(h)
    assert angle_between(from_header.corners, fp.corners).max() < 1e-6 * ARCSEC


@pytest.mark.parametrize("seed", range(6))
def test_sin_pix2world_synthetic_headers(seed):
    rng = np.random.default_rng(seed)
    crval2 = np.concatenate(
        [
            rng.uniform(-90, 90, 8),
            [90.0, -90.0, 89.99999, -89.9999999, 0.0, 89.5, -89.9],
        ]
    )
    for dec0 in crval2:
        ra0 = rng.uniform(0, 360)
        rot = rng.uniform(-180, 180) if rng.random() < 0.7 else rng.uniform(-0.06, 0.06)
        cdelt = (rng.choice([-1, 1]) * rng.uniform(1e-4, 3e-3),) * 1 + (
            rng.choice([-1, 1]) * rng.uniform(1e-4, 3e-3),
        )
        naxis = tuple(int(x) for x in rng.integers(50, 2000, 2))
        h = sin_header(ra0, dec0, rot, naxis=naxis, cdelt=cdelt)
        h["CRPIX1"], h["CRPIX2"] = rng.uniform(-100, 2000, 2)
        w = WCS(h)
        px = rng.uniform(-50, naxis[0] + 50, 30)
        py = rng.uniform(-50, naxis[1] + 50, 30)
        ref = radec_to_xyz(*w.all_pix2world(px, py, 1))
        got = sin_pix2world(
            px, py, ra0, dec0, h["CRPIX1"], h["CRPIX2"], cdelt[0], cdelt[1], rot
        )
        assert angle_between(got, ref).max() < 1e-6 * ARCSEC, (dec0, rot)
        corners = sin_corners(
            ra0, dec0, h["CRPIX1"], h["CRPIX2"], *naxis, cdelt[0], cdelt[1], rot
        )
        assert angle_between(corners[0], wcs_corners(h)).max() < 1e-6 * ARCSEC


def test_sin_corners_broadcast_and_from_wcs():
    ra = np.array([0.0, 120.0, 359.99])
    dec = np.array([0.0, -89.99, 89.9])
    c = sin_corners(ra, dec, 256.5, 512.5, 512, 1024, -CDELT, CDELT, 0.01)
    assert c.shape == (3, 4, 3)
    for i in range(3):
        ref = wcs_corners(sin_header(ra[i], dec[i], 0.01))
        assert angle_between(c[i], ref).max() < 1e-6 * ARCSEC
    fp = Footprints.from_wcs(ra, dec, 256.5, 512.5, 512, 1024, -CDELT, CDELT, 0.01)
    assert len(fp) == 3
    # centres are the reference points (crpix is the image centre)
    assert angle_between(fp.centers, radec_to_xyz(ra, dec)).max() < 0.01 * ARCSEC


def test_from_header_other_projection_and_sequence():
    h = sin_header(150.0, 2.0, 30.0)
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    fp = Footprints.from_header([h, sin_header(10.0, -10.0, 0.0)])
    assert len(fp) == 2
    assert (
        angle_between(fp.corners[0][:, None], wcs_corners(h)[None]).min(axis=1).max()
        < 1e-6 * ARCSEC
    )
    bad = fits.Header({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10})
    with pytest.raises(ValueError, match="celestial"):
        Footprints.from_header(bad)


# ---- s_region --------------------------------------------------------------------

EXAMPLE = (
    "POLYGON ICRS 318.3588 76.4320 311.6865 76.4320 311.2597 77.9937 "
    "318.7858 77.9936 318.3588 76.4320"
)


def test_parse_s_region_forms():
    ref = radec_to_xyz(
        [318.3588, 311.6865, 311.2597, 318.7858], [76.4320, 76.4320, 77.9937, 77.9936]
    )
    numbers = EXAMPLE.split(maxsplit=2)[2]
    four = " ".join(numbers.split()[:8])
    forms = [
        EXAMPLE,
        f"polygon icrs {four}",
        f"Polygon J2000 {numbers}",
        f"POLYGON FK5 {four}",
        f"POLYGON UNKNOWNFrame {four}",
        f"POLYGON {four}",
        f"  POLYGON\tICRS  {four}  ",
        f"POLYGON {numbers}",
    ]
    single = parse_s_region(EXAMPLE)
    assert single.shape == (1, 4, 3)
    assert_allclose(single[0], ref, atol=1e-15)
    for values in (forms, np.array(forms), tuple(forms)):
        got = parse_s_region(values)
        assert got.shape == (len(forms), 4, 3)
        assert_allclose(got, np.broadcast_to(ref, got.shape), atol=1e-15)
    assert_allclose(parse_s_region([EXAMPLE.encode()]), single)
    assert_allclose(parse_s_region(np.array([EXAMPLE.encode()])), single)
    assert parse_s_region([]).shape == (0, 4, 3)


@pytest.mark.parametrize(
    "bad",
    [
        "CIRCLE ICRS 10 20 1",
        "POLYGON GALACTIC 1 2 3 4 5 6 7 8",
        "POLYGON ICRS 1 2 3 4 5 6 7 98",
        "POLYGON ICRS 1 2 3 4 5 6 7",
        "POLYGON ICRS 1 2 3 4 5 6 7 8 9 10",  # 5th vertex does not close it
        "POLYGON ICRS 1 2 3 4 5 6 7 8 1 2 3 4",
        "POLYGON ICRS 1 2 3 4 5 6 7 x",
        "POLYGON ICRS 1 2 3 4 5 6 7 nan",
        "POLYGON ICRS 1 2 3 4 5 6 7 8\nPOLYGON ICRS 1 2 3 4 5 6 7 8",
        "POLYGONS ICRS 1 2 3 4 5 6 7 8",
        "",
        None,
        12.5,
    ],
)
def test_parse_s_region_errors(bad):
    good = "POLYGON ICRS 1 2 3 4 5 6 7 8"
    with pytest.raises(ValueError, match=r"row 2, column 's_region'") as err:
        parse_s_region([good, good, bad, "also bad"])
    assert isinstance(err.value, InputError)
    assert err.value.row == 2
    assert err.value.value is bad or err.value.value == bad
    assert repr(bad) in str(err.value)


def test_parse_s_region_error_first_row_wins_in_mixed_input():
    vals = ["POLYGON 1 2 3 4 5 6 7 8"] * 5 + ["POLYGON ICRS 1 2 3 4 5 6 7 8"] * 5
    vals[7] = "POLYGON ICRS 1 2 3 4 5 6 7 999"
    vals[3] = "POLYGON 1 2 3 4 5 6 7 -999"
    with pytest.raises(InputError, match="row 3"):
        parse_s_region(vals)
    vals[3] = "POLYGON 1 2 3 4 5 6 7 8"
    with pytest.raises(InputError, match="row 7"):
        parse_s_region(vals)


def test_format_s_region_values():
    xyz = radec_to_xyz(
        [[359.99999999, 0.0, 1e-12, 180.25]], [[-0.0000001, -89.9999999, -5.5, 12.0]]
    )
    got = format_s_region(xyz)
    assert got.dtype.kind == "U"
    assert got.tolist() == [
        "POLYGON ICRS 0.000000 0.000000 0.000000 -90.000000 "
        "0.000000 -5.500000 180.250000 12.000000"
    ]
    assert format_s_region(xyz, decimals=0)[0] == "POLYGON ICRS 0 0 0 -90 0 -6 180 12"
    assert format_s_region(xyz[0], decimals=2)[0].endswith("180.25 12.00")
    assert format_s_region(np.empty((0, 4, 3))).shape == (0,)
    with pytest.raises(ValueError):
        format_s_region(xyz, decimals=20)
    with pytest.raises(ValueError):
        format_s_region(np.zeros((2, 3, 3)))


def test_format_matches_python_formatting_and_round_trips():
    rng = np.random.default_rng(5)
    ra = rng.uniform(-10, 370, (3000, 4))
    dec = rng.uniform(-90, 90, (3000, 4))
    dec[:10] = rng.uniform(-1e-6, 1e-6, (10, 4))
    xyz = radec_to_xyz(ra, dec)
    for decimals in (6, 4, 9):
        got = format_s_region(xyz, decimals=decimals)
        r2, d2 = xyz_to_radec(xyz)

        def fmt(x, wrap=False, decimals=decimals):
            text = f"{x:.{decimals}f}"
            if wrap and float(text) == 360:
                text = f"{0:.{decimals}f}"
            return text[1:] if text.startswith("-") and float(text) == 0 else text

        ref = [
            "POLYGON ICRS "
            + " ".join(f"{fmt(a, True)} {fmt(b)}" for a, b in zip(rr, dd, strict=True))
            for rr, dd in zip(r2, d2, strict=True)
        ]
        # Python rounds the decimal value exactly, numpy rint(x * 10**d):
        # they may differ in the last digit for values within 1 ulp of a tie
        same = got == np.array(ref)
        assert same.mean() > 0.999
        back = parse_s_region(got)
        tol = np.deg2rad(0.5 * 10.0**-decimals) * 1.5
        assert angle_between(back, xyz).max() < tol
    fp = Footprints.from_s_region(format_s_region(tile_corners(10.0, 20.0, 0.0)))
    assert len(fp) == 1
    assert format_s_region(fp).shape == (1,)


# ---- Footprints: orientation, containment, edge distance -----------------------


def equator_square():
    """Tile with corners (0,0) (10,0) (10,10) (0,10): edges on the equator and
    the meridians 0 and 10, the top edge a great circle through (0,10) (10,10)."""
    return radec_to_xyz([0, 10, 10, 0], [0, 0, 10, 10])


def test_orientation_normalised():
    sq = equator_square()
    a = Footprints(np.stack([sq, sq[::-1], np.roll(sq, 1, axis=0)]))
    assert np.all(np.einsum("nkj,nj->nk", a.normals, a.centers) > 0)
    assert_allclose(np.linalg.norm(a.normals, axis=-1), 1.0)
    pts = radec_to_xyz([5, -1, 5, 11, 3], [5, 5, 0.1, 5, 9.99])
    for k in range(3):
        assert_array_equal(
            a.contains(pts, np.full(5, k)), [True, False, True, False, True]
        )
        assert_allclose(
            a.edge_distance(pts, np.full(5, k)), a.edge_distance(pts, np.zeros(5, int))
        )
    # the tile is the same after orientation, whatever the input winding
    assert_allclose(a.corners[0], a.corners[1])
    assert_allclose(np.roll(a.corners[2], -1, axis=0), a.corners[0])
    c1, c2 = Footprints(sq), Footprints(sq[::-1])
    cap = radec_to_xyz(5.0, -0.5), np.deg2rad(0.6)
    for x, y in zip(c1.relate_circle(*cap), c2.relate_circle(*cap), strict=True):
        assert_array_equal(x, y)


def test_contains_and_edge_distance_hand_made():
    fp = Footprints(equator_square())
    pts = radec_to_xyz([5, 0.5, 5, 5, -1, 5, 0], [0.5, 5, 0, -0.5, 5, 5, 0])
    inside = fp.contains(pts, np.zeros(7, int))
    assert_array_equal(inside, [True, True, True, False, False, True, True])
    d = np.rad2deg(fp.edge_distance(pts, np.zeros(7, int)))
    # distance to the equator is the declination, to a meridian great circle
    # asin(cos(dec) sin(dra))
    meridian = np.rad2deg(np.arcsin(np.cos(np.deg2rad(5)) * np.sin(np.deg2rad(0.5))))
    assert_allclose(d[:4], [0.5, meridian, 0.0, -0.5], atol=1e-12)
    assert d[4] < 0
    assert_allclose(d[6], 0.0, atol=1e-12)  # a corner is on the boundary
    # one point against all footprints, and pairwise
    two = Footprints(
        np.stack([equator_square(), radec_to_xyz([20, 30, 30, 20], [0, 0, 5, 5])])
    )
    assert_array_equal(two.contains(radec_to_xyz(25, 2)), [False, True])
    assert two.edge_distance(radec_to_xyz(25, 2)).shape == (2,)
    assert_array_equal(two.contains(radec_to_xyz([5, 25], [5, 2])), [True, True])
    with pytest.raises(ValueError, match="index"):
        two.contains(radec_to_xyz([5, 25, 1], [5, 2, 1]))


def test_footprints_container_and_export():
    ra = np.array([10.0, 200.0, 359.95])
    dec = np.array([-30.0, 60.0, 0.0])
    fp = Footprints.from_wcs(ra, dec, 256.5, 512.5, 512, 1024, -CDELT, CDELT, 0.0)
    assert len(fp) == 3
    assert len(fp[1]) == 1
    assert len(fp[[0, 2]]) == 2
    assert len(fp[np.array([True, False, True])]) == 2
    assert_allclose(fp[2].corners[0], fp.corners[2])
    cra, cdec = fp.corners_radec()
    assert cra.shape == cdec.shape == (3, 4)
    assert np.all((cra >= 0) & (cra < 360))
    assert np.any(cra[2] > 359) and np.any(cra[2] < 1)  # straddles RA 0
    regs = fp.to_regions(labels=["a", "b", "c"])
    assert [r.meta["text"] for r in regs] == ["a", "b", "c"]
    assert_allclose(regs[1].vertices.ra.deg, cra[1])
    from regions import Regions

    text = Regions(regs).serialize(format="ds9")
    assert "text={b}" in text and text.count("polygon") == 3
    assert "text" not in fp.to_regions()[0].meta
    with pytest.raises(ValueError):
        fp.to_regions(labels=["a"])


@pytest.mark.parametrize(
    "corners",
    [
        radec_to_xyz([0, 10, 10, 10], [0, 0, 10, 10]),  # duplicate corner
        radec_to_xyz([0, 10, 0, 10], [0, 0, 10, 10]),  # bow tie
        radec_to_xyz([0, 10, 20, 10], [0, 0, 0, 10]),  # collinear
        radec_to_xyz([0, 10, 3, 0], [0, 0, 3, 10]),  # concave
        np.zeros((4, 3)),
    ],
)
def test_footprints_reject_bad_quads(corners):
    with pytest.raises(ValueError, match="index \\[1\\]"):
        Footprints(np.stack([equator_square(), corners]))


# ---- circle relations ------------------------------------------------------------


def test_relate_circle_obvious_cases():
    h = fits.Header.fromtextfile(_header_path())
    fp = Footprints.from_header(h)
    c = radec_to_xyz(h["CRVAL1"], h["CRVAL2"])
    deg = np.deg2rad(1.0)
    assert rel1(fp.relate_circle(c, 0.01 * deg)) == (True, True, False)
    assert rel1(fp.relate_circle(c, 0.5 * deg)) == (True, False, True)
    assert rel1(fp.relate_circle(c, 0.1 * deg)) == (True, False, False)
    far = offset(c, 0.5 * deg, 1.0)
    assert rel1(fp.relate_circle(far, 0.2 * deg)) == (False, False, False)
    # the inscribed radius: the short half width, 256 pixels (to < 1 mas, the
    # deviation of the SIN pixel edges from great circles)
    half = fp.edge_distance(c)[0]
    assert abs(half - 256 * CDELT * deg) < 1e-3 * ARCSEC
    assert rel1(fp.relate_circle(c, half * (1 - 1e-9))) == (True, True, False)
    assert rel1(fp.relate_circle(c, half * (1 + 1e-9))) == (True, False, False)
    # a circle just touching the boundary from outside
    mid = Footprints(fp.corners).corners[0]
    edge_mid = mid[0] + mid[1]
    edge_mid /= np.linalg.norm(edge_mid)
    out = edge_mid + (edge_mid - c) * 0.1
    out /= np.linalg.norm(out)
    gap = -fp.edge_distance(out)[0]
    assert gap > 0
    assert rel1(fp.relate_circle(out, gap * (1 + 1e-7)))[0]
    assert not rel1(fp.relate_circle(out, gap * (1 - 1e-7)))[0]
    with pytest.raises(ValueError):
        fp.relate_circle(c, np.pi / 2)
    with pytest.raises(ValueError):
        fp.relate_circle(c, -1.0)


def test_relate_circle_uses_arc_not_great_circle_distance():
    # the great circle of the equator edge passes 0.1 deg from the centre at
    # (20, -0.1), but the edge arc ends at ra=10: the circle must not overlap
    fp = Footprints(equator_square())
    c = radec_to_xyz(20.0, -0.1)
    assert rel1(fp.relate_circle(c, np.deg2rad(0.2))) == (False, False, False)
    assert rel1(fp.relate_circle(c, np.deg2rad(10.01)))[0]


def test_relate_circle_pole_and_wrap():
    # a tile centred on the north pole, another across RA 0
    fp = Footprints.from_wcs(
        [0.0, 359.99], [90.0, 10.0], 256.5, 512.5, 512, 1024, -CDELT, CDELT, [30.0, 0]
    )
    pole = radec_to_xyz(123.0, 89.99)
    o, c, e = fp.relate_circle(pole, np.deg2rad(0.05))
    assert_array_equal(o, [True, False])
    assert_array_equal(c, [True, False])
    o, c, e = fp.relate_circle(radec_to_xyz(0.1, 10.0), np.deg2rad(0.3))
    assert_array_equal(o, [False, True])
    assert_array_equal(e, [False, True])


def check_circle_case(ra0, dec0, diameter, seed, n_tiles=40):
    rng = np.random.default_rng(seed)
    c = radec_to_xyz(ra0, dec0)
    r = np.deg2rad(diameter / 2)
    corners = tile_corners(*random_tiles(rng, c, r, n_tiles))
    fp = Footprints(corners)
    got = fp.relate_circle(c, r)
    *ref, margin = shapely_circle_oracle(fp.corners, c, r)
    ok = margin > BOUNDARY
    for name, g, x in zip(("overlaps", "covers", "enclosed"), got, ref, strict=True):
        assert_array_equal(
            g[ok], x[ok], err_msg=f"{name} at {ra0}, {dec0}, d={diameter}"
        )
    # reversed tile winding gives the same answers
    rev = Footprints(corners[:, ::-1]).relate_circle(c, r)
    for g, x in zip(got, rev, strict=True):
        assert_array_equal(g, x)
    # point containment against the same oracle
    pts = offset(c, rng.uniform(0, r + np.deg2rad(0.4), 200), rng.uniform(0, 7, 200))
    idx = rng.integers(0, n_tiles, 200)
    polys = shapely.polygons(gnomonic(fp.corners, c))[idx]
    ppts = shapely.points(gnomonic(pts, c))
    ref_in = shapely.covers(polys, ppts)
    far = shapely.distance(shapely.boundary(polys), ppts) > BOUNDARY
    assert_array_equal(fp.contains(pts, idx)[far], ref_in[far])
    dist = fp.edge_distance(pts, idx)
    assert_array_equal((dist >= 0)[far], ref_in[far])
    return [np.count_nonzero(x[ok]) for x in ref], np.count_nonzero(~ok)


@SETTINGS
@given(
    family=families,
    u=st.tuples(unit, unit, unit),
    logd=st.floats(np.log10(0.05), np.log10(7.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_relate_circle_vs_shapely_property(family, u, logd, seed):
    ra0, dec0 = circle_centre(family, *u)
    check_circle_case(ra0, dec0, 10**logd, seed)


@pytest.mark.parametrize("family", ["generic", "pole", "wrap"])
def test_relate_circle_vs_shapely_counts(family):
    # fixed seeds: also check that every relation occurs (the test has teeth)
    rng = np.random.default_rng(["generic", "pole", "wrap"].index(family))
    totals = np.zeros(3, int)
    skipped = 0
    for _ in range(40):
        ra0, dec0 = circle_centre(family, *rng.random(3))
        diameter = 10 ** rng.uniform(np.log10(0.05), np.log10(7))
        counts, n_skip = check_circle_case(ra0, dec0, diameter, rng.integers(2**32))
        totals += counts
        skipped += n_skip
    assert np.all(totals > 0), totals
    assert skipped <= 2


@pytest.mark.parametrize("family", ["generic", "pole", "wrap"])
def test_relate_circle_at_boundaries(family):
    # radii at the exact decision distances (from the shapely oracle) +- 2 mas
    rng = np.random.default_rng(100 + ["generic", "pole", "wrap"].index(family))
    delta = 1e-8
    checked = np.zeros(3, int)
    for _ in range(12):
        ra0, dec0 = circle_centre(family, *rng.random(3))
        c = radec_to_xyz(ra0, dec0)
        r0 = np.deg2rad(10 ** rng.uniform(np.log10(0.05), np.log10(7)) / 2)
        fp = Footprints(tile_corners(*random_tiles(rng, c, r0, 15)))
        polys = shapely.polygons(gnomonic(fp.corners, c))
        origin = shapely.points(0.0, 0.0)
        d_poly = np.arctan(shapely.distance(polys, origin))
        d_edge = np.arctan(shapely.distance(shapely.boundary(polys), origin))
        d_far = np.arctan(shapely.hausdorff_distance(origin, polys))
        for i in range(len(fp)):
            tile = fp[i]
            for k, d in enumerate((d_poly[i], d_edge[i], d_far[i])):
                if d <= 2 * delta or (k == 1 and d_poly[i] > 0):
                    continue
                checked[k] += 1
                above = tile.relate_circle(c, d + delta)[k][0]
                below = tile.relate_circle(c, d - delta)[k][0]
                # overlaps and enclosed start at d, covers stops at d
                assert (above, below) == ((False, True) if k == 1 else (True, False))
    assert np.all(checked > 10), checked


def test_contains_at_edges():
    rng = np.random.default_rng(7)
    ra, dec, rot = random_tiles(rng, radec_to_xyz(0.0, 89.9), 0.01, 50)
    fp = Footprints(tile_corners(ra, dec, rot))
    for k in range(4):
        a, b = fp.corners[:, k], fp.corners[:, (k + 1) % 4]
        mid = (a + b) / np.linalg.norm(a + b, axis=-1, keepdims=True)
        t = rng.uniform(0.1, 0.9, 50)[:, None]
        on = (1 - t) * a + t * b
        on /= np.linalg.norm(on, axis=-1, keepdims=True)
        n = fp.normals[:, k]
        idx = np.arange(50)
        for p in (mid, on):
            inside = p + 1e-10 * n
            outside = p - 1e-10 * n
            assert fp.contains(inside, idx).all()
            assert not fp.contains(outside, idx).any()
            assert_allclose(fp.edge_distance(inside, idx), 1e-10, rtol=1e-3)


def test_relate_polygon_at_boundaries():
    # regions equal to each tile grown or shrunk by 2 mas about its centre
    rng = np.random.default_rng(8)
    for family in ("generic", "pole", "wrap"):
        c = radec_to_xyz(*circle_centre(family, *rng.random(3)))
        fp = Footprints(tile_corners(*random_tiles(rng, c, 0.001, 20)))
        for i in range(len(fp)):
            centre, corners = fp.centers[i], fp.corners[i]
            for grow in (1e-8, -1e-8):
                axis = np.cross(centre, corners)
                axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
                # rotate each corner away from (or toward) the centre
                v = corners * np.cos(grow) + np.cross(axis, corners) * np.sin(grow)
                got = rel1(fp[i].relate_polygon(v))
                assert got == ((True, False, True) if grow > 0 else (True, True, False))


# ---- best image --------------------------------------------------------------------


@SETTINGS
@given(
    family=families,
    u=st.tuples(unit, unit, unit),
    k=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_best_image_vs_wcs_pixel_distance(family, u, k, seed):
    rng = np.random.default_rng(seed)
    ra0, dec0 = circle_centre(family, *u)
    p = radec_to_xyz(ra0, dec0)
    # tile centres within 0.06 deg: inside the inscribed radius 0.0711 deg
    centres = offset(p, rng.uniform(0, np.deg2rad(0.06), k), rng.uniform(0, 7, k))
    ra, dec = xyz_to_radec(centres)
    rot = np.where(
        rng.random(k) < 0.5, rng.uniform(-0.06, 0.06, k), rng.uniform(-180, 180, k)
    )
    fp = Footprints(tile_corners(ra, dec, rot))
    assert fp.contains(p).all()
    dist = fp.edge_distance(p)
    truth = np.empty(k)
    for i in range(k):
        x, y = WCS(sin_header(ra[i], dec[i], rot[i])).wcs_world2pix(ra0, dec0, 1)
        truth[i] = min(x - 0.5, 512.5 - x, y - 0.5, 1024.5 - y)
    # SIN pixel edges deviate from great circles by < 1 mas
    assert_allclose(np.rad2deg(dist) * 3600, truth * PIX_ARCSEC, atol=0.002)
    top = np.sort(truth)[-2:]
    if top[1] - top[0] > 0.003:  # no tie within the SIN curvature
        assert np.argmax(dist) == np.argmax(truth)


# ---- polygon regions ---------------------------------------------------------------


def test_convex_polygon_basics():
    sq = equator_square()
    for verts in (sq, sq[::-1]):
        poly = ConvexPolygon(verts)
        assert np.all(poly.normals @ poly.center > 0)
        assert_array_equal(
            poly.contains(radec_to_xyz([5, 11, 0], [5, 5, 0])), [True, False, True]
        )
    poly = ConvexPolygon.from_radec([0, 10, 10, 0], [0, 0, 10, 10])
    assert len(poly) == 4
    assert_allclose(np.rad2deg(poly.radius), 7.07, atol=0.05)
    assert bool(poly.contains(radec_to_xyz(5, 5)))


@pytest.mark.parametrize(
    ("ra", "dec"),
    [
        ([0, 10, 3, 0], [0, 0, 3, 10]),  # concave
        ([0, 10, 10, 10], [0, 0, 10, 10]),  # duplicate
        ([0, 5, 10, 10], [0, 0, 0, 10]),  # collinear
        ([0, 10, 0, 10], [0, 0, 10, 10]),  # self-intersecting
        ([0, 90, 180, 270], [0, 0, 0, 0]),  # a hemisphere
        ([0, 1], [0, 0]),
    ],
)
def test_convex_polygon_rejects(ra, dec):
    with pytest.raises(ValueError, match=r"not convex|K >= 3"):
        ConvexPolygon.from_radec(ra, dec)


def test_relate_polygon_hand_made():
    fp = Footprints(equator_square())
    cases = {
        # region, (overlaps, covers, enclosed)
        "inside": (([2, 4, 4, 2], [2, 2, 4, 4]), (True, True, False)),
        "around": (([-1, 11, 11, -1], [-1, -1, 11.5, 11.5]), (True, False, True)),
        "disjoint": (([20, 30, 25], [0, 0, 5]), (False, False, False)),
        # a cross: no vertex of either inside the other, only edges cross
        "cross": (([-2, 12, 12, -2], [4, 4, 6, 6]), (True, False, False)),
        # shares part of the equator edge (exactly representable: z = 0)
        "touching": (([2, 4, 4, 2], [-2, -2, 0, 0]), (True, False, False)),
    }
    for name, ((ra, dec), expected) in cases.items():
        region = ConvexPolygon.from_radec(ra, dec)
        got = tuple(bool(x[0]) for x in fp.relate_polygon(region))
        assert got == expected, name
        got = tuple(bool(x[0]) for x in fp.relate_polygon(region.vertices[::-1]))
        assert got == expected, name


def test_relate_polygon_antipodal_crossing_is_not_an_overlap():
    # a region near the antipode whose edge great circles cross the tile's
    tile = radec_to_xyz([-1, 1, 1, -1], [-1, -1, 1, 1])
    fp = Footprints(tile)
    anti = -radec_to_xyz([-2, 2, 2, -2], [0.5, 0.5, -0.5, -0.5])
    assert rel1(fp.relate_polygon(anti)) == (False, False, False)
    # the same through the exact kernel, without the bounding-cap pre-filter
    assert rel1(fp._relate_polygon(np.array([0]), ConvexPolygon(anti))) == (
        False,
        False,
        False,
    )
    # its antipode crosses the tile, with no vertex of either inside the other
    assert rel1(fp.relate_polygon(-anti)) == (True, False, False)


def random_convex_region(rng, c, size):
    """A random convex polygon: the hull of 3-10 points within ``size`` of c.

    Built as a planar convex hull in the gnomonic projection about c, which
    maps back to a convex spherical polygon (straight lines are great circles).
    """
    k = int(rng.integers(3, 11))
    pts = offset(c, size * np.sqrt(rng.uniform(0.05, 1, k)), rng.uniform(0, 7, k))
    hull = shapely.convex_hull(shapely.multipoints(gnomonic(pts, c)))
    xy = shapely.get_coordinates(hull)[:-1]
    e, n = basis(c)
    v = c + xy[:, :1] * e + xy[:, 1:] * n
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@SETTINGS
@given(
    family=families,
    u=st.tuples(unit, unit, unit),
    logd=st.floats(np.log10(0.05), np.log10(7.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_relate_polygon_vs_shapely_property(family, u, logd, seed):
    rng = np.random.default_rng(seed)
    ra0, dec0 = circle_centre(family, *u)
    c = radec_to_xyz(ra0, dec0)
    r = np.deg2rad(10**logd / 2)
    verts = random_convex_region(rng, c, r)
    if len(verts) < 3:
        return  # all points collinear: no polygon
    region = ConvexPolygon(verts)
    fp = Footprints(tile_corners(*random_tiles(rng, c, r, 40)))
    got = fp.relate_polygon(region)
    tiles = shapely.polygons(gnomonic(fp.corners, c))
    reg = shapely.polygons(gnomonic(region.vertices, c))
    ref = (
        shapely.intersects(tiles, reg),
        shapely.covers(tiles, reg),
        shapely.covers(reg, tiles),
    )
    # exclude vertices within BOUNDARY of the other boundary (touching cases)
    t_vs_r = shapely.distance(
        shapely.points(gnomonic(fp.corners, c)), shapely.boundary(reg)
    ).min(axis=1)
    r_vs_t = shapely.distance(
        shapely.points(gnomonic(region.vertices, c))[None, :],
        shapely.boundary(tiles)[:, None],
    ).min(axis=1)
    ok = np.minimum(t_vs_r, r_vs_t) > BOUNDARY
    for g, x in zip(got, ref, strict=True):
        assert_array_equal(g[ok], x[ok])
    # point containment of the region polygon
    pts = offset(c, rng.uniform(0, 1.3 * r, 100), rng.uniform(0, 7, 100))
    ppts = shapely.points(gnomonic(pts, c))
    far = shapely.distance(shapely.boundary(reg), ppts) > BOUNDARY
    assert_array_equal(region.contains(pts)[far], shapely.covers(reg, ppts)[far])


def test_relate_polygon_counts_have_teeth():
    rng = np.random.default_rng(11)
    totals = np.zeros(3, int)
    for _ in range(30):
        c = radec_to_xyz(rng.uniform(0, 360), rng.uniform(-89.9, 89.9))
        r = np.deg2rad(10 ** rng.uniform(np.log10(0.05), np.log10(7)) / 2)
        region = ConvexPolygon(offset(c, r, np.linspace(0, 2 * np.pi, 7)[:-1]))
        fp = Footprints(tile_corners(*random_tiles(rng, c, r, 40)))
        got = fp.relate_polygon(region)
        tiles = shapely.polygons(gnomonic(fp.corners, c))
        reg = shapely.polygons(gnomonic(region.vertices, c))
        assert_array_equal(got[0], shapely.intersects(tiles, reg))
        assert_array_equal(got[1], shapely.covers(tiles, reg))
        assert_array_equal(got[2], shapely.covers(reg, tiles))
        totals += [np.count_nonzero(g) for g in got]
    assert np.all(totals > 0), totals


def test_large_inputs_are_vectorised():
    # 2e5 tiles against one circle, and 1e5 (point, tile) pairs
    deg = np.deg2rad(1.0)
    rng = np.random.default_rng(3)
    n = 200_000
    ra = rng.uniform(0, 360, n)
    dec = np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    fp = Footprints.from_wcs(ra, dec, 256.5, 512.5, 512, 1024, -CDELT, CDELT, 0.0)
    c = radec_to_xyz(100.0, 20.0)
    o, _, e = fp.relate_circle(c, np.deg2rad(3.5))
    near = angle_between(fp.centers, c) < np.deg2rad(3.5 - 0.16)
    assert o[near].all() and e[near].all()
    assert not o[angle_between(fp.centers, c) > np.deg2rad(3.5 + 0.16)].any()
    idx = rng.integers(0, n, 100_000)
    pts = fp.centers[idx]
    assert fp.contains(pts, idx).all()
    assert_allclose(fp.edge_distance(pts, idx), 256 * CDELT * deg, atol=1e-3 * ARCSEC)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (4,), (2, 4, 2)])
def test_corners_of_another_shape_are_refused_by_footprints_and_s_region(shape):
    from twomass_vo.geometry.footprints import Footprints
    from twomass_vo.geometry.s_region import format_s_region

    corners = np.ones(shape)
    expected = r"corners must have shape \(N, 4, 3\)"
    for make in (Footprints, format_s_region):
        with pytest.raises(ValueError, match=expected) as info:
            make(corners)
        assert str(info.value).endswith(f"not {shape}")
