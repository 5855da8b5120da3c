# Licensed under a 3-clause BSD style license - see LICENSE
"""Check a running twomass_vo DaCHS mirror with pyvo, against its LocalArchive.

Usage (after ``eval "$(mirror.sh up)"``, which sets the variables)::

    python check_mirror.py [--sia URL] [--tap URL] [--table T] [--archive PATH]
        [--datalink URL] [--repeat 20]

Each option defaults to the environment variable of the same name in upper
case (``SIA_URL``, ``TAP_URL``, ``TAP_TABLE``, ``ARCHIVE_PATH``,
``DATALINK_URL``). The script checks SIA v2, TAP (sync, async, uploads),
file downloads, datalink and SODA cutouts, compares the answers with what
twomass_vo computes from the archive itself, prints the served column
metadata and latencies, and exits with status 1 if any check fails.
Needs network access to the mirror only (normally 127.0.0.1).
"""

import argparse
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyvo
import requests
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from twomass_vo import TwoMassBatch
from twomass_vo.archives import LocalArchive

__all__ = ["Checker", "main"]

#: Radius of the SIA v2 / TAP region searches, degrees.
RADIUS = 0.05


def _centre(archive):
    """Return the image centre closest to the middle of the archive (ra, dec)."""
    ra = np.radians(np.asarray(archive.columns["crval1"], float))
    dec = np.radians(np.asarray(archive.columns["crval2"], float))
    xyz = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    i = int(np.argmax(xyz.T @ xyz.mean(axis=1)))
    return float(np.degrees(ra[i])), float(np.degrees(dec[i]))


class Checker:
    """Run named checks, remember failures, and print a report.

    Parameters
    ----------
    verbose : bool, optional
        Print tracebacks of failed checks.
    """

    def __init__(self, *, verbose=False):
        self.failures = []
        self.passed = 0
        self.verbose = verbose

    def check(self, name, func, *args, **kwargs):
        """Run ``func``; a raised exception or a false result is a failure.

        Parameters
        ----------
        name : str
            What is checked.
        func : callable
            Returns a short description (str) or raises.
        *args, **kwargs
            Passed to ``func``.

        Returns
        -------
        result : object
            ``func``'s result, or None if it raised.
        """
        t0 = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            self.failures.append(name)
            print(f"FAIL {name}: {type(exc).__name__}: {exc}")
            if self.verbose:
                import traceback

                traceback.print_exc()
            return None
        dt = time.perf_counter() - t0
        self.passed += 1
        print(f"ok   {name} ({dt * 1000:.0f} ms){': ' + str(result) if result else ''}")
        return result


def _fields(votable_table):
    """Describe the FIELDs of an astropy VOTable table element."""
    out = []
    for f in votable_table.fields:
        kind = f.datatype + (f"[{f.arraysize}]" if f.arraysize else "")
        extra = f" xtype={f.xtype}" if f.xtype else ""
        unit = f" unit={f.unit}" if f.unit else ""
        out.append(f"{f.name}: {kind}{extra}{unit}")
    return out


def _vertices(s_region):
    """Vertex coordinates of a DALI polygon (floats) or an STC-S POLYGON string."""
    if isinstance(s_region, str | bytes):
        words = (s_region.decode() if isinstance(s_region, bytes) else s_region).split()
        assert words[0].upper() == "POLYGON", s_region
        start = 2 if not words[1][0].isdigit() and words[1][0] not in "+-." else 1
        return np.array(words[start:], float)
    return np.asarray(s_region, float)


def _median_ms(func, repeat):
    func()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, min(times) * 1000


