# Licensed under a 3-clause BSD style license - see LICENSE
"""Tests of twomass_vo.geometry.sky_index against brute force over all pairs.

The brute force takes the angle of every pair as atan2(|p x q|, p . q) (acos of
the dot product alone is too coarse below 1e-7 deg). Pairs whose separation is
within 1e-10 rad of the radius are not compared (the index compares chord
lengths; both are exact to rounding).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from twomass_vo.geometry import angle_between, radec_to_xyz, sky_index
from twomass_vo.geometry.sky_index import ZoneIndex

TIE = 1e-10


def sky_sample(rng, n, *, poles=0.2, seam=0.2):
    """Positions: uniform on the sphere, plus clusters at the poles and RA 0/360."""
    ra = rng.uniform(0, 360, n)
    dec = np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    kind = rng.random(n)
    pole = kind < poles
    dec[pole] = rng.choice([-1, 1], pole.sum()) * (90 - rng.uniform(0, 2, pole.sum()))
    wrap = (kind >= poles) & (kind < poles + seam)
    ra[wrap] = rng.uniform(-1.5, 1.5, wrap.sum()) % 360
    # a few exact special values
    if n >= 8:
        ra[:4] = [0.0, 0.0, 359.999999999, 180.0]
        dec[4:8] = [90.0, -90.0, 89.9999999, 0.0]
    return ra, dec


def build(ra, dec, zone_height):
    order = ZoneIndex.sort_order(ra, dec, zone_height=zone_height)
    return order, ZoneIndex(ra[order], dec[order], zone_height=zone_height)


def brute_pairs(pra, pdec, ira, idec, radius):
    """All pairs within radius; and the pairs too close to the radius to judge."""
    radius = np.deg2rad(np.broadcast_to(radius, np.shape(pra)))[:, None]
    p = radec_to_xyz(pra, pdec)
    q = radec_to_xyz(ira, idec)
    sep = angle_between(p[:, None, :], q[None, :, :])
    return sep <= radius, np.abs(sep - radius) < TIE


def check_against_brute_force(rng, n_items, n_points, radius, zone_height):
    ira, idec = sky_sample(rng, n_items)
    pra, pdec = sky_sample(rng, n_points)
    order, index = build(ira, idec, zone_height)
    pi, ii = index.query_pairs(pra, pdec, radius)
    assert pi.dtype == ii.dtype == np.int64
    # sorted by point, then item, with no duplicates
    key = pi * (n_items + 1) + ii
    assert np.all(np.diff(key) > 0)
    got = np.zeros((n_points, n_items), dtype=bool)
    got[pi, order[ii]] = True
    keep, tie = brute_pairs(pra, pdec, ira, idec, radius)
    assert_array_equal(got[~tie], keep[~tie])
    return keep.sum()


@pytest.mark.parametrize("zone_height", [0.5, 0.1, 2.0, 7.0])
def test_query_pairs_vs_brute_force(zone_height):
    rng = np.random.default_rng(int(zone_height * 10))
    found = check_against_brute_force(rng, 3000, 400, 3.0, zone_height)
    assert found > 100
    # per-point radii, some zero, some large
    radii = rng.uniform(0, 10, 400)
    radii[:20] = 0.0
    radii[20:30] = rng.uniform(60, 180, 10)
    found = check_against_brute_force(rng, 3000, 400, radii, zone_height)
    assert found > 1000


@settings(max_examples=100, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    zone_height=st.sampled_from([0.05, 0.3, 0.5, 1.0, 4.0]),
    log_radius=st.floats(-3, np.log10(180)),
    per_point=st.booleans(),
    n_items=st.integers(0, 400),
    n_points=st.integers(0, 60),
)
def test_query_pairs_property(
    seed, zone_height, log_radius, per_point, n_items, n_points
):
    rng = np.random.default_rng(seed)
    radius = 10**log_radius
    if per_point:
        radius = radius * rng.uniform(0, 1, n_points)
    check_against_brute_force(rng, n_items, n_points, radius, zone_height)


def test_dense_small_radius_near_pole_and_seam():
    # dense items near the north pole and across RA 0/360, tiny radii
    rng = np.random.default_rng(4)
    ira = np.concatenate(
        [rng.uniform(0, 360, 3000), rng.uniform(-0.2, 0.2, 3000) % 360]
    )
    idec = np.concatenate([rng.uniform(89.5, 90, 3000), rng.uniform(-0.2, 0.2, 3000)])
    pra = np.concatenate([rng.uniform(0, 360, 200), rng.uniform(-0.1, 0.1, 200) % 360])
    pdec = np.concatenate([rng.uniform(89.7, 90, 200), rng.uniform(-0.1, 0.1, 200)])
    order, index = build(ira, idec, 0.5)
    pi, ii = index.query_pairs(pra, pdec, 0.05)
    got = np.zeros((400, 6000), dtype=bool)
    got[pi, order[ii]] = True
    keep, tie = brute_pairs(pra, pdec, ira, idec, 0.05)
    assert keep[:200].sum() > 100 and keep[200:].sum() > 100
    assert_array_equal(got[~tie], keep[~tie])


def test_query_circle_any_radius():
    rng = np.random.default_rng(5)
    ira, idec = sky_sample(rng, 5000)
    order, index = build(ira, idec, 0.5)
    q = radec_to_xyz(ira[order], idec[order])
    for ra, dec, radius in [
        (10.0, 20.0, 3.5),
        (359.9, -89.95, 1.0),
        (0.0, 90.0, 0.5),
        (123.0, 45.0, 90.0),
        (200.0, -30.0, 150.0),
        (1.0, 2.0, 180.0),
        (1.0, 2.0, 0.0),
    ]:
        got = index.query_circle(ra, dec, radius)
        assert np.all(np.diff(got) > 0)
        sep = angle_between(q, radec_to_xyz(ra, dec))
        expected = np.flatnonzero(sep <= np.deg2rad(radius))
        tie = np.abs(sep - np.deg2rad(radius)) < TIE
        assert_array_equal(
            np.isin(np.arange(5000), got)[~tie],
            np.isin(np.arange(5000), expected)[~tie],
        )
    assert len(index.query_circle(1.0, 2.0, 180.0)) == 5000
    with pytest.raises(ValueError, match="one centre"):
        index.query_circle([1.0, 2.0], [3.0, 4.0], 1.0)


def test_empty_inputs():
    rng = np.random.default_rng(6)
    ira, idec = sky_sample(rng, 100)
    _, index = build(ira, idec, 0.5)
    pi, ii = index.query_pairs([], [], 1.0)
    assert pi.shape == ii.shape == (0,) and pi.dtype == np.int64
    pi, ii = index.query_pairs(np.array([]), np.array([]), np.array([]))
    assert len(pi) == 0
    empty = ZoneIndex(np.array([]), np.array([]))
    assert len(empty) == 0
    pi, ii = empty.query_pairs([10.0, 20.0], [0.0, 5.0], 5.0)
    assert len(pi) == len(ii) == 0
    assert len(empty.query_circle(0.0, 0.0, 180.0)) == 0
    assert ZoneIndex.sort_order([], []).shape == (0,)


def test_read_only_memmap_inputs_are_not_copied(tmp_path):
    rng = np.random.default_rng(7)
    ira, idec = sky_sample(rng, 2000)
    order = ZoneIndex.sort_order(ira, idec)
    for dtype in (np.float64, np.float32):
        paths = []
        for name, col in (("ra", ira[order]), ("dec", idec[order])):
            path = tmp_path / f"{name}_{np.dtype(dtype).name}.npy"
            np.save(path, col.astype(dtype))
            paths.append(path)
        ra = np.load(paths[0], mmap_mode="r")
        dec = np.load(paths[1], mmap_mode="r")
        index = ZoneIndex(ra, dec)
        assert np.shares_memory(index.ra, ra) and np.shares_memory(index.dec, dec)
        pra, pdec = sky_sample(rng, 300)
        pi, ii = index.query_pairs(pra, pdec, 2.0)
        keep, tie = brute_pairs(pra, pdec, ra.astype(float), dec.astype(float), 2.0)
        got = np.zeros_like(keep)
        got[pi, ii] = True
        assert_array_equal(got[~tie], keep[~tie])
        del index, ra, dec


def test_chunked_expansion_gives_the_same_pairs(monkeypatch):
    rng = np.random.default_rng(8)
    ira, idec = sky_sample(rng, 4000)
    _, index = build(ira, idec, 0.5)
    pra, pdec = sky_sample(rng, 500)
    radii = rng.uniform(0, 8, 500)
    expected = index.query_pairs(pra, pdec, radii)
    # tiny chunks: many blocks of points and of candidate ranges
    monkeypatch.setattr(sky_index, "_MAX_CANDIDATES", 100)
    _, small = build(ira, idec, 0.5)
    got = small.query_pairs(pra, pdec, radii)
    assert_array_equal(got[0], expected[0])
    assert_array_equal(got[1], expected[1])
    assert len(expected[0]) > 1000


def test_sort_order_and_validation():
    rng = np.random.default_rng(9)
    ira, idec = sky_sample(rng, 1000)
    order = ZoneIndex.sort_order(ira, idec, zone_height=1.0)
    assert order.dtype == np.int64
    assert_array_equal(np.sort(order), np.arange(1000))
    zone = np.floor((idec[order] + 90) / 1.0).clip(0, 179)
    assert np.all(np.diff(zone) >= 0)
    same = np.diff(zone) == 0
    assert np.all(np.diff(ira[order])[same] >= 0)
    index = ZoneIndex(ira[order], idec[order], zone_height=1.0)
    assert index.nzones == 180 and len(index) == 1000
    assert index.offsets[0] == 0 and index.offsets[-1] == 1000
    with pytest.raises(ValueError, match="not sorted"):
        ZoneIndex(ira, idec, zone_height=1.0)
    with pytest.raises(ValueError, match="not sorted"):
        # sorted with another zone height
        ZoneIndex(ira[order], idec[order], zone_height=0.1)
    bad_ra = ira[order].copy()
    bad_ra[0] = 360.001
    with pytest.raises(ValueError, match="ra"):
        ZoneIndex(bad_ra, idec[order], zone_height=1.0)
    bad_dec = idec[order].copy()
    bad_dec[5] = np.nan
    with pytest.raises(ValueError, match="dec"):
        ZoneIndex(ira[order], bad_dec, zone_height=1.0)
    with pytest.raises(ValueError, match="zone_height"):
        ZoneIndex(ira[order], idec[order], zone_height=0.0)
    with pytest.raises(ValueError, match="1-D"):
        ZoneIndex(ira[order], idec[order][:-1])
    with pytest.raises(ValueError, match="radius"):
        index.query_pairs(1.0, 2.0, -1.0)
    with pytest.raises(ValueError, match="radius"):
        index.query_pairs(1.0, 2.0, 181.0)
    with pytest.raises(ValueError, match="finite"):
        index.query_pairs(np.nan, 2.0, 1.0)
    with pytest.raises(ValueError, match="dec"):
        index.query_pairs(1.0, 91.0, 1.0)
    # query positions outside [0, 360) are wrapped
    a = index.query_pairs([-10.0, 350.0, 710.0], [5.0, 5.0, 5.0], 20.0)
    per_point = [a[1][a[0] == k] for k in range(3)]
    assert_array_equal(per_point[0], per_point[1])
    assert_array_equal(per_point[2], per_point[1])
    assert len(per_point[0]) > 0
