# Licensed under a 3-clause BSD style license - see LICENSE
"""A SAMP hub that is not trusted: every call bounded in time, size and form.

pyvo's SAMP client calls the hub over XML-RPC with no time limit (a hub that
accepts the connection and never answers hangs it), reads its lock file
through a running-hub check that has none either, and lets the hub's answers
through as they come (an ``ExpatError`` for a hub that answers garbage, a
``SAMPProxyError`` for a client that does not reply). `HubConnection` is the
little of a SAMP client that `twomass_vo.results.samp` needs -- register, declare
its name, list the subscribers of an MType, call one and wait for its reply,
unregister -- with every call:

- bounded in time by an overall deadline (`twomass_vo._http.deadline`: its
  socket is shut down when the deadline passes, whatever the hub sends);
- bounded in size (`MAX_ANSWER` bytes);
- checked in form (XML-RPC, and the types SAMP says);

and every failure raised as `SAMPError`, one line naming the hub's URL and
what went wrong. `find_hub` reads the hub's lock file (``SAMP_HUB`` or
``~/.samp``), a local file only.
"""

import contextlib
import http.client
import os
import time
import xmlrpc.client
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.parsers.expat import ExpatError

from .._http.deadline import WatchedDirectConnection, watching

__all__ = ["MAX_ANSWER", "HubConnection", "SAMPError", "find_hub"]

#: Largest answer read from a hub (bytes); SAMP answers are a few kB.
MAX_ANSWER = 1 << 20
#: Largest lock file read.
_MAX_LOCKFILE = 1 << 16


class SAMPError(ConnectionError):
    """No SAMP hub, a hub that fails, or a client that fails to load what it was sent.

    Its message is one line naming the hub (or the client) and the cause.
    """


def find_hub():
    """Return the URL and secret of the session's hub, from its lock file.

    The lock file is ``SAMP_HUB`` (``std-lockurl:file:///...``) or
    ``~/.samp``; only local files are read (at most 64 kB).

    Returns
    -------
    url : str
        The hub's XML-RPC URL.
    secret : str
        The secret to register with.

    Raises
    ------
    SAMPError
        If there is no lock file, or it names no hub.
    """
    value = os.environ.get("SAMP_HUB")
    if value:
        if not value.startswith("std-lockurl:"):
            raise SAMPError(f"SAMP_HUB={value!r}: only the standard profile is known")
        where = value[len("std-lockurl:") :]
        parts = urlsplit(where)
        if parts.scheme not in ("", "file"):
            raise SAMPError(f"SAMP_HUB={value!r}: only a local lock file is read")
        path = Path(unquote(parts.path) if parts.scheme else where)
    else:
        path = Path.home() / ".samp"
    try:
        with open(path, "rb") as fh:
            text = fh.read(_MAX_LOCKFILE).decode("utf-8", "replace")
    except OSError:
        raise SAMPError(
            f"no SAMP hub to connect to (no lock file {path}): start TOPCAT, "
            "Aladin or another hub"
        ) from None
    entries = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        entries[key.strip()] = value.strip()
    url = entries.get("samp.hub.xmlrpc.url", "").replace("\\", "")
    secret = entries.get("samp.secret")
    if not url or not secret:
        raise SAMPError(f"no SAMP hub to connect to: {path} names no hub")
    return url, secret


