# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command end to end, on the simulated survey.

Every subcommand runs in process through `twomass_vo.cli.main`; the tables it
writes are read back with astropy and compared with the Python API on the
same inputs. One test runs the installed console script in a subprocess.
"""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table

import twomass_vo
from twomass_vo.cli import main
from twomass_vo.exceptions import QuicklookWarning
from twomass_vo.results.image_table import COLUMNS
from twomass_vo.retrieval import MANIFEST_NAME
from twomass_vo.retrieval.loaders import file_name_for

M31 = "00h42m44.3s +41d16m08s"
#: Image 197 of 971031 n 96 (coadd_key 335943) and its centre.
SCAN = ("971031", "n", "96")
IMAGE_CENTRE = "200.386306 31.959798"


@pytest.fixture
def cli(capsys, sim):
    """Run ``twomass-vo --archive sim ARGS`` in process: (status, stdout, stderr).

    It depends on ``sim`` so that the simulated survey is built (with its
    one-line notice on stderr) before the command runs.

    The warning filters are those of a plain ``python`` run (warnings shown,
    deprecations hidden), not the test suite's "error", so that the command's
    own warning display is exercised; they are restored afterwards.
    """

    def run(*argv):
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            for category in (
                DeprecationWarning,
                PendingDeprecationWarning,
                ImportWarning,
                ResourceWarning,
            ):
                warnings.simplefilter("ignore", category)
            status = main(["--archive", "sim", *(str(a) for a in argv)])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def read(path):
    """Read an output table back with astropy (format from the extension)."""
    formats = {
        ".tbl": "ascii.ipac",
        ".vot": "votable",
        ".xml": "votable",
        ".csv": "ascii.csv",
        ".ecsv": "ascii.ecsv",
    }
    return Table.read(path, format=formats[Path(path).suffix])


def urls(table):
    return [str(url) for url in table["access_url"]]


def assert_one_error(status, out, err, *fragments):
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("twomass-vo: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert out == ""


# ------------------------------------------------------------------ subcommands
@pytest.mark.parametrize(
    ("center", "diameter", "intersect"),
    [(M31, 0.3, "overlaps"), (IMAGE_CENTRE, 0.1, "covers"), (M31, 0.5, "enclosed")],
)
def test_region_each_intersect(cli, batch, tmp_path, center, diameter, intersect):
    path = tmp_path / "region.vot"
    status, out, err = cli(
        "region", center, diameter, "--intersect", intersect, "--band", "J", "-o", path
    )
    assert (status, err) == (0, "")
    expected = batch.query_region(center, diameter, intersect=intersect, band="J")
    assert len(expected) > 0
    written = read(path)
    assert out == f"{len(expected)} image file(s) -> {path}\n"
    assert urls(written) == urls(expected)
    assert list(written["coadd_key"]) == list(expected["coadd_key"])
    assert set(written["band"]) == {"J"}


def test_region_intersections_differ(cli, tmp_path):
    counts = {}
    for intersect in ("overlaps", "enclosed"):
        path = tmp_path / f"{intersect}.csv"
        assert cli("region", M31, 0.5, "--intersect", intersect, "-o", path)[0] == 0
        counts[intersect] = len(read(path))
    assert 0 < counts["enclosed"] < counts["overlaps"]


@pytest.fixture
def positions_file(sim, tmp_path):
    """A CSV of two positions: in the overlap of two images of 971031 n 96, and M31."""
    sets = sim.find_scans(["971031", "971031"], ["n", "n"], [96, 96], [186, 197])
    path = tmp_path / "positions.csv"
    path.write_text(
        f"id,ra,dec\noverlap,{sets.ra.mean():.6f},{sets.dec.mean():.6f}\n"
        "m31,10.684583,41.268889\n"
    )
    return path


@pytest.mark.parametrize("best", [False, True])
def test_positions_best_and_size(cli, batch, positions_file, tmp_path, best):
    path = tmp_path / "positions.ecsv"
    argv = ["positions", positions_file, "--size", "30", "--band", "J", "-o", path]
    status, _, err = cli(*argv, *(["--best"] if best else []))
    assert (status, err) == (0, "")
    expected = batch.query_positions(positions_file, best=best, size=30, band="J")
    written = read(path)
    assert urls(written) == urls(expected)
    assert (written["cutout_size"] == 30).all()
    assert list(written["best"]) == list(expected["best"])
    assert np.allclose(written["dist_edge"], expected["dist_edge"])
    assert set(written["id"]) == {"overlap", "m31"}
    overlap = written[written["scntr"] == 0]
    if best:
        assert len(overlap) == 1 and written["best"].all()
    else:
        assert len(overlap) >= 2 and overlap["best"].sum() == 1


def test_coadd_keys_on_the_command_line(cli, batch, tmp_path):
    path = tmp_path / "keys.csv"
    status, _, err = cli("coadd-keys", "1590591", "1230312", "--band", "J", "-o", path)
    assert (status, err) == (0, "")
    written = read(path)
    assert list(written["coadd_key"]) == [1590591, 1230312]
    assert urls(written) == urls(batch.query_coadd_keys([1590591, 1230312], band="J"))


def test_coadd_keys_from_a_table_file(cli, batch, data_path, tmp_path):
    table = data_path / "help_coadd_keys_ids.tbl"
    path = tmp_path / "keys.ecsv"
    assert cli("coadd-keys", table, "-o", path)[0] == 0
    written = read(path)
    assert urls(written) == urls(batch.query_coadd_keys(table))
    assert list(written["band"]) == ["J", "H", "K", "J", "H", "K", "J", "K"]
    assert [str(i) for i in written["id"]] == ["1"] * 3 + ["59"] * 3 + ["3", "200"]


@pytest.mark.parametrize(("image", "n_rows"), [(None, 69), ("197", 3)])
def test_scan_with_and_without_image(cli, batch, tmp_path, image, n_rows):
    path = tmp_path / "scan.vot"
    extra = [] if image is None else ["--image", image]
    status, _, err = cli("scan", *SCAN, *extra, "-o", path)
    assert (status, err) == (0, "")
    written = read(path)
    assert len(written) == n_rows
    assert urls(written) == urls(batch.query_scan(*SCAN, image=image))
    if image is not None:
        assert set(written["image"]) == {197}


def test_scans_help_table(cli, batch, data_path, tmp_path):
    table = data_path / "help_dhs_bands.tbl"
    path = tmp_path / "scans.xml"
    assert cli("scans", table, "-o", path)[0] == 0
    written = read(path)
    assert len(written) == 6
    assert urls(written) == urls(batch.query_scans(table))
    assert list(written["image"]) == [197] * 3 + [256] * 3


def test_without_output_the_table_is_printed(cli, batch):
    status, out, err = cli("scan", *SCAN, "--image", "197", "--band", "J")
    assert (status, err) == (0, "")
    (url,) = urls(batch.query_scan(*SCAN, image=197, band="J"))
    assert url in out and "335943" in out
    assert "access_url" in out.splitlines()[0]


# ---------------------------------------------------------------- output formats
def test_ipac_output_writes_best_as_y_n(cli, batch, positions_file, tmp_path):
    table = positions_file
    path = tmp_path / "positions.tbl"
    assert cli("positions", table, "--band", "J", "-o", path)[0] == 0
    with open(path) as fh:
        lines = [line for line in fh if not line.startswith("\\")]  # \keywords
    assert lines[0].startswith("|")  # the IPAC names line
    written = read(path)
    expected = batch.query_positions(table, band="J")
    assert urls(written) == urls(expected)
    assert list(written["best"]) == ["y" if b else "n" for b in expected["best"]]
    assert {"y", "n"} == set(written["best"])
    assert written["ra"].unit == "deg"
    assert written.meta["keywords"]["mode"]["value"] == expected.meta["mode"]


@pytest.mark.parametrize("suffix", [".vot", ".xml"])
def test_votable_output_keeps_units_ucds_and_utypes(cli, tmp_path, suffix):
    path = tmp_path / f"scan{suffix}"
    assert cli("scan", *SCAN, "--image", "197", "-o", path)[0] == 0
    fields = {f.name: f for f in parse(path).get_first_table().fields}
    assert list(fields) == [c[0] for c in COLUMNS]
    for name, _, unit, ucd, _ in COLUMNS:
        assert fields[name].ucd == ucd
        assert (fields[name].unit is None) == (unit is None)
        if unit is not None:
            assert fields[name].unit == unit
    assert fields["access_url"].utype == "obscore:Access.Reference"
    assert fields["s_region"].utype == "obscore:Char.SpatialAxis.Coverage.Support.Area"
    table = read(path)
    assert table["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert table["dist_edge"].unit == "arcsec"
    assert len(table) == 3


def test_csv_and_ecsv_outputs(cli, batch, tmp_path):
    expected = batch.query_scan(*SCAN, image=197)
    for suffix in (".csv", ".ecsv"):
        path = tmp_path / f"scan{suffix}"
        assert cli("scan", *SCAN, "--image", "197", "-o", path)[0] == 0
        written = read(path)
        assert written.colnames == [c[0] for c in COLUMNS]
        assert urls(written) == urls(expected)
        assert np.allclose(written["ra"], expected["ra"], rtol=0, atol=1e-12)
        assert [str(s) for s in written["s_region"]] == [
            str(s) for s in expected["s_region"]
        ]
    ecsv = read(tmp_path / "scan.ecsv")
    assert ecsv["ra"].unit == "deg" and ecsv["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert ecsv["best"].dtype == bool


@pytest.mark.parametrize(
    "suffix",
    [
        ".vot",
        ".csv",
        ".ecsv",
        ".tbl",
        ".fits",
    ],
)
def test_a_clean_run_prints_nothing_on_stderr(cli, tmp_path, suffix):
    path = tmp_path / f"scan{suffix}"
    status, out, err = cli("scan", *SCAN, "--image", "197", "-o", path)
    assert status == 0 and path.exists()
    assert out == f"3 image file(s) -> {path}\n"
    assert err == ""


def test_unknown_extension_is_an_error(cli, tmp_path):
    path = tmp_path / "scan.foo"
    status, out, err = cli("scan", *SCAN, "--image", "197", "-o", path)
    assert_one_error(status, out, err, "scan.foo")
    assert not path.exists()


def test_existing_output_needs_overwrite(cli, tmp_path):
    path = tmp_path / "scan.vot"
    assert cli("scan", *SCAN, "--image", "197", "-o", path)[0] == 0
    status, out, err = cli("scan", *SCAN, "-o", path)
    assert_one_error(status, out, err, "scan.vot")
    assert len(read(path)) == 3
    assert cli("scan", *SCAN, "-o", path, "--overwrite")[0] == 0
    assert len(read(path)) == 69


# ----------------------------------------------------------------------- download
def files_in(folder):
    """The files of a download folder, less its manifest (twomass_vo.retrieval)."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name != MANIFEST_NAME)


