# Licensed under a 3-clause BSD style license - see LICENSE
"""The archive contract that every source of 2MASS image metadata implements.

An archive answers four look-ups, each returning `ImageSets` (registered J/H/Ks
image sets with their footprints), and turns chosen (set, band) pairs into
file URLs (`FileRefs`). The mode planner (`twomass_vo.planner`) decides the
exact semantics (overlaps / covers / enclosed, the best image, duplicates) on
top of these look-ups, so an archive may return a superset of candidates;
which sets contain which points is decided in one place,
`Archive.contain_sets`. Everything else the package asks of an archive
(requests for ``get_query_payload``, routes, cutouts, local files, Quicklook
refusal, diagnostics, closing) is declared on `Archive` with a default
(:ref:`new_archive` writes an archive from this contract alone).
"""

import abc
from dataclasses import dataclass, field, fields, replace

import numpy as np

from ..geometry import Footprints, radec_to_xyz

__all__ = ["BANDS", "Archive", "FileRefs", "ImageSets"]

#: The band order used for band codes (0, 1, 2) everywhere.
BANDS = ("J", "H", "K")


@dataclass(frozen=True)
class ImageSets:
    """Columnar description of N registered 2MASS image sets (J, H and Ks share one).

    Attributes
    ----------
    ref : ndarray of int64
        The archive's own reference of each set (e.g. its index row); opaque
        to everything but the archive.
    coadd_key : ndarray of int64
        Unique key of the set.
    ordate : ndarray of str
        Date of the night, ``yymmdd``.
    hemisphere : ndarray of str
        ``n`` or ``s``.
    scanno, image : ndarray of int64
        Scan number and image number.
    ra, dec : ndarray of float64
        Image centre, degrees.
    corners : ndarray of float64, shape (N, 4, 3), or None
        Unit vectors of the footprint corners (outer pixel edges); None in
        sets whose geometry is decided (`without_corners`), which is how the
        planner hands them to `Archive.files_for_table`.
    has_band : ndarray of bool, shape (N, 3)
        Whether a J, H, K file exists for the set.
    query_index : ndarray of int64
        For look-ups of many inputs: which input (point, key, scan) the
        candidate answers; 0 otherwise.
    """

    ref: np.ndarray
    coadd_key: np.ndarray
    ordate: np.ndarray
    hemisphere: np.ndarray
    scanno: np.ndarray
    image: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    corners: np.ndarray
    has_band: np.ndarray
    query_index: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.query_index is None:
            object.__setattr__(self, "query_index", np.zeros(len(self.ref), np.int64))

    def __len__(self):
        return len(self.ref)

    def take(self, index):
        """Return the sets at ``index`` (integer array or boolean mask).

        Parameters
        ----------
        index : array-like of int or bool
            Selection.

        Returns
        -------
        sets : `ImageSets`
            The selected sets, in the order of ``index``.
        """
        return ImageSets(
            **{
                f.name: None
                if getattr(self, f.name) is None
                else getattr(self, f.name)[index]
                for f in fields(self)
            }
        )

    def without_corners(self):
        """Return the same sets without their corners (once the geometry is decided).

        Returns
        -------
        sets : `ImageSets`
            The same arrays, ``corners`` None: a large result then does not
            carry 96 bytes per set it no longer needs.
        """
        return replace(self, corners=None)

    @classmethod
    def concatenate(cls, parts):
        """Concatenate several `ImageSets`.

        Parameters
        ----------
        parts : sequence of `ImageSets`
            The parts (at least one).

        Returns
        -------
        sets : `ImageSets`
            All rows, in order.
        """
        values = {}
        for f in fields(cls):
            arrays = [getattr(p, f.name) for p in parts]
            missing = [a is None for a in arrays]
            if any(missing) and not all(missing):
                raise ValueError(f"cannot concatenate sets with and without {f.name}")
            values[f.name] = None if all(missing) else np.concatenate(arrays)
        return cls(**values)

    @classmethod
    def empty(cls):
        """Zero sets.

        Returns
        -------
        sets : `ImageSets`
            An empty instance with the right dtypes.
        """
        return cls(
            ref=np.zeros(0, np.int64),
            coadd_key=np.zeros(0, np.int64),
            ordate=np.zeros(0, "U6"),
            hemisphere=np.zeros(0, "U1"),
            scanno=np.zeros(0, np.int64),
            image=np.zeros(0, np.int64),
            ra=np.zeros(0),
            dec=np.zeros(0),
            corners=np.zeros((0, 4, 3)),
            has_band=np.zeros((0, 3), bool),
        )


