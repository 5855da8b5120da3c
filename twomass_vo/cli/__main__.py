# Licensed under a 3-clause BSD style license - see LICENSE
"""``python -m twomass_vo.cli``: the ``twomass-vo`` command."""

import sys

from . import main

sys.exit(main())
