# Licensed under a 3-clause BSD style license - see LICENSE
"""Tests of `twomass_vo.inputs.coordinates`.

Coordinate strings, designations, names and columns.

Expected positions are computed independently of astropy's frame machinery:
plain sexagesimal arithmetic for ICRS inputs, ERFA's ``fk5hz`` (FK5 J2000 ->
Hipparcos/ICRS) and ``fk45z`` (FK4 B1950 -> FK5 J2000), a hand-written
Newcomb (Kinoshita) FK4 precession matrix, the Hipparcos Galactic matrix and
a rotation by the J2000 obliquity for ecliptic inputs.
"""

import math
import re
import urllib.error

import erfa
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import FK5, BarycentricMeanEcliptic, Galactic, SkyCoord
from astropy.coordinates.name_resolve import NameResolveError
from astropy.table import Column, MaskedColumn
from astropy.utils.data import conf as data_conf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import twomass_vo
from twomass_vo.exceptions import InputError, InvalidQueryError, NameResolutionError
from twomass_vo.inputs import name_resolver
from twomass_vo.inputs.coordinates import (
    decode_designation,
    default_resolver,
    parse_coordinate_columns,
    parse_coordinates,
    resolve_name,
    use_resolver,
)

ARCSEC = math.pi / 180 / 3600


# ---------------------------------------------------------------------------
# Independent reference transformations.


def hms(h, m, s):
    """Right ascension in radians from hours, minutes, seconds."""
    return math.radians((h + m / 60 + s / 3600) * 15)


def dms(sign, d, m, s):
    """Declination in radians from sign, degrees, arcmin, arcsec."""
    return sign * math.radians(d + m / 60 + s / 3600)


def fk5_j2000_to_icrs(ra, dec):
    # ERFA fk5hz: FK5 J2000 -> Hipparcos (= ICRS), no proper motion, at J2000.
    return erfa.fk5hz(ra, dec, 2451545.0, 0.0)


def fk4_b1950_to_icrs(ra, dec, epoch):
    # ERFA fk45z: FK4 B1950 (at Besselian epoch ``epoch``) -> FK5 J2000.
    return fk5_j2000_to_icrs(*erfa.fk45z(ra, dec, epoch))


def newcomb_precession(bep0, bep1):
    """FK4 precession matrix B<bep0> -> B<bep1> (Kinoshita 1975, as SLALIB prebn)."""
    bigt = (bep0 - 1850) / 100
    t = (bep1 - bep0) / 100
    tas2r = t * ARCSEC
    w = 2303.5548 + (1.39720 + 0.000059 * bigt) * bigt
    zeta = (w + (0.30242 - 0.000269 * bigt + 0.017996 * t) * t) * tas2r
    z = (w + (1.09478 + 0.000387 * bigt + 0.018324 * t) * t) * tas2r
    theta = (
        2005.1125
        + (-0.85294 - 0.000365 * bigt) * bigt
        + (-0.42647 - 0.000365 * bigt - 0.041802 * t) * t
    ) * tas2r
    return erfa.rz(-z, erfa.ry(theta, erfa.rz(-zeta, np.eye(3))))


# Galactic -> ICRS rotation (Hipparcos catalogue, ESA SP-1200 vol. 1, 1.5.3).
GAL_TO_ICRS = np.array(
    [
        [-0.0548755604, +0.4941094279, -0.8676661490],
        [-0.8734370902, -0.4448296300, -0.1980763734],
        [-0.4838350155, +0.7469822445, +0.4559837762],
    ]
)


def galactic_to_icrs(l_deg, b_deg):
    return erfa.c2s(GAL_TO_ICRS @ erfa.s2c(math.radians(l_deg), math.radians(b_deg)))


def ecliptic_j2000_to_icrs(lon_deg, lat_deg):
    # Rotation by the IAU 2006 obliquity at J2000; ignores the ~20 mas frame bias.
    eps = 84381.406 * ARCSEC
    vec = erfa.s2c(math.radians(lon_deg), math.radians(lat_deg))
    return erfa.c2s(erfa.rx(-eps, np.eye(3)) @ vec)


def fk4_b1983_to_icrs(ra, dec):
    vec = newcomb_precession(1983.0, 1950.0) @ erfa.s2c(ra, dec)
    return fk4_b1950_to_icrs(*erfa.c2s(vec), 1983.0)


def separation_arcsec(coord, ra_rad, dec_rad):
    return coord.separation(SkyCoord(ra_rad * u.rad, dec_rad * u.rad)).arcsec


def no_resolver(name):
    raise AssertionError(f"the resolver must not be called (got {name!r})")


# ---------------------------------------------------------------------------
# The examples of the help page.

HELP_EXAMPLES = [
    # (string, expected ICRS (ra, dec) in radians, tolerance in arcsec)
    (
        "23h04m56.63s 12d19m22.7s Equ J2000",
        fk5_j2000_to_icrs(hms(23, 4, 56.63), dms(1, 12, 19, 22.7)),
        0.002,
    ),
    (
        "17h 44m 34s -27d 59m 13s Equatorial J2000",
        fk5_j2000_to_icrs(hms(17, 44, 34), dms(-1, 27, 59, 13)),
        0.002,
    ),
    ("17h44m34s -27d59m13s", (hms(17, 44, 34), dms(-1, 27, 59, 13)), 1e-6),
    (
        "00h42m44.3s +41d16m08s b1950",
        fk4_b1950_to_icrs(hms(0, 42, 44.3), dms(1, 41, 16, 8), 1950.0),
        0.01,
    ),
    ("00:42:44.3 -41:16:08", (hms(0, 42, 44.3), dms(-1, 41, 16, 8)), 1e-6),
    (
        "00 42 44.3 -41 16 08 b1983",
        fk4_b1983_to_icrs(hms(0, 42, 44.3), dms(-1, 41, 16, 8)),
        0.01,
    ),
    ("004244.3 -411608", (hms(0, 42, 44.3), dms(-1, 41, 16, 8)), 1e-6),
    ("17h -27d Equ J2000", fk5_j2000_to_icrs(hms(17, 0, 0), dms(-1, 27, 0, 0)), 0.002),
    ("17h -27d", (hms(17, 0, 0), dms(-1, 27, 0, 0)), 1e-6),
    ("34.5565 54.2321 gal", galactic_to_icrs(34.5565, 54.2321), 0.05),
    ("34. 54. ecl", ecliptic_j2000_to_icrs(34.0, 54.0), 0.05),
    ("10.68 41.27", (math.radians(10.68), math.radians(41.27)), 1e-6),
]