def test_download_full_files(cli, batch, sim, tmp_path):
    folder = tmp_path / "images"
    status, out, err = cli("scan", *SCAN, "--image", "197", "--download", folder)
    assert (status, err) == (0, "")
    assert out.splitlines()[-1] == f"3 file(s) in {folder}"
    expected = batch.query_scan(*SCAN, image=197)
    names = [file_name_for(row) for row in expected]
    assert names == [
        "971031n_ji0960197.fits",
        "971031n_hi0960197.fits",
        "971031n_ki0960197.fits",
    ]
    assert files_in(folder) == sorted(names)
    for row, name in zip(expected, names, strict=True):
        with fits.open(folder / name) as hdul:
            hdul.verify("exception")
            assert hdul[0].data.shape == (1024, 512)
            assert hdul[0].header["CRVAL1"] == pytest.approx(row["ra"])
        assert (folder / name).read_bytes() == sim.local_path(
            row["access_url"]
        ).read_bytes()


def test_download_cutouts(cli, batch, data_path, tmp_path):
    folder = tmp_path / "cutouts"
    table = data_path / "help_positions_all.tbl"
    status, _, err = cli(
        "positions", table, "--best", "--size", "40", "--download", folder
    )
    assert (status, err) == (0, "")
    expected = batch.query_positions(table, best=True, size=40)
    names = [file_name_for(row) for row in expected]
    assert all(name.endswith("_cut0.fits") for name in names)
    assert files_in(folder) == sorted(names)
    for name in names:
        with fits.open(folder / name) as hdul:
            assert hdul[0].data.shape == (40, 40)
            assert hdul[0].header["CUTOUT"] is True


