# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command: one subcommand per batch mode.

Examples::

    twomass-vo --archive sim region "00 42 44.3 +41 16 08" 0.3 -o m31.vot
    twomass-vo --archive sim positions targets.tbl --best --size 60 --download cutouts/
    twomass-vo --archive sim coadd-keys 1590591 1230312 --band J
    twomass-vo --archive sim scan 971031 n 96 --image 197
    twomass-vo --archive sim scans dhs.tbl -o images.tbl
    twomass-vo download images.tbl images/ --max-bytes 1GiB --rest rest.tbl

The result table is written with ``--output`` (format from the extension:
``.tbl``/``.ipac`` IPAC, ``.xml``/``.vot``/``.votable`` VOTable, ``.csv``,
``.ecsv``, ``.fits``) or printed; ``--download FOLDER`` also writes the files
(`twomass_vo.ImageTable.download`: parallel, budgeted, resumable). The
``download`` subcommand does the same for any ImageTable file, e.g. the
``--rest`` of an earlier run. The archive options (``--archive``,
``--tap-url``, ...) may come before or after the mode. Diameters and sizes
take units: ``0.3deg``, ``10arcmin``, ``60arcsec`` (a number alone is degrees
for a diameter, arcsec for a size).

Exit status: 0 done; 1 some rows not retrieved (failed, or deferred by the
byte budget); 2 usage error or bad input (a one-line error on stderr, before
any work); 3 the archive is unreachable or failed (``info --check``: an
endpoint does not answer).
"""

import argparse
import logging
import math
import re
import sys
import warnings
from pathlib import Path

__all__ = ["main"]

#: Exit statuses (see the module docstring).
EXIT_OK, EXIT_NOT_RETRIEVED, EXIT_BAD_INPUT, EXIT_ARCHIVE = 0, 1, 2, 3


_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text):
    """Parse a byte count: ``1GiB``, ``500MB``, ``2G``, ``1000000`` or ``none``.

    Parameters
    ----------
    text : str
        A number with an optional unit: k, M, G, T (powers of 1000) or Ki,
        Mi, Gi, Ti (powers of 1024), optionally followed by ``B``; ``none``
        (or ``unlimited``) for no limit.

    Returns
    -------
    size : int or None
        Bytes, or None for no limit.

    Raises
    ------
    argparse.ArgumentTypeError
        If the text is not a size.
    """
    if text.strip().lower() in ("none", "unlimited", "inf"):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size such as 1GiB or 500MB"
        )
    number, prefix, binary = match.groups()
    power = "kmgt".find(prefix.lower()) + 1
    factor = (1024**power) if binary else _UNITS[prefix.lower()]
    return int(float(number) * factor)


def _angle(text, unit_name, option):
    """Read a positive angle with an optional unit (a Quantity); ValueError if not."""
    from astropy import units as u

    from .exceptions import InvalidQueryError
    from .inputs import parse_angle

    unit = u.Unit(unit_name)
    try:
        value = parse_angle(text, argument=option, unit=unit)
    except InvalidQueryError:
        value = None
    if value is None or not math.isfinite(value):
        raise ValueError(
            f"{option} {text!r} is not an angle such as 0.3deg, 10arcmin or "
            f"60arcsec (a number alone is in {unit_name})"
        )
    if value <= 0:
        raise ValueError(f"{option} {text!r} is not a positive angle")
    return value * unit


def _band(text):
    """Read --band: a band, or bands separated by commas; ValueError if not."""
    from .exceptions import InvalidQueryError
    from .inputs import parse_band

    bands = [b for b in text.split(",") if b.strip()] if "," in text else text
    try:
        parse_band(bands)
    except InvalidQueryError:
        raise ValueError(
            f"--band {text!r} is not a 2MASS band: use all, J, H or Ks (K), or "
            "several separated by commas (J,H)"
        ) from None
    return bands


def _check_arguments(args):
    """Check and convert the values argparse leaves as text, in place.

    Done in `main` rather than as argparse types, so that a bad value is a
    one-line error (exit status 2) like every other bad input.
    """
    if hasattr(args, "band"):
        args.band = _band(args.band)
    if getattr(args, "diameter", None) is not None:
        args.diameter = _angle(args.diameter, "deg", "DIAMETER")
    if getattr(args, "size", None) is not None:
        args.size = _angle(args.size, "arcsec", "--size")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def _download_options(parser):
    group = parser.add_argument_group("download options")
    group.add_argument(
        "--max-workers",
        type=_positive_int,
        metavar="N",
        help="parallel transfers (default: twomass_vo.conf.max_workers, 8)",
    )
    group.add_argument(
        "--max-bytes",
        type=parse_size,
        default=2**30,
        metavar="SIZE",
        help="byte budget, e.g. 500MB or 2GiB, or 'none' (default 1GiB): the "
        "files over it are deferred to a later run",
    )
    group.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="retries per file after transient failures (default 5)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds per request (default 60)",
    )
    group.add_argument(
        "--no-progress", action="store_true", help="no progress bar on a terminal"
    )
    group.add_argument(
        "--no-decompress", action="store_true", help="keep Quicklook files hcompressed"
    )
    group.add_argument(
        "--rest",
        type=Path,
        metavar="FILE",
        help="write the rows not retrieved (deferred or failed) to FILE, to "
        "download them later with 'twomass-vo download FILE FOLDER'",
    )


def _picture_options(parser):
    group = parser.add_argument_group("pictures and VO tools")
    group.add_argument(
        "--plot", type=Path, metavar="PNG", help="plot the footprints into PNG"
    )
    group.add_argument(
        "--preview",
        type=Path,
        metavar="PNG",
        help="positions mode: J/H/Ks colour previews, one panel per position",
    )
    group.add_argument(
        "--preview-max",
        type=_positive_int,
        default=16,
        metavar="N",
        help="at most N preview panels (default 16)",
    )
    group.add_argument(
        "--samp",
        action="store_true",
        help="send the table to the SAMP hub's clients (TOPCAT, Aladin, ...)",
    )


def _archive_options(parser, *, after_mode=False):
    """Add the options that choose the archive (before or after the mode).

    After the mode their default is `argparse.SUPPRESS`, so that they do not
    undo a value given before it.
    """
    default = argparse.SUPPRESS if after_mode else None
    parser.add_argument(
        "--archive",
        default=default,
        help="'irsa' (the default: IRSA's SIA v2 and TAP services), 'sim' (the "
        "simulated survey, offline) or the folder of a LocalArchive",
    )
    vo = parser.add_argument_group(
        "a VO mirror", "any SIA v2 / TAP service publishing a 2MASS image table"
    )
    for option, text in (
        ("--tap-url", "TAP service of the mirror (selects it)"),
        ("--tap-table", "its image table, e.g. twomass.images"),
        ("--sia-url", "its SIA v2 service (optional)"),
        ("--datalink-url", "its datalink/SODA cutout service"),
        ("--collection", "SIA v2 COLLECTION (optional)"),
    ):
        vo.add_argument(option, default=default, help=text)


def _parser():
    from .version import version

    parser = argparse.ArgumentParser(
        prog="twomass-vo",
        description="The 2MASS Batch Image Service: 2MASS Atlas and Quicklook "
        "images by region, positions, coadd_key and date-hemisphere-scan.",
        epilog="Exit status: 0 done, 1 some rows not retrieved, 2 usage error "
        "or bad input, 3 archive unreachable or failed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    _archive_options(parser)
    common = argparse.ArgumentParser(add_help=False)
    _archive_options(common, after_mode=True)
    common.add_argument(
        "--band",
        default="all",
        help="all (default), J, H or Ks (K), or several: J,H",
    )
    common.add_argument(
        "--image-type",
        default="atlas",
        choices=("atlas", "quicklook"),
        help="Atlas (default) or Quicklook (lossy: not for photometry)",
    )
    common.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the result table here (or the footprints: .reg DS9, .crtf "
        "CRTF; or the coverage: .moc.fits)",
    )
    common.add_argument(
        "--download",
        type=Path,
        metavar="FOLDER",
        help="also write the image files (or cutouts) into FOLDER",
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output and downloaded files",
    )
    _download_options(common)
    _picture_options(common)
    sub = parser.add_subparsers(
        dest="mode",
        required=True,
        metavar="MODE",
        help="a batch mode, or info or download ('twomass-vo MODE --help' for its "
        "options)",
    )

    p = sub.add_parser(
        "region",
        parents=[common],
        help="images overlapping, covering or enclosed by a circle",
    )
    p.add_argument("center", help="coordinates (any help-page format) or object name")
    p.add_argument(
        "diameter",
        help="0.3, 0.3deg, 10arcmin or 600arcsec (a number alone is degrees); "
        "clamped to [0.05, 7] deg",
    )
    p.add_argument(
        "--intersect",
        default="overlaps",
        choices=("overlaps", "covers", "enclosed"),
        help="overlaps (default): images that overlap the circle; covers: images "
        "that contain it; enclosed: images inside it",
    )

    p = sub.add_parser(
        "positions", parents=[common], help="images containing each position of a table"
    )
    p.add_argument("table", type=Path, help="IPAC, VOTable, CSV, FITS or ECSV file")
    p.add_argument(
        "--best", action="store_true", help="only the best image per position"
    )
    p.add_argument(
        "--size",
        help="cutout size for the rows without their own: 60, 60arcsec or 1arcmin "
        "(a number alone is arcsec); full images without it",
    )

    p = sub.add_parser("coadd-keys", parents=[common], help="images of coadd_keys")
    p.add_argument("keys", nargs="+", help="a table file with coadd_key, or keys")

    p = sub.add_parser(
        "scan", parents=[common], help="images of one date-hemisphere-scan"
    )
    p.add_argument("date", help="yymmdd")
    p.add_argument("hemisphere", help="n or s")
    p.add_argument("scan", help="1 to 999")
    p.add_argument("--image", help="one image number (default: all 23)")

    p = sub.add_parser(
        "scans", parents=[common], help="images of a table of date-hemisphere-scans"
    )
    p.add_argument("table", type=Path, help="IPAC, VOTable, CSV, FITS or ECSV file")

    p = sub.add_parser(
        "info",
        help="which endpoints, collection and table the archive uses",
        description="Describe the archive; with --check, ask each endpoint "
        "whether it answers (exit status 3 if one does not).",
    )
    _archive_options(p, after_mode=True)
    p.add_argument("--check", action="store_true", help="check every endpoint")

    p = sub.add_parser(
        "download",
        help="write the files of an image table (a result, or a --rest) into a folder",
        description="Write the image files (or cutouts) of the rows of an "
        "ImageTable file into FOLDER: in parallel, within a byte budget, with "
        "retries; files already there are kept, so running it again resumes.",
    )
    _archive_options(p, after_mode=True)
    p.add_argument("table", type=Path, help="an ImageTable file (any format of -o)")
    p.add_argument("folder", type=Path, help="target folder (created if missing)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the table with local_path, status and error columns here",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="fetch again and replace files already in FOLDER (and --output)",
    )
    _download_options(p)
    return parser


def _archive(args):
    """Return the archive the options name: a VO mirror, or --archive (IRSA)."""
    from .core import open_archive

    if args.tap_url:
        if not args.tap_table:
            raise ValueError("--tap-url needs --tap-table (the mirror's image table)")
        if args.archive is not None:
            raise ValueError("give either --archive or --tap-url, not both")
        from .archives import VOArchive

        return VOArchive(
            sia_url=args.sia_url,
            tap_url=args.tap_url,
            table=args.tap_table,
            datalink_url=args.datalink_url,
            collection=args.collection,
        )
    name = args.archive
    if name is not None and name.lower() not in ("irsa", "sim"):
        folder = Path(name)
        if not folder.exists():
            raise ValueError(
                f"--archive {name!r}: no such folder (give irsa, sim or the folder "
                "of a LocalArchive)"
            )
        if not (folder / "archive.json").is_file():
            raise ValueError(
                f"--archive {name!r}: not a LocalArchive folder (no archive.json)"
            )
    return open_archive(name)


def _info(archive, check):
    """Print the archive's description; return whether every endpoint answers."""
    info = archive.describe(check=check)
    endpoints = info.pop("endpoints", {})
    for key, value in info.items():
        if not isinstance(value, dict):
            print(f"{key}: {value}")
    answered = True
    for name, status in endpoints.items():
        answered &= bool(status["ok"])
        state = "ok" if status["ok"] else "NOT ANSWERING"
        print(f"endpoint {name}: {status['url']} {state} ({status['detail']})")
    return answered


