# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command: one subcommand per batch mode.

Examples::

    twomass-vo --archive sim region "00 42 44.3 +41 16 08" 0.3 -o m31.vot
    twomass-vo --archive sim positions targets.tbl --best --size 60 --download cutouts/
    twomass-vo --archive sim coadd-keys 1590591 1230312 --band J
    twomass-vo --archive sim scan 971031 n 96 --image 197
    twomass-vo --archive sim scans dhs.tbl -o images.tbl

The result table is written with ``--output`` (format from the extension:
``.tbl``/``.ipac`` IPAC, ``.xml``/``.vot``/``.votable`` VOTable, ``.csv``,
``.ecsv``, ``.fits``) or printed; ``--download FOLDER`` also writes the files.
Bad input ends with a one-line error on stderr and exit status 2.
"""

import argparse
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


def _parser():
    parser = argparse.ArgumentParser(
        prog="twomass-vo",
        description="The 2MASS Batch Image Service: 2MASS Atlas and Quicklook "
        "images by region, positions, coadd_key and date-hemisphere-scan.",
    )
    parser.add_argument(
        "--archive",
        required=True,
        help="'sim' (the simulated survey, offline) or the folder of a LocalArchive",
    )
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
        "--no-decompress", action="store_true", help="keep Quicklook files hcompressed"
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output and downloaded files",
    )
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
    return parser


def _run(args):
    from . import TwoMassBatch

    batch = TwoMassBatch(archive=args.archive)
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


def _write(table, path, overwrite):
    import numpy as np
    from astropy.table import Column

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown table format for {path} (use {', '.join(_FORMATS)})")
    out = table.copy(copy_data=False)
    if fmt == "ascii.ipac":
        # IPAC keeps table metadata as \keyword lines
        out.meta = {"keywords": {k: {"value": str(v)} for k, v in table.meta.items()}}
        # IPAC has no boolean type: y/n as in the help page
        best = out["best"]
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
        out.meta = {k[:8].upper(): str(v) for k, v in table.meta.items()}
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

    args = _parser().parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
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
            for row in table:
                row.download(
                    args.download,
                    decompress=not args.no_decompress,
                    overwrite=args.overwrite,
                )
            print(f"{len(table)} file(s) in {args.download}")
    except (InvalidQueryError, ArchiveError, OSError, ValueError) as exc:
        print(f"twomass-vo: error: {exc}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
