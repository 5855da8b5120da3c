# Licensed under a 3-clause BSD style license - see LICENSE
"""The simulated 2MASS survey: the whole sky, files made on demand.

`SimulatedArchive` is a `~twomass_vo.archives.LocalArchive` over the survey
layout of `twomass_vo.archives.simulated.survey_layout` (59,731 tiles, 1,373,813 image
sets, 4,121,439 images per image type). Its index is built once (about ten seconds
on 2 cores) into the astropy cache folder, or ``twomass_vo.conf.sim_path``, and
reused; its FITS files (`twomass_vo.archives.simulated.synthetic_fits`) are written to
the file store the first time they are asked for. ``TwoMassBatch(archive="sim")``
uses it. The pixels are synthetic; everything else has the real survey's form.
"""

import json
import os
import shutil
import sys
import threading
import uuid
from pathlib import Path

from ..._files.atomic_files import open_own, write_atomic
from ..local.archive import LocalArchive
from ..local.index_builder import FORMAT
from ..local.index_files import GEOMETRY_COLUMNS
from .patches import SIM_FIELDS, estimated_sizes, simulate_patch
from .survey_layout import survey_layout
from .synthetic_fits import image_bytes

__all__ = ["SimulatedArchive", "SimulatedStores", "default_sim_path", "simulate_patch"]

_TEXT = ("ordate", "hemisphere", "scandir")
_OPEN = {}
_LOCK = threading.Lock()


def default_sim_path():
    """Folder of the all-sky simulated archive.

    Returns
    -------
    path : `~pathlib.Path`
        The environment variable ``TWOMASS_VO_SIM_PATH`` if set, else
        ``twomass_vo.conf.sim_path`` if set, else
        ``<astropy cache dir>/twomass_vo/sim``.
    """
    from astropy.config import get_cache_dir_path

    from ... import conf

    if os.environ.get("TWOMASS_VO_SIM_PATH"):
        return Path(os.environ["TWOMASS_VO_SIM_PATH"]).expanduser()
    if conf.sim_path:
        return Path(conf.sim_path).expanduser()
    return get_cache_dir_path() / "twomass_vo" / "sim"