@pytest.mark.parametrize(("text", "expected", "tol"), HELP_EXAMPLES)
def test_help_page_examples(text, expected, tol):
    coord = parse_coordinates(text, resolver=no_resolver)
    assert isinstance(coord, SkyCoord)
    assert coord.isscalar
    assert coord.frame.name == "icrs"
    assert separation_arcsec(coord, *expected) < tol


def test_fk4_b1950_is_not_icrs():
    # The equinox matters: B1950 moves M31 by about 0.6 deg.
    b1950 = parse_coordinates("00h42m44.3s +41d16m08s b1950")
    icrs = parse_coordinates("00h42m44.3s +41d16m08s")
    assert 0.5 < b1950.separation(icrs).deg < 0.7


def test_equ_j2000_is_fk5_close_to_icrs():
    fk5 = parse_coordinates("17h44m34s -27d59m13s J2000")
    icrs = parse_coordinates("17h44m34s -27d59m13s")
    assert 0.001 < fk5.separation(icrs).arcsec < 0.05


@pytest.mark.parametrize(
    ("text", "ra_deg", "dec_deg"),
    [
        ("12 00 00 -00 30 00", 180.0, -0.5),
        ("12:00:00 -00:30:00", 180.0, -0.5),
        ("12h -0d30m", 180.0, -0.5),
        ("12h -00d30m00s", 180.0, -0.5),
        ("12 00 00 \u221200 30 00", 180.0, -0.5),
        ("12:00:00 \u22120:30:00", 180.0, -0.5),
        ("12h00m00s\u22120d30m00s", 180.0, -0.5),
        ("12:00:00-00:30:00", 180.0, -0.5),
        ("12 00 00 +00 30 00", 180.0, 0.5),
        ("12 00 00 00 30 00", 180.0, 0.5),
        ("10.68, 41.27", 10.68, 41.27),
        ("10.68 ,41.27", 10.68, 41.27),
        ("  10.68   41.27  ", 10.68, 41.27),
        ("10.68 -41", 10.68, -41.0),
        ("1.5e1 -3", 15.0, -3.0),
        ("+10.5 -.5", 10.5, -0.5),
        ("0. -90.", 0.0, -90.0),
        ("359.999 90.", 359.999, 90.0),
        ("12:30 +10", 187.5, 10.0),
        ("12:30.5 +10:30", 187.625, 10.5),
        ("12 30 +10", 187.5, 10.0),
        ("12 30 45 -10", 15 * (12 + 30 / 60 + 45 / 3600), -10.0),
        ("12 30 10 30", 187.5, 10.5),
        ("17.5h -27.25d", 262.5, -27.25),
        (
            "17H44M34S -27D59M13S",
            15 * (17 + 44 / 60 + 34 / 3600),
            -(27 + 59 / 60 + 13 / 3600),
        ),
        ("12h 30m 0s +10d 30m 0s", 187.5, 10.5),
        ("12h30.5m +10d30.5m", 15 * (12 + 30.5 / 60), 10 + 30.5 / 60),
        ("10d30m 20d15m", 10.5, 20.25),
        ("10.5d 20.25d", 10.5, 20.25),
        ("12°30′00″ −10°30′00″", 12.5, -10.5),
        ("004244.3-411608", 15 * (42 / 60 + 44.3 / 3600), -(41 + 16 / 60 + 8 / 3600)),
        (
            "004244.30 +411608.5",
            15 * (42 / 60 + 44.3 / 3600),
            41 + 16 / 60 + 8.5 / 3600,
        ),
        ("004244 411608", 15 * (42 / 60 + 44 / 3600), 41 + 16 / 60 + 8 / 3600),
        ("10.68 41.27 icrs", 10.68, 41.27),
        ("10.68 41.27 ICRS J2000", 10.68, 41.27),
        ("10.68 41.27 Equ", 10.68, 41.27),
        ("10.68 41.27 equatorial", 10.68, 41.27),
    ],
)
def test_icrs_forms(text, ra_deg, dec_deg):
    coord = parse_coordinates(text, resolver=no_resolver)
    assert coord.ra.deg == pytest.approx(ra_deg, abs=1e-9)
    assert coord.dec.deg == pytest.approx(dec_deg, abs=1e-9)


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("J2000", "fk5"),
        ("j2000.0", "fk5"),
        ("Equ J2000", "fk5"),
        ("EQUATORIAL j2000", "fk5"),
        ("fk5", "fk5"),
        ("FK5 J2000", "fk5"),
        ("Equatorial B1950", "b1950"),
        ("b1950", "b1950"),
        ("B1950.0", "b1950"),
        ("fk4", "b1950"),
        ("fk4 b1950", "b1950"),
        ("B1983", "b1983"),
        ("fk4 B1983", "b1983"),
        ("icrs", "icrs"),
        ("", "icrs"),
    ],
)
def test_equinox_tokens(suffix, expected):
    ra, dec = hms(0, 42, 44.3), dms(-1, 41, 16, 8)
    reference = {
        "fk5": fk5_j2000_to_icrs(ra, dec),
        "b1950": fk4_b1950_to_icrs(ra, dec, 1950.0),
        "b1983": fk4_b1983_to_icrs(ra, dec),
        "icrs": (ra, dec),
    }[expected]
    coord = parse_coordinates(f"00 42 44.3 -41 16 08 {suffix}", resolver=no_resolver)
    assert separation_arcsec(coord, *reference) < 0.01


