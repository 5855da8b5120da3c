# Licensed under a 3-clause BSD style license - see LICENSE
"""``python -m twomass_vo``: the ``twomass-vo`` command (see `twomass_vo.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