def _index_format(path):
    """Return the ``format`` of ``path/archive.json`` (None if unreadable)."""
    try:
        return json.loads((Path(path) / "archive.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def _is_stale(path):
    """Whether the index in ``path`` is of an older format (or incomplete)."""
    return _index_format(path) != FORMAT or not all(
        (Path(path) / "index" / f"{column}.npy").exists() for column in GEOMETRY_COLUMNS
    )


def _rebuild(build, path):
    """Replace the simulated index in ``path`` by one of the current format.

    The new index is built beside the old one (by ``build(folder)``) and
    swapped in; the files already made (the store) move over, and the old
    index is removed.
    """
    path = Path(path)
    fresh = path.parent / f".{path.name}-{uuid.uuid4().hex}"
    stale = path.parent / f".{path.name}-old-{uuid.uuid4().hex}"
    build(fresh)
    try:
        os.replace(path, stale)
        if (stale / "files").is_dir():
            (fresh / "files").rmdir()
            os.replace(stale / "files", fresh / "files")
        os.replace(fresh, path)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def _build_once(build, path):
    """Build the index in ``path`` unless it is there; one builder at a time.

    Processes (and threads) building the same folder take turns on an
    exclusive `fcntl.flock` lock of the file ``.<name>.lock`` next to it: the
    first builds (``build(path)``, or a rebuild of an index of an older
    format), the others wait, then find the index and use it. One line on
    stderr says what is going on (the build takes about ten seconds on an idle machine).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows: no lock)
        fcntl = None
    lock_path = path.parent / f".{path.name}.lock"
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    with os.fdopen(open_own(lock_path, flags), "a") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(
                    "twomass_vo: waiting for another process building the "
                    f"simulated survey index in {path}",
                    file=sys.stderr,
                    flush=True,
                )
                fcntl.flock(lock, fcntl.LOCK_EX)
        exists = (path / "archive.json").exists()
        if exists and not _is_stale(path):
            return
        print(
            f"twomass_vo: {'rebuilding' if exists else 'building'} the simulated "
            f"survey index, ~10 s, once (in {path})",
            file=sys.stderr,
            flush=True,
        )
        if exists:
            _rebuild(build, path)
        else:
            build(path)


class SimulatedArchive(LocalArchive):
    """The whole simulated 2MASS survey, with FITS files made on demand.

    Parameters
    ----------
    path : str or `~pathlib.Path`, optional
        Folder of the archive (default `default_sim_path`); the index is
        built there on first use.

    Notes
    -----
    Use `SimulatedArchive.default` to share one open instance per process.
    """

    name = "sim"

    def __init__(self, path=None):
        path = Path(path) if path is not None else default_sim_path()
        if not (path / "archive.json").exists():
            _build_once(self.build, path)
        elif _is_stale(path):
            _build_once(self.build, path)  # an older version: never misread
        super().__init__(path)

    @classmethod
    def default(cls, path=None):
        """Return the process-wide instance for ``path`` (built on first use).

        Parameters
        ----------
        path : str or `~pathlib.Path`, optional
            Folder (default `default_sim_path`).

        Returns
        -------
        archive : `SimulatedArchive`
            The shared, opened archive.
        """
        path = Path(path) if path is not None else default_sim_path()
        with _LOCK:
            key = str(path.resolve())
            if key not in _OPEN:
                _OPEN[key] = cls(path)
            return _OPEN[key]

    @classmethod
    def holding(cls, url):
        """Return the simulated archive whose file store holds ``url``, if any.

        Looks at the archives opened in this process and at the default
        folder (`default_sim_path`), without building anything, so that a
        table read back from a file can still make its simulated files.

        Parameters
        ----------
        url : str
            A ``file://`` URL.

        Returns
        -------
        archive : `SimulatedArchive` or None
            The archive, or None if no simulated store holds the URL.
        """
        url = str(url)
        with _LOCK:
            for archive in _OPEN.values():
                if url.startswith(archive.files_uri):
                    return archive
        path = default_sim_path()
        if (path / "archive.json").exists():
            files_uri = (path / "files").resolve().as_uri() + "/"
            if url.startswith(files_uri):
                return cls.default(path)
        return None

    @staticmethod
    def build(path):
        """Build the all-sky index into ``path`` (once; about ten seconds on 2 cores).

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Folder to create.

        Returns
        -------
        path : `~pathlib.Path`
            The folder.
        """
        layout = survey_layout()
        meta = {"simulated": True, "synthetic_pixels": True, **estimated_sizes(layout)}
        # strings as the index stores them (ASCII bytes): a quarter of the memory
        sets = {
            name: layout.pop(name).astype("S") if name in _TEXT else layout.pop(name)
            for name in (*SIM_FIELDS, "scandir")
        }
        del layout
        LocalArchive.create(path, sets, name="sim", extra_meta=meta)
        return Path(path)

    def _fields(self, row):
        fields = {name: self.columns[name][row] for name in SIM_FIELDS}
        fields["ordate"] = fields["ordate"].decode()
        fields["hemisphere"] = fields["hemisphere"].decode()
        fields["scandir"] = self.columns["scandir"][row].decode()
        return fields

    def _make_file(self, relative, path):
        row, band, kind = self.set_row(relative)
        write_atomic(path, image_bytes(self._fields(row), band, kind))


class SimulatedStores:
    """The file stores of the simulated archives, for rows of no archive.

    A table read back from a file has no archive; its ``file://`` URLs may
    name files of a simulated store, which are made on demand. The row
    loader (`~twomass_vo.ImageRow.open`) and the download task
    (`~twomass_vo.retrieval.tasks.run_task`) pass this object where they
    would pass the rows' archive. It holds nothing (it pickles to a process
    pool's workers as is): each call looks at the simulated archives opened
    in the process and at the default folder (`SimulatedArchive.holding`).
    """

    def local_path(self, url):
        """Return the simulated file behind a ``file://`` URL, made if needed.

        Parameters
        ----------
        url : str
            Any ``access_url``.

        Returns
        -------
        path : `~pathlib.Path` or None
            The file, or None for a URL of no simulated store.
        """
        if not str(url).startswith("file:"):
            return None
        archive = SimulatedArchive.holding(url)
        return None if archive is None else archive.local_path(url)
