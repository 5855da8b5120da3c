# Licensed under a 3-clause BSD style license - see LICENSE
"""What a user does next with IRSA's rows: open, cut out, preview, download.

Over the IRSA stand-in (`irsa_standin.IrsaStandIn`: IBE with its cutouts and
5-degree limit, SIA v2, the SIA v1 CGI with Atlas and Quicklook files),
every row of `IrsaArchive` must behave as the row of `LocalArchive` on the
same data: the same image sets in the five modes, Atlas and Quicklook, and
the local files' pixels from `open`, `cutout`, `preview` and downloads,
whatever the compression the file comes with (decided by its bytes).
"""

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from irsa_standin import CGI, DATA, SEARCH, IrsaStandIn

from twomass_vo import TwoMassBatch, conf
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.archives.simulated.survey_layout import survey_layout
from twomass_vo.exceptions import ArchiveError, QuicklookWarning
from twomass_vo.geometry import radec_to_xyz

M31 = SkyCoord(10.6846, 41.2689, unit="deg")
IDENTITY = [
    "scntr",
    "coadd_key",
    "band",
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    "image_type",
]


@pytest.fixture
def patch(m31_patch):
    return m31_patch


@pytest.fixture
def standin(irsa_server):
    return irsa_server


def make_irsa(standin, **kwargs):
    return standin.irsa_archive(**kwargs)


@pytest.fixture
def irsa(standin):
    archive = make_irsa(standin)
    yield archive
    archive.close()


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuicklookWarning)
        return call(*args, **kwargs)


def same_rows(a, b, *, extra=()):
    assert len(a) == len(b) > 0
    names = IDENTITY + list(extra)
    assert a[names].as_array().tolist() == b[names].as_array().tolist()


def sample_points(n, seed, radius=0.06):
    rng = np.random.default_rng(seed)
    points = M31.directional_offset_by(
        rng.uniform(0, 360, n) * u.deg, rng.uniform(0, radius, n) * u.deg
    )
    return Table({"ra": points.ra.deg, "dec": points.dec.deg})


def queries(patch):
    """One query per mode, run on any batch."""
    col = patch.columns
    key = [int(k) for k in np.asarray(col["coadd_key"])[:3]]
    ordate = np.asarray(col["ordate"]).astype(str)
    hem = np.asarray(col["hemisphere"]).astype(str)
    scanno = np.asarray(col["scanno"]).astype(int)
    image = np.asarray(col["image"]).astype(int)
    scans = Table(
        {
            "xdate": [ordate[0], ordate[-1]],
            "hem": [hem[0], hem[-1]],
            "scan": [scanno[0], scanno[-1]],
            "image": [image[0], 0],
        }
    )
    return {
        "region": lambda b, **k: b.query_region(M31, 0.12, **k),
        "positions": lambda b, **k: b.query_positions(
            sample_points(12, seed=1), best=True, **k
        ),
        "coadd_keys": lambda b, **k: b.query_coadd_keys(key, **k),
        "scan": lambda b, **k: b.query_scan(ordate[0], hem[0], scanno[0], **k),
        "scans": lambda b, **k: b.query_scans(scans, **k),
    }


def pixels(hdul):
    """The image of a file (its first HDU with data), as float64."""
    for hdu in hdul:
        if hdu.is_image and hdu.data is not None:
            return np.asarray(hdu.data, np.float64)
    raise AssertionError("no image")