def _run(args):
    from . import TwoMassBatch

    batch = TwoMassBatch(archive=_archive(args))
    common = {"band": args.band, "image_type": args.image_type}
    if args.mode == "region":
        return batch.query_region(
            args.center, args.diameter, intersect=args.intersect, **common
        )
    if args.mode == "positions":
        return batch.query_positions(
            args.table, best=args.best, size=args.size, **common
        )
    if args.mode == "coadd-keys":
        keys = args.keys
        if len(keys) == 1 and not keys[0].lstrip("-").isdigit():
            keys = Path(keys[0])
        return batch.query_coadd_keys(keys, **common)
    if args.mode == "scan":
        return batch.query_scan(
            args.date, args.hemisphere, args.scan, image=args.image, **common
        )
    return batch.query_scans(args.table, **common)


def _read(path):
    from .table_metadata import read_table

    return read_table(path)


def _download(table, folder, args):
    """Download the rows; print a summary; return the table with status."""
    import numpy as np

    result = table.download(
        folder,
        max_workers=args.max_workers,
        max_bytes=args.max_bytes,
        progress=not args.no_progress,
        retries=args.retries,
        timeout=args.timeout,
        overwrite=args.overwrite,
        decompress=not args.no_decompress,
    )
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
        _write(rest, args.rest, True)
        print(f"{len(rest)} row(s) not retrieved -> {args.rest}")
    elif len(rest):
        print("run the same command again to continue (files already there are kept)")
    return result


