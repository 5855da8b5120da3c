# Licensed under a 3-clause BSD style license - see LICENSE
"""The package's import graph: no circles, no private names across modules.

Every ``import`` of the package's own modules (at the top of a module or
inside a function) is an edge; the root package (``twomass_vo``, which holds
``conf`` and imports its classes lazily) is left out.
"""

import ast
from pathlib import Path

import twomass_vo

ROOT = Path(twomass_vo.__file__).parent
#: A circle that is not the download layer's and is still to be broken:
#: ``LocalArchive.simulate`` imports the simulated archive, a LocalArchive.
KNOWN = [{"twomass_vo.archives.local", "twomass_vo.archives.simulated"}]


def _modules():
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _imports(mods):
    """module -> [(imported module, [names])]."""
    out = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [a.name for a in node.names]
                edges.append((target, names))
                edges += [(f"{target}.{n}", []) for n in names]
            elif isinstance(node, ast.Import):
                edges += [(a.name, []) for a in node.names]
        out[name] = [(t, n) for t, n in edges if t in mods and t != name]
    return out


def _circles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return found


LAYER = [
    "twomass_vo.loaders",
    "twomass_vo.retrieval",
    "twomass_vo.fetch",
    "twomass_vo.file_cache",
    "twomass_vo.local_files",
    "twomass_vo.manifest",
    "twomass_vo.progress",
    "twomass_vo.fits_check",
    "twomass_vo.atomic_files",
    "twomass_vo.download_plan",
    "twomass_vo.download_session",
    "twomass_vo.http_deadline",
]


def test_no_import_circles():
    imports = _imports(_modules())
    graph = {
        m: {t for t, _ in edges if t != "twomass_vo"}
        for m, edges in imports.items()
        if m != "twomass_vo"
    }
    circles = _circles(graph)
    assert [c for c in circles if c not in KNOWN] == []
    # the download layer is in no circle at all
    inside = set().union(*circles) if circles else set()
    assert not set(LAYER) & inside


def test_loaders_do_not_know_the_simulation():
    imports = _imports(_modules())
    targets = {t for t, _ in imports["twomass_vo.loaders"]}
    assert not any(t.startswith("twomass_vo.archives") for t in targets)
    assert "twomass_vo.retrieval" not in targets


def test_the_download_layer_imports_no_private_names():
    imports = _imports(_modules())
    private = [
        (module, target, name)
        for module in LAYER
        for target, names in imports[module]
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []
