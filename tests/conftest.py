# Licensed under a 3-clause BSD style license - see LICENSE
"""Shared fixtures: test data paths and the simulated archives."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

DATA = Path(__file__).parent / "data"

# CI runs the property tests with a fixed seed (a run that must land should not
# depend on luck); locally hypothesis explores new examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def data_path():
    """Folder of the test data (see tests/data/README.md)."""
    return DATA


@pytest.fixture(scope="session")
def sim(private_sim_store):
    """The all-sky simulated archive, in this session's private store.

    ``private_sim_store`` (the root ``conftest.py``) points the simulated
    survey into the session's temporary folder: the tests never write into
    the user's own cache.
    """
    from twomass_vo.archives import SimulatedArchive

    archive = SimulatedArchive.default()
    assert archive.path == private_sim_store, "the tests must use a private store"
    return archive


@pytest.fixture(scope="session")
def batch(sim):
    """A TwoMassBatch on the simulated archive."""
    from twomass_vo import TwoMassBatch

    return TwoMassBatch(archive=sim)
