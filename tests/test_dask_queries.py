# Licensed under a 3-clause BSD style license - see LICENSE
"""The positions and sources modes on dask DataFrames, and Parquet results.

The Dask result must be the in-process result, row for row and column for
column (``scntr`` the global input row), on dask's local threads and on a
`~distributed.LocalCluster` of worker processes; Parquet written and read
back must equal it; a partition must turn back into an ImageTable whose rows
open and download.
"""

import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from twomass_vo import TwoMassBatch, conf  # noqa: E402
from twomass_vo.archives.base import Archive  # noqa: E402
from twomass_vo.cli import main  # noqa: E402
from twomass_vo.dask_queries import ArchiveHandle, download_partitions  # noqa: E402
from twomass_vo.exceptions import InputError, InvalidQueryError  # noqa: E402
from twomass_vo.results.parquet import (  # noqa: E402
    image_frame,
    partition_table,
    read_parquet,
    read_parquet_frame,
    write_parquet,
)


def random_positions(n, seed):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return pd.DataFrame({"ra": ra, "dec": dec, "id": [f"t{i}" for i in range(n)]})


def same_frames(got, expected):
    got = got.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 0
    for name in expected.columns:
        assert got[name].equals(expected[name]), name


@pytest.mark.slow
# distributed's own notices on a busy machine, not failures of the test
@pytest.mark.filterwarnings("ignore:Creating scratch directories:UserWarning")
@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
def test_local_cluster_gives_the_in_process_rows(batch, tmp_path):
    """2x10^5 positions on a LocalCluster of 2 worker processes."""
    targets = random_positions(200_000, seed=17)
    expected = image_frame(batch.query_positions(Table.from_pandas(targets), best=True))
    frame = dd.from_pandas(targets, npartitions=8)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            memory_limit="2GiB",
            local_directory=tmp_path / "dask-scratch",
        ) as cluster,
        distributed.Client(cluster),
    ):
        result = batch.query_positions(frame, best=True)
        assert result.npartitions == 8
        same_frames(result.compute(), expected)
        write_parquet(result, tmp_path / "result.parquet")
    back = read_parquet(tmp_path / "result.parquet")
    same_frames(image_frame(back), expected)
    assert back.meta["mode"] == "positions"
    assert back.meta["parameters"]["n_inputs"] == "200000"
    assert back.meta["parameters"]["best"] == "true"


def test_threads_give_the_in_process_rows_with_cutouts(batch, tmp_path):
    targets = random_positions(3_000, seed=3)
    targets["size"] = np.where(np.arange(3_000) % 3, 0.0, 45.0)
    expected = batch.query_positions(Table.from_pandas(targets), size=30)
    frame = dd.from_pandas(targets, npartitions=5)
    with dask_threads():
        result = batch.query_positions(frame, size=30)
        same_frames(result.compute(), image_frame(expected))
        write_parquet(result, tmp_path / "r.parquet")
        result.to_parquet(tmp_path / "dask-own.parquet")  # dask's own writer
    own = read_parquet(tmp_path / "dask-own.parquet")
    assert own.meta["parameters"]["size"] == "30" and len(own) == len(expected)
    parts = read_parquet_frame(tmp_path / "r.parquet")
    assert parts.npartitions == 5
    table = partition_table(parts.get_partition(2).compute())
    assert table.meta["parameters"]["size"] == "30"
    assert table["in_ra"].unit == "deg" and table["scntr"].min() >= 1_200
    hdul = table[0].open()  # the simulated file, made on demand
    assert hdul[0].header["SYNTHETC"]
    written = table[:2].download(tmp_path / "files", progress=False)
    assert set(written["status"]) == {"ok"}


def dask_threads(workers=4):
    import dask

    return dask.config.set(scheduler="threads", num_workers=workers)