def test_download_keeps_existing_files_unless_refetch(cli, tmp_path):
    folder = tmp_path / "images"
    argv = ("scan", *SCAN, "--image", "197", "--band", "J", "--download", folder)
    assert cli(*argv)[0] == 0
    (name,) = files_in(folder)
    path = folder / name
    old = 1_000_000_000  # 2001: any later write shows
    os.utime(path, ns=(old, old))
    assert cli(*argv)[0] == 0
    assert path.stat().st_mtime_ns == old
    # --overwrite is for the output files: a complete file is never fetched again
    assert cli(*argv, "--overwrite")[0] == 0
    assert path.stat().st_mtime_ns == old
    assert cli(*argv, "--refetch")[0] == 0
    assert path.stat().st_mtime_ns > old
    assert files_in(folder) == [path.name]  # no .part-* leftovers


@pytest.mark.parametrize("no_decompress", [False, True])
def test_download_quicklook(cli, batch, sim, tmp_path, no_decompress):
    folder = tmp_path / "ql"
    argv = [
        "scan",
        *SCAN,
        "--image",
        "197",
        "--band",
        "H",
        "--image-type",
        "quicklook",
        "--download",
        folder,
    ] + (["--no-decompress"] if no_decompress else [])
    status, _, err = cli(*argv)
    assert status == 0
    assert len(err.splitlines()) == 1 and "QuicklookWarning" in err
    with pytest.warns(QuicklookWarning):
        (row,) = batch.query_scan(*SCAN, image=197, band="H", image_type="quicklook")
    name = file_name_for(row, decompress=not no_decompress)
    assert name == "971031n_hq0960197" + (".fits.fz" if no_decompress else ".fits")
    assert files_in(folder) == [name]
    path = folder / name
    source = sim.local_path(row["access_url"])
    with fits.open(path) as hdul:
        if no_decompress:
            assert isinstance(hdul[1], fits.CompImageHDU)
            assert path.read_bytes() == source.read_bytes()
        else:
            assert len(hdul) == 1 and not any(
                isinstance(h, fits.CompImageHDU) for h in hdul
            )
            assert hdul[0].data.shape == (1024, 512)
            assert np.array_equal(hdul[0].data, row.open()[0].data)


