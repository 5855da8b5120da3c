# Licensed under a 3-clause BSD style license - see LICENSE
"""Synthetic 2MASS Atlas and Quicklook FITS files for the simulated survey.

Each file is deterministic (seeded by coadd_key and band), 512 x 1024 pixels
with the image set's exact SIN WCS and the keywords of the real Atlas headers
(``ORDATE``, ``DAYNUM``, ``FN_PRFX``, ``SCANNO``, ``SCANDIR``, ``MAGZP``,
``SEESH``, ``SKYVAL``, ``SKYSIG``, ``TELNAME``, ``FILTER``, ``UT_DATE``, ...;
see ``tests/data/aJ_asky_001022s0620186.fits.gz``). The header says plainly that
the pixels are synthetic (``SYNTHETC = T`` and comments). Quicklook files hold
the same image as 16-bit integers, hcompressed (scale 4) in a compressed image
extension, like the lossy Quicklook images of the real service.
"""

import datetime
import io
import threading

import numpy as np
from astropy.io import fits

__all__ = ["image_bytes", "make_image"]

# astropy's HCOMPRESS encoder is not thread-safe: Quicklook files made by
# threads at once (parallel downloads) come out corrupt without this lock
_HCOMPRESS_LOCK = threading.Lock()

_DAY0 = datetime.date(1997, 2, 28)  # DAYNUM 0 (ORDATE 001022 is DAYNUM 1332)
_BAND = "jhk"
_MAGZP = (20.90, 20.45, 19.95)
_SKY = (210.0, 280.0, 330.0)
_STAR_COLOUR = (1.0, 1.25, 1.35)  # typical flux ratio of a K star to J


def _date(ordate):
    yy, mm, dd = int(ordate[:2]), int(ordate[2:4]), int(ordate[4:])
    return datetime.date(1900 + yy if yy >= 50 else 2000 + yy, mm, dd)


def _header(fields, band_code, rng_set, rng_band, bitpix):
    band = _BAND[band_code]
    ordate, hem = str(fields["ordate"]), str(fields["hemisphere"])
    scan, image = int(fields["scanno"]), int(fields["image"])
    daynum = (_date(ordate) - _DAY0).days
    h = fits.Header()
    h["SIMPLE"] = True
    h["BITPIX"] = bitpix
    h["NAXIS"] = 2
    h["NAXIS1"] = int(fields["naxis1"])
    h["NAXIS2"] = int(fields["naxis2"])
    h["ORDATE"] = (ordate, "Observation Ref Date (yymmdd)")
    h["DAYNUM"] = (f"{daynum}", "Observation Day Num")
    h["FN_PRFX"] = (f"{band}{daynum}{scan:03d}", ".rdo and .par filename prefix")
    h["TYPE"] = ("sci", "Scan type: dar flt sci cal tst")
    h["SCANNO"] = (scan, "Scan Number")
    h["SCANDIR"] = (str(fields.get("scandir", "n")), "Scan Direction: n, s, -")
    h["ORIGIN"] = ("2MASS", "2MASS Survey Camera")
    h["CTYPE1"] = ("RA---SIN", "Orthographic Projection")
    h["CTYPE2"] = ("DEC--SIN", "Orthographic Projection")
    h["CRPIX1"] = (float(fields["crpix1"]), "Axis 1 Reference Pixel")
    h["CRPIX2"] = (float(fields["crpix2"]), "Axis 2 Reference Pixel")
    h["CRVAL1"] = (float(fields["crval1"]), "RA  at Frame Center, J2000 (deg)")
    h["CRVAL2"] = (float(fields["crval2"]), "Dec at Frame Center, J2000 (deg)")
    h["CROTA2"] = (float(fields["crota2"]), "Image Twist +AXIS2 W of N, J2000 (deg)")
    h["CDELT1"] = (float(fields["cdelt1"]), "Axis 1 Pixel Size (degs)")
    h["CDELT2"] = (float(fields["cdelt2"]), "Axis 2 Pixel Size (degs)")
    h["SKYVAL"] = (
        round(_SKY[band_code] * rng_band.uniform(0.9, 1.1), 4),
        "GFIND Sky Estimate",
    )
    h["SKYSIG"] = (round(rng_band.uniform(0.7, 1.6), 4), "Grid  Noise Estimate")
    h["MAGZP"] = (
        round(_MAGZP[band_code] + rng_band.normal(0, 0.04), 4),
        "Calibrated zero point from CALMAN",
    )
    h["SEESH"] = (
        round(rng_set.uniform(0.85, 1.25), 4),
        "Seeing shape parameter from SEEMAN",
    )
    h["TELNAME"] = ("Hopkins" if hem == "n" else "CTIO", "Telescope")
    h["FILTER"] = (band, "Band: j, h, k")
    h["UT_DATE"] = (ordate, "UT Date of Frame (IC) (yymmdd)")
    h["EQUINOX"] = (2000.0, "Equinox")
    h["IMAGENO"] = (image, "Image number (closest frame to the centre)")
    h["SYNTHETC"] = (True, "PIXELS ARE SYNTHETIC: twomass_vo simulation")
    h["COMMENT"] = "SYNTHETIC IMAGE made by twomass_vo's simulated 2MASS survey."
    h["COMMENT"] = "The WCS and keywords follow real 2MASS Atlas images; the pixels"
    h["COMMENT"] = "(sky, noise and stars) are random and are NOT 2MASS data."
    return h


