# Licensed under a 3-clause BSD style license - see LICENSE
"""J/H/Ks colour previews (``ImageRow.preview``, ``plot_previews``, ``--preview``).

On the simulated survey (synthetic pixels, 1 arcsec each). The pictures are
compared with reference PNGs (tests/picture_checks.py); where each preview
looks (the row's position when its image holds it, else the image centre;
a window moved inside the image near an edge) is checked through the WCS of
the picture drawn.
"""

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

matplotlib = pytest.importorskip("matplotlib")
import picture_checks as pictures  # noqa: E402 - after the skip
from picture_checks import close_figures, plt  # noqa: E402, F401 - autouse

from twomass_vo.exceptions import NoResultsWarning  # noqa: E402
from twomass_vo.geometry import Footprints, radec_to_xyz  # noqa: E402
from twomass_vo.results.picture_style import designation  # noqa: E402
from twomass_vo.results.preview import plot_previews, preview_center  # noqa: E402

M31 = "00h42m44.3s +41d16m08s"


def picture_window(ax):
    """Sky positions of the centre and the four corners of a preview drawn."""
    (image,) = ax.get_images()
    ny, nx = image.get_array().shape[:2]
    assert ax.get_xlim() == (-0.5, nx - 0.5) and ax.get_ylim() == (-0.5, ny - 0.5)
    x = np.array([(nx - 1) / 2, -0.5, nx - 0.5, nx - 0.5, -0.5])
    y = np.array([(ny - 1) / 2, -0.5, -0.5, ny - 0.5, ny - 0.5])
    return ax.wcs.pixel_to_world(x, y), (ny, nx)


def marks(ax):
    return [line for line in ax.lines if line.get_gid() == "position"]


def inside(row, coords):
    """Whether the row's image holds each position (a SkyCoord array)."""
    coords = coords.reshape(-1)
    footprint = Footprints.from_s_region([str(row["s_region"])])
    points = radec_to_xyz(coords.icrs.ra.deg, coords.icrs.dec.deg)
    return footprint.contains(points, index=np.zeros(len(coords), int))


@pytest.fixture
def positions_table(batch):
    positions = Table(
        {"id": ["m31", "near"], "ra": [10.6846, 10.75], "dec": [41.2689, 41.2]}
    )
    return batch.query_positions(positions)


@pytest.fixture
def region_table(batch):
    return batch.query_region(M31, 0.3)


# ------------------------------------------------------------- one row
def test_row_preview_matches_reference(positions_table, tmp_path, monkeypatch):
    with pictures.picture_style():
        row = positions_table[positions_table["best"]][0]
        ax = row.preview(size=120 * u.arcsec)
        (image,) = ax.get_images()
        rgb = image.get_array()
        assert rgb.shape == (120, 120, 3) and rgb.dtype == np.uint8
        # the three bands differ: a colour picture, not grey
        assert not np.array_equal(rgb[..., 0], rgb[..., 2])
        (mark,) = marks(ax)
        x, y = mark.get_data()
        position = ax.wcs.pixel_to_world(x[0], y[0])
        target = SkyCoord(row["in_ra"], row["in_dec"], unit="deg")
        assert position.separation(target) < 1e-6 * u.arcsec
        window, _ = picture_window(ax)
        assert window[0].separation(target) < 1 * u.arcsec  # centred on it
        assert ax.get_title() == (
            f"{row['ordate']}{row['hemisphere']} {row['scanno']:03d} "
            f"{row['image']:04d} (J H Ks)\nm31  10.68460 +41.26890"
        )
        assert ax.get_aspect() == 1.0
        pictures.assert_texts_readable(ax.figure, monkeypatch)
        pictures.check_picture(ax.figure, "preview_row.png", tmp_path)


