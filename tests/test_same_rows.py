# Licensed under a 3-clause BSD style license - see LICENSE
"""Same rows as before: query results digested and compared with stored digests.

Every query below runs through the public API only (`twomass_vo.TwoMassBatch`,
`twomass_vo.archives`) on three archives -- the simulated survey
(``sim``), `IrsaArchive` on the IRSA stand-in serving the ``m31_patch``
(``irsa``) and `VOArchive` on the local DaCHS mirror (``mirror``, marker
``dachs``: skipped without the mirror, a failure with ``CI=true``) -- and its
result must digest (`row_digests.query_digest`: every column's exact
values, units, dtype kinds, metadata, ``not_found`` rows and warnings) to
the digest stored in ``tests/data/row_digests.json``. Those were written by
``tests/data/make_row_digests.py`` at the commit before the package was
reorganised into subpackages; a reorganisation changes no behaviour, so no
digest may change.

``TWOMASS_VO_RECORD_ROW_DIGESTS=FILE`` (set by the generator, never by
hand) makes each test append its digest to FILE instead of comparing.
"""

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table
from regions import CircleSkyRegion, PolygonSkyRegion
from row_digests import query_digest

from twomass_vo import TwoMassBatch
from twomass_vo.archives import VOArchive

STORED = Path(__file__).parent / "data" / "row_digests.json"
RECORD = os.environ.get("TWOMASS_VO_RECORD_ROW_DIGESTS")
GENERATOR = "tests/data/make_row_digests.py"


class Site(NamedTuple):
    """The inputs of the common queries on one archive (sets it holds)."""

    centre: object  # str or SkyCoord
    overlaps: float  # diameters (deg) of the circle queries
    enclosed: float
    half: float  # half side (deg) of the polygon
    covers: tuple  # (date, hem, scan, image) of a set whose centre is used
    keys: list  # coadd_keys, one unknown
    scan: tuple  # (date, hem, scan, image)
    scans: list  # rows of a DHS table, one unknown
    ra: list  # positions
    dec: list


M31 = "00h42m44.3s +41d16m08s"
SITES = {
    # the whole simulated survey: the help page's nights and M31
    "sim": Site(
        centre=M31,
        overlaps=0.3,
        enclosed=1.0,
        half=0.3,
        covers=("971031", "n", 96, 197),
        keys=[336752, 1590591, 336753, 123],
        scan=("971031", "n", 96, 197),
        scans=[
            ("971031", "n", 96, 197),
            ("981121", "n", 69, 256),
            ("990101", "s", 5, 0),
        ],
        ra=[10.6846, 10.70, 10.66, 10.72, 10.65, 0.01, 180.0],
        dec=[41.2689, 41.29, 41.25, 41.24, 41.30, -20.0, 0.0],
    ),
    # the m31_patch (0.08 deg: 971101 n 31 and 991106 n 54, images 244 and 256)
    "irsa": Site(
        centre=SkyCoord(10.6846, 41.2689, unit="deg"),
        overlaps=0.12,
        enclosed=0.6,
        half=0.35,
        covers=("971101", "n", 31, 244),
        keys=[336753, 123, 336752, 1277292],
        scan=("971101", "n", 31, 256),
        scans=[
            ("971101", "n", 31, 244),
            ("991106", "n", 54, 0),
            ("990101", "s", 5, 0),
        ],
        ra=[10.6846, 10.70, 10.66, 10.72, 10.65],
        dec=[41.2689, 41.29, 41.25, 41.24, 41.30],
    ),
    # the mirror's default archive (mirror.sh: 0.3 deg on M31, 18 sets)
    "mirror": Site(
        centre=M31,
        overlaps=0.3,
        enclosed=0.5,
        half=0.35,
        covers=("971101", "n", 31, 256),
        keys=[304143, 336753, 1277293, 123],
        scan=("971031", "n", 18, 256),
        scans=[
            ("970916", "n", 30, 45),
            ("990115", "n", 19, 0),
            ("990101", "s", 5, 0),
        ],
        ra=[10.6846, 10.70, 10.60, 10.80, 10.55, 10.75],
        dec=[41.2689, 41.35, 41.15, 41.20, 41.40, 41.10],
    ),
}


