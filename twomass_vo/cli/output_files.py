# Licensed under a 3-clause BSD style license - see LICENSE
"""The files a command writes: checked before the work, written whole or not at all.

The command line (`twomass_vo.cli`) writes its outputs -- the result table
(``-o``; or its footprints, or its coverage), the ``--plot`` and
``--preview`` pictures, the ``--rest`` table -- through `Outputs`:

- before any work, `Outputs.expect` checks each path as it will be written:
  the format of its extension, its folder (there, and writable), the name
  matplotlib will give a picture (`picture_path`: ``--plot p`` writes
  ``p.png``), two options naming one file, and a file already there (a
  table file must start as its format does);
- after the work, `Outputs.stage` writes each file under a hidden temporary
  name beside its target (`twomass_vo._files.atomic_files.new_part`) and compares
  it with the file already there: the same result is not an error (a
  command run again writes it again); a different one is, unless
  ``overwrite``, and the message says how to keep both;
- `Outputs.commit` renames them all once every one is written and
  accepted; on any error (or `Outputs.discard`, or leaving a ``with``
  block by an exception) the temporary files are removed, so a failure
  leaves nothing behind and the files already there as they were.

"The same result" is decided by `same_result`: for tables, the same bytes
but the query date (the writers are deterministic; no reading), or else the
same rows and query read back from both files (the date aside, and the
``local_path``, ``status`` and ``error`` of a download report, which a run
brings up to date); for the other files, the same bytes.
"""

import contextlib
import filecmp
import os
import re
from pathlib import Path

import numpy as np

from .._files.atomic_files import new_part

__all__ = ["REPORT_COLUMNS", "Outputs", "picture_path", "same_result"]

#: The columns of a download report that a later run of it updates.
REPORT_COLUMNS = ("local_path", "status", "error")
#: Metadata entries that differ between two runs of the same query.
_RUN_META = ("date",)


def picture_path(path, option):
    """Return the file a picture option writes: ``p`` is ``p.png``, as matplotlib does.

    Parameters
    ----------
    path : `~pathlib.Path`
        The option's value.
    option : str
        Its name, for the message.

    Returns
    -------
    path : `~pathlib.Path`
        With the extension of matplotlib's default format
        (``savefig.format``) added when it has none.

    Raises
    ------
    ValueError
        If matplotlib cannot write the format of the extension.
    """
    try:
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:  # the plot itself says which extra to install
        return path if path.suffix else path.with_name(f"{path.name}.png")
    if not path.suffix:
        path = path.with_name(f"{path.name}.{matplotlib.rcParams['savefig.format']}")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise ValueError(
            f"{option} {path}: matplotlib cannot write {path.suffix!r} pictures: "
            f"end the name with one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return path


def _is_table(path):
    """Whether a file is a result table (not a region file, a MOC or a picture)."""
    from ..results.result_writer import FORMATS

    name = Path(path).name.lower()
    return Path(name).suffix in FORMATS and not name.endswith(".moc.fits")


def _table_difference(old, new):
    """Return how two result tables differ in words, or None if they do not."""
    old_names = [n for n in old.colnames if n not in REPORT_COLUMNS]
    new_names = [n for n in new.colnames if n not in REPORT_COLUMNS]
    if old_names != new_names:
        return "other columns"
    if len(old) != len(new):
        return f"{len(old)} row(s) there, {len(new)} now"
    for name in new_names:
        a, b = old[name], new[name]
        equal = np.ma.getmaskarray(a) == np.ma.getmaskarray(b)
        data_a, data_b = np.ma.getdata(a), np.ma.getdata(b)
        if data_a.dtype.kind == "f" and data_b.dtype.kind == "f":
            same = (data_a == data_b) | (np.isnan(data_a) & np.isnan(data_b))
        else:
            same = np.asarray(data_a == data_b, dtype=bool)
        differs = np.flatnonzero(~(equal & (same | np.ma.getmaskarray(a))))
        if len(differs):
            return f"column {name!r} differs from row {differs[0]}"
    old_meta, new_meta = dict(old.meta), dict(new.meta)
    for key in _RUN_META:
        old_meta.pop(key, None)
        new_meta.pop(key, None)
    if old_meta != new_meta:
        keys = sorted(
            k
            for k in set(old_meta) | set(new_meta)
            if old_meta.get(k) != new_meta.get(k)
        )
        return f"another query ({', '.join(keys)})"
    return None


#: The query date as every format writes it (FITS and IPAC percent-encode).
_DATE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\+|%2B)00:00")


def _same_but_dates(existing, written):
    """Whether two files are the same bytes once their query dates are blanked.

    The writers are deterministic: two runs of one query differ in the
    ``date`` entry only, so that the same result is found without reading
    (a VOTable of 300,000 rows takes astropy about 20 s to read).
    """
    if existing.stat().st_size != written.stat().st_size:
        return False
    return _DATE.sub(b"", existing.read_bytes()) == _DATE.sub(b"", written.read_bytes())


