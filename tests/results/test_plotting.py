# Licensed under a 3-clause BSD style license - see LICENSE
"""Footprint plots (``ImageTable.plot``), on the simulated survey.

The pictures are compared with reference PNGs checked in under
``tests/data/baseline`` (see tests/picture_checks.py and
tests/data/README.md), with a tolerance; the footprints and cutout boxes
drawn are checked vertex by vertex against ``s_region`` and the rows'
positions and sizes, and every text against the edges of the picture and
the other texts.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

matplotlib = pytest.importorskip("matplotlib")
import picture_checks as pictures  # noqa: E402 - after the skip
from matplotlib.colors import to_rgba  # noqa: E402
from picture_checks import close_figures, plt  # noqa: E402, F401 - autouse

from twomass_vo.exceptions import NoResultsWarning  # noqa: E402
from twomass_vo.geometry import Footprints  # noqa: E402
from twomass_vo.results.picture_style import result_title  # noqa: E402
from twomass_vo.results.plotting import BAND_COLORS, footprint_wcs  # noqa: E402

M31 = "00h42m44.3s +41d16m08s"
SPREAD = Table(
    {
        "id": ["M31", "M42", "CenA"],
        "ra": [10.684583, 83.822083, 201.365063],
        "dec": [41.268889, -5.391111, -43.019112],
    }
)


def footprint_patches(ax):
    """{row index: patch} of every footprint drawn (a patch stands for rows)."""
    drawn = {}
    for patch in ax.patches:
        gid = str(patch.get_gid())
        if gid.startswith("footprint:"):
            for row in gid.split(":")[1].split(","):
                assert int(row) not in drawn, f"row {row} drawn twice"
                drawn[int(row)] = patch
    return drawn


def lines(ax, prefix):
    return [line for line in ax.lines if str(line.get_gid()).startswith(prefix)]


def assert_vertices_are_the_corners(ax, table):
    """Every row is drawn once, by a polygon through its s_region corners."""
    drawn = footprint_patches(ax)
    assert sorted(drawn) == list(range(len(table)))
    ra, dec = Footprints.from_s_region(np.asarray(table["s_region"])).corners_radec()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    for i, patch in drawn.items():
        xy = patch.get_xy()
        assert len(xy) in (4, 5)  # matplotlib closes the path
        got = ax.wcs.pixel_to_world(xy[:4, 0], xy[:4, 1])
        want = SkyCoord(ra[i], dec[i], unit="deg")
        # the same corners (a footprint shared by several rows may list them
        # from another corner): each drawn vertex is one of the row's
        for vertex in got:
            assert vertex.separation(want).min() < 0.2 * u.arcsec
        # and inside the axes: the projection centred on the result shows all
        assert np.all((xy[:, 0] > x0) & (xy[:, 0] < x1))
        assert np.all((xy[:, 1] > y0) & (xy[:, 1] < y1))


def legend_entries(ax):
    """{label: handle} of the axes' legend, or of their own figure's."""
    legend = ax.get_legend() or ax.figure.legends[0]
    return {
        text.get_text(): handle
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }


def assert_legend_is_visible(ax):
    """Every footprint colour the legend lists is the colour of a drawn patch."""
    drawn = {to_rgba(p.get_edgecolor()) for p in ax.patches}
    for label, handle in legend_entries(ax).items():
        if label in ("J", "H", "Ks", "J/H/Ks", "J/H", "H/Ks", "J/Ks"):
            assert to_rgba(handle.get_color()) in drawn, f"{label} is not drawn"


@pytest.fixture
def region_table(batch):
    return batch.query_region(M31, 0.3)


@pytest.fixture
def positions_table(batch):
    positions = Table(
        {"id": ["m31", "near"], "ra": [10.6846, 10.75], "dec": [41.2689, 41.2]}
    )
    return batch.query_positions(positions, size=60)


# ------------------------------------------------------------ region plots
def test_region_plot_matches_reference(region_table, tmp_path, monkeypatch):
    with pictures.picture_style():
        ax = region_table.plot()
        assert_vertices_are_the_corners(ax, region_table)
        # J, H and Ks share each footprint: 8 outlines for 24 files, one colour
        assert len(ax.patches) == 8
        assert [line.get_gid() for line in ax.lines] == ["region", "positions"]
        assert list(legend_entries(ax)) == ["J/H/Ks", "query region", "region centre"]
        assert_legend_is_visible(ax)
        # the figure's title, which its layout keeps room for
        assert ax.figure.get_suptitle() == (
            "region mode, sim archive: 24 image files in 8 sets"
        )
        assert ax.get_aspect() == 1.0
        pictures.assert_texts_readable(ax.figure, monkeypatch)
        pictures.check_picture(ax.figure, "footprints_region.png", tmp_path)


def test_bands_with_their_own_footprints_are_each_drawn(region_table):
    """A band whose outline differs is drawn in its own colour, as listed."""
    table = region_table.copy()
    shift = {"J": 0.0, "H": 0.01, "K": 0.02}
    moved = []
    for text, band in zip(table["s_region"], table["band"], strict=True):
        words = text.split()
        numbers = np.array(words[2:], dtype=float)
        numbers[1::2] += shift[band]
        moved.append(" ".join(words[:2] + [f"{n:.6f}" for n in numbers]))
    table["s_region"] = moved
    ax = table.plot()
    assert_vertices_are_the_corners(ax, table)
    assert len(ax.patches) == 24
    assert list(legend_entries(ax))[:3] == ["J", "H", "Ks"]
    assert_legend_is_visible(ax)
    colours = {to_rgba(p.get_edgecolor()) for p in ax.patches}
    assert colours == {to_rgba(c) for c in BAND_COLORS.values()}


def test_a_one_band_result_is_labelled_with_its_band(batch):
    table = batch.query_region(M31, 0.3, band="H")
    ax = table.plot(show_region=False, show_positions=False)
    assert list(legend_entries(ax)) == ["H"]
    assert_legend_is_visible(ax)


def test_region_outline_is_the_query_circle(region_table):
    ax = region_table.plot()
    (line,) = lines(ax, "region")
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
    (line,) = lines(ax, "region")
    x, y = line.get_data()
    assert (x[0], y[0]) == (x[-1], y[-1]) and len(x) == 5
    drawn = ax.wcs.pixel_to_world(x[:4], y[:4])
    # the same four vertices (the stored polygon may start elsewhere or turn
    # the other way)
    for vertex in vertices:
        assert drawn.separation(vertex).min() < 1e-3 * u.arcsec


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
    assert ax.wcs.wcs.ctype[0] == "RA---TAN"
    assert_vertices_are_the_corners(ax, table)
    crval = ax.wcs.wcs.crval
    if expect_ra is not None:  # centred on the result, not at RA 180
        assert min(crval[0], 360 - crval[0]) < 0.5
    else:
        assert abs(crval[1]) > 89.5


# --------------------------------------------------- positions: best, cutouts
def test_best_plot_matches_reference(positions_table, tmp_path, monkeypatch):
    with pictures.picture_style():
        ax = positions_table.plot(color_by="best")
        assert_vertices_are_the_corners(ax, positions_table)
        best = np.asarray(positions_table["best"])
        for patch in footprint_patches(ax).values():
            rows = [int(r) for r in patch.get_gid().split(":")[1].split(",")]
            # a set is drawn best (solid, orange) if it is best for a position
            assert (patch.get_linestyle() == "-") == bool(best[rows].any())
        (marks,) = lines(ax, "positions")
        assert len(marks.get_xdata()) == 2
        assert set(legend_entries(ax)) == {
            "best",
            "other",
            "cutout (1′)",
            "input position",
        }
        pictures.assert_texts_readable(ax.figure, monkeypatch)
        pictures.check_picture(ax.figure, "footprints_best.png", tmp_path)


def test_band_colours_show_the_best_set_solid(positions_table):
    ax = positions_table.plot()
    best = np.asarray(positions_table["best"])
    styles = {patch.get_linestyle() == "-" for patch in footprint_patches(ax).values()}
    assert styles == {True, False}  # some best, some not
    for patch in footprint_patches(ax).values():
        rows = [int(r) for r in patch.get_gid().split(":")[1].split(",")]
        assert (patch.get_linestyle() == "-") == bool(best[rows].any())
    entries = legend_entries(ax)
    assert entries["best image set"].get_linestyle() == "-"
    assert entries["others"].get_linestyle() == "--"
    assert "J/H/Ks" in entries


def test_cutout_boxes_are_the_cutouts_asked_for(positions_table):
    ax = positions_table.plot()
    boxes = lines(ax, "cutout:")
    assert len(boxes) == 2  # one per position (its J, H, Ks rows share it)
    covered = []
    footprints = Footprints.from_s_region(np.asarray(positions_table["s_region"]))
    for box in boxes:
        rows = [int(r) for r in box.get_gid().split(":")[1].split(",")]
        covered += rows
        row = positions_table[rows[0]]
        x, y = box.get_data()
        assert len(x) == 5 and (x[0], y[0]) == pytest.approx((x[-1], y[-1]))
        corners = ax.wcs.pixel_to_world(x[:4], y[:4])
        centre = SkyCoord(row["in_ra"], row["in_dec"], unit="deg")
        # a 60" square around the position: corners 30 sqrt(2)" away ...
        np.testing.assert_allclose(
            corners.separation(centre).arcsec, 30 * np.sqrt(2), atol=1e-3
        )
        # ... its sides 60" long ...
        sides = corners.separation(corners[[1, 2, 3, 0]]).arcsec
        np.testing.assert_allclose(sides, 60.0, rtol=1e-4)
        # ... and turned as the image's edges are
        ra, dec = footprints[rows[0]].corners_radec()
        edge = SkyCoord(ra[0, :2], dec[0, :2], unit="deg")
        turn = edge[0].position_angle(edge[1]).deg
        side = corners[0].position_angle(corners[1]).deg
        assert abs((side - turn + 45) % 90 - 45) < 0.01
    assert sorted(covered) == list(range(len(positions_table)))
    no_boxes = positions_table.plot(show_cutouts=False)
    assert not lines(no_boxes, "cutout:")


# ------------------------------------------------------------ all-sky plots
def test_positions_over_the_sky_plot_on_an_allsky_map(batch, tmp_path, monkeypatch):
    table = batch.query_positions(SPREAD, size=120)
    with pictures.picture_style():
        ax = table.plot()
        assert ax.wcs.wcs.ctype[0] == "RA---AIT"
        # every row drawn on the map; the tiny footprints are also dots
        assert sorted(footprint_patches(ax)) == list(range(len(table)))
        (dots,) = lines(ax, "dots:")
        dot_world = ax.wcs.pixel_to_world(*dots.get_data())
        centres = SkyCoord(table["ra"], table["dec"], unit="deg")
        assert np.all(dot_world.separation(centres[:, None]).min(axis=0) < 0.1 * u.deg)
        assert ax.figure.get_suptitle() == result_title(table)
        zooms = ax.figure.axes[1:]
        assert [z.get_title().split("\n")[0] for z in zooms] == [
            "A: M31",
            "B: M42",
            "C: CenA",
        ]
        assert zooms[1].get_title().split("\n")[1] == "83.82208 -5.39111"
        for zoom, target in zip(zooms, SPREAD, strict=True):
            assert zoom.wcs.wcs.ctype[0] == "RA---TAN"
            assert zoom.get_aspect() == 1.0
            rows = np.flatnonzero(table["id"] == target["id"])
            assert sorted(footprint_patches(zoom)) == list(range(len(rows)))
            assert_vertices_are_the_corners(zoom, table[rows])
            (box,) = lines(zoom, "cutout:")
            corners = zoom.wcs.pixel_to_world(*box.get_data())
            position = SkyCoord(target["ra"], target["dec"], unit="deg")
            np.testing.assert_allclose(
                corners.separation(position).arcsec, 60 * np.sqrt(2), atol=1e-3
            )
        # the letters on the map are at the positions
        letters = {t.get_text(): t.xy for t in ax.texts if len(t.get_text()) == 1}
        assert set(letters) == {"A", "B", "C"}
        at = ax.wcs.pixel_to_world(*np.transpose([letters[k] for k in "ABC"]))
        targets = SkyCoord(SPREAD["ra"], SPREAD["dec"], unit="deg")
        assert np.all(at.separation(targets) < 1e-6 * u.deg)
        pictures.assert_texts_readable(ax.figure, monkeypatch)
        pictures.check_picture(ax.figure, "footprints_allsky.png", tmp_path)


def test_allsky_options_projection_and_zooms(batch):
    table = batch.query_positions(SPREAD, band="J", best=True)
    ax = table.plot(projection="MOL", zooms=0)
    assert ax.wcs.wcs.ctype[0] == "RA---MOL"
    assert len(ax.figure.axes) == 1
    # more groups than zoom panels: the map alone
    assert len(table.plot(zooms=2).figure.axes) == 1
    assert len(table.plot(zooms=3).figure.axes) == 4
    # a small result asked on an all-sky map, or a TAN view of the sky
    near = batch.query_region(M31, 0.3, band="J")
    assert near.plot(projection="AIT").wcs.wcs.ctype[0] == "RA---AIT"
    with pytest.raises(ValueError, match="hemisphere"):
        table.plot(projection="TAN")
    with pytest.raises(ValueError, match="projection='ZEA'"):
        table.plot(projection="ZEA")
    with pytest.raises(
        ValueError, match=r"zooms=-1: give a whole number of at least 0"
    ):
        table.plot(zooms=-1)


@pytest.mark.parametrize(("ra", "projection"), [(55.0, "TAN"), (65.0, "AIT")])
def test_tan_up_to_sixty_degrees_then_allsky(batch, ra, projection):
    table = batch.query_positions(
        Table({"ra": [0.5, ra], "dec": [0.0, 0.0]}), band="J", best=True
    )
    ax = table.plot()
    assert ax.wcs.wcs.ctype[0] == f"RA---{projection}"
    assert_vertices_are_the_corners(ax, table)


def test_footprint_wcs_projections():
    whole_sky = ([0, 120, 240, 0], [0, 0, 0, -89])
    with pytest.raises(ValueError, match="hemisphere"):
        footprint_wcs(*whole_sky, projection="TAN")
    assert footprint_wcs(*whole_sky).wcs.ctype[0] == "RA---AIT"
    assert footprint_wcs([], []).wcs.ctype[0] == "RA---AIT"
    with pytest.raises(ValueError, match="nothing to plot"):
        footprint_wcs([], [], projection="TAN")
    assert footprint_wcs([10.5, 10.9], [41.1, 41.4]).wcs.ctype[0] == "RA---TAN"


# ------------------------------------------------------ the user's own axes
def test_plot_on_given_axes_makes_them_equal_aspect(region_table):
    wcs = footprint_wcs([10.5, 10.9], [41.1, 41.4])
    fig = plt.figure(figsize=(8, 3))
    ax = fig.add_subplot(projection=wcs, aspect="auto")
    ax.set_xlim(-0.5, 599.5)
    ax.set_ylim(-0.5, 599.5)
    assert region_table.plot(ax, show_positions=False) is ax
    assert ax.get_aspect() == 1.0
    # the query circle is round on the canvas, not an ellipse
    fig.canvas.draw()
    (line,) = lines(ax, "region")
    x, y = ax.transData.transform(np.transpose(line.get_data())).T
    assert np.ptp(x) == pytest.approx(np.ptp(y), rel=0.01)
    # on the user's axes: the legend and the title on the axes
    assert ax.get_legend() is not None
    assert ax.get_title() == "region mode, sim archive: 24 image files in 8 sets"


def test_plot_refuses_bad_options(region_table):
    with pytest.raises(ValueError, match="color_by"):
        region_table.plot(color_by="colour")
    _, plain = plt.subplots()
    with pytest.raises(TypeError, match="give WCSAxes"):
        region_table.plot(plain)


# ----------------------------------------------------------- empty results
def test_an_empty_result_is_a_warning_and_an_empty_picture(batch, monkeypatch):
    with pytest.warns(NoResultsWarning):
        empty = batch.query_region(M31, 0.5, intersect="covers")
    assert len(empty) == 0
    with pytest.warns(NoResultsWarning, match="no footprints"):
        ax = empty.plot()
    assert not ax.patches
    # the query region is drawn, centred: a picture of where nothing was found
    assert ax.wcs.wcs.ctype[0] == "RA---TAN"
    assert [line.get_gid() for line in ax.lines] == ["region"]
    assert ax.figure.get_suptitle() == "region mode, sim archive: no image files"
    pictures.assert_texts_readable(ax.figure, monkeypatch)
    # an empty table of no mode: the whole sky
    bare = empty.copy()
    bare.meta = {}
    with pytest.warns(NoResultsWarning):
        ax = bare.plot()
    assert ax.wcs.wcs.ctype[0] == "RA---AIT"
    assert ax.figure.get_suptitle() == "no image files"


def test_long_titles_are_broken_to_fit(monkeypatch):
    from twomass_vo.results.picture_style import fit_text

    fig = plt.figure(figsize=(2.5, 2), layout="constrained")
    text = fig.suptitle("positions mode, sim archive: 1234 image files in 400 sets")
    fit_text(text, fig.bbox.width)
    assert text.get_text().startswith("positions mode, sim archive:\n")
    ax = fig.add_subplot()
    name = "a very long name given to a position by its observer"
    title = fit_text(ax.set_title(name), ax.bbox.width)
    assert title.get_text().replace("\n", " ") == name
    assert title.get_text().count("\n") >= 2
    pictures.assert_texts_readable(fig, monkeypatch)


# ------------------------------------------------------------ the helpers
def test_the_readability_check_can_fail(monkeypatch):
    fig = plt.figure(figsize=(3, 2))
    fig.text(0.1, 0.5, "one label")
    fig.text(0.15, 0.5, "another label")
    with pytest.raises(AssertionError, match="overprints"):
        pictures.assert_texts_readable(fig, monkeypatch)
    fig = plt.figure(figsize=(3, 2))
    fig.text(0.9, 0.5, "a label cut off at the edge")
    with pytest.raises(AssertionError, match="cut off"):
        pictures.assert_texts_readable(fig, monkeypatch)


# ------------------------------------------------------------ matplotlib import
def test_matplotlib_is_imported_only_for_pictures(tmp_path):
    code = (
        "import sys, warnings\n"
        "from twomass_vo import TwoMassBatch\n"
        "t = TwoMassBatch(archive='sim').query_scan('971031', 'n', 96, image=197)\n"
        "from twomass_vo.results.result_writer import write_table\n"
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
def test_cli_empty_result_with_plot_writes_everything(batch, tmp_path, capsys):
    table, plot = tmp_path / "none.vot", tmp_path / "none.png"
    status = pictures.run_cli(
        "region", M31, "0.5", "--intersect", "covers", "-o", table, "--plot", plot
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert table.exists() and plot.exists()
    assert "NoResultsWarning" in captured.err and "no footprints" in captured.err
    assert f"footprints -> {plot}" in captured.out
    assert plt.imread(plot).shape[0] > 100
    assert not plt.get_fignums()  # nothing left open


def test_cli_draws_the_pictures_before_any_output(tmp_path, capsys, monkeypatch):
    from twomass_vo.results.image_table import ImageTable

    def fail(self, *args, **kwargs):
        raise ValueError("this picture cannot be drawn")

    monkeypatch.setattr(ImageTable, "plot", fail)
    table, plot = tmp_path / "m31.vot", tmp_path / "m31.png"
    status = pictures.run_cli("region", M31, "0.3", "-o", table, "--plot", plot)
    assert status == 2
    assert "this picture cannot be drawn" in capsys.readouterr().err
    assert not table.exists() and not plot.exists()
