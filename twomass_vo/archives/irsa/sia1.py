# Licensed under a 3-clause BSD style license - see LICENSE
"""IRSA's 2MASS image CGI (SIA v1): the requests and their answers.

IRSA serves the 2MASS Quicklook images through one route only, the SIA v1
CGI of its original 2MASS image inventory,
``https://irsa.ipac.caltech.edu/cgi-bin/2MASS/IM/nph-im_sia`` with
``type=ql`` (registered as ``ivo://irsa.ipac/2mass/images/asky-ql``; with
``type=at``, ``ivo://irsa.ipac/2mass/images/asky-at``, the Atlas images,
which IRSA's own tutorials still read with `pyvo.dal.SIAService`). What this
module relies on (see ``docs/irsa.rst``):

* ``POS=ra,dec`` is required (without it the answer is
  ``QUERY_STATUS=ERROR`` "No location specified"); ``SIZE`` is the full
  width of the search region in degrees (SIA v1), ``type`` ``at`` or ``ql``
  and ``ds`` the data set (``asky``: All-Sky Release);
* no ``FORMAT`` is sent: pyvo upper-cases the values it is given and the CGI
  refuses upper-cased MIME types (pyvo issue #394), and without it every
  row comes back;
* the answer is a VOTable with one ``image/fits`` row and one ``text/html``
  row per image; the columns read here are `SIA1_COLUMNS`: ``download``
  (the file), ``center_ra`` / ``center_dec``, ``naxis``, ``crpix``,
  ``crval``, ``crota2`` (the WCS, 1 arcsec pixels), ``band`` (J, H, K),
  ``type`` (A: Atlas, Q: Quicklook), ``date`` (yymmdd), ``hem``, ``scan``,
  ``image`` and ``coadd_key``.

Every answer is checked strictly (`sia1_file_rows`): an error status, an
answer that is not a VOTable, a ``QUERY_STATUS`` other than OK, a missing
column, a bad value or a ``download`` URL on another host than the CGI's
raises `~twomass_vo.exceptions.ArchiveError` naming the URL, the row and the
value, so that nothing is ever fetched from a host the archive was not
configured with.
"""

import io
import warnings
from urllib.parse import urlsplit

import numpy as np

from ..._http.vo_session import answer_of, printable
from ...exceptions import ArchiveError
from ...geometry import radec_to_xyz, sin_corners, xyz_to_radec
from ..set_keys import dhs_keys
from ..vo.answer_values import check_file_rows, service_value_error
from ..vo.column_text import as_numbers, as_text
from ..vo.query_values import format_number, validated_points

__all__ = [
    "IMAGE_TYPE_CODES",
    "NEAR",
    "SIA1_COLUMNS",
    "nearby_groups",
    "pairs_near",
    "rows_of_sets",
    "run_sia1",
    "sia1_file_rows",
    "sia1_search",
]

#: The CGI's ``type`` parameter of each image type.
IMAGE_TYPE_CODES = {"atlas": "at", "quicklook": "ql"}

#: The columns read from every answer.
SIA1_COLUMNS = (
    "download",
    "format",
    "center_ra",
    "center_dec",
    "naxis",
    "crpix",
    "crval",
    "crota2",
    "band",
    "type",
    "date",
    "hem",
    "scan",
    "image",
    "coadd_key",
)

#: Pixel scale (degrees) of every 2MASS Atlas and Quicklook image, used when
#: the answer has no ``scale`` column: 1 arcsec, RA increasing to the left.
PIXEL_SCALE = 1 / 3600

_ROW_KINDS = {"A": 0, "Q": 1}

#: Largest distance (degrees) from a position to the centre of an image set
#: that may hold it (`pairs_near`): an Atlas image's centre is within 0.16
#: degrees of all its pixels (half its diagonal).
NEAR = 0.25


