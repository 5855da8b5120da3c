# Licensed under a 3-clause BSD style license - see LICENSE
"""Shared fixtures: test data paths and the simulated archives."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

DATA = Path(__file__).parent / "data"

# The test servers in tests/servers/ (fault_server, hostile_server,
# irsa_standin, ...) are plain modules that benchmarks/ also run as scripts,
# and the helpers here (picture_checks) plain modules too: importable by name
# from every test module, whatever its folder.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "servers"))

# CI runs the property tests with a fixed seed (a run that must land should not
# depend on luck); locally hypothesis explores new examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_held_hosts():
    """No test inherits a ``Retry-After`` hold from another.

    A hold is per host (``127.0.0.1:PORT``) and per process; the OS reuses
    the ports of the test servers, so a hold left by one test could fall on
    the next server that gets the same port.
    """
    from twomass_vo._http.retry_policy import release_hosts

    yield
    release_hosts()


#: The settings `mirror/dachs/mirror.sh up` prints for the local DaCHS mirror.
MIRROR_SETTINGS = ("SIA_URL", "TAP_URL", "TAP_TABLE", "ARCHIVE_PATH", "DATALINK_URL")


@pytest.fixture(scope="session")
def mirror_env():
    """The DaCHS mirror's settings; skips (fails with CI=true) when they are unset.

    Every fixture and test that reads the mirror's environment depends on
    this one, so that a machine without the mirror skips them cleanly.
    """
    missing = [name for name in MIRROR_SETTINGS if not os.environ.get(name)]
    if missing:
        message = (
            f"the DaCHS mirror is not configured ({', '.join(missing)} unset): "
            'run `eval "$(mirror/dachs/mirror.sh up | grep =)"` first'
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {name: os.environ[name] for name in MIRROR_SETTINGS}


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


@pytest.fixture(scope="session")
def m31_patch(tmp_path_factory):
    """A simulated LocalArchive patch around M31 (0.08 deg), files written."""
    from astropy.coordinates import SkyCoord

    from twomass_vo.archives import LocalArchive

    centre = SkyCoord(10.6846, 41.2689, unit="deg")
    return LocalArchive.simulate(tmp_path_factory.mktemp("m31") / "patch", centre, 0.08)


@pytest.fixture(scope="session")
def irsa_server(m31_patch):
    """The IRSA stand-in (``irsa_standin.IrsaStandIn``) serving `m31_patch`."""
    from irsa_standin import IrsaStandIn

    server = IrsaStandIn(m31_patch).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hostile_cases(tmp_path_factory):
    """Runs hostile cases, each in its own capped child process (`hostile_child`)."""
    from hostile_child import CaseRunner

    with CaseRunner(tmp_path_factory.mktemp("hostile_cases")) as runner:
        yield runner