def square(centre, half):
    """A convex 4-corner polygon of half side ``half`` deg around ``centre``."""
    c = SkyCoord(centre)
    dra = half / np.cos(c.dec.rad)
    ra = c.ra.deg + np.array([-dra, dra, dra, -dra])
    dec = c.dec.deg + np.array([-half, -half, half, half])
    return PolygonSkyRegion(SkyCoord(ra, dec, unit="deg"))


def set_centre(batch, date, hem, scan, image):
    """The centre of one image set, found through the public API."""
    row = batch.query_scan(date, hem, scan, image=image, band="J")[0]
    return SkyCoord(row["ra"], row["dec"], unit="deg")


def positions(site, **columns):
    return Table({"ra": site.ra, "dec": site.dec, **columns})


def scans_table(site):
    date, hem, scan, image = zip(*site.scans, strict=True)
    return Table({"xdate": date, "hem": hem, "scan": scan, "image": image})


def sources_table(batch, site):
    """PSC-like rows at the centres of images of ``site.scan``, two unknown links.

    Half the rows link by ``coadd_key``, the other half (key masked) by
    their scan; the last two link to a key and a scan the archive lacks.
    """
    date, hem, scan, _ = site.scan
    sets = batch.query_scan(date, hem, scan, band="J")[:4]
    iso = f"{'19' if date[0] in '56789' else '20'}{date[:2]}-{date[2:4]}-{date[4:]}"
    n = len(sets)
    table = Table(
        {
            "designation": [f"src{i}" for i in range(n + 2)],
            "ra": [*np.asarray(sets["ra"]).tolist(), 10.0, 10.0],
            "dec": [*np.asarray(sets["dec"]).tolist(), 41.0, 41.0],
            "xdate": [iso] * n + [iso, "1999-01-01"],
            "hemis": [hem] * (n + 1) + ["s"],
            "scan": [scan] * (n + 1) + [5],
            "coadd_key": [*np.asarray(sets["coadd_key"]).tolist(), 123, 0],
        },
        masked=True,
    )
    table["coadd_key"].mask = [i % 2 == 1 for i in range(n)] + [False, True]
    return table


