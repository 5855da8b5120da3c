# Licensed under a 3-clause BSD style license - see LICENSE
"""`IrsaArchive`: the 2MASS All-Sky Atlas and Quicklook images at IRSA.

Four IRSA services, one archive (see ``docs/irsa.rst``):

* **SIA v2** (``https://irsa.ipac.caltech.edu/SIA``,
  ``COLLECTION=twomass_allsky``; confirmed): regions. Its ObsCore rows have
  no 2MASS columns: the date, hemisphere, scan and image number come from
  the ``access_url`` path, the coadd_keys from IBE or TAP (one more request).
* **IBE** (``https://irsa.ipac.caltech.edu/ibe/search/twomass/allsky/allsky``,
  see `twomass_vo.archives.irsa.ibe`): regions (``POS`` + ``SIZE`` boxes of at
  most ``ibe_max_size``, 5 degrees) when there is no SIA v2 URL or SIA v2
  fails, positions (one multipart upload of an IPAC table per chunk of
  positions), coadd_keys and scans (``where`` built from validated values
  only). Files: ``{data_url_root}{ordate}{hem}/s{scan:03d}/image/{fname}``,
  cut out by IBE's data service (`IrsaArchive.cutout_urls`).
* **TAP** (``https://irsa.ipac.caltech.edu/TAP``; uploads confirmed, the
  2MASS image table NOT confirmed): used for positions, coadd_keys and scans
  when `twomass_vo.archives.irsa.discovery` finds a 2MASS All-Sky image table in
  ``TAP_SCHEMA`` (on first use, cached per archive). If it finds none, or a
  TAP query on it fails (a missing table or column, a query it cannot run),
  the archive uses IBE and remembers it.
* **the SIA v1 CGI** of IRSA's original 2MASS image inventory
  (``https://irsa.ipac.caltech.edu/cgi-bin/2MASS/IM/nph-im_sia``, see
  `twomass_vo.archives.irsa.sia1`): the only route to the Quicklook images
  (``type=ql``) -- regions by ``POS`` + ``SIZE``, the other modes by finding
  the image sets through the Atlas routes first, then asking the CGI at
  their centres, nearby sets in one request -- and the last Atlas route
  (``type=at``) for regions and positions when SIA v2 and IBE both fail.

`IrsaArchive.routes` says which route each mode takes; result tables record
it in ``meta['route']`` and the services asked in ``meta['route_urls']``.
An unreachable IRSA fails with one `~twomass_vo.exceptions.ArchiveError`
naming the URL. Requests of one look-up to IRSA (IBE upload chunks, CGI
requests) run at most ``max_concurrent`` at a time.
"""

__all__ = ["MODES", "Conf", "IrsaArchive", "IrsaUnreachableError", "conf"]


from .archive import MODES, IrsaArchive, IrsaUnreachableError
from .settings import Conf, conf
