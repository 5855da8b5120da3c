# Licensed under a 3-clause BSD style license - see LICENSE
"""`IrsaArchive`: the 2MASS All-Sky Atlas images at IRSA (SIA v2, TAP and IBE).

* Regions (and positions, when uploads are off) go to IRSA's SIA v2 service
  (``https://irsa.ipac.caltech.edu/SIA``, ``COLLECTION=twomass_allsky``). Its
  ObsCore rows carry no 2MASS columns, so the date, hemisphere, scan and image
  number are parsed from the file path of ``access_url``, the band from
  ``energy_bandpassname`` (``J``, ``H``, ``K`` or ``Ks``), and only rows with
  ``dataproduct_subtype == 'science'`` are kept. Such rows have no coadd_key:
  one more TAP request (the sets' images in ``conf.table``) gives the sets
  their real keys; without it (``conf.resolve_coadd_keys = False``, or if it
  fails) they carry the surrogate key ``-dhs_keys(...)`` (negative, so it can
  never be taken for a real coadd_key).
* coadd_key and date-hemisphere-scan look-ups and multi-position uploads go to
  IRSA's TAP service, on the image-metadata table ``conf.table``.
* Files come from IRSA's image data service (IBE):
  ``https://irsa.ipac.caltech.edu/ibe/data/twomass/allsky/allsky/{ordate}{hem}/s{scan}/image/{file}``,
  and cutouts from the same URLs with ``?center=ra,dec&size=N arcsec``.

Several facts are UNCERTAIN (see the research notes,
``research/irsa-2mass-services.md``): the TAP table name and its column names,
the band values of SIA v2, and whether IRSA serves Quicklook images through
any VO service (no Quicklook collection is known, so `IrsaArchive` serves
Atlas images only). All of them are settings of `conf`
(``twomass_vo.archives.irsa.conf``, the ``[archives.irsa]`` section of
``twomass_vo.cfg``), and ``tests/test_irsa_remote.py`` checks them against
the live services.
"""

import numpy as np
from astropy import config as _config

from .vo import VOArchive

__all__ = ["Conf", "IrsaArchive", "conf"]


