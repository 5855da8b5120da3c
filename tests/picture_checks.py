# Licensed under a 3-clause BSD style license - see LICENSE
"""Checks shared by the picture tests (test_plotting.py, test_previews.py).

Import it after ``pytest.importorskip("matplotlib")``: it selects the Agg
backend, and its ``close_figures`` fixture (autouse, once imported) closes
every figure a test leaves open. `run_cli` runs the command line in process.
`check_picture` compares a figure with its checked-in reference PNG under
``tests/data/baseline`` (made with ``TWOMASS_VO_MAKE_BASELINE=1``; see
tests/data/README.md). `drawn_texts` records every text a plain ``savefig``
draws, with its box on the canvas, so that a test can prove that no label
is cut off at the edge of the picture and that no two labels overprint.
"""

import io
import os
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.image
import matplotlib.pyplot as plt
import matplotlib.style
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.testing.compare import compare_images

from twomass_vo.cli import main

BASELINE = os.path.join(os.path.dirname(__file__), "data", "baseline")
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
    """Close the figures a test leaves open."""
    yield
    plt.close("all")


def run_cli(*argv):
    """Run ``twomass-vo --archive sim ARGS`` in process; return its status.

    Its warnings are shown as a plain run shows them (not the test suite's
    "error"), so that the command's own warning display is exercised.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        warnings.simplefilter("ignore", ResourceWarning)
        return main(["--archive", "sim", *(str(a) for a in argv)])


def picture_style():
    """The fixed style of the reference pictures (a context manager)."""
    return matplotlib.style.context(["default", STYLE])


def check_picture(figure, name, tmp_path):
    """Compare a figure, saved as it is (size, layout), with its reference PNG."""
    actual = tmp_path / name
    figure.savefig(actual)
    expected = os.path.join(BASELINE, name)
    if os.environ.get("TWOMASS_VO_MAKE_BASELINE") == "1":
        figure.savefig(expected)
    assert os.path.exists(expected), f"no reference picture {expected}"
    result = compare_images(expected, str(actual), tol=TOLERANCE)
    assert result is None, result


def drawn_texts(figure, monkeypatch):
    """Save ``figure`` with a plain savefig; return (text, box) of each text drawn.

    The boxes are in pixels of the saved picture; a text of several lines
    (a title) is one box.
    """
    seen = {}
    draw_text = RendererAgg.draw_text

    def record(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and str(s).strip():
            box = mtext.get_window_extent(self)
            key = (id(mtext), tuple(round(v, 3) for v in box.bounds))
            seen.setdefault(key, (mtext.get_text(), box))
        return draw_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    with monkeypatch.context() as patch:
        patch.setattr(RendererAgg, "draw_text", record)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    buffer.seek(0)
    height, width = matplotlib.image.imread(buffer).shape[:2]
    return list(seen.values()), (width, height)


def assert_texts_readable(figure, monkeypatch):
    """Every text lies inside the picture, and no two texts touch."""
    texts, (width, height) = drawn_texts(figure, monkeypatch)
    assert texts
    for text, box in texts:
        assert box.x0 >= -0.5 and box.y0 >= -0.5, f"{text!r} cut off: {box}"
        assert box.x1 <= width + 0.5 and box.y1 <= height + 0.5, (
            f"{text!r} cut off: {box} in {width} x {height}"
        )
    for i, (text, box) in enumerate(texts):
        for other, other_box in texts[i + 1 :]:
            overlap_x = min(box.x1, other_box.x1) - max(box.x0, other_box.x0)
            overlap_y = min(box.y1, other_box.y1) - max(box.y0, other_box.y0)
            # a pixel apart at least: labels that touch do not read either
            assert overlap_x < -1.0 or overlap_y < -1.0, (
                f"{text!r} {box} overprints {other!r} {other_box}"
            )
    return texts
