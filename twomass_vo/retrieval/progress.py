# Licensed under a 3-clause BSD style license - see LICENSE
"""Progress of a download run: one aggregate bar, a callback, or nothing."""

import sys
import time

__all__ = ["Progress"]


class Progress:
    """One aggregate bar (files and bytes) on a terminal, or a callback, or nothing.

    Parameters
    ----------
    progress : bool or callable
        True: a bar on a terminal (tqdm if installed), never when stderr is
        not a TTY; a callable: called as ``progress(files_done, files_total,
        bytes_done, bytes_total)`` after each file; False: nothing.
    total_files : int
        Files to transfer.
    total_bytes : int
        Their estimated size.
    """

    def __init__(self, progress, total_files, total_bytes):
        self.callback = progress if callable(progress) else None
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.files = 0
        self.bytes = 0
        self.bar = None
        self.tty = False
        self._last = 0.0
        self._start = time.monotonic()
        if self.callback is None and progress and _isatty(sys.stderr):
            self.tty = True
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(
                    total=total_bytes or None,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=self._files_text(),
                    file=sys.stderr,
                    dynamic_ncols=True,
                )

    def _files_text(self):
        return f"{self.files}/{self.total_files} files"

    def file_done(self, size):
        """Count one file done, of ``size`` bytes written."""
        self.files += 1
        self.bytes += size
        if self.callback is not None:
            self.callback(self.files, self.total_files, self.bytes, self.total_bytes)
        self.refresh(0, force=self.files == self.total_files)

    def refresh(self, live, *, force=False):
        """Redraw the bar with ``live`` bytes of transfers under way."""
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        done = self.bytes + live
        if self.bar is not None:
            self.bar.set_description_str(self._files_text(), refresh=False)
            self.bar.update(done - self.bar.n)
            return
        width = 24
        frac = (
            min(done / self.total_bytes, 1.0)
            if self.total_bytes
            else (self.files / self.total_files if self.total_files else 1.0)
        )
        filled = int(frac * width)
        rate = done / max(now - self._start, 1e-9)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self._files_text()} "
            f"{_human(done)}/{_human(self.total_bytes)} {_human(rate)}/s "
        )
        sys.stderr.flush()

    def close(self):
        """Finish the bar (the estimates become the bytes written)."""
        if not self.tty:
            return
        if self.files == self.total_files:  # the estimates were estimates
            self.total_bytes = self.bytes
            if self.bar is not None:
                self.bar.total = self.bytes
        self.refresh(0, force=True)
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _human(n):
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
