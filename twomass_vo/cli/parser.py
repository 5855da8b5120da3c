# Licensed under a 3-clause BSD style license - see LICENSE
"""The argument parser of the ``twomass-vo`` command (see `twomass_vo.cli`).

`build_parser` makes the parser (one subcommand per batch mode, plus
``download`` and ``info``); `check_arguments` converts the values argparse
leaves as text (bands, angles) so a bad one is a one-line error;
`parse_size` reads byte sizes such as ``1GiB``.
"""

import argparse
import math
from pathlib import Path

__all__ = ["build_parser", "check_arguments", "parse_size"]


def parse_size(text):
    """Parse a byte count: ``1GiB``, ``500MB``, ``2G``, ``1000000`` or ``none``.

    The grammar is the API's (`~twomass_vo.retrieval.file_tasks.byte_count`), so
    that ``--max-bytes`` and ``max_bytes=`` accept and refuse the same texts.

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
    from ..retrieval.file_tasks import byte_count

    try:
        return byte_count(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size such as 1GiB, 500MB or none"
        ) from None


def _angle(text, unit_name, option):
    """Read a positive angle with an optional unit (a Quantity); ValueError if not."""
    from astropy import units as u

    from ..exceptions import InvalidQueryError
    from ..inputs import parse_angle

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
    from ..exceptions import InvalidQueryError
    from ..inputs import parse_band

    bands = [b for b in text.split(",") if b.strip()] if "," in text else text
    try:
        parse_band(bands)
    except InvalidQueryError:
        raise ValueError(
            f"--band {text!r} is not a 2MASS band: use all, J, H or Ks (K), or "
            "several separated by commas (J,H)"
        ) from None
    return bands


#: The sizes of a region on the command line: option -> attribute.
_REGION_SIZES = (("DIAMETER", "diameter"), ("--radius", "radius"), ("--width", "width"))


def check_arguments(args):
    """Check and convert the values argparse leaves as text, in place.

    Done in `main` rather than as argparse types, so that a bad value is a
    one-line error (exit status 2) like every other bad input.
    """
    if hasattr(args, "band"):
        args.band = _band(args.band)
    if args.mode == "region":
        sizes = [(o, n) for o, n in _REGION_SIZES if getattr(args, n) is not None]
        if len(sizes) != 1:
            given = " and ".join(option for option, _ in sizes)
            raise ValueError(
                "give the region's DIAMETER, --radius or --width: "
                + (f"not {given}" if sizes else "none was given")
            )
        ((option, name),) = sizes
        setattr(args, name, _angle(getattr(args, name), "deg", option))
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


def _seconds(text):
    from .._http.deadline import positive_seconds

    try:
        return positive_seconds(text, "--timeout")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        type=_seconds,
        metavar="SECONDS",
        help="seconds per request (default 60; --samp: 30)",
    )
    group.add_argument(
        "--refetch",
        action="store_true",
        help="fetch again the files already complete in the folder (by default "
        "they are kept, and not counted in the budget)",
    )
    group.add_argument(
        "--no-progress", action="store_true", help="no progress bar on a terminal"
    )
    group.add_argument(
        "--no-decompress", action="store_true", help="keep Quicklook files hcompressed"
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Parquet/CSV folder inputs: the dask.distributed scheduler to run "
        "on (default: dask's local scheduler)",
    )
    group.add_argument(
        "--rest",
        type=Path,
        metavar="FILE",
        help="write the rows not retrieved (deferred or failed) to FILE, to "
        "download them later with 'twomass-vo download FILE FOLDER'",
    )


def _votable_option(parser):
    parser.add_argument(
        "--votable-format",
        choices=("auto", "tabledata", "binary2"),
        default="auto",
        help="how a VOTable output holds its rows: binary2 (fast, compact), "
        "tabledata (XML text), or auto (default): binary2 above 1000 rows",
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
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if after_mode else False,
        help="the details of an error (and every setting, with info)",
    )
    parser.add_argument(
        "--archive",
        default=default,
        help="'irsa' (the default: IRSA's SIA v2, IBE and TAP services), 'sim' (the "
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


def _table_and_size(parser, pattern, size_for):
    """Add the TABLE argument and --size option of the positions and sources modes."""
    parser.add_argument(
        "table",
        type=Path,
        help=f"IPAC, VOTable, CSV, FITS or ECSV file; or Parquet/CSV files "
        f"({pattern}, a folder), run partition by partition on Dask",
    )
    parser.add_argument(
        "--size",
        help=f"cutout size {size_for}: 60, 60arcsec or 1arcmin (a number alone "
        "is arcsec); full images without it",
    )


def build_parser():
    """Return the `argparse.ArgumentParser` of the ``twomass-vo`` command."""
    from ..version import version

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
    _votable_option(common)
    common.add_argument(
        "--download",
        type=Path,
        metavar="FOLDER",
        help="also write the image files (or cutouts) into FOLDER",
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        help="replace output files that hold another result (the same result "
        "is written again without it)",
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
        nargs="?",
        help="0.3, 0.3deg, 10arcmin or 600arcsec (a number alone is degrees); "
        "clamped to [0.05, 7] deg; or give --radius or --width",
    )
    p.add_argument(
        "--radius",
        metavar="ANGLE",
        help="the circle's radius instead of its diameter (astroquery's name)",
    )
    p.add_argument(
        "--width",
        metavar="ANGLE",
        help="a square of this side (north up) instead of a circle; clamped to "
        "[0.05, 4.95] deg",
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
    _table_and_size(p, "'targets/*.parquet'", "for the rows without their own")
    p.add_argument(
        "--best", action="store_true", help="only the best image per position"
    )

    p = sub.add_parser(
        "sources",
        parents=[common],
        help="images of catalogue sources (e.g. 2MASS PSC rows): by default the "
        "image that measured each",
    )
    _table_and_size(p, "'psc/*.parquet'", "centred on each source")
    p.add_argument(
        "--link",
        default="measured",
        choices=("measured", "best", "all"),
        help="measured (default): the image of each source's coadd_key, else of "
        "its own scan (xdate, hemis, scan); best / all: as the positions mode",
    )
    p.add_argument(
        "--not-found",
        type=Path,
        metavar="FILE",
        help="write the rows whose link found no image (with row and reason) to FILE",
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
    p.add_argument(
        "table",
        type=Path,
        help="an ImageTable file (any format of -o; a .parquet result is "
        "downloaded partition by partition)",
    )
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
        help="replace --output if it holds another result",
    )
    _votable_option(p)
    _download_options(p)
    return parser