# ------------------------------------------------------------ the five modes
@pytest.mark.parametrize("image_type", ["atlas", "quicklook"])
@pytest.mark.parametrize("mode", ["region", "positions", "coadd_keys", "scan", "scans"])
def test_every_mode_finds_the_local_image_sets(irsa, patch, standin, mode, image_type):
    run = queries(patch)[mode]
    before = len(standin.requests)
    a = quiet(run, TwoMassBatch(archive=irsa), image_type=image_type)
    b = quiet(run, TwoMassBatch(archive=patch), image_type=image_type)
    same_rows(a, b)
    sent = standin.requests[before:]
    cgi = [r for r in sent if r.path == CGI]
    if image_type == "atlas":
        assert not cgi
        assert all(u.startswith(standin.data_url_root) for u in a["access_url"])
    else:
        assert cgi, "Quicklook files come from the SIA v1 CGI"
        assert all(r.query["type"] == "ql" for r in cgi)
        assert all("FORMAT" not in r.query for r in cgi)  # pyvo issue #394
        assert all(u.startswith(standin.base + "/cgi-bin/") for u in a["access_url"])
        if mode == "region":  # one request: POS + SIZE covering the region
            assert a.meta["route"] == "sia1-box" and len(sent) == len(cgi) == 1
            assert float(cgi[0].query["SIZE"]) >= 0.12
        else:  # the Atlas routes first, then the CGI at the sets' centres
            assert a.meta["route"].endswith("sia1-files")
            assert len(cgi) <= len(np.unique(a["coadd_key"]))  # never per file


def test_quicklook_files_are_asked_for_by_sky_cell(irsa, patch, standin):
    from twomass_vo.archives.irsa.sia1 import nearby_groups

    points = sample_points(60, seed=9, radius=0.08)
    before = len(standin.requests)
    a = quiet(
        TwoMassBatch(archive=irsa).query_positions, points, image_type="quicklook"
    )
    b = quiet(
        TwoMassBatch(archive=patch).query_positions, points, image_type="quicklook"
    )
    same_rows(a, b)
    cgi = [r for r in standin.requests[before:] if r.path == CGI]
    _, first = np.unique(a["coadd_key"], return_index=True)
    cells = nearby_groups(a["ra"][first], a["dec"][first], irsa.sia1_group_size)
    assert len(first) > len(cells) == len(cgi)  # one request per cell, not per set


def test_quicklook_warns_once(irsa):
    with pytest.warns(QuicklookWarning, match="lossy") as caught:
        TwoMassBatch(archive=irsa).query_region(M31, 0.1, image_type="quicklook")
    assert len(caught) == 1


# -------------------------------------------------------- open and cut out
def test_atlas_rows_open_as_the_local_files(irsa, patch, standin):
    key = int(patch.columns["coadd_key"][0])
    a = TwoMassBatch(archive=irsa).query_coadd_keys([key])
    b = TwoMassBatch(archive=patch).query_coadd_keys([key])
    for remote, local in zip(a, b, strict=True):
        assert remote["access_url"].endswith(".fits.gz")  # gzip on the wire
        assert np.array_equal(pixels(remote.open()), pixels(local.open()))
        assert remote.open()[0].header["CTYPE1"] == "RA---SIN"


def test_quicklook_rows_open_as_the_local_files(irsa, patch):
    key = int(patch.columns["coadd_key"][1])
    a = quiet(
        TwoMassBatch(archive=irsa).query_coadd_keys, [key], image_type="quicklook"
    )
    b = quiet(
        TwoMassBatch(archive=patch).query_coadd_keys, [key], image_type="quicklook"
    )
    atlas = TwoMassBatch(archive=irsa).query_coadd_keys([key])
    for remote, local, twin in zip(a, b, atlas, strict=True):
        data = pixels(remote.open())
        assert np.array_equal(data, pixels(local.open()))  # the lossy pixels
        wcs = WCS(remote.open()[0].header).celestial
        assert wcs.to_header() == WCS(twin.open()[0].header).celestial.to_header()
        stored = remote.open(decompress=False)  # HCOMPRESS tiles, as served
        assert isinstance(stored[1], fits.CompImageHDU)
        assert np.array_equal(np.asarray(stored[1].data, np.float64), data)


