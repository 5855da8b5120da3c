# Licensed under a 3-clause BSD style license - see LICENSE
"""What a new user meets first: the README's test command and the first run.

- Without the DaCHS mirror, its tests skip cleanly (with ``CI=true`` they
  fail): run in a child pytest with the mirror variables unset.
- The tests use a private, temporary simulated survey, never the user's cache.
- Two processes opening a simulated survey that is not built yet build it
  once, under a lock: one builds, the other waits and uses it.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
            str(ROOT / "tests" / "archives" / "test_dachs_mirror.py"),
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


# A child process that opens a SimulatedArchive whose index is not built yet.
# ``SimulatedArchive.build`` (the hook that writes the index) is replaced by a
# small build of two image sets, which logs itself and takes a second, so that
# two processes started together are both inside the first-run path at once.
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from twomass_vo.archives import LocalArchive, SimulatedArchive

    path, go, log = (Path(a) for a in sys.argv[1:4])

    def small_build(path):
        with open(log, "a") as f:
            f.write("build\\n")
        time.sleep(1.0)
        sets = dict(
            coadd_key=[1, 2],
            ordate=["971031", "971031"],
            hemisphere=["n", "n"],
            scanno=[96, 96],
            image=[1, 2],
            crval1=[10.0, 10.0],
            crval2=[20.0, 20.1],
            crpix1=[256.5, 256.5],
            crpix2=[512.5, 512.5],
            naxis1=[512, 512],
            naxis2=[1024, 1024],
            cdelt1=[-1 / 3600, -1 / 3600],
            cdelt2=[1 / 3600, 1 / 3600],
            crota2=[0.0, 0.0],
        )
        LocalArchive.create(path, sets, name="sim")

    SimulatedArchive.build = staticmethod(small_build)
    while not go.exists():  # start together
        time.sleep(0.01)
    print(len(SimulatedArchive(path)))
    """
)


def test_two_processes_build_the_simulated_index_once(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path, go, log = tmp_path / "store" / "sim", tmp_path / "go", tmp_path / "log"
    children = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(go), str(log)],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    results = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert out == "2\n"
    assert log.read_text() == "build\n"  # built once
    errs = [err for _, err in results]
    building = [e for e in errs if e.startswith("twomass_vo: building")]
    assert len(building) == 1
    (line,) = building[0].splitlines()
    assert line.startswith("twomass_vo: building the simulated survey index, ~10 s")
    assert str(path) in line
    # the other process said nothing, or that it waited (if it came second)
    (other,) = [e for e in errs if e is not building[0]]
    assert other == "" or other.startswith("twomass_vo: waiting for another process")


def small_sim(calls):
    """A SimulatedArchive whose build makes a one-set archive (and records it)."""
    from twomass_vo.archives import LocalArchive, SimulatedArchive

    class Small(SimulatedArchive):
        @staticmethod
        def build(path):
            calls.append(path)
            LocalArchive.create(
                path,
                dict(
                    coadd_key=[1],
                    ordate=["971031"],
                    hemisphere=["n"],
                    scanno=[96],
                    image=[1],
                    crval1=[10.0],
                    crval2=[20.0],
                    crpix1=[256.5],
                    crpix2=[512.5],
                    naxis1=[512],
                    naxis2=[1024],
                    cdelt1=[-1 / 3600],
                    cdelt2=[1 / 3600],
                    crota2=[0.0],
                ),
                name="sim",
            )

    return Small


@pytest.mark.parametrize("existing", [False, True])
def test_an_existing_empty_folder_is_built_into(tmp_path, existing):
    """The lock file lives next to the folder: an empty folder still builds."""
    path = tmp_path / "sim"
    if existing:
        path.mkdir()
    calls = []
    Small = small_sim(calls)
    assert len(Small(path)) == 1 and len(Small(path)) == 1
    assert calls == [path]
    assert (tmp_path / ".sim.lock").exists()


def test_a_lock_planted_as_a_symbolic_link_is_refused(tmp_path):
    """The lock is never opened through a link (it would append to its target)."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    (tmp_path / ".sim.lock").symlink_to(outside)
    calls = []
    with pytest.raises(OSError, match=r"\.sim\.lock is a symbolic link: refused"):
        small_sim(calls)(tmp_path / "sim")
    assert calls == []
    assert outside.read_text() == "keep me\n"
