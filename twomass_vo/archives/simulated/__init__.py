# Licensed under a 3-clause BSD style license - see LICENSE
"""The simulated 2MASS survey: the whole sky, files made on demand.

- `~twomass_vo.archives.simulated.archive`: `SimulatedArchive`;
- `~twomass_vo.archives.simulated.survey_layout`: tiles, image sets, nights;
- `~twomass_vo.archives.simulated.synthetic_fits`: the synthetic FITS files;
- `~twomass_vo.archives.simulated.patches`: patches of the survey written as
  `~twomass_vo.archives.LocalArchive` folders.
"""

from .archive import SimulatedArchive, default_sim_path, simulate_patch

__all__ = ["SimulatedArchive", "default_sim_path", "simulate_patch"]