class Conf(_config.ConfigNamespace):
    """Configuration parameters for `twomass_vo.archives.irsa` (IRSA's services)."""

    sia_url = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/SIA", "IRSA SIA v2 query endpoint."
    )
    tap_url = _config.ConfigItem("https://irsa.ipac.caltech.edu/TAP", "IRSA TAP URL.")
    collection = _config.ConfigItem(
        "twomass_allsky",
        "SIA v2 COLLECTION of the 2MASS All-Sky Data Release Atlas images.",
    )
    table = _config.ConfigItem(
        "twomass.allsky_images",
        "IRSA TAP table of 2MASS All-Sky Atlas image files (UNCERTAIN: best guess "
        "from IRSA's ADQL tests, which name twomass.full_images).",
    )
    column_coadd_key = _config.ConfigItem(
        "coadd_key", "TAP column: coadd_key (empty: none)."
    )
    column_ordate = _config.ConfigItem(
        "ordate", "TAP column: date of the night, yymmdd (IBE name)."
    )
    column_hemisphere = _config.ConfigItem(
        "hemisphere", "TAP column: hemisphere n/s (IBE name)."
    )
    column_scanno = _config.ConfigItem("scanno", "TAP column: scan number (IBE name).")
    column_image = _config.ConfigItem(
        "",
        "TAP column: image number (empty: parsed from the file name column; IBE "
        "has no such column).",
    )
    column_file_name = _config.ConfigItem(
        "fname", "TAP column: file name, e.g. hi0600256.fits.gz (IBE name)."
    )
    column_band = _config.ConfigItem(
        "filter", "TAP column: band, j/h/k (IBE name; UNCERTAIN in TAP)."
    )
    column_ra = _config.ConfigItem("crval1", "TAP column: image centre RA (deg).")
    column_dec = _config.ConfigItem("crval2", "TAP column: image centre Dec (deg).")
    column_s_region = _config.ConfigItem(
        "poly",
        "TAP column: footprint geometry used in ADQL INTERSECTS / CONTAINS "
        "(UNCERTAIN; IRSA image tables carry a 'poly' geometry).",
    )
    column_corners = _config.ConfigItem(
        "ra1 dec1 ra2 dec2 ra3 dec3 ra4 dec4",
        "TAP columns: the 4 footprint corners, read instead of the geometry "
        "(empty: read column_s_region).",
    )
    data_url_root = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/ibe/data/twomass/allsky/allsky/",
        "Root of IRSA's 2MASS All-Sky image files (IBE data service).",
    )
    timeout = _config.ConfigItem(
        60.0, "Time limit in seconds for each request to IRSA."
    )
    async_timeout = _config.ConfigItem(
        600.0, "Time limit in seconds for an asynchronous TAP job at IRSA."
    )
    upload = _config.ConfigItem(
        True,
        "Upload positions / long key and scan lists to IRSA TAP (IRSA documents "
        "uploads); False: one SIA v2 request per position.",
    )
    upload_threshold = _config.ConfigItem(
        100, "Longest IN (...) list of coadd_keys or scans before uploading them."
    )
    async_threshold = _config.ConfigItem(
        5000, "Uploaded rows above which a TAP query runs asynchronously."
    )
    chunk_size = _config.ConfigItem(20_000, "Most rows uploaded per TAP query.")
    maxrec = _config.ConfigItem(1_000_000, "MAXREC of each TAP query.")
    sia_maxrec = _config.ConfigItem(100_000, "MAXREC of each SIA v2 request.")
    resolve_coadd_keys = _config.ConfigItem(
        True,
        "Look the image sets found by SIA v2 (which has no coadd_key) up in the "
        "TAP table for their coadd_keys (one more TAP request per look-up).",
    )


conf = Conf()

#: Contract keys -> `conf` items of the TAP table's column names.
_COLUMN_ITEMS = {
    "coadd_key": "column_coadd_key",
    "ordate": "column_ordate",
    "hemisphere": "column_hemisphere",
    "scanno": "column_scanno",
    "image": "column_image",
    "file_name": "column_file_name",
    "band": "column_band",
    "ra": "column_ra",
    "dec": "column_dec",
    "s_region": "column_s_region",
    "corners": "column_corners",
}


def irsa_columns():
    """Column names of IRSA's TAP image table, from `conf`.

    Returns
    -------
    columns : dict
        A ``columns`` mapping for `~twomass_vo.archives.vo.VOArchive`;
        ``image_type``, ``access_url``, ``access_format``, ``access_estsize``
        and ``pubdid`` are absent (``None``).
    """
    columns = {key: getattr(conf, item) or None for key, item in _COLUMN_ITEMS.items()}
    columns.update(
        image_type=None,
        access_url=None,
        access_format=None,
        access_estsize=None,
        pubdid=None,
    )
    return columns


