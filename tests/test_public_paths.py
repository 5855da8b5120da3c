# Licensed under a 3-clause BSD style license - see LICENSE
"""The documented import paths, settings and commands outlive the restructure.

Issue 19 moved the modules into subpackages; these are the names users and
scripts were told about, each checked where it is documented to live.
"""

import importlib
import io
import subprocess
import sys

import pytest
from astropy.config import ConfigItem, generate_config

import twomass_vo

PUBLIC = [
    ("twomass_vo", "TwoMassBatch"),
    ("twomass_vo", "ImageTable"),
    ("twomass_vo", "IrsaArchive"),
    ("twomass_vo", "LocalArchive"),
    ("twomass_vo", "VOArchive"),
    ("twomass_vo", "conf"),
    ("twomass_vo", "__version__"),
    ("twomass_vo.archives", "Archive"),
    ("twomass_vo.archives", "IrsaArchive"),
    ("twomass_vo.archives", "LocalArchive"),
    ("twomass_vo.archives", "SimulatedArchive"),
    ("twomass_vo.archives", "VOArchive"),
    ("twomass_vo.archives.vo", "VOArchive"),
    ("twomass_vo.archives.irsa", "IrsaArchive"),
    ("twomass_vo.archives.irsa", "conf"),
    ("twomass_vo.archives.local", "LocalArchive"),
    ("twomass_vo.archives.simulated", "SimulatedArchive"),
    ("twomass_vo.exceptions", "InputError"),
    ("twomass_vo.exceptions", "ArchiveError"),
    ("twomass_vo.exceptions", "NoResultsWarning"),
    ("twomass_vo.coords", "parse_coordinates"),
    ("twomass_vo.fetch", "RetryPolicy"),
    ("twomass_vo.cli", "main"),
    ("twomass_vo.retrieval", "download"),
]


@pytest.mark.parametrize(("module", "name"), PUBLIC)
def test_documented_names_import_from_their_documented_module(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_the_kept_paths_are_the_same_objects_as_their_homes():
    from twomass_vo._http.retry_policy import RetryPolicy
    from twomass_vo.archives.irsa.archive import IrsaArchive
    from twomass_vo.archives.vo.archive import VOArchive
    from twomass_vo.inputs.coordinates import parse_coordinates

    assert twomass_vo.coords.parse_coordinates is parse_coordinates
    assert twomass_vo.fetch.RetryPolicy is RetryPolicy
    assert twomass_vo.archives.vo.VOArchive is VOArchive is twomass_vo.VOArchive
    assert twomass_vo.archives.irsa.IrsaArchive is IrsaArchive


def _sections():
    text = io.StringIO()
    generate_config("twomass_vo", text)
    return [
        line.strip("[]")
        for line in text.getvalue().splitlines()
        if line.startswith("[")
    ]


def _items(namespace):
    return [v for v in vars(namespace).values() if isinstance(v, ConfigItem)]


def test_irsa_settings_keep_their_configuration_section():
    """A user's ``[archives.irsa]`` section still applies after the move."""
    from twomass_vo.archives.irsa import Conf, conf

    items = _items(Conf)
    assert items and {item.module for item in items} == {"twomass_vo.archives.irsa"}
    assert "archives.irsa" in _sections()
    with conf.set_temp("ibe_max_size", 3.0):
        assert twomass_vo.archives.irsa.conf.ibe_max_size == 3.0


def test_every_root_setting_is_still_a_root_setting():
    items = [
        v for v in vars(type(twomass_vo.conf)).values() if isinstance(v, ConfigItem)
    ]
    assert len(items) > 10
    assert {item.module for item in items} == {"twomass_vo"}


@pytest.mark.parametrize("module", ["twomass_vo", "twomass_vo.cli"])
def test_python_dash_m_runs_the_command(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "region" in done.stdout and "positions" in done.stdout