def test_ibe_cutouts_are_the_local_pixels(irsa, patch, standin):
    points = sample_points(5, seed=7)
    a = TwoMassBatch(archive=irsa).query_positions(points, best=True, size=60)
    assert all("size=60arcsec&gzip=false" in u for u in a["cutout_url"])
    before = len(standin.requests)
    for row in a:
        cut = row.cutout()
        full = row.open()[0]
        header = cut[0].header
        x0 = round(full.header["CRPIX1"] - header["CRPIX1"])
        y0 = round(full.header["CRPIX2"] - header["CRPIX2"])
        ny, nx = cut[0].data.shape
        assert (nx, ny) == (61, 61)  # IBE's box: 60 arcsec either side, 1" pixels
        assert np.array_equal(cut[0].data, full.data[y0 : y0 + ny, x0 : x0 + nx])
        assert "CUTOUT" not in header  # made by IBE, not by Cutout2D
    cutouts = [r for r in standin.requests[before:] if "center" in r.query]
    assert len(cutouts) == len(a)
    assert {r.query["gzip"] for r in cutouts} == {"false"}


def test_quicklook_cutouts_are_the_local_cutouts(irsa, patch, tmp_path):
    points = sample_points(3, seed=10)

    def run(archive):
        return quiet(
            TwoMassBatch(archive=archive).query_positions,
            points,
            best=True,
            size=45,
            image_type="quicklook",
        )

    a, b = run(irsa), run(patch)
    same_rows(a, b)
    assert set(a["cutout_url"]) == {""}  # IRSA does not cut Quicklook files out
    done = a.download(tmp_path, progress=False)
    assert set(done["status"]) == {"ok"}
    for remote, local, path in zip(a, b, done["local_path"], strict=True):
        cut = remote.cutout()[0]
        assert np.array_equal(cut.data, local.cutout()[0].data)
        with fits.open(path) as hdul:
            assert np.array_equal(hdul[0].data, cut.data)


def test_a_gzipped_ibe_cutout_opens_too(irsa, patch):
    row = TwoMassBatch(archive=irsa).query_positions(
        sample_points(1, seed=2), best=True, size=30
    )[0]
    url = row["cutout_url"].replace("gzip=false", "gzip=true")
    assert np.array_equal(pixels(row._loader().open(url)), pixels(row.cutout()))


def test_a_cutout_clipped_at_the_image_edge_is_kept(irsa, patch):
    from twomass_vo.geometry import xyz_to_radec

    sets = patch.find_circle(M31.ra.deg, M31.dec.deg, 0.01)
    corner = SkyCoord(*xyz_to_radec(sets.corners[0][0]), unit="deg")
    centre = SkyCoord(sets.ra[0], sets.dec[0], unit="deg")
    point = corner.directional_offset_by(corner.position_angle(centre), 20 * u.arcsec)
    rows = TwoMassBatch(archive=irsa).query_positions(
        Table({"ra": [point.ra.deg], "dec": [point.dec.deg]}), size=120, band="J"
    )
    row = rows[int(np.flatnonzero(rows["coadd_key"] == sets.coadd_key[0])[0])]
    cut = row.cutout()
    ny, nx = cut[0].data.shape
    assert 0 < nx < 121 and 0 < ny < 121  # IBE clipped it to the image
    full = row.open()[0]
    x0 = round(full.header["CRPIX1"] - cut[0].header["CRPIX1"])
    y0 = round(full.header["CRPIX2"] - cut[0].header["CRPIX2"])
    assert np.array_equal(cut[0].data, full.data[y0 : y0 + ny, x0 : x0 + nx])


def test_a_cutout_off_the_image_fails_its_row_at_once(irsa, standin, tmp_path):
    rows = TwoMassBatch(archive=irsa).query_positions(
        sample_points(1, seed=3), best=True, size=30, band="J"
    )
    table = rows.copy()
    url = str(table["cutout_url"][0])
    # one degree north of the image: off it, though on its side of the sky
    ra, dec = float(table["ra"][0]), float(table["dec"][0]) + 1
    far = url.split("center=")[0] + f"center={ra},{dec}&size=30arcsec&gzip=false"
    table["cutout_url"] = [far]
    before = len(standin.requests)
    with conf.set_temp("retries", 5):
        done = table.download(tmp_path, progress=False)
    assert list(done["status"]) == ["failed"]
    assert "does not overlap the image" in done["error"][0]
    assert "1 attempt" in done["error"][0]
    sent = [r for r in standin.requests[before:] if r.path.startswith(DATA)]
    assert len(sent) == 1 and sent[0].status == 500  # no retry storm


