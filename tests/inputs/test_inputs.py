# Licensed under a 3-clause BSD style license - see LICENSE
"""Tests of twomass_vo.inputs: input tables and per-mode validation."""

import datetime
import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, QTable, Table
from astropy.time import Time

from twomass_vo.exceptions import InputError, InvalidQueryError
from twomass_vo.inputs import (
    COLUMN_SYNONYMS,
    KeyRequest,
    PositionRequest,
    ScanRequest,
    coadd_keys_request,
    find_input_column,
    parse_angle,
    parse_band,
    positions_request,
    read_input_table,
    region_diameter,
    scan_request,
    scans_request,
)

DATA = Path(__file__).parents[1] / "data"

# The example tables of the help page, as the page's text gives them (its line
# breaks and runs of blanks were lost); the files restore the layout.
HELP_TEXT = {
    "help_positions_all.tbl": "| ra| dec|best| | double| double|char| | deg| deg| "
    "| | null| null|null| 65.497627 19.535070 n",
    "help_positions_best.tbl": "| dec| ra|best| | double| double|char| | deg| deg| "
    "| | null| null|null| 19.535070 65.497627 y",
    "help_positions_size.tbl": "| ra|best| dec|size| 65.497627 y 19.535070 50",
    "help_positions_gator.tbl": "| ra| dec| j_m| h_m| k_m|ph_qual| | double| double"
    "|double|double|double| char| | deg| deg| mag| mag| mag| | | null| null| null| "
    "null| null| null| 218.793021 -29.988167 15.269 14.775 14.721 AAA 218.889627 "
    "-23.928709 16.954 16.095 15.967 DDD 219.026042 -25.927643 16.413 15.764 "
    "15.750 BCD",
    "help_coadd_keys_bands.tbl": "|coadd_key|band| |int |char| 1590591 J 1590591 H "
    "1590591 K",
    "help_coadd_keys_all.tbl": "|coadd_key|band| 1590591 A",
    "help_coadd_keys_ids.tbl": "|id |coadd_key|band|my_column| |char|int |char| "
    "char | 1 1590591 A these 59 1230312 a are my 3 1590590 j column 200 699387 K "
    "values",
    "help_dhs_bands.tbl": "|xdate |hem |scan|image|band| |char |char|int |int "
    "|char| 971031 n 96 197 J 971031 n 96 197 H 971031 n 96 197 K 981121 n 69 256 "
    "j 981121 n 69 256 h 981121 n 69 256 k",
    "help_dhs_all_bands.tbl": "|xdate |hem |scan|image|band| |char |char|int |int "
    "|char| 971031 n 96 197 A 981121 n 69 256 a",
    "help_dhs_scan.tbl": "|xdate |hem |scan|image|band| 971031 n 96 A",
    "help_dhs_scan_null.tbl": "|xdate |hem |scan|image|band| 971031 n 96 null A",
    "help_dhs_scan_noimage.tbl": "|xdate |hem |scan|band| 971031 n 96 A",
}

RA, DEC = 65.497627, 19.535070
ALL_SCAN = {"ordate": ["971031"], "hemisphere": ["n"], "scanno": [96], "image": [0]}

# Expected request of every help example (fields not given: defaults).
EXPECTED = {
    "help_positions_all.tbl": {"ra": [RA], "dec": [DEC], "size": [0.0], "best": [0]},
    "help_positions_best.tbl": {"ra": [RA], "dec": [DEC], "size": [0.0], "best": [1]},
    "help_positions_size.tbl": {"ra": [RA], "dec": [DEC], "size": [50.0], "best": [1]},
    "help_positions_gator.tbl": {
        "ra": [218.793021, 218.889627, 219.026042],
        "dec": [-29.988167, -23.928709, -25.927643],
        "size": [0.0, 0.0, 0.0],
        "best": [0, 0, 0],
    },
    "help_coadd_keys_bands.tbl": {"coadd_key": [1590591] * 3, "bands": list("JHK")},
    "help_coadd_keys_all.tbl": {"coadd_key": [1590591], "bands": ["JHK"]},
    "help_coadd_keys_ids.tbl": {
        "coadd_key": [1590591, 1230312, 1590590, 699387],
        "bands": ["JHK", "JHK", "J", "K"],
        "id": ["1", "59", "3", "200"],
    },
    "help_dhs_bands.tbl": {
        "ordate": ["971031"] * 3 + ["981121"] * 3,
        "hemisphere": ["n"] * 6,
        "scanno": [96] * 3 + [69] * 3,
        "image": [197] * 3 + [256] * 3,
        "bands": list("JHKJHK"),
    },
    "help_dhs_all_bands.tbl": {
        "ordate": ["971031", "981121"],
        "hemisphere": ["n", "n"],
        "scanno": [96, 69],
        "image": [197, 256],
        "bands": ["JHK", "JHK"],
    },
    "help_dhs_scan.tbl": {**ALL_SCAN, "bands": ["JHK"]},
    "help_dhs_scan_null.tbl": {**ALL_SCAN, "bands": ["JHK"]},
    "help_dhs_scan_noimage.tbl": {**ALL_SCAN, "bands": ["JHK"]},
}


def request_for(name, source, **kwargs):
    """The request of the mode a help table belongs to."""
    if name.startswith("help_positions"):
        return positions_request(source, **kwargs)
    if name.startswith("help_coadd"):
        return coadd_keys_request(source, **kwargs)
    return scans_request(source, **kwargs)


def assert_request(request, expected):
    n = len(next(iter(expected.values())))
    assert len(request) == n
    np.testing.assert_array_equal(request.scntr, np.arange(n))
    assert request.scntr.dtype == np.int64
    if "id" not in expected:
        assert list(request.id) == [""] * n
    for field, values in expected.items():
        got = getattr(request, field)
        if field in ("ra", "dec", "size"):
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, values, rtol=0, atol=1e-9)
        elif field == "best":
            assert got.dtype == bool
            np.testing.assert_array_equal(got, np.array(values, dtype=bool))
        else:
            np.testing.assert_array_equal(got, values)
            if field in ("coadd_key", "scanno", "image"):
                assert got.dtype == np.int64


def assert_requests_equal(a, b):
    assert type(a) is type(b)
    for field in a.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-9)
        else:
            np.testing.assert_array_equal(x, y)