def test_region_row_beside_the_centre_is_shown_by_its_image(region_table):
    centre = SkyCoord(M31)
    outside = [r for r in region_table if not inside(r, centre)[0]]
    row = outside[0]
    image_centre = SkyCoord(row["ra"], row["dec"], unit="deg")
    assert preview_center(row)[1] is False
    assert preview_center(row)[0].separation(image_centre) < 1e-9 * u.deg
    # a cutout: around the image centre, all image, nothing marked
    ax = row.preview(size=120)
    window, shape = picture_window(ax)
    assert shape == (120, 120)
    assert window[0].separation(image_centre) < 1 * u.arcsec
    assert inside(row, window).all()
    assert not marks(ax)
    middle = window[0].icrs
    title = ax.get_title().split("\n")[1]
    assert title == designation(middle.ra.deg, middle.dec.deg) + "  " + (
        f"{middle.ra.deg:.5f} {middle.dec.deg:+.5f}"
    )
    # the full image: its own extent, the query centre (beside it) not drawn
    ax = row.preview()
    window, shape = picture_window(ax)
    assert shape == (1024, 512)
    assert not marks(ax)


def test_region_row_holding_the_centre_is_centred_on_it(region_table):
    centre = SkyCoord(M31)
    holding = [r for r in region_table if inside(r, centre)[0]]
    assert holding
    for row in holding[:2]:
        assert preview_center(row)[1] is True
        ax = row.preview(size=90)
        window, shape = picture_window(ax)
        assert shape == (90, 90)
        assert window[0].separation(centre) < 1 * u.arcsec
        (mark,) = marks(ax)
        ax = row.preview()  # the full image, the centre marked on it
        (mark,) = marks(ax)
        x, y = mark.get_data()
        assert ax.wcs.pixel_to_world(x[0], y[0]).separation(centre) < 1e-6 * u.arcsec


def test_a_window_at_an_edge_is_moved_inside_the_image(batch):
    # a position 20" inside the southern edge of an image
    row = batch.query_scan("971031", "n", 96, image=197, band="J")[0]
    ra, dec = Footprints.from_s_region([row["s_region"]]).corners_radec()
    south = SkyCoord(ra[0], dec[0], unit="deg")
    low = np.argsort(dec[0])[:2]
    edge_middle = SkyCoord(ra[0][low].mean(), dec[0][low].mean(), unit="deg")
    position = edge_middle.directional_offset_by(0 * u.deg, 20 * u.arcsec)
    assert inside(row, position).all() and south.size == 4
    table = batch.query_positions(
        Table({"ra": [position.ra.deg], "dec": [position.dec.deg]})
    )
    (near_edge,) = [r for r in table if r["coadd_key"] == row["coadd_key"]][:1]
    ax = near_edge.preview(size=120)
    window, shape = picture_window(ax)
    assert shape == (120, 120)  # a whole square, not trimmed at the edge
    assert inside(near_edge, window[1:]).all()  # all of it image
    (mark,) = marks(ax)
    x, y = mark.get_data()
    assert ax.wcs.pixel_to_world(x[0], y[0]).separation(position) < 1e-6 * u.arcsec
    # moved north by about 40": the position sits 20" above the bottom
    assert 35 < window[0].separation(position).arcsec < 45


# ---------------------------------------------------------- panel figures
def test_previews_are_titled_with_the_id_or_a_designation(batch, monkeypatch):
    targets = Table(
        {
            "id": ["M31", "", "CenA"],
            "ra": [10.684583, 250.4, 201.365063],
            "dec": [41.268889, 36.46, -43.019112],
        }
    )
    table = batch.query_positions(targets, size=90)
    with pictures.picture_style():
        figure = plot_previews(table)
        titles = [ax.get_title() for ax in figure.axes]
        assert titles == [
            "M31\n10.68458 +41.26889",
            "J164136.00+362736.0\n250.40000 +36.46000",
            "CenA\n201.36506 -43.01911",
        ]
        assert figure.get_suptitle() == (
            "positions mode, sim archive: "
            f"{len(table)} image files in {len(set(table['coadd_key']))} sets, "
            "3 positions"
        )
        for ax, target in zip(figure.axes, targets, strict=True):
            window, shape = picture_window(ax)
            assert shape == (90, 90)
            position = SkyCoord(target["ra"], target["dec"], unit="deg")
            assert window[0].separation(position) < 1 * u.arcsec
            assert len(marks(ax)) == 1
        pictures.assert_texts_readable(figure, monkeypatch)