class IrsaArchive(VOArchive):
    """The 2MASS All-Sky Atlas images at IRSA: SIA v2, TAP and the IBE file tree.

    Every argument defaults to its `conf` setting (read when the archive is
    made).

    Parameters
    ----------
    sia_url, tap_url : str, optional
        IRSA's SIA v2 query endpoint and TAP base URL.
    table : str, optional
        TAP table of image files.
    collection : str, optional
        SIA v2 collection (``twomass_allsky``).
    columns : dict, optional
        Overrides of the table's column names (see
        `~twomass_vo.archives.vo.DEFAULT_COLUMNS`), on top of `conf`.
    data_url_root : str, optional
        Root of the image file tree.
    timeout, async_timeout : float, optional
        Time limits in seconds per request and per asynchronous job.
    session : `requests.Session`, optional
        Session for all requests (TLS certificates are verified).
    upload : bool, optional
        Upload positions and long lists to TAP (else one SIA v2 request per
        position).
    upload_threshold, async_threshold, chunk_size, maxrec, sia_maxrec : int, optional
        See `~twomass_vo.archives.vo.VOArchive`.
    resolve_coadd_keys : bool, optional
        Give the sets found by SIA v2 their coadd_keys from the TAP table
        (see `~twomass_vo.archives.vo.VOArchive`).

    Notes
    -----
    Cutouts: `cutout_urls` appends IRSA's cutout parameters to the IBE file
    URL, ``?center={ra},{dec}&size={size}arcsec&gzip=false``. The cutout is
    aligned with the image's pixel grid and clipped to the image.

    Quicklook images: IRSA is not known to serve them through SIA v2, TAP or
    IBE (UNCERTAIN), so asking for them raises
    `~twomass_vo.exceptions.ArchiveError`.

    Examples
    --------
    >>> from twomass_vo.archives.irsa import IrsaArchive
    >>> archive = IrsaArchive()
    >>> archive.payload_circle(10.68, 41.27, 0.1)[0]["params"]["COLLECTION"]
    'twomass_allsky'
    """

    name = "irsa"

    _no_quicklook = (
        "serves Atlas images only: IRSA offers no 2MASS Quicklook images through "
        "SIA v2, TAP or IBE that we know of (UNCERTAIN; the legacy 2MASS image "
        "CGI is not used)"
    )

    def __init__(
        self,
        *,
        sia_url=None,
        tap_url=None,
        table=None,
        collection=None,
        columns=None,
        data_url_root=None,
        timeout=None,
        async_timeout=None,
        session=None,
        upload=None,
        upload_threshold=None,
        async_threshold=None,
        chunk_size=None,
        maxrec=None,
        sia_maxrec=None,
        resolve_coadd_keys=None,
    ):
        def pick(value, item):
            return getattr(conf, item) if value is None else value

        mapping = irsa_columns()
        mapping.update(columns or {})
        super().__init__(
            sia_url=pick(sia_url, "sia_url"),
            tap_url=pick(tap_url, "tap_url"),
            table=pick(table, "table"),
            collection=pick(collection, "collection"),
            columns=mapping,
            data_url_root=pick(data_url_root, "data_url_root"),
            timeout=pick(timeout, "timeout"),
            async_timeout=pick(async_timeout, "async_timeout"),
            session=session,
            upload=bool(pick(upload, "upload")),
            upload_threshold=pick(upload_threshold, "upload_threshold"),
            async_threshold=pick(async_threshold, "async_threshold"),
            chunk_size=pick(chunk_size, "chunk_size"),
            maxrec=pick(maxrec, "maxrec"),
            sia_maxrec=pick(sia_maxrec, "sia_maxrec"),
            sia_capabilities=False,  # conf.sia_url is the query endpoint
            resolve_coadd_keys=bool(pick(resolve_coadd_keys, "resolve_coadd_keys")),
        )

    @property
    def makes_cutouts(self):
        """IRSA makes cutouts of every IBE file (always True)."""
        return True

    def cutout_urls(self, access_url, ra, dec, size_arcsec):
        """IBE cutout URLs: ``access_url?center=ra,dec&size=Narcsec&gzip=false``.

        Parameters
        ----------
        access_url : ndarray of str
            Full-file URLs.
        ra, dec : ndarray of float
            Cutout centres, degrees.
        size_arcsec : ndarray of float
            Cutout sizes (0: none).

        Returns
        -------
        urls : ndarray of str
            ``''`` where the size is 0 or the URL is not an IBE data URL
            (``/ibe/data/``).
        """
        add = np.char.add
        urls = np.asarray(access_url).astype(str)
        size = np.asarray(size_arcsec, np.float64)
        n = len(urls)
        if n == 0:
            return np.zeros(0, dtype="U1")
        ok = (size > 0) & (np.char.find(urls, "/ibe/data/") >= 0)
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
