"""Every module of the package has a section in the API reference.

``docs/api.rst`` documents each module with an ``.. automodapi::`` directive
(the public API first, then the internals). A new module without such an entry
would be missing from the documentation, and every reference to it from a
docstring would break the nitpicky docs build: this test names it instead.
An entry for a module that no longer exists fails too.
"""

import re
from pathlib import Path

import twomass_vo

ROOT = Path(twomass_vo.__file__).resolve().parent
API_PAGE = ROOT.parent / "docs" / "api.rst"
DIRECTIVE = re.compile(r"^\.\. automodapi::\s+(\S+)\s*$", re.MULTILINE)


def _package_modules():
    names = set()
    for path in ROOT.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__main__":  # ``python -m twomass_vo``: no API of its own
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.add(".".join(parts))
    return names


def _documented_modules():
    return DIRECTIVE.findall(API_PAGE.read_text(encoding="utf-8"))


def test_every_module_has_an_automodapi_entry():
    modules = _package_modules()
    assert {"twomass_vo", "twomass_vo.archives", "twomass_vo.core"} <= modules
    missing = sorted(modules - set(_documented_modules()))
    assert not missing, f"modules without an automodapi entry in {API_PAGE}: {missing}"


def test_every_entry_is_a_module_documented_once():
    documented = _documented_modules()
    stale = sorted(set(documented) - _package_modules())
    assert not stale, f"automodapi entries of {API_PAGE} without a module: {stale}"
    twice = sorted({name for name in documented if documented.count(name) > 1})
    assert not twice, f"modules with two automodapi entries in {API_PAGE}: {twice}"