def write_ipac(path, columns, types=None):
    """Write an aligned IPAC table of str values (names line, optional types)."""
    names = list(columns)
    n = len(columns[names[0]])
    kinds = {name: (types or {}).get(name, "char") for name in names}
    cells = {name: [name, kinds[name], *columns[name]] for name in names}
    widths = {name: 1 + max(len(v) for v in cells[name]) for name in names}

    def line(edge, values):
        return edge + edge.join(v.rjust(widths[nm]) for nm, v in values) + edge

    lines = [line("|", [(nm, nm) for nm in names])]
    if types:
        lines.append(line("|", [(nm, kinds[nm]) for nm in names]))
    lines += [line(" ", [(nm, columns[nm][i]) for nm in names]) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def check_error(excinfo, row, column, value):
    """The error names row, column and value, as attributes and in its text."""
    err = excinfo.value
    assert isinstance(err, InputError)
    assert err.row == row
    assert err.column == column
    assert err.value == value
    text = str(err)
    if row is not None:
        assert text.startswith(f"row {row}, column {column!r}: {value!r} ")
    else:
        assert text.startswith(f"column {column!r}: {value!r} ")


# ---------------------------------------------------------------------------
# The help page's example tables
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HELP_TEXT))
def test_help_table_file_restores_the_help_page_text(name):
    text = (DATA / name).read_text()
    assert " ".join(text.split()) == HELP_TEXT[name]
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("|")]
    pipes = [i for i, c in enumerate(header[0]) if c == "|"]
    for line in header:
        assert [i for i, c in enumerate(line) if c == "|"] == pipes
    for line in lines[len(header) :]:
        assert len(line) == len(header[0])
        assert all(line[p] == " " for p in pipes), "no data under a bar"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_table_parses_to_expected_request(name):
    request = request_for(name, DATA / name)
    assert_request(request, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_table_as_str_path(name):
    assert_requests_equal(
        request_for(name, str(DATA / name)), request_for(name, DATA / name)
    )


@pytest.mark.parametrize("name", sorted(HELP_TEXT))
def test_help_table_files_read_the_same_with_astropy(name):
    # the restored files are valid IPAC tables for astropy's own reader too
    ours = read_input_table(DATA / name)
    theirs = typed_table(name)
    assert ours.colnames == theirs.colnames
    for colname in ours.colnames:
        mine = np.ma.getmaskarray(ours[colname])
        assert list(mine) == list(np.ma.getmaskarray(theirs[colname])) or (
            colname == "image" and name == "help_dhs_scan_null.tbl"  # 'null' text
        )
        for a, b, null in zip(ours[colname], theirs[colname], mine, strict=True):
            if not null and isinstance(b, str):
                assert a == b
            elif not null:
                assert float(a) == b


def test_ipac_unrecognized_unit_is_harmless(tmp_path):
    path = tmp_path / "t.tbl"
    path.write_text("|coadd_key|\n|      int|\n|  1/0 deg|\n|     null|\n        5\n")
    assert isinstance(read_input_table(path)["coadd_key"].unit, u.UnrecognizedUnit)
    assert list(coadd_keys_request(path).coadd_key) == [5]


def test_help_tables_are_read_as_str_with_units_and_types():
    table = read_input_table(DATA / "help_positions_gator.tbl")
    assert table.colnames == ["ra", "dec", "j_m", "h_m", "k_m", "ph_qual"]
    assert all(table[c].dtype.kind == "U" for c in table.colnames)
    assert table["ra"].unit == u.deg
    assert table["j_m"].unit == u.mag
    assert table["ra"].meta["ipac_type"] == "double"
    assert list(table["ra"]) == ["218.793021", "218.889627", "219.026042"]
    ids = read_input_table(DATA / "help_coadd_keys_ids.tbl")
    assert list(ids["my_column"]) == ["these", "are my", "column", "values"]
    assert list(ids["id"]) == ["1", "59", "3", "200"]


@pytest.mark.parametrize(
    ("name", "masked"),
    [("help_dhs_scan.tbl", True), ("help_dhs_scan_null.tbl", True)],
)
def test_empty_and_null_image_values_are_masked(name, masked):
    table = read_input_table(DATA / name)
    assert bool(np.ma.getmaskarray(table["image"])[0]) is masked
    assert list(table["xdate"]) == ["971031"]


def test_help_best_flag_overrides_global_and_null_takes_global():
    request = positions_request(DATA / "help_positions_all.tbl", best=True)
    assert list(request.best) == [False]  # the row's 'n' wins
    request = positions_request(DATA / "help_positions_gator.tbl", best=True)
    assert list(request.best) == [True] * 3  # no best column: the global flag


def test_help_size_column_overrides_global_size():
    request = positions_request(DATA / "help_positions_size.tbl", size=10)
    assert list(request.size) == [50.0]
    request = positions_request(DATA / "help_positions_all.tbl", size=10 * u.arcmin)
    assert list(request.size) == [600.0]


@pytest.mark.parametrize(("band", "bands"), [("all", "JHK"), ("Ks", "K"), ("h", "H")])
def test_global_band_fills_rows_without_band(band, bands):
    request = scans_request(DATA / "help_dhs_scan_noimage.tbl", band=band)
    assert list(request.bands) == ["JHK"]  # the table's band column wins
    table = read_input_table(DATA / "help_dhs_scan_noimage.tbl")
    table.remove_column("band")
    assert list(scans_request(table, band=band).bands) == [bands]
    keys = coadd_keys_request([1590591, 1590591], band=band)
    assert list(keys.bands) == [bands, bands]


# ---------------------------------------------------------------------------
# The same tables in other formats
# ---------------------------------------------------------------------------


def typed_table(name):
    """The help table with typed columns, as astropy's own IPAC reader gives it."""
    table = Table.read(DATA / name, format="ascii.ipac")
    table.meta.clear()  # astropy's IPAC 'keywords' dict cannot go to FITS
    return table


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [
        ("votable", ".xml"),
        ("votable", ".vot"),
        ("fits", ".fits"),
        ("fits", ".fits.gz"),
        ("ascii.csv", ".csv"),
        ("ascii.ecsv", ".ecsv"),
    ],
)
def test_same_table_in_other_formats_gives_same_request(tmp_path, name, fmt, suffix):
    table = typed_table(name)
    path = tmp_path / f"table{suffix}"
    table.write(path, format=fmt)
    expected = request_for(name, DATA / name)
    assert_requests_equal(request_for(name, path), expected)
    assert_request(request_for(name, path), EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_table_as_astropy_tables_gives_same_request(name):
    expected = request_for(name, DATA / name)
    typed = typed_table(name)
    assert_requests_equal(request_for(name, typed), expected)
    assert_requests_equal(request_for(name, QTable(typed)), expected)
    as_str = read_input_table(DATA / name)
    assert_requests_equal(request_for(name, as_str), expected)


def test_typed_dhs_table_has_integer_columns():
    # the round trip above is meaningful: the typed tables hold ints
    table = typed_table("help_dhs_bands.tbl")
    assert table["scan"].dtype.kind == "i"
    assert table["image"].dtype.kind == "i"
    assert typed_table("help_coadd_keys_ids.tbl")["coadd_key"].dtype.kind == "i"
    assert typed_table("help_positions_gator.tbl")["ra"].dtype.kind == "f"


def test_qtable_with_quantities_is_converted():
    table = QTable(
        {
            "RA": [1.0, 2.0] * u.hourangle,
            "Dec": [-30.0, 0.5] * u.deg,
            "size": [1.0, 0.5] * u.arcmin,
            "id": ["a", "b"],
        }
    )
    request = positions_request(table)
    np.testing.assert_allclose(request.ra, [15.0, 30.0])
    np.testing.assert_allclose(request.dec, [-30.0, 0.5])
    np.testing.assert_allclose(request.size, [60.0, 30.0])
    assert list(request.id) == ["a", "b"]


def test_read_input_table_copies_astropy_tables():
    table = Table({"coadd_key": [1, 2]})
    copy = read_input_table(table)
    copy["coadd_key"][0] = 99
    assert table["coadd_key"][0] == 1
    qtable = QTable({"ra": [1.0] * u.deg})
    assert type(read_input_table(qtable)) is Table


def test_read_input_table_accepts_structured_arrays_and_dicts():
    array = np.array([(1590591, "J")], dtype=[("coadd_key", "i8"), ("band", "U1")])
    assert list(coadd_keys_request(array).bands) == ["J"]
    assert list(coadd_keys_request({"coadd_key": [5, 6]}).coadd_key) == [5, 6]


@pytest.mark.parametrize("suffix", [".txt", "", ".dat"])
def test_unknown_extension_ipac_is_sniffed(tmp_path, suffix):
    path = tmp_path / f"dhs{suffix}"
    shutil.copy(DATA / "help_dhs_bands.tbl", path)
    assert_request(scans_request(path), EXPECTED["help_dhs_bands.tbl"])


def test_unknown_extension_votable_and_fits_are_sniffed(tmp_path):
    path = tmp_path / "psc.dat"
    shutil.copy(DATA / "gator_fp_psc_polygon_10_10.xml", path)
    assert len(positions_request(path)) == 7
    table = typed_table("help_coadd_keys_ids.tbl")
    table.write(tmp_path / "keys.fits")
    shutil.copy(tmp_path / "keys.fits", tmp_path / "keys.bin")
    assert_request(
        coadd_keys_request(tmp_path / "keys.bin"), EXPECTED["help_coadd_keys_ids.tbl"]
    )


def test_plain_text_table_is_read_as_str(tmp_path):
    path = tmp_path / "dhs.txt"
    path.write_text("xdate hem scan id\n000804 N 7 007\n")
    request = scans_request(path)
    assert list(request.ordate) == ["000804"]  # leading zeros kept
    assert list(request.id) == ["007"]


def test_csv_keeps_leading_zeros_and_empty_values_are_null(tmp_path):
    path = tmp_path / "dhs.csv"
    path.write_text("xdate,hem,scan,image,id\n000804,s,7,,007\n010229,n,1,3,x\n")
    with pytest.raises(InputError) as excinfo:
        scans_request(path)
    check_error(excinfo, 1, "xdate", "010229")  # 2001 is no leap year
    path.write_text("xdate,hem,scan,image,id\n000804,s,7,,007\n000229,n,1,3,x\n")
    request = scans_request(path)
    assert list(request.ordate) == ["000804", "000229"]
    assert list(request.image) == [0, 3]
    assert list(request.id) == ["007", "x"]


def test_gzipped_ipac_table(tmp_path):
    path = tmp_path / "keys.tbl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((DATA / "help_coadd_keys_ids.tbl").read_bytes())
    assert_request(coadd_keys_request(path), EXPECTED["help_coadd_keys_ids.tbl"])


@pytest.mark.parametrize("how", ["gzip", "gzip, two members", "bz2", "xz"])
def test_compressed_tables_are_read_whatever_their_name(tmp_path, how):
    import bz2
    import lzma

    text = (DATA / "help_coadd_keys_ids.tbl").read_bytes()
    if how == "gzip":
        data = gzip.compress(text)
    elif how == "gzip, two members":
        data = gzip.compress(text[:100]) + gzip.compress(text[100:])
    else:
        data = bz2.compress(text) if how == "bz2" else lzma.compress(text)
    path = tmp_path / "keys.tbl"  # recognised by its first bytes
    path.write_bytes(data)
    assert_request(coadd_keys_request(path), EXPECTED["help_coadd_keys_ids.tbl"])


def test_input_files_are_bounded(tmp_path):
    from twomass_vo import conf

    text = b"ra,dec\n" + b"10.68,41.27\n" * 1000
    plain, packed = tmp_path / "big.csv", tmp_path / "bomb.csv.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    with conf.set_temp("max_input_size", 5000):
        for path, why in ((plain, "is larger than 5000 bytes"), (packed, "gzip")):
            with pytest.raises(InputError, match=why) as info:
                read_input_table(path)
            assert "twomass_vo.conf.max_input_size" in str(info.value)
            assert str(path) in str(info.value)
    assert len(read_input_table(packed)) == 1000
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes(gzip.compress(text)[:-20])
    with pytest.raises(InputError, match="gzip data end too early"):
        read_input_table(broken)


@pytest.mark.parametrize("kind", ["fifo", "device", "link to a device"])
def test_input_files_are_regular_files(tmp_path, kind):
    import os

    path = tmp_path / "pos.csv"
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer for ever
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(InputError, match="not a regular file: refused"):
        read_input_table(path)


def test_read_input_table_format_option(tmp_path):
    path = tmp_path / "keys.data"
    shutil.copy(DATA / "help_coadd_keys_bands.tbl", path)
    assert list(read_input_table(path, format="ipac")["band"]) == ["J", "H", "K"]
    with pytest.raises(InvalidQueryError, match="unknown table format"):
        read_input_table(path, format="xls")


def test_read_input_table_rejects_other_types():
    with pytest.raises(InvalidQueryError, match="positions table must be"):
        read_input_table(42, name="positions table")


# ---------------------------------------------------------------------------
# The IPAC reader
# ---------------------------------------------------------------------------


def test_ipac_keywords_comments_and_null_line(tmp_path):
    path = tmp_path / "t.tbl"
    path.write_text(
        "\\fixlen = T\n"
        "\\ a comment line\n"
        "|  xdate|  hem|scan|image|\n"
        "|   char| char| int|  int|\n"
        "|       |     |    |     |\n"
        "|   null| null|null| -999|\n"
        "  000804     S    7  -999\n"
        "\n"
        "  000805 north  999    12\n"
    )
    table = read_input_table(path)
    assert table.meta["keywords"] == {"fixlen": "T"}
    assert list(np.ma.getmaskarray(table["image"])) == [True, False]
    request = scans_request(path)
    assert list(request.ordate) == ["000804", "000805"]
    assert list(request.hemisphere) == ["s", "n"]
    assert list(request.scanno) == [7, 999]
    assert list(request.image) == [0, 12]


def test_ipac_value_touching_a_bar_belongs_to_its_column(tmp_path):
    path = tmp_path / "t.tbl"
    # '65.497627' starts under the first bar; 'y' runs under the 3rd bar,
    # touching its own column only; '50' runs past the last bar.
    path.write_text("|       ra|      dec|best|size|\n65.497627 19.535070    y   50\n")
    table = read_input_table(path)
    assert [table[c][0] for c in table.colnames] == [
        "65.497627",
        "19.535070",
        "y",
        "50",
    ]
    path.write_text("|       ra|      dec|best|size|\n 65.497627 19.535070   y    50\n")
    table = read_input_table(path)
    assert [table[c][0] for c in table.colnames] == [
        "65.497627",
        "19.535070",
        "y",
        "50",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("|  ra| dec|\n  1.0x2.0\n", "under a '|'"),  # value straddles a bar
        ("|  ra| dec|\n  1. x 2.0\n", "under a '|'"),  # value alone under a bar
        ("|  ra| dec|\n|   double|double|\n 1.0 2.0\n", "do not line up"),
        ("|  ra| dec\n  1.0  2.0\n", "must end with '|'"),
        ("ra dec\n|  ra| dec|\n", "data before the header"),
        ("|  ra|  ra|\n 1.0  2.0\n", "duplicate column name"),
        ("|  ra|    |\n 1.0  2.0\n", "has no name"),
        ("|  ra| dec|\n 1.0\t2.0\n", "tabs are not allowed"),
        ("|a|\n|b|\n|c|\n|d|\n|e|\n 1\n", "more than 4 header lines"),
        ("|  ra| dec|\n  1.0  2.0\n|  ra| dec|\n", "header line after the data"),
        ("\\ only a comment\n", "no header line"),
    ],
)
def test_ipac_format_errors(tmp_path, text, reason):
    path = tmp_path / "bad.tbl"
    path.write_text(text)
    with pytest.raises(InputError) as excinfo:
        read_input_table(path, name="positions table")
    message = str(excinfo.value)
    assert reason in message
    assert str(path) in message
    assert message.startswith("cannot read the positions table")
    assert excinfo.value.column is None and excinfo.value.row is None


