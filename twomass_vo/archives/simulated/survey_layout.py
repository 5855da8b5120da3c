# Licensed under a 3-clause BSD style license - see LICENSE
"""The layout of the simulated 2MASS survey: tiles, image sets and a night schedule.

The All-Sky release has 59,731 tiles ("scans") of 8.5' x 6°, each cut into 23
registered J/H/Ks Atlas image sets of 512 x 1024 one-arcsec pixels (SIN
projection), 1,373,813 sets and 4,121,439 images in all (Explanatory Supplement
§II.4). This module lays out a survey with exactly those numbers:

* the sky is cut into 30 declination bands of 6°; a tile is one scan along the
  meridian at the band's centre RA, covering the band's 6° (plus 10" each side);
* the number of tiles of a band is proportional to what the band needs for
  gap-free coverage at its equator-side edge (where a tile is narrowest in
  RA), scaled so that the total is 59,731 (about 20 % RA overlap);
* the 23 image centres of a tile are evenly spaced along the scan (adjacent
  images overlap by about 88"), north-up with a small twist (CROTA2 within
  ±0.03°), numbered like the real files (frame number closest to the image
  centre: 21, 33, 45, 56, ... 197, ... 256, ...) in the scan direction;
* tiles with a band centre at dec >= 0 were observed from the north (Mt.
  Hopkins, ``n``), the others from the south (CTIO, ``s``); each hemisphere's
  tiles are dealt out, in a fixed pseudo-random order, to observing nights from
  the real start dates (1997-06-01 north, 1998-03-18 south), 20-80 scans on a
  night observed with probability 0.6; scans are numbered 1, 2, ... per night;
* ``coadd_key`` numbers the sets in date order from 250,000, so keys are unique.

The nights named in the help page's examples (971031n, 981121n) and the night
of the real Atlas image in the test fixtures (001022s) are made observing
nights with at least 100 scans, so those examples have answers. Everything is
deterministic (fixed seeds): the same layout on every machine.
"""

import datetime

import numpy as np

__all__ = [
    "IMAGES_PER_TILE",
    "N_TILES",
    "PIXEL_SCALE",
    "image_numbers",
    "survey_layout",
]

N_TILES = 59_731
IMAGES_PER_TILE = 23
N_BANDS = 30
BAND_HEIGHT = 6.0  # deg
PIXEL_SCALE = 0.0002777777845  # deg/pixel (CDELT2 of the real files)
NAXIS1, NAXIS2 = 512, 1024
TILE_MARGIN = 10.0 / 3600  # deg beyond each band edge
FIRST_KEY = 250_000
_START = {"n": datetime.date(1997, 6, 1), "s": datetime.date(1998, 3, 18)}
_FORCED_NIGHTS = {"n": ("971031", "981121"), "s": ("001022",)}


def image_numbers():
    """Return the 23 image numbers of a scan, in scan order.

    Returns
    -------
    numbers : ndarray of int64
        Frame numbers closest to the image centres (21, 33, 45, 56, ...).
    """
    k = np.arange(IMAGES_PER_TILE)
    return 21 + np.floor(11.75 * k + 0.5).astype(np.int64)


def _tiles_per_band():
    centres = -90 + BAND_HEIGHT * (np.arange(N_BANDS) + 0.5)
    edge = np.abs(centres) - BAND_HEIGHT / 2  # equator-side edge
    half_width = np.arcsin(
        np.sin(np.radians(NAXIS1 * PIXEL_SCALE / 2)) / np.cos(np.radians(edge))
    )
    need = 360.0 / (2 * np.degrees(half_width))
    scaled = need * N_TILES / need.sum()
    counts = np.floor(scaled).astype(np.int64)
    # hand out the remainder to the largest fractional parts
    extra = N_TILES - counts.sum()
    counts[np.argsort(counts - scaled)[:extra]] += 1
    return centres, counts


def _yymmdd(date):
    return date.strftime("%y%m%d")


