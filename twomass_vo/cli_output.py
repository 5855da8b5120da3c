# Licensed under a 3-clause BSD style license - see LICENSE
"""What the ``twomass-vo`` command writes: result tables, downloads, pictures.

The output side of `twomass_vo.cli`: reading an ImageTable file
(`read_result`), downloading its rows with a summary (`download_rows`),
writing the table or its footprints (`write_result`), drawing ``--plot`` and
``--preview`` pictures before any output (`draw_pictures`) and writing them
(`save_pictures`), and checking output paths before any work
(`check_output`, `check_picture`, `check_folder`).
"""

__all__ = [
    "check_folder",
    "check_output",
    "check_picture",
    "download_options",
    "download_rows",
    "draw_pictures",
    "read_result",
    "save_figure",
    "save_pictures",
    "write_result",
]


def read_result(path):
    """Read an ImageTable file (``download`` subcommand) with its metadata."""
    from .table_metadata import read_table

    return read_table(path)


def download_options(args):
    """Return the keyword arguments of a download from the command line's options."""
    return {
        "max_workers": args.max_workers,
        "max_bytes": args.max_bytes,
        "progress": not args.no_progress,
        "retries": args.retries,
        "timeout": args.timeout,
        "overwrite": args.overwrite,
        "decompress": not args.no_decompress,
    }


def download_rows(table, folder, args):
    """Download the rows; print a summary; return the table with status."""
    import numpy as np

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
        write_result(rest, args.rest, True)
        print(f"{len(rest)} row(s) not retrieved -> {args.rest}")
    elif len(rest):
        print("run the same command again to continue (files already there are kept)")
    return result


def write_result(table, path, overwrite):
    """Write the table, its MOC (``.moc.fits``) or its footprints (region file)."""
    from .moc import REGION_FORMATS, write_footprints
    from .table_metadata import write_table

    if path.name.lower().endswith(".moc.fits"):
        if path.exists() and not overwrite:
            raise OSError(f"{path} exists (use --overwrite)")
        table.to_moc().save(
            str(path), format="fits", overwrite=overwrite, v1_compatible=True
        )
    elif path.suffix.lower() == ".parquet":
        from .parquet_results import write_parquet

        write_parquet(table, path, overwrite=overwrite)
    elif path.suffix.lower() in REGION_FORMATS:
        write_footprints(table, path, overwrite=overwrite)
    else:
        write_table(table, path, overwrite=overwrite)


def draw_pictures(table, args):
    """Draw the --plot and --preview pictures, before any output is written.

    A picture that cannot be drawn is an error before ``-o`` exists; an
    empty result draws empty pictures (with a warning). The figures are
    released from pyplot at once (nothing is left open on any path);
    `save_pictures` writes them.
    """
    figures = []
    try:
        if getattr(args, "plot", None) is not None:
            figures.append(("footprints", table.plot().figure, args.plot))
        if getattr(args, "preview", None) is not None:
            from .preview import plot_previews

            figure = plot_previews(table, max_panels=args.preview_max)
            figures.append(("colour previews", figure, args.preview))
    finally:
        if figures:
            import matplotlib.pyplot as plt

            for _, figure, _ in figures:
                plt.close(figure)  # still drawable and savable
    return figures


def save_pictures(table, args, figures=()):
    """Write the pictures of `draw_pictures`; send the table with --samp."""
    for what, figure, path in figures:
        save_figure(figure, path, args.overwrite)
        print(f"{what} -> {path}")
    if args.samp:
        from .samp import broadcast

        sent = broadcast(table)
        print(f"table sent over SAMP to {len(sent)} client(s)")


def save_figure(figure, path, overwrite):
    """Save a matplotlib figure to ``path`` and close it."""
    import matplotlib.pyplot as plt

    try:
        if path.exists() and not overwrite:
            raise OSError(f"{path} exists (use --overwrite)")
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def check_output(path, overwrite, option):
    """Check a table to write before any work: format, folder, existing file."""
    if path is None:
        return
    from .moc import REGION_FORMATS
    from .table_metadata import FORMATS

    known = (*FORMATS, *REGION_FORMATS, ".moc.fits", ".parquet")
    suffix = path.suffix.lower()
    if suffix not in FORMATS and suffix not in REGION_FORMATS and suffix != ".parquet":
        raise ValueError(
            f"{option} {path}: unknown table format {path.suffix or '(none)'!r}: "
            f"end the name with one of {', '.join(known)}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if path.is_dir() and suffix != ".parquet":  # Parquet: a folder of partitions
        raise ValueError(f"{option} {path}: is a folder, not a file name")
    if path.exists() and not overwrite:
        raise ValueError(
            f"{option} {path}: the file exists (add --overwrite to replace it)"
        )


def check_picture(path, overwrite, option):
    """Check a picture to write before any work: folder and existing file."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise ValueError(
            f"{option} {path}: the file exists (add --overwrite to replace it)"
        )


def check_folder(path, option):
    """Refuse a folder option that names an existing file."""
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, not a folder")


#: Arguments of the Python API -> their names on the command line, per mode.