def test_ipac_header_only_is_an_empty_table(tmp_path):
    path = write_ipac(tmp_path / "t.tbl", {"coadd_key": [], "band": []})
    table = read_input_table(path)
    assert len(table) == 0 and table.colnames == ["coadd_key", "band"]
    assert len(coadd_keys_request(path)) == 0


# ---------------------------------------------------------------------------
# Missing and unreadable files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".tbl", ".xml", ".fits", ".csv", ".ecsv", ""])
def test_missing_file(tmp_path, suffix):
    path = tmp_path / f"nothing{suffix}"
    with pytest.raises(InputError, match="no such file") as excinfo:
        scans_request(path)
    assert str(path) in str(excinfo.value)
    assert excinfo.value.column is None


def test_directory_is_not_a_table(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        positions_request(tmp_path)


@pytest.mark.parametrize(
    ("suffix", "content"),
    [
        (".xml", b"<?xml version='1.0'?><VOTABLE><RESOURCE><TABLE>"),
        (".fits", b"SIMPLE  = not really a FITS file" + b"\0" * 100),
        (".fits", b""),
        (".csv", b"ra,dec\n1,2,3,4\n5\n"),
        (".ecsv", b"# %ECSV 1.0\n# ---\n# broken: [\n"),
        (".tbl", b"\xff\xfe\x00garbage"),
        (".tbl", b""),
    ],
)
def test_unreadable_file(tmp_path, suffix, content):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as excinfo:
        positions_request(path)
    message = str(excinfo.value)
    assert message.startswith("cannot read the positions table")
    assert str(path) in message
    assert excinfo.value.column is None
    assert excinfo.value.value == str(path)


# ---------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------


def test_positions_sexagesimal_and_decimal_strings(tmp_path):
    path = write_ipac(
        tmp_path / "p.tbl",
        {
            "RA": ["04:21:59.43", "4h21m59.43s", "65.497627"],
            "DEC": ["+19:32:06.25", "19d32m06.25s", "19.535070"],
            "id": ["a very long identifier of forty characters", "b", ""],
        },
    )
    request = positions_request(path)
    np.testing.assert_allclose(request.ra, [RA] * 3, atol=1e-6)
    np.testing.assert_allclose(request.dec, [DEC] * 3, atol=1e-6)
    assert list(request.id) == ["a very long identifier of forty characters", "b", ""]


@pytest.mark.parametrize(
    ("ra_name", "dec_name"),
    [("ra_deg", "dec_deg"), ("RAJ2000", "DEJ2000"), ("raj2000", "DECJ2000"),
     ("in_ra", "in_dec")],
)  # fmt: skip
def test_position_column_synonyms(ra_name, dec_name):
    table = Table({"x": [0], ra_name: [10.0], dec_name: [-20.0]})
    request = positions_request(table)
    assert list(request.ra) == [10.0] and list(request.dec) == [-20.0]


def test_first_synonym_wins_and_exact_case_wins():
    table = Table({"in_ra": [1.0], "RA": [2.0], "dec": [3.0]})
    assert find_input_column(table, "ra") == "RA"
    assert list(positions_request(table).ra) == [2.0]
    table = Table({"Ra": [1.0], "ra": [2.0]})
    assert find_input_column(table, "ra") == "ra"
    assert find_input_column(table, "scan") is None
    assert set(COLUMN_SYNONYMS["date"]) == {"xdate", "date", "ordate"}


def test_ra_360_wraps_to_0():
    request = positions_request(Table({"ra": [360.0, 0.0], "dec": [90.0, -90.0]}))
    assert list(request.ra) == [0.0, 0.0]


def test_positions_from_skycoord():
    coords = SkyCoord([10, 20] * u.deg, [-5, 5] * u.deg, frame="icrs")
    request = positions_request(coords, size=30)
    np.testing.assert_allclose(request.ra, [10, 20])
    assert list(request.size) == [30.0, 30.0]
    single = positions_request(SkyCoord(1 * u.deg, 2 * u.deg))
    assert len(single) == 1


def test_positions_from_skycoord_column():
    coords = SkyCoord([10, 20] * u.deg, [-5, 5] * u.deg, frame="fk5")
    table = QTable({"where": coords, "id": ["a", "b"], "size": [3, 4] * u.arcsec})
    request = positions_request(table)
    np.testing.assert_allclose(request.ra, coords.icrs.ra.deg)
    np.testing.assert_allclose(request.dec, coords.icrs.dec.deg)
    assert list(request.id) == ["a", "b"] and list(request.size) == [3.0, 4.0]


def test_coadd_keys_from_masked_column():
    keys = MaskedColumn([1, 2, 3], mask=[False, True, False])
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(keys)
    assert (excinfo.value.row, excinfo.value.column) == (1, "keys")


def fake_resolver(name):
    known = {"M31": SkyCoord(10.684708, 41.26875, unit="deg"),
             "NGC 7479": SkyCoord(346.236042, 12.322889, unit="deg")}  # fmt: skip
    return known[name]


def test_object_names_are_resolved(tmp_path):
    path = write_ipac(
        tmp_path / "names.tbl",
        {"objname": ["M31", "NGC 7479", "M31"], "size": ["5", "", "7"]},
    )
    request = positions_request(path, resolver=fake_resolver, size=1)
    np.testing.assert_allclose(request.ra, [10.684708, 346.236042, 10.684708])
    np.testing.assert_allclose(request.dec, [41.26875, 12.322889, 41.26875])
    assert list(request.size) == [5.0, 1.0, 7.0]


def never_called(name):
    raise AssertionError(f"the resolver was asked for {name!r}")


def test_ra_dec_columns_win_over_a_name_column(tmp_path):
    # a name next to ra/dec columns is the row's id, never resolved online
    path = write_ipac(
        tmp_path / "mixed.tbl",
        {
            "objname": ["", "M31", "NGC 7479"],
            "ra": ["13h29m52.37s", "10.684708", "1.5"],
            "dec": ["+47d11m40.8s", "41.26875", "2.5"],
        },
    )
    request = positions_request(path, resolver=never_called)
    np.testing.assert_allclose(request.ra, [202.468208, 10.684708, 1.5], atol=1e-6)
    np.testing.assert_allclose(request.dec, [47.194667, 41.26875, 2.5], atol=1e-6)
    assert list(request.id) == ["", "M31", "NGC 7479"]
    # an id column stays the id
    table = Table({"ra": [1.0], "dec": [2.0], "name": ["M31"], "id": ["mine"]})
    assert list(positions_request(table, resolver=never_called).id) == ["mine"]


def test_a_row_without_ra_dec_is_missing_even_with_a_name(tmp_path):
    path = write_ipac(
        tmp_path / "mixed.tbl",
        {"objname": ["M33", "M31"], "ra": ["1.5", ""], "dec": ["2.5", ""]},
    )
    with pytest.raises(InputError) as excinfo:
        positions_request(path, resolver=never_called)
    check_error(excinfo, 1, "ra", None)
    assert "'objname' column is an id" in str(excinfo.value)


def test_a_skycoord_column_wins_over_a_name_column():
    coords = SkyCoord([10, 20] * u.deg, [-5, 5] * u.deg)
    table = QTable({"where": coords, "object": ["M31", "M33"]})
    request = positions_request(table, resolver=never_called)
    np.testing.assert_allclose(request.ra, [10, 20])
    assert list(request.id) == ["M31", "M33"]


def test_names_alone_are_resolved_and_are_the_ids(tmp_path):
    path = write_ipac(tmp_path / "n.tbl", {"object": ["M31", "NGC 7479"]})
    request = positions_request(path, resolver=fake_resolver)
    np.testing.assert_allclose(request.ra, [10.684708, 346.236042])
    assert list(request.id) == ["M31", "NGC 7479"]


def test_unresolvable_name_is_an_input_error(tmp_path):
    path = write_ipac(tmp_path / "names.tbl", {"name": ["M31", "Nowhere 1"]})
    with pytest.raises(InputError) as excinfo:
        positions_request(path, resolver=fake_resolver)
    check_error(excinfo, 1, "name", "Nowhere 1")
    assert "could not be resolved" in str(excinfo.value)


def test_table_errors_come_before_name_resolution(tmp_path):
    calls = []

    def resolver(name):
        calls.append(name)
        return fake_resolver(name)

    path = write_ipac(tmp_path / "n.tbl", {"name": ["M31", "M31"], "size": ["1", "-1"]})
    with pytest.raises(InputError) as excinfo:
        positions_request(path, resolver=resolver)
    check_error(excinfo, 1, "size", "-1")
    assert calls == []
    path = write_ipac(tmp_path / "n.tbl", {"name": ["M31", "M31"], "size": ["1", "2"]})
    assert len(positions_request(path, resolver=resolver)) == 2
    assert calls == ["M31"]  # each distinct name is resolved once


def test_sexagesimal_error_names_the_input_row(tmp_path):
    path = write_ipac(
        tmp_path / "p.tbl",
        {"object": ["M31", "", ""], "ra": ["1.5", "12:00:00", "12:61:00"],
         "dec": ["2.5", "+10:00:00", "+10:00:00"]},
    )  # fmt: skip
    with pytest.raises(InputError) as excinfo:
        positions_request(path, resolver=fake_resolver)
    check_error(excinfo, 2, "ra", "12:61:00")


@pytest.mark.parametrize(
    ("columns", "row", "column", "value"),
    [
        ({"ra": ["10", "400"], "dec": ["0", "0"]}, 1, "ra", "400"),
        ({"ra": ["10", "-1"], "dec": ["0", "0"]}, 1, "ra", "-1"),
        ({"ra": ["10", "20"], "dec": ["0", "-91"]}, 1, "dec", "-91"),
        ({"ra": ["10", "nan"], "dec": ["0", "0"]}, 1, "ra", "nan"),
        ({"ra": ["10", "xyz"], "dec": ["0", "0"]}, 1, "ra", "xyz"),
        ({"ra": ["10", ""], "dec": ["0", "0"]}, 1, "ra", "" ),
        ({"ra": ["10", "20"], "dec": ["0", "null"]}, 1, "dec", "null"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "size": ["5", "-5"]}, 1, "size", "-5"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "size": ["abc", "5"]}, 0, "size", "abc"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "size": ["5", "nan"]}, 1, "size", "nan"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "size": ["inf", "5"]}, 0, "size", "inf"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "best": ["y", "no!"]}, 1, "best", "no!"),
        ({"ra": ["1", "2"], "dec": ["3", "4"], "best": ["2", "y"]}, 0, "best", "2"),
    ],
)  # fmt: skip
def test_bad_position_values(tmp_path, columns, row, column, value):
    path = write_ipac(tmp_path / "p.tbl", columns)
    with pytest.raises(InputError) as excinfo:
        positions_request(path)
    if value in ("", "null"):  # a missing value: masked in the table
        assert excinfo.value.row == row and excinfo.value.column == column
        assert "missing" in str(excinfo.value)
        return
    check_error(excinfo, row, column, value)