# -------------------------------------------------------------------- bad input
def bad_tables(tmp_path):
    scans = tmp_path / "bad_scans.tbl"
    scans.write_text("|xdate |hem|scan|\n 971031  n   96 \n 97084   n   96 \n")
    positions = tmp_path / "bad_positions.csv"
    positions.write_text("ra,dec\n10.0,20.0\n400.0,0.0\n")
    keys = tmp_path / "bad_keys.csv"
    keys.write_text("coadd_key\n1590591\n12a\n")
    (tmp_path / "ok.csv").write_text("ra,dec\n10.0,20.0\n")
    return scans, positions, keys


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (("scan", "97084", "n", "96"), ("'97084'",)),
        (("scan", "971031", "n", "1000"), ("'1000'",)),
        (("scan", "971031", "x", "96"), ("'x'",)),
        (("scan", "971031", "n", "96", "--band", "Q"), ("'Q'",)),
        (("scan", "971031", "n", "96", "--image", "abc"), ("'abc'",)),
        (("positions", "{tmp}/ok.csv", "--size", "-3"), ("-3",)),
        (("region", "10. 10.", "-0.5"), ("-0.5",)),
        (("region", "12:61:00 +10:00:00", "0.5"), ("61",)),
        (("positions", "{tmp}/nothere.tbl"), ("nothere.tbl",)),
        (("scans", "{tmp}/nothere.tbl"), ("nothere.tbl",)),
        (("scans", "{tmp}/bad_scans.tbl"), ("row 1", "'97084'")),
        (("positions", "{tmp}/bad_positions.csv"), ("row 1", "400")),
        (("coadd-keys", "{tmp}/bad_keys.csv"), ("row 1", "'12a'")),
        (("coadd-keys", "1590591", "12a"), ("'12a'",)),
    ],
)
def test_bad_input_is_one_line_and_status_2(cli, tmp_path, argv, fragments):
    bad_tables(tmp_path)
    out_path = tmp_path / "never.vot"
    argv = [a.format(tmp=tmp_path) for a in argv]
    status, out, err = cli(*argv, "-o", out_path)
    assert_one_error(status, out, err, *fragments)
    assert not out_path.exists()


