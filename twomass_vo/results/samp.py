# Licensed under a 3-clause BSD style license - see LICENSE
"""Send a result to TOPCAT, Aladin, DS9, ... over SAMP (``ImageTable.broadcast``).

The table is written as a VOTable (with its query metadata, see
`twomass_vo.results.result_writer`) into a folder and offered to every client of
the hub subscribed to ``table.load.votable``; on request the image files
(``image.load.fits``; written into the same folder first) and the coverage
of the footprints as a MOC (``coverage.load.moc.fits``, needs mocpy). Each
message is a call with a reply, so that the function returns only once the
clients have loaded what they were sent (or failed).

The hub is not trusted (`twomass_vo.results.samp_hub`): every call to it is bounded
in time and size, and every failure -- no hub, a hub that never answers or
answers garbage, a client that does not reply -- is a `SAMPError` of one
line. The files are written only once a hub has registered the sender, into
a temporary folder that is removed once the clients have loaded them (at the
exit of the process after a failure: a client that did not answer in time
may still be reading); a ``folder`` given is left as it is.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .samp_hub import HubConnection, SAMPError, find_hub

__all__ = ["SAMPError", "broadcast"]


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
        hub of the user's session is found from its lock file (``SAMP_HUB``
        or ``~/.samp``).
    client : SAMP integrated client, optional
        An already connected client (pyvo's ``SAMPIntegratedClient``) whose
        registration to send with (it stays connected). By default a client
        named ``twomass_vo`` registers for this call only.
    images : bool, optional
        Also send the image files (``image.load.fits``): they are written
        into ``folder`` first (``ImageTable.download``, 1 GiB budget).
    footprints : bool, optional
        Also send the coverage of the footprints as a MOC FITS file
        (``coverage.load.moc.fits``; needs mocpy).
    folder : str or `~pathlib.Path`, optional
        Where the files the clients read are written; they stay there. By
        default a new temporary folder, made once a hub answers and removed
        once the clients have loaded its files.
    timeout : float, optional
        Seconds each client may take to answer each message, and the hub
        each call.

    Returns
    -------
    sent : dict
        MType -> list of the client ids that loaded it.

    Raises
    ------
    SAMPError
        If there is no hub, the hub fails or does not answer in time, or a
        client does not reply in time or replies with an error.
    """
    connection = _connect(hub, client, timeout)
    own_folder = folder is None
    try:
        folder = Path(
            tempfile.mkdtemp(prefix="twomass_vo_samp_") if own_folder else folder
        )
        folder.mkdir(parents=True, exist_ok=True)
        sent = _send(table, connection, images, footprints, folder, timeout)
    except BaseException:
        if own_folder and isinstance(folder, Path):
            # a client that did not answer in time may still be reading
            _remove(folder, at_exit=True)
        raise
    finally:
        if client is None:
            connection.unregister()
    if own_folder:
        _remove(folder, at_exit=False)
    return sent


def _connect(hub, client, timeout):
    """Return a `HubConnection`: the given client's registration, or a new one."""
    if client is not None:
        lockfile = getattr(getattr(client, "hub", None), "lockfile", None) or {}
        url = lockfile.get("samp.hub.xmlrpc.url", "").replace("\\", "")
        if not url or not client.is_connected:
            raise SAMPError("the SAMP client given is not connected to a hub")
        return HubConnection(url, timeout=timeout, private_key=client.get_private_key())
    if hub is not None:
        if not getattr(hub, "is_running", False):
            raise SAMPError("no SAMP hub to connect to: the hub given is not running")
        params = hub.params
        url = params["samp.hub.xmlrpc.url"].replace("\\", "")
        secret = params["samp.secret"]
    else:
        url, secret = find_hub()
    connection = HubConnection(url, timeout=timeout)
    connection.register(secret, "twomass_vo", "2MASS Batch Image Service")
    return connection


def _remove(folder, *, at_exit):
    """Remove a temporary folder now, or when the process exits."""
    if at_exit:
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _call_all(connection, mtype, params, timeout):
    """Call every subscribed client; return the ids that loaded it."""
    done = []
    for recipient in connection.subscribed_clients(mtype):
        connection.call_and_wait(recipient, mtype, params, timeout)
        done.append(recipient)
    return done


def _send(table, connection, images, footprints, folder, timeout):
    from .result_writer import write_table

    name = f"2MASS {table.meta.get('mode', 'images')}: {len(table)} file(s)"
    path = folder / "twomass_images.vot"
    write_table(table, path, overwrite=True)
    sent = {
        "table.load.votable": _call_all(
            connection,
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
            connection,
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
                connection,
                "image.load.fits",
                {"url": image.as_uri(), "image-id": image.stem, "name": image.name},
                timeout,
            )
        sent["image.load.fits"] = sorted(set(loaded))
    return sent
