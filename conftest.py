# Licensed under a 3-clause BSD style license - see LICENSE
"""Pytest set-up shared by ``tests/`` and ``docs/``: a private simulated survey.

The test suite never writes into the user's own simulated-survey cache (nor
the user's file cache): for the whole session, ``TWOMASS_VO_SIM_PATH`` (seen
by the in-process API and by command-line subprocesses alike) and
``twomass_vo.conf`` point into the session's temporary folder, which is
removed at the end. The index is built there on first use (about ten seconds).
"""

import os
import shutil

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_sim_store(tmp_path_factory):
    """Folder of this session's simulated survey (built on first use)."""
    from twomass_vo import conf

    base = tmp_path_factory.mktemp("twomass_vo")
    path = base / "sim"
    saved = os.environ.get("TWOMASS_VO_SIM_PATH")
    os.environ["TWOMASS_VO_SIM_PATH"] = str(path)
    try:
        with (
            conf.set_temp("sim_path", str(path)),
            conf.set_temp("cache_dir", str(base / "files")),
        ):
            yield path
    finally:
        if saved is None:
            os.environ.pop("TWOMASS_VO_SIM_PATH", None)
        else:
            os.environ["TWOMASS_VO_SIM_PATH"] = saved
        shutil.rmtree(base, ignore_errors=True)
