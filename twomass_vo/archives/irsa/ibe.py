# Licensed under a 3-clause BSD style license - see LICENSE
"""IRSA's Image Back End (IBE): the search requests and their answers.

IBE serves the 2MASS All-Sky Atlas image metadata at
``https://irsa.ipac.caltech.edu/ibe/search/twomass/allsky/allsky``. What this
module relies on is read from IBE's documentation and from its earlier
implementation, the Python search service that IRSA published in the
repository ``bonimy/ibe`` (commit ``7a1b4d9e``:
``src/python/ibe/controllers/search.py``, ``src/python/ibe/lib/streamer.py``
and the 2MASS configuration ``conf/catalogs/twomass/allsky/``). That code
was removed from the repository in 2017 (commit ``e23ecec5``); IBE's search
now runs on IRSA's TAP tables, with the same interface. Where the two may
differ, both are accepted: ``in_row_id`` counted from 0 or from 1, the
uploaded ``idx`` column echoed as ``in_idx`` or not (`upload_index`).

* parameters are case-insensitive and each may appear once: ``POS``,
  ``SIZE``, ``INTERSECT``, ``mcen``, ``columns``, ``where``, ``ct``,
  ``FORMAT``, ``refby`` -- anything else is an HTTP 400;
* ``POS=ra,dec`` (no blanks), or a multipart upload of an IPAC table of
  positions (``ra``, ``dec`` columns) in ``POS``; every match then carries
  the input row as ``in_row_id``, ``in_ra``, ``in_dec`` (IBE's match tool
  copies every uploaded column with the ``in_`` prefix);
* ``where`` is required without ``POS``; the answer is an IPAC table
  (``ct=ipac_table``, the default);
* the table has one row per image file; the columns used here are
  `IBE_COLUMNS` (``coaddno`` is the 4-digit image number, ``ns`` / ``nl``
  are NAXIS1 / NAXIS2, ``ra1 .. dec4`` the computed corners);
* a search box may be at most 5 degrees wide for 2MASS All-Sky (the "Max
  SIZE" of IBE's documentation; a larger one is an HTTP 400, "Search region
  is too large"): `~twomass_vo.archives.irsa.payloads` splits larger regions;
* files live at ``{data}/{ordate}{hemisphere}/s{scanno:03d}/image/{fname}``
  (gzip-compressed), and IBE's data service cuts them out:
  ``?center=ra,dec&size=Narcsec&gzip=false`` (clipped to the image; HTTP 500
  "Cutout does not overlap image" when it misses it).

Every value written into ``where`` comes from validated integers, ``yymmdd``
dates and ``n`` / ``s``; every answer is read strictly
(`~twomass_vo.archives.irsa.ipac_tables.parse_ipac`: a fixed-width IPAC table of
printable ASCII, rows in line, at most 1,000 columns, names unique in any
case), its columns are checked before its rows (an answer without the
columns asked for, an empty one included, is an error), and every value is
checked as the VO answers' are (`ibe_file_rows`: dates with real months and
days, integers in range, the file name of the row, a footprint of a 2MASS
image): a bad answer raises `~twomass_vo.exceptions.ArchiveError` naming the
URL, the row and the value.
"""

import re

import numpy as np

from ..._http.vo_session import answer_of
from ...exceptions import ArchiveError
from ...geometry import radec_to_xyz, sin_corners
from ..set_keys import dhs_keys
from ..vo.answer_values import checked_footprints, valid_dates
from ..vo.column_text import as_numbers, as_text
from ..vo.query_values import (
    format_number,
    validated_ints,
    validated_points,
    validated_scans,
)
from .ipac_tables import integer_text, parse_ipac, require_columns

__all__ = [
    "IBE_COLUMNS",
    "IBE_PARAMETERS",
    "ibe_cutout_urls",
    "ibe_file_rows",
    "ibe_search",
    "ibe_upload",
    "parse_ipac",
    "positions_table",
    "run_ibe",
    "upload_index",
    "where_coadd_keys",
    "where_scans",
]

#: The search parameters IBE accepts (lower case; search.py ``_valid_params``).
IBE_PARAMETERS = (
    "ct",
    "format",
    "pos",
    "refby",
    "size",
    "intersect",
    "columns",
    "where",
    "mcen",
)

_CORNERS = ("ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4")
_WCS = (
    "crval1",
    "crval2",
    "crpix1",
    "crpix2",
    "ns",
    "nl",
    "cdelt1",
    "cdelt2",
    "crota2",
)