def test_bad_numeric_position_values():
    ra = np.array([10.0, 20.0, np.nan])
    with pytest.raises(InputError) as excinfo:
        positions_request(Table({"ra": ra, "dec": [0.0, 0.0, 0.0]}))
    assert excinfo.value.row == 2 and excinfo.value.column == "ra"
    assert np.isnan(excinfo.value.value)
    masked = MaskedColumn([1.0, 2.0], mask=[False, True])
    with pytest.raises(InputError) as excinfo:
        positions_request(Table({"ra": [1.0, 2.0], "DEC": masked}))
    assert (excinfo.value.row, excinfo.value.column) == (1, "DEC")
    with pytest.raises(InputError) as excinfo:
        positions_request(Table({"ra": [1.0, 2.0], "dec": [0.0, 90.5]}))
    check_error(excinfo, 1, "dec", 90.5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["y", "N", "Yes", "no", "TRUE", "false", "t", "F", "1", "0", "", "null"],
         [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1]),
        ([True, False], [1, 0]),
        ([1, 0], [1, 0]),
    ],
)  # fmt: skip
def test_best_values(values, expected):
    n = len(values)
    table = Table({"ra": np.zeros(n), "dec": np.zeros(n), "best": values})
    request = positions_request(table, best=True)
    assert list(request.best) == [bool(v) for v in expected]


