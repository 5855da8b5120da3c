# Licensed under a 3-clause BSD style license - see LICENSE
"""Archives: where 2MASS image metadata and files live.

`Archive` is the interface. `IrsaArchive` (the default) asks IRSA's SIA v2,
IBE and TAP services; `VOArchive` any SIA v2 / TAP service that publishes a 2MASS image
table (a data centre's mirror, see ``mirror/dachs/``); `LocalArchive` is an
embedded index plus a file store; `SimulatedArchive` the whole simulated
survey, with files made on demand.
"""

from .base import Archive, FileRefs, ImageSets
from .irsa.archive import IrsaArchive
from .local.archive import LocalArchive
from .simulated.archive import SimulatedArchive
from .vo.archive import VOArchive

__all__ = [
    "Archive",
    "FileRefs",
    "ImageSets",
    "IrsaArchive",
    "LocalArchive",
    "SimulatedArchive",
    "VOArchive",
]