#: The IBE columns asked for (``columns=``) and read from every answer.
IBE_COLUMNS = (
    "fname",
    "ordate",
    "hemisphere",
    "scanno",
    "coaddno",
    "coadd_key",
    "filter",
    *_WCS,
    *_CORNERS,
)

_INTERSECTS = ("COVERS", "ENCLOSED", "CENTER", "OVERLAPS")
_FNAME = re.compile(
    r"(?P<band>[jhk])i(?P<scan>[0-9]{3})(?P<image>[0-9]{4})\.fits(\.gz)?\Z"
)

#: Largest width or height (degrees) of an image in an IBE answer: a 2MASS
#: Atlas image is 0.14 x 0.28 degrees; a larger WCS is a broken row.
MAX_IMAGE_SIZE = 10.0


# ------------------------------------------------------------------ requests
def ibe_search(
    url,
    *,
    pos=None,
    size=None,
    intersect=None,
    mcen=False,
    where=None,
    columns=IBE_COLUMNS,
    ct="ipac_table",
):
    """Build one IBE search request (a GET), without network access.

    Parameters
    ----------
    url : str
        The IBE search URL of the table.
    pos : tuple of float, optional
        ``(ra, dec)`` in degrees (validated).
    size : float or tuple of float, optional
        Box size in degrees: one value, or (width, height).
    intersect : {'COVERS', 'ENCLOSED', 'CENTER', 'OVERLAPS'}, optional
        Spatial relation (IBE's default: OVERLAPS).
    mcen : bool, optional
        Return only the most centred image set (``mcen``).
    where : str, optional
        A condition built by `where_coadd_keys` or `where_scans`.
    columns : sequence of str, optional
        Columns to return (default `IBE_COLUMNS`).
    ct : str, optional
        Answer format (``ipac_table``).

    Returns
    -------
    payload : dict
        ``{"service": "ibe", "url", "method": "GET", "params"}``.
    """
    params = {}
    if pos is not None:
        (ra,), (dec,) = validated_points(pos[0], pos[1])
        params["POS"] = f"{format_number(ra)},{format_number(dec)}"
    if size is not None:
        sizes = np.atleast_1d(np.asarray(size, np.float64))
        if not (np.isfinite(sizes).all() and (sizes > 0).all() and len(sizes) <= 2):
            raise ArchiveError(f"IBE SIZE={size!r} must be 1 or 2 positive degrees")
        params["SIZE"] = ",".join(format_number(s) for s in sizes)
    if intersect is not None:
        if intersect not in _INTERSECTS:
            raise ArchiveError(
                f"IBE INTERSECT={intersect!r} is not one of {_INTERSECTS}"
            )
        params["INTERSECT"] = intersect
    if mcen:
        params["mcen"] = "1"
    if where is not None:
        params["where"] = where
    if pos is None and where is None:
        raise ArchiveError("an IBE search needs POS or where")
    if columns:
        params["columns"] = ",".join(columns)
    if ct:
        params["ct"] = ct
    return {"service": "ibe", "url": url, "method": "GET", "params": params}


def positions_table(ra, dec, start=0):
    """Return the IPAC table of positions uploaded in ``POS`` (text).

    Columns ``ra``, ``dec`` (degrees, shortest round-trip text) and ``idx``
    (the index of each position among all the positions of the look-up; it
    comes back as ``in_idx``).
    """
    lines = [
        f"|{'ra':<24}|{'dec':<24}|{'idx':<12}|",
        f"|{'double':<24}|{'double':<24}|{'long':<12}|",
        f"|{'deg':<24}|{'deg':<24}|{'':<12}|",
        f"|{'':<24}|{'':<24}|{'':<12}|",
    ]
    for i, (a, d) in enumerate(zip(ra, dec, strict=True)):
        lines.append(f" {format_number(a):<24} {format_number(d):<24} {start + i:<12} ")
    return "\n".join(lines) + "\n"


def ibe_upload(url, ra, dec, *, start=0, columns=IBE_COLUMNS):
    """Build one IBE search of many positions: a multipart upload in ``POS``.

    Parameters
    ----------
    url : str
        The IBE search URL.
    ra, dec : array-like of float
        Positions, degrees (validated).
    start : int, optional
        Index of the first position among all positions of the look-up.
    columns : sequence of str, optional
        Columns to return.

    Returns
    -------
    payload : dict
        ``{"service": "ibe", "url", "method": "POST", "params", "upload",
        "rows"}``: ``upload`` is the IPAC text sent as the ``POS`` file,
        ``rows`` the (start, stop) range of the positions.
    """
    ra, dec = validated_points(ra, dec)
    params = {"columns": ",".join(columns), "ct": "ipac_table"}
    return {
        "service": "ibe",
        "url": url,
        "method": "POST",
        "params": params,
        "upload": positions_table(ra, dec, start),
        "rows": (int(start), int(start) + len(ra)),
        "positions": (ra, dec),
    }