def test_previews_up_to_a_limit(batch):
    ra = 10.6846 + np.arange(5) * 0.02
    table = batch.query_positions(Table({"ra": ra, "dec": np.full(5, 41.2689)}))
    figure = plot_previews(table, size=30, max_panels=3)
    assert len(figure.axes) == 3
    assert figure.get_suptitle().endswith("(the first 3 of 5 shown)")
    figure = plot_previews(table, size=30)
    assert len(figure.axes) == 5
    assert "shown" not in figure.get_suptitle()
    figure = plot_previews(table, size=30, ncols=2)
    assert figure.axes[2].get_subplotspec().rowspan.start == 1


def test_a_single_panel_keeps_its_title_inside(batch, monkeypatch):
    table = batch.query_positions(Table({"ra": [10.6846], "dec": [85.0]}))
    with pictures.picture_style():
        figure = plot_previews(table, size=600)
        # broken after the colon: one panel is narrower than the title
        assert figure.get_suptitle() == (
            "positions mode, sim archive:\n3 image files in 1 set, 1 position"
        )
        pictures.assert_texts_readable(figure, monkeypatch)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_panels", -1),
        ("max_panels", 0),
        ("max_panels", 2.5),
        ("max_panels", True),
        ("max_panels", "4"),
        ("ncols", 0),
    ],
)
def test_previews_refuse_a_bad_count(positions_table, option, value):
    with pytest.raises(ValueError, match=rf"{option}={value!r}: give a whole number"):
        plot_previews(positions_table, **{option: value})


def test_previews_of_a_region_result(region_table):
    figure = plot_previews(region_table, size=60)
    (ax,) = figure.axes  # one input: the region
    centre = SkyCoord(M31)
    window, _ = picture_window(ax)
    assert window[0].separation(centre) < 1 * u.arcsec
    assert ax.get_title() == "J004244.30+411608.0\n10.68458 +41.26889"


def test_previews_of_an_empty_result(region_table, monkeypatch):
    with pytest.warns(NoResultsWarning, match="without previews"):
        figure = plot_previews(region_table[:0])
    assert "no image files to preview" in [t.get_text() for t in figure.texts]
    assert figure.get_suptitle() == "region mode, sim archive: no image files"
    pictures.assert_texts_readable(figure, monkeypatch)


# ------------------------------------------------- previews of a position
def test_table_preview_finds_the_missing_bands(batch):
    table = batch.query_positions(Table({"ra": [10.6846], "dec": [41.2689]}), band="J")
    assert set(table["band"]) == {"J"}
    ax = table.preview(SkyCoord(10.6846, 41.2689, unit="deg"), size=60)
    (image,) = ax.get_images()
    assert image.get_array().shape[2] == 3
    with pytest.raises(ValueError, match="no image of the table contains"):
        table.preview(SkyCoord(200, -20, unit="deg"))


def test_preview_without_archive_names_the_missing_bands(batch):
    table = batch.query_scan("971031", "n", 96, image=197, band="J")
    table.archive = None
    with pytest.raises(ValueError, match="no H, K image"):
        table[0].preview()


# ------------------------------------------------------------------ CLI
def test_cli_plot_and_preview(tmp_path, capsys):
    targets = tmp_path / "targets.csv"
    targets.write_text("id,ra,dec\nm31,10.6846,41.2689\nnear,10.75,41.2\n")
    plot, preview = tmp_path / "fp.png", tmp_path / "pv.png"
    status = pictures.run_cli(
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
    assert not plt.get_fignums()  # nothing left open
    # an existing picture is kept without --overwrite
    status = pictures.run_cli("positions", targets, "--plot", plot)
    assert status == 2


def test_cli_preview_is_for_the_positions_mode(tmp_path, capsys):
    status = pictures.run_cli(
        "scan", "971031", "n", "96", "--image", "197", "--preview", tmp_path / "p.png"
    )
    captured = capsys.readouterr()
    assert status == 2
    assert "--preview is for the positions mode" in captured.err
    assert captured.out == ""  # refused before the query ran
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_cli_preview_max_must_be_positive(tmp_path, capsys, value):
    targets = tmp_path / "targets.csv"
    targets.write_text("ra,dec\n10.6846,41.2689\n")
    with pytest.raises(SystemExit) as stop:
        pictures.run_cli(
            "positions",
            targets,
            "--preview",
            tmp_path / "p.png",
            "--preview-max",
            value,
        )
    assert stop.value.code == 2
    assert "--preview-max" in capsys.readouterr().err