def test_best_masked_takes_global():
    best = MaskedColumn([True, False, True], mask=[False, False, True])
    table = Table({"ra": [1.0, 2.0, 3.0], "dec": [0.0, 0.0, 0.0], "best": best})
    assert list(positions_request(table, best=False).best) == [True, False, False]


def test_size_values():
    table = Table(
        {"ra": [1.0] * 4, "dec": [0.0] * 4, "size": ["0", "", "12.5", "null"]}
    )
    assert list(positions_request(table, size=30).size) == [0.0, 30.0, 12.5, 30.0]
    assert list(positions_request(table).size) == [0.0, 0.0, 12.5, 0.0]


@pytest.mark.parametrize("best", ["yes", 1, None, "y"])
def test_global_best_must_be_bool(best):
    with pytest.raises(InvalidQueryError, match="best must be True or False"):
        positions_request(DATA / "help_positions_gator.tbl", best=best)


@pytest.mark.parametrize(
    "size",
    [0, -1, float("nan"), float("inf"), "50 km", True, 5 * u.m, [1, 2] * u.arcsec],
)
def test_global_size_must_be_positive_angle(size):
    with pytest.raises(InvalidQueryError, match="size"):
        positions_request(DATA / "help_positions_gator.tbl", size=size)


def test_global_size_accepts_numpy_numbers_and_angles():
    path = DATA / "help_positions_gator.tbl"
    assert list(positions_request(path, size=np.float32(2.5)).size) == [2.5] * 3
    assert list(positions_request(path, size=0.5 * u.arcmin).size) == [30.0] * 3
    # strings as astroquery users type them: arcsec alone, or with a unit
    assert list(positions_request(path, size="50").size) == [50.0] * 3
    assert list(positions_request(path, size="1arcmin").size) == [60.0] * 3
    assert positions_request(path, best=np.True_).best.all()


def test_positions_missing_columns():
    with pytest.raises(InputError) as excinfo:
        positions_request(Table({"x": [1.0], "y": [2.0]}))
    err = excinfo.value
    assert err.column == "ra" and err.row is None
    assert err.value == ["x", "y"]
    assert "['x', 'y']" in str(err)
    with pytest.raises(InputError) as excinfo:
        positions_request(Table({"ra": [1.0], "y": [2.0]}))
    assert excinfo.value.column == "dec"
    assert "'dec_deg'" in str(excinfo.value)


# ---------------------------------------------------------------------------
# coadd_key lists
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (1590591, [1590591]),
        (np.int32(7), [7]),
        ([1, 2, 2], [1, 2, 2]),  # duplicates are kept
        (np.array([5, 6], dtype=np.uint16), [5, 6]),
        (("10", " 11 ", "+12"), [10, 11, 12]),
        ("1590591", [1590591]),
        (np.array([3.0, 4.0]), [3, 4]),
        ([], []),
    ],
)
def test_coadd_keys_from_values(keys, expected):
    request = coadd_keys_request(keys, band="J")
    assert request.coadd_key.dtype == np.int64
    assert list(request.coadd_key) == expected
    assert list(request.bands) == ["J"] * len(expected)
    assert list(request.id) == [""] * len(expected)
    assert list(request.scntr) == list(range(len(expected)))


@pytest.mark.parametrize(
    ("keys", "row", "value"),
    [
        ([1, "12a"], 1, "12a"),
        (["1.5"], 0, "1.5"),
        ([1.5, 2.0], 0, 1.5),
        (["7", ""], 1, ""),
        ([3, -4], 1, -4),
        ([0], 0, 0),
        (["１２"], 0, "１２"),  # full-width digits are not ASCII digits
        (["99999999999999999999"], 0, "99999999999999999999"),
        ([True], 0, True),
    ],
)
def test_bad_coadd_key_values(keys, row, value):
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(keys)
    check_error(excinfo, row, "keys", value)


@pytest.mark.parametrize("key", [1.5, -3, 0, True, None])
def test_bad_single_coadd_key(key):
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(key)
    check_error(excinfo, None, "keys", key)


@pytest.mark.parametrize(
    ("values", "row", "value"),
    [(["1590591", "12a"], 1, "12a"), (["1.5"], 0, "1.5"), (["5", ""], 1, None),
     (["-12"], 0, "-12"), (["null"], 0, None)],
)  # fmt: skip
def test_bad_coadd_keys_in_a_table(tmp_path, values, row, value):
    ids = [str(i) for i in range(len(values))]  # so that no data line is blank
    path = write_ipac(
        tmp_path / "k.tbl", {"id": ids, "coadd_key": values}, types={"coadd_key": "int"}
    )
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(path)
    if value is None:
        assert (excinfo.value.row, excinfo.value.column) == (row, "coadd_key")
        assert excinfo.value.value is None
    else:
        check_error(excinfo, row, "coadd_key", value)


def test_masked_coadd_key_is_an_error():
    keys = MaskedColumn([1, 2], mask=[False, True])
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(Table({"COADD_KEY": keys}))
    assert (excinfo.value.row, excinfo.value.column) == (1, "COADD_KEY")


@pytest.mark.parametrize(
    ("bands", "expected"),
    [(["j", "H", "k", "Ks", "a", "ALL", "", "null"],
      ["J", "H", "K", "K", "JHK", "JHK", "H", "H"])],
)  # fmt: skip
def test_band_column_values(bands, expected):
    n = len(bands)
    table = Table({"coadd_key": np.arange(1, n + 1), "FILTER": bands})
    assert list(coadd_keys_request(table, band="h").bands) == expected


