# Licensed under a 3-clause BSD style license - see LICENSE
"""Archives: where 2MASS image metadata and files live.

`Archive` is the interface; `LocalArchive` an embedded index plus a file store;
`SimulatedArchive` the whole simulated survey with files made on demand.
"""

from .base import Archive, FileRefs, ImageSets
from .local import LocalArchive
from .simulated import SimulatedArchive

__all__ = ["Archive", "FileRefs", "ImageSets", "LocalArchive", "SimulatedArchive"]
