# Licensed under a 3-clause BSD style license - see LICENSE
"""The settings of `twomass_vo.archives.irsa`: IRSA's URLs, limits and columns.

They are read as ``twomass_vo.archives.irsa.conf`` and kept in the section
``[archives.irsa]`` of the astropy configuration file of ``twomass_vo``.
"""

from astropy import config as _config

__all__ = ["Conf", "conf"]


class Conf(_config.ConfigNamespace):
    """Configuration parameters for `twomass_vo.archives.irsa` (IRSA's services)."""

    sia_url = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/SIA",
        "IRSA SIA v2 query endpoint (empty: regions go to IBE).",
    )
    tap_url = _config.ConfigItem("https://irsa.ipac.caltech.edu/TAP", "IRSA TAP URL.")
    ibe_url = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/ibe/search/twomass/allsky/allsky",
        "IBE search URL of the 2MASS All-Sky image table (empty: no IBE).",
    )
    data_url_root = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/ibe/data/twomass/allsky/allsky/",
        "Root of IRSA's 2MASS All-Sky image files (IBE data service).",
    )
    sia1_url = _config.ConfigItem(
        "https://irsa.ipac.caltech.edu/cgi-bin/2MASS/IM/nph-im_sia",
        "IRSA's 2MASS image CGI (SIA v1): the Quicklook images, and the last "
        "Atlas route for regions and positions (empty: off).",
    )
    sia1_dataset = _config.ConfigItem(
        "asky", "Data set of the SIA v1 CGI (ds=; asky: All-Sky Release)."
    )
    sia1_group_size = _config.ConfigItem(
        1.0,
        "Width in degrees of the sky cells whose image sets (or positions) "
        "share one SIA v1 CGI request.",
    )
    ibe_max_size = _config.ConfigItem(
        5.0,
        "Widest IBE search box in degrees (IRSA documents 5 for 2MASS All-Sky); "
        "a wider region is searched in several boxes.",
    )
    max_concurrent = _config.ConfigItem(
        4,
        "Requests one look-up sends to IRSA at a time (IBE upload chunks, SIA "
        "v1 CGI requests).",
    )
    collection = _config.ConfigItem(
        "twomass_allsky",
        "SIA v2 COLLECTION of the 2MASS All-Sky Data Release Atlas images.",
    )
    table = _config.ConfigItem(
        "",
        "TAP table of 2MASS All-Sky image files (empty: found in TAP_SCHEMA at "
        "run time; none confirmed at IRSA).",
    )
    discover = _config.ConfigItem(
        True,
        "Check the TAP table and its columns in TAP_SCHEMA before using TAP.",
    )
    column_coadd_key = _config.ConfigItem("coadd_key", "Column: coadd_key.")
    column_ordate = _config.ConfigItem("ordate", "Column: night, yymmdd.")
    column_hemisphere = _config.ConfigItem("hemisphere", "Column: n / s.")
    column_scanno = _config.ConfigItem("scanno", "Column: scan number.")
    column_image = _config.ConfigItem(
        "coaddno", "Column: the 4-digit image number (IBE: coaddno)."
    )
    column_file_name = _config.ConfigItem("fname", "Column: file name.")
    column_band = _config.ConfigItem("filter", "Column: band, j/h/k.")
    column_ra = _config.ConfigItem("crval1", "Column: image centre RA (deg).")
    column_dec = _config.ConfigItem("crval2", "Column: image centre Dec (deg).")
    column_s_region = _config.ConfigItem(
        "poly", "TAP column: footprint geometry for ADQL (IRSA tables: poly)."
    )
    column_corners = _config.ConfigItem(
        "ra1 dec1 ra2 dec2 ra3 dec3 ra4 dec4", "Columns: the 4 footprint corners."
    )
    timeout = _config.ConfigItem(60.0, "Time limit in seconds per request to IRSA.")
    async_timeout = _config.ConfigItem(
        600.0, "Time limit in seconds for an asynchronous TAP job at IRSA."
    )
    upload = _config.ConfigItem(True, "Upload positions and long lists to TAP.")
    upload_threshold = _config.ConfigItem(
        100, "Longest TAP IN (...) list of coadd_keys or scans before uploading."
    )
    async_threshold = _config.ConfigItem(
        5000, "Uploaded rows above which a TAP query runs asynchronously."
    )
    chunk_size = _config.ConfigItem(20_000, "Most rows uploaded per TAP query.")
    ibe_chunk_size = _config.ConfigItem(5000, "Most positions uploaded per IBE search.")
    ibe_where_size = _config.ConfigItem(
        200, "Most coadd_keys or scans in one IBE where condition."
    )
    maxrec = _config.ConfigItem(1_000_000, "MAXREC of each TAP query.")
    sia_maxrec = _config.ConfigItem(100_000, "MAXREC of each SIA v2 request.")
    resolve_coadd_keys = _config.ConfigItem(
        True, "Give the image sets found by SIA v2 their coadd_keys (IBE or TAP)."
    )


# The items belong to the section of the package, ``[archives.irsa]`` (as
# when `Conf` was defined in ``twomass_vo/archives/irsa.py``), not to this
# module's name.
for _item in vars(Conf).values():
    if isinstance(_item, _config.ConfigItem):
        _item.module = __package__

conf = Conf()
