# Licensed under a 3-clause BSD style license - see LICENSE
"""Sphinx configuration of the twomass_vo documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``. The ``>>>`` examples of the pages are tested by
pytest (``--doctest-rst``), not by Sphinx.

The Astropy look comes from ``sphinx_astropy.conf.v2``, which needs the
``confv2`` extras of sphinx-astropy (pydata-sphinx-theme, sphinx-copybutton);
without them the older ``sphinx_astropy.conf.v1`` is used, and without
sphinx-astropy plain Sphinx with autodoc and napoleon (numpydoc docstrings).
"""

import datetime
import importlib.util

from twomass_vo import __version__


def _have(*modules):
    return all(importlib.util.find_spec(m) is not None for m in modules)


if _have("sphinx_astropy", "pydata_sphinx_theme", "sphinx_copybutton"):
    from sphinx_astropy.conf.v2 import *  # noqa: F403

    STYLE = "sphinx-astropy v2"
elif _have("sphinx_astropy", "astropy_sphinx_theme"):
    from sphinx_astropy.conf.v1 import *  # noqa: F403

    STYLE = "sphinx-astropy v1"
else:
    STYLE = "plain Sphinx"
    extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx.ext.napoleon"]
    intersphinx_mapping = {}
    html_theme = "alabaster"

project = "twomass_vo"
author = "twomass_vo developers"
copyright = f"{datetime.date.today().year}, {author}"
version = release = __version__

intersphinx_mapping.update(
    {
        "python": ("https://docs.python.org/3/", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "astropy": ("https://docs.astropy.org/en/stable/", None),
        "regions": ("https://astropy-regions.readthedocs.io/en/stable/", None),
        "pyvo": ("https://pyvo.readthedocs.io/en/latest/", None),
    }
)

root_doc = master_doc = "index"
exclude_patterns = ["_build", "**/__pycache__"]
default_role = "obj"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
html_title = f"twomass_vo {version}"