def _write(table, path, overwrite):
    from .moc import REGION_FORMATS, write_footprints
    from .table_metadata import write_table

    if path.name.lower().endswith(".moc.fits"):
        if path.exists() and not overwrite:
            raise OSError(f"{path} exists (use --overwrite)")
        table.to_moc().save(
            str(path), format="fits", overwrite=overwrite, v1_compatible=True
        )
    elif path.suffix.lower() in REGION_FORMATS:
        write_footprints(table, path, overwrite=overwrite)
    else:
        write_table(table, path, overwrite=overwrite)


def _pictures(table, args):
    """Write the --plot and --preview pictures; send the table with --samp."""
    if args.plot is not None:
        _save_figure(table.plot().figure, args.plot, args.overwrite)
        print(f"footprints -> {args.plot}")
    if args.preview is not None:
        from .preview import plot_previews

        figure = plot_previews(table, max_panels=args.preview_max)
        _save_figure(figure, args.preview, args.overwrite)
        print(f"colour previews -> {args.preview}")
    if args.samp:
        from .samp import broadcast

        sent = broadcast(table)
        print(f"table sent over SAMP to {len(sent)} client(s)")


def _save_figure(figure, path, overwrite):
    import matplotlib.pyplot as plt

    try:
        if path.exists() and not overwrite:
            raise OSError(f"{path} exists (use --overwrite)")
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def _check_output(path, overwrite, option):
    """Check a table to write before any work: format, folder, existing file."""
    if path is None:
        return
    from .moc import REGION_FORMATS
    from .table_metadata import FORMATS

    known = (*FORMATS, *REGION_FORMATS, ".moc.fits")
    suffix = path.suffix.lower()
    if suffix not in FORMATS and suffix not in REGION_FORMATS:
        raise ValueError(
            f"{option} {path}: unknown table format {path.suffix or '(none)'!r}: "
            f"end the name with one of {', '.join(known)}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise ValueError(f"{option} {path}: is a folder, not a file name")
    if path.exists() and not overwrite:
        raise ValueError(
            f"{option} {path}: the file exists (add --overwrite to replace it)"
        )


def _check_picture(path, overwrite, option):
    """Check a picture to write before any work: folder and existing file."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise ValueError(
            f"{option} {path}: the file exists (add --overwrite to replace it)"
        )


def _check_folder(path, option):
    if path is not None and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, not a folder")


#: Arguments of the Python API -> their names on the command line, per mode.
_ARGUMENTS = {
    "scan": {"date": "DATE", "hemisphere": "HEMISPHERE", "scan": "SCAN"},
    "coadd-keys": {"keys": "KEY"},
}


def _message(exc, mode):
    """Return the text of an error in the command line's terms."""
    from .exceptions import InputError

    names = {"band": "--band", "image": "--image", **_ARGUMENTS.get(mode, {})}
    column = getattr(exc, "column", None)
    if isinstance(exc, InputError) and column in names:
        if exc.row is None:
            return f"{names[column]} {exc.value!r} {exc.reason}"
        if column == "keys":  # keys on the command line
            return f"{names[column]} number {exc.row + 1}: {exc.value!r} {exc.reason}"
    return str(exc)


def _unreachable(exc):
    """Whether an error comes from a network failure (anywhere in its chain)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        if type(exc).__name__ in ("ConnectionError", "ConnectTimeout", "Timeout"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"twomass-vo: {category.__name__}: {message}", file=sys.stderr)


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 done; 1 some rows not retrieved; 2 usage error or bad input; 3 the
        archive is unreachable or failed (``info --check``: an endpoint does
        not answer).
    """
    from .exceptions import ArchiveError, InvalidQueryError

    parser = _parser()
    args = parser.parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    logger = logging.getLogger("twomass_vo")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("twomass-vo: %(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    complete = True
    try:
        # the arguments, and the places to write, are checked before any work
        _check_arguments(args)
        overwrite = getattr(args, "overwrite", False)
        _check_output(getattr(args, "output", None), overwrite, "-o/--output")
        _check_output(getattr(args, "rest", None), True, "--rest")
        _check_folder(getattr(args, "download", None), "--download")
        _check_folder(getattr(args, "folder", None), "FOLDER")
        for option in ("plot", "preview"):
            _check_picture(getattr(args, option, None), overwrite, f"--{option}")
        if getattr(args, "preview", None) is not None and args.mode != "positions":
            raise ValueError("--preview is for the positions mode")
        if args.mode == "info":
            return EXIT_OK if _info(_archive(args), args.check) else EXIT_ARCHIVE
        if args.mode == "download":
            table = _read(args.table)
            if args.archive is not None or args.tap_url:
                table.archive = _archive(args)
            result = _download(table, args.folder, args)
            if args.output is not None:
                _write(result, args.output, args.overwrite)
            return EXIT_OK if _all_done(result) else EXIT_NOT_RETRIEVED
        table = _run(args)
        if args.output is not None:
            _write(table, args.output, args.overwrite)
            print(f"{len(table)} image file(s) -> {args.output}")
        else:
            table[
                [
                    "scntr",
                    "id",
                    "coadd_key",
                    "ordate",
                    "hemisphere",
                    "scanno",
                    "image",
                    "band",
                    "dist_edge",
                    "best",
                    "access_url",
                ]
            ].pprint(max_width=-1)
        _pictures(table, args)
        if args.download is not None:
            complete = _all_done(_download(table, args.download, args))
    except ArchiveError as exc:
        unreachable = "archive unreachable: " if _unreachable(exc) else ""
        print(f"twomass-vo: error: {unreachable}{exc}", file=sys.stderr)
        return EXIT_ARCHIVE
    except (InvalidQueryError, OSError, ValueError, ImportError) as exc:
        print(f"twomass-vo: error: {_message(exc, args.mode)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            "twomass-vo: interrupted (the files already written are kept: run the "
            "same command again to resume)",
            file=sys.stderr,
        )
        return 130
    finally:
        warnings.showwarning = shown
        logger.removeHandler(handler)
        logger.propagate = propagate
    return EXIT_OK if complete else EXIT_NOT_RETRIEVED


def _all_done(result):
    import numpy as np

    return bool(np.isin(np.asarray(result["status"]), ["ok", "cached"]).all())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