def _schedule(n_tiles, hemisphere, rng):
    """Night (yymmdd) and scan number for each of ``n_tiles`` tiles."""
    forced = _FORCED_NIGHTS[hemisphere]
    nights, counts = [], []
    day, left = _START[hemisphere], n_tiles
    while left > 0:
        label = _yymmdd(day)
        observed = rng.random() < 0.6
        n = int(rng.integers(20, 81))
        if label in forced:
            observed, n = True, max(n, 100)
        if observed:
            n = min(n, left)
            nights.append(label)
            counts.append(n)
            left -= n
        day += datetime.timedelta(days=1)
    night_index = np.repeat(np.arange(len(nights)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    scan = np.arange(n_tiles) - starts[night_index] + 1
    return np.array(nights, dtype="U6")[night_index], scan.astype(np.int64)


def survey_layout():
    """Lay out the whole simulated survey.

    Returns
    -------
    sets : dict of ndarray
        One entry per image set (1,373,813): ``coadd_key``, ``ordate``,
        ``hemisphere``, ``scanno``, ``image``, ``crval1``, ``crval2``,
        ``crota2``, ``crpix1``, ``crpix2``, ``naxis1``, ``naxis2``,
        ``cdelt1``, ``cdelt2``, ``scandir``. Sorted by ``coadd_key``.
    """
    rng = np.random.default_rng(20_01_02_15)
    centres, counts = _tiles_per_band()
    band_of_tile = np.repeat(np.arange(N_BANDS), counts)
    offset = rng.random(N_BANDS)
    index_in_band = np.arange(N_TILES) - np.repeat(np.cumsum(counts) - counts, counts)
    tile_ra = (
        360.0 * (index_in_band + offset[band_of_tile]) / counts[band_of_tile]
    ) % 360
    tile_dec = centres[band_of_tile]
    tile_hem = np.where(tile_dec >= 0, "n", "s")
    tile_dir = np.where(rng.random(N_TILES) < 0.5, "n", "s")

    # night schedule per hemisphere, tiles in a fixed pseudo-random order
    tile_date = np.empty(N_TILES, dtype="U6")
    tile_scan = np.empty(N_TILES, dtype=np.int64)
    for hem in ("n", "s"):
        members = np.flatnonzero(tile_hem == hem)
        members = members[rng.permutation(len(members))]
        tile_date[members], tile_scan[members] = _schedule(len(members), hem, rng)

    # 23 image sets per tile, evenly spaced along the scan (a meridian)
    length = BAND_HEIGHT + 2 * TILE_MARGIN
    image_height = NAXIS2 * PIXEL_SCALE
    step = (length - image_height) / (IMAGES_PER_TILE - 1)
    k = np.arange(IMAGES_PER_TILE)
    south_end = tile_dec - length / 2 + image_height / 2
    dec_k = south_end[:, None] + step * k[None, :]  # south to north
    # image numbers run along the scan direction
    numbers = image_numbers()
    image = np.where(tile_dir[:, None] == "n", numbers[None, :], numbers[::-1][None, :])

    n_sets = N_TILES * IMAGES_PER_TILE
    ra = np.repeat(tile_ra, IMAGES_PER_TILE)
    dec = dec_k.ravel()
    date = np.repeat(tile_date, IMAGES_PER_TILE)
    hem = np.repeat(tile_hem, IMAGES_PER_TILE)
    scan = np.repeat(tile_scan, IMAGES_PER_TILE)
    image = image.ravel()
    # coadd_key in date order (yymmdd sorts wrongly across 1999/2000: use yyyy)
    century = np.where(np.char.startswith(date, "9"), "19", "20")
    order = np.lexsort((image, scan, hem, np.char.add(century, date)))
    key = np.empty(n_sets, np.int64)
    key[order] = FIRST_KEY + np.arange(n_sets)

    sets = {
        "coadd_key": key,
        "ordate": date,
        "hemisphere": hem,
        "scanno": scan,
        "image": image,
        "crval1": ra,
        "crval2": dec,
        "crota2": rng.uniform(-0.03, 0.03, n_sets),
        "crpix1": np.full(n_sets, (NAXIS1 + 1) / 2),
        "crpix2": np.full(n_sets, (NAXIS2 + 1) / 2),
        "naxis1": np.full(n_sets, NAXIS1, np.int64),
        "naxis2": np.full(n_sets, NAXIS2, np.int64),
        "cdelt1": np.full(n_sets, -PIXEL_SCALE),
        "cdelt2": np.full(n_sets, PIXEL_SCALE),
        "scandir": np.repeat(tile_dir, IMAGES_PER_TILE),
    }
    by_key = np.argsort(key)
    return {name: values[by_key] for name, values in sets.items()}
