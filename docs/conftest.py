# Licensed under a 3-clause BSD style license - see LICENSE
"""Pytest set-up for the narrative docs (``docs/*.rst`` run as doctests).

The examples run offline on the simulated survey (``TwoMassBatch(archive="sim")``).
Tables are printed with a fixed size, so that the expected output does not
depend on the terminal (or the ``LINES``/``COLUMNS`` variables) of the machine.
"""

import pytest
from astropy import conf as astropy_conf

# conf.py is the Sphinx configuration, not a test module.
collect_ignore = ["conf.py"]


@pytest.fixture(autouse=True)
def _fixed_table_print_size():
    """Print tables as on an 80-column terminal, with no row limit."""
    with (
        astropy_conf.set_temp("max_width", 80),
        astropy_conf.set_temp("max_lines", 200),
    ):
        yield
