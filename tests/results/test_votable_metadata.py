# Licensed under a 3-clause BSD style license - see LICENSE
"""Result files that VO tools trust: query metadata, valid UCDs, volint clean.

Every format the command line writes is written by the command itself (in
process, on the simulated survey), read back (same rows, same metadata, rows
that still open) and checked with astropy's VOTable validator: the VOTable
directly, the other formats after reading them back and converting them.
"""

import datetime
import io
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse, validate
from astropy.io.votable.ucd import check_ucd, parse_ucd
from astropy.table import Table

from twomass_vo.cli import main
from twomass_vo.exceptions import NoResultsWarning
from twomass_vo.results.image_table import COLUMNS
from twomass_vo.results.query_metadata import flat_meta, structured_meta
from twomass_vo.results.result_reader import read_result
from twomass_vo.results.result_writer import FORMATS, to_votable, write_table
from twomass_vo.version import version as __version__

SCAN = ("971031", "n", "96")
M31 = "00 42 44.3 +41 16 08"
SUFFIXES = (".vot", ".xml", ".votable", ".tbl", ".ipac", ".fits", ".ecsv", ".csv")


def run(*argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return main(["--archive", "sim", *(str(a) for a in argv)])


def volint(path):
    """Run astropy's VOTable validator; return (no warnings, report)."""
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        ok = validate(str(path), output=report)
    return ok, report.getvalue()


@pytest.fixture
def positions_file(sim, tmp_path):
    sets = sim.find_scans(["971031", "971031"], ["n", "n"], [96, 96], [186, 197])
    path = tmp_path / "targets.csv"
    path.write_text(
        f"id,ra,dec\noverlap,{sets.ra.mean():.6f},{sets.dec.mean():.6f}\n"
        "m31,10.684583,41.268889\n"
    )
    return path


MODES = {
    "region": lambda files: ("region", M31, "0.3"),
    "positions": lambda files: ("positions", files, "--best", "--size", "60"),
    "coadd-keys": lambda files: ("coadd-keys", "335943", "336752"),
    "scan": lambda files: ("scan", *SCAN, "--image", "197"),
}

EXPECTED_MODE = {
    "region": "region",
    "positions": "positions",
    "coadd-keys": "coadd_keys",
    "scan": "scans",
}


# ----------------------------------------------------------------------- UCDs
@pytest.mark.parametrize("column", COLUMNS, ids=[c[0] for c in COLUMNS])
def test_every_column_has_a_valid_ucd1plus(column):
    _, _, _, ucd, description = column
    assert check_ucd(ucd, check_controlled_vocabulary=True)
    parse_ucd(ucd, check_controlled_vocabulary=True, has_colon=False)
    assert description


def test_replaced_ucds():
    ucds = {c[0]: c[3] for c in COLUMNS}
    assert ucds["hemisphere"] == "meta.code;instr.obsty"
    assert ucds["scanno"] == "meta.number;obs.sequence"
    # ObsCore's own UCD for access_estsize: meta.file is valid as secondary
    assert ucds["access_estsize"] == "phys.size;meta.file"


# ---------------------------------------------------------- metadata in memory
def test_query_metadata_structure(batch, positions_file):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    table = batch.query_positions(positions_file, best=True, size=60, band="J")
    meta = table.meta
    assert meta["mode"] == "positions"
    assert meta["archive"] == "sim"
    assert meta["route"] == "local"
    assert meta["urls"] == {}
    assert meta["version"] == __version__
    assert datetime.datetime.fromisoformat(meta["date"]) >= before
    assert meta["parameters"] == {
        "source": "targets.csv",
        "n_inputs": "2",
        "best": "true",
        "size": "60",
        "band": "J",
        "image_type": "atlas",
    }


def test_region_and_scan_parameters(batch):
    table = batch.query_region(M31, 0.1, intersect="overlaps", band="H")
    params = table.meta["parameters"]
    assert params["center"] == "10.6845833 +41.2688889"
    assert params["region"] == "CIRCLE ICRS 10.6845833 +41.2688889 0.0500000"
    assert float(params["diameter"]) == pytest.approx(0.1)
    assert (params["intersect"], params["band"]) == ("overlaps", "H")
    table = batch.query_scan(*SCAN, image=197)
    assert table.meta["parameters"] == {
        "date": "971031",
        "hemisphere": "n",
        "scan": "96",
        "image": "197",
        "band": "all",
        "image_type": "atlas",
    }


def test_a_vo_archive_records_its_urls(batch):
    table = batch.query_scan(*SCAN, image=197)

    class FakeArchive:  # only what record_query reads
        name = "mirror"

        def describe(self, check=False):
            return {"name": "mirror", "tap_url": "http://127.0.0.1:1/tap", "x": 1}

    from twomass_vo.results.query_metadata import record_query

    table.meta = {"mode": "scans"}
    record_query(table, archive=FakeArchive(), parameters={"band": "all"})
    assert table.meta["urls"] == {"tap": "http://127.0.0.1:1/tap"}
    assert table.meta["route"] == "vo"
    assert table.meta["archive"] == "mirror"


def test_flat_and_structured_meta_are_inverse(batch):
    meta = batch.query_region(M31, 0.3).meta
    meta["urls"] = {"sia": "https://example.invalid/sia"}
    flat = flat_meta(meta)
    assert flat["url_sia"] == "https://example.invalid/sia"
    assert flat["param_band"] == "all"
    assert structured_meta(flat) == meta


# ------------------------------------------------------------- written formats
@pytest.mark.parametrize("mode", sorted(MODES))
def test_cli_votable_is_volint_clean_with_info_and_param(
    mode, positions_file, tmp_path
):
    path = tmp_path / "out.vot"
    assert run(*MODES[mode](positions_file), "-o", path) == 0
    ok, report = volint(path)
    assert ok, report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        votable = parse(str(path))
    infos = {i.name: i.value for i in votable.resources[0].infos}
    assert infos["mode"] == EXPECTED_MODE[mode]
    assert infos["archive"] == "sim"
    assert infos["route"] == "local"
    assert infos["version"] == __version__
    assert "date" in infos
    params = {p.name: p for p in votable.get_first_table().params}
    assert "param_band" in params
    assert params["param_band"].ucd == "instr.bandpass"
    for field in votable.get_first_table().fields:
        assert field.ucd and field.description


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_format_round_trips_rows_and_metadata(suffix, batch, sim, tmp_path):
    path = tmp_path / f"scan{suffix}"
    assert run(*MODES["scan"](None), "-o", path) == 0
    expected = batch.query_scan(*SCAN, image=197)
    table = read_result(path)
    assert table.colnames == [c[0] for c in COLUMNS]
    assert len(table) == len(expected) == 3
    for name in ("coadd_key", "scanno", "image", "scntr"):
        assert list(table[name]) == list(expected[name])
    for name in ("ordate", "hemisphere", "band", "s_region", "access_url"):
        assert [str(v) for v in table[name]] == [str(v) for v in expected[name]]
    for name in ("ra", "dec"):
        np.testing.assert_allclose(table[name], expected[name], rtol=0, atol=1e-12)
    if suffix != ".csv":  # CSV holds rows only
        got = dict(table.meta)
        want = dict(expected.meta)
        assert got.pop("date") and want.pop("date")
        assert got == want
    # the rows still open, from their access_url (no archive attached)
    assert table.archive is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        got = table[1].open()[0].data
        want = expected[1].open()[0].data
    np.testing.assert_array_equal(got, want)
    # and whatever was read converts to a VOTable that volint passes
    again = tmp_path / "again.vot"
    to_votable(table).to_xml(str(again))
    ok, report = volint(again)
    assert ok, report


def test_fits_output_verifies_and_has_hierarch_cards(tmp_path):
    path = tmp_path / "region.fits"
    assert run(*MODES["region"](None), "-o", path) == 0
    with fits.open(path) as hdul:
        hdul.verify("exception")
        header = hdul[1].header
        assert header["HIERARCH TMVO MODE"] == "region"
        assert header["HIERARCH TMVO PARAM_INTERSECT"] == "overlaps"
        assert hdul[1].header["EXTNAME"] == "IMAGES"


def test_ipac_keywords_and_best_y_n(positions_file, tmp_path):
    path = tmp_path / "pos.tbl"
    assert run(*MODES["positions"](positions_file), "-o", path) == 0
    text = path.read_text()
    assert "\\mode = 'positions'" in text or "\\mode='positions'" in text
    table = Table.read(path, format="ascii.ipac")
    assert set(table["best"]) == {"y"}
    assert table.meta["keywords"]["param_best"]["value"] == "true"


def test_download_table_is_volint_clean(positions_file, tmp_path):
    # the download subcommand adds local_path, status and error to the table
    table = tmp_path / "images.vot"
    assert run("scan", "971031", "n", "96", "--image", "197", "-o", table) == 0
    out = tmp_path / "downloaded.vot"
    folder = tmp_path / "files"
    assert run("download", table, folder, "--no-progress", "-o", out) == 0
    ok, report = volint(out)
    assert ok, report


def test_empty_result_still_validates(batch, tmp_path):
    with pytest.warns(NoResultsWarning):
        table = batch.query_scan("970804", "n", 96)
    path = tmp_path / "none.vot"
    write_table(table, path)
    ok, report = volint(path)
    assert ok, report
    assert len(read_result(path)) == 0


def test_write_table_refuses_unknown_extension_and_overwrite(batch, tmp_path):
    table = batch.query_scan(*SCAN, image=197)
    with pytest.raises(ValueError, match="unknown table format"):
        write_table(table, tmp_path / "x.foo")
    path = tmp_path / "x.vot"
    write_table(table, path)
    with pytest.raises(OSError, match="already exists"):
        write_table(table, path)
    write_table(table, path, overwrite=True)
    assert set(FORMATS) == set(SUFFIXES)


def test_a_table_from_an_older_file_writes_valid_ucds(batch, tmp_path):
    """Column metadata come from the contract, not from what a file says."""
    table = batch.query_scan(*SCAN, image=197)
    old = tmp_path / "old.vot"
    write_table(table, old)
    text = old.read_text()
    text = text.replace('ucd="meta.code;instr.obsty"', 'ucd="instr.obsty"')
    text = text.replace('ucd="meta.number;obs.sequence"', 'ucd="obs.sequence"')
    old.write_text(text)
    assert not volint(old)[0]
    again = tmp_path / "again.vot"
    write_table(read_result(old), again)
    ok, report = volint(again)
    assert ok, report
    csv = tmp_path / "rows.csv"
    write_table(table, csv)
    assert read_result(csv)["ra"].unit == "deg"


# ------------------------------------------------- a VO mirror records its URLs
@pytest.mark.dachs
def test_a_vo_mirror_result_records_its_endpoints(mirror_env, tmp_path):
    from twomass_vo import TwoMassBatch
    from twomass_vo.archives import LocalArchive, VOArchive

    local = LocalArchive(mirror_env["ARCHIVE_PATH"])
    key = int(np.asarray(local.columns["coadd_key"])[0])
    archive = VOArchive(
        sia_url=mirror_env["SIA_URL"],
        tap_url=mirror_env["TAP_URL"],
        table=mirror_env["TAP_TABLE"],
    )
    try:
        table = TwoMassBatch(archive=archive).query_coadd_keys([key], band="J")
    finally:
        archive.close()
    assert table.meta["route"] == "vo"
    assert table.meta["urls"]["tap"] == mirror_env["TAP_URL"]
    assert table.meta["urls"]["sia"] == mirror_env["SIA_URL"]
    path = tmp_path / "mirror.vot"
    write_table(table, path)
    ok, report = volint(path)
    assert ok, report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        infos = {i.name: i.value for i in parse(str(path)).resources[0].infos}
    assert infos["url_tap"] == mirror_env["TAP_URL"]
    assert read_result(path).meta["urls"] == table.meta["urls"]
