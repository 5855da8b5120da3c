# Licensed under a 3-clause BSD style license - see LICENSE
"""An astroquery user's ``except`` catches ours, and so does a plain one.

Every exception and warning of `twomass_vo.exceptions` that has an astroquery
counterpart is raised here through the public API (bad queries, a name the
resolver does not know, a closed port, a service answering HTTP 404, a scan
with no image) and caught by astroquery's class, and by the Python class it
was before (`ValueError`, `RuntimeError`, ``AstropyWarning``). No test
touches the network: the failures are made on 127.0.0.1.
"""

import socket
import warnings

import pytest
from astropy.utils.exceptions import AstropyWarning
from astroquery import exceptions as aq
from irsa_standin import IrsaStandIn

import twomass_vo
from twomass_vo import TwoMassBatch, exceptions
from twomass_vo.archives import LocalArchive
from twomass_vo.archives.irsa import IrsaArchive
from twomass_vo.coords import parse_coordinates

M31 = "00h42m44.3s +41d16m08s"


@pytest.mark.parametrize(
    ("ours", "python", "astroquery"),
    [
        ("InvalidQueryError", ValueError, aq.InvalidQueryError),
        ("InputError", ValueError, aq.InvalidQueryError),
        ("NameResolutionError", ValueError, aq.InvalidQueryError),
        ("NameResolutionError", ValueError, aq.ResolverError),
        ("ArchiveError", RuntimeError, aq.RemoteServiceError),
        ("ArchiveUnreachableError", RuntimeError, aq.RemoteServiceError),
        ("ServiceStatusError", RuntimeError, aq.RemoteServiceError),
        ("NoResultsWarning", AstropyWarning, aq.NoResultsWarning),
    ],
)
def test_the_classes_are_both(ours, python, astroquery):
    cls = getattr(exceptions, ours)
    assert issubclass(cls, python) and issubclass(cls, astroquery)
    if python is not AstropyWarning:  # astroquery's warning is an AstropyWarning
        # the Python class comes first, as it did before
        assert cls.__mro__.index(python) < cls.__mro__.index(astroquery)


def test_a_bad_query_is_an_astroquery_invalid_query_error():
    with pytest.raises(aq.InvalidQueryError, match="intersect") as info:
        TwoMassBatch.query_region(M31, 0.3, intersect="x", get_query_payload=True)
    assert isinstance(info.value, ValueError)
    assert type(info.value) is exceptions.InvalidQueryError
    try:
        TwoMassBatch.query_region("10.68 41.27 x", 0.3, get_query_payload=True)
    except aq.InvalidQueryError as exc:  # as an astroquery user writes it
        assert "'x' is not part of a position" in str(exc)
    else:
        pytest.fail("no exception")


def test_a_bad_input_value_is_an_astroquery_invalid_query_error():
    with pytest.raises(aq.InvalidQueryError, match="yymmdd") as info:
        TwoMassBatch.query_scan("97084", "n", 96, get_query_payload=True)
    assert type(info.value) is exceptions.InputError
    with pytest.raises(ValueError, match="yymmdd"):
        TwoMassBatch.query_scan("97084", "n", 96, get_query_payload=True)


def test_an_unknown_name_is_an_astroquery_resolver_error():
    def unknown(name):
        raise KeyError(name)

    with pytest.raises(aq.ResolverError, match="could not resolve 'xyzzy'") as info:
        parse_coordinates("xyzzy", resolver=unknown)
    assert type(info.value) is exceptions.NameResolutionError
    assert isinstance(info.value, aq.InvalidQueryError)
    assert isinstance(info.value, ValueError)


def test_an_unreachable_archive_is_an_astroquery_remote_service_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    archive = twomass_vo.VOArchive(
        tap_url=f"http://127.0.0.1:{port}/tap", table="twomass.images"
    )
    with pytest.raises(aq.RemoteServiceError, match="connection refused") as info:
        TwoMassBatch(archive=archive).query_scan("971031", "n", 96)
    assert isinstance(info.value, exceptions.ArchiveUnreachableError)
    assert isinstance(info.value, RuntimeError)


def test_an_http_error_status_is_an_astroquery_remote_service_error(tmp_path):
    patch = LocalArchive.simulate(tmp_path / "patch", "10.6846 41.2689", 0.03)
    with IrsaStandIn(patch) as server:
        archive = IrsaArchive(
            sia_url="",
            tap_url=server.tap_url,
            ibe_url=server.ibe_url + "x",  # IBE answers 404
            data_url_root=server.data_url_root,
            discover=False,
        )
        key = int(server.table["coadd_key"][0])
        with pytest.raises(aq.RemoteServiceError, match="answered HTTP 404") as info:
            TwoMassBatch(archive=archive).query_coadd_keys([key])
        archive.close()
    assert isinstance(info.value, exceptions.ServiceStatusError)
    assert info.value.status == 404
    assert isinstance(info.value, RuntimeError)


def test_no_results_is_an_astroquery_no_results_warning():
    batch = TwoMassBatch(archive="sim")
    with pytest.warns(aq.NoResultsWarning) as caught:
        nothing = batch.query_scan("970804", "n", 96)
    assert len(nothing) == 0
    assert any(w.category is exceptions.NoResultsWarning for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error", aq.NoResultsWarning)
        with pytest.raises(exceptions.NoResultsWarning):
            batch.query_scan("970804", "n", 96)
