# Licensed under a 3-clause BSD style license - see LICENSE
"""Send a result to TOPCAT, Aladin, DS9, ... over SAMP (``ImageTable.broadcast``).

The table is written as a VOTable (with its query metadata, see
`twomass_vo.table_metadata`) into a folder and offered to every client of
the hub subscribed to ``table.load.votable``; on request the image files
(``image.load.fits``; written into the same folder first) and the coverage
of the footprints as a MOC (``coverage.load.moc.fits``, needs mocpy). Each
message is a call with a reply, bounded by a timeout, so that the function
returns only once the clients have loaded what they were sent (or failed).
The SAMP machinery is pyvo's (astropy's deprecated copy where pyvo has none).
"""

import tempfile
from pathlib import Path

import numpy as np

__all__ = ["SAMPError", "broadcast"]

try:
    from pyvo.samp import SAMPClientError, SAMPHubError, SAMPIntegratedClient
except ImportError:  # pragma: no cover -- pyvo without its own SAMP
    from astropy.samp import SAMPClientError, SAMPHubError, SAMPIntegratedClient


class SAMPError(ConnectionError):
    """No SAMP hub, or a client failed to load what it was sent."""


def _call_all(client, mtype, params, timeout):
    """Call every subscribed client; return the ids that answered samp.ok."""
    done = []
    for recipient in client.get_subscribed_clients(mtype):
        reply = client.call_and_wait(
            recipient, {"samp.mtype": mtype, "samp.params": params}, str(int(timeout))
        )
        status = reply.get("samp.status")
        if status not in ("samp.ok", "samp.warning"):
            error = reply.get("samp.error", {}).get("samp.errortxt", status)
            raise SAMPError(f"SAMP client {recipient} failed {mtype}: {error}")
        done.append(recipient)
    return done


def broadcast(
    table,
    hub=None,
    *,
    client=None,
    images=False,
    footprints=False,
    folder=None,
    timeout=30,
):
    """Send a result (and on request its images and coverage) to SAMP clients.

    Parameters
    ----------
    table : `~twomass_vo.ImageTable`
        The result.
    hub : SAMP hub server, optional
        An in-process hub (``SAMPHubServer``) to connect to. By default the
        hub of the user's session is found from its lock file.
    client : SAMP integrated client, optional
        An already connected client to send with (it stays connected). By
        default a client named ``twomass_vo`` connects for this call only.
    images : bool, optional
        Also send the image files (``image.load.fits``): they are written
        into ``folder`` first (``ImageTable.download``, 1 GiB budget).
    footprints : bool, optional
        Also send the coverage of the footprints as a MOC FITS file
        (``coverage.load.moc.fits``; needs mocpy).
    folder : str or `~pathlib.Path`, optional
        Where the files the clients read are written (they stay there, for
        the clients to read when they like). Default: a new temporary folder.
    timeout : float, optional
        Seconds each client may take to answer each message.

    Returns
    -------
    sent : dict
        MType -> list of the client ids that loaded it.

    Raises
    ------
    SAMPError
        If there is no hub, or a client answered with an error.
    """
    folder = Path(
        tempfile.mkdtemp(prefix="twomass_vo_samp_") if folder is None else folder
    )
    folder.mkdir(parents=True, exist_ok=True)
    own = client is None
    if own:
        client = SAMPIntegratedClient(
            name="twomass_vo",
            description="2MASS Batch Image Service",
            callable=False,
        )
        try:
            client.connect(hub=hub)
        except (SAMPHubError, SAMPClientError, OSError) as exc:
            raise SAMPError(f"no SAMP hub to connect to: {exc}") from None
    try:
        return _send(table, client, images, footprints, folder, timeout)
    finally:
        if own:
            client.disconnect()


def _send(table, client, images, footprints, folder, timeout):
    from .metadata_writer import write_table

    name = f"2MASS {table.meta.get('mode', 'images')}: {len(table)} file(s)"
    path = folder / "twomass_images.vot"
    write_table(table, path, overwrite=True)
    sent = {
        "table.load.votable": _call_all(
            client,
            "table.load.votable",
            {"url": path.resolve().as_uri(), "table-id": path.stem, "name": name},
            timeout,
        )
    }
    if footprints:
        moc_path = folder / "twomass_coverage.moc.fits"
        table.to_moc().save(
            str(moc_path), format="fits", overwrite=True, v1_compatible=True
        )
        sent["coverage.load.moc.fits"] = _call_all(
            client,
            "coverage.load.moc.fits",
            {"url": moc_path.resolve().as_uri(), "name": f"{name} coverage"},
            timeout,
        )
    if images:
        result = table.download(folder / "images", progress=False)
        ok = np.isin(np.asarray(result["status"]), ["ok", "cached"])
        loaded = []
        for row in result[ok]:
            image = Path(str(row["local_path"])).resolve()
            loaded += _call_all(
                client,
                "image.load.fits",
                {"url": image.as_uri(), "image-id": image.stem, "name": image.name},
                timeout,
            )
        sent["image.load.fits"] = sorted(set(loaded))
    return sent