def sia1_search(url, *, pos, size, image_type, dataset="asky"):
    """Build one request of the SIA v1 CGI (a GET), without network access.

    Parameters
    ----------
    url : str
        The CGI (``.../nph-im_sia``).
    pos : tuple of float
        ``(ra, dec)``, ICRS degrees (validated).
    size : float
        Full width of the search region, degrees (0: a point).
    image_type : {'atlas', 'quicklook'}
        Which images (``type=at`` or ``type=ql``).
    dataset : str, optional
        The CGI's data set (``asky``).

    Returns
    -------
    payload : dict
        ``{"service": "sia1", "url", "method": "GET", "params"}``.
    """
    (ra,), (dec,) = validated_points(pos[0], pos[1])
    size = float(size)
    if not (np.isfinite(size) and 0 <= size <= 180):
        raise ArchiveError(f"SIA v1 SIZE={size!r} must be in [0, 180] degrees")
    params = {
        "POS": f"{format_number(ra)},{format_number(dec)}",
        "SIZE": format_number(size),
        "type": IMAGE_TYPE_CODES[image_type],
        "ds": str(dataset),
    }
    return {"service": "sia1", "url": url, "method": "GET", "params": params}


def run_sia1(session, payload, *, unreachable):
    """Send one CGI request through ``session``; return its table.

    Parameters
    ----------
    session : `requests.Session`
        The archive's session (its time and byte limits apply).
    payload : dict
        From `sia1_search`.
    unreachable : callable
        ``unreachable(url, exc)`` -> `~twomass_vo.exceptions.ArchiveError`
        for a connection failure.

    Returns
    -------
    table : `~astropy.table.Table`
        The answer's first table (every row, both formats).

    Raises
    ------
    twomass_vo.exceptions.ServiceStatusError
        For an HTTP error status.
    twomass_vo.exceptions.ArchiveError
        For a transport failure, an answer that is not a VOTable, or a
        ``QUERY_STATUS`` other than OK (with the CGI's message).
    """
    url = payload["url"]
    response = answer_of(
        session,
        "GET",
        url,
        unreachable=unreachable,
        what="SIA v1 CGI",
        params=payload["params"],
    )
    return _read_votable(response.content, url)


def _read_votable(content, url):
    from astropy.io.votable import parse

    with warnings.catch_warnings():  # a service's VOTable quirks are not ours
        warnings.simplefilter("ignore")
        try:
            votable = parse(io.BytesIO(content), verify="ignore")
        except Exception as exc:  # the parser raises several kinds
            raise ArchiveError(
                f"SIA v1 answer from {url} is not a VOTable "
                f"({type(exc).__name__}): {printable(content, 200)!r}"
            ) from None
    infos = list(votable.infos)
    for resource in votable.resources:
        infos += list(resource.infos)
    status = [i for i in infos if str(i.name).upper() == "QUERY_STATUS"]
    if status and str(status[0].value).upper() != "OK":
        message = " ".join(str(status[0].content or "").split())[:300]
        raise ArchiveError(
            f"SIA v1 CGI {url} answered QUERY_STATUS={status[0].value!r}: {message!r}"
        )
    tables = [t for r in votable.resources for t in r.tables]
    if not tables:
        if status:  # QUERY_STATUS=OK and no table: nothing found
            return _empty_answer()
        raise ArchiveError(f"SIA v1 answer from {url} holds no table and no status")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tables[0].to_table(use_names_over_ids=True)


def _empty_answer():
    from astropy.table import Table

    return Table({name: np.zeros(0, "U1") for name in SIA1_COLUMNS})


def _column(table, name, url):
    lower = {c.lower(): c for c in table.colnames}
    if name not in lower:
        raise ArchiveError(
            f"SIA v1 answer from {url} lacks the column {name!r} (columns: "
            f"{', '.join(table.colnames)})"
        )
    return table[lower[name]]


def _pairs(table, name, url, rows):
    """Read an array column of two numbers per row (``naxis``, ``crpix``, ...)."""
    column = _column(table, name, url)
    values = np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)[rows]
    if values.ndim != 2 or values.shape[1] != 2:
        raise ArchiveError(
            f"SIA v1 answer from {url}: column {name!r} does not hold two values "
            f"per row (shape {values.shape})"
        )
    return values


def _fail(url, row, column, value, why):
    raise service_value_error(url, row, column, value, why)


