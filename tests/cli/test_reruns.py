# Licensed under a 3-clause BSD style license - see LICENSE
"""Run the same command again: it continues, and its outputs are written whole.

- A budget stop (or a kill) run again goes on where it stopped, exits 0 once
  every file is there, never fetches a complete file twice (the files there
  do not count in the new run's budget), and says exactly what to run.
- The same result written to the same ``-o`` is not an error; another
  result is (before any download), and the message says how to keep both.
- Every output file is checked before the work as it will be written
  (``--plot p`` is ``p.png``), written under a temporary name, and renamed
  with the others only when all are written: a failure leaves nothing.
"""

import io
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from fault_server import FaultServer

from twomass_vo.cli import main
from twomass_vo.results.result_reader import read_result
from twomass_vo.retrieval import MANIFEST_NAME, Manifest
from twomass_vo.retrieval.loaders import file_name_for

ROOT = Path(__file__).resolve().parents[2]
SCAN = ("971031", "n", "96")


@pytest.fixture
def cli(capsys, sim):
    """Run ``twomass-vo ARGS`` in process: (status, stdout, stderr)."""

    def run(*argv):
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def fits_files(folder):
    return sorted(p for p in Path(folder).glob("*.fits"))


def stamps(folder):
    """File name -> (inode, mtime): any later write or replacement shows."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in fits_files(folder)}


def leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".part-")]


def continue_line(out):
    """The command the run printed to continue, as argv (after 'run: ')."""
    (line,) = [x for x in out.splitlines() if x.startswith("to continue")]
    argv = shlex.split(line.split("run: ", 1)[1])
    assert argv[0] == "twomass-vo"
    return argv[1:]


# ----------------------------------------------------------------- re-runs
def test_the_same_command_twice(cli, tmp_path):
    out_file, folder = tmp_path / "s.vot", tmp_path / "images"
    argv = ["--archive", "sim", "scan", *SCAN, "--image", "197"]
    argv += ["-o", out_file, "--download", folder]
    status, out, err = cli(*argv)
    assert (status, err) == (0, "") and len(fits_files(folder)) == 3
    first = stamps(folder)
    status, out, err = cli(*argv)
    assert (status, err) == (0, "")  # not "the file exists"
    assert out.splitlines() == [
        f"3 image file(s) -> {out_file}",
        f"3 file(s) in {folder}",
    ]
    assert stamps(folder) == first  # nothing fetched again
    assert len(read_result(out_file)) == 3


def test_a_budget_run_repeated_until_done(cli, sim, tmp_path):
    """Each run fetches one more file and says what to run; the last exits 0."""
    folder = tmp_path / "images"
    argv = ["--archive", "sim", "scan", *SCAN, "--image", "197", "-o"]
    argv += [tmp_path / "s.ecsv", "--download", folder]
    argv += ["--max-bytes", "1", "--max-workers", "1", "--overwrite"]
    seen = {}
    for run in range(1, 4):
        status, out, err = cli(*argv)
        assert err == ""
        now = stamps(folder)
        assert len(now) == run  # one new file a run: the others are not counted
        assert {k: now[k] for k in seen} == seen  # and never fetched again
        seen = now
        if run < 3:
            assert status == 1
            assert f"not retrieved: {3 - run} deferred (byte budget)" in out
            # exactly this command, less --overwrite (which would not be needed)
            argv = continue_line(out)
            assert argv == [str(a) for a in argv if a != "--overwrite"]
            assert "--overwrite" not in argv and "--max-bytes" in argv
        else:
            assert status == 0 and "to continue" not in out
    table = read_result(tmp_path / "s.ecsv")
    for row in table:  # byte for byte the archive's files
        path = folder / file_name_for(row)
        assert path.read_bytes() == sim.local_path(row["access_url"]).read_bytes()
    assert set(Manifest(folder).entries) == {p.name for p in fits_files(folder)}
    assert leftovers(folder) == [] and leftovers(tmp_path) == []


def test_the_readme_one_liner_runs_twice(cli, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [x for x in readme.splitlines() if "&& .venv/bin/twomass-vo" in x]
    command = shlex.split(line.split("&&")[-1])
    assert Path(command[0]).name == "twomass-vo"
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        status, out, err = cli(*command[1:])
        assert (status, err) == (0, ""), out
    assert len(fits_files(tmp_path / "m31_images")) == 24
    assert len(read_result(tmp_path / "m31_images.vot")) == 24


def test_another_result_is_an_error_before_the_download(cli, tmp_path):
    path, folder = tmp_path / "s.vot", tmp_path / "images"
    assert cli("--archive", "sim", "scan", *SCAN, "--image", "197", "-o", path)[0] == 0
    before = path.read_bytes()
    status, out, err = cli(
        "--archive", "sim", "scan", *SCAN, "-o", path, "--download", folder
    )
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line == (
        f"twomass-vo: error: -o/--output {path}: the file holds another result "
        "(3 row(s) there, 69 now): add --overwrite to replace it, or give another "
        "file name to keep both"
    )
    assert path.read_bytes() == before
    assert not folder.exists() and leftovers(tmp_path) == []
    # another query with the same rows is another result too
    status, _, err = cli(
        "--archive",
        "sim",
        "scan",
        *SCAN,
        "--image",
        "197",
        "--band",
        "J,H,K",
        "-o",
        path,
    )
    assert status == 2 and "(another query (parameters))" in err
    assert cli("--archive", "sim", "scan", *SCAN, "-o", path, "--overwrite")[0] == 0
    assert len(read_result(path)) == 69


def test_a_file_that_is_no_result_is_refused_before_the_query(cli, tmp_path):
    path = tmp_path / "s.fits"
    path.write_bytes(b"not a FITS file at all")
    status, out, err = cli("--archive", "/no/such/archive", "scan", *SCAN, "-o", path)
    # refused for the file (checked first), not for the archive
    assert status == 2 and out == ""
    assert f"-o/--output {path}: the file exists and is not a result table" in err
    assert path.read_bytes() == b"not a FITS file at all"


def test_the_download_report_of_a_run_again_is_replaced(cli, batch, tmp_path):
    table = batch.query_scan(*SCAN, image=197)
    table.write(tmp_path / "t.ecsv")
    report = tmp_path / "report.vot"
    argv = ("download", tmp_path / "t.ecsv", tmp_path / "images", "-o", report)
    assert cli(*argv)[0] == 0
    assert set(read_result(report)["status"]) == {"ok"}
    assert cli(*argv)[0] == 0  # the same rows: its status is brought up to date
    assert set(read_result(report)["status"]) == {"cached"}


# --------------------------------------------------------- the output files
def test_plot_without_an_extension_is_checked_as_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    png.write_bytes(b"someone's picture")
    argv = ["--archive", "sim", "scan", *SCAN, "--image", "197", "--band", "J"]
    status, out, err = cli(*argv, "--plot", tmp_path / "p")
    # matplotlib writes p.png: that is the file checked (it was overwritten)
    assert status == 2 and f"--plot {png}: the file holds another result" in err
    assert png.read_bytes() == b"someone's picture"
    png.unlink()
    status, out, err = cli(*argv, "--plot", tmp_path / "p")
    assert (status, err) == (0, "") and f"footprints -> {png}" in out
    assert (
        png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not (tmp_path / "p").exists()
    )
    assert cli(*argv, "--plot", tmp_path / "p")[0] == 0  # the same picture again
    status, out, err = cli(*argv, "--plot", tmp_path / "p.v1")
    assert status == 2 and "matplotlib cannot write '.v1' pictures" in err


def test_two_options_naming_one_file(cli, tmp_path):
    pytest.importorskip("matplotlib")
    status, out, err = cli(
        "--archive", "sim", "positions", tmp_path / "none.csv",
        "--plot", tmp_path / "x", "--preview", tmp_path / "x.png",
    )  # fmt: skip
    assert status == 2 and out == ""
    assert f"--preview {tmp_path / 'x.png'}: --plot writes that file already" in err


def test_a_failure_leaves_no_output_behind(cli, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from twomass_vo import ImageTable

    def broken_plot(self, *args, **kwargs):
        raise ValueError("the plot failed")

    monkeypatch.setattr(ImageTable, "plot", broken_plot)
    table, png = tmp_path / "s.vot", tmp_path / "p.png"
    status, out, err = cli(
        "--archive", "sim", "scan", *SCAN, "-o", table, "--plot", png,
        "--download", tmp_path / "images",
    )  # fmt: skip
    assert status == 2 and "the plot failed" in err and out == ""
    # -o was written before the plot failed: it is gone, and so is the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_writer_that_fails_half_way_leaves_the_old_file(cli, tmp_path, monkeypatch):
    import twomass_vo.results.result_writer as writer

    path = tmp_path / "s.vot"
    assert cli("--archive", "sim", "scan", *SCAN, "--image", "197", "-o", path)[0] == 0
    before = path.read_bytes()
    real = writer.to_votable

    def half_written(table):
        votable = real(table)

        def to_xml(fd, **kwargs):
            Path(fd).write_bytes(before[: len(before) // 2])
            raise OSError("disk full")

        votable.to_xml = to_xml
        return votable

    monkeypatch.setattr(writer, "to_votable", half_written)
    status, _, err = cli("--archive", "sim", "scan", *SCAN, "-o", path, "--overwrite")
    assert status == 2 and "disk full" in err
    assert path.read_bytes() == before and leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_folder_that_cannot_be_written_is_refused_first(cli, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    status, _, err = cli("--archive", "sim", "scan", *SCAN, "-o", folder / "s.vot")
    assert status == 2 and f"the folder {folder} is not writable" in err


# ------------------------------------------------------------- after a kill
def _small_fits(seed):
    hdu = fits.PrimaryHDU(np.random.default_rng(seed).normal(size=(150, 150)))
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_killed_run_run_again_completes(batch, tmp_path, capsys):
    """SIGKILL ``twomass-vo download T F -o R`` mid-way; the same command finishes."""
    table = batch.query_scan(*SCAN)[:30].copy()
    table.archive = None
    with FaultServer(latency=0.2) as server:
        urls = []
        for i, row in enumerate(table):
            server.files[file_name_for(row)] = _small_fits(i)
            urls.append(server.url(file_name_for(row)))
        table["access_url"] = urls
        table.write(tmp_path / "t.ecsv")
        folder, report = tmp_path / "images", tmp_path / "report.ecsv"
        argv = ["download", str(tmp_path / "t.ecsv"), str(folder), "-o", str(report)]
        argv += ["--max-workers", "2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "twomass_vo", *argv],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(fits_files(folder)) < 6:
                time.sleep(0.02)
            assert proc.poll() is None, "the run ended before it was killed"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        done = {p.name for p in fits_files(folder)}
        assert 6 <= len(done) < 30 and not report.exists()
        served = len(server.requests)
        capsys.readouterr()
        assert main(argv) == 0
        # only the files not complete were fetched; the others were kept
        fetched = {Path(r.path).name for r in server.requests[served:]}
        assert len(server.requests) - served == 30 - len(done)
        assert not fetched & done
        for row in table:
            name = file_name_for(row)
            assert (folder / name).read_bytes() == server.files[name]
    statuses = read_result(report)["status"]
    assert sorted(set(statuses)) == ["cached", "ok"]
    assert leftovers(folder) == [] and MANIFEST_NAME in os.listdir(folder)
    assert not re.search("Traceback", capsys.readouterr().err)


def test_ctrl_c_says_what_to_run(cli, tmp_path, monkeypatch):
    from twomass_vo import ImageTable

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ImageTable, "download", interrupted)
    argv = ["--archive", "sim", "scan", *SCAN, "--download", tmp_path / "d"]
    status, _, err = cli(*argv, "--refetch")
    assert status == 130
    (line,) = err.splitlines()
    assert line.endswith(
        f"to continue, run: twomass-vo --archive sim scan {' '.join(SCAN)} "
        f"--download {tmp_path / 'd'}"
    )
