# Licensed under a 3-clause BSD style license - see LICENSE
"""The simulated 2MASS survey: the whole sky, files made on demand.

`SimulatedArchive` is a `~twomass_vo.archives.LocalArchive` over the survey
layout of `twomass_vo.archives.survey_layout` (59,731 tiles, 1,373,813 image
sets, 4,121,439 images per image type). Its index is built once (under ten seconds
on 2 cores) into the astropy cache folder, or ``twomass_vo.conf.sim_path``, and
reused; its FITS files (`twomass_vo.archives.synthetic_fits`) are written to
the file store the first time they are asked for. ``TwoMassBatch(archive="sim")``
uses it. The pixels are synthetic; everything else has the real survey's form.
"""

import io
import os
import threading
from pathlib import Path

import numpy as np

from ..atomic_files import write_atomic
from ..coords import parse_coordinates
from ..geometry import Footprints, radec_to_xyz
from ..local_files import register_source
from .local import WCS_COLUMNS, LocalArchive, relative_paths
from .survey_layout import survey_layout
from .synthetic_fits import make_image

__all__ = ["SimulatedArchive", "default_sim_path", "simulate_patch"]

_FIELDS = ("coadd_key", "ordate", "hemisphere", "scanno", "image", *WCS_COLUMNS)
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

    from .. import conf

    if os.environ.get("TWOMASS_VO_SIM_PATH"):
        return Path(os.environ["TWOMASS_VO_SIM_PATH"]).expanduser()
    if conf.sim_path:
        return Path(conf.sim_path).expanduser()
    return get_cache_dir_path() / "twomass_vo" / "sim"


def _estimated_sizes(layout):
    """Kbyte sizes of a typical Atlas and Quicklook file (same header layout)."""
    fields = {name: layout[name][0] for name in (*_FIELDS, "scandir")}
    sizes = {}
    for kind in ("atlas", "quicklook"):
        buffer = io.BytesIO()
        make_image(fields, 0, kind).writeto(buffer)
        sizes[f"estsize_{kind}"] = -(-buffer.tell() // 1000)
    return sizes


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
            self.build(path)
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
        """Build the all-sky index into ``path`` (once; under ten seconds on 2 cores).

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
        meta = {"simulated": True, "synthetic_pixels": True, **_estimated_sizes(layout)}
        sets = {name: layout[name] for name in (*_FIELDS, "scandir")}
        LocalArchive.create(path, sets, name="sim", extra_meta=meta)
        return Path(path)

    def _fields(self, row):
        fields = {name: self.columns[name][row] for name in _FIELDS}
        fields["ordate"] = fields["ordate"].decode()
        fields["hemisphere"] = fields["hemisphere"].decode()
        fields["scandir"] = self.columns["scandir"][row].decode()
        return fields

    def _make_file(self, relative, path):
        row, band, kind = self.set_row(relative)
        write_atomic(path, make_image(self._fields(row), band, kind))


def simulate_patch(cls, path, center, radius):
    """Write a simulated survey patch as a `LocalArchive` folder with its files.

    Parameters
    ----------
    cls : type
        The `LocalArchive` class to open the result with.
    path : str or `~pathlib.Path`
        Folder to create.
    center : str or `~astropy.coordinates.SkyCoord`
        Patch centre.
    radius : float or `~astropy.units.Quantity`
        Radius, degrees (at most 5).

    Returns
    -------
    archive : `LocalArchive`
        The patch: every simulated image set overlapping the circle, with its
        Atlas and Quicklook files in J, H and Ks.
    """
    from astropy import units as u

    radius = radius.to_value(u.deg) if isinstance(radius, u.Quantity) else float(radius)
    if not (np.isfinite(radius) and 0 < radius <= 5):
        raise ValueError(f"radius={radius!r} must be in (0, 5] deg")
    centre = parse_coordinates(center)
    layout = survey_layout()
    xyz = radec_to_xyz(centre.ra.deg, centre.dec.deg)
    near = radec_to_xyz(layout["crval1"], layout["crval2"]) @ xyz >= np.cos(
        np.radians(radius + 0.2)
    )
    rows = np.flatnonzero(near)
    wcs = [layout[c][rows] for c in WCS_COLUMNS]
    overlaps = Footprints.from_wcs(*wcs).relate_circle(xyz, np.radians(radius))[0]
    rows = rows[overlaps]
    sets = {name: layout[name][rows] for name in (*_FIELDS, "scandir")}
    meta = {"simulated": True, "synthetic_pixels": True, **_estimated_sizes(layout)}
    archive = cls.create(path, sets, name=Path(path).name, extra_meta=meta)
    for i in range(len(rows)):
        fields = {name: layout[name][rows[i]] for name in (*_FIELDS, "scandir")}
        for kind in ("atlas", "quicklook"):
            for band in range(3):
                rel = relative_paths(
                    [fields["ordate"]],
                    [fields["hemisphere"]],
                    [fields["scanno"]],
                    [fields["image"]],
                    [band],
                    kind,
                )[0]
                write_atomic(archive.files_dir / rel, make_image(fields, band, kind))
    return archive


def _store_file(url):
    """Return the simulated file behind a ``file://`` URL of no archive, or None."""
    archive = SimulatedArchive.holding(url)
    return None if archive is None else archive.local_path(url)


register_source(_store_file)  # tables read back from files still make their files