def _checked(values, ok, url, rows, column, why, shown=None):
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        shown = values if shown is None else shown
        _fail(url, rows[i], column, np.asarray(shown)[i], why)


def _allowed_url(urls, cgi_url, url, rows):
    """Download URLs on the CGI's own host (http upgraded to https where it is)."""
    cgi = urlsplit(cgi_url)
    out = np.asarray(urls, dtype=object)
    for i, value in enumerate(out):
        parts = urlsplit(str(value))
        same = (
            parts.scheme in ("http", "https")
            and parts.hostname is not None
            and parts.hostname.lower() == (cgi.hostname or "").lower()
            and (parts.port or 0) in (cgi.port or 0, 0)
        )
        if not same:
            _fail(
                url,
                rows[i],
                "download",
                str(value),
                f"is not a URL on the CGI's host {cgi.hostname!r}: not fetched",
            )
        if cgi.scheme == "https" and parts.scheme == "http":
            out[i] = "https" + str(value)[4:]
    return out.astype(str)


def sia1_file_rows(table, url, *, cgi_url):
    """File rows of a CGI answer, for `~twomass_vo.archives.vo.image_sets.SetStore`.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The answer (`run_sia1`).
    url : str
        The request, for the messages.
    cgi_url : str
        The CGI the archive was configured with: every ``download`` URL must
        be on its host.

    Returns
    -------
    rows : dict of ndarray
        The `SetStore` row columns of the ``image/fits`` rows (``kind`` 0
        for Atlas files, ``type`` A; 1 for Quicklook files, ``type`` Q).
    corners : ndarray, shape (N, 4, 3)
        Footprint corners of every kept row, from its WCS.
    answer_rows : ndarray of int
        The row of the answer of each kept row.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        Naming the URL, the row and the value of the first bad value.
    """
    fmt = np.char.lower(np.char.strip(as_text(_column(table, "format", url))))
    kind_text = np.char.upper(np.char.strip(as_text(_column(table, "type", url))))
    image_rows = np.flatnonzero(fmt == "image/fits")
    _checked(
        kind_text[image_rows],
        np.isin(kind_text[image_rows], tuple(_ROW_KINDS)),
        url,
        image_rows,
        "type",
        "is not A (Atlas) or Q (Quicklook)",
    )
    rows = image_rows
    n = len(rows)
    band = np.char.upper(np.char.strip(as_text(_column(table, "band", url))))[rows]
    band_code = np.select([band == "J", band == "H", band == "K"], [0, 1, 2], -1)
    _checked(band, band_code >= 0, url, rows, "band", "is not a 2MASS band (J, H, K)")
    naxis = _pairs(table, "naxis", url, rows)
    crpix = _pairs(table, "crpix", url, rows)
    crval = _pairs(table, "crval", url, rows)
    crota2 = as_numbers(_column(table, "crota2", url), np.float64, np.nan)[rows]
    good_axes = np.isfinite(naxis).all(axis=1) & (naxis >= 1).all(axis=1)
    good_axes &= (naxis <= 100_000).all(axis=1) & (naxis == np.round(naxis)).all(1)
    _checked(naxis.tolist(), good_axes, url, rows, "naxis", "is not two pixel counts")
    for name, values in (("crpix", crpix), ("crval", crval)):
        _checked(
            values.tolist(),
            np.isfinite(values).all(axis=1),
            url,
            rows,
            name,
            "is not two finite numbers",
        )
    _checked(crota2, np.isfinite(crota2), url, rows, "crota2", "is not finite")
    good = (crval[:, 1] >= -90) & (crval[:, 1] <= 90)
    _checked(crval.tolist(), good, url, rows, "crval", "has a Dec beyond +-90")
    cdelt1, cdelt2 = _scale(table, url, rows)
    columns = {
        name: _column(table, name, url)
        for name in ("date", "hem", "scan", "image", "coadd_key")
    }
    out = {
        "ordate": np.char.strip(as_text(columns["date"]))[rows].astype("U16"),
        "hemisphere": np.char.lower(np.char.strip(as_text(columns["hem"])))[rows],
        "scanno": as_numbers(columns["scan"], np.int64, -1)[rows],
        "image": as_numbers(columns["image"], np.int64, -1)[rows],
        "coadd_key": as_numbers(columns["coadd_key"], np.int64, -2)[rows],
        "ra": as_numbers(_column(table, "center_ra", url), np.float64, np.nan)[rows],
        "dec": as_numbers(_column(table, "center_dec", url), np.float64, np.nan)[rows],
        "access_url": np.char.strip(as_text(_column(table, "download", url)))[rows],
    }
    for key in ("scanno", "image"):
        raw = as_numbers(columns[key.replace("scanno", "scan")], np.float64, np.nan)
        _checked(
            raw[rows],
            np.isfinite(raw[rows]) & (raw[rows] == np.round(raw[rows])),
            url,
            rows,
            "scan" if key == "scanno" else key,
            "is not an integer",
        )
    check_file_rows(out, rows, url)  # dates, hemispheres, ranges, URL form
    out["access_url"] = _allowed_url(out["access_url"], cgi_url, url, rows)
    corners = (
        sin_corners(
            crval[:, 0],
            crval[:, 1],
            crpix[:, 0],
            crpix[:, 1],
            naxis[:, 0],
            naxis[:, 1],
            cdelt1,
            cdelt2,
            crota2,
        )
        if n
        else np.zeros((0, 4, 3))
    )
    _check_centres(out, corners, url, rows)
    out.update(
        ordate=out["ordate"].astype("U6"),
        hemisphere=out["hemisphere"].astype("U1"),
        band_code=band_code.astype(np.int64),
        kind=(kind_text[rows] == "Q").astype(np.int64),
        access_format=np.full(n, "image/fits"),
        access_estsize=np.full(n, -1, np.int64),
        pubdid=np.full(n, ""),
    )
    out["dhs"] = dhs_keys(out["ordate"], out["hemisphere"], out["scanno"], out["image"])
    return out, corners, rows


