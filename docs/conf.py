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

# sphinx-astropy v2 has these; the fallbacks need them too (API, gallery)
for _extension in (
    "sphinx_automodapi.automodapi",
    "sphinx_automodapi.smart_resolver",
    "matplotlib.sphinxext.plot_directive",
):
    if _extension not in extensions and _have(_extension.split(".")[0]):
        extensions.append(_extension)

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
        "astroquery": ("https://astroquery.readthedocs.io/en/latest/", None),
        "mocpy": ("https://cds-astro.github.io/mocpy/", None),
    }
)

# the gallery's figures: made by the build (matplotlib's plot directive)
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 80)]
plot_rcparams = {"figure.figsize": (6, 6), "font.size": 9}
plot_apply_rcparams = True

root_doc = master_doc = "index"
exclude_patterns = ["_build", "**/__pycache__"]
default_role = "obj"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
html_title = f"twomass_vo {version}"

# -- offline builds ----------------------------------------------------------
# ``sphinx-build -D disable_intersphinx=1`` (sphinx-astropy's
# intersphinx_toggle; ``tox -e docs`` and CI use it) builds without fetching
# the other projects' inventories. References to those projects' objects then
# have no target: they are rendered as plain text, and only they are exempt
# from the nitpicky (-n) check -- every reference to twomass_vo must resolve.
EXTERNAL_PACKAGES = (
    "astropy",
    "astroquery",
    "concurrent",
    "datetime",
    "dask",
    "distributed",
    "matplotlib",
    "mocpy",
    "numpy",
    "pandas",
    "pathlib",
    "pyarrow",
    "pyvo",
    "random",
    "regions",
    "requests",
    "threading",
    "urllib3",
    "http",
    "ssl",
    "certifi",
    "abc",
    "argparse",
    "mmap",
    "os",
    "tempfile",
    "time",
    "False",
    "True",
    "None",
)


def _offline_references(app, config):
    if getattr(config, "disable_intersphinx", False):
        names = "|".join(EXTERNAL_PACKAGES)
        config.nitpick_ignore_regex = [
            *config.nitpick_ignore_regex,
            ("py:.*", rf"~?({names})(\..*)?"),
        ]


# -- short references to the package's own objects ---------------------------
# Docstrings say `ImageRow` or `LocalArchive` where the module they are
# rendered in (e.g. ``twomass_vo``, which re-exports ``ImageTable``) has no
# such name. Such a reference is resolved to the package's documented object
# of that name when there is exactly one (aliases of one Python object count
# once), preferring the module of the docstring (and, in a class, the member
# the class really has, inherited or not); otherwise it stays missing and -n
# reports it.
def _python_object(name):
    import importlib

    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _function(obj):
    # compare functions, not the bound methods that each attribute access of a
    # classmethod makes anew
    return getattr(obj, "__func__", obj)


def _resolve_own_names(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    # `twomass_vo.ImageRow`: a package-level name for an object of a submodule
    target = target.removeprefix("twomass_vo.")
    domain = env.get_domain("py")
    candidates = sorted(
        name
        for name in domain.objects
        if name.startswith("twomass_vo") and name.endswith("." + target)
    )
    module = node.get("py:module") or ""
    # in a class's docstring, `payload_scans` may name a member the class
    # inherits from a mixin: keep the documented names of that very object
    klass = node.get("py:class")
    member = None
    if module and klass:
        member = _function(_python_object(f"{module}.{klass}.{target}"))
    if member is not None:
        candidates = [c for c in candidates if _function(_python_object(c)) is member]
    same = [name for name in candidates if name.startswith(module + ".")]
    candidates = same or candidates
    if not candidates:
        return None
    objects = [_function(_python_object(name)) for name in candidates]
    if objects[0] is None or any(obj is not objects[0] for obj in objects):
        return None
    chosen = min(candidates, key=len)
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], chosen, node, contnode
    )


# -- generated API pages -----------------------------------------------------
# automodapi writes one page per object into docs/api/ (ignored by git), and
# never removes one: after a module is split or an object renamed, the old
# pages would stay, outside every toctree. Each build starts from none.
def _remove_generated_pages(app, config):
    import shutil
    from pathlib import Path

    folder = getattr(config, "automodapi_toctreedirnm", "api")
    shutil.rmtree(Path(app.srcdir) / folder, ignore_errors=True)


def setup(app):
    app.connect("config-inited", _remove_generated_pages)
    app.connect("config-inited", _offline_references)
    app.connect("missing-reference", _resolve_own_names)
