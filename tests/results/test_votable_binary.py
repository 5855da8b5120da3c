# Licensed under a 3-clause BSD style license - see LICENSE
"""VOTable rows as BINARY2, written with numpy: the same table, the same metadata.

Large results are written as BINARY2 (``auto``: above 1000 rows), small ones
as TABLEDATA; either on request. The BINARY2 stream written column-wise by
`twomass_vo.results.votable_binary` must read back (astropy) as the TABLEDATA file
does, cell for cell, masks included, with the same INFO, PARAM and FIELD
metadata, and volint clean. The speed is measured by
``benchmarks/bench_votable.py``, not here.
"""

import io
import warnings

import numpy as np
import pytest
from astropy.io.votable import parse, validate
from astropy.table import MaskedColumn

import twomass_vo.results.votable_binary as votable_binary
from twomass_vo.cli import main
from twomass_vo.results.result_reader import read_result
from twomass_vo.results.result_writer import BINARY2_ROWS, write_table

M31 = "00h42m44.3s +41d16m08s"


def volint(path):
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return validate(str(path), output=report), report.getvalue()


def serialization(path):
    return "BINARY2" if b"<BINARY2>" in path.read_bytes() else "TABLEDATA"


@pytest.fixture(scope="module")
def region(batch):
    return batch.query_region(M31, 1.0)  # 129 rows: J, H, Ks


def _values(column):
    """Masked floats as NaN (astropy reads a BINARY2 NaN as masked), else masks."""
    if column.dtype.kind == "f":
        return np.ma.filled(column, np.nan), None
    return np.ma.getdata(column), np.ma.getmaskarray(column)


def assert_same_rows(a, b):
    assert a.colnames == b.colnames and len(a) == len(b)
    for name in a.colnames:
        (x, mask_x), (y, mask_y) = _values(a[name]), _values(b[name])
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
            continue
        assert np.array_equal(mask_x, mask_y), name
        assert np.array_equal(x[~mask_x].astype(str), y[~mask_y].astype(str)), name


def metadata(path):
    votable = parse(str(path))
    table = votable.get_first_table()
    infos = [(i.name, i.value, i.content) for i in votable.resources[0].infos]
    params = [(p.name, p.value, p.ucd, p.unit, p.datatype) for p in table.params]
    fields = [
        (f.name, f.ucd, f.unit, f.utype, str(f.description), f.arraysize)
        for f in table.fields
    ]
    return infos, params, fields, table.description


def test_binary2_and_tabledata_read_the_same(region, tmp_path):
    table = region.copy()
    table["best"][::4] = True
    ids = np.resize(np.array(["Ségur", "", "m31 core"], dtype="U8"), len(table))
    table.replace_column("id", ids)
    table.replace_column(
        "scntr", MaskedColumn(table["scntr"], mask=np.arange(len(table)) == 0)
    )
    table["dist_edge"] = MaskedColumn(  # a masked column: null flags
        np.arange(len(table), dtype=float), mask=np.arange(len(table)) % 5 == 0
    )
    paths = {fmt: tmp_path / f"{fmt}.vot" for fmt in ("tabledata", "binary2")}
    for fmt, path in paths.items():
        write_table(table, path, votable_format=fmt)
        assert serialization(path) == fmt.upper()
        ok, report = volint(path)
        assert ok, report
    text, binary = (read_result(p) for p in paths.values())
    assert_same_rows(text, binary)
    assert_same_rows(binary, table)  # and what was written
    assert binary["dist_edge"].mask.sum() == 26 and binary["best"].sum() == 33
    assert binary["scntr"].mask[0] and not binary["scntr"].mask[1:].any()
    assert list(binary["id"][:3]) == ["Ségur", "", "m31 core"]
    assert binary.meta == text.meta == read_result(paths["tabledata"]).meta
    # every INFO, PARAM and FIELD the same (booleans are 'boolean' in BINARY2)
    assert metadata(paths["tabledata"]) == metadata(paths["binary2"])
    best = {f.name: f for f in parse(str(paths["binary2"])).get_first_table().fields}
    assert best["best"].datatype == "boolean"
    assert paths["binary2"].stat().st_size < paths["tabledata"].stat().st_size


def test_auto_is_binary2_above_the_row_count(region, tmp_path):
    small, large = tmp_path / "small.vot", tmp_path / "large.vot"
    write_table(region, small)
    rows = np.resize(np.arange(len(region)), BINARY2_ROWS + 1)
    write_table(region[rows], large)
    assert serialization(small) == "TABLEDATA"
    assert serialization(large) == "BINARY2"
    assert_same_rows(read_result(large), region[rows])
    with pytest.raises(ValueError, match="votable_format='binary'"):
        write_table(region, tmp_path / "x.vot", votable_format="binary")


def test_the_stream_is_written_in_blocks(region, tmp_path, monkeypatch):
    # a block of rows at a time: every block but the last a whole number of
    # base64 quanta (BLOCK_ROWS is a multiple of 3)
    monkeypatch.setattr(votable_binary, "BLOCK_ROWS", 6)
    part = region[:20]
    write_table(part, tmp_path / "t.vot", votable_format="binary2")
    assert_same_rows(read_result(tmp_path / "t.vot"), part)
    empty = region[:0]
    write_table(empty, tmp_path / "e.vot", votable_format="binary2")
    assert len(read_result(tmp_path / "e.vot")) == 0
    assert volint(tmp_path / "e.vot")[0]


def test_what_binary2_cannot_hold_is_written_as_text(region, tmp_path):
    table = region[:5].copy()
    face = "\N{GRINNING FACE}"  # outside the BMP: no unicodeChar (UCS-2) holds it
    table.replace_column("id", np.array([face, "a", "b", "c", "d"]))
    write_table(table, tmp_path / "t.vot", votable_format="binary2")
    back = read_result(tmp_path / "t.vot")
    assert serialization(tmp_path / "t.vot") == "TABLEDATA"
    assert list(back["id"]) == list(table["id"])


def test_cli_votable_format(sim, tmp_path, capsys):
    path = tmp_path / "r.vot"
    argv = ["--archive", "sim", "region", M31, "1.0", "-o", str(path)]
    assert main([*argv, "--votable-format", "binary2"]) == 0
    assert serialization(path) == "BINARY2"
    # the same result as TABLEDATA is another file: --overwrite
    assert main([*argv, "--votable-format", "tabledata", "--overwrite"]) == 0
    assert serialization(path) == "TABLEDATA"
    assert main([*argv, "--votable-format", "tabledata"]) == 0  # the same again
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*argv, "--votable-format", "fits"])
    assert "invalid choice: 'fits'" in capsys.readouterr().err
