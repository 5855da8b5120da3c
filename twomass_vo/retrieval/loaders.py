# Licensed under a 3-clause BSD style license - see LICENSE
"""Lazy FITS loaders behind `ImageRow.open`, `ImageRow.cutout` and `ImageRow.download`.

A `Loader` turns an ``access_url`` into a local file
(`twomass_vo._files.local_files.local_source`: the archive first, which makes
simulated files on demand, then ``file://`` paths; ``http(s)`` through the
retrying fetch and the file cache of `twomass_vo.retrieval.file_cache`, with TLS
verification), opens it once -- only a regular file, within the per-file
ceiling, gzip or not (`twomass_vo.retrieval.compressed_fits.open_fits`) --
and caches the
`~astropy.io.fits.HDUList`, makes local cutouts with
`~astropy.nddata.Cutout2D`, and writes files atomically under names built
from validated metadata only (`file_name_for`). `ImageTable.download
<twomass_vo.ImageTable.download>` (many files at once) uses the same helpers
(`file_name_for`, `cutout_hdul`, `decompressed_hdul`, `cutout_center`).
"""

import re
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from .._files.atomic_files import atomic_writer, write_atomic
from .._files.local_files import copy_regular, local_source
from .compressed_fits import open_fits, plain_fits
from .file_cache import cached_path

__all__ = [
    "Loader",
    "angle_arcsec",
    "cutout_center",
    "cutout_hdul",
    "decompressed_hdul",
    "file_name_for",
    "row_value",
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


def decompressed_hdul(hdul):
    """Return a plain primary-HDU copy of the first compressed image of ``hdul``.

    Parameters
    ----------
    hdul : `~astropy.io.fits.HDUList`
        A file; if it holds no compressed image it is returned as is.

    Returns
    -------
    hdul : `~astropy.io.fits.HDUList`
        The image as a primary HDU, its header kept (less the extension keys).
    """
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


class Loader:
    """Fetches, opens and caches the files of an `~twomass_vo.ImageTable`.

    Parameters
    ----------
    archive : `~twomass_vo.archives.Archive`, optional
        Asked first for a local path of a URL (a simulated archive makes the
        file on demand); any object with a ``local_path(url)`` method will
        do (`~twomass_vo.ImageRow` passes the simulated stores for rows of
        no archive).
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

        Raises
        ------
        ValueError
            If the file is not a regular file, is over the per-file ceiling
            (``twomass_vo.conf.max_file_size``) or is not readable FITS (the
            message names the file, never its bytes).
        """
        from .. import conf

        key = (str(url), bool(decompress))
        if key not in self._cache:
            path = self.local_path(url)
            with open_fits(path, max_size=int(conf.max_file_size)) as hdul:
                try:
                    copied = fits.HDUList([hdu.copy() for hdu in hdul])
                except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
                    raise ValueError(
                        f"{path} is not a readable FITS file ({type(exc).__name__})"
                    ) from None
            self._cache[key] = decompressed_hdul(copied) if decompress else copied
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
            from .. import conf

            source = self.local_path(row["access_url"])
            with atomic_writer(target) as out:
                copy_regular(source, out, max_size=int(conf.max_file_size))
                plain_fits(out, max_size=int(conf.max_file_size), source=str(source))
        return target