@pytest.mark.parametrize("suffix", ["gal", "GAL", "galactic", "Galactic"])
def test_galactic_tokens(suffix):
    coord = parse_coordinates(f"34.5565 54.2321 {suffix}", resolver=no_resolver)
    assert separation_arcsec(coord, *galactic_to_icrs(34.5565, 54.2321)) < 0.05


@pytest.mark.parametrize(
    "suffix", ["ecl", "ECL", "ecliptic", "ecl J2000", "Ecliptic j2000.0"]
)
def test_ecliptic_tokens(suffix):
    coord = parse_coordinates(f"34. 54. {suffix}", resolver=no_resolver)
    assert separation_arcsec(coord, *ecliptic_j2000_to_icrs(34.0, 54.0)) < 0.05


def test_ecliptic_other_equinox_precesses():
    b1950 = parse_coordinates("34. 54. ecl B1950")
    ecl = b1950.transform_to(BarycentricMeanEcliptic(equinox="J2000"))
    # 50 years of general precession in longitude (50.29"/yr); the ecliptic
    # itself moves by less than 0.5"/yr.
    assert 2450 < (ecl.lon.deg - 34.0) * 3600 < 2580
    assert abs(ecl.lat.deg - 54.0) * 3600 < 30


def test_galactic_sexagesimal_and_negative_longitude():
    # In Galactic frames sexagesimal longitudes are degrees, and l < 0 wraps.
    a = parse_coordinates("34 33 23.4 +54 13 55.56 gal")
    assert separation_arcsec(a, *galactic_to_icrs(34.5565, 54.2321)) < 0.05
    b = parse_coordinates("-10.5 20. gal")
    assert separation_arcsec(b, *galactic_to_icrs(349.5, 20.0)) < 0.05
    c = parse_coordinates("10 20 gal")  # integers are unambiguous in degrees
    assert separation_arcsec(c, *galactic_to_icrs(10.0, 20.0)) < 0.05


def test_skycoord_input_is_transformed_to_icrs():
    fk5 = SkyCoord(10 * u.deg, 20 * u.deg, frame=FK5(equinox="J1975"))
    coord = parse_coordinates(fk5, resolver=no_resolver)
    assert coord.frame.name == "icrs"
    assert coord.separation(fk5).arcsec < 1e-6
    assert coord.separation(SkyCoord(10 * u.deg, 20 * u.deg)).arcsec > 100
    frame = Galactic(l=34.5565 * u.deg, b=54.2321 * u.deg)
    coord = parse_coordinates(frame)
    assert separation_arcsec(coord, *galactic_to_icrs(34.5565, 54.2321)) < 0.05


def test_bad_input_types():
    with pytest.raises(InvalidQueryError, match="single position"):
        parse_coordinates(SkyCoord([1, 2] * u.deg, [3, 4] * u.deg))
    with pytest.raises(InvalidQueryError, match="no coordinates"):
        parse_coordinates(Galactic())
    with pytest.raises(TypeError, match="string or a SkyCoord"):
        parse_coordinates(12.5)
    with pytest.raises(InvalidQueryError, match="empty"):
        parse_coordinates("   ")


# ---------------------------------------------------------------------------
# Errors.


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("24h 10d", "hours 24 must be less than 24"),
        ("24:00:00 +10:00:00", "hours 24 must be less than 24"),
        ("25 00 00 +10 00 00", "hours 25 must be less than 24"),
        ("360. 10.", "360 deg is out of range"),
        ("400.5 10.", "400.5 deg is out of range"),
        ("360d 10d", "360 deg is out of range"),
        ("-10.5 20.", "cannot be negative"),
        ("10. 91.", "declination 91 deg is out of range"),
        ("10. -90.5", "declination -90.5 deg is out of range"),
        ("12 00 00 +91 00 00", "declination 91 deg is out of range"),
        ("12 00 00 +90 00 01", "is out of range"),
        ("12:60:00 +10:00:00", "minutes 60 must be less than 60"),
        ("12:61:00 +10:00:00", "minutes 61 must be less than 60"),
        ("12:00:60 +10:00:00", "seconds 60 must be less than 60"),
        ("12:00:00 +10:60:00", "declination minutes 60"),
        ("12h00m00s +10d00m60s", "declination seconds 60"),
        ("12h 60m -10d", "minutes 60"),
        ("126000 +100000", "minutes 60"),
        ("34.5 91. gal", "latitude 91 deg is out of range"),
        ("360. 10. gal", "longitude 360 deg is out of range"),
        ("-181. 10. gal", "longitude -181 deg is out of range"),
        ("34. -95. ecl", "latitude -95 deg"),
        ("12 34", "ambiguous"),
        ("12 -5", "ambiguous"),
        ("1e400 5", "'1e400' is not a finite number"),
        ("5. -1e999", "'-1e999' is not a finite number"),
        ("12", "expected 2"),
        ("12 30 45", "cannot tell where the declination starts"),
        ("1 2 3 4 5 6 7", "has 7 numbers"),
        ("12 30 -10 -5", "more than one signed"),
        ("12.5 30 00 +10 00 00", "must be a whole number"),
        ("12 30 00 +10 5e1 00", "exponents"),
        ("12 30 40 50 +10", "1 to 3 sexagesimal fields"),
        ("12h30 -10d", "unit letters"),
        ("12h 30m 10s", "unit letters"),
        ("12h -10h", "declination cannot be given in hours"),
        ("12h 10d gal", "longitude cannot be given in hours"),
        ("12.5h30m -10d", "whole number"),
        ("12:30:00 -10 30 00", "colon-separated"),
        ("12::30 -10", "colon-separated"),
        ("004244.3 -411608 gal", "compact form"),
        ("10. 10. icrs B1950", "ICRS has no equinox"),
        ("10. 10. gal J2000", "Galactic coordinates have no equinox"),
        ("1.2.3 4.5", "'1.2.3' is not a decimal number"),
    ],
)
def test_malformed_or_out_of_range_is_an_error_not_a_name(text, match):
    with pytest.raises(InvalidQueryError, match=match) as info:
        parse_coordinates(text, resolver=no_resolver)
    assert not isinstance(info.value, NameResolutionError)
    # The message names the value.
    assert repr(text) in str(info.value)


