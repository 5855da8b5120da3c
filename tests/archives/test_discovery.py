# Licensed under a 3-clause BSD style license - see LICENSE
"""Discovery of the TAP image table, on the stand-in.

The code: `twomass_vo.archives.irsa.discovery`.

The IRSA stand-in's ``TAP_SCHEMA`` is set per test (``tap_schema``): a table
is found by its configured name, by its name, or by its columns (a renamed
table); names that are not ADQL identifiers never reach a query. The
hostile cases (injections, look-alikes, 100,000 tables) are in
``test_hostile_round3.py``.
"""

import logging

import pytest
from irsa_standin import TAP_SCHEMA_TABLES, IrsaStandIn

from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.archives.vo.adql import adql_string, is_column_name, is_table_name

IMAGE_COLUMNS = [
    "cntr", "fname", "scanno", "ordate", "hemisphere", "coaddno", "filter",
    "ns", "nl", "crval1", "crval2", "coadd_key",
    "ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4",
]  # fmt: skip


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    patch = LocalArchive.simulate(
        tmp_path_factory.mktemp("discovery") / "patch", "10.6846 41.2689", 0.02
    )
    with IrsaStandIn(patch) as server:
        yield server


def discover(standin, tables, **kwargs):
    standin.tap_schema = {**TAP_SCHEMA_TABLES, **tables}
    standin.tap_queries = []
    archive = IrsaArchive(
        sia_url="",
        tap_url=standin.tap_url,
        ibe_url=standin.ibe_url,
        data_url_root=standin.data_url_root,
        **kwargs,
    )
    return archive, archive.discover_table()


def test_a_renamed_table_is_found_by_its_columns(standin):
    archive, found = discover(standin, {"twomass.asky_atlas": [*IMAGE_COLUMNS, "poly"]})
    assert found.table == "twomass.asky_atlas"
    assert "by its columns" in found.reason
    assert found.columns["s_region"] == "poly" and found.spatial
    assert archive.routes()["positions"] == "tap-upload"
    assert archive.routes()["coadd_keys"] == "tap"
    assert archive.describe()["discovery"] == found.reason


def test_the_corners_are_a_footprint_too(standin):
    _, found = discover(standin, {"twomass.images": IMAGE_COLUMNS})
    assert found.table == "twomass.images"
    assert found.columns["corners"] == tuple(IMAGE_COLUMNS[-8:])
    assert found.columns["s_region"] is None  # no geometry for ADQL: not spatial
    assert not found.spatial


def test_a_table_without_a_footprint_or_coadd_key_is_not_taken(standin):
    no_footprint = [c for c in IMAGE_COLUMNS if not c[-1].isdigit() or c == "crval1"]
    no_key = [c for c in IMAGE_COLUMNS if c != "coadd_key"] + ["poly"]
    _, found = discover(
        standin, {"twomass.a_images": no_footprint, "twomass.b_images": no_key}
    )
    assert found.table is None
    assert "lists no 2MASS All-Sky image table" in found.reason


def test_a_table_of_another_schema_or_image_set_is_not_taken(standin):
    columns = [*IMAGE_COLUMNS, "poly"]
    tables = {
        "other.allsky_atlas": columns,
        "twomass.lga_images": columns,
        "twomass.lh_images": columns,
        "twomass.sixxfull_images": columns,
        "twomass.full_images": columns,
    }
    _, found = discover(standin, tables)
    assert found.table is None


def test_the_name_wins_over_the_columns(standin):
    tables = {
        "twomass.asky_atlas": [*IMAGE_COLUMNS, "poly"],
        "twomass.allsky_images": [*IMAGE_COLUMNS, "poly"],
    }
    _, found = discover(standin, tables)
    assert found.table == "twomass.allsky_images"
    assert "by its name" in found.reason


def test_the_configured_table_wins(standin):
    tables = {
        "twomass.asky_atlas": [*IMAGE_COLUMNS, "poly"],
        "twomass.allsky_images": [*IMAGE_COLUMNS, "poly"],
    }
    _, found = discover(standin, tables, table="twomass.asky_atlas")
    assert found.table == "twomass.asky_atlas"
    assert "configured" in found.reason
    # only the configured table is asked for
    assert all("LIKE" not in q for q in standin.tap_queries)


def test_two_look_alike_tables_are_ambiguous(standin):
    tables = {
        "twomass.asky_atlas": [*IMAGE_COLUMNS, "poly"],
        "twomass.atlas_v2": [*IMAGE_COLUMNS, "poly"],
    }
    _, found = discover(standin, tables)
    assert found.table is None
    assert "several tables" in found.reason
    assert "twomass.asky_atlas" in found.reason and "twomass.atlas_v2" in found.reason


def test_a_table_found_by_name_that_lacks_columns_says_what_it_lacks(standin):
    _, found = discover(standin, {"twomass.allsky_images": ["coadd_key", "poly"]})
    assert found.table is None
    assert "twomass.allsky_images lacks ordate, hemisphere, scanno" in found.reason


def test_names_that_are_not_identifiers_are_skipped_and_logged(standin, caplog):
    bad = "twomass.allsky_images; DROP TABLE x --"
    good_columns = [*IMAGE_COLUMNS, "poly"]
    tables = {bad: good_columns, "twomass.atlas": ["coadd_\u212aey", *good_columns]}
    with caplog.at_level(logging.WARNING, logger="twomass_vo"):
        _, found = discover(standin, tables)
    # the bad table is skipped; the good one, whose look-alike column is skipped
    assert found.table == "twomass.atlas"
    assert "coadd_\u212aey" not in found.columns.values()
    assert all("DROP" not in q for q in standin.tap_queries)
    messages = [r.getMessage() for r in caplog.records]
    assert any("1 table name(s)" in m and "DROP TABLE" in m for m in messages)
    assert any("1 column name(s)" in m and "coadd_\\u212aey" in m for m in messages)


@pytest.mark.parametrize(
    ("name", "table", "column"),
    [
        ("twomass.allsky_images", True, False),
        ("coadd_key", True, True),
        ("a.b.c", True, False),
        ("a.b.c.d", False, False),
        ("coadd_\u212aey", False, False),
        ("x y", False, False),
        ("x;", False, False),
        ("", False, False),
        ("a" * 257, False, False),
        (None, False, False),
    ],
)
def test_name_checks(name, table, column):
    assert is_table_name(name) is table
    assert is_column_name(name) is column


def test_adql_string_doubles_quotes():
    assert adql_string("O'Brien") == "'O''Brien'"
    assert adql_string("twomass.allsky_images") == "'twomass.allsky_images'"