@pytest.mark.parametrize("bad", ["x", "jh", "1"])
def test_bad_band_values(tmp_path, bad):
    path = write_ipac(tmp_path / "k.tbl", {"coadd_key": ["1", "2"], "band": ["j", bad]})
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(path)
    check_error(excinfo, 1, "band", bad)
    table = Table({"xdate": ["970804"] * 2, "hem": ["n"] * 2, "scan": [1, 2],
                   "band": ["j", bad]})  # fmt: skip
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    check_error(excinfo, 1, "band", bad)


def test_numeric_band_column_is_an_error():
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(Table({"coadd_key": [1], "band": [1]}))
    check_error(excinfo, 0, "band", 1)


def test_coadd_keys_missing_column():
    with pytest.raises(InputError) as excinfo:
        coadd_keys_request(Table({"key": [1], "band": ["j"]}))
    err = excinfo.value
    assert err.column == "coadd_key" and err.value == ["key", "band"]
    assert "['key', 'band']" in str(err)


def test_coadd_keys_nested_sequence_is_invalid():
    with pytest.raises(InvalidQueryError, match="flat sequence"):
        coadd_keys_request([[1, 2], [3, 4]])


def test_coadd_keys_from_image_table_columns():
    # an ImageTable (or its unretrieved rest) can be fed back
    table = Table({"scntr": [0, 0], "id": ["a", "b"], "coadd_key": [9, 9],
                   "band": ["J", "K"], "ra": [1.0, 1.0]})  # fmt: skip
    request = coadd_keys_request(table)
    assert list(request.bands) == ["J", "K"] and list(request.id) == ["a", "b"]


# ---------------------------------------------------------------------------
# Bands
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [("all", "JHK"), ("ALL", "JHK"), ("a", "JHK"), ("J", "J"), ("j", "J"),
     ("h", "H"), ("Ks", "K"), ("KS", "K"), ("k", "K"), (" K ", "K"),
     ("jhk", "JHK"), (b"h", "H")],
)  # fmt: skip
def test_parse_band(value, band):
    assert parse_band(value) == band


@pytest.mark.parametrize("value", ["", "x", "JH", "Kss", None, 1, "ks band"])
def test_parse_band_errors(value):
    with pytest.raises(InputError) as excinfo:
        parse_band(value, row=4, column="FILTER")
    check_error(excinfo, 4, "FILTER", value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: coadd_keys_request([1], band="x"),
        lambda: scans_request(DATA / "help_dhs_scan.tbl", band="JH"),
        lambda: scan_request("970804", "n", 1, band="V"),
    ],
)
def test_bad_global_band_is_an_invalid_query(call):
    with pytest.raises(InvalidQueryError) as excinfo:
        call()
    assert excinfo.value.column == "band" and excinfo.value.row is None


# ---------------------------------------------------------------------------
# Date-hemisphere-scans
# ---------------------------------------------------------------------------


def dhs_table(**columns):
    base = {"xdate": ["971031"], "hem": ["n"], "scan": ["96"]}
    base.update(columns)
    return base


@pytest.mark.parametrize(
    ("columns", "column", "value"),
    [
        (dhs_table(xdate=["97084"]), "xdate", "97084"),
        (dhs_table(xdate=["971332"]), "xdate", "971332"),
        (dhs_table(xdate=["abcdef"]), "xdate", "abcdef"),
        (dhs_table(xdate=["970230"]), "xdate", "970230"),
        (dhs_table(xdate=["970431"]), "xdate", "970431"),
        (dhs_table(xdate=["970000"]), "xdate", "970000"),
        (dhs_table(xdate=["010229"]), "xdate", "010229"),
        (dhs_table(xdate=["19971031"]), "xdate", "19971031"),
        (dhs_table(xdate=["97-10-31"]), "xdate", "97-10-31"),
        (dhs_table(xdate=["+97084"]), "xdate", "+97084"),
        (dhs_table(xdate=["2050-01-01"]), "xdate", "2050-01-01"),
        (dhs_table(xdate=["1997-02-29"]), "xdate", "1997-02-29"),
        (dhs_table(hem=["x"]), "hem", "x"),
        (dhs_table(hem=["northern"]), "hem", "northern"),
        (dhs_table(hem=["ns"]), "hem", "ns"),
        (dhs_table(scan=["0"]), "scan", "0"),
        (dhs_table(scan=["1000"]), "scan", "1000"),
        (dhs_table(scan=["12a"]), "scan", "12a"),
        (dhs_table(scan=["1.5"]), "scan", "1.5"),
        (dhs_table(scan=["-3"]), "scan", "-3"),
        (dhs_table(image=["1.5"]), "image", "1.5"),
        (dhs_table(image=["abc"]), "image", "abc"),
    ],
)
def test_bad_dhs_values(tmp_path, columns, column, value):
    # second row bad, first row good: the error names row 1
    good = {"xdate": "971031", "hem": "n", "scan": "96", "image": "197"}
    both = {name: [good[name], *values] for name, values in columns.items()}
    path = write_ipac(tmp_path / "dhs.tbl", both)
    with pytest.raises(InputError) as excinfo:
        scans_request(path)
    check_error(excinfo, 1, column, value)


@pytest.mark.parametrize("column", ["xdate", "hem", "scan"])
def test_empty_required_dhs_value_is_an_error(tmp_path, column):
    columns = {"xdate": ["971031", "971031"], "hem": ["n", "n"], "scan": ["96", "96"]}
    columns[column][1] = ""
    with pytest.raises(InputError) as excinfo:
        scans_request(write_ipac(tmp_path / "dhs.tbl", columns))
    assert (excinfo.value.row, excinfo.value.column) == (1, column)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["970804", "000804", "010804", "010104", "010204", "010205"],
         ["970804", "000804", "010804", "010104", "010204", "010205"]),
        (["000229", "960229", "491231", "500101"],
         ["000229", "960229", "491231", "500101"]),
        (["1997-10-24", "2000-09-21", "2000-09-21T00:00:00"],
         ["971024", "000921", "000921"]),
        ([970804, 804, 10205], ["970804", "000804", "010205"]),
    ],
)  # fmt: skip
def test_good_dates(dates, expected):
    n = len(dates)
    table = Table({"DATE": dates, "HEMIS": ["s"] * n, "SCANNO": [1] * n})
    request = scans_request(table)
    assert list(request.ordate) == expected
    assert request.ordate.dtype == np.dtype("U6")


def test_integer_date_out_of_range():
    table = Table({"ordate": [970804, 1000000], "hem": ["n", "n"], "scan": [1, 1]})
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    check_error(excinfo, 1, "ordate", 1000000)
    table["ordate"] = [970804, 97084]  # padded to 097084: month 70
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    check_error(excinfo, 1, "ordate", 97084)


def test_float_date_column_is_an_error():
    table = Table({"xdate": [970804.0], "hem": ["n"], "scan": [1]})
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    check_error(excinfo, 0, "xdate", 970804.0)


def test_time_date_column():
    dates = Time(["1997-10-31T00:00:00", "2000-08-04T00:00:00"])
    table = Table({"xdate": dates, "hem": ["n", "s"], "scan": [1, 2]})
    assert list(scans_request(table).ordate) == ["971031", "000804"]


@pytest.mark.parametrize(
    ("hems", "expected"),
    [(["n", "N", "s", "S", "north", "South", " NORTH "], list("nnssnsn"))],
)
def test_hemisphere_values(hems, expected):
    n = len(hems)
    table = Table({"xdate": ["970804"] * n, "Hemisphere": hems, "scan": [5] * n})
    assert list(scans_request(table).hemisphere) == expected


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (["197", "", "null", "0", "-5", "23"], [197, 0, 0, 0, 0, 23]),
        ([197.0, np.nan, 0.0, -1.0], [197, 0, 0, 0]),
        ([1, 0, -3], [1, 0, 0]),
    ],
)
def test_image_values(images, expected):
    n = len(images)
    table = Table({"xdate": ["970804"] * n, "hem": ["n"] * n, "scan": [5] * n,
                   "IMAGE": images})  # fmt: skip
    assert list(scans_request(table).image) == expected


