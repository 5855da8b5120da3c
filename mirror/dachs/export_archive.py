# Licensed under a 3-clause BSD style license - see LICENSE
"""Export a twomass_vo `~twomass_vo.archives.LocalArchive` for the DaCHS mirror.

Writes one CSV row per image file of the archive's file store (Atlas and
Quicklook, J/H/K), with the index values the mirror's resource descriptor
(``twomass.rd``) imports: identifiers, the WCS, the footprint ``s_region``
exactly as the index holds it (``POLYGON ICRS ra1 dec1 ... ra4 dec4``, the
outer pixel edges), the DaCHS access reference and the file size.

Usage::

    python export_archive.py ARCHIVE_PATH OUT.csv [--accref-prefix twomass/files]
        [--image-type all|atlas|quicklook] [--missing skip|error]

Only files that exist in the store are exported (``--missing error`` makes a
missing file an error instead). The summary goes to standard error.
"""

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from twomass_vo.archives import LocalArchive

__all__ = ["COLUMNS", "export_rows", "main", "write_csv"]

#: Columns of the exported CSV, in order.
COLUMNS = (
    "accref",
    "fsize",
    "coadd_key",
    "ordate",
    "hemisphere",
    "scanno",
    "image",
    "band",
    "image_type",
    "crval1",
    "crval2",
    "crpix1",
    "crpix2",
    "cdelt1",
    "cdelt2",
    "crota2",
    "naxis1",
    "naxis2",
    "scandir",
    "s_region",
    "access_format",
)
_WCS = ("crval1", "crval2", "crpix1", "crpix2", "cdelt1", "cdelt2", "crota2")
_BANDS = ("J", "H", "K")


def _text(values):
    """Index values (ASCII bytes or numbers) as a str array."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        return values.astype("U")
    return values.astype(str)


def export_rows(
    archive, *, accref_prefix="twomass/files", image_types=("atlas", "quicklook")
):
    """Rows describing every image file of a `LocalArchive` store.

    Parameters
    ----------
    archive : `~twomass_vo.archives.LocalArchive`
        An archive with a file store (opened from a folder).
    accref_prefix : str, optional
        DaCHS access references are ``<accref_prefix>/<store path>``; the
        store must be reachable as ``<inputsDir>/<accref_prefix>``.
    image_types : sequence of {'atlas', 'quicklook'}, optional
        Which kinds of file to export.

    Returns
    -------
    rows : dict of ndarray
        One array per name in `COLUMNS`, one element per existing file,
        ordered by image type, band and index row.
    missing : int
        Number of files the index lists (``has_band``) but the store lacks.

    Raises
    ------
    ValueError
        If the archive has no file store.
    """
    if archive.files_dir is None:
        raise ValueError(f"{archive!r} has no file store")
    files_dir = Path(archive.files_dir)
    keys = np.asarray(archive.columns["coadd_key"], np.int64)
    sets = archive.find_coadd_keys(keys)
    rows = sets.ref
    n = len(rows)
    per_set = {
        "coadd_key": _text(sets.coadd_key),
        "ordate": _text(sets.ordate),
        "hemisphere": _text(sets.hemisphere),
        "scanno": _text(sets.scanno),
        "image": _text(sets.image),
        "naxis1": _text(np.asarray(archive.columns["naxis1"])[rows]),
        "naxis2": _text(np.asarray(archive.columns["naxis2"])[rows]),
        **{c: _text(np.asarray(archive.columns[c])[rows]) for c in _WCS},
    }
    if "scandir" in archive.columns:
        per_set["scandir"] = _text(np.asarray(archive.columns["scandir"])[rows])
    else:
        per_set["scandir"] = np.full(n, "")
    parts = {c: [] for c in COLUMNS}
    missing = 0
    prefix = accref_prefix.strip("/")
    for image_type in image_types:
        for band_code, band in enumerate(_BANDS):
            wanted = np.flatnonzero(sets.has_band[:, band_code])
            refs = archive.files(
                sets.take(wanted), np.full(len(wanted), band_code), image_type
            )
            relative, sizes, keep = [], [], []
            for i, url in enumerate(refs.access_url):
                path = archive.local_path(str(url))
                if path is None or not path.is_file():
                    missing += 1
                    continue
                relative.append(path.relative_to(files_dir).as_posix())
                sizes.append(path.stat().st_size)
                keep.append(i)
            keep = np.asarray(keep, np.int64)
            chosen = wanted[keep]
            parts["accref"].append(
                np.char.add(f"{prefix}/", np.asarray(relative, "U"))
                if len(keep)
                else np.zeros(0, "U1")
            )
            parts["fsize"].append(np.asarray(sizes, np.int64).astype(str))
            for column, values in per_set.items():
                parts[column].append(values[chosen])
            parts["band"].append(np.full(len(keep), band))
            parts["image_type"].append(np.full(len(keep), image_type))
            parts["s_region"].append(_text(refs.s_region)[keep])
            parts["access_format"].append(_text(refs.access_format)[keep])
    result = {
        c: np.concatenate(v) if v else np.zeros(0, "U1") for c, v in parts.items()
    }
    return result, missing


def write_csv(rows, out):
    """Write `export_rows` output as CSV with a header line.

    Parameters
    ----------
    rows : dict of ndarray
        Columns named as in `COLUMNS`.
    out : str or `~pathlib.Path`
        File to write (replaced atomically).

    Returns
    -------
    n : int
        Number of rows written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    n = len(rows["accref"])
    with open(tmp, "w", newline="", encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(zip(*(rows[c] for c in COLUMNS), strict=True))
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return n


def main(argv=None):
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", help="LocalArchive folder")
    parser.add_argument("out", help="CSV file to write")
    parser.add_argument("--accref-prefix", default="twomass/files")
    parser.add_argument(
        "--image-type", choices=("all", "atlas", "quicklook"), default="all"
    )
    parser.add_argument("--missing", choices=("skip", "error"), default="skip")
    args = parser.parse_args(argv)
    archive = LocalArchive(args.archive)
    kinds = ("atlas", "quicklook") if args.image_type == "all" else (args.image_type,)
    rows, missing = export_rows(
        archive, accref_prefix=args.accref_prefix, image_types=kinds
    )
    if missing and args.missing == "error":
        print(f"{missing} indexed files are missing from the store", file=sys.stderr)
        return 1
    n = write_csv(rows, args.out)
    print(
        f"exported {n} files of {len(archive)} image sets from {archive.path}"
        f" to {args.out} ({missing} indexed files missing from the store)",
        file=sys.stderr,
    )
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
