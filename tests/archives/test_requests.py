# Licensed under a 3-clause BSD style license - see LICENSE
"""Requests as frozen objects: each payload dict comes back unchanged."""

import dataclasses

import numpy as np
import pytest

from twomass_vo.archives import IrsaArchive, VOArchive
from twomass_vo.archives.irsa.requests import IbeRequest, Sia1Request
from twomass_vo.archives.vo.requests import (
    SiaRequest,
    TapRequest,
    as_request,
    execute,
)

RA = np.array([10.0, 10.5, 200.0])
DEC = np.array([-5.0, -5.2, 30.0])


def payloads_of(archive):
    yield from archive.payload_circle(10.0, -5.0, 0.2)
    yield from archive.payload_points(RA, DEC)
    if archive.table is not None or getattr(archive, "ibe_url", None):
        yield from archive.payload_coadd_keys([1590591, 1388256])
        yield from archive.payload_scans(
            ["000101", "990101"], ["n", "s"], [1, 2], [0, 5]
        )
    if getattr(archive, "sia1_url", None):
        yield from archive.payload_quicklook(RA, DEC)


def archives():
    many = dict(upload=True, upload_threshold=1, pairs_first=False)
    yield VOArchive(tap_url="http://127.0.0.1:1/tap", table="tmass.images", **many)
    yield VOArchive(tap_url="http://127.0.0.1:1/tap", table="tmass.images")
    yield VOArchive(
        sia_url="http://127.0.0.1:1/sia",
        tap_url="http://127.0.0.1:1/tap",
        table="tmass.images",
        upload=False,
    )
    yield IrsaArchive()
    yield IrsaArchive(table="twomass.allsky_images", discover=False)
    yield IrsaArchive(ibe_url="", sia_url="", discover=False)


@pytest.mark.parametrize("archive", list(archives()), ids=repr)
def test_payloads_come_back_unchanged(archive):
    kinds = set()
    for payload in payloads_of(archive):
        request = as_request(payload, archive.request_kinds)
        kinds.add(type(request))
        again = request.as_payload()
        assert list(again) == list(payload)  # same keys, same order
        assert all(again[k] is payload[k] for k in payload)
        assert as_request(request, archive.request_kinds) is request
        with pytest.raises(dataclasses.FrozenInstanceError):
            request.url = "elsewhere"
    assert kinds


def test_every_kind_is_seen():
    kinds = set()
    for archive in archives():
        kinds |= {
            type(as_request(p, archive.request_kinds)) for p in payloads_of(archive)
        }
    assert kinds == {SiaRequest, TapRequest, IbeRequest, Sia1Request}


def test_unknown_service_and_field():
    with pytest.raises(ValueError, match="no request class"):
        as_request({"service": "ftp", "url": "x"}, IrsaArchive.request_kinds)
    with pytest.raises(ValueError, match="no field"):
        as_request(
            {"service": "sia", "url": "x", "params": {}, "colour": 1},
            IrsaArchive.request_kinds,
        )
    with pytest.raises(TypeError, match="no way to run"):
        execute(object(), None)


def test_a_vo_archive_does_not_read_irsa_payloads():
    """The request classes are the archive's own, not a registry filled at import."""
    ibe = {"service": "ibe", "url": "x", "method": "GET", "params": {}}
    assert isinstance(as_request(ibe, IrsaArchive.request_kinds), IbeRequest)
    with pytest.raises(ValueError, match="no request class for service 'ibe'"):
        as_request(ibe, VOArchive.request_kinds)