def test_bad_archive_is_one_line_and_status_2(capsys):
    status = main(["--archive", "nowhere", "scan", *SCAN])
    out, err = capsys.readouterr()
    assert_one_error(status, out, err, "'nowhere'")


def test_download_into_a_file_is_an_error(cli, tmp_path):
    folder = tmp_path / "not_a_folder"
    folder.write_text("")
    status, out, err = cli("scan", *SCAN, "--image", "197", "--download", folder)
    assert status == 2
    assert err.splitlines() == [err.strip()] and err.startswith("twomass-vo: error: ")
    assert "not_a_folder" in err
    assert out == ""  # checked before any work


# --------------------------------------------------------------------- warnings
def test_diameter_clamp_warns_and_succeeds(cli, batch, tmp_path):
    path = tmp_path / "small.vot"
    status, _, err = cli("region", "10. 10.", "0.01", "--band", "J", "-o", path)
    assert status == 0
    (line,) = err.splitlines()
    assert (
        line.startswith("twomass-vo: DiameterClampedWarning: ")
        and "clamped to 0.05" in line
    )
    assert urls(read(path)) == urls(batch.query_region("10. 10.", 0.05, band="J"))


def test_quicklook_warns_and_succeeds(cli, tmp_path):
    path = tmp_path / "ql.vot"
    status, _, err = cli(
        "scan", *SCAN, "--image", "197", "--image-type", "quicklook", "-o", path
    )
    assert status == 0
    (line,) = err.splitlines()
    assert line.startswith("twomass-vo: QuicklookWarning: ") and "photometr" in line
    assert set(read(path)["image_type"]) == {"quicklook"}


def test_no_results_warns_and_writes_an_empty_table(cli, tmp_path):
    path = tmp_path / "none.vot"
    status, out, err = cli("scan", "971031", "s", "96", "-o", path)
    assert status == 0
    (line,) = err.splitlines()
    assert line.startswith("twomass-vo: NoResultsWarning: No 2MASS images")
    assert out == f"0 image file(s) -> {path}\n"
    written = read(path)
    assert len(written) == 0 and written.colnames == [c[0] for c in COLUMNS]


def test_each_warning_is_one_line(cli, tmp_path):
    status, _, err = cli(
        "scan",
        "971031",
        "s",
        "96",
        "--image-type",
        "quicklook",
        "-o",
        tmp_path / "none.vot",
    )
    assert status == 0
    lines = err.splitlines()
    assert len(lines) == 2
    assert {line.split(":")[1].strip() for line in lines} == {
        "QuicklookWarning",
        "NoResultsWarning",
    }


def test_main_leaves_the_warning_display_alone(tmp_path, capsys):
    before = warnings.showwarning
    assert main(["--archive", "sim", "scan", *SCAN, "-o", str(tmp_path / "s.vot")]) == 0
    assert warnings.showwarning is before


