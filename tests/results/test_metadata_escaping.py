# Licensed under a 3-clause BSD style license - see LICENSE
"""Query metadata that would break a format is written so that it reads back.

Names from the file system (non-ASCII, or bytes that are not UTF-8), URLs with
quotes, ``&``, ``%`` and trailing blanks, and control characters: every
format of ``-o`` writes them, a reader gets them back, and the VOTable stays
volint clean with each value escaped once.
"""

import io
import os
import warnings

import pytest
from astropy.io import fits
from astropy.io.votable import parse, validate

from twomass_vo.cli import main
from twomass_vo.results.result_reader import read_result
from twomass_vo.results.result_writer import write_table

SCAN = ("971031", "n", 96)
#: parameter -> (value as given, value as every format reads it back)
HOSTILE = {
    "latin1_file": (os.fsdecode(b"caf\xe9.tbl"), "caf\\xe9.tbl"),
    "quotes": ("a 'x'/b " + "y" * 90 + "'/ end", "a 'x'/b " + "y" * 90 + "'/ end"),
    "markup": ('a&b <c> "d" &amp; 100%', 'a&b <c> "d" &amp; 100%'),
    "unicode": ("Ségur ü \\ éé", "Ségur ü \\ éé"),
    "blanks": ("  lead and trail &  ", "  lead and trail &  "),
    "control": ("line1\nline2\ttab\x01", "line1\\nline2\\ttab\\x01"),
}


@pytest.fixture
def hostile_table(batch):
    table = batch.query_scan(*SCAN, image=197)
    table.meta["parameters"].update({k: given for k, (given, _) in HOSTILE.items()})
    table.meta["query"] = "x'/y & z"
    return table


@pytest.mark.parametrize("suffix", [".vot", ".fits", ".ecsv", ".tbl"])
def test_hostile_metadata_reads_back(hostile_table, tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        write_table(hostile_table, path)
    meta = read_result(path).meta
    got = {k: meta["parameters"][k] for k in HOSTILE}
    assert got == {k: read for k, (_, read) in HOSTILE.items()}
    assert meta["query"] == "x'/y & z"
    assert meta["parameters"]["scan"] == "96"
    assert "encoding" not in meta and "encoding" not in meta["parameters"]


def test_votable_param_values_are_escaped_once(hostile_table, tmp_path):
    path = tmp_path / "t.vot"
    write_table(hostile_table, path)
    text = path.read_text(encoding="utf-8")
    assert 'value="a&amp;b &lt;c&gt; &quot;d&quot; &amp;amp; 100%"' in text
    params = {p.name: p for p in parse(str(path)).get_first_table().params}
    assert params["param_markup"].value == 'a&b <c> "d" &amp; 100%'
    # non-ASCII text is unicodeChar (char holds ASCII only)
    assert params["param_unicode"].datatype == "unicodeChar"
    assert params["param_quotes"].datatype == "char"
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        assert validate(str(path), output=report), report.getvalue()


def test_fits_cards_are_printable_ascii(hostile_table, tmp_path):
    path = tmp_path / "t.fits"
    write_table(hostile_table, path)
    with fits.open(path) as hdul:
        hdul.verify("exception")
        header = hdul[1].header
        assert header["HIERARCH TMVO ENCODING"] == "percent"
        assert header["HIERARCH TMVO PARAM_QUOTES"].startswith("a %27x%27/b ")
        assert header.tostring().isascii()


def test_cli_writes_fits_from_a_latin1_and_a_unicode_file_name(sim, tmp_path):
    # a non-ASCII input file name broke -o x.fits after the query ran, and a
    # Latin-1 one left a truncated -o x.vot that blocked the next run
    rows = "xdate,hem,scan,image\n971031,n,96,197\n"
    for raw in (b"dhs-\xe9.csv", "dhs-Ségur.csv".encode()):
        source = tmp_path / os.fsdecode(raw)
        source.write_text(rows)
        for suffix in (".fits", ".vot", ".tbl"):
            out = tmp_path / f"out{suffix}"
            assert main(["--archive", "sim", "scans", str(source), "-o", str(out)]) == 0
            written = read_result(out).meta["parameters"]["source"]
            assert written == os.fsdecode(raw).encode(
                "utf-8", "surrogateescape"
            ).decode("utf-8", "backslashreplace")
            out.unlink()


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".ecsv", ".tbl", ".csv"])
def test_non_ascii_ids_in_every_format(batch, tmp_path, suffix):
    # FITS string columns hold bytes: a non-ASCII id failed after the query
    from astropy.table import Table

    positions = Table(
        {"id": ["Ségur", "M31 nucleus"], "ra": [10.6847, 10.7], "dec": [41.2689, 41.3]}
    )
    table = batch.query_positions(positions, band="J")
    path = tmp_path / f"t{suffix}"
    write_table(table, path)
    back = read_result(path)
    assert [str(i) for i in back["id"]] == [str(i) for i in table["id"]]
    assert "Ségur" in set(back["id"])
    if suffix == ".fits":
        with fits.open(path) as hdul:
            hdul.verify("exception")
