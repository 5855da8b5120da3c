# Licensed under a 3-clause BSD style license - see LICENSE
"""What the ``twomass-vo`` command writes: result tables, downloads, pictures.

The output side of `twomass_vo.cli`: downloading the rows of a result
with a summary (`download_rows`),
and the output files, all through `~twomass_vo.cli.output_files.Outputs`
(checked before any work, written under temporary names, renamed together
once all are written): `expect_outputs` checks the paths of the options,
`stage_result` writes the table (or its footprints, or its coverage),
`stage_pictures` draws the ``--plot`` and ``--preview`` pictures;
`send_samp` sends the table over SAMP.
"""

import sys

__all__ = [
    "check_folder",
    "download_options",
    "download_rows",
    "expect_outputs",
    "output_formats",
    "rerun_command",
    "send_samp",
    "stage_pictures",
    "stage_result",
    "write_result",
]


def output_formats():
    """Return the extensions of ``-o``: tables, region files, MOC, Parquet."""
    from ..results.moc import REGION_FORMATS
    from ..results.result_writer import FORMATS

    return (*FORMATS, *REGION_FORMATS, ".moc.fits", ".parquet")


def rerun_command(argv):
    """Return the command line that continues a run: the same, less the replacing.

    Parameters
    ----------
    argv : list of str
        The arguments of the run.

    Returns
    -------
    command : str
        ``twomass-vo`` and ``argv`` quoted for a POSIX shell, without
        ``--overwrite`` and ``--refetch`` (or their abbreviations): run
        again, the same result is written again without them, and the
        files already complete are kept.
    """
    import shlex

    def replacing(arg):
        return len(arg) > 3 and any(
            option.startswith(arg) for option in ("--overwrite", "--refetch")
        )

    return shlex.join(["twomass-vo", *(a for a in argv if not replacing(a))])


def download_options(args):
    """Return the keyword arguments of a download from the command line's options."""
    return {
        "max_workers": args.max_workers,
        "max_bytes": args.max_bytes,
        "progress": not args.no_progress,
        "retries": args.retries,
        "timeout": args.timeout,
        "overwrite": args.refetch,
        "decompress": not args.no_decompress,
    }


def download_rows(table, folder, args):
    """Download the rows; print a summary; return the table with status."""
    import numpy as np

    from .output_files import Outputs

    result = table.download(folder, **download_options(args))
    status = np.asarray(result["status"])
    counts = {s: int(np.count_nonzero(status == s)) for s in ("deferred", "failed")}
    there = int(np.count_nonzero(np.isin(status, ["ok", "cached"])))
    files = len({p for p in result["local_path"] if p})
    if counts["deferred"] or counts["failed"]:
        print(
            f"{files} file(s) in {folder}; not retrieved: {counts['deferred']} "
            f"deferred (byte budget), {counts['failed']} failed "
            f"({there} of {len(result)} row(s) done)"
        )
    else:
        print(f"{files} file(s) in {folder}")
    rest = result[np.isin(status, ["deferred", "failed"])]
    if args.rest is not None:
        with Outputs(overwrite=True) as outputs:
            stage_result(outputs, rest, args.rest, votable_format=args.votable_format)
            outputs.commit()
        print(f"{len(rest)} row(s) not retrieved -> {args.rest}")
    if len(rest):
        print(
            "to continue (the files already complete are kept, and not counted "
            f"in the budget), run: {rerun_command(args.argv)}"
        )
    return result


def stage_result(outputs, table, path, *, votable_format="auto"):
    """Write the table, its MOC (``.moc.fits``) or its footprints (region file).

    ``votable_format`` is that of `~twomass_vo.results.result_writer.write_table`.
    """
    from ..results.moc import REGION_FORMATS, footprint_file
    from ..results.result_writer import write_table

    def write(tmp):
        if path.name.lower().endswith(".moc.fits"):
            table.to_moc().save(
                str(tmp), format="fits", overwrite=True, v1_compatible=True
            )
        elif path.suffix.lower() == ".parquet":
            from ..results.parquet import write_parquet

            write_parquet(table, tmp, overwrite=True)
        elif path.suffix.lower() in REGION_FORMATS:
            text = footprint_file(table, REGION_FORMATS[path.suffix.lower()])
            tmp.write_text(text, encoding="utf-8")
        else:
            write_table(table, tmp, overwrite=True, votable_format=votable_format)

    outputs.stage(path, write)


def write_result(table, path, *, overwrite=True):
    """Write one table now, whole or not at all (`stage_result`, then renamed).

    For outputs written after the others (the rows not retrieved of a
    download, ``--rest``).
    """
    from .output_files import Outputs

    with Outputs(overwrite=overwrite) as outputs:
        path = outputs.expect(path, "output", formats=output_formats())
        stage_result(outputs, table, path)
        outputs.commit()


def stage_pictures(outputs, table, args):
    """Draw the --plot and --preview pictures and stage them (see `Outputs`)."""
    if args.plot is not None:
        outputs.stage(args.plot, _figure_writer(table.plot().figure))
    if args.preview is not None:
        from ..results.preview import plot_previews

        figure = plot_previews(table, max_panels=args.preview_max)
        outputs.stage(args.preview, _figure_writer(figure))


#: savefig metadata that keeps dates out of pictures, so that the same picture
#: is the same file (a run again writes it again; see `Outputs.stage`)
_NO_DATES = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}


def _figure_writer(figure):
    """Return ``write(tmp)``: save a figure in the format of the extension, close it."""

    def write(tmp):
        import matplotlib.pyplot as plt

        fmt = tmp.suffix[1:].lower()
        try:
            figure.savefig(tmp, format=fmt, dpi=100, metadata=_NO_DATES.get(fmt))
        finally:
            plt.close(figure)

    return write


def send_samp(table, timeout=None):
    """Send the table over SAMP (``--samp``); return whether it was sent.

    Each call to the hub, and each client, has ``timeout`` seconds (the
    ``--timeout`` option; default 30). Prints to how many clients, or the
    error on one line of the standard error (the command goes on, and exits
    with status 3).
    """
    from ..results.samp import SAMPError, broadcast

    try:
        sent = broadcast(table, timeout=30 if timeout is None else timeout)
    except SAMPError as exc:
        print(f"twomass-vo: error: {exc}", file=sys.stderr)
        return False
    print(f"table sent over SAMP to {len(sent['table.load.votable'])} client(s)")
    return True


def expect_outputs(args, outputs):
    """Check the output options before any work; pictures get the names written.

    ``--plot p`` becomes ``p.png`` (as matplotlib writes it), and so on.
    """
    from ..results.result_writer import FORMATS

    outputs.expect(
        getattr(args, "output", None), "-o/--output", formats=output_formats()
    )
    outputs.expect(
        getattr(args, "not_found", None), "--not-found", formats=output_formats()
    )
    for option in ("plot", "preview"):
        path = getattr(args, option, None)
        if path is not None:
            setattr(args, option, outputs.expect(path, f"--{option}", picture=True))
    # the rows not retrieved: replaced by every run (written after the download)
    outputs.expect(
        getattr(args, "rest", None), "--rest", formats=FORMATS, overwrite=True
    )
    check_folder(getattr(args, "download", None), "--download")
    check_folder(getattr(args, "folder", None), "FOLDER")


def check_folder(path, option):
    """Refuse a folder option that names an existing file."""
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, not a folder")