# ---------------------------------------------------------------------------
# 2MASS designations.

# Real Point Source Catalog rows (IRSA Gator, fp_psc; designation, ra, dec as
# float32 degrees), around M31 and near (10, 10) deg.
PSC_ROWS = [
    ("00424398+4116028", "10.683263", "41.267456"),
    ("00424386+4116123", "10.682777", "41.27011"),
    ("00424433+4116085", "10.684737", "41.269035"),
    ("00424377+4116045", "10.682383", "41.267925"),
    ("00424464+4116092", "10.686026", "41.269226"),
    ("00424416+4116152", "10.684029", "41.2709"),
    ("00424502+4116130", "10.687611", "41.2703"),
    ("00424497+4116034", "10.687414", "41.26763"),
    ("00424420+4116009", "10.68418", "41.26694"),
    ("00424414+4116000", "10.683944", "41.26668"),
    ("00400376+1005572", "10.015696", "10.099228"),
    ("00401439+1005076", "10.059964", "10.085445"),
    ("00400133+1001062", "10.005549", "10.018401"),
]


@pytest.mark.parametrize(("designation", "ra", "dec"), PSC_ROWS)
def test_designation_matches_catalogue_within_truncation(designation, ra, dec):
    ra = float(np.float32(ra))
    dec = float(np.float32(dec))
    coord = decode_designation(f"2MASS J{designation}")
    # Truncation: the catalogue value is at or above the decoded one, by less
    # than 0.01 s in RA and 0.1" in dec (float32 catalogue values: 2 mas slack).
    slack = 2e-3 / 3600
    d_ra_s = (ra - coord.ra.deg) * 3600 / 15
    d_dec = (abs(dec) - abs(coord.dec.deg)) * 3600
    assert -slack * 3600 / 15 <= d_ra_s < 0.01 + slack * 3600 / 15
    assert -slack * 3600 <= d_dec < 0.1 + slack * 3600


@pytest.mark.parametrize(
    "name",
    [
        "2MASS J00424433+4116074",
        "2MASSJ00424433+4116074",
        "2MASS 00424433+4116074",
        "2mass j00424433+4116074",
        "  2MASS  J00424433+4116074 ",
    ],
)
def test_psc_designation_forms(name):
    expected = (hms(0, 42, 44.33), dms(1, 41, 16, 7.4))
    coord = decode_designation(name)
    assert separation_arcsec(coord, *expected) < 1e-6
    assert (
        separation_arcsec(parse_coordinates(name, resolver=no_resolver), *expected)
        < 1e-6
    )


@pytest.mark.parametrize(
    "name",
    ["2MASX J23045666+1219223", "2MASXJ23045666+1219223", "2MASX 23045666+1219223"],
)
def test_xsc_designation_forms(name):
    expected = (hms(23, 4, 56.66), dms(1, 12, 19, 22.3))
    coord = parse_coordinates(name, resolver=no_resolver)
    assert coord.frame.name == "icrs"
    assert separation_arcsec(coord, *expected) < 1e-6


def test_designation_negative_and_older_prefixes():
    coord = decode_designation("2MASS J12073346\u22123932539")
    assert separation_arcsec(coord, hms(12, 7, 33.46), dms(-1, 39, 32, 53.9)) < 1e-6
    coord = decode_designation("2MASSW J1207334-393254")
    assert separation_arcsec(coord, hms(12, 7, 33.4), dms(-1, 39, 32, 54)) < 1e-6
    coord = decode_designation("2MASS J00000000-0030000")
    assert coord.dec.deg == pytest.approx(-0.5, abs=1e-12)


@pytest.mark.parametrize(
    "name",
    ["M 31", "2MASS", "2MASS J0042+41", "SDSS J004244.33+411607.4", "", "NGC 7479"],
)
def test_not_a_designation(name):
    assert decode_designation(name) is None


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("2MASS J24000000+0000000", "hours 24"),
        ("2MASS J00600000+0000000", "minutes 60"),
        ("2MASS J00006000+0000000", "seconds 60"),
        ("2MASS J00000000+9100000", "declination 91"),
    ],
)
def test_bad_designation_is_an_error(name, match):
    with pytest.raises(InvalidQueryError, match=match):
        decode_designation(name)
    with pytest.raises(InvalidQueryError, match=match):
        parse_coordinates(name, resolver=no_resolver)


@settings(max_examples=200, deadline=None)
@given(
    ra=st.floats(0, 360, exclude_max=True, allow_nan=False),
    dec=st.floats(-90, 90, allow_nan=False),
)
def test_designation_round_trip(ra, dec):
    # Build the PSC designation by truncation, as the catalogue does.
    ra_cs = min(math.floor(ra / 15 * 3600 * 100), 24 * 3600 * 100 - 1)  # 0.01 s
    dec_ds = math.floor(abs(dec) * 3600 * 10)  # 0.1 arcsec
    h, rest = divmod(ra_cs, 3600 * 100)
    m, s = divmod(rest, 60 * 100)
    d, rest = divmod(dec_ds, 3600 * 10)
    dm, ds = divmod(rest, 60 * 10)
    sign = "-" if dec < 0 else "+"
    name = f"2MASS J{h:02d}{m:02d}{s:04d}{sign}{d:02d}{dm:02d}{ds:03d}"
    coord = decode_designation(name)
    assert coord.ra.deg == pytest.approx(ra_cs / 100 / 3600 * 15, abs=1e-10)
    assert coord.dec.deg == pytest.approx(
        math.copysign(dec_ds / 36000, -1 if dec < 0 else 1), abs=1e-10
    )
    # truncation: the decoded value is at most one last digit below (float slack 1e-9)
    assert -1e-9 <= (ra - coord.ra.deg) * 3600 / 15 < 0.01 + 1e-9
    assert -1e-9 <= (abs(dec) - abs(coord.dec.deg)) * 3600 < 0.1 + 1e-9


