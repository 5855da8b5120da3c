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
``--rest`` of an earlier run. Bad input ends with a one-line error on stderr
and exit status 2; files not retrieved (failed, or deferred by the byte
budget) end with exit status 1.
"""

import argparse
import logging
import re
import sys
import warnings
from pathlib import Path

__all__ = ["main"]

_FORMATS = {
    ".tbl": "ascii.ipac",
    ".ipac": "ascii.ipac",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".csv": "ascii.csv",
    ".ecsv": "ascii.ecsv",
    ".fits": "fits",
}


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


def _parser():
    parser = argparse.ArgumentParser(
        prog="twomass-vo",
        description="The 2MASS Batch Image Service: 2MASS Atlas and Quicklook "
        "images by region, positions, coadd_key and date-hemisphere-scan.",
    )
    parser.add_argument(
        "--archive",
        help="'irsa' (the default: IRSA's SIA v2, IBE and TAP services), 'sim' (the "
        "simulated survey, offline) or the folder of a LocalArchive",
    )
    vo = parser.add_argument_group(
        "a VO mirror", "any SIA v2 / TAP service publishing a 2MASS image table"
    )
    vo.add_argument("--tap-url", help="TAP service of the mirror (selects it)")
    vo.add_argument("--tap-table", help="its image table, e.g. twomass.images")
    vo.add_argument("--sia-url", help="its SIA v2 service (optional)")
    vo.add_argument("--datalink-url", help="its datalink/SODA cutout service")
    vo.add_argument("--collection", help="SIA v2 COLLECTION (optional)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--band", default="all", help="all (default), J, H or Ks")
    common.add_argument(
        "--image-type",
        default="atlas",
        choices=("atlas", "quicklook"),
        help="Atlas (default) or Quicklook (lossy: not for photometry)",
    )
    common.add_argument("-o", "--output", type=Path, help="write the result table here")
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
    sub = parser.add_subparsers(dest="mode", required=True, metavar="MODE")

    p = sub.add_parser(
        "region",
        parents=[common],
        help="images overlapping, covering or enclosed by a circle",
    )
    p.add_argument("center", help="coordinates (any help-page format) or object name")
    p.add_argument("diameter", type=float, help="degrees, clamped to [0.05, 7]")
    p.add_argument(
        "--intersect", default="overlaps", choices=("overlaps", "covers", "enclosed")
    )

    p = sub.add_parser(
        "positions", parents=[common], help="images containing each position of a table"
    )
    p.add_argument("table", type=Path, help="IPAC, VOTable, CSV, FITS or ECSV file")
    p.add_argument(
        "--best", action="store_true", help="only the best image per position"
    )
    p.add_argument(
        "--size", type=float, help="cutout size in arcsec (rows without size)"
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
        "whether it answers (exit status 1 if one does not).",
    )
    p.add_argument("--check", action="store_true", help="check every endpoint")

    p = sub.add_parser(
        "download",
        help="write the files of an image table (a result, or a --rest) into a folder",
        description="Write the image files (or cutouts) of the rows of an "
        "ImageTable file into FOLDER: in parallel, within a byte budget, with "
        "retries; files already there are kept, so running it again resumes.",
    )
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
    from .core import _open_archive

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
    return _open_archive(args.archive)


def _info(archive, check):
    """Print the archive's description; return whether every endpoint answers."""
    info = archive.describe(check=check)
    endpoints = info.pop("endpoints", {})
    routes = info.pop("routes", {})
    for key, value in info.items():
        if not isinstance(value, dict):
            print(f"{key}: {value}")
    answered = True
    for mode, status in routes.items():  # archives with one route per mode
        ok = status["ok"]
        answered &= ok is not False
        state = "unchecked" if ok is None else "ok" if ok else "NOT ANSWERING"
        print(f"route {mode}: {status['route']} {status['url']} {state}")
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
    from .image_table import ImageTable

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown table format for {path} (use {', '.join(_FORMATS)})")
    if not path.is_file():
        raise OSError(f"{path}: no such file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. VOTable or FITS unit dialects
        return ImageTable.read(path, format=fmt)


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
    import numpy as np
    from astropy.table import Column

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown table format for {path} (use {', '.join(_FORMATS)})")
    out = table.copy(copy_data=False)
    meta = dict(table.meta)
    if isinstance(meta.get("keywords"), dict):  # read from IPAC (e.g. a --rest)
        keywords = meta.pop("keywords")
        meta.update({k: v.get("value", v) for k, v in keywords.items()})
    meta.pop("comments", None)
    if fmt == "ascii.ipac":
        # IPAC keeps table metadata as \keyword lines
        out.meta = {"keywords": {k: {"value": str(v)} for k, v in meta.items()}}
        # IPAC has no boolean type: y/n as in the help page
        best = out["best"]
        if best.dtype.kind != "b":  # already y/n (a table read from IPAC)
            best = Column(
                best == "y", name="best", description=best.description, meta=best.meta
            )
        out.replace_column(
            "best",
            Column(
                np.where(best, "y", "n"),
                name="best",
                description=best.description,
                meta=best.meta,
            ),
        )
    elif fmt == "fits":  # FITS keywords: 8 characters, upper case
        out.meta = {k[:8].upper(): str(v) for k, v in meta.items()}
    out.write(path, format=fmt, overwrite=overwrite)


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
        0 on success, 2 on bad input or a failed query.
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
        if args.mode == "info":
            return 0 if _info(_archive(args), args.check) else 1
        if args.mode == "download":
            table = _read(args.table)
            if args.archive is not None or args.tap_url:
                table.archive = _archive(args)
            result = _download(table, args.folder, args)
            if args.output is not None:
                _write(result, args.output, args.overwrite)
            return 0 if _all_done(result) else 1
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
        if args.download is not None:
            complete = _all_done(_download(table, args.download, args))
    except (InvalidQueryError, ArchiveError, OSError, ValueError) as exc:
        print(f"twomass-vo: error: {exc}", file=sys.stderr)
        return 2
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
    return 0 if complete else 1


def _all_done(result):
    import numpy as np

    return bool(np.isin(np.asarray(result["status"]), ["ok", "cached"]).all())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