def _scale(table, url, rows):
    """CDELT1, CDELT2 of every row: the ``scale`` column, else 1 arcsec."""
    n = len(rows)
    lower = {c.lower(): c for c in table.colnames}
    if "scale" not in lower:
        return np.full(n, -PIXEL_SCALE), np.full(n, PIXEL_SCALE)
    values = np.ma.filled(np.ma.asarray(table[lower["scale"]], np.float64), np.nan)
    values = values[rows]
    if values.ndim == 1:  # one positive scale: RA increases to the left
        values = np.stack([-np.abs(values), np.abs(values)], axis=1)
    if values.ndim != 2 or values.shape[1] != 2:
        raise ArchiveError(
            f"SIA v1 answer from {url}: column 'scale' does not hold one or two "
            "values per row"
        )
    good = np.isfinite(values).all(axis=1) & (np.abs(values) > 0).all(axis=1)
    good &= (np.abs(values) < 1).all(axis=1)
    _checked(values.tolist(), good, url, rows, "scale", "is not a pixel scale")
    return values[:, 0], values[:, 1]


def _check_centres(rows, corners, url, answer_rows):
    """Check that the centre each row states lies inside its own footprint."""
    if not len(corners):
        return
    centre = radec_to_xyz(rows["ra"], rows["dec"])
    middle = corners.sum(axis=1)
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    cos = np.einsum("nk,nk->n", centre, middle)
    corner_cos = np.einsum("nik,nk->ni", corners, middle).min(axis=1)
    ok = np.isnan(cos) | (cos >= corner_cos)  # NaN: unknown, from the corners
    shown = np.stack([rows["ra"], rows["dec"]], axis=1).tolist()
    _checked(shown, ok, url, answer_rows, "center_ra, center_dec", "is off its image")