def _pixels(header, coadd_key, band_code, rng_band):
    ny, nx = header["NAXIS2"], header["NAXIS1"]
    sky, sig = header["SKYVAL"], header["SKYSIG"]
    data = rng_band.normal(sky, sig, size=(ny, nx)).astype(np.float32)
    # stars: positions shared by J, H and Ks (seeded by the set), fluxes per band
    rng_stars = np.random.default_rng([int(coadd_key), 7])
    n_stars = int(rng_stars.integers(40, 160))
    x = rng_stars.uniform(0, nx, n_stars)
    y = rng_stars.uniform(0, ny, n_stars)
    flux = (rng_stars.pareto(1.5, n_stars) + 1) * 60 * _STAR_COLOUR[band_code]
    sigma = 1.06 * header["SEESH"]  # ~2.5" FWHM
    half = 6
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1]
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    px = xi[:, None, None] + dx
    py = yi[:, None, None] + dy
    profile = np.exp(
        -((px - x[:, None, None]) ** 2 + (py - y[:, None, None]) ** 2) / (2 * sigma**2)
    )
    stamp = flux[:, None, None] * profile / (2 * np.pi * sigma**2)
    ok = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
    np.add.at(data, (py[ok], px[ok]), stamp[ok].astype(np.float32))
    return data


def make_image(fields, band_code, image_type="atlas"):
    """Make the synthetic FITS file of one band of one image set.

    Parameters
    ----------
    fields : mapping
        The set's ``coadd_key``, ``ordate``, ``hemisphere``, ``scanno``,
        ``image``, ``crval1``, ``crval2``, ``crpix1``, ``crpix2``, ``naxis1``,
        ``naxis2``, ``cdelt1``, ``cdelt2``, ``crota2`` (and ``scandir``).
    band_code : int
        0, 1, 2 for J, H, Ks.
    image_type : {'atlas', 'quicklook'}
        Atlas: float32 primary image. Quicklook: int16 pixels, hcompressed
        (scale 4, lossy) in a compressed image extension.

    Returns
    -------
    hdul : `~astropy.io.fits.HDUList`
        The file, identical for identical arguments.
    """
    key = int(fields["coadd_key"])
    rng_set = np.random.default_rng([key, 3])
    rng_band = np.random.default_rng([key, band_code])
    header = _header(fields, band_code, rng_set, rng_band, -32)
    data = _pixels(header, key, band_code, rng_band)
    if image_type == "atlas":
        return fits.HDUList([fits.PrimaryHDU(data, header)])
    header["BITPIX"] = 16
    header["COMMENT"] = "Quicklook: lossy hcompress (scale 4): not for photometry."
    ints = np.round(data).clip(-32768, 32767).astype(np.int16)
    image_header = header.copy()
    for keyword in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2"):
        image_header.remove(keyword)
    compressed = fits.CompImageHDU(
        ints, image_header, compression_type="HCOMPRESS_1", hcomp_scale=4
    )
    return fits.HDUList([fits.PrimaryHDU(), compressed])


def image_bytes(fields, band_code, image_type="atlas"):
    """Return the bytes of the synthetic FITS file of one band of one image set.

    Same arguments as `make_image`. Quicklook files are encoded under a
    process-wide lock: astropy's HCOMPRESS encoder is not thread-safe, and
    files made by several threads at once would come out corrupt.

    Returns
    -------
    data : bytes
        The file, identical for identical arguments.
    """
    hdul = make_image(fields, band_code, image_type)
    buffer = io.BytesIO()
    if image_type == "atlas":
        hdul.writeto(buffer)
    else:
        with _HCOMPRESS_LOCK:
            hdul.writeto(buffer)
    return buffer.getvalue()