# ---------------------------------------------------------------------------
# Object names and resolvers.

M83 = SkyCoord(204.253958 * u.deg, -29.865417 * u.deg)


def fake_resolver(calls=None):
    known = {"m83": M83, "ngc 7479": SkyCoord(346.23604 * u.deg, 12.32289 * u.deg)}

    def resolve(name):
        if calls is not None:
            calls.append(name)
        return known[name.lower()]

    return resolve


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("m83", "m83"),
        ("M83", "M83"),
        ("NGC 7479", "NGC 7479"),
        ("  NGC   7479 ", "NGC 7479"),
    ],
)
def test_names_go_to_the_resolver(name, sent):
    calls = []
    coord = parse_coordinates(name, resolver=fake_resolver(calls))
    assert calls == [sent]
    assert coord.frame.name == "icrs"


@pytest.mark.parametrize(
    "name",
    [
        "1ES 1959+650",
        "1E 0102.2-7219",
        "3C 273",
        "4U 1700-37",
        "PSR B1919+21",
        "PSR J0437-4715",
        "M 31",
        "Sgr A*",
        "J2000",
        "gal",
        "2MASS",
        "SDSS J004244.33+411607.4",
        "NGC 7479 gal",
        "Foo icrs B1950",
        "Bar gal J2000",
    ],
)
def test_names_that_contain_numbers_are_names(name):
    calls = []
    with pytest.raises(
        NameResolutionError, match=re.escape(f"could not resolve {name!r}")
    ):
        parse_coordinates(name, resolver=lambda n: calls.append(n) or {}[n])
    assert calls == [name]


def test_resolver_failure_names_the_object():
    def failing(name):
        raise KeyError(name)

    with pytest.raises(
        NameResolutionError, match=r"could not resolve 'xyzzy': KeyError"
    ):
        parse_coordinates("xyzzy", resolver=failing)


def test_resolver_network_failure_says_offline():
    def offline(name):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(
        NameResolutionError, match=r"could not resolve 'm83': .*\(offline\?\)"
    ):
        parse_coordinates("m83", resolver=offline)


def test_resolver_result_is_transformed_to_icrs():
    gal = SkyCoord(l=34.5565 * u.deg, b=54.2321 * u.deg, frame="galactic")
    coord = parse_coordinates("my galaxy", resolver=lambda name: gal)
    assert coord.frame.name == "icrs"
    assert separation_arcsec(coord, *galactic_to_icrs(34.5565, 54.2321)) < 0.05
    # A frame with data is accepted too.
    coord = parse_coordinates("my galaxy", resolver=lambda name: gal.frame)
    assert coord.frame.name == "icrs"


def test_resolver_returning_garbage():
    with pytest.raises(NameResolutionError, match="returned tuple, not a SkyCoord"):
        parse_coordinates("m83", resolver=lambda name: (1.0, 2.0))
    many = SkyCoord([1, 2] * u.deg, [3, 4] * u.deg)
    with pytest.raises(InvalidQueryError, match="single position"):
        parse_coordinates("m83", resolver=lambda name: many)


def test_name_resolution_error_is_an_invalid_query_error():
    with pytest.raises(InvalidQueryError):
        parse_coordinates("m83", resolver=lambda name: {}[name])


def test_use_resolver_context_manager_restores():
    assert default_resolver.get() is resolve_name
    calls = []
    with use_resolver(fake_resolver(calls)):
        coord = parse_coordinates("m83")
        assert coord.separation(M83).arcsec < 1e-6
        # An explicit resolver wins over the default one.
        other = SkyCoord(1 * u.deg, 2 * u.deg)
        assert (
            parse_coordinates("m83", resolver=lambda n: other).separation(other).deg
            < 1e-9
        )
    assert calls == ["m83"]
    assert default_resolver.get() is resolve_name


def test_use_resolver_permanent_and_reset():
    try:
        use_resolver(fake_resolver())
        assert parse_coordinates("m83").separation(M83).arcsec < 1e-6
    finally:
        use_resolver(None)
    assert default_resolver.get() is resolve_name


def test_use_resolver_rejects_non_callables():
    with pytest.raises(TypeError, match="callable"):
        use_resolver("sesame")
    assert default_resolver.get() is resolve_name


def test_default_resolver_offline(monkeypatch):
    def from_name(name, *args, **kwargs):
        raise NameResolveError(
            "All Sesame queries failed. Unable to retrieve coordinates. See errors per"
            " URL below: \n https://cds.unistra.fr/: [Errno -3] Temporary failure"
        )

    monkeypatch.setattr(SkyCoord, "from_name", from_name)
    with pytest.raises(
        NameResolutionError, match=r"could not resolve 'm83': .*\(offline\?\)"
    ):
        parse_coordinates("m83")
    with pytest.raises(NameResolutionError, match=r"could not resolve 'm83'"):
        resolve_name("m83")


def test_default_resolver_socket_error(monkeypatch):
    def from_name(name, *args, **kwargs):
        raise urllib.error.URLError(OSError("Network is unreachable"))

    monkeypatch.setattr(SkyCoord, "from_name", from_name)
    with pytest.raises(
        NameResolutionError, match=r"'NGC 7479'.*unreachable.*\(offline\?\)"
    ):
        parse_coordinates("NGC 7479")