def nearby_groups(ra, dec, size):
    """Group points into cells about ``size`` degrees wide, for one request each.

    Parameters
    ----------
    ra, dec : ndarray
        Points, ICRS degrees.
    size : float
        Cell width, degrees (cells are ``size`` in Dec and ``size`` on the
        sky in RA).

    Returns
    -------
    groups : list of tuple
        ``(members, ra, dec, width)``: the indices of the points in a cell,
        the centre of their smallest enclosing cap (approximately: the mean
        direction) and the full width of a box around it that holds every
        member (degrees, at least 2 arcsec).
    """
    ra, dec = np.asarray(ra, np.float64), np.asarray(dec, np.float64)
    if not len(ra):
        return []
    row = np.floor((dec + 90) / size).astype(np.int64)
    circumference = np.maximum(np.cos(np.radians(dec)), 1e-9) * 360
    column = np.floor((ra % 360) / 360 * np.ceil(circumference / size)).astype(np.int64)
    cell = row * (1 << 32) + column
    order = np.argsort(cell, kind="stable")
    starts = np.flatnonzero(np.r_[True, cell[order][1:] != cell[order][:-1]])
    xyz = radec_to_xyz(ra, dec)
    groups = []
    for members in np.split(order, starts[1:]):
        mean = xyz[members].sum(axis=0)
        mean /= np.linalg.norm(mean)
        cos = np.clip(xyz[members] @ mean, -1, 1)
        radius = float(np.degrees(np.arccos(cos.min())))
        c_ra, c_dec = xyz_to_radec(mean)
        width = 2 * radius * (1 + 1e-9) + 2 / 3600
        groups.append((np.sort(members), float(c_ra), float(c_dec), width))
    return groups


def pairs_near(found, members, ra, dec):
    """Pair the sets one CGI request found with the positions it was sent for.

    Parameters
    ----------
    found : `~twomass_vo.archives.base.ImageSets`
        The sets of the answer.
    members : ndarray of int
        The positions of the request (indices into ``ra``, ``dec``).
    ra, dec : ndarray
        All positions of the look-up, ICRS degrees.

    Returns
    -------
    sets : `~twomass_vo.archives.base.ImageSets`
        Every (position, set) pair whose set centre is within `NEAR` degrees
        of the position, ``query_index`` the position: a superset of the sets
        holding each position (the planner tests containment exactly).
    """
    from ..base import ImageSets

    if not len(found):
        return found
    members = np.asarray(members)
    points = radec_to_xyz(np.asarray(ra)[members], np.asarray(dec)[members])
    centres = radec_to_xyz(found.ra, found.dec)
    member, which = np.nonzero(points @ centres.T >= np.cos(np.radians(NEAR)))
    sets = found.take(which)
    return ImageSets(
        **{
            **{f: getattr(sets, f) for f in sets.__dataclass_fields__},
            "query_index": members[member].astype(np.int64),
        }
    )


def rows_of_sets(store, wanted, rows, answer_rows, url):
    """Rows of a CGI answer that belong to sets of the store asked for.

    Parameters
    ----------
    store : `~twomass_vo.archives.vo.image_sets.SetStore`
        The archive's sets.
    wanted : ndarray of int
        The refs of the sets asked for.
    rows : dict of ndarray
        The answer's file rows (`sia1_file_rows`).
    answer_rows : ndarray of int
        The row of the answer of each file row (for the messages).
    url : str
        The request, for the messages.

    Returns
    -------
    take : ndarray of int
        The file rows of the sets asked for (same date, hemisphere, scan and
        image); the answer's other sets (neighbours in the request's box) are
        left out.

    Raises
    ------
    twomass_vo.exceptions.ArchiveError
        If such a row's coadd_key is not its set's.
    """
    if not len(store) or not len(rows["dhs"]):
        return np.zeros(0, np.int64)
    at = np.searchsorted(store.keys[store.order], rows["dhs"])
    known = store.order[np.minimum(at, len(store) - 1)]
    mine = np.isin(known, wanted) & (store.keys[known] == rows["dhs"])
    clash = mine & (rows["coadd_key"] >= 0) & (store.coadd_key[known] >= 0)
    clash &= rows["coadd_key"] != store.coadd_key[known]
    if clash.any():
        i = int(np.flatnonzero(clash)[0])
        _fail(
            url,
            answer_rows[i],
            "coadd_key",
            int(rows["coadd_key"][i]),
            f"is not the coadd_key {int(store.coadd_key[known[i]])} of its date, "
            "hemisphere, scan and image",
        )
    return np.flatnonzero(mine)
