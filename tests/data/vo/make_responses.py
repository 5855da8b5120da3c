# Licensed under a 3-clause BSD style license - see LICENSE
"""Write the canned VO responses of ``tests/test_vo_archive.py``.

``python make_responses.py irsa`` writes the IRSA-shaped files (synthetic,
no network); ``python make_responses.py dachs`` records the ``dachs_*``
files from the project's DaCHS mirror (``mirror/dachs/mirror.sh up``, which
serves a simulated 0.3 deg patch on M31 at http://127.0.0.1:8080).
See tests/data/README.md ("VO responses").
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DACHS = "http://127.0.0.1:8080"
IBE = "https://irsa.ipac.caltech.edu/ibe/data/twomass/allsky/allsky/"

#: Two registered image sets that both contain (314.30417, +77.595559): the
#: identifiers of IRSA's own SIA v1 example; the WCS values are made up.
IRSA_SETS = [
    # ordate, hem, scan, image, coadd_key, crval1, crval2, crota2
    ("000616", "n", 60, 256, 1388256, 314.25, 77.62, 0.3),
    ("001129", "n", 19, 256, 1528372, 314.40, 77.55, -0.2),
]
BAND_INFO = {  # band: (name in SIA v2, em_min, em_max) in m
    "j": ("J", 1.066e-6, 1.404e-6),
    "h": ("H", 1.400e-6, 1.924e-6),
    "k": ("K", 1.884e-6, 2.434e-6),
}


def _corners(crval1, crval2, crota2):
    from twomass_vo.geometry import sin_corners, xyz_to_radec

    xyz = sin_corners(
        crval1, crval2, 256.5, 512.5, 512, 1024, -1 / 3600, 1 / 3600, crota2
    )
    ra, dec = xyz_to_radec(xyz)
    return np.ravel(ra), np.ravel(dec)


def _votable(fields, rows, *, status="OK", message=None):
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
        '<RESOURCE type="results">',
        f'<INFO name="QUERY_STATUS" value="{status}">{message or ""}</INFO>',
    ]
    if status == "ERROR":
        return "\n".join([*head, "</RESOURCE>", "</VOTABLE>", ""])
    head.append("<TABLE>")
    for name, datatype, extra in fields:
        head.append(f'<FIELD name="{name}" datatype="{datatype}"{extra}/>')
    body = ["<DATA><TABLEDATA>"]
    for row in rows:
        cells = "".join(f"<TD>{v}</TD>" for v in row)
        body.append(f"<TR>{cells}</TR>")
    body.append("</TABLEDATA></DATA>")
    return "\n".join([*head, *body, "</TABLE>", "</RESOURCE>", "</VOTABLE>", ""])


CHAR = ' arraysize="*"'


def irsa_sia2():
    """An answer of IRSA's SIA v2 service, COLLECTION=twomass_allsky."""
    fields = [
        ("s_ra", "double", ' unit="deg"'),
        ("s_dec", "double", ' unit="deg"'),
        ("facility_name", "char", CHAR),
        ("instrument_name", "char", CHAR),
        ("dataproduct_subtype", "char", CHAR),
        ("calib_level", "short", ""),
        ("dataproduct_type", "char", CHAR),
        ("energy_bandpassname", "char", CHAR),
        ("energy_emband", "char", CHAR),
        ("obs_id", "char", CHAR),
        ("s_resolution", "double", ' unit="arcsec"'),
        ("em_min", "double", ' unit="m"'),
        ("em_max", "double", ' unit="m"'),
        ("access_url", "char", CHAR),
        ("access_format", "char", CHAR),
        ("access_estsize", "long", ' unit="kbyte"'),
        ("t_exptime", "double", ' unit="s"'),
        ("s_region", "char", CHAR + ' unit="deg"'),
        ("obs_collection", "char", CHAR),
        ("obs_publisher_did", "char", CHAR),
        ("s_xel1", "long", ""),
        ("s_xel2", "long", ""),
        ("s_pixel_scale", "double", ' unit="arcsec"'),
        ("s_fov", "double", ' unit="deg"'),
        ("cloud_access", "char", CHAR),
        ("upload_row_id", "long", ""),
    ]
    rows = []
    for ordate, hem, scan, image, _, crval1, crval2, crota2 in IRSA_SETS:
        ra, dec = _corners(crval1, crval2, crota2)
        ra, dec = np.append(ra, ra[0]), np.append(dec, dec[0])  # closed
        region = "POLYGON ICRS " + " ".join(
            f"{a:.6f} {d:.6f}" for a, d in zip(ra, dec, strict=True)
        )
        for b, (name, lo, hi) in BAND_INFO.items():
            fname = f"{b}i{scan:03d}{image:04d}.fits.gz"
            path = f"{ordate}{hem}/s{scan:03d}/image/{fname}"
            obs_id = f"{ordate}{hem}{scan:03d}{image:04d}"
            rows.append(
                (
                    f"{crval1:.6f}",
                    f"{crval2:.6f}",
                    "2MASS",
                    "2MASS",
                    "science",
                    2,
                    "image",
                    name,
                    "Infrared",
                    obs_id,
                    2.5,
                    lo,
                    hi,
                    IBE + path,
                    "image/fits",
                    2100,
                    7.8,
                    region,
                    "twomass_allsky",
                    f"ivo://irsa.ipac/twomass_allsky?{path}",
                    512,
                    1024,
                    1.0,
                    0.28,
                    "{&quot;aws&quot;: {&quot;bucket_name&quot;: &quot;nasa-irsa-"
                    "2mass&quot;, &quot;key&quot;: &quot;allsky/" + path + "&quot;, "
                    "&quot;region&quot;: &quot;us-west-2&quot;}}",
                    1,
                )
            )
    # an auxiliary file of the first set (not an image: must be dropped)
    aux = list(rows[0])
    aux[4], aux[13], aux[14] = "auxiliary", IBE + "000616n/s060/pers.tbl", "text/plain"
    rows.insert(1, tuple(aux))
    (HERE / "irsa_sia2_twomass_allsky.xml").write_text(_votable(fields, rows))
    (HERE / "irsa_sia2_error.xml").write_text(
        _votable(
            [],
            [],
            status="ERROR",
            message="Illegal POS value: CIRCLE radius must be positive",
        )
    )