@dataclass(frozen=True)
class FileRefs:
    """Access columns of chosen image files (one per (set, band) pair).

    Attributes
    ----------
    access_url, access_format : ndarray of str
        URL and MIME type of each file (str, or ASCII bytes).
    access_estsize : ndarray of int64
        Estimated size in kbyte (-1 when unknown).
    s_region : ndarray of str
        Footprint, ``POLYGON ICRS ...`` (str, or ASCII bytes).
    """

    access_url: np.ndarray
    access_format: np.ndarray
    access_estsize: np.ndarray
    s_region: np.ndarray


class Archive(abc.ABC):
    """Where 2MASS image metadata lives: the contract of every archive.

    The planner (`twomass_vo.planner`), `twomass_vo.source_links`,
    `~twomass_vo.TwoMassBatch`, the results and the downloads use an archive
    through these methods and attributes only. A new archive implements the
    four look-ups and `files` (abstract); everything else has a default that
    is right for an archive that sends no requests and holds its sets in
    memory. Look-ups may return supersets (candidates), never subsets: the
    planner applies the exact semantics of the five modes on top, and
    decides which sets contain which points through `contain_sets`.

    An archive is a context manager: ``with archive: ...`` calls `close` on
    exit.
    """

    #: Short name shown in diagnostics and table metadata.
    name = "archive"

    #: Whether `cutout_urls` makes server-side cutout URLs (``cutout_url``).
    makes_cutouts = False

    #: Whether the archive asks services over the network: partitions of a
    #: Dask query then hold one of ``twomass_vo.conf.service_concurrency``
    #: slots while they ask it (`twomass_vo.dask_queries.service_slot`).
    asks_services = True

    # ------------------------------------------------------------ look-ups
    @abc.abstractmethod
    def find_circle(self, ra, dec, radius, *, image_type="atlas"):
        """Image sets that may overlap a circle (the region mode).

        Parameters
        ----------
        ra, dec : float
            Centre, ICRS degrees.
        radius : float
            Radius in degrees.
        image_type : {'atlas', 'quicklook'}, optional
            The kind of file the sets are looked up for: an archive that
            lists its Quicklook files in another service than its Atlas files
            (`~twomass_vo.archives.IrsaArchive`) asks that one; an archive
            whose sets list both kinds ignores it.

        Returns
        -------
        sets : `ImageSets`
            A superset of the sets overlapping the circle.
        """

    @abc.abstractmethod
    def find_points(self, ra, dec):
        """Image sets that may contain each of many points (the positions mode).

        Parameters
        ----------
        ra, dec : ndarray
            Points, ICRS degrees.

        Returns
        -------
        sets : `ImageSets`
            Candidates, with ``query_index`` the index of the point; a
            superset of the sets containing each point.
        """

    @abc.abstractmethod
    def find_coadd_keys(self, keys):
        """Image sets with the given coadd_keys (the coadd_key mode).

        Parameters
        ----------
        keys : ndarray of int64
            The keys.

        Returns
        -------
        sets : `ImageSets`
            The sets found, ``query_index`` the index into ``keys``.
        """

    @abc.abstractmethod
    def find_scans(self, ordate, hemisphere, scanno, image):
        """Image sets of date-hemisphere-scans (the scan modes).

        Parameters
        ----------
        ordate, hemisphere : ndarray of str
            ``yymmdd`` and ``n``/``s``.
        scanno, image : ndarray of int64
            Scan numbers, and image numbers (0 = all images of the scan).

        Returns
        -------
        sets : `ImageSets`
            The sets found, ``query_index`` the index of the request.
        """

    @abc.abstractmethod
    def files(self, sets, band_code, image_type):
        """Access columns for one file per (set, band).

        Parameters
        ----------
        sets : `ImageSets`
            The sets (one row per file wanted), as this archive's look-ups
            returned them.
        band_code : ndarray of int
            0, 1, 2 for J, H, K, per row.
        image_type : {'atlas', 'quicklook'}
            Which kind of file.

        Returns
        -------
        refs : `FileRefs`
            URLs, formats, sizes and footprints.
        """

    # ------------------------------------------------------------ geometry
    def set_footprints(self, sets):
        """Exact footprints of image sets returned by this archive's look-ups.

        Parameters
        ----------
        sets : `ImageSets`
            The sets.

        Returns
        -------
        footprints : `~twomass_vo.geometry.Footprints`
            ``Footprints(sets.corners)``; an archive that stores the geometry
            returns the same values without recomputing them.
        """
        return Footprints(sets.corners)

    def contain_sets(self, sets, points, *, index=None):
        """Whether points lie in image sets, and their distance to the edges.

        The one place where containment is decided, for every mode: the
        positions mode (`contain_points`), the sources mode's coadd_key
        (`contain_keys`) and scan links, hence the best image too.

        Parameters
        ----------
        sets : `ImageSets`
            Sets returned by this archive's look-ups.
        points : ndarray of float, shape (M, 3)
            Unit vectors (`~twomass_vo.geometry.radec_to_xyz`).
        index : ndarray of int, shape (M,), optional
            The set of each point (default: point ``i`` and set ``i``).

        Returns
        -------
        inside : ndarray of bool
            Whether each point lies in its set (boundary inclusive).
        distance : ndarray of float
            Signed smallest angle from each point to its set's four edges,
            radians, positive inside
            (`~twomass_vo.geometry.Footprints.contains_distance`).
        """
        return self.set_footprints(sets).contains_distance(points, index=index)

    def contain_points(self, ra, dec, *, with_corners=True):
        """Image sets containing each of many points, with the edge distances.

        Parameters
        ----------
        ra, dec : ndarray
            Points, ICRS degrees.
        with_corners : bool, optional
            Return the sets' corners (default), or sets without them
            (`ImageSets.without_corners`), which an archive with stored
            geometry need not read.

        Returns
        -------
        sets : `ImageSets`
            Every set containing a point (boundary inclusive), ``query_index``
            the index of the point, grouped by point.
        distance : ndarray of float
            Smallest angle from the point to the set's four edges, radians
            (`contain_sets`).
        """
        sets = self.find_points(ra, dec)
        points = radec_to_xyz(ra, dec)[sets.query_index]
        inside, distance = self.contain_sets(sets, points)
        sets = sets.take(inside)
        return (sets if with_corners else sets.without_corners()), distance[inside]

    def contain_keys(self, keys, ra, dec, *, with_corners=True):
        """Image sets of coadd_keys, with the edge distance of a point in each.

        Parameters
        ----------
        keys : ndarray of int64
            One key per point (repeated keys are looked up once).
        ra, dec : ndarray
            The points, ICRS degrees.
        with_corners : bool, optional
            Return the sets' corners (default), or sets without them, which
            an archive with stored geometry need not read.

        Returns
        -------
        sets : `ImageSets`
            The set of every point whose key the archive has, in point
            order, ``query_index`` the index of the point.
        inside : ndarray of bool
            Whether the point lies in its set (boundary inclusive).
        distance : ndarray of float
            Signed smallest angle from the point to the set's four edges,
            radians (negative outside; `contain_sets`).
        """
        keys = np.asarray(keys, np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        found = self.find_coadd_keys(unique) if len(unique) else ImageSets.empty()
        first = np.full(len(unique), -1, np.int64)
        first[found.query_index[::-1]] = np.arange(len(found))[::-1]
        which = first[inverse]
        point = np.flatnonzero(which >= 0)
        xyz = radec_to_xyz(np.asarray(ra)[point], np.asarray(dec)[point])
        inside, distance = self.contain_sets(found, xyz, index=which[point])
        sets = replace(found.take(which[point]), query_index=point)
        return (sets if with_corners else sets.without_corners()), inside, distance

    # ------------------------------------------------------------ files
    def files_for_table(self, sets, band_code, image_type):
        """`files`, in the cheapest form for the result table.

        String columns may be ASCII bytes and columns of one repeated value
        read-only broadcast views; the values are those of `files`.

        Parameters
        ----------
        sets : `ImageSets`
            As for `files`; ``corners`` may be None (`ImageSets.without_corners`)
            and ``ordate`` and ``hemisphere`` ASCII bytes.
        band_code, image_type
            As for `files`.

        Returns
        -------
        refs : `FileRefs`
            URLs, formats, sizes and footprints.
        """
        return self.files(sets, band_code, image_type)

    def cutout_urls(self, access_url, ra, dec, size_arcsec):
        """Server-side cutout URLs, where the archive makes cutouts.

        Parameters
        ----------
        access_url : ndarray of str
            Full-file URLs.
        ra, dec : ndarray of float
            Cutout centres, degrees.
        size_arcsec : ndarray of float
            Cutout sizes (0: none).

        Returns
        -------
        urls : ndarray of str
            ``''`` where there is no server-side cutout (the rows are then cut
            locally by `~twomass_vo.ImageRow.cutout`): everywhere, by default.
        """
        return np.zeros(len(access_url), dtype="U1")

    def local_path(self, url):
        """Local file of ``url`` if this archive holds it, else None.

        Parameters
        ----------
        url : str
            An ``access_url`` this archive produced.

        Returns
        -------
        path : `~pathlib.Path` or None
            The file, made on demand where the archive can; None by default
            (the URL is then read as it is: ``file://``, a path or
            ``http(s)://``).
        """
        return None

    # ------------------------------------------------------------ requests
    def payload_circle(self, ra, dec, radius, *, image_type="atlas"):
        """Return the requests `find_circle` would send (``get_query_payload``).

        Parameters
        ----------
        ra, dec, radius, image_type
            As for `find_circle`.

        Returns
        -------
        payloads : list of dict
            One dict per request (``service``, ``url``, and ``params`` or
            ``query``); an empty list (the default) for an archive that
            sends none.
        """
        return []

    def payload_points(self, ra, dec):
        """Return the requests `find_points` would send (``get_query_payload``).

        Parameters
        ----------
        ra, dec
            As for `find_points`.

        Returns
        -------
        payloads : list of dict
            As for `payload_circle` (default: none).
        """
        return []

    def payload_coadd_keys(self, keys):
        """Return the requests `find_coadd_keys` would send (``get_query_payload``).

        Parameters
        ----------
        keys
            As for `find_coadd_keys`.

        Returns
        -------
        payloads : list of dict
            As for `payload_circle` (default: none).
        """
        return []

    def payload_scans(self, ordate, hemisphere, scanno, image):
        """Return the requests `find_scans` would send (``get_query_payload``).

        Parameters
        ----------
        ordate, hemisphere, scanno, image
            As for `find_scans`.

        Returns
        -------
        payloads : list of dict
            As for `payload_circle` (default: none).
        """
        return []

    def route_info(self):
        """Return the routes and service URLs of the last look-up (table metadata).

        Returns
        -------
        info : dict
            Entries added to a result's ``meta`` after its look-ups (e.g.
            which of several services answered); empty by default.
        """
        return {}

    @property
    def quicklook_refusal(self):
        """Why Quicklook images are refused before any request, or None.

        Returns
        -------
        refusal : str or None
            Completes ``"<archive> ..."`` in the
            `~twomass_vo.exceptions.ArchiveError` the planner raises for
            ``image_type='quicklook'``; None (the default): Quicklook
            queries run (and `files` says if a file is missing).
        """
        return None

    @property
    def serves_quicklook(self):
        """Whether the archive has Quicklook files besides the Atlas files.

        Returns
        -------
        answer : bool
            True by default (the sets of a local index list both kinds).
        """
        return True

    # ------------------------------------------------------------ lifecycle
    def clear_cache(self):
        """Forget what the look-ups remembered (nothing, by default).

        An archive that keeps the sets it returned (so that `files` can give
        their URLs later) frees them here; sets returned before the call can
        then no longer be passed to `files`.
        """
        return None

    def close(self):
        """Release what the archive holds open (nothing, by default).

        An archive with its own HTTP session closes its connections here;
        ``with archive: ...`` calls it on exit.
        """
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ diagnostics
    def describe(self, *, check=False):
        """Describe the archive and where its data lives (diagnostics).

        Parameters
        ----------
        check : bool, optional
            Also check that each place the archive reads from answers; the
            result is in ``info["endpoints"]``: name -> mapping with ``url``,
            ``ok`` and ``detail``.

        Returns
        -------
        info : dict
            At least ``name`` and ``kind``.
        """
        return {"name": self.name, "kind": type(self).__name__}
