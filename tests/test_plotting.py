# Licensed under a 3-clause BSD style license - see LICENSE
"""Footprint plots and colour previews, on the simulated survey.

The pictures are compared with reference PNGs checked in under
``tests/data/baseline`` (made once by this file with
``TWOMASS_VO_MAKE_BASELINE=1``; see tests/data/README.md), with a tolerance;
the footprints drawn are checked vertex by vertex against ``s_region``.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

from twomass_vo.cli import main  # noqa: E402
from twomass_vo.geometry import Footprints  # noqa: E402
from twomass_vo.plotting import footprint_wcs  # noqa: E402
from twomass_vo.preview import plot_previews  # noqa: E402

BASELINE = os.path.join(os.path.dirname(__file__), "data", "baseline")
M31 = "00h42m44.3s +41d16m08s"
#: RMS tolerance of the image comparisons (0-255 grey levels)
TOLERANCE = 6
STYLE = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib
    "font.size": 8,
    "figure.dpi": 100,
    "savefig.dpi": 60,
    "text.hinting": "none",
    "text.antialiased": True,
    "lines.antialiased": True,
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def check_picture(figure, name, tmp_path):
    """Compare a figure with its checked-in reference PNG."""
    actual = tmp_path / name
    figure.set_size_inches(4, 4)
    figure.savefig(actual)
    expected = os.path.join(BASELINE, name)
    if os.environ.get("TWOMASS_VO_MAKE_BASELINE") == "1":
        figure.savefig(expected)
    assert os.path.exists(expected), f"no reference picture {expected}"
    result = compare_images(expected, str(actual), tol=TOLERANCE)
    assert result is None, result


def footprint_patches(ax):
    patches = {
        p.get_gid(): p for p in ax.patches if str(p.get_gid()).startswith("footprint:")
    }
    return [patches[f"footprint:{i}"] for i in range(len(patches))]


def assert_vertices_are_the_corners(ax, table):
    """Every plotted polygon's vertices are its row's s_region corners."""
    patches = footprint_patches(ax)
    assert len(patches) == len(table)
    ra, dec = Footprints.from_s_region(np.asarray(table["s_region"])).corners_radec()
    for i, patch in enumerate(patches):
        xy = patch.get_xy()
        assert len(xy) in (4, 5)  # matplotlib closes the path
        got = ax.wcs.pixel_to_world(xy[:4, 0], xy[:4, 1])
        want = SkyCoord(ra[i], dec[i], unit="deg")
        assert got.separation(want).max() < 1e-6 * u.arcsec
        # and inside the axes: the projection centred on the result shows all
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        assert np.all((xy[:, 0] > x0) & (xy[:, 0] < x1))
        assert np.all((xy[:, 1] > y0) & (xy[:, 1] < y1))


@pytest.fixture
def region_table(batch):
    return batch.query_region(M31, 0.3)


@pytest.fixture
def positions_table(batch):
    positions = Table(
        {"id": ["m31", "near"], "ra": [10.6846, 10.75], "dec": [41.2689, 41.2]}
    )
    return batch.query_positions(positions)


# ------------------------------------------------------------- footprint plots
def test_region_plot_matches_reference(region_table, tmp_path):
    with matplotlib.style.context(["default", STYLE]):
        ax = region_table.plot()
        assert_vertices_are_the_corners(ax, region_table)
        assert [line.get_gid() for line in ax.lines] == ["region", "positions"]
        colours = {p.get_edgecolor()[:3] for p in ax.patches}
        assert len(colours) == 3  # J, H and Ks
        check_picture(ax.figure, "footprints_region.png", tmp_path)


def test_region_outline_is_the_query_circle(region_table):
    ax = region_table.plot()
    (line,) = [line for line in ax.lines if line.get_gid() == "region"]
    x, y = line.get_data()
    ring = ax.wcs.pixel_to_world(x, y)
    centre = SkyCoord(M31)
    # the region is recorded to 1e-7 deg
    np.testing.assert_allclose(ring.separation(centre).deg, 0.15, atol=1e-6)


def test_polygon_region_is_drawn_closed_through_its_vertices(batch):
    from regions import PolygonSkyRegion

    vertices = SkyCoord([10.5, 10.9, 10.9, 10.5], [41.1, 41.1, 41.4, 41.4], unit="deg")
    table = batch.query_region(PolygonSkyRegion(vertices), band="J")
    ax = table.plot()
    assert_vertices_are_the_corners(ax, table)
    (line,) = [line for line in ax.lines if line.get_gid() == "region"]
    x, y = line.get_data()
    assert (x[0], y[0]) == (x[-1], y[-1]) and len(x) == 5
    drawn = ax.wcs.pixel_to_world(x[:4], y[:4])
    # the same four vertices (the stored polygon may start elsewhere or turn
    # the other way)
    for vertex in vertices:
        assert drawn.separation(vertex).min() < 1e-3 * u.arcsec


def test_best_plot_matches_reference(positions_table, tmp_path):
    with matplotlib.style.context(["default", STYLE]):
        ax = positions_table.plot(color_by="best")
        assert_vertices_are_the_corners(ax, positions_table)
        best = np.asarray(positions_table["best"])
        styles = [p.get_linestyle() for p in footprint_patches(ax)]
        assert [s == "-" for s in styles] == list(best)
        (marks,) = [line for line in ax.lines if line.get_gid() == "positions"]
        assert len(marks.get_xdata()) == 2
        check_picture(ax.figure, "footprints_best.png", tmp_path)


@pytest.mark.parametrize(
    ("center", "expect_ra"),
    [
        ("0.02 -30.0", 0.0),
        ("359.98 10.0", 0.0),
        ("45 89.95", None),
        ("200 -89.9", None),
    ],
)
def test_plots_across_ra_zero_and_at_the_poles(batch, center, expect_ra):
    table = batch.query_region(center, 0.2, band="J")
    assert len(table)
    ax = table.plot()
    assert_vertices_are_the_corners(ax, table)
    crval = ax.wcs.wcs.crval
    if expect_ra is not None:  # centred on the result, not at RA 180
        assert min(crval[0], 360 - crval[0]) < 0.5
    else:
        assert abs(crval[1]) > 89.5


def test_plot_on_given_axes_and_bad_option(region_table):
    wcs = footprint_wcs([10.5, 10.9], [41.1, 41.4])
    fig = plt.figure()
    ax = fig.add_subplot(projection=wcs)
    assert region_table.plot(ax, show_region=False, show_positions=False) is ax
    assert not ax.lines  # no region, no positions
    with pytest.raises(ValueError, match="color_by"):
        region_table.plot(color_by="colour")


def test_footprint_wcs_refuses_the_whole_sky():
    with pytest.raises(ValueError, match="hemisphere"):
        footprint_wcs([0, 120, 240, 0], [0, 0, 0, -89])


# ----------------------------------------------------------------- previews
def test_row_preview_matches_reference(positions_table, tmp_path):
    with matplotlib.style.context(["default", STYLE]):
        row = positions_table[positions_table["best"]][0]
        ax = row.preview(size=120 * u.arcsec)
        (image,) = ax.get_images()
        rgb = image.get_array()
        assert rgb.shape[2] == 3 and rgb.dtype == np.uint8
        # the three bands differ: a colour picture, not grey
        assert not np.array_equal(rgb[..., 0], rgb[..., 2])
        (mark,) = [line for line in ax.lines if line.get_gid() == "position"]
        x, y = mark.get_data()
        position = ax.wcs.pixel_to_world(x[0], y[0])
        target = SkyCoord(row["in_ra"], row["in_dec"], unit="deg")
        assert position.separation(target) < 1e-6 * u.arcsec
        check_picture(ax.figure, "preview_row.png", tmp_path)


def test_table_preview_finds_the_missing_bands(batch):
    table = batch.query_positions(Table({"ra": [10.6846], "dec": [41.2689]}), band="J")
    assert set(table["band"]) == {"J"}
    ax = table.preview(SkyCoord(10.6846, 41.2689, unit="deg"), size=60)
    (image,) = ax.get_images()
    assert image.get_array().shape[2] == 3
    with pytest.raises(ValueError, match="no image of the table contains"):
        table.preview(SkyCoord(200, -20, unit="deg"))


def test_preview_without_archive_names_the_missing_bands(batch, tmp_path):
    table = batch.query_scan("971031", "n", 96, image=197, band="J")
    table.archive = None
    with pytest.raises(ValueError, match="no H, K image"):
        table[0].preview()


def test_previews_one_panel_per_position_up_to_a_limit(batch):
    ra = 10.6846 + np.arange(5) * 0.02
    table = batch.query_positions(Table({"ra": ra, "dec": np.full(5, 41.2689)}))
    figure = plot_previews(table, size=30, max_panels=3)
    assert len(figure.axes) == 3
    figure = plot_previews(table, size=30)
    assert len(figure.axes) == 5


# ------------------------------------------------------------ matplotlib import
def test_matplotlib_is_imported_only_for_pictures(tmp_path):
    code = (
        "import sys, warnings\n"
        "from twomass_vo import TwoMassBatch\n"
        "t = TwoMassBatch(archive='sim').query_scan('971031', 'n', 96, image=197)\n"
        "from twomass_vo.table_metadata import write_table\n"
        f"write_table(t, {str(tmp_path / 'x.vot')!r})\n"
        "assert 'matplotlib' not in sys.modules, 'imported'\n"
        "t.plot()\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    import twomass_vo

    package_root = os.path.dirname(os.path.dirname(twomass_vo.__file__))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=package_root)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_a_clear_error_without_matplotlib(region_table, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'twomass_vo\[plot\]'"):
        region_table.plot()


# ------------------------------------------------------------------ CLI
def run(*argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return main(["--archive", "sim", *(str(a) for a in argv)])


def test_cli_plot_and_preview(tmp_path, capsys):
    targets = tmp_path / "targets.csv"
    targets.write_text("id,ra,dec\nm31,10.6846,41.2689\nnear,10.75,41.2\n")
    plot, preview = tmp_path / "fp.png", tmp_path / "pv.png"
    status = run(
        "positions",
        targets,
        "--best",
        "--size",
        "60",
        "--plot",
        plot,
        "--preview",
        preview,
    )
    out = capsys.readouterr().out
    assert status == 0
    assert f"footprints -> {plot}" in out and f"colour previews -> {preview}" in out
    for path in (plot, preview):
        pixels = plt.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 100
    # an existing picture is kept without --overwrite
    status = run("positions", targets, "--plot", plot)
    assert status == 2


def test_cli_preview_is_for_the_positions_mode(tmp_path, capsys):
    status = run(
        "scan", "971031", "n", "96", "--image", "197", "--preview", tmp_path / "p.png"
    )
    captured = capsys.readouterr()
    assert status == 2
    assert "--preview is for the positions mode" in captured.err
    assert captured.out == ""  # refused before the query ran
    assert not (tmp_path / "p.png").exists()
