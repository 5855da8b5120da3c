# Licensed under a 3-clause BSD style license - see LICENSE
"""The IBE client (`twomass_vo.archives.irsa.ibe`): strict answers, validated requests.

An IBE answer that is not an IPAC table, lacks a needed column or carries a
bad value (non-numeric scan, unknown band, broken corners, a file name that
is not its row's) raises `ArchiveError` naming the URL, the row and the
value -- never a raw ValueError, never a silently wrong row.
"""

import io
import itertools

import numpy as np
import pytest
from astropy.table import Table
from irsa_standin import IrsaStandIn

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.archives.irsa.ibe import (
    ibe_file_rows,
    ibe_search,
    ibe_upload,
    parse_ipac,
    upload_index,
    where_coadd_keys,
    where_scans,
)
from twomass_vo.exceptions import ArchiveError, InvalidQueryError

URL = "http://127.0.0.1:1/ibe/search/twomass/allsky/allsky"
ROOT = "http://127.0.0.1:1/ibe/data/twomass/allsky/allsky/"


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    return LocalArchive.simulate(
        tmp_path_factory.mktemp("ibe") / "patch", "10.6846 41.2689", 0.03
    )


@pytest.fixture(scope="module")
def answer(patch):
    """An IBE answer (IPAC text) for every file of the patch."""
    table = IrsaStandIn(patch).table
    out = io.StringIO()
    table.write(out, format="ascii.ipac")
    return out.getvalue()


def read(text):
    return parse_ipac(text, URL)


def test_good_answer_maps_onto_the_local_sets(patch, answer):
    table = read(answer)
    rows, corners = ibe_file_rows(table, URL, ROOT)
    sets = patch.find_coadd_keys(rows["coadd_key"])
    assert len(sets) == len(table)
    assert np.array_equal(corners, sets.corners)  # same WCS -> same footprints
    assert rows["image"].tolist() == sets.image.tolist()
    assert rows["band_code"].tolist() == ["jhk".index(f) for f in table["filter"]]
    first = rows["access_url"][0]
    assert first == (
        f"{ROOT}{rows['ordate'][0]}{rows['hemisphere'][0]}/s"
        f"{rows['scanno'][0]:03d}/image/{table['fname'][0]}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "<html><body>Internal Server Error</body></html>",
        "",
        '{"error": "nope"}',
        "|a|b|\n|int|\n 1 2 3 4\n",
    ],
)
def test_not_an_ipac_table(text):
    with pytest.raises(ArchiveError, match=f"IBE answer from {URL}"):
        read(text)


def test_missing_column(answer):
    table = read(answer)
    del table["coaddno"]
    with pytest.raises(ArchiveError, match=r"lacks the column 'coaddno'") as info:
        ibe_file_rows(table, URL, ROOT)
    assert URL in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("scanno", "x96", "is not a number"),
        ("scanno", "0", "is not a number in"),
        ("coaddno", "12.5", "is not a number"),
        ("filter", "k_s", "is not a 2MASS band"),
        ("hemisphere", "e", "is not n or s"),
        ("ordate", "97103", "is not a date yymmdd"),
        ("ordate", "971331", "is not a date yymmdd"),  # month 13
        ("ordate", "971000", "is not a date yymmdd"),  # day 0
        ("scanno", "5_4", "is not a number"),  # int('5_4') would read 54
        ("fname", "ji9990001.fits.gz", "is not the Atlas file"),
        ("fname", "../../etc/passwd", "is not the Atlas file"),
        ("crval2", "95", "is not a number in"),
        ("ns", "-512", "is not a number in"),
        ("cdelt1", "0", "is zero"),
        ("ra1", "nan", "is not a number"),
    ],
)
def test_bad_values_name_url_row_and_value(answer, column, value, message):
    table = read(answer)
    table[column] = table[column].astype(object)
    table[column][1] = value
    with pytest.raises(ArchiveError, match=message) as info:
        ibe_file_rows(table, URL, ROOT)
    text = str(info.value)
    assert URL in text and "row 1" in text and repr(value)[1:-1] in text


def test_broken_corners(answer):
    table = read(answer)
    table["dec3"][2] += 0.5  # a corner half a degree off the row's WCS
    with pytest.raises(ArchiveError, match=r"row 2, column 'ra1..dec4'"):
        ibe_file_rows(table, URL, ROOT)