def same_result(existing, written):
    """Return how a file already there differs from the one just written (None: same).

    Parameters
    ----------
    existing : `~pathlib.Path`
        The file already there.
    written : `~pathlib.Path`
        The new file, in the same format.

    Returns
    -------
    difference : str or None
        In words (e.g. ``24 row(s) there, 30 now``), or None for the same
        result.
    """
    if not _is_table(existing):
        same = filecmp.cmp(existing, written, shallow=False)
        return None if same else "other content"
    if _same_but_dates(existing, written):
        return None
    from ..results.result_reader import read_result

    try:
        old = read_result(existing)
    except Exception as exc:  # any reader's error: not a result table
        return f"not a result table ({type(exc).__name__})"
    return _table_difference(old, read_result(written))


#: The first bytes of a table file of each format (CSV: any text).
_SIGNATURES = {
    "votable": (b"<?xml", b"<VOTABLE"),
    "fits": (b"SIMPLE  =",),
    "ascii.ecsv": (b"# %ECSV",),
    "ascii.ipac": (b"\\", b"|"),
}


def _looks_like(path, fmt):
    """Whether a file starts as a table of format ``fmt`` does (a cheap sniff)."""
    signatures = _SIGNATURES.get(fmt)
    if signatures is None:
        return True
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    return any(head.startswith(s) or s in head[:1024] for s in signatures)


class Outputs:
    """The output files of one command, written whole and renamed together.

    See the module's description. Use it as a context manager: leaving the
    block by an exception discards what was staged.

    Parameters
    ----------
    overwrite : bool, optional
        Replace files already there even when they hold another result.
    """

    def __init__(self, *, overwrite=False):
        self.overwrite = overwrite
        # resolved target -> (option, overwrite)
        self._expected = {}
        self._staged = []  # (temporary file, target)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        self.discard()

    def expect(self, path, option, *, formats=None, picture=False, overwrite=None):
        """Check an output path before any work; return it as it will be written.

        Parameters
        ----------
        path : `~pathlib.Path` or None
            The option's value (None: nothing to check).
        option : str
            Its name, for the messages.
        formats : sequence of str, optional
            The extensions it may have (lower case, with the dot; a name
            ending with one of them passes).
        picture : bool, optional
            A matplotlib picture (`picture_path`).
        overwrite : bool, optional
            Replace it whatever it holds (default: the ``overwrite`` of
            these outputs).

        Returns
        -------
        path : `~pathlib.Path` or None
            The file that will be written.

        Raises
        ------
        ValueError
            For an unknown extension, a folder that does not exist or cannot
            be written, a folder given as a file, a path another option
            writes, or (without ``overwrite``) a table file there that is not
            a result.
        """
        if path is None:
            return None
        path = Path(path)
        if picture:
            path = picture_path(path, option)
        elif formats is not None and not path.name.lower().endswith(tuple(formats)):
            raise ValueError(
                f"{option} {path}: unknown table format {path.suffix or '(none)'!r}: "
                f"end the name with one of {', '.join(formats)}"
            )
        folder = path.parent
        if not folder.is_dir():
            raise ValueError(f"{option} {path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{option} {path}: the folder {folder} is not writable")
        if path.is_dir() and path.suffix.lower() != ".parquet":  # Parquet: a folder
            raise ValueError(f"{option} {path}: is a folder, not a file name")
        key = path.resolve()
        if key in self._expected:
            raise ValueError(
                f"{option} {path}: {self._expected[key][0]} writes that file already"
            )
        overwrite = self.overwrite if overwrite is None else overwrite
        if path.exists() and not overwrite:
            self._check_existing(path, option)
        self._expected[key] = (option, overwrite)
        return path

    def _check_existing(self, path, option):
        """Refuse a table file already there that is not one (by its first bytes)."""
        from ..results.result_writer import FORMATS

        if _is_table(path) and not _looks_like(path, FORMATS[path.suffix.lower()]):
            raise ValueError(
                f"{option} {path}: the file exists and is not a result table; "
                "add --overwrite to replace it"
            )

    def stage(self, path, write):
        """Write one output under a temporary name; check it against the file there.

        Parameters
        ----------
        path : `~pathlib.Path`
            The target, as `expect` returned it.
        write : callable
            ``write(tmp)`` writes the file at `~pathlib.Path` ``tmp`` (a
            hidden name in the target's folder, with the target's extension;
            the file exists, empty: write over it).

        Raises
        ------
        ValueError
            If, without ``overwrite``, the file there holds another result
            (the message says how to keep both); nothing is then written.
        """
        path = Path(path)
        option, overwrite = self._expected.get(
            path.resolve(), ("output", self.overwrite)
        )
        tmp = Path(new_part(path.parent, suffix=path.suffix))
        try:
            write(tmp)
            if path.exists() and not overwrite:
                difference = same_result(path, tmp)
                if difference is not None:
                    raise ValueError(
                        f"{option} {path}: the file holds another result "
                        f"({difference}): add --overwrite to replace it, or give "
                        "another file name to keep both"
                    )
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._staged.append((tmp, path))

    def commit(self):
        """Rename every staged file to its target (each rename is atomic)."""
        staged, self._staged = self._staged, []
        try:
            while staged:
                tmp, path = staged[0]
                os.replace(tmp, path)
                staged.pop(0)
        finally:
            self._staged = staged  # what was not renamed is discarded

    def discard(self):
        """Remove the staged files that were not renamed."""
        for tmp, _ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._staged = []