def where_coadd_keys(keys):
    """``coadd_key IN (...)`` of validated integer keys."""
    keys = validated_ints(keys, "coadd_key", low=0, high=2**62)
    return f"coadd_key IN ({', '.join(str(int(k)) for k in keys)})"


def where_scans(ordate, hemisphere, scanno, image):
    """OR-ed ``(ordate = 'yymmdd' AND hemisphere = 'n' AND scanno = N ...)``.

    Scans asked for with image numbers > 0 add ``AND coaddno IN (...)``; a
    scan asked for with image 0 (all images) has no image term.
    """
    ordate, hem, scanno, image = validated_scans(ordate, hemisphere, scanno, image)
    scan_keys = dhs_keys(ordate, hem, scanno, 0)
    terms = []
    for key in np.unique(scan_keys):
        rows = np.flatnonzero(scan_keys == key)
        i = rows[0]
        text = (
            f"(ordate = '{ordate[i]}' AND hemisphere = '{hem[i]}' AND "
            f"scanno = {int(scanno[i])}"
        )
        images = image[rows]
        if (images > 0).all():
            text += (
                f" AND coaddno IN ({', '.join(str(int(v)) for v in np.unique(images))})"
            )
        terms.append(text + ")")
    return " OR ".join(terms)


def ibe_cutout_urls(access_url, ra, dec, size_arcsec, data_url_root):
    """IBE cutout URLs: ``access_url?center=ra,dec&size=Narcsec&gzip=false``.

    IBE's data service cuts out any of its FITS files (``.fits.gz`` ones
    included: the cutout is made from the image, and ``gzip=false`` sends it
    as plain FITS). The cutout is clipped to the image; IBE answers HTTP 500
    "Cutout does not overlap image" when it misses it.

    Parameters
    ----------
    access_url : ndarray of str
        Full-file URLs.
    ra, dec : ndarray of float
        Cutout centres, degrees.
    size_arcsec : ndarray of float
        Cutout sizes (0: none).
    data_url_root : str
        Root of IBE's file tree: only files under it are cut out by IBE.

    Returns
    -------
    urls : ndarray of str
        ``''`` where the size is 0 or the URL is not under ``data_url_root``.
    """
    add = np.char.add
    urls = np.asarray(access_url).astype(str)
    size = np.asarray(size_arcsec, np.float64)
    if len(urls) == 0:
        return np.zeros(0, dtype="U1")
    ok = (size > 0) & np.char.startswith(urls, data_url_root)
    sep = np.where(np.char.find(urls, "?") >= 0, "&", "?")
    centre = add(
        add(np.char.mod("%.7f", np.asarray(ra, np.float64)), ","),
        np.char.mod("%.7f", np.asarray(dec, np.float64)),
    )
    text = add(
        add(add(add(urls, sep), "center="), centre),
        add(add("&size=", np.char.mod("%.10g", size)), "arcsec&gzip=false"),
    )
    return np.where(ok, text, "")


# ------------------------------------------------------------------ execution
def run_ibe(session, payload, *, unreachable):
    """Send one IBE request through ``session``; return its rows as a Table.

    Parameters
    ----------
    session : `requests.Session`
        The archive's session (its time and byte limits apply).
    payload : dict
        From `ibe_search` or `ibe_upload`.
    unreachable : callable
        ``unreachable(url, exc)`` -> `~twomass_vo.exceptions.ArchiveError`
        for a connection failure.

    Raises
    ------
    twomass_vo.exceptions.ServiceStatusError
        For an HTTP error status (with IBE's message).
    twomass_vo.exceptions.ArchiveError
        For a transport failure, an answer that is not an IPAC table, or
        one without a column asked for (the computed corners may be absent).
    """
    url = payload["url"]
    if payload["method"] == "POST":
        upload = payload["upload"].encode("ascii")
        files = {"POS": ("pos.tbl", upload, "text/plain")}
        extra = {"data": payload["params"], "files": files}
    else:
        extra = {"params": payload["params"]}
    response = answer_of(
        session,
        payload["method"],
        url,
        unreachable=unreachable,
        what="IBE search",
        **extra,
    )
    table = parse_ipac(response.content, url)
    asked = payload["params"].get("columns", "").split(",")
    require_columns(table, url, [c for c in asked if c and c not in _CORNERS])
    return table


