# Licensed under a 3-clause BSD style license - see LICENSE
"""What a new user meets first: the README's test command and the first run.

- Without the DaCHS mirror, its tests skip cleanly (with ``CI=true`` they
  fail): run in a child pytest with the mirror variables unset.
- The tests use a private, temporary simulated survey, never the user's cache.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIRROR_VARIABLES = ("SIA_URL", "TAP_URL", "TAP_TABLE", "ARCHIVE_PATH", "DATALINK_URL")


def child_env(**more):
    """The environment of a child process running this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in MIRROR_VARIABLES}
    env.pop("CI", None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env.update(more)
    return env


def run_mirror_tests(**env):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=--import-mode=importlib",
            str(ROOT / "tests" / "test_dachs_mirror.py"),
        ],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_mirror_tests_skip_without_the_mirror():
    done = run_mirror_tests()
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" in summary and "error" not in summary, done.stdout
    assert "KeyError" not in done.stdout


def test_mirror_tests_fail_without_the_mirror_in_ci():
    done = run_mirror_tests(CI="true")
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "skipped" not in summary and "passed" not in summary, done.stdout
    assert "the DaCHS mirror is not configured" in done.stdout
    assert "KeyError" not in done.stdout


def test_the_tests_use_a_private_simulated_store(private_sim_store, tmp_path_factory):
    from astropy.config import get_cache_dir_path

    from twomass_vo import conf
    from twomass_vo.archives.simulated import default_sim_path

    user_cache = get_cache_dir_path() / "twomass_vo"
    assert default_sim_path() == private_sim_store
    assert os.environ["TWOMASS_VO_SIM_PATH"] == str(private_sim_store)
    base = tmp_path_factory.getbasetemp()
    for folder in (default_sim_path(), Path(conf.cache_dir)):
        assert folder.is_relative_to(base)
        assert not folder.is_relative_to(user_cache)