def test_scan_values():
    table = Table({"xdate": ["970804"] * 4, "hem": ["n"] * 4,
                   "scan": ["1", "999", "007", "+12"]})  # fmt: skip
    assert list(scans_request(table).scanno) == [1, 999, 7, 12]
    table["scan"] = [1.0, 999.0, 7.0, 12.0]
    assert list(scans_request(table).scanno) == [1, 999, 7, 12]
    table["scan"] = [1.0, 999.0, 7.5, 12.0]
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    check_error(excinfo, 2, "scan", 7.5)


@pytest.mark.parametrize("missing", ["xdate", "hem", "scan"])
def test_dhs_missing_required_column(missing):
    columns = {"xdate": ["970804"], "hem": ["n"], "scan": [1], "other": [0]}
    del columns[missing]
    table = Table(columns)
    with pytest.raises(InputError) as excinfo:
        scans_request(table)
    err = excinfo.value
    assert err.column == missing and err.row is None
    assert err.value == table.colnames
    assert str(table.colnames) in str(err)


def test_dhs_from_image_table_columns():
    table = Table({"scntr": [0, 1], "id": ["x", ""], "ordate": ["000804", "000804"],
                   "hemisphere": ["s", "s"], "scanno": [7, 7], "image": [3, 4],
                   "band": ["J", "K"]})  # fmt: skip
    request = scans_request(table)
    assert list(request.ordate) == ["000804", "000804"]
    assert list(request.image) == [3, 4]
    assert list(request.bands) == ["J", "K"]
    assert list(request.id) == ["x", ""]


def test_dhs_uppercase_columns_from_ipac(tmp_path):
    path = write_ipac(
        tmp_path / "dhs.tbl",
        {"XDATE": ["000804"], "HEM": ["S"], "SCAN": ["62"], "ID": ["field 1"]},
    )
    request = scans_request(path)
    assert list(request.ordate) == ["000804"] and list(request.hemisphere) == ["s"]
    assert list(request.id) == ["field 1"]


# ---------------------------------------------------------------------------
# One date-hemisphere-scan
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("970804", "n", 96), {}, ("970804", "n", 96, 0, "JHK")),
        (("000804", "North", "96"), {"image": 197}, ("000804", "n", 96, 197, "JHK")),
        (("010229"[:4] + "28", "S", 999), {"band": "Ks"}, ("010228", "s", 999, 0, "K")),
        ((804, "s", 1), {"image": -1}, ("000804", "s", 1, 0, "JHK")),
        ((datetime.date(2000, 8, 4), "s", 1), {"image": "0"},
         ("000804", "s", 1, 0, "JHK")),
        ((Time("1998-11-21"), "n", 69), {"image": "256"},
         ("981121", "n", 69, 256, "JHK")),
        ((np.str_("971031"), np.str_("n"), np.int16(96)), {},
         ("971031", "n", 96, 0, "JHK")),
    ],
)  # fmt: skip
def test_scan_request(args, kwargs, expected):
    request = scan_request(*args, **kwargs)
    assert isinstance(request, ScanRequest) and len(request) == 1
    got = (request.ordate[0], request.hemisphere[0], request.scanno[0],
           request.image[0], request.bands[0])  # fmt: skip
    assert got == expected
    assert list(request.id) == [""] and list(request.scntr) == [0]


@pytest.mark.parametrize(
    ("args", "kwargs", "column", "value"),
    [
        (("97084", "n", 1), {}, "date", "97084"),
        (("971332", "n", 1), {}, "date", "971332"),
        (("abcdef", "n", 1), {}, "date", "abcdef"),
        (("970230", "n", 1), {}, "date", "970230"),
        ((970804.0, "n", 1), {}, "date", 970804.0),
        ((None, "n", 1), {}, "date", None),
        (("970804", "x", 1), {}, "hemisphere", "x"),
        (("970804", "", 1), {}, "hemisphere", ""),
        (("970804", 1, 1), {}, "hemisphere", 1),
        (("970804", "n", 0), {}, "scan", 0),
        (("970804", "n", 1000), {}, "scan", 1000),
        (("970804", "n", "12a"), {}, "scan", "12a"),
        (("970804", "n", 1.5), {}, "scan", 1.5),
        (("970804", "n", ""), {}, "scan", ""),
        (("970804", "n", 1), {"image": 2.5}, "image", 2.5),
        (("970804", "n", 1), {"image": "x"}, "image", "x"),
    ],
)
def test_scan_request_errors(args, kwargs, column, value):
    with pytest.raises(InputError) as excinfo:
        scan_request(*args, **kwargs)
    check_error(excinfo, None, column, value)


def test_date_error_message_text():
    with pytest.raises(
        InputError, match=r"column 'date': '97084' is not a date in yymmdd"
    ):
        scan_request("97084", "n", 1)


# ---------------------------------------------------------------------------
# The 2MASS PSC VOTables as inputs
# ---------------------------------------------------------------------------


def test_psc_votables_feed_positions():
    request = positions_request(DATA / "gator_fp_psc_m31_10arcsec.xml", size=20)
    assert isinstance(request, PositionRequest) and len(request) == 18
    assert request.ra.dtype == np.float64
    np.testing.assert_allclose(
        request.ra[:3], [10.683263, 10.682777, 10.684737], atol=1e-6
    )
    np.testing.assert_allclose(
        request.dec[:3], [41.267456, 41.270111, 41.269035], atol=1e-6
    )
    assert list(request.id[:3]) == ["0", "1", "2"]
    assert (request.size == 20).all() and not request.best.any()
    polygon = positions_request(DATA / "gator_fp_psc_polygon_10_10.xml")
    assert len(polygon) == 7
    assert (np.abs(polygon.ra - 10) < 0.2).all() and (
        np.abs(polygon.dec - 10) < 0.2
    ).all()


@pytest.mark.parametrize(
    ("name", "ordate", "scan", "n"),
    [
        ("gator_fp_psc_cone_m31_1arcsec.xml", "971024", 8, 1),
        ("gator_fp_psc_box_m31_1arcsec.xml", "971024", 8, 1),
        ("gator_fp_psc_polygon_10_10.xml", "000921", 64, 7),
    ],
)
def test_psc_votables_feed_dhs(name, ordate, scan, n):
    table = read_input_table(DATA / name)
    assert table["xdate"][0] in ("1997-10-24", "2000-09-21")  # ISO dates
    request = scans_request(DATA / name)
    assert len(request) == n
    assert list(request.ordate) == [ordate] * n
    assert list(request.hemisphere) == ["n"] * n
    assert list(request.scanno) == [scan] * n
    assert list(request.image) == [0] * n


def test_psc_date_synonym(tmp_path):
    table = read_input_table(DATA / "gator_fp_psc_polygon_10_10.xml")
    table.rename_column("xdate", "date")
    table.write(tmp_path / "psc.xml", format="votable")
    assert list(scans_request(tmp_path / "psc.xml").ordate) == ["000921"] * 7


def test_psc_votable_without_dhs_columns():
    with pytest.raises(InputError) as excinfo:
        scans_request(DATA / "gator_fp_psc_m31_10arcsec.xml")
    err = excinfo.value
    assert err.column == "xdate"
    assert "designation" in err.value and "'designation'" in str(err)


# ---------------------------------------------------------------------------
# Empty tables, request objects, speed
# ---------------------------------------------------------------------------


def test_empty_tables_are_valid():
    pos = positions_request(Table({"ra": np.zeros(0), "dec": np.zeros(0)}))
    keys = coadd_keys_request(Table({"coadd_key": np.zeros(0, dtype=int)}))
    scans = scans_request(Table({"xdate": np.zeros(0, dtype="U6"),
                                 "hem": np.zeros(0, dtype="U1"),
                                 "scan": np.zeros(0, dtype=int)}))  # fmt: skip
    for request in (pos, keys, scans):
        assert len(request) == 0
        assert request.scntr.dtype == np.int64


def test_empty_str_tables_are_valid(tmp_path):
    path = write_ipac(
        tmp_path / "d.tbl", {"xdate": [], "hem": [], "scan": [], "image": []}
    )
    assert len(scans_request(path)) == 0
    path = write_ipac(tmp_path / "p.tbl", {"ra": [], "dec": [], "best": [], "id": []})
    assert len(positions_request(path)) == 0


