# Licensed under a 3-clause BSD style license - see LICENSE
"""The ``twomass-vo`` command: one subcommand per batch mode.

Examples::

    twomass-vo --archive sim sources psc.vot --size 30 --not-found lost.tbl
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
byte budget: run the line it prints to continue); 2 usage error or bad input
(a one-line error on stderr, before any work); 3 the archive (or another
service: the name resolver, the SAMP hub) is unreachable or failed, in one
line naming the host and the cause (``-v``: the details; ``info --check``:
an endpoint does not answer).
"""

import logging
import sys
import warnings
from pathlib import Path

from .frames import (
    check_frame_arguments,
    download_parquet,
    scheduler,
    write_frame_outputs,
)
from .output import (
    download_rows,
    expect_outputs,
    rerun_command,
    send_samp,
    stage_pictures,
    stage_result,
)
from .parser import (
    build_parser,
    check_arguments,
    parse_size,
)

__all__ = ["main", "parse_size"]

#: Exit statuses (see the module docstring).
EXIT_OK, EXIT_NOT_RETRIEVED, EXIT_BAD_INPUT, EXIT_ARCHIVE = 0, 1, 2, 3


def _archive(args):
    """Return the archive the options name: a VO mirror, or --archive (IRSA)."""
    from ..core import open_archive

    if args.tap_url:
        if not args.tap_table:
            raise ValueError("--tap-url needs --tap-table (the mirror's image table)")
        if args.archive is not None:
            raise ValueError("give either --archive or --tap-url, not both")
        from ..archives import VOArchive

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


#: What ``info`` shows of an archive's settings without ``-v`` (when set).
_INFO_SUMMARY = ("path", "image_sets", "table", "collection")


def _info(archive, check, verbose):
    """Print the archive's routes and endpoints; return whether every one answers.

    The archive's settings are printed with ``-v`` only (its name, kind and
    the few of `_INFO_SUMMARY` always); a failure is said in words, its
    full text with ``-v``.
    """
    info = archive.describe(check=check)
    endpoints = info.pop("endpoints", {})
    routes = info.pop("routes", {})
    print(f"archive: {info.get('name')} ({info.get('kind')})")
    for key, value in info.items():
        if isinstance(value, dict) or key in ("name", "kind"):
            continue
        if verbose or (key in _INFO_SUMMARY and value is not None):
            print(f"{key}: {value}")
    answered = True
    for mode, status in routes.items():  # archives with one route per mode
        ok = status["ok"]
        answered &= ok is not False
        state = "unchecked" if ok is None else "ok" if ok else "NOT ANSWERING"
        line = f"route {mode}: {status['route']} {status['url']} {state}"
        if ok is False:
            line += f" ({_why(status, verbose)})"
        print(line)
    for name, status in endpoints.items():
        answered &= bool(status["ok"])
        state = "ok" if status["ok"] else "NOT ANSWERING"
        detail = status["detail"] if status["ok"] else _why(status, verbose)
        print(f"endpoint {name}: {status['url']} {state} ({detail})")
    return answered


def _why(status, verbose):
    """Why an endpoint does not answer: in words, or in full with ``-v``."""
    if verbose or not status.get("cause"):
        detail = " ".join(str(status["detail"]).split())
        return detail if verbose or len(detail) <= 160 else detail[:157] + "..."
    return status["cause"]


def _run(args):
    from .. import TwoMassBatch

    batch = TwoMassBatch(archive=_archive(args))
    common = {"band": args.band, "image_type": args.image_type}
    if args.mode == "region":
        return batch.query_region(
            args.center,
            args.diameter,
            radius=args.radius,
            width=args.width,
            intersect=args.intersect,
            **common,
        )
    if args.mode in ("positions", "sources"):
        from ..dask_queries import frame_input

        source = frame_input(args.table)
        source = args.table if source is None else source
    if args.mode == "positions":
        return batch.query_positions(source, best=args.best, size=args.size, **common)
    if args.mode == "sources":
        return batch.query_sources(source, link=args.link, size=args.size, **common)
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


_ARGUMENTS = {
    "scan": {"date": "DATE", "hemisphere": "HEMISPHERE", "scan": "SCAN"},
    "coadd-keys": {"keys": "KEY"},
}


def _message(exc, mode):
    """Return the text of an error in the command line's terms."""
    from ..exceptions import InputError

    names = {"band": "--band", "image": "--image", **_ARGUMENTS.get(mode, {})}
    column = getattr(exc, "column", None)
    if isinstance(exc, InputError) and column in names:
        if exc.row is None:
            return f"{names[column]} {exc.value!r} {exc.reason}"
        if column == "keys":  # keys on the command line
            return f"{names[column]} number {exc.row + 1}: {exc.value!r} {exc.reason}"
    return str(exc)