def common(site):
    """Name -> query (a callable of a `TwoMassBatch`) on every archive."""
    s = SITES[site]
    date, hem, scan, image = s.scan
    return {
        # region: the three relations, circles (diameter, radius, a region),
        # a square (width) and a polygon; the diameter clamped
        "region_overlaps": lambda b: b.query_region(s.centre, s.overlaps),
        "region_covers": lambda b: b.query_region(
            set_centre(b, *s.covers), 0.05, intersect="covers"
        ),
        "region_enclosed": lambda b: b.query_region(
            s.centre, s.enclosed, intersect="enclosed", band="J"
        ),
        "region_radius": lambda b: b.query_region(
            coordinates=SkyCoord(s.centre), radius=3 * u.arcmin, band="K"
        ),
        "region_width": lambda b: b.query_region(s.centre, width=0.1, band="H"),
        "region_circle_region": lambda b: b.query_region(
            CircleSkyRegion(SkyCoord(s.centre), 0.04 * u.deg), band="J"
        ),
        "region_polygon_overlaps": lambda b: b.query_region(
            square(s.centre, s.half), band="H"
        ),
        "region_polygon_enclosed": lambda b: b.query_region(
            square(s.centre, s.half), intersect="enclosed"
        ),
        "region_polygon_covers": lambda b: b.query_region(
            square(set_centre(b, *s.covers), 0.02), intersect="covers", band="K"
        ),
        "region_clamped": lambda b: b.query_region(s.centre, 0.001, band="J"),
        "region_quicklook": lambda b: b.query_region(
            s.centre, 0.1, band="H", image_type="quicklook"
        ),
        # positions: all images, the best image, cutout sizes, per-row options
        "positions_all": lambda b: b.query_positions(positions(s)),
        "positions_best": lambda b: b.query_positions(positions(s), best=True),
        "positions_size": lambda b: b.query_positions(
            positions(
                s,
                id=[f"p{i}" for i in range(len(s.ra))],
                best=["y", "n"] * (len(s.ra) // 2) + ["y"] * (len(s.ra) % 2),
                size=[30.0 + 5 * i for i in range(len(s.ra))],
            ),
            band="J",
        ),
        "positions_size_kwarg": lambda b: b.query_positions(
            positions(s), best=True, size=45 * u.arcsec, band="H"
        ),
        "positions_quicklook": lambda b: b.query_positions(
            positions(s), best=True, size=30, band="K", image_type="quicklook"
        ),
        # coadd_keys: a list, a table with bands and ids, Quicklook
        "coadd_keys": lambda b: b.query_coadd_keys(s.keys),
        "coadd_keys_bands": lambda b: b.query_coadd_keys(
            Table(
                {
                    "id": ["k0", "k1", "k2", "k3"],
                    "coadd_key": s.keys,
                    "band": ["j", "a", "K", "H"],
                }
            )
        ),
        "coadd_keys_quicklook": lambda b: b.query_coadd_keys(
            s.keys[:1], band="J", image_type="quicklook"
        ),
        # one DHS: the whole scan, one image in one band, Quicklook
        "scan": lambda b: b.query_scan(date, hem, scan),
        "scan_image": lambda b: b.query_scan(
            date, "north" if hem == "n" else "south", scan, image=image, band="H"
        ),
        "scan_quicklook": lambda b: b.query_scan(
            date, hem, scan, image=image, image_type="quicklook"
        ),
        # a list of DHS, one of them unknown
        "scans": lambda b: b.query_scans(scans_table(s)),
        "scans_band": lambda b: b.query_scans(scans_table(s), band="K"),
        # sources: measured (by key and by scan, two unknown), best, all
        "sources_measured": lambda b: b.query_sources(sources_table(b, s)),
        "sources_best": lambda b: b.query_sources(
            sources_table(b, s)[:-2], link="best", size=25
        ),
        "sources_all": lambda b: b.query_sources(
            sources_table(b, s)[:-2], link="all", band="J"
        ),
    }


def sim_only(data):
    """Queries of the whole survey: RA 0, the pole, the help page's tables."""
    return {
        "region_ra_zero": lambda b: b.query_region("0.01 -20", 0.3, band="K"),
        "region_pole": lambda b: b.query_region("0 89.99", 0.2, band="J"),
        "positions_help_size_file": lambda b: b.query_positions(
            data / "help_positions_size.tbl"
        ),
        "positions_help_gator_file": lambda b: b.query_positions(
            data / "help_positions_gator.tbl", best=True
        ),
        "coadd_keys_help_ids_file": lambda b: b.query_coadd_keys(
            data / "help_coadd_keys_ids.tbl"
        ),
        "scans_help_bands_file": lambda b: b.query_scans(data / "help_dhs_bands.tbl"),
        "scans_help_scan_file": lambda b: b.query_scans(
            data / "help_dhs_scan_null.tbl", band="J"
        ),
        "sources_psc_file": lambda b: b.query_sources(
            data / "gator_fp_psc_polygon_10_10.xml"
        ),
        "sources_psc_file_best": lambda b: b.query_sources(
            data / "gator_fp_psc_polygon_10_10.xml", link="best", band="J"
        ),
    }


def irsa_only():
    """IBE's routes for regions too (an IrsaArchive without SIA v2)."""
    s = SITES["irsa"]
    return {
        f"{name}_ibe": call
        for name, call in common("irsa").items()
        if name.startswith("region_") and name != "region_quicklook"
    } | {
        "sources_psc_cone_file": lambda b: b.query_sources(
            Path(__file__).parent / "data" / "gator_fp_psc_cone_m31_1arcsec.xml",
            link="all",
        ),
        "positions_ibe": lambda b: b.query_positions(positions(s), best=True),
    }


def catalogue():
    """(site, batch name, query name, call) of every query."""
    data = Path(__file__).parent / "data"
    out = []
    for site in SITES:
        out += [(site, "main", name, call) for name, call in common(site).items()]
    out += [("sim", "main", name, call) for name, call in sim_only(data).items()]
    out += [("irsa", "ibe", name, call) for name, call in irsa_only().items()]
    return out


def params():
    return [
        pytest.param(
            site,
            which,
            name,
            call,
            id=f"{site}/{name}",
            marks=[pytest.mark.dachs] if site == "mirror" else [],
        )
        for site, which, name, call in catalogue()
    ]


# ------------------------------------------------------------------ archives
# A new remote archive object for every query. An IrsaArchive or VOArchive
# remembers what earlier queries taught it (routes, service URLs, Quicklook
# file lists, footprints and file sizes already fetched), and that shows in
# the next results: ``meta["route"]`` / ``meta["urls"]``, and even
# ``dist_edge`` (last bits) and ``access_estsize`` differ between a fresh
# archive and one that ran other queries first. A fresh archive per query
# makes each digest independent of the queries before it (a ``-k``
# selection gives the same digests as the whole module).
@pytest.fixture
def sim_site(batch, private_sim_store):
    """The simulated survey (the session's: it learns nothing from a query).

    Its files live under the session's private store.
    """
    return {"main": batch}, [private_sim_store]


@pytest.fixture
def irsa_site(irsa_server, m31_patch):
    """`IrsaArchive` on the stand-in: every service, and without SIA v2 (IBE)."""
    main = irsa_server.irsa_archive()
    ibe = irsa_server.irsa_archive(sia_url="")
    yield (
        {"main": TwoMassBatch(archive=main), "ibe": TwoMassBatch(archive=ibe)},
        [m31_patch.path],
    )
    main.close()
    ibe.close()


@pytest.fixture(scope="module")
def mirror_answers(mirror_env):
    """The DaCHS mirror's settings, once it answers (skip, or fail with CI=true)."""
    with vo_archive(mirror_env) as archive:
        status = archive.check()
    if not all(status.values()):
        message = f"the DaCHS mirror does not answer: {status}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return mirror_env


def vo_archive(env):
    return VOArchive(
        sia_url=env["SIA_URL"],
        tap_url=env["TAP_URL"],
        table=env["TAP_TABLE"],
        datalink_url=env["DATALINK_URL"],
    )


@pytest.fixture
def mirror_site(mirror_answers):
    """`VOArchive` on the DaCHS mirror."""
    with vo_archive(mirror_answers) as archive:
        yield {"main": TwoMassBatch(archive=archive)}, [mirror_answers["ARCHIVE_PATH"]]


@pytest.fixture(scope="module")
def stored():
    if RECORD or not STORED.exists():
        return {}
    return json.loads(STORED.read_text(encoding="utf-8"))["digests"]


def differences(got, want):
    """What differs between two digests, by part and column."""
    out = []
    for part in sorted(set(got) | set(want)):
        a, b = got.get(part), want.get(part)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and part != "meta":
            names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            out.append(f"{part}: {', '.join(map(str, names))}")
        else:
            out.append(f"{part}: {a!r} != stored {b!r}")
    return out


@pytest.mark.parametrize(("site", "which", "name", "call"), params())
def test_same_rows(site, which, name, call, request, stored):
    batches, roots = request.getfixturevalue(f"{site}_site")
    digest = query_digest(lambda: call(batches[which]), roots)
    key = f"{site}/{name}"
    if RECORD:
        with open(RECORD, "a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "digest": digest}) + "\n")
        return
    assert key in stored, f"no stored digest for {key}: run {GENERATOR}"
    want = stored[key]
    assert digest == want, f"{key} changed: " + "; ".join(differences(digest, want))


def test_every_stored_digest_is_checked(stored):
    """No stored digest is left unchecked, and no query lacks one."""
    if RECORD:
        pytest.skip("recording")
    keys = {f"{site}/{name}" for site, _, name, _ in catalogue()}
    assert set(stored) == keys