def irsa_tap():
    """An answer of IRSA's TAP image table, with the columns IBE documents."""
    fields = [
        ("coadd_key", "int", ""),
        ("ordate", "char", ' arraysize="6"'),
        ("hemisphere", "char", ' arraysize="1"'),
        ("scanno", "short", ""),
        ("filter", "char", ' arraysize="1"'),
        ("crval1", "double", ' unit="deg"'),
        ("crval2", "double", ' unit="deg"'),
        *(
            (f"{c}{i}", "double", ' unit="deg"')
            for i in range(1, 5)
            for c in ("ra", "dec")
        ),
        ("fname", "char", CHAR),
    ]
    rows = []
    for ordate, hem, scan, image, key, crval1, crval2, crota2 in IRSA_SETS:
        ra, dec = _corners(crval1, crval2, crota2)
        corners = [f"{v:.6f}" for pair in zip(ra, dec, strict=True) for v in pair]
        for b in "jhk":
            rows.append(
                (
                    key,
                    ordate,
                    hem,
                    scan,
                    b,
                    crval1,
                    crval2,
                    *corners,
                    f"{b}i{scan:03d}{image:04d}.fits.gz",
                )
            )
    (HERE / "irsa_tap_allsky_images.xml").write_text(_votable(fields, rows))


def dachs():
    """Record answers of the DaCHS mirror (needs it running on 127.0.0.1:8080)."""
    import requests
    from pyvo.dal import TAPQuery

    from twomass_vo.archives.vo import VOArchive

    archive = VOArchive(tap_url=f"{DACHS}/tap", table="twomass.images")
    session = requests.Session()

    def run(payload, name, maxrec=None):
        query = TAPQuery(
            payload["url"],
            payload["query"],
            maxrec=maxrec or payload["maxrec"],
            uploads=payload["uploads"] or None,
            session=session,
        )
        response = query.submit()
        (HERE / name).write_bytes(response.content)
        print(name, response.status_code, len(response.content))

    (circle,) = archive.payload_circle(10.68, 41.27, 0.1)
    run(circle, "dachs_tap_circle.xml")
    run(circle, "dachs_tap_overflow.xml", maxrec=4)
    (points,) = archive.payload_points([10.68, 10.7, 200.0], [41.27, 41.3, 0.0])
    run(points, "dachs_tap_points.xml")
    bad = dict(
        circle, query=circle["query"].replace("twomass.images", "twomass.nosuch")
    )
    run(bad, "dachs_tap_error.xml")
    sia = session.get(
        f"{DACHS}/twomass/q/siap2/siap2.xml",
        params={"POS": "CIRCLE 10.68 41.27 0.1", "MAXREC": "1000"},
    )
    (HERE / "dachs_sia2_circle.xml").write_bytes(sia.content)
    capabilities = session.get(f"{DACHS}/tap/capabilities")
    (HERE / "dachs_tap_capabilities.xml").write_bytes(capabilities.content)
    capabilities = session.get(f"{DACHS}/twomass/q/siap2/capabilities")
    (HERE / "dachs_sia2_capabilities.xml").write_bytes(capabilities.content)
    # an async job, to keep the UWS job document of a finished job
    job = session.post(
        f"{DACHS}/tap/async",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": circle["query"]},
        allow_redirects=False,
    )
    url = job.headers["Location"]
    session.post(f"{url}/phase", data={"PHASE": "RUN"})
    doc = session.get(url, params={"WAIT": "30"}).content
    while b"COMPLETED" not in doc:
        doc = session.get(url, params={"WAIT": "30"}).content
    (HERE / "dachs_uws_job.xml").write_bytes(doc)
    session.delete(url)


if __name__ == "__main__":
    what = sys.argv[1:] or ["irsa"]
    if "irsa" in what:
        irsa_sia2()
        irsa_tap()
    if "dachs" in what:
        dachs()