def _report(exc, args):
    """Print an error on one line (its details with ``-v``); return the exit status.

    Network failures (anywhere under the error, a failed name resolution
    included) and archive errors are status 3, in at most about 200
    characters naming the host and the cause; the rest is bad input (2).
    """
    from .._http.network_errors import network_failure, wrapped_exceptions
    from ..exceptions import ArchiveError

    failure = network_failure(exc)
    if failure is None and not isinstance(exc, ArchiveError):
        print(f"twomass-vo: error: {_message(exc, args.mode)}", file=sys.stderr)
        status = EXIT_BAD_INPUT
    else:
        text = " ".join(str(exc).split())
        if failure is not None and len(text) > 200:
            text = f"{failure.line} (details: twomass-vo -v)"
        print(f"twomass-vo: error: {text}", file=sys.stderr)
        status = EXIT_ARCHIVE
    if getattr(args, "verbose", False):
        shown = set()
        for link in wrapped_exceptions(exc):
            detail = getattr(link, "detail", None) or f"{type(link).__name__}: {link}"
            if detail not in shown:
                shown.add(detail)
                print(f"twomass-vo: details: {detail}", file=sys.stderr)
    return status


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
    from ..exceptions import ArchiveError, InvalidQueryError
    from .output_files import Outputs

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parser.parse_args(argv)
    args.argv = argv  # to say exactly what to run to continue
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
        check_arguments(args)
        outputs = Outputs(overwrite=getattr(args, "overwrite", False))
        expect_outputs(args, outputs)
        if getattr(args, "preview", None) is not None and args.mode != "positions":
            raise ValueError("--preview is for the positions mode")
        frames = check_frame_arguments(args)
        if args.mode == "info":
            answered = _info(_archive(args), args.check, args.verbose)
            return EXIT_OK if answered else EXIT_ARCHIVE
        if args.mode == "download" and args.table.suffix.lower() == ".parquet":
            archive = _archive(args) if args.archive or args.tap_url else None
            with scheduler(args):
                done = download_parquet(args, archive)
            return EXIT_OK if done else EXIT_NOT_RETRIEVED
        if args.mode == "download":  # an ImageTable file, with its metadata
            from ..results.result_reader import read_result

            table = read_result(args.table)
            if args.archive is not None or args.tap_url:
                table.archive = _archive(args)
            result = download_rows(table, args.folder, args)
            if args.output is not None:
                with outputs:
                    stage_result(
                        outputs, result, args.output, votable_format=args.votable_format
                    )
                    outputs.commit()
            return EXIT_OK if _all_done(result) else EXIT_NOT_RETRIEVED
        if frames:  # Parquet / CSV files: a dask DataFrame, partition by partition
            with scheduler(args):
                done = write_frame_outputs(_run(args), args)
            return EXIT_OK if done else EXIT_NOT_RETRIEVED
        table = _run(args)
        # every output is written whole, or none is (a failure leaves nothing)
        with outputs:
            if args.output is not None:
                stage_result(
                    outputs, table, args.output, votable_format=args.votable_format
                )
            if getattr(args, "not_found", None) is not None:
                stage_result(outputs, table.not_found, args.not_found)
            stage_pictures(outputs, table, args)
            outputs.commit()
        if getattr(args, "not_found", None) is not None:
            print(f"{len(table.not_found)} source(s) not found -> {args.not_found}")
        if args.output is not None:
            print(f"{len(table)} image file(s) -> {args.output}")
        else:
            from ..results.columns import DISPLAY_FIRST

            columns = [*DISPLAY_FIRST, "dist_edge", "best", "access_url"]
            table[columns].pprint(max_width=-1)
        if args.plot is not None:
            print(f"footprints -> {args.plot}")
        if args.preview is not None:
            print(f"colour previews -> {args.preview}")
        samp_failed = args.samp and not send_samp(table, args.timeout)
        if args.download is not None:  # after a failed --samp too
            complete = _all_done(download_rows(table, args.download, args))
        if samp_failed:
            return EXIT_ARCHIVE
    except (ArchiveError, InvalidQueryError, OSError, ValueError, ImportError) as exc:
        return _report(exc, args)
    except KeyboardInterrupt:
        print(
            "twomass-vo: interrupted (the files already written are kept); to "
            f"continue, run: {rerun_command(args.argv)}",
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
