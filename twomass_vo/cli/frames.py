# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command on folders of Parquet or CSV files (Dask).

``twomass-vo positions 'targets/*.parquet' -o result.parquet`` (and the
``sources`` mode likewise) reads the input as a dask DataFrame
(`~twomass_vo.dask_queries.frame_input`), runs the mode partition by
partition (`~twomass_vo.dask_queries.query_frame`) on dask's local
scheduler, or on the cluster of ``--scheduler ADDRESS``, and writes the
result as a Parquet folder with its query metadata; ``--download FOLDER``
then downloads it partition by partition
(`~twomass_vo.dask_queries.download_partitions`), and so does ``twomass-vo
download result.parquet FOLDER``. `check_frame_arguments` refuses, before
any work, what such a run cannot do (another output format, pictures).
"""

import contextlib

from ..dask_queries import is_frame_path

__all__ = [
    "check_frame_arguments",
    "download_parquet",
    "scheduler",
    "write_frame_outputs",
]


def check_frame_arguments(args):
    """Check the options of a run on a dask DataFrame, before any work.

    Parameters
    ----------
    args : `argparse.Namespace`
        The parsed command line.

    Returns
    -------
    frames : bool
        Whether the run reads its input as a dask DataFrame.

    Raises
    ------
    ValueError
        For an output that is not Parquet, pictures or SAMP, or neither
        ``-o`` nor ``--download``.
    """
    parquet_download = args.mode == "download" and is_frame_path(args.table)
    if args.mode not in ("positions", "sources") or not is_frame_path(args.table):
        if getattr(args, "scheduler", None) and not parquet_download:
            raise ValueError(
                "--scheduler is for Parquet or CSV folder inputs (and the download "
                "of a Parquet result)"
            )
        return False
    for option in ("output", "not_found"):
        path = getattr(args, option, None)
        if path is not None and path.suffix.lower() != ".parquet":
            name = "-o/--output" if option == "output" else "--not-found"
            raise ValueError(
                f"{name} {path}: the result of a Parquet or CSV folder input is "
                "written as Parquet: end the name with .parquet"
            )
    for option in ("plot", "preview"):
        if getattr(args, option, None) is not None:
            raise ValueError(f"--{option} is not available for folder inputs")
    if args.samp:
        raise ValueError("--samp is not available for folder inputs")
    if args.output is None and args.download is None:
        raise ValueError(
            f"{args.table}: give -o RESULT.parquet or --download FOLDER (a folder "
            "input's result is not printed)"
        )
    return True


@contextlib.contextmanager
def scheduler(args):
    """Run on the ``--scheduler`` cluster, if one is given.

    Parameters
    ----------
    args : `argparse.Namespace`
        The parsed command line.

    Yields
    ------
    client : ``distributed.Client`` or None
        The client (the default scheduler of dask while it is open), or
        None: dask's local scheduler.
    """
    address = getattr(args, "scheduler", None)
    if not address:
        yield None
        return
    from distributed import Client

    with Client(address) as client:
        yield client


def write_frame_outputs(result, args):
    """Write (``-o``) and download (``--download``) a result on a dask DataFrame.

    Parameters
    ----------
    result : dask DataFrame
        The result of `~twomass_vo.dask_queries.query_frame`.
    args : `argparse.Namespace`
        The parsed command line.

    Returns
    -------
    complete : bool
        Whether every row was retrieved (True without ``--download``). The
        rows load from their ``access_url`` (simulated files are made on
        demand all the same).
    """
    import dask

    from ..results.parquet import read_parquet_frame, write_parquet

    lost = getattr(result, "not_found", None)
    if args.output is not None:
        writes = [
            write_parquet(result, args.output, overwrite=args.overwrite, compute=False)
        ]
        if lost is not None and args.not_found is not None:
            writes.append(
                write_parquet(
                    lost, args.not_found, overwrite=args.overwrite, compute=False
                )
            )
        dask.compute(*writes)
        print(f"{result.npartitions} partition(s) -> {args.output}")
        if len(writes) > 1:
            _report_not_found(args.not_found)
        result = read_parquet_frame(args.output)
    elif lost is not None and args.not_found is not None:
        write_parquet(lost, args.not_found, overwrite=args.overwrite)
        _report_not_found(args.not_found)
    if args.download is None:
        return True
    return _download(result, args.download, args, None)


def _report_not_found(path):
    import dask.dataframe as dd

    count = len(dd.read_parquet(str(path)))
    print(f"{count} source(s) not found -> {path}")
    if count:
        import warnings

        from ..exceptions import NotFoundWarning

        warnings.warn(
            f"{count} source(s) found no image; they are listed in {path}",
            NotFoundWarning,
            stacklevel=2,
        )


def _download(frame, folder, args, archive):
    """Download a dask result partition by partition; print what was done."""
    from ..dask_queries import download_partitions
    from .output import download_options, write_result

    done = download_partitions(frame, folder, archive=archive, **download_options(args))
    print(
        f"{done.done} of {done.rows} row(s) have their file in {folder}; "
        f"{len(done.rest)} not retrieved"
    )
    if args.rest is not None:
        write_result(done.rest, args.rest)
        print(f"{len(done.rest)} row(s) not retrieved -> {args.rest}")
    elif len(done.rest):
        print("run the same command again to continue (files already there are kept)")
    return not len(done.rest)


def download_parquet(args, archive):
    """Run the ``download`` subcommand on a Parquet result, partition by partition.

    Parameters
    ----------
    args : `argparse.Namespace`
        The parsed command line (``table`` a ``.parquet`` file or folder).
    archive : `~twomass_vo.archives.Archive` or None
        The archive of the rows, if given.

    Returns
    -------
    complete : bool
        Whether every row was retrieved.
    """
    from ..results.parquet import read_parquet_frame

    if args.output is not None:
        raise ValueError(
            f"-o/--output {args.output}: a Parquet result is downloaded partition "
            "by partition; its rows not retrieved go to --rest FILE"
        )
    return _download(read_parquet_frame(args.table), args.folder, args, archive)