class HubConnection:
    """A SAMP client of a hub (standard profile), every call bounded.

    Parameters
    ----------
    url : str
        The hub's XML-RPC URL (``http``).
    timeout : float
        Seconds each call may take, answer included.
    private_key : str, optional
        The key of a client already registered (its calls are made with it,
        and it is not unregistered); by default `register` makes one.
    """

    def __init__(self, url, *, timeout, private_key=None):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SAMPError(f"the SAMP hub's URL {url!r} is not an http URL")
        self.url = url
        self.timeout = float(timeout)
        self.private_key = private_key
        self._parts = parts

    # ------------------------------------------------------------ SAMP calls
    def register(self, secret, name, description):
        """Register with the hub and declare the client's name.

        Parameters
        ----------
        secret : str
            The hub's secret (its lock file).
        name, description : str
            ``samp.name`` and ``samp.description.text``.
        """
        answer = self.call("samp.hub.register", secret)
        key = answer.get("samp.private-key") if isinstance(answer, dict) else None
        if not isinstance(key, str) or not key:
            raise SAMPError(f"the SAMP hub at {self.url} gave no private key")
        self.private_key = key
        self.call(
            "samp.hub.declareMetadata",
            key,
            {"samp.name": name, "samp.description.text": description},
        )

    def subscribed_clients(self, mtype):
        """Return the ids of the clients subscribed to ``mtype``, sorted."""
        answer = self.call("samp.hub.getSubscribedClients", self.private_key, mtype)
        if not isinstance(answer, dict) or not all(isinstance(k, str) for k in answer):
            raise SAMPError(
                f"the SAMP hub at {self.url} answered {type(answer).__name__} for "
                "the subscribed clients"
            )
        return sorted(answer)

    def call_and_wait(self, recipient, mtype, params, timeout):
        """Send ``mtype`` to one client and wait for its reply.

        Parameters
        ----------
        recipient : str
            The client's id.
        mtype : str
            The message type.
        params : dict
            Its parameters.
        timeout : float
            Seconds the client may take (told to the hub; the call itself is
            given up a few seconds later whatever the hub does).

        Raises
        ------
        SAMPError
            If the client does not reply in time or replies with an error.
        """
        message = {"samp.mtype": mtype, "samp.params": params}
        try:
            reply = self.call(
                "samp.hub.callAndWait",
                self.private_key,
                recipient,
                message,
                str(max(int(timeout), 1)),
                seconds=timeout + 5,
            )
        except SAMPError as exc:
            raise SAMPError(
                f"SAMP client {recipient} did not load {mtype}: {exc}"
            ) from None
        status = reply.get("samp.status") if isinstance(reply, dict) else None
        if status not in ("samp.ok", "samp.warning"):
            error = reply.get("samp.error") if isinstance(reply, dict) else None
            text = error.get("samp.errortxt") if isinstance(error, dict) else None
            raise SAMPError(
                f"SAMP client {recipient} failed {mtype}: {text or status or reply!r}"
            )

    def unregister(self):
        """Unregister (errors ignored: the client goes away anyway)."""
        if self.private_key is not None:
            with contextlib.suppress(SAMPError):
                self.call("samp.hub.unregister", self.private_key)
            self.private_key = None

    # ------------------------------------------------------------- XML-RPC
    def call(self, method, *params, seconds=None):
        """Call a hub method over XML-RPC within ``seconds`` (default ``timeout``).

        Returns
        -------
        result : object
            The method's answer.

        Raises
        ------
        SAMPError
            If the hub cannot be reached, does not answer in time, answers
            more than `MAX_ANSWER` bytes, not XML-RPC, or a fault.
        """
        seconds = self.timeout if seconds is None else float(seconds)
        body = xmlrpc.client.dumps(params, method, allow_none=True).encode("utf-8")
        data = self._post(body, seconds)
        try:
            (result,), _ = xmlrpc.client.loads(data)
        except xmlrpc.client.Fault as fault:
            text = " ".join(str(fault.faultString).split())[:200]
            raise SAMPError(
                f"the SAMP hub at {self.url} refused {method}: {text}"
            ) from None
        except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError):
            raise SAMPError(
                f"the SAMP hub at {self.url} answered {method} with something "
                "that is not XML-RPC"
            ) from None
        return result

    def _post(self, body, seconds):
        """POST one XML-RPC request; return the answer's bytes (bounded)."""
        parts = self._parts
        path = parts.path or "/"
        connection = WatchedDirectConnection(
            parts.hostname, parts.port or 80, timeout=seconds
        )
        headers = {"Content-Type": "text/xml", "User-Agent": "twomass_vo SAMP"}
        with watching(time.monotonic() + seconds) as limit:
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                data = response.read(MAX_ANSWER + 1)
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                if limit.expired or isinstance(exc, TimeoutError):
                    raise self._no_answer(seconds) from None
                from .._http.network_errors import network_failure

                failure = network_failure(exc, url=self.url)
                why = failure.line if failure else f"{type(exc).__name__}: {exc}"
                raise SAMPError(f"the SAMP hub at {self.url}: {why}") from None
            finally:
                connection.close()
        if limit.expired:
            raise self._no_answer(seconds)
        if status != 200:
            raise SAMPError(f"the SAMP hub at {self.url} answered HTTP {status}")
        if len(data) > MAX_ANSWER:
            raise SAMPError(
                f"the SAMP hub at {self.url} answered more than {MAX_ANSWER} bytes"
            )
        return data

    def _no_answer(self, seconds):
        return SAMPError(
            f"the SAMP hub at {self.url} gave no answer within {seconds:g} s"
        )
