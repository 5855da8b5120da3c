# Licensed under a 3-clause BSD style license - see LICENSE
"""Small things a user meets every day: ``python -m``, the printed table.

``python -m twomass_vo`` runs the command; a printed result shows the
columns that name each file (band, date, hemisphere, scan, image) first.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twomass_vo.cli import main
from twomass_vo.results.columns import DISPLAY_FIRST, display_order

ROOT = Path(__file__).resolve().parents[2]
SCAN = ("971031", "n", "96")


def run_module(*argv, sim=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if sim is not None:
        env["TWOMASS_VO_SIM_PATH"] = str(sim.path)
    return subprocess.run(
        [sys.executable, "-m", "twomass_vo", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------ python -m
def test_python_m_twomass_vo_runs_the_command(sim):
    done = run_module("--version")
    assert done.returncode == 0 and done.stdout.startswith("twomass-vo ")
    done = run_module("--archive", "sim", "scan", *SCAN, "--image", "197", sim=sim)
    assert done.returncode == 0, done.stderr
    assert "971031" in done.stdout and "ji0960197" in done.stdout
    done = run_module("--archive", "sim", "scan", "97103", "n", "96", sim=sim)
    assert done.returncode == 2 and "'97103'" in done.stderr


# ------------------------------------------------------- the printed table
@pytest.fixture
def scan_table(batch):
    return batch.query_scan(*SCAN, image=197)


def _header(lines):
    return lines[0].split()


def test_print_shows_the_identity_columns_first(scan_table):
    # a terminal too narrow for all columns still shows band/date/scan/image
    expected = list(DISPLAY_FIRST[:4])
    assert _header(str(scan_table).splitlines())[:4] == expected
    assert _header(scan_table.pformat(max_width=80))[:4] == expected
    # repr: a "<ImageTable length=3>" line first
    assert _header(repr(scan_table).splitlines()[1:])[:4] == expected
    html = scan_table._repr_html_()
    assert html.index("<th>band</th>") < html.index("<th>scntr</th>")
    assert html.index("<th>scanno</th>") < html.index("<th>in_ra</th>")
    # only the display: the table (and so every file) keeps the contract's order
    assert scan_table.colnames[:4] == ["scntr", "id", "in_ra", "in_dec"]
    lines = scan_table.pformat(max_width=-1)
    assert _header(lines) == display_order(scan_table.colnames)
    assert lines[-1].split()[:5] == ["K", "971031", "n", "96", "197"]


def test_display_keeps_pprint_settings_and_other_columns(scan_table):
    few = scan_table["access_url", "scntr", "band"]  # as the user chose
    assert _header(few.pformat(max_width=-1)) == ["access_url", "scntr", "band"]
    scan_table.pprint_exclude_names = ["s_region", "access_url"]
    header = _header(scan_table.pformat(max_width=-1))
    assert "s_region" not in header and "access_url" not in header
    assert header[:2] == ["band", "ordate"]


def test_cli_prints_the_identity_columns_first(sim, capsys):
    assert main(["--archive", "sim", "scan", *SCAN, "--image", "197"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header == [*DISPLAY_FIRST, "dist_edge", "best", "access_url"]
