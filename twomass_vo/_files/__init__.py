# Licensed under a 3-clause BSD style license - see LICENSE
"""Files on the local disk: written atomically, read safely.

Private to the package; it imports nothing of `twomass_vo` but
`twomass_vo.exceptions`.

- `~twomass_vo._files.atomic_files`: no partial file ever stands under its
  final name;
- `~twomass_vo._files.local_files`: local files behind ``access_url``
  values, read within bounds.
"""
