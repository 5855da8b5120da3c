# Licensed under a 3-clause BSD style license - see LICENSE
"""Lazy FITS loaders behind `ImageRow.open`, `ImageRow.cutout` and `ImageRow.download`.

A `Loader` turns an ``access_url`` into a local file (asking the archive first,
which makes simulated files on demand; then ``file://`` paths; then ``http(s)``
through the retrying fetch and the file cache of `twomass_vo.retrieval`, with
TLS verification), opens it once and caches the `~astropy.io.fits.HDUList`,
makes local cutouts with `~astropy.nddata.Cutout2D`, and writes files
atomically under names built from validated metadata only (`file_name_for`,
`atomic_writer`, `write_atomic`). `ImageTable.download
<twomass_vo.ImageTable.download>` (many files at once) uses the same helpers.
"""

import contextlib
import os
import re
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

__all__ = [
    "Loader",
    "angle_arcsec",
    "atomic_writer",
    "cutout_center",
    "cutout_hdul",
    "file_name_for",
    "local_source",
    "row_value",
    "write_atomic",
]

_WCS_KEYS = re.compile(
    r"^(WCSAXES|CRPIX\d|CRVAL\d|CDELT\d|CROTA\d|CTYPE\d|CUNIT\d|PC\d_\d|CD\d_\d"
    r"|LONPOLE|LATPOLE|RADESYS|EQUINOX|MJDREF|DATEREF)$"
)


def angle_arcsec(value, name):
    """Convert an angular size to a positive float in arcsec.

    Parameters
    ----------
    value : `~astropy.units.Quantity` or float
        An angle; a bare number is taken as arcsec.
    name : str
        Name of the argument, for the error message.

    Returns
    -------
    arcsec : float
        The size in arcsec.

    Raises
    ------
    ValueError
        If the value is not a positive, finite angle.
    """
    try:
        arcsec = (
            value.to_value(u.arcsec) if isinstance(value, u.Quantity) else float(value)
        )
    except (TypeError, ValueError, u.UnitsError) as exc:
        raise ValueError(f"{name}={value!r} is not an angle: {exc}") from None
    if not (np.isfinite(arcsec) and arcsec > 0):
        raise ValueError(f"{name}={value!r} must be a positive, finite angle")
    return float(arcsec)


def _cutout_size(row):
    return float(row_value(row, "cutout_size", 0.0))


def file_name_for(row, *, decompress=True):
    """File name of a row's image, built only from validated metadata.

    Parameters
    ----------
    row : `~twomass_vo.ImageRow` or mapping
        Needs ``ordate``, ``hemisphere``, ``scanno``, ``image``, ``band``,
        ``image_type``, ``scntr`` and ``cutout_size``.
    decompress : bool, optional
        Whether a Quicklook file is written decompressed (``.fits``) or as
        stored, hcompressed (``.fits.fz``, the fpack convention).

    Returns
    -------
    name : str
        E.g. ``001022s_ji0620186.fits`` (Atlas), ``001022s_jq0620186.fits``
        (Quicklook; ``.fits.fz`` if kept compressed), with ``_cut<scntr>``
        before the suffix for cutouts.

    Raises
    ------
    ValueError
        If a field is not of the 2MASS form (so nothing else reaches a path).
    """
    ordate, hem = str(row["ordate"]), str(row["hemisphere"])
    band, scan, image = str(row["band"]).lower(), int(row["scanno"]), int(row["image"])
    if not (
        re.fullmatch(r"\d{6}", ordate)
        and hem in ("n", "s")
        and band in ("j", "h", "k")
        and 1 <= scan <= 999
        and 0 <= image <= 9999
    ):
        raise ValueError(
            f"row metadata is not a 2MASS image identity: ordate={ordate!r}, "
            f"hemisphere={hem!r}, band={band!r}, scanno={scan}, image={image}"
        )
    kind = "q" if str(row["image_type"]) == "quicklook" else "i"
    name = f"{ordate}{hem}_{band}{kind}{scan:03d}{image:04d}"
    if _cutout_size(row) > 0:
        return name + f"_cut{int(row['scntr'])}.fits"  # cutouts are never compressed
    return name + (".fits.fz" if kind == "q" and not decompress else ".fits")


#: Prefix of the temporary files of `atomic_writer` (hidden, never a final name).
PART_PREFIX = ".part-"