# -------------------------------------------------------------- console script
def test_console_script_region_to_votable(batch, tmp_path):
    script = Path(sys.executable).parent / "twomass-vo"
    assert script.exists()
    path = tmp_path / "m31.vot"
    env = dict(
        os.environ,
        TWOMASS_VO_SIM_PATH=os.environ.get(
            "TWOMASS_VO_SIM_PATH", str(batch.archive.path)
        ),
    )
    done = subprocess.run(
        [
            str(script),
            "--archive",
            "sim",
            "region",
            M31,
            "0.3",
            "--band",
            "H",
            "-o",
            str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = batch.query_region(M31, 0.3, band="H")
    assert done.stdout == f"{len(expected)} image file(s) -> {path}\n"
    written = read(path)
    assert urls(written) == urls(expected)
    fields = {f.name: f for f in parse(path).get_first_table().fields}
    assert fields["ra"].ucd == "pos.eq.ra;meta.main"


def test_info_describes_the_archive(capsys):
    assert main(["--archive", "sim", "info", "--check"]) == 0
    out = capsys.readouterr().out
    assert "archive: sim (SimulatedArchive)" in out and "image_sets: 1373813" in out
    assert "endpoint index:" in out and "endpoint files:" in out
    assert "NOT ANSWERING" not in out


def test_info_of_irsa_needs_no_network_without_check(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["archive: irsa (IrsaArchive)", "collection: twomass_allsky"]
    assert "route region: sia https://irsa.ipac.caltech.edu/SIA unchecked" in out
    assert any(x.startswith("route positions: ibe-upload https://irsa") for x in out)
    # the settings with -v only: routes and their state first
    assert any(x.startswith("route quicklook: sia1-box https://irsa") for x in out)
    assert len(out) == 8 and not any(x.startswith("upload_threshold") for x in out)
    assert main(["info", "-v"]) == 0
    verbose = capsys.readouterr().out.splitlines()
    assert "upload_threshold: 100" in verbose and "chunk_size: 20000" in verbose
    assert set(out) <= set(verbose) and len(verbose) > 20


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--tap-url", "http://127.0.0.1:9/tap", "info"], "--tap-table"),
        (
            [
                "--archive",
                "sim",
                "--tap-url",
                "http://127.0.0.1:9/tap",
                "--tap-table",
                "t.images",
                "info",
            ],
            "either --archive or --tap-url",
        ),
    ],
)
def test_vo_mirror_options_errors(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_info_check_reports_a_dead_mirror(capsys):
    argv = [
        "--tap-url",
        "http://127.0.0.1:9/tap",
        "--tap-table",
        "t.images",
        "info",
        "--check",
    ]
    assert main(argv) == 3  # the archive is unreachable
    assert (
        "endpoint tap: http://127.0.0.1:9/tap NOT ANSWERING" in capsys.readouterr().out
    )


# ------------------------------------------------- options, units, messages
def test_version(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out == f"twomass-vo {twomass_vo.__version__}\n"


HELP_ENTRY = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")


@pytest.mark.parametrize(
    "mode",
    [None, "region", "positions", "coadd-keys", "scan", "scans", "info", "download"],
)
def test_every_option_has_help(capsys, mode):
    with pytest.raises(SystemExit):
        main([mode, "--help"] if mode else ["--help"])
    lines = capsys.readouterr().out.splitlines()
    entries = 0
    for i, line in enumerate(lines):
        match = HELP_ENTRY.match(line)
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if match is None or line.endswith(":"):  # not an option (a group title)
            continue
        if lines[i - 1].endswith(":") and not following:  # a group description
            continue
        entries += 1
        has_help = match[2] is not None or following.startswith(" " * 4)
        assert has_help, f"{match[1]!r} has no help text"
    assert entries >= 3


def test_archive_options_after_the_mode(batch, tmp_path, capsys):
    path = tmp_path / "r.vot"
    argv = ["region", M31, "0.3", "--band", "H", "-o", str(path), "--archive", "sim"]
    assert main(argv) == 0
    assert urls(read(path)) == urls(batch.query_region(M31, 0.3, band="H"))
    capsys.readouterr()
    assert main(["info", "--archive", "sim"]) == 0
    assert "archive: sim (SimulatedArchive)" in capsys.readouterr().out
    # given before and after the mode: the one after wins
    assert main(["--archive", "irsa", "info", "--archive", "sim"]) == 0
    assert "archive: sim (SimulatedArchive)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("diameter", "size"),
    [("0.3deg", "60arcsec"), ("18arcmin", "1arcmin"), ("1080arcsec", "60")],
)
def test_units_on_diameters_and_sizes(cli, batch, tmp_path, diameter, size):
    status, _, err = cli(
        "region", M31, diameter, "--band", "J", "-o", tmp_path / "r.vot"
    )
    assert (status, err) == (0, "")
    assert urls(read(tmp_path / "r.vot")) == urls(
        batch.query_region(M31, 0.3, band="J")
    )
    table = tmp_path / "p.csv"
    table.write_text("ra,dec\n10.6847,41.2688\n")
    status, _, err = cli("positions", table, "--size", size, "-o", tmp_path / "p.ecsv")
    assert (status, err) == (0, "")
    written = read(tmp_path / "p.ecsv")
    assert len(written) == 6 and list(written["cutout_size"]) == [60.0] * 6
    assert written["cutout_size"].unit == "arcsec"


def test_band_lists_on_the_command_line(cli, tmp_path):
    status, _, err = cli("scan", *SCAN, "--image", "197", "--band", "J,Ks", "-o",
                         tmp_path / "s.vot")  # fmt: skip
    assert (status, err) == (0, "")
    assert sorted(read(tmp_path / "s.vot")["band"]) == ["J", "K"]


@pytest.mark.parametrize(
    ("argv", "says", "never"),
    [
        (("region", M31, "0.3parsec"), "DIAMETER '0.3parsec' is not an angle", "="),
        (("region", M31, "0"), "DIAMETER '0' is not a positive angle", "="),
        (("positions", "t.csv", "--size", "0"), "--size '0' is not a positive", "None"),
        (("positions", "t.csv", "--size", "-3"), "--size '-3'", "None"),
        (("scan", *SCAN, "--band", "Q"), "--band 'Q' is not a 2MASS band", "column"),
        (("scan", "97084", "n", "96"), "DATE '97084' is not a date", "column"),
        (("scan", "971031", "x", "96"), "HEMISPHERE 'x' is not", "column"),
        (("scan", "971031", "n", "1000"), "SCAN '1000' is not", "column"),
        (("scan", *SCAN, "--image", "abc"), "--image 'abc' is not", "column"),
        (("coadd-keys", "1590591", "12a"), "KEY number 2: '12a' is not", "column"),
    ],
)
def test_messages_name_the_options(cli, tmp_path, monkeypatch, argv, says, never):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("ra,dec\n10.0,20.0\n")
    status, out, err = cli(*argv)
    assert_one_error(status, out, err, says)
    assert never not in err


def test_an_existing_output_needs_overwrite(cli, tmp_path):
    path = tmp_path / "s.vot"
    path.write_text("keep me")
    status, out, err = cli("scan", *SCAN, "-o", path)
    assert_one_error(status, out, err, f"-o/--output {path}: the file exists")
    assert "add --overwrite" in err and "overwrite=True" not in err
    assert path.read_text() == "keep me"
    status, out, err = cli("scan", *SCAN, "-o", path, "--overwrite")
    assert (status, err) == (0, "") and len(read(path)) == 69


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("nowhere/s.vot", "the folder"),
        ("s.txt", "unknown table format '.txt'"),
        ("s", "unknown table format '(none)'"),
    ],
)
def test_output_is_checked_before_any_work(capsys, tmp_path, name, says):
    # the archive cannot be reached: status 2 (not 3) shows nothing was asked
    argv = ["--tap-url", "http://127.0.0.1:9/tap", "--tap-table", "t.images"]
    status = main([*argv, "coadd-keys", "1", "-o", str(tmp_path / name)])
    out, err = capsys.readouterr()
    assert_one_error(status, out, err, says)