def test_default_resolver_unknown_name(monkeypatch):
    def from_name(name, *args, **kwargs):
        raise NameResolveError(f"Unable to find coordinates for name '{name}' using x")

    monkeypatch.setattr(SkyCoord, "from_name", from_name)
    with pytest.raises(
        NameResolutionError, match=r"could not resolve 'no such thing'.*unknown name"
    ):
        parse_coordinates("no such thing")


def test_default_resolver_uses_conf_timeout(monkeypatch):
    seen = {}

    def from_name(name, *args, **kwargs):
        seen["timeout"] = data_conf.remote_timeout
        seen["name"] = name
        return SkyCoord(
            204.253958 * u.deg, -29.865417 * u.deg, frame=FK5(equinox="J2000")
        )

    monkeypatch.setattr(SkyCoord, "from_name", from_name)
    before = data_conf.remote_timeout
    with twomass_vo.conf.set_temp("timeout", 7):
        coord = parse_coordinates("m83")
    assert seen == {"timeout": 7, "name": "m83"}
    assert data_conf.remote_timeout == before
    assert coord.frame.name == "icrs"
    assert 0.001 < coord.separation(M83).arcsec < 0.05  # FK5 -> ICRS applied


def test_module_default_is_looked_up_at_call_time(monkeypatch):
    # Replacing the resolver module's resolve_name replaces the default
    # resolver, also after the default was set back explicitly.
    use_resolver(None)
    monkeypatch.setattr(name_resolver, "resolve_name", fake_resolver())
    assert parse_coordinates("m83").separation(M83).arcsec < 1e-6


# ---------------------------------------------------------------------------
# Round trip of formatted positions.


def _format(ra, dec, style, plus):
    """Format ICRS degrees, truncated to 1 ms of time and 0.01 arcsec."""
    ra_ms = min(math.floor(ra / 15 * 3600 * 1000), 24 * 3600 * 1000 - 1)
    dec_cas = math.floor(abs(dec) * 3600 * 100)
    h, rest = divmod(ra_ms, 3600 * 1000)
    m, rest = divmod(rest, 60 * 1000)
    s = f"{rest // 1000:02d}.{rest % 1000:03d}"
    d, rest = divmod(dec_cas, 3600 * 100)
    dm, rest = divmod(rest, 60 * 100)
    ds = f"{rest // 100:02d}.{rest % 100:02d}"
    sign = "-" if dec < 0 else ("+" if plus else "")
    text = {
        "letters": f"{h:02d}h{m:02d}m{s}s {sign}{d:02d}d{dm:02d}m{ds}s",
        "spaced letters": f"{h}h {m}m {s}s {sign}{d}d {dm}m {ds}s",
        "colons": f"{h:02d}:{m:02d}:{s} {sign}{d:02d}:{dm:02d}:{ds}",
        "spaces": f"{h:02d} {m:02d} {s} {sign}{d:02d} {dm:02d} {ds}",
        "compact": f"{h:02d}{m:02d}{s} {sign}{d:02d}{dm:02d}{ds}",
        "symbols": f"{h}h{m}m{s}s {sign}{d}°{dm}′{ds}″",
    }[style]
    exact_dec = dec_cas / 360000 * (-1 if dec < 0 else 1)
    return text, ra_ms / 1000 / 3600 * 15, exact_dec


@settings(max_examples=300, deadline=None)
@given(
    ra=st.floats(0, 360, exclude_max=True, allow_nan=False),
    dec=st.floats(-90, 90, allow_nan=False),
    style=st.sampled_from(
        ["letters", "spaced letters", "colons", "spaces", "compact", "symbols"]
    ),
    plus=st.booleans(),
)
def test_sexagesimal_round_trip(ra, dec, style, plus):
    text, exact_ra, exact_dec = _format(ra, dec, style, plus)
    coord = parse_coordinates(text, resolver=no_resolver)
    # Exactly the printed value...
    assert coord.ra.deg == pytest.approx(exact_ra, abs=1e-10)
    assert coord.dec.deg == pytest.approx(exact_dec, abs=1e-10)
    # ...which agrees with the position to the printed precision.
    assert abs(coord.ra.deg - ra) <= 0.001 * 15 / 3600 + 1e-10
    assert abs(coord.dec.deg - dec) <= 0.01 / 3600 + 1e-10


@settings(max_examples=200, deadline=None)
@given(
    ra=st.floats(0, 360, exclude_max=True, allow_nan=False),
    dec=st.floats(-90, 90, allow_nan=False),
)
def test_decimal_round_trip(ra, dec):
    assume(float(f"{ra:.7f}") < 360)
    text = f"{ra:.7f} {dec:+.7f}"
    coord = parse_coordinates(text, resolver=no_resolver)
    assert coord.ra.deg == pytest.approx(float(f"{ra:.7f}"), abs=1e-10)
    assert coord.dec.deg == pytest.approx(float(f"{dec:.7f}"), abs=1e-10)


# ---------------------------------------------------------------------------
# Table columns.


def test_columns_numeric_pass_through():
    ra = np.array([0.0, 10.5, 359.9, 360.0])
    dec = np.array([-90, 0, 45, 90], dtype=np.int32)
    ra_deg, dec_deg = parse_coordinate_columns(ra, dec)
    assert ra_deg.dtype == np.float64 and dec_deg.dtype == np.float64
    np.testing.assert_array_equal(ra_deg, [0.0, 10.5, 359.9, 0.0])
    np.testing.assert_array_equal(dec_deg, [-90.0, 0.0, 45.0, 90.0])
    assert ra[3] == 360.0  # the input is not modified


