# Licensed under a 3-clause BSD style license - see LICENSE
"""How often and how long to retry a file, and what a server asked to wait.

`RetryPolicy` holds the retries, backoff, time budget, per-attempt
deadline and low-speed limit of one file; `retry_policy` makes the policy of
a download from ``twomass_vo.conf``; `parse_retry_after` reads a
``Retry-After`` header; `hold_host` / `host_wait` hold back every request to
a host that asked to wait, in this process (`release_hosts` lifts such
holds); and `host_slot` lets at most a
given number of requests run at once to one host
(``twomass_vo.conf.max_per_host``). `twomass_vo._http.fetch` applies them.
"""

import contextlib
import email.utils
import random
import threading
import time
from dataclasses import dataclass

from .deadline import low_speed

__all__ = [
    "RetryPolicy",
    "hold_host",
    "host_slot",
    "host_wait",
    "parse_retry_after",
    "release_hosts",
    "retry_policy",
]

_gate_lock = threading.Lock()
_not_before = {}  # host -> time.monotonic() before which no request is sent
_slots = {}  # (host, limit) -> semaphore of the requests under way


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one file.

    Parameters
    ----------
    retries : int, optional
        Retries after the first attempt (0: a single attempt).
    backoff : float, optional
        Base of the exponential backoff, seconds: the wait before retry ``n``
        (0-based) is drawn uniformly between half and all of
        ``min(max_backoff, backoff * 2**n)`` (jitter spreads the clients).
    max_backoff : float, optional
        Longest wait between two attempts, seconds (a longer
        ``Retry-After`` is still honoured, up to ``max_retry_after``).
    budget : float, optional
        Total time for one file, seconds, attempts and waits included: no
        attempt starts after it, a running attempt is stopped at it, and a
        ``Retry-After`` beyond it ends the retries at once.
    attempt_timeout : float, optional
        Longest time one request may take, seconds, from sending it to the
        last byte of the body (headers included): a server that trickles
        bytes is given up on after it.
    max_retry_after : float, optional
        Longest ``Retry-After`` honoured, seconds: a longer one is cut to
        it (for the file and for the host's other requests).
    low_speed_limit, low_speed_time : float, optional
        An attempt whose answer delivers fewer than ``low_speed_limit``
        bytes per second for ``low_speed_time`` seconds (from its first
        byte) is given up on, and retried, as curl's ``--speed-limit`` /
        ``--speed-time`` (0: no such limit).
    """

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    budget: float = 300.0
    attempt_timeout: float = 120.0
    max_retry_after: float = 120.0
    low_speed_limit: float = 1000.0
    low_speed_time: float = 30.0

    def __post_init__(self):
        if (
            isinstance(self.retries, bool)
            or int(self.retries) != self.retries
            or self.retries < 0
        ):
            raise ValueError(f"retries={self.retries!r} must be an integer >= 0")
        for name in ("backoff", "max_backoff", "budget", "max_retry_after"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name}={value!r} must be >= 0")
        if not self.attempt_timeout > 0:
            raise ValueError(f"attempt_timeout={self.attempt_timeout!r} must be > 0")
        low_speed(self.low_speed_limit, self.low_speed_time)

    @property
    def speed(self):
        """The low-speed limit ``(bytes per second, seconds)``, or None."""
        return low_speed(self.low_speed_limit, self.low_speed_time)

    def delay(self, attempt, rng=random):
        """Wait before retry number ``attempt`` (0-based), with jitter.

        Parameters
        ----------
        attempt : int
            How many retries came before.
        rng : `random.Random`, optional
            Source of the jitter.

        Returns
        -------
        seconds : float
            Between half and all of ``min(max_backoff, backoff * 2**attempt)``.
        """
        cap = min(self.max_backoff, self.backoff * 2.0**attempt)
        return cap / 2 + rng.uniform(0, cap / 2)


def retry_policy(retries=None):
    """Return the retry policy of a download: ``retries`` and the conf limits.

    Parameters
    ----------
    retries : int or `RetryPolicy`, optional
        Retries per file (default ``twomass_vo.conf.retries``); a
        `RetryPolicy` is returned as is.

    Returns
    -------
    policy : `RetryPolicy`
        With ``budget``, ``attempt_timeout``, ``max_retry_after`` and the
        low-speed limit from ``twomass_vo.conf.retry_budget``,
        ``conf.attempt_timeout``, ``conf.max_retry_after``,
        ``conf.low_speed_limit`` and ``conf.low_speed_time``.

    Raises
    ------
    ValueError
        If ``retries`` is not an integer >= 0.
    """
    from .. import conf

    if isinstance(retries, RetryPolicy):
        return retries
    if retries is None:
        retries = conf.retries
    try:
        valid = not isinstance(retries, bool) and int(retries) == retries >= 0
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise ValueError(
            f"retries={retries!r} must be an integer >= 0 or a RetryPolicy"
        )
    return RetryPolicy(
        retries=int(retries),
        budget=float(conf.retry_budget),
        attempt_timeout=float(conf.attempt_timeout),
        max_retry_after=float(conf.max_retry_after),
        low_speed_limit=conf.low_speed_limit,
        low_speed_time=conf.low_speed_time,
    )


def parse_retry_after(value, *, now=None):
    """Seconds to wait from a ``Retry-After`` header.

    Parameters
    ----------
    value : str or None
        The header: delay-seconds or an HTTP date.
    now : float, optional
        Current POSIX time (default: `time.time`).

    Returns
    -------
    seconds : float or None
        The wait (0 for a date in the past), or None if absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def hold_host(host, seconds):
    """Hold back every request to ``host`` in this process for ``seconds``.

    A later hold that ends sooner does not shorten it.

    Parameters
    ----------
    host : str
        The host (``netloc`` of its URLs).
    seconds : float
        How long, from now.
    """
    until = time.monotonic() + seconds
    with _gate_lock:
        if _not_before.get(host, 0.0) < until:
            _not_before[host] = until


def host_wait(host):
    """Return the seconds left before a request may be sent to ``host``.

    Parameters
    ----------
    host : str
        The host (``netloc`` of its URLs).

    Returns
    -------
    seconds : float
        Negative or zero if none is held back.
    """
    with _gate_lock:
        return _not_before.get(host, 0.0) - time.monotonic()


def release_hosts(*hosts):
    """Lift the holds of `hold_host` on ``hosts`` (on every host if none).

    For a process that knows a server is back before the wait it asked
    for is over (a restarted local server, a new test).

    Parameters
    ----------
    *hosts : str
        The hosts (``netloc`` of their URLs); none: every host.
    """
    with _gate_lock:
        if not hosts:
            _not_before.clear()
        for host in hosts:
            _not_before.pop(host, None)


@contextlib.contextmanager
def host_slot(host, limit, cancel=None):
    """Run a ``with`` block as one of at most ``limit`` requests to ``host``.

    The requests of this process to one host (each thread's, whatever runs
    them) wait for a free slot, so that a large pool of workers does not
    flood one archive.

    Parameters
    ----------
    host : str
        The host (``netloc`` of its URLs).
    limit : int
        Most requests to it at once (>= 1).
    cancel : `threading.Event`, optional
        Stops the wait when set (raises ``InterruptedError``).
    """
    key = (host, max(int(limit), 1))
    with _gate_lock:
        slots = _slots.get(key)
        if slots is None:
            slots = _slots[key] = threading.BoundedSemaphore(key[1])
    while not slots.acquire(timeout=0.1):
        if cancel is not None and cancel.is_set():
            raise InterruptedError("stopped")
    try:
        yield
    finally:
        slots.release()