def test_sources_on_dask_with_not_found_rows(batch, sim):
    sets = sim.find_scans(
        np.array(["971031"]), np.array(["n"]), np.array([96]), np.array([0])
    )
    n = len(sets)
    sources = pd.DataFrame(
        {
            "designation": [f"src{i}" for i in range(n)],
            "ra": sets.ra,
            "dec": sets.dec,
            "xdate": ["1997-10-31"] * n,
            "hemis": ["n"] * n,
            "scan": [96] * (n - 2) + [999, 998],
        }
    )
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        expected = batch.query_sources(Table.from_pandas(sources), band="J")
    with dask_threads():
        result = batch.query_sources(dd.from_pandas(sources, npartitions=3), band="J")
        got, lost = result.compute(), result.not_found.compute()
    same_frames(got, image_frame(expected))
    assert list(lost["row"]) == [n - 2, n - 1]
    assert list(lost["reason"]) == [
        "scan 971031 n 999 is not in the archive",
        "scan 971031 n 998 is not in the archive",
    ]
    assert list(lost["designation"]) == [f"src{n - 2}", f"src{n - 1}"]


def test_bad_input_is_found_before_any_work_or_named_by_global_row(batch):
    with pytest.raises(InputError, match="a position table needs 'ra' and 'dec'"):
        batch.query_positions(dd.from_pandas(pd.DataFrame({"x": [1.0]}), 1))
    with pytest.raises(InputError, match=r"missing: xdate \(or date\), hemis, scan"):
        batch.query_sources(
            dd.from_pandas(pd.DataFrame({"ra": [1.0], "dec": [2.0]}), 1)
        )
    with pytest.raises(InvalidQueryError, match="not available for a dask"):
        batch.query_sources(
            dd.from_pandas(pd.DataFrame({"ra": [1.0], "dec": [2.0]}), 1),
            link="best",
            get_query_payload=True,
        )
    targets = random_positions(100, seed=5)
    targets.loc[77, "dec"] = 95.0
    with dask_threads():
        result = batch.query_positions(dd.from_pandas(targets, npartitions=4))
        with pytest.raises(InputError, match=r"row 77, column 'dec': 95.0 is not"):
            result.compute()


#: Calls in flight of each SlowService, by name (shared by its pickled copies).
CALLS = {}
CALLS_LOCK = threading.Lock()


class SlowService(Archive):
    """A stand-in VO archive: the simulated survey, answered slowly, counted."""

    def __init__(self, sim, name):
        self.sim = sim
        self.name = name
        CALLS[name] = {"active": 0, "most": 0}

    def find_points(self, ra, dec):
        calls = CALLS[self.name]
        with CALLS_LOCK:
            calls["active"] += 1
            calls["most"] = max(calls["most"], calls["active"])
        time.sleep(0.2)
        with CALLS_LOCK:
            calls["active"] -= 1
        return self.sim.find_points(ra, dec)

    def find_circle(self, ra, dec, radius):
        return self.sim.find_circle(ra, dec, radius)

    def find_coadd_keys(self, keys):
        return self.sim.find_coadd_keys(keys)

    def find_scans(self, ordate, hemisphere, scanno, image):
        return self.sim.find_scans(ordate, hemisphere, scanno, image)

    def set_footprints(self, sets):
        return self.sim.set_footprints(sets)

    def files(self, sets, band_code, image_type):
        return self.sim.files(sets, band_code, image_type)


# distributed's own notices on a busy machine, not failures of the test
@pytest.mark.filterwarnings("ignore:Creating scratch directories:UserWarning")
@pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")
# in-process workers look for a network address first (none here: a notice)
@pytest.mark.filterwarnings("ignore:Couldn't detect a suitable IP:RuntimeWarning")
@pytest.mark.parametrize("cluster", [False, True])
def test_partitions_asking_a_service_are_bounded(sim, cluster, tmp_path):
    service = SlowService(sim, f"slow-{cluster}")
    batch = TwoMassBatch(archive=service)
    frame = dd.from_pandas(random_positions(400, seed=9), npartitions=8)
    with conf.set_temp("service_concurrency", 2):
        if cluster:  # a distributed.Semaphore shared by the cluster's workers
            with (
                distributed.LocalCluster(
                    n_workers=2,
                    threads_per_worker=4,
                    processes=False,
                    dashboard_address=None,
                    worker_dashboard_address=None,
                    local_directory=tmp_path,
                ) as local,
                distributed.Client(local) as client,
            ):
                result = batch.query_positions(frame, best=True).compute()
                leases = client.run_on_scheduler(
                    lambda dask_scheduler: dict(
                        dask_scheduler.extensions["semaphores"].max_leases
                    )
                )
            assert leases == {"twomass_vo-SlowService-slow-True": 2}
        else:
            with dask_threads(8):
                result = batch.query_positions(frame, best=True).compute()
    assert len(result) == 3 * 400
    assert CALLS[service.name]["most"] == 2


