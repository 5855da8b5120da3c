# Licensed under a 3-clause BSD style license - see LICENSE
"""The archive contract (`twomass_vo.archives.base.Archive`): declared, kept, one.

Every member the package asks of an archive is declared on `Archive`; the VO
and IRSA archives keep their own versions of what they override (a default
of the contract never replaces them); containment has one answer whichever
path computes it.
"""

import numpy as np
import pytest

from twomass_vo.archives import Archive, ImageSets, IrsaArchive, VOArchive
from twomass_vo.geometry import radec_to_xyz

#: What the planner, core, source_links, dask_queries, results, retrieval and
#: cli ask of an archive.
CONTRACT = (
    "name",
    "makes_cutouts",
    "asks_services",
    "find_circle",
    "find_points",
    "find_coadd_keys",
    "find_scans",
    "files",
    "set_footprints",
    "contain_sets",
    "contain_points",
    "contain_keys",
    "files_for_table",
    "cutout_urls",
    "local_path",
    "payload_circle",
    "payload_points",
    "payload_coadd_keys",
    "payload_scans",
    "route_info",
    "quicklook_refusal",
    "serves_quicklook",
    "clear_cache",
    "close",
    "__enter__",
    "__exit__",
    "describe",
)

_VO_OWN = (
    "find_circle",
    "find_points",
    "find_coadd_keys",
    "find_scans",
    "files",
    "cutout_urls",
    "makes_cutouts",
    "serves_quicklook",
    "payload_circle",
    "payload_points",
    "payload_coadd_keys",
    "payload_scans",
    "clear_cache",
    "close",
    "__enter__",
    "__exit__",
    "describe",
)
_IRSA_OWN = (*_VO_OWN, "route_info", "quicklook_refusal")


def _owner(cls, name):
    return next(k for k in cls.__mro__ if name in k.__dict__)


@pytest.mark.parametrize("name", CONTRACT)
def test_every_member_is_declared_with_a_docstring(name):
    assert name in Archive.__dict__ or name in ("__enter__", "__exit__")
    member = Archive.__dict__.get(name)
    if (callable(member) or isinstance(member, property)) and name[:2] != "__":
        assert member.__doc__ and len(member.__doc__.split()) > 8


@pytest.mark.parametrize(
    ("cls", "names"), [(VOArchive, _VO_OWN), (IrsaArchive, _IRSA_OWN)]
)
def test_vo_and_irsa_keep_their_own_members(cls, names):
    borrowed = [n for n in names if _owner(cls, n) is Archive]
    assert not borrowed, f"{cls.__name__} lost its own {borrowed}"


class _Minimal(Archive):
    """The four look-ups and files only: everything else is the default."""

    closed = 0

    def find_circle(self, ra, dec, radius, *, image_type="atlas"):
        return ImageSets.empty()

    def find_points(self, ra, dec):
        return ImageSets.empty()

    def find_coadd_keys(self, keys):
        return ImageSets.empty()

    def find_scans(self, ordate, hemisphere, scanno, image):
        return ImageSets.empty()

    def files(self, sets, band_code, image_type):
        raise AssertionError("never asked: no set")

    def close(self):
        self.closed += 1


def test_defaults_of_an_archive_that_sends_nothing():
    archive = _Minimal()
    assert archive.payload_circle(1.0, 2.0, 0.1) == []
    assert archive.payload_points([1.0], [2.0]) == []
    assert archive.payload_coadd_keys([1]) == []
    assert archive.payload_scans(["971031"], ["n"], [96], [0]) == []
    assert archive.route_info() == {}
    assert archive.quicklook_refusal is None
    assert archive.serves_quicklook and archive.asks_services
    assert not archive.makes_cutouts
    assert archive.cutout_urls(
        np.array(["u", "v"]), [0, 0], [0, 0], [5, 5]
    ).tolist() == [
        "",
        "",
    ]
    assert archive.local_path("file:///x.fits") is None
    archive.clear_cache()
    with archive as same:
        assert same is archive
    assert archive.closed == 1
    assert archive.describe() == {"name": "archive", "kind": "_Minimal"}


def test_containment_is_one_answer_for_every_path(sim):
    rng = np.random.default_rng(19)
    ra, dec = rng.uniform(0, 360, 300), rng.uniform(-80, 80, 300)
    sets = sim.find_points(ra, dec)
    points = radec_to_xyz(ra, dec)[sets.query_index]
    fast = sim.contain_sets(sets, points)
    generic = Archive.contain_sets(sim, sets, points)
    assert fast[0].any() and not fast[0].all()
    np.testing.assert_array_equal(fast[0], generic[0])
    np.testing.assert_array_equal(fast[1], generic[1])
    # with index=: the same pairs, another order
    order = rng.permutation(len(sets))
    again = sim.contain_sets(sets, points[order], index=order)
    np.testing.assert_array_equal(again[1], generic[1][order])
    # contain_points is contain_sets on the candidates, fast path or not
    kept, distance = sim.contain_points(ra, dec)
    slow, slow_distance = Archive.contain_points(sim, ra, dec)
    np.testing.assert_array_equal(kept.coadd_key, slow.coadd_key)
    np.testing.assert_array_equal(distance, slow_distance)