def test_upload_index_from_in_idx_or_in_row_id():
    ra, dec = np.array([10.0, 10.5, 11.0]), np.array([41.0, 41.1, 41.2])
    payload = ibe_upload(URL, ra, dec, start=100)
    assert payload["rows"] == (100, 103)
    with_idx = Table({"in_idx": [102, 100], "in_ra": [11.0, 10.0]})
    assert upload_index(with_idx, payload).tolist() == [102, 100]
    for base in (0, 1):
        table = Table(
            {
                "in_row_id": [2 + base, 0 + base, 2 + base],
                "in_ra": [11.0, 10.0, 11.0],
                "in_dec": [41.2, 41.0, 41.2],
            }
        )
        assert upload_index(table, payload).tolist() == [102, 100, 102]
    wrong = Table({"in_row_id": [1], "in_ra": [12.0], "in_dec": [41.0]})
    with pytest.raises(ArchiveError, match="in_row_id does not match"):
        upload_index(wrong, payload)
    out_of_range = Table({"in_idx": [7]})
    with pytest.raises(ArchiveError, match="row 0, column 'in_idx'"):
        upload_index(out_of_range, payload)


def test_where_is_built_from_validated_values_only():
    assert where_coadd_keys([3, "17"]) == "coadd_key IN (3, 17)"
    assert where_scans(["971031", "971031"], ["N", "n"], [96, 96], [0, 12]) == (
        "(ordate = '971031' AND hemisphere = 'n' AND scanno = 96)"
    )
    for bad in (["1); DROP"], [-1], [1.5], ["0x10"]):
        with pytest.raises(InvalidQueryError):
            where_coadd_keys(bad)
    with pytest.raises(InvalidQueryError):
        where_scans(["97103'"], ["n"], [1], [0])
    with pytest.raises(InvalidQueryError):
        where_scans(["971031"], ["x"], [1], [0])
    with pytest.raises(InvalidQueryError):
        ibe_search(URL, pos=(float("nan"), 1.0))
    with pytest.raises(ArchiveError, match="needs POS or where"):
        ibe_search(URL)


def test_bad_service_values_fail_the_query(patch):
    server = IrsaStandIn(patch)
    server.table["filter"] = server.table["filter"].astype("U3")
    server.table["filter"][0] = "x"
    with server:
        archive = IrsaArchive(
            sia_url="",
            tap_url=server.tap_url,
            ibe_url=server.ibe_url,
            data_url_root=server.data_url_root,
            discover=False,
        )
        key = int(server.table["coadd_key"][0])
        with pytest.raises(ArchiveError, match=r"row 0, column 'filter': value 'x'"):
            TwoMassBatch(archive=archive).query_coadd_keys([key])
        # IBE's own errors come back with its message and the URL
        archive.ibe_url = server.ibe_url + "x"
        with pytest.raises(ArchiveError, match=r"answered HTTP 404"):
            TwoMassBatch(archive=archive).query_coadd_keys([key])
        archive.close()


def test_fixed_width_reader_matches_astropy(answer):
    fast = read(answer)
    slow = Table.read(answer.splitlines(), format="ascii.ipac")
    assert fast.colnames == slow.colnames
    for name in slow.colnames:
        assert np.asarray(fast[name]).tolist() == np.asarray(slow[name]).tolist()
    # a bad number in a numeric column stays text: the check names it
    lines = answer.splitlines()
    header = [k for k, line in enumerate(lines) if line.startswith("|")]
    first = header[-1] + 1
    bars = [k for k, c in enumerate(lines[0]) if c == "|"]
    names = [lines[0][a + 1 : b].strip() for a, b in itertools.pairwise(bars)]
    k = names.index("scanno")
    a, b = bars[k] + 1, bars[k + 1]
    row = lines[first + 1]
    lines[first + 1] = row[:a] + "x96".rjust(b - a) + row[b:]
    table = read("\n".join(lines))
    assert table["scanno"].dtype.kind == "U"
    with pytest.raises(ArchiveError, match=r"row 1, column 'scanno': value 'x96'"):
        ibe_file_rows(table, URL, ROOT)


def test_the_metadata_check_reads_names_beside_non_ascii_descriptions():
    # IBE's FORMAT=METADATA describes its columns: a description may have a
    # degree sign; the check needs the names only
    from hostile_server import HostileServer

    from twomass_vo.archives.irsa.ibe import IBE_COLUMNS

    names = list(IBE_COLUMNS)
    width = max(map(len, names)) + 2
    lines = [
        f"|{'name':>{width}}|{'description':>14}|",
        f"|{'char':>{width}}|{'char':>14}|",
    ]
    angle = "angle (\u00b0)"
    lines += [f" {n:>{width}} {angle:>14} " for n in names]
    answer = ("\n".join(lines) + "\n").encode("utf-8")
    with HostileServer() as server:
        server.route("/ibe", ("body", answer, {"Content-Type": "text/plain"}))
        archive = IrsaArchive(
            sia_url="",
            tap_url=server.url("/tap"),
            ibe_url=server.url("/ibe"),
            data_url_root=server.url("/data/"),
        )
        status = archive.check(timeout=10)["ibe"]
    assert status["ok"], status["detail"]
    assert f"{len(names)} columns" in status["detail"]