def test_the_index_is_not_in_the_task_graph(sim):
    import pickle

    handle = ArchiveHandle(sim)
    assert len(pickle.dumps(handle)) < 2_000
    copy = pickle.loads(pickle.dumps(handle))
    assert copy.open() is copy.open()  # opened once per process
    assert copy.open().path == sim.path


def test_download_partitions_shares_the_budget_and_resumes(batch, tmp_path):
    frame = dd.from_pandas(random_positions(6, seed=11), npartitions=3)
    with dask_threads():
        result = batch.query_positions(frame, best=True, band="J")
        first = download_partitions(
            result, tmp_path / "files", max_bytes=1, max_workers=1, progress=False
        )
        assert first.rows == 6 and first.done == 1
        assert set(first.rest["status"]) == {"deferred"} and len(first.rest) == 5
        again = download_partitions(
            result, tmp_path / "files", max_bytes=None, progress=False
        )
    assert again.done == 6 and len(again.rest) == 0
    assert len(list((tmp_path / "files").glob("*.fits"))) == 6


def test_cli_folder_of_parquet_to_parquet_and_download(sim, tmp_path, capsys):
    folder = tmp_path / "targets"
    folder.mkdir()
    for k in range(3):
        random_positions(20, seed=k).to_parquet(folder / f"part{k}.parquet")
    out = tmp_path / "result.parquet"
    argv = ["--archive", "sim", "positions", str(folder / "*.parquet"), "--best"]
    status = main(
        [
            *argv,
            "--band",
            "H",
            "-o",
            str(out),
            "--download",
            str(tmp_path / "files"),
            "--max-bytes",
            "none",
            "--no-progress",
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert "3 partition(s) ->" in text and "60 of 60 row(s)" in text
    back = read_parquet(out)
    expected = TwoMassBatch(archive=sim).query_positions(
        Table.from_pandas(
            pd.concat([random_positions(20, seed=k) for k in range(3)]).reset_index(
                drop=True
            )
        ),
        best=True,
        band="H",
    )
    same_frames(image_frame(back), image_frame(expected))
    assert main(["download", str(out), str(tmp_path / "files"), "--no-progress"]) == 0
    assert "60 of 60 row(s)" in capsys.readouterr().out


def test_cli_sources_csv_folder_and_refusals(sim, tmp_path, capsys):
    folder = tmp_path / "psc"
    folder.mkdir()
    sets = sim.find_scans(
        np.array(["971031"]), np.array(["n"]), np.array([96]), np.array([0])
    )
    table = pd.DataFrame(
        {
            "designation": [f"s{i}" for i in range(4)],
            "ra": sets.ra[:4],
            "dec": sets.dec[:4],
            "coadd_key": [*sets.coadd_key[:3], 123],
        }
    )
    table.to_csv(folder / "a.csv", index=False)
    out, lost = tmp_path / "images.parquet", tmp_path / "lost.parquet"
    argv = ["--archive", "sim", "sources", str(folder)]
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main([*argv, "-o", str(out), "--not-found", str(lost)]) == 0
    assert "1 source(s) not found" in capsys.readouterr().out
    assert list(read_parquet(out)["coadd_key"][::3]) == list(sets.coadd_key[:3])
    assert list(pd.read_parquet(lost)["reason"]) == [
        "coadd_key 123 is not in the archive"
    ]
    assert main([*argv, "-o", str(tmp_path / "x.vot")]) == 2
    assert "written as Parquet" in capsys.readouterr().err
    assert main(argv) == 2
    assert "give -o RESULT.parquet or --download" in capsys.readouterr().err


def test_in_process_result_to_parquet_keeps_the_metadata(batch, tmp_path):
    result = batch.query_scan("971031", "n", 96, image=197)
    write_parquet(result, tmp_path / "one.parquet")
    back = read_parquet(tmp_path / "one.parquet")
    same_frames(image_frame(back), image_frame(result))
    assert back.meta["mode"] == result.meta["mode"] == "scans"
    assert back.meta["parameters"] == result.meta["parameters"]
    assert back["in_ra"].unit == "deg"
    with pytest.raises(OSError, match="already exists"):
        write_parquet(result, tmp_path / "one.parquet")
