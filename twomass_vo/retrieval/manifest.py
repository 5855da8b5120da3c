# Licensed under a 3-clause BSD style license - see LICENSE
"""The record of a download folder, and the lock that keeps one run per folder.

`Manifest` is the JSON-lines file (``twomass_vo-manifest.jsonl``) in which
`twomass_vo.retrieval.download` records every file it writes (URL, size,
SHA-256), so that an interrupted run goes on where it stopped.
`folder_lock` keeps a second run out of a folder in use, and `remove_parts`
removes the temporary files an interrupted run left. The manifest is opened
with `~twomass_vo._files.atomic_files.open_own`: a symbolic link (or a FIFO) planted
under its name is refused, never written through.
"""

import contextlib
import json
import os
import re
from pathlib import Path

from .._files.atomic_files import PART_PREFIX, open_own, write_atomic

__all__ = ["MANIFEST_NAME", "Manifest", "folder_lock", "remove_parts"]

#: Name of the manifest in a download folder.
MANIFEST_NAME = "twomass_vo-manifest.jsonl"


class Manifest:
    """The record of the files written into a download folder.

    One JSON object per line in ``<folder>/twomass_vo-manifest.jsonl``,
    appended (and flushed) as files are done, so that a run interrupted at
    any point leaves a readable record: ``name`` (the file), ``url`` (its
    source), ``size`` (bytes), ``sha256``, plus ``cutout`` (``[ra, dec,
    size_arcsec]``) for cutouts made locally and ``decompressed`` for
    Quicklook files written decompressed. A line cut short by a crash is
    ignored; the last line of a name wins. `close` rewrites it compactly,
    one line per file present, sorted by name.

    Parameters
    ----------
    folder : str or `~pathlib.Path`
        The download folder.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.entries = {}
        self._fh = None
        self._dirty = False
        try:
            with os.fdopen(open_own(self.path, os.O_RDONLY), "rb") as fh:
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                self._dirty = True
                continue
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                if entry["name"] in self.entries:
                    self._dirty = True
                self.entries[entry["name"]] = entry

    def get(self, name):
        """Return the entry of file ``name``, or None.

        Parameters
        ----------
        name : str
            File name in the folder.

        Returns
        -------
        entry : dict or None
            The recorded ``url``, ``size``, ``sha256``, ...
        """
        return self.entries.get(name)

    def add(self, entry):
        """Record a file (appended to the manifest at once).

        Parameters
        ----------
        entry : dict
            With at least ``name``, ``url``, ``size`` and ``sha256``.
        """
        self.add_all([entry])

    def add_all(self, entries):
        """Record files: one append and one flush for all of them.

        Parameters
        ----------
        entries : list of dict
            Each with at least ``name``, ``url``, ``size`` and ``sha256``.
        """
        if not entries:
            return
        if self._fh is None:
            fd = open_own(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            self._fh = os.fdopen(fd, "a", encoding="utf-8")
        self._fh.write(
            "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
        )
        self._fh.flush()
        for entry in entries:
            self._dirty = self._dirty or entry["name"] in self.entries
            self.entries[entry["name"]] = entry

    def close(self):
        """Rewrite the manifest compactly: one line per file present, by name."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._dirty = True
        present = {
            name: entry
            for name, entry in self.entries.items()
            if (self.folder / name).is_file()
        }
        if len(present) != len(self.entries):
            self._dirty = True
        self.entries = present
        if not self._dirty:
            return
        text = "".join(
            json.dumps(self.entries[name], sort_keys=True) + "\n"
            for name in sorted(self.entries)
        )
        if text or self.path.exists():
            write_atomic(self.path, text.encode())
        self._dirty = False


@contextlib.contextmanager
def folder_lock(folder):
    """Hold an exclusive lock on the folder's manifest: one run at a time.

    The lock (``flock``, POSIX) is released when the process ends, however it
    ends, so a crashed run never blocks the next one.

    Parameters
    ----------
    folder : `~pathlib.Path`
        The download folder.

    Yields
    ------
    locked : bool
        Whether the folder is locked (not on systems without ``flock``).

    Raises
    ------
    OSError
        If another run holds the folder, or the manifest's name is a
        symbolic link or not a regular file.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None
    path = folder / MANIFEST_NAME
    with os.fdopen(open_own(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab") as fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise OSError(
                    f"{folder} is in use by another download (its manifest "
                    f"{MANIFEST_NAME} is locked)"
                ) from None
        yield fcntl is not None


def remove_parts(folder):
    """Remove temporary files left by an interrupted run (under the lock only).

    Parameters
    ----------
    folder : `~pathlib.Path`
        The download folder.
    """
    for path in folder.glob(f"{PART_PREFIX}*"):
        if re.fullmatch(r"\.part-[0-9a-f]{32}", path.name) and path.is_file():
            path.unlink(missing_ok=True)