def test_requests_are_frozen_and_checked():
    request = coadd_keys_request([1, 2])
    assert isinstance(request, KeyRequest)
    with pytest.raises(AttributeError):
        request.coadd_key = np.array([3])
    with pytest.raises(ValueError, match="differ in length"):
        KeyRequest(coadd_key=np.array([1]), bands=np.array(["J", "H"]),
                   id=np.array([""]), scntr=np.array([0]))  # fmt: skip


def test_million_numeric_positions():
    # correctness at scale; speed is measured in benchmarks/, not by timed tests
    n = 10**6
    rng = np.random.default_rng(5)
    table = Table({"ra": rng.uniform(0, 360, n), "dec": rng.uniform(-90, 90, n),
                   "size": rng.uniform(0, 60, n),
                   "best": rng.integers(0, 2, n).astype(bool)})  # fmt: skip
    request = positions_request(table)
    assert len(request) == n
    np.testing.assert_array_equal(request.dec, table["dec"])
    np.testing.assert_array_equal(request.best, table["best"])


def test_million_numeric_keys_and_scans():
    n = 10**6
    rng = np.random.default_rng(6)
    keys = Table({"coadd_key": rng.integers(1, 2_000_000, n), "band": ["a"] * n})
    scans = Table({"xdate": rng.choice([970804, 10204], n), "hem": ["s"] * n,
                   "scan": rng.integers(1, 1000, n),
                   "image": rng.integers(-1, 300, n)})  # fmt: skip
    assert len(coadd_keys_request(keys)) == n
    request = scans_request(scans)
    assert len(request) == n
    expected = np.where(scans["image"] > 0, scans["image"], 0)
    np.testing.assert_array_equal(request.image, expected)


def test_messages_quote_values_plainly():
    # numpy scalars are shown as plain Python values, not np.str_('...')
    with pytest.raises(InputError) as excinfo:
        scans_request(Table({"xdate": ["97084"], "hem": ["n"], "scan": [1]}))
    assert "np." not in str(excinfo.value)
    assert re.match(r"row 0, column 'xdate': '97084' is not a date", str(excinfo.value))


# --------------------------------------------------------------------------
# Bad input: clear errors naming the value, never internal exceptions


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        (2**63, "too large"),
        (np.uint64(2**63), "too large"),
        ("\u00b2", "digits 0-9"),  # superscript two: str.isdigit() is True
        ("\u0663", "digits 0-9"),  # Arabic-Indic three: int() reads it as 3
        ("-5", "digits 0-9"),
        ({"a": 1}, "cannot be read as a coadd_key table"),
        ({"coadd_key": 5}, "cannot be read as a coadd_key table"),
    ],
)
def test_bad_coadd_keys_are_input_errors(keys, match):
    with pytest.raises(InputError, match=match) as excinfo:
        coadd_keys_request(keys)
    if not isinstance(keys, dict):
        assert excinfo.value.value == keys


def test_coadd_keys_in_ascii_digits_still_work():
    assert list(coadd_keys_request("1590591").coadd_key) == [1590591]
    assert list(coadd_keys_request(2**63 - 1).coadd_key) == [2**63 - 1]


def test_band_lists():
    assert parse_band(["J", "H"]) == "JH"
    assert parse_band(("ks", "j")) == "JK"
    assert parse_band(["H", "all"]) == "JHK"
    assert parse_band(np.array(["K"])) == "K"
    for bad in ([], ["J", "Q"], [1], {"J": 1}):
        with pytest.raises(InvalidQueryError, match="not a 2MASS band"):
            parse_band(bad)
    request = coadd_keys_request([1, 2], band=["J", "H"])
    assert list(request.bands) == ["JH", "JH"]


@pytest.mark.parametrize(
    "table",
    [
        QTable({"ra": [10.0] * u.km, "dec": [20.0] * u.km}),
        Table({"ra": [10.0], "dec": [20.0]}, units={"ra": "km", "dec": "deg"}),
        Table({"ra": ["10:00:00"], "dec": ["20:00:00"]}, units={"ra": "km"}),
        Table({"ra": [10.0], "dec": [20.0]}, units={"ra": "deg", "dec": "h"}),
    ],
)
def test_position_columns_with_a_length_unit_are_errors(table):
    with pytest.raises(InputError, match="not an angle") as excinfo:
        positions_request(table)
    assert excinfo.value.column in ("ra", "dec")
    assert excinfo.value.value in ("km", "h")


def test_size_column_with_a_length_unit_is_an_error():
    table = Table({"ra": [1.0], "dec": [2.0], "size": [3.0]}, units={"size": "km"})
    with pytest.raises(InputError, match="not an angle") as excinfo:
        positions_request(table)
    assert (excinfo.value.column, excinfo.value.value) == ("size", "km")


def test_angle_units_of_position_columns_are_used():
    table = Table(
        {"ra": [1.0], "dec": [30.0], "size": [1.0]},
        units={"ra": "hourangle", "dec": "arcmin", "size": "arcmin"},
    )
    request = positions_request(table)
    np.testing.assert_allclose(
        [request.ra[0], request.dec[0], request.size[0]], [15.0, 0.5, 60.0]
    )
    hours = Table({"ra": [2.0], "dec": [0.0]}, units={"ra": "h"})  # hour angle
    np.testing.assert_allclose(positions_request(hours).ra, [30.0])


@pytest.mark.parametrize("ra", [[10 + 1j], [10 + 0j], np.array([1 + 0j])])
def test_complex_ra_is_an_error(ra):
    with pytest.raises(InputError, match="complex") as excinfo:
        positions_request(Table({"ra": ra, "dec": [20.0]}))
    assert (excinfo.value.row, excinfo.value.column) == (0, "ra")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (True, "not an angle"),
        (np.True_, "not an angle"),
        (1 + 2j, "not a real number"),
        ((1 + 0j) * u.deg, "not a real number"),
        ([0.1, 0.2] * u.deg, "single angle"),
        ([0.1], "single angle"),
        (np.array([0.3]), "single angle"),
        (10**400, "too large"),
        ("0.3 parsec", "not an angle"),
        ("wide", "not an angle such as 0.3deg"),
        (0.3 * u.m, "not an angle"),
        (None, "not an angle"),
    ],
)
def test_parse_angle_refuses(value, match):
    with pytest.raises(InvalidQueryError, match=match) as excinfo:
        parse_angle(value, argument="diameter", unit=u.deg)
    assert str(excinfo.value).startswith("diameter=")
    assert len(str(excinfo.value)) < 200  # 10**400 is not printed whole


@pytest.mark.parametrize(
    ("value", "degrees"),
    [
        (0.3, 0.3),
        (np.float32(0.5), 0.5),
        (3, 3.0),
        (0.3 * u.deg, 0.3),
        (18 * u.arcmin, 0.3),
        ("0.3", 0.3),
        ("0.3deg", 0.3),
        ("0.3 d", 0.3),
        ("18arcmin", 0.3),
        ("18'", 0.3),
        ("1080arcsec", 0.3),
    ],
)
def test_parse_angle_accepts(value, degrees):
    assert parse_angle(value, argument="diameter", unit=u.deg) == pytest.approx(degrees)


@pytest.mark.parametrize("value", [0, 0.0, -1, float("nan"), "1e400", 0 * u.deg])
def test_region_diameter_must_be_positive_and_finite(value):
    with pytest.raises(InvalidQueryError, match="positive, finite"):
        region_diameter(value)
    with pytest.raises(InvalidQueryError, match=r"radius=.*positive, finite"):
        region_diameter(radius=value)


def test_region_diameter_or_radius():
    assert region_diameter(0.3) == 0.3
    assert region_diameter(radius=0.15) == 0.3
    assert region_diameter(radius=9 * u.arcmin) == pytest.approx(0.3)
    assert region_diameter() is None
    with pytest.raises(InvalidQueryError, match="diameter or radius, not both"):
        region_diameter(0.3, radius=0.15)