# ------------------------------------------------------------------ answers
def _fail(url, row, column, value, why):
    if isinstance(value, np.generic):
        value = value.item()
    raise ArchiveError(
        f"IBE answer from {url}: row {row}, column {column!r}: value {value!r} {why}"
    )


def _column(table, name, url):
    lower = {c.lower(): c for c in table.colnames}
    if name not in lower:
        raise ArchiveError(
            f"IBE answer from {url} lacks the column {name!r} (columns: "
            f"{', '.join(table.colnames)})"
        )
    return table[lower[name]]


def _numbers(table, name, url, dtype, *, low=-np.inf, high=np.inf):
    column = _column(table, name, url)
    values = as_numbers(column, np.float64, np.nan)
    bad = ~(np.isfinite(values) & (values >= low) & (values <= high))
    if dtype is np.int64:
        bad |= values != np.round(values)
    if column.dtype.kind not in "iuf":  # text: plain numbers only
        text = as_text(column)
        bad |= np.char.find(text, "_") >= 0  # float() reads 1_000
        if dtype is np.int64:
            bad |= ~integer_text(text)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(url, i, name, column[i], f"is not a number in [{low}, {high}]")
    return values.astype(dtype)


def ibe_file_rows(table, url, data_url_root):
    """File rows of an IBE answer, for `~twomass_vo.archives.vo.image_sets.SetStore`.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The answer (`parse_ipac`).
    url : str
        Where it came from (for error messages).
    data_url_root : str
        Root of the file tree (ends with ``/``).

    Returns
    -------
    rows : dict of ndarray
        The `SetStore` row columns (Atlas files only: IBE's 2MASS table has
        no Quicklook files).
    corners : ndarray, shape (N, 4, 3)
        Footprint corners of every row, from its WCS (the same computation
        as `~twomass_vo.archives.LocalArchive`); the ``ra1 .. dec4``
        columns are checked against them.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        Naming the URL, the row and the value of the first bad value.
    """
    n = len(table)
    ordate = as_text(_column(table, "ordate", url))
    good = valid_dates(ordate)
    if not good.all():
        i = int(np.flatnonzero(~good)[0])
        _fail(url, i, "ordate", ordate[i], "is not a date yymmdd")
    hem = np.char.lower(as_text(_column(table, "hemisphere", url)))
    good = np.isin(hem, ("n", "s"))
    if not good.all():
        i = int(np.flatnonzero(~good)[0])
        _fail(url, i, "hemisphere", hem[i], "is not n or s")
    scanno = _numbers(table, "scanno", url, np.int64, low=1, high=999)
    image = _numbers(table, "coaddno", url, np.int64, low=1, high=9999)
    coadd_key = _numbers(table, "coadd_key", url, np.int64, low=0, high=2**62)
    band = np.char.lower(as_text(_column(table, "filter", url)))
    band_code = np.full(n, -1, np.int64)
    for code, letter in enumerate("jhk"):
        band_code[band == letter] = code
    if (band_code < 0).any():
        i = int(np.flatnonzero(band_code < 0)[0])
        _fail(url, i, "filter", band[i], "is not a 2MASS band (j, h, k)")
    fname = as_text(_column(table, "fname", url))
    for i, name in enumerate(fname):
        match = _FNAME.match(name)
        if (
            match is None
            or match["band"] != band[i]
            or int(match["scan"]) != scanno[i]
            or int(match["image"]) != image[i]
        ):
            _fail(
                url,
                i,
                "fname",
                name,
                "is not the Atlas file of its band, scan and image "
                "(b i sss iiii .fits.gz)",
            )
    wcs = {}
    for name in _WCS:
        if name in ("ns", "nl"):
            wcs[name] = _numbers(table, name, url, np.int64, low=1, high=100_000)
        elif name == "crval2":
            wcs[name] = _numbers(table, name, url, np.float64, low=-90, high=90)
        elif name == "crval1":
            wcs[name] = _numbers(table, name, url, np.float64, low=0, high=360)
        else:
            wcs[name] = _numbers(table, name, url, np.float64)
    for name, pixels in (("cdelt1", "ns"), ("cdelt2", "nl")):
        zero = wcs[name] == 0
        if zero.any():
            i = int(np.flatnonzero(zero)[0])
            _fail(url, i, name, wcs[name][i], "is zero")
        size = np.abs(wcs[name]) * wcs[pixels]
        huge = size > MAX_IMAGE_SIZE
        if huge.any():
            i = int(np.flatnonzero(huge)[0])
            _fail(
                url,
                i,
                name,
                wcs[name][i],
                f"makes the image {size[i]:.4g} degrees wide ({pixels}="
                f"{wcs[pixels][i]}; a 2MASS image is well under {MAX_IMAGE_SIZE:g})",
            )
    corners = sin_corners(*(wcs[c] for c in _WCS)) if n else np.zeros((0, 4, 3))
    where = f"IBE answer from {url}"
    checked_footprints(lambda rows: corners[rows], np.arange(n), where)
    _check_corners(table, url, corners)
    add = np.char.add
    scan3 = np.char.zfill(scanno.astype("U3"), 3) if n else np.zeros(0, "U3")
    head = add(add(add(data_url_root, ordate), hem), "/s")
    access_url = add(add(add(head, scan3), "/image/"), fname)
    rows = {
        "ordate": ordate.astype("U6"),
        "hemisphere": hem.astype("U1"),
        "scanno": scanno,
        "image": image,
        "band_code": band_code,
        "kind": np.zeros(n, np.int64),
        "coadd_key": coadd_key,
        "ra": wcs["crval1"],
        "dec": wcs["crval2"],
        "access_url": access_url,
        "access_format": np.full(n, "image/fits"),
        "access_estsize": np.full(n, -1, np.int64),
        "pubdid": np.full(n, ""),
    }
    rows["dhs"] = dhs_keys(rows["ordate"], rows["hemisphere"], scanno, image)
    return rows, corners