# ------------------------------------------------------------ pictures
def test_preview_is_the_local_preview(irsa, patch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from twomass_vo.results.preview import composite

    points = sample_points(1, seed=4)
    for size in (None, 40):
        a = TwoMassBatch(archive=irsa).query_positions(points, best=True, size=size)
        b = TwoMassBatch(archive=patch).query_positions(points, best=True, size=size)
        rgb_a, wcs_a = composite(a[0])
        rgb_b, wcs_b = composite(b[0])
        assert np.array_equal(rgb_a, rgb_b)
        assert wcs_a.to_header() == wcs_b.to_header()
        ax = a[0].preview()
        assert ax.images
        plt.close(ax.figure)


# ------------------------------------------------------------ downloads
def test_downloads_are_the_local_files(irsa, patch, tmp_path):
    key = int(patch.columns["coadd_key"][2])
    a = TwoMassBatch(archive=irsa).query_coadd_keys([key])
    b = TwoMassBatch(archive=patch).query_coadd_keys([key])
    done = a.download(tmp_path / "irsa", progress=False)
    assert list(done["status"]) == ["ok"] * 3
    for path, local in zip(done["local_path"], b, strict=True):
        original = patch.local_path(local["access_url"]).read_bytes()
        assert Path(path).read_bytes() == original  # decompressed from gzip


def test_quicklook_downloads_decompressed_or_as_stored(irsa, patch, tmp_path):
    key = int(patch.columns["coadd_key"][0])
    a = quiet(
        TwoMassBatch(archive=irsa).query_coadd_keys, [key], image_type="quicklook"
    )
    b = quiet(
        TwoMassBatch(archive=patch).query_coadd_keys, [key], image_type="quicklook"
    )
    plain = a.download(tmp_path / "plain", progress=False)
    kept = a.download(tmp_path / "kept", decompress=False, progress=False)
    assert list(plain["status"]) == list(kept["status"]) == ["ok"] * 3
    for p, k, local in zip(plain["local_path"], kept["local_path"], b, strict=True):
        assert p.endswith(".fits") and k.endswith(".fits.fz")
        with fits.open(p) as hdul:
            assert len(hdul) == 1 and hdul[0].data.dtype.kind == "i"
            assert np.array_equal(hdul[0].data, pixels(local.open()))
        assert (
            Path(k).read_bytes() == patch.local_path(local["access_url"]).read_bytes()
        )


def test_positions_cutouts_download_with_the_local_pixels(irsa, patch, tmp_path):
    points = sample_points(4, seed=5)
    a = TwoMassBatch(archive=irsa).query_positions(points, best=True, size=45)
    done = a.download(tmp_path, progress=False)
    assert set(done["status"]) == {"ok"}
    for path, row in zip(done["local_path"], a, strict=True):
        with fits.open(path) as hdul:
            cut = hdul[0]
            assert cut.data.shape == row.cutout()[0].data.shape
            assert np.array_equal(cut.data, row.cutout()[0].data)


def test_the_ceiling_holds_after_decompression(irsa, patch, standin, tmp_path):
    key = int(patch.columns["coadd_key"][3])
    a = TwoMassBatch(archive=irsa).query_coadd_keys([key], band="J")
    relative = a["access_url"][0][len(standin.data_url_root) :]
    compressed = len(standin.gz(relative))
    size = patch.local_path(patch.files_uri + relative[: -len(".gz")]).stat().st_size
    assert compressed < size
    with (
        conf.set_temp("max_file_size", (compressed + size) // 2),
        conf.set_temp("cache_dir", str(tmp_path / "cache")),  # fetched anew
    ):
        done = a.download(tmp_path, progress=False)
        assert list(done["status"]) == ["failed"]
        assert "decompressed file over the per-file ceiling" in done["error"][0]
        with pytest.raises(ValueError, match="over the per-file ceiling"):
            a[0].open()


# ------------------------------------------------- local files, by the bytes
def test_local_files_are_read_by_their_bytes(patch, tmp_path, data_path):
    key = int(patch.columns["coadd_key"][0])
    rows = TwoMassBatch(archive=patch).query_coadd_keys([key], band="J")
    original = patch.local_path(rows["access_url"][0]).read_bytes()
    gz = tmp_path / "ji.fits"  # gzip bytes under a plain name
    gz.write_bytes(gzip.compress(original))
    plain = tmp_path / "ji.fits.gz"  # plain bytes under a gzip name
    plain.write_bytes(original)
    for path in (gz, plain):
        table = rows.copy()
        table.archive = None
        table["access_url"] = [path.as_uri()]
        assert np.array_equal(pixels(table[0].open()), pixels(rows[0].open()))
        done = table.download(tmp_path / path.name.replace(".", "_"), progress=False)
        assert list(done["status"]) == ["ok"]
        assert Path(done["local_path"][0]).read_bytes() == original
    bomb = tmp_path / "bomb.fits.gz"
    bomb.write_bytes(gzip.compress(original + bytes(4 << 20)))
    table = rows.copy()
    table.archive = None
    table["access_url"] = [bomb.as_uri()]
    with (
        conf.set_temp("max_file_size", 3 << 20),
        pytest.raises(ValueError, match="decompressed file over the per-file"),
    ):
        table[0].open()


# ------------------------------------------------------------ IBE's limits
def test_ibe_refuses_a_box_wider_than_5_degrees(standin):
    import requests

    answer = requests.get(
        standin.ibe_url, params={"POS": "10.68,41.27", "SIZE": "5.5"}, timeout=30
    )
    assert answer.status_code == 400
    assert "Search region is too large" in answer.text


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """An index (no files) of every simulated set within 3.7 deg of M31."""
    layout = survey_layout()
    near = radec_to_xyz(layout["crval1"], layout["crval2"]) @ radec_to_xyz(
        M31.ra.deg, M31.dec.deg
    ) >= np.cos(np.radians(3.9))
    rows = np.flatnonzero(near)
    sets = {
        name: layout[name][rows] for name in layout if len(layout[name]) == len(near)
    }
    archive = LocalArchive.create(tmp_path_factory.mktemp("wide") / "index", sets)
    server = IrsaStandIn(archive).start()
    yield archive, server
    server.stop()


def test_a_7_degree_region_without_sia_is_the_same(wide):
    archive, server = wide
    with_sia = make_irsa(server)
    without = make_irsa(server, sia_url="")
    before = len(server.requests)
    a = TwoMassBatch(archive=without).query_region(M31, 7)
    boxes = [r for r in server.requests[before:] if r.path == SEARCH]
    assert len(boxes) > 1
    assert all(float(r.query["SIZE"]) <= 5 for r in boxes)
    b = TwoMassBatch(archive=with_sia).query_region(M31, 7)
    c = TwoMassBatch(archive=archive).query_region(M31, 7)
    same_rows(a, b)
    same_rows(a, c)
    assert a.meta["route"] == "ibe-box"


# ------------------------------------------------- the CGI as the last route
def test_atlas_through_the_cgi_when_sia_and_ibe_fail(standin, patch):
    archive = make_irsa(
        standin,
        sia_url=standin.base + "/SIA-gone",
        ibe_url=standin.base + "/ibe/search/gone",
    )
    batch, local = TwoMassBatch(archive=archive), TwoMassBatch(archive=patch)
    a = batch.query_region(M31, 0.12)
    same_rows(a, local.query_region(M31, 0.12))
    assert a.meta["route"] == "sia, ibe-box, sia1-box"
    points = sample_points(20, seed=6)
    p = batch.query_positions(points, best=True)
    same_rows(p, local.query_positions(points, best=True), extra=["best"])
    assert p.meta["route"] == "sia1-groups"
    info = archive.describe()
    assert info["routes"]["region"]["route"] == "sia1-box"
    assert info["routes"]["positions"]["route"] == "sia1-groups"
    assert "SIA v1 CGI is used instead" in info["ibe_failure"]


# ------------------------------------------------------------ CGI faults
def cgi_table(standin, **changes):
    """A CGI answer of the stand-in, with values changed (for faults)."""
    import io

    from astropy.io.votable import parse_single_table

    answer = standin._cgi([("POS", "10.68,41.27"), ("SIZE", "0.05"), ("type", "ql")])
    table = parse_single_table(io.BytesIO(answer[2])).to_table()
    for name, (row, value) in changes.items():
        column = table[name]
        if column.dtype.kind in "US":
            table[name] = column.astype(f"U{max(len(str(value)), 64)}")
        table[name][row] = value
    return table


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("date", "001322", "is not a date yymmdd"),
        ("hem", "x", "is not n or s"),
        ("scan", 0, "is not 1..999"),
        ("image", 12345, "is not 1..9999"),
        ("coadd_key", -7, "is not 0..2**62"),
        ("band", "L", "is not a 2MASS band"),
        ("type", "Z", "is not A (Atlas) or Q"),
        ("download", "https://elsewhere.example/x.fits", "is not a URL on the CGI"),
    ],
)
def test_bad_cgi_values_name_the_row_and_value(standin, column, value, why):
    from twomass_vo.archives.irsa.sia1 import sia1_file_rows

    table = cgi_table(standin, **{column: (2, value)})
    with pytest.raises(ArchiveError, match=re.escape(why)) as info:
        sia1_file_rows(table, standin.sia1_url + "?POS=...", cgi_url=standin.sia1_url)
    assert "row 2" in str(info.value) and repr(value)[:20] in str(info.value)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("votable-error", "QUERY_STATUS='ERROR'"),
        ("html", "is not a VOTable"),
        ("http-500", "answered HTTP 500"),
    ],
)
def test_cgi_failures_are_archive_errors(answer, message):
    from quiet_http import QuietHandler, QuietServer

    bodies = {
        "votable-error": (
            200,
            b'<?xml version="1.0"?><VOTABLE version="1.4"><RESOURCE type="results">'
            b'<INFO name="QUERY_STATUS" value="ERROR">No location specified</INFO>'
            b"</RESOURCE></VOTABLE>",
        ),
        "html": (200, b"<html><body>Service unavailable</body></html>"),
        "http-500": (500, b"Internal error"),
    }
    status, body = bodies[answer]

    class Handler(QuietHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with QuietServer(Handler) as server:
        base = server.url()
        archive = IrsaArchive(
            sia_url="",
            ibe_url="",
            tap_url=base + "/tap",
            sia1_url=base + CGI,
            data_url_root=base + DATA,
        )
        with pytest.raises(ArchiveError, match=message) as info:
            quiet(
                TwoMassBatch(archive=archive).query_region,
                M31,
                0.1,
                image_type="quicklook",
            )
        assert base + CGI in str(info.value)


def test_the_cgi_refuses_upper_cased_formats_and_needs_a_position(standin):
    import requests

    def status(params):
        text = requests.get(standin.sia1_url, params=params, timeout=30).text
        return text

    assert "No location specified" in status({"type": "ql"})
    assert "not supported" in status({"POS": "10.68,41.27", "FORMAT": "IMAGE/FITS"})
    assert 'value="OK"' in status({"POS": "10.68,41.27", "FORMAT": "image/fits"})


def test_requests_to_irsa_are_bounded_in_concurrency(standin, patch):
    archive = make_irsa(standin, ibe_chunk_size=2, max_concurrent=3)
    points = sample_points(24, seed=8)
    standin.peak.clear()
    a = TwoMassBatch(archive=archive).query_positions(points, best=True)
    b = TwoMassBatch(archive=patch).query_positions(points, best=True)
    same_rows(a, b, extra=["best"])
    assert 1 < standin.peak[SEARCH] <= 3