@contextlib.contextmanager
def atomic_writer(path, *, check=None):
    """Open a temporary file next to ``path``; rename it to ``path`` when done.

    The temporary file is hidden (``.part-<random>``) in the same folder, so
    that the final rename is atomic: no partial file ever stands under the
    final name. If the block raises, or ``check`` rejects the written file,
    the temporary file is removed and nothing is renamed. The file gets the
    usual permissions (``0666`` less the umask), unlike `tempfile.mkstemp`.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        The final file; its folder is created if missing.
    check : callable, optional
        Called with the temporary file's path once it is written and closed;
        raise to reject the content.

    Yields
    ------
    fh : file object
        The temporary file, open for reading and writing in binary mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{PART_PREFIX}{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield fh
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path, hdul_or_bytes, *, check=None):
    """Write a file under a temporary name in the same folder, then rename it.

    No partial file ever stands under the final name (see `atomic_writer`).

    Parameters
    ----------
    path : `~pathlib.Path`
        The final file.
    hdul_or_bytes : `~astropy.io.fits.HDUList` or bytes
        The content.
    check : callable, optional
        Called with the temporary file's path before the rename; raise to
        reject the content (nothing is then written).
    """
    with atomic_writer(path, check=check) as fh:
        if isinstance(hdul_or_bytes, bytes | bytearray):
            fh.write(hdul_or_bytes)
        else:
            hdul_or_bytes.writeto(fh)


def _decompressed(hdul):
    """Return a plain primary-HDU copy of the first image of ``hdul``."""
    for hdu in hdul:
        if isinstance(hdu, fits.CompImageHDU):
            header = hdu.header.copy()
            for key in ("XTENSION", "PCOUNT", "GCOUNT"):
                header.remove(key, ignore_missing=True)
            return fits.HDUList([fits.PrimaryHDU(np.asarray(hdu.data), header)])
    return hdul


def _image_hdu(hdul):
    for hdu in hdul:
        if hdu.is_image and hdu.data is not None:
            return hdu
    raise ValueError("the file holds no image")


def row_value(row, name, default):
    """Return ``row[name]``, or ``default`` where it is masked.

    Tables read back from files (CSV, ECSV, FITS, VOTable) come back with
    empty values masked.

    Parameters
    ----------
    row : `~twomass_vo.ImageRow` or mapping
        The row.
    name : str
        Column name.
    default : object
        Value for a masked element.

    Returns
    -------
    value : object
        The value.
    """
    value = row[name]
    return default if np.ma.is_masked(value) else value


def cutout_center(row):
    """Default centre of a row's cutout: its input position, else the image centre.

    Parameters
    ----------
    row : `~twomass_vo.ImageRow` or mapping
        Needs ``in_ra``, ``in_dec``, ``ra`` and ``dec`` (deg).

    Returns
    -------
    ra, dec : float
        ICRS degrees.
    """
    ra = float(row_value(row, "in_ra", np.nan))
    dec = float(row_value(row, "in_dec", np.nan))
    if not (np.isfinite(ra) and np.isfinite(dec)):
        ra, dec = float(row["ra"]), float(row["dec"])
    return ra, dec


def cutout_hdul(hdul, ra, dec, size_arcsec):
    """Cut a square of ``size_arcsec`` around (ra, dec) out of an image.

    Parameters
    ----------
    hdul : `~astropy.io.fits.HDUList`
        The full image (its first image HDU with data is used; decompressed).
    ra, dec : float
        Cutout centre, ICRS degrees.
    size_arcsec : float
        Width and height in arcsec; clipped to the image.

    Returns
    -------
    hdul : `~astropy.io.fits.HDUList`
        A primary HDU with the cutout pixels and an updated WCS header.
    """
    hdu = _image_hdu(hdul)
    wcs = WCS(hdu.header)
    center = SkyCoord(ra, dec, unit="deg")
    cut = Cutout2D(
        hdu.data, center, size_arcsec * u.arcsec, wcs=wcs, mode="trim", copy=True
    )
    header = hdu.header.copy()
    for key in ("XTENSION", "PCOUNT", "GCOUNT"):
        header.remove(key, ignore_missing=True)
    for key in [k for k in header if _WCS_KEYS.match(k)]:
        header.remove(key, remove_all=True)
    header.update(cut.wcs.to_header())
    header["CUTOUT"] = (True, "cutout made by twomass_vo (Cutout2D)")
    return fits.HDUList([fits.PrimaryHDU(cut.data, header)])


def local_source(url, archive=None):
    """Local file behind a non-HTTP ``url``, or None for ``http(s)`` URLs.

    The archive is asked first (a simulated archive makes the file on
    demand); without one, the simulated archive whose file store holds the
    URL, if any. Then ``file://`` URLs and plain paths are taken as local
    files.

    Parameters
    ----------
    url : str
        An ``access_url`` or ``cutout_url``.
    archive : `~twomass_vo.archives.Archive`, optional
        The archive the URL came from.

    Returns
    -------
    path : `~pathlib.Path` or None
        The local file (which may not exist), or None for an ``http(s)`` URL.

    Raises
    ------
    ValueError
        For an empty URL or another scheme (``ftp:``, ``data:``, ...).
    """
    url = str(url)
    if not url:
        raise ValueError("this row has no URL")
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        return None
    if archive is None and parsed.scheme == "file":
        from .archives.simulated import SimulatedArchive

        archive = SimulatedArchive.holding(url)
    if archive is not None and hasattr(archive, "local_path"):
        path = archive.local_path(url)
        if path is not None:
            return Path(path)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(url)
    raise ValueError(f"unsupported URL scheme in {url!r} (only http, https, file)")


class Loader:
    """Fetches, opens and caches the files of an `~twomass_vo.ImageTable`.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`, optional
        Asked first for a local path of a URL (a simulated archive makes the
        file on demand).
    """

    def __init__(self, *, archive=None):
        self.archive = archive
        self._cache = {}

    def local_path(self, url):
        """Local path of the file behind ``url``, fetching it if needed.

        ``http(s)`` files are fetched once, with retries
        (`twomass_vo.retrieval.cached_path`), into the file cache
        (``twomass_vo.conf.cache_dir``).

        Parameters
        ----------
        url : str
            ``file://`` or ``http(s)://`` URL (or a plain local path).

        Returns
        -------
        path : `~pathlib.Path`
            A readable local file.
        """
        path = local_source(url, self.archive)
        if path is None:
            from .retrieval import cached_path

            path = cached_path(str(url))
        return path

    def open(self, url, *, decompress=True):
        """Open ``url`` once; later calls return the cached `~astropy.io.fits.HDUList`.

        Parameters
        ----------
        url : str
            The file's URL.
        decompress : bool, optional
            Return compressed images as a plain primary HDU.

        Returns
        -------
        hdul : `~astropy.io.fits.HDUList`
            The file, fully read into memory.
        """
        key = (str(url), bool(decompress))
        if key not in self._cache:
            path = self.local_path(url)
            with fits.open(path, memmap=False) as hdul:
                copied = fits.HDUList([hdu.copy() for hdu in hdul])
            self._cache[key] = _decompressed(copied) if decompress else copied
        return self._cache[key]

    def local_cutout(self, url, ra, dec, size_arcsec):
        """Cut a square of ``size_arcsec`` around (ra, dec) out of the file.

        Parameters
        ----------
        url : str
            URL of the full image.
        ra, dec : float
            Cutout centre, ICRS degrees.
        size_arcsec : float
            Width and height in arcsec; clipped to the image.

        Returns
        -------
        hdul : `~astropy.io.fits.HDUList`
            The cutout with an updated WCS header.
        """
        return cutout_hdul(self.open(url, decompress=True), ra, dec, size_arcsec)

    def download_row(self, row, folder, *, decompress=True, overwrite=False):
        """Write the file (or cutout) of ``row`` into ``folder`` atomically.

        Parameters
        ----------
        row : `~twomass_vo.ImageRow`
            The row.
        folder : str or `~pathlib.Path`
            Target folder.
        decompress : bool, optional
            Decompress Quicklook files.
        overwrite : bool, optional
            Replace an existing file.

        Returns
        -------
        path : `~pathlib.Path`
            The file in ``folder``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = (folder / file_name_for(row, decompress=decompress)).resolve()
        if target.parent != folder.resolve():  # pragma: no cover - defensive
            raise ValueError(f"refusing to write outside {folder}")
        if target.exists() and not overwrite:
            return target
        if _cutout_size(row) > 0:
            write_atomic(target, row.cutout())
        elif decompress and str(row["image_type"]) == "quicklook":
            write_atomic(target, self.open(row["access_url"], decompress=True))
        else:
            write_atomic(target, self.local_path(row["access_url"]).read_bytes())
        return target