@pytest.mark.parametrize(
    ("ra", "dec", "row", "column", "match"),
    [
        ([10.0, 360.5, 20.0], [0, 0, 0], 1, "ra", "right ascension must be in"),
        ([10.0, -0.5, 20.0], [0, 0, 0], 1, "ra", "right ascension must be in"),
        ([10.0, 20.0, 30.0], [0, 0, 90.01], 2, "dec", "declination must be in"),
        ([10.0, np.nan], [0, 0], 1, "ra", "not a finite number"),
        ([10.0, 20.0], [np.inf, 0], 0, "dec", "not a finite number"),
        (["10.5", "25:00:00"], ["0", "0"], 1, "ra", "hours 25"),
        (["10.5", "12:00:00"], ["0", "+91:00:00"], 1, "dec", "declination must be in"),
        (["10.5", "12:00:00"], ["0", "+10:61:00"], 1, "dec", "minutes 61"),
        (["10.5", "12:00:00", "m83"], ["0", "1", "2"], 2, "ra", "not a number"),
        (["10.5", ""], ["0", "1"], 1, "ra", "is empty"),
        (["10.5", "11"], ["1e999", "1"], 0, "dec", "not a finite number"),
        (["10.5", "11"], ["1", "12h"], 1, "dec", "cannot be given in hours"),
        (["400", "11"], ["1", "2"], 0, "ra", "right ascension must be in"),
    ],
)
def test_columns_errors_name_the_row(ra, dec, row, column, match):
    with pytest.raises(InputError, match=match) as info:
        parse_coordinate_columns(ra, dec)
    err = info.value
    assert err.row == row
    assert err.column == column
    value = (ra if column == "ra" else dec)[row]
    assert err.value == value or (
        isinstance(value, float) and np.isnan(value) and np.isnan(err.value)
    )
    assert str(err).startswith(f"row {row}, column {column!r}: ")


def test_columns_custom_names_in_errors():
    with pytest.raises(InputError, match=r"row 0, column 'RAJ2000'"):
        parse_coordinate_columns([400.0], [0.0], columns=("RAJ2000", "DEJ2000"))


def test_columns_strings_decimal_and_sexagesimal():
    ra = np.array(
        ["10.5", " 01:00:00 ", "12 30 00", "12h30m", "1.5e1", "180d30m", "360"]
    )
    dec = np.array(["-5", "\u221200:30:00", "+10 30", "-0d30m", "+30", "45", "-90"])
    ra_deg, dec_deg = parse_coordinate_columns(ra, dec)
    np.testing.assert_allclose(
        ra_deg, [10.5, 15.0, 187.5, 187.5, 15.0, 180.5, 0.0], atol=1e-12
    )
    np.testing.assert_allclose(
        dec_deg, [-5.0, -0.5, 10.5, -0.5, 30.0, 45.0, -90.0], atol=1e-12
    )


def test_columns_bytes_and_objects():
    ra_deg, dec_deg = parse_coordinate_columns(
        np.array([b"10.5", b"01:00:00"]), np.array([b"-5", b"+10:30"])
    )
    np.testing.assert_allclose(ra_deg, [10.5, 15.0])
    np.testing.assert_allclose(dec_deg, [-5.0, 10.5])
    ra_deg, dec_deg = parse_coordinate_columns(
        np.array([10.5, "01:00:00", np.float32(2)], dtype=object), [1, "2", 3.5]
    )
    np.testing.assert_allclose(ra_deg, [10.5, 15.0, 2.0])
    np.testing.assert_allclose(dec_deg, [1.0, 2.0, 3.5])
    with pytest.raises(InputError, match=r"row 1, column 'ra': None is missing"):
        parse_coordinate_columns(np.array([1.0, None], dtype=object), [1, 2])


def test_columns_table_columns_and_units():
    ra = Column([1.0, 2.0], unit="hourangle")
    dec = Column([10.0, 20.0], unit="deg")
    ra_deg, dec_deg = parse_coordinate_columns(ra, dec)
    np.testing.assert_allclose(ra_deg, [15.0, 30.0])
    np.testing.assert_allclose(dec_deg, [10.0, 20.0])
    ra_deg, dec_deg = parse_coordinate_columns([1.0] * u.rad, [-0.5] * u.deg)
    np.testing.assert_allclose(ra_deg, [math.degrees(1.0)])
    np.testing.assert_allclose(dec_deg, [-0.5])
    with pytest.raises(InputError, match="row 0, column 'ra'"):
        parse_coordinate_columns([7.0] * u.rad, [0.0] * u.deg)


def test_columns_masked_values_are_errors():
    ra = MaskedColumn([10.0, 20.0, 30.0], mask=[False, False, True])
    with pytest.raises(InputError, match=r"row 2, column 'ra'.*missing") as info:
        parse_coordinate_columns(ra, [1.0, 2.0, 3.0])
    assert info.value.row == 2
    dec = np.ma.array(["1", "2"], mask=[True, False])
    with pytest.raises(InputError, match=r"row 0, column 'dec'.*missing"):
        parse_coordinate_columns(["1", "2"], dec)