def test_download_checks_its_output_before_any_work(capsys, tmp_path):
    (tmp_path / "t.vot").write_text("")
    status = main(["download", str(tmp_path / "t.vot"), str(tmp_path / "dl"), "-o",
                   str(tmp_path / "x.txt")])  # fmt: skip
    out, err = capsys.readouterr()
    assert_one_error(status, out, err, "unknown table format '.txt'")
    assert not (tmp_path / "dl").exists()


def test_archive_folder_errors(capsys, tmp_path):
    status = main(["--archive", str(tmp_path / "nowhere"), "scan", *SCAN])
    out, err = capsys.readouterr()
    assert_one_error(status, out, err, "nowhere'", "no such folder")
    status = main(["--archive", str(tmp_path), "scan", *SCAN])
    out, err = capsys.readouterr()
    assert_one_error(status, out, err, "not a LocalArchive folder")


def test_an_unreachable_archive_is_status_3(capsys):
    argv = ["--tap-url", "http://127.0.0.1:9/tap", "--tap-table", "t.images"]
    status = main([*argv, "coadd-keys", "1590591"])
    err = capsys.readouterr().err
    assert status == 3
    assert err == (
        "twomass-vo: error: cannot reach the TAP service at "
        "http://127.0.0.1:9/tap/sync: connection refused\n"
    )