def run_checks(sia_url, tap_url, table, archive_path, datalink_url, *, repeat=20):
    """Run all checks against one mirror.

    Parameters
    ----------
    sia_url, tap_url, datalink_url : str
        Endpoints printed by ``mirror.sh up``.
    table : str
        ``schema.table`` of the image table.
    archive_path : str
        The published LocalArchive folder.
    repeat : int, optional
        Number of timed repetitions of each latency measurement.

    Returns
    -------
    checker : `Checker`
        Holds the failures.
    """
    ck = Checker(verbose=bool(os.environ.get("CHECK_VERBOSE")))
    archive = LocalArchive(archive_path)
    ra0, dec0 = _centre(archive)
    print(f"archive {archive!r}; searches around ({ra0:.5f}, {dec0:.5f}), r={RADIUS}")
    batch = TwoMassBatch(archive=archive)
    files_dir = Path(archive.files_dir)
    tap = pyvo.dal.TAPService(tap_url)
    session = requests.Session()
    state = {}

    # ------------------------------------------------------------ SIA v2
    def sia_search():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyvo: unknown xsi:type in capabilities
            sia = pyvo.dal.SIA2Service(sia_url)
        res = sia.search(pos=(ra0, dec0, RADIUS))
        t = res.to_table()
        state["sia"] = (res, t)
        assert len(t) > 0, "no rows"
        assert "s_region" in t.colnames
        bad = [r for r in t["s_region"] if np.size(_vertices(r)) != 8]
        assert not bad, f"s_region not a 4-vertex polygon: {bad[:1]}"
        # what twomass_vo computes from the archive (exact 'overlaps')
        want = set()
        for kind in ("atlas", "quicklook"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mine = batch.query_region(f"{ra0} {dec0}", 2 * RADIUS, image_type=kind)
            want |= {
                (int(k), str(b)[0].upper(), kind)
                for k, b in zip(mine["coadd_key"], mine["band"], strict=True)
            }
        got = set()
        for url in t["access_url"]:
            rel = str(url).split("/getproduct/twomass/files/", 1)[1]
            row, band_code, kind = archive.set_row(rel)
            key = int(archive.columns["coadd_key"][row])
            got.add((key, "JHK"[band_code], kind))
        assert got == want, f"SIA: {sorted(got ^ want)[:4]} differ from twomass_vo"
        kinds = sorted(set(t["dataproduct_subtype"]))
        return (
            f"{len(t)} rows ({kinds}), the same files as twomass_vo "
            f"query_region(..., intersect='overlaps') on the archive"
        )

    ck.check("SIA v2 POS=CIRCLE via pyvo.dal.SIA2Service", sia_search)

    def sia_footprints():
        _res, t = state["sia"]
        rel = [
            str(u).split("/getproduct/twomass/files/", 1)[1] for u in t["access_url"]
        ]
        rows = [archive.set_row(r)[0] for r in rel]
        index = np.asarray(archive.columns["s_region"])[rows].astype("U")
        for got, want in zip(t["s_region"], index, strict=True):
            w = np.array(want.split()[2:], float)
            assert np.allclose(_vertices(got), w, rtol=0, atol=1e-9), (got, want)
        return "every s_region equals the archive index's s_region (to 1e-9 deg)"

    if "sia" in state:
        ck.check("SIA v2 s_region == LocalArchive index s_region", sia_footprints)

    def sia_band():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sia = pyvo.dal.SIA2Service(sia_url)
        # a 2-tuple in metres (pyvo 1.9 rejects a bare Quantity here)
        t = sia.search(pos=(ra0, dec0, RADIUS), band=(1.2e-6, 1.3e-6)).to_table()
        bands = {str(u).rsplit("/", 1)[1][0] for u in t["access_url"]}
        assert len(t) and bands == {"j"}, f"bands {bands}"
        return f"{len(t)} rows, all J"

    ck.check("SIA v2 POS + BAND=1.2e-6 1.3e-6 m (J only)", sia_band)

    # ------------------------------------------------------------ TAP sync
    keys = np.unique(np.asarray(archive.columns["coadd_key"]))[:3].tolist()

    def tap_keys():
        q = (
            "SELECT coadd_key, ordate, hemisphere, scanno, image, band, image_type,"
            " ra, dec, s_region, crval1, crval2, crota2, naxis1, naxis2,"
            " access_url, access_format, access_estsize, pubdid"
            f" FROM {table} WHERE coadd_key IN ({', '.join(map(str, keys))})"
            " ORDER BY coadd_key, image_type, band"
        )
        res = tap.run_sync(q)
        t = res.to_table()
        state["tap"] = (res, t)
        assert len(t) == 6 * len(keys), f"{len(t)} rows, expected {6 * len(keys)}"
        return f"{len(t)} rows for {len(keys)} coadd_keys (3 bands x 2 image types)"

    ck.check("TAP sync SELECT ... WHERE coadd_key IN (...)", tap_keys)

    # ------------------------------------------------------------ TAP upload
    rng = np.random.default_rng(1)
    pos = Table(
        {
            "id": np.arange(6),
            "ra": ra0 + rng.uniform(-0.2, 0.2, 6),
            "dec": dec0 + rng.uniform(-0.2, 0.2, 6),
        }
    )
    pos.add_row((6, 200.0, -30.0))  # outside the patch
    upload_q = (
        "SELECT u.id, i.coadd_key, i.band, i.image_type, i.access_url"
        f" FROM {table} AS i JOIN TAP_UPLOAD.pos AS u"
        " ON 1=CONTAINS(POINT('ICRS', u.ra, u.dec), i.s_region)"
        " WHERE i.image_type='atlas'"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = batch.query_positions(pos, image_type="atlas")
    want = sorted(
        (int(i), int(k), str(b)[0].upper())
        for i, k, b in zip(mine["id"], mine["coadd_key"], mine["band"], strict=True)
    )

    def compare_upload(t):
        got = sorted(
            (int(i), int(k), str(b)[0].upper())
            for i, k, b in zip(t["id"], t["coadd_key"], t["band"], strict=True)
        )
        assert got == want, f"TAP gave {len(got)} rows, twomass_vo {len(want)}"
        return f"{len(t)} rows, identical to twomass_vo query_positions"

    def tap_upload_sync():
        return compare_upload(tap.run_sync(upload_q, uploads={"pos": pos}).to_table())

    def tap_upload_async():
        t0 = time.perf_counter()
        t = tap.run_async(upload_q, uploads={"pos": pos}).to_table()
        state["async_s"] = time.perf_counter() - t0
        return compare_upload(t) + f"; {state['async_s']:.1f} s end to end"

    ck.check("TAP_UPLOAD join CONTAINS(POINT, s_region), sync", tap_upload_sync)
    ck.check("TAP_UPLOAD join CONTAINS(POINT, s_region), async", tap_upload_async)

    # ------------------------------------------------------------ files
    def download(kind):
        _res, t = state["tap"]
        row = t[t["image_type"] == kind][0]
        r = session.get(str(row["access_url"]), timeout=60)
        r.raise_for_status()
        rel = str(row["access_url"]).split("/getproduct/twomass/files/", 1)[1]
        local = (files_dir / rel).read_bytes()
        assert r.content == local, "bytes differ from the LocalArchive file"
        size_kb = -(-len(local) // 1000)
        assert int(row["access_estsize"]) == size_kb, (row["access_estsize"], size_kb)
        return (
            f"{len(r.content)} bytes, {r.headers.get('content-type')}, "
            f"byte-identical to {rel}"
        )

    if "tap" in state:
        ck.check("getproduct download (Atlas) byte-identical", download, "atlas")
        ck.check(
            "getproduct download (Quicklook) byte-identical", download, "quicklook"
        )

    # ------------------------------------------------------------ datalink/SODA
    def cutout(kind):
        _res, t = state["tap"]
        row = t[t["image_type"] == kind][0]
        ra, dec = float(row["ra"]), float(row["dec"])
        r = session.get(
            datalink_url,
            params={"ID": str(row["pubdid"]), "CIRCLE": f"{ra} {dec} 0.02"},
            timeout=60,
        )
        r.raise_for_status()
        with fits.open(io.BytesIO(r.content)) as hdul:
            hdu = next(h for h in hdul if h.data is not None)
            shape = hdu.data.shape
            x, y = WCS(hdu.header).all_world2pix(ra, dec, 0)
        assert shape[0] < int(row["naxis2"]) and shape[1] < int(row["naxis1"])
        assert 0 <= x < shape[1] and 0 <= y < shape[0], "centre not in the cutout"
        return f"{r.headers.get('content-type')}, {shape[1]}x{shape[0]} pixels"

    def datalink_row():
        res, _t = state["tap"]
        dl = res[0].getdatalink()
        sems = sorted({str(s) for s in dl.to_table()["semantics"]})
        # include_narrower=False: pyvo would fetch the datalink vocabulary
        proc = list(dl.bysemantics("#this", include_narrower=False))
        assert proc, "no #this link"
        return f"semantics {sems}"

    if "tap" in state:
        ck.check("SODA cutout CIRCLE (Atlas) returns a FITS", cutout, "atlas")
        ck.check("SODA cutout CIRCLE (Quicklook) returns a FITS", cutout, "quicklook")
        ck.check("datalink from a TAP row (pyvo getdatalink)", datalink_row)

    def sia_datalink():
        res, _t = state["sia"]
        dl = res[0].getdatalink()
        sems = sorted({str(s) for s in dl.to_table()["semantics"]})
        return f"semantics {sems}"

    if "sia" in state:
        ck.check("datalink from an SIA v2 row", sia_datalink)

    # ------------------------------------------------------------ metadata
    print("\nColumns as served (VOTable FIELDs):")
    if "tap" in state:
        print(f"  TAP {table}:")
        for line in _fields(state["tap"][0].resultstable):
            print(f"    {line}")
    if "sia" in state:
        print("  SIA v2 (ivoa.obscore rows):")
        for line in _fields(state["sia"][0].resultstable):
            print(f"    {line}")

    # ------------------------------------------------------------ latency
    print(f"\nLatency (median / min of {repeat} after a warm-up):")
    simple = f"SELECT TOP 1 coadd_key FROM {table}"
    region = (
        f"SELECT coadd_key, band, access_url, s_region FROM {table} WHERE"
        f" 1=INTERSECTS(s_region, CIRCLE('ICRS', {ra0}, {dec0}, {RADIUS}))"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo: unknown xsi:type in capabilities
        sia = pyvo.dal.SIA2Service(sia_url)
    for name, func in (
        ("TAP sync TOP 1", lambda: tap.run_sync(simple)),
        ("TAP sync INTERSECTS(s_region, CIRCLE)", lambda: tap.run_sync(region)),
        ("TAP sync upload join", lambda: tap.run_sync(upload_q, uploads={"pos": pos})),
        ("SIA v2 POS=CIRCLE", lambda: sia.search(pos=(ra0, dec0, RADIUS))),
    ):
        med, low = _median_ms(func, repeat)
        print(f"  {name}: {med:.0f} ms (min {low:.0f} ms)")
    if "async_s" in state:
        print(f"  TAP async upload join, end to end: {state['async_s']:.1f} s")
    return ck


def main(argv=None):
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 if every check passed.
    """
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sia", default=env("SIA_URL"))
    parser.add_argument("--tap", default=env("TAP_URL"))
    parser.add_argument("--table", default=env("TAP_TABLE", "twomass.images"))
    parser.add_argument("--archive", default=env("ARCHIVE_PATH"))
    parser.add_argument("--datalink", default=env("DATALINK_URL"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    missing = [k for k in ("sia", "tap", "archive", "datalink") if not getattr(args, k)]
    if missing:
        parser.error(f'missing: {missing} (eval "$(mirror.sh up)" sets them)')
    ck = run_checks(
        args.sia, args.tap, args.table, args.archive, args.datalink, repeat=args.repeat
    )
    print(f"\n{ck.passed} checks passed, {len(ck.failures)} failed")
    for name in ck.failures:
        print(f"  failed: {name}")
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main())