def test_columns_shape_errors():
    with pytest.raises(InvalidQueryError, match="differ in length"):
        parse_coordinate_columns([1.0, 2.0], [1.0])
    with pytest.raises(InvalidQueryError, match="one-dimensional"):
        parse_coordinate_columns(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(InputError, match="not a coordinate"):
        parse_coordinate_columns(np.array([True, False]), [1.0, 2.0])


def test_columns_scalar_input_becomes_one_element():
    ra_deg, dec_deg = parse_coordinate_columns(10.0, "-5")
    assert ra_deg.shape == (1,) and dec_deg.shape == (1,)
    assert (ra_deg[0], dec_deg[0]) == (10.0, -5.0)


def test_columns_million_rows_values():
    # correctness only: speed is measured by benchmarks/, not by timed tests
    rng = np.random.default_rng(1)
    ra = rng.uniform(0, 360, 1_000_000)
    dec = rng.uniform(-90, 90, 1_000_000)
    ra_deg, dec_deg = parse_coordinate_columns(ra, dec)
    np.testing.assert_array_equal(ra_deg, ra)
    np.testing.assert_array_equal(dec_deg, dec)
    ra_str = np.char.mod("%.6f", ra[:20_000])
    dec_str = np.char.mod("%.6f", dec[:20_000])
    ra_deg, dec_deg = parse_coordinate_columns(ra_str, dec_str)
    np.testing.assert_allclose(ra_deg, ra[:20_000], atol=1e-6)
    np.testing.assert_allclose(dec_deg, dec[:20_000], atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    ra=st.floats(0, 360, exclude_max=True, allow_nan=False),
    dec=st.floats(-90, 90, allow_nan=False),
    style=st.sampled_from(["colons", "spaces", "letters"]),
)
def test_columns_sexagesimal_round_trip(ra, dec, style):
    text, exact_ra, exact_dec = _format(ra, dec, style, plus=True)
    if style == "spaces":
        ra_text, dec_text = " ".join(text.split()[:3]), " ".join(text.split()[3:])
    else:
        ra_text, dec_text = text.split()
    ra_deg, dec_deg = parse_coordinate_columns(["1.0", ra_text], ["2.0", dec_text])
    assert ra_deg[1] == pytest.approx(exact_ra % 360, abs=1e-10)
    assert dec_deg[1] == pytest.approx(exact_dec, abs=1e-10)


# ---------------------------------------------------------------------------
# Malformed coordinates are errors, never names (no network call)


def never_called(name):
    raise AssertionError(f"the resolver was asked for {name!r}")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nan nan", "'nan' is not a finite number"),
        ("inf 0.0", "'inf' is not a finite number"),
        ("-inf +45.", "'-inf' is not a finite number"),
        ("nan", "'nan' is not a finite number"),
        ("10.5e 20.5", "'10.5e' is not a decimal number"),
        ("0x10 0x20", "'0x10' is not a decimal number"),
        ("00h42m44.3s +41d16m13s extra", "'extra' is not part of a position"),
        ("10.68 41.27 extra", "'extra' is not part of a position"),
        ("00:42:44.3 +41:16:08 xyz words", "'xyz' is not part of a position"),
        ("2MASS J00424433+4116074x", "invalid 2MASS designation.*'x' follows"),
        ("2MASS J00424433+4116074!", "invalid 2MASS designation.*'!' follows"),
        ("2MASX J23045666+1219223 7", "invalid 2MASS designation"),
        # a designation cut short: never sent to a resolver
        ("2MASS J0042+41", "invalid 2MASS designation.*cut short"),
        ("2MASS J00424433+41160", "invalid 2MASS designation.*cut short"),
        ("2MASS J00424433", "invalid 2MASS designation.*cut short"),
        ("2masx j0042443", "invalid 2MASS designation.*cut short"),
        # ';' is not a separator of coordinates
        ("10.68;41.27", "';' does not separate coordinates"),
        ("10.68; 41.27 gal", "';' does not separate coordinates"),
        ("00:42:44.3;+41:16:08", "';' does not separate coordinates"),
        ("10.68\x00 41.27", r"U\+0000"),
        ("10.68\u200b 41.27", r"U\+200B \(zero width space\)"),
        ("M 31\u200b", r"U\+200B"),
        ("M31\x00", r"U\+0000"),
        ("\ufeff10.68 41.27", r"U\+FEFF"),
        ("10. 20. fk4 B0000", "equinox 'B0000' is not a year from 1800 to 2200"),
        ("10. 20. J0000", "equinox 'J0000'"),
        ("10. 20. ecl J9999", "equinox 'J9999'"),
    ],
)
def test_malformed_coordinates_are_errors_not_names(text, match):
    with pytest.raises(InvalidQueryError, match=match) as info:
        parse_coordinates(text, resolver=never_called)
    assert not isinstance(info.value, NameResolutionError)


@pytest.mark.parametrize(
    "name",
    [
        "M 31",
        "NGC 224",
        "47 Tuc",
        "16 Cyg B",
        "1999 AN10",
        "3C 273",
        "1ES 1959+650",
        "1E 1207.4-5209",
        "4U 1820-30",
        "2MASS J0746425+200032AB",
        "2MASS J1207334-393254 b",
        "Barnard's star",
    ],
)
def test_name_like_strings_go_to_the_resolver(name):
    asked = []

    def resolver(text):
        asked.append(text)
        return SkyCoord(1 * u.deg, 2 * u.deg)

    assert parse_coordinates(name, resolver=resolver).dec.deg == pytest.approx(2)
    assert asked == [name]


def test_equinoxes_in_range_are_accepted():
    for text in (
        "10. 20. fk4 B1875",
        "10. 20. J2100",
        "10. 20. B1800",
        "10. 20. J2200",
    ):
        assert parse_coordinates(text).isscalar


@pytest.mark.parametrize(
    "ra",
    [
        [1, 2] * u.km,
        Column([1.0, 2.0], unit="km"),
        Column(["1:00:00", "2:00:00"], unit="kg"),
    ],
)
def test_columns_with_a_unit_that_is_not_an_angle_are_errors(ra):
    with pytest.raises(InputError, match="not an angle") as info:
        parse_coordinate_columns(ra, [1.0, 2.0])
    assert info.value.column == "ra" and info.value.value in ("km", "kg")
    with pytest.raises(InputError, match="not an angle") as info:
        parse_coordinate_columns([1.0], Column([1.0], unit="h"))
    assert info.value.column == "dec"


def test_a_right_ascension_in_hours_of_time_is_an_hour_angle():
    ra, _ = parse_coordinate_columns(Column([1.0, 2.0], unit="h"), [1.0, 2.0])
    np.testing.assert_allclose(ra, [15.0, 30.0])
    ra, _ = parse_coordinate_columns([3600.0] * u.s, [1.0])
    np.testing.assert_allclose(ra, [15.0])


def test_columns_of_complex_numbers_are_errors():
    for ra in ([10 + 1j, 20], np.array([10 + 0j]), [10 + 1j] * u.deg):
        with pytest.raises(InputError, match="complex") as info:
            parse_coordinate_columns(ra, [1.0] * len(ra))
        assert (info.value.row, info.value.column) == (0, "ra")