#: Largest distance (degrees) allowed between a computed corner column and
#: the corner from the row's WCS (pixel-edge vs pixel-centre conventions
#: differ by about 1 arcsec; a broken corner is off by much more).
CORNER_TOLERANCE = 10 / 3600


def _check_corners(table, url, corners):
    lower = {c.lower() for c in table.colnames}
    if not all(c in lower for c in _CORNERS):
        return  # IBE computes them; answers without them are read from the WCS
    values = [_numbers(table, c, url, np.float64) for c in _CORNERS]
    ra = np.stack(values[0::2], axis=1)
    dec = np.stack(values[1::2], axis=1)
    bad = (np.abs(dec) > 90).any(axis=1)
    given = radec_to_xyz(ra, dec)  # (N, 4, 3)
    # each given corner must lie near one of the WCS corners (any order)
    cos = np.einsum("nik,njk->nij", given, corners).max(axis=2)
    bad |= (cos < np.cos(np.radians(CORNER_TOLERANCE))).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = {c: float(v[i]) for c, v in zip(_CORNERS, values, strict=True)}
        _fail(url, i, "ra1..dec4", shown, "are not the corners of the row's WCS")


def upload_index(table, payload):
    """Index (among all positions of the look-up) of every upload match.

    ``in_idx`` (the uploaded ``idx`` column) when IBE copied it, else
    ``in_row_id`` -- counted from 0 or from 1, whichever makes every row's
    ``in_ra`` / ``in_dec`` equal to its uploaded position (else an error).
    """
    url = payload["url"]
    start, stop = payload["rows"]
    n = len(table)
    lower = {c.lower(): c for c in table.colnames}
    if "in_idx" in lower:
        index = _numbers(table, "in_idx", url, np.int64, low=start, high=stop - 1)
        return index
    row_id = _numbers(table, "in_row_id", url, np.int64, low=0, high=stop - start)
    in_ra = _numbers(table, "in_ra", url, np.float64, low=0, high=360)
    in_dec = _numbers(table, "in_dec", url, np.float64, low=-90, high=90)
    ra, dec = payload["positions"]
    for base in (0, 1):
        k = row_id - base
        if n and (k.min() < 0 or k.max() >= len(ra)):
            continue
        close = np.isclose(ra[k], in_ra, rtol=0, atol=1e-7) & np.isclose(
            dec[k], in_dec, rtol=0, atol=1e-7
        )
        if close.all():
            return k + start
    raise ArchiveError(
        f"IBE answer from {url}: in_row_id does not match the uploaded positions "
        f"(first row: in_row_id={int(row_id[0]) if n else None!r})"
    )
