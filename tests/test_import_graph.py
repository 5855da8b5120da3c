"""The package's import graph has no circles, and its layers stay in order.

Every module of ``twomass_vo`` is parsed with :mod:`ast`; every ``import``
statement counts, at module level and inside functions (lazy imports), with
relative imports resolved.  A circle anywhere fails the test and is printed.
So does a layer that imports one above it, directly or through other
modules (the chain is printed): nothing in ``inputs/`` or ``geometry/``
reaches ``archives/``, ``results/``, ``retrieval/`` (nor ``core``,
``planner``, ``dask_queries``, ``cli``), and ``_http/`` imports nothing of
the package but ``exceptions``, ``version`` and the root's ``conf``.
"""

import ast
from pathlib import Path

import twomass_vo

ROOT = Path(twomass_vo.__file__).resolve().parent


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_modules():
    return {
        _module_name(path): path
        for path in sorted(ROOT.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _resolve(node, module, is_package):
    """Absolute names a ``from ... import`` statement can load."""
    if node.level:
        base = module.split(".")
        # a package's own name is its base; a module's base is its parent
        drop = node.level - 1 if is_package else node.level
        base = base[: len(base) - drop] if drop else base
        prefix = ".".join(base)
        target = f"{prefix}.{node.module}" if node.module else prefix
    else:
        target = node.module
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph():
    """Map each package module to the package modules it imports."""
    modules = _package_modules()
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                candidates = _resolve(node, name, is_package)
            else:
                continue
            for candidate in candidates:
                # ``import a.b.c`` also runs a and a.b; the cycle that matters
                # is the deepest package module named.
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def find_cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def _one_circle(graph, component):
    """A concrete circle through the first module of a component."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph[node] & members):
            if other == start:
                return paths[node] + [start]
            if other not in paths:
                paths[other] = paths[node] + [other]
                queue.append(other)
    return component


def test_graph_sees_the_whole_package():
    graph = import_graph()
    assert "twomass_vo.core" in graph
    assert "twomass_vo.archives.local" in graph
    # a known edge, both directions of resolution (absolute and relative)
    assert "twomass_vo.planner" in graph["twomass_vo.core"]
    assert "twomass_vo.archives.base" in graph["twomass_vo.archives.local.archive"]


def test_cycle_finder_reports_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert _one_circle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_circles():
    graph = import_graph()
    circles = [_one_circle(graph, c) for c in find_cycles(graph)]
    assert not circles, "import circles:\n" + "\n".join(
        " -> ".join(circle) for circle in circles
    )


def private_imports():
    """``(importer, module, name)`` of each ``_private`` name imported elsewhere."""
    modules = _package_modules()
    found = set()
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _resolve(node, name, is_package)[0]
            if source not in modules or source == name:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.add((name, source, alias.name))
    return found


def test_no_private_names_imported_across_modules():
    found = sorted(private_imports())
    assert not found, "private names imported from another module:\n" + "\n".join(
        f"{importer} imports {module}.{name}" for importer, module, name in found
    )


def test_loaders_do_not_know_the_simulation_nor_the_downloads():
    # the loaders open files; whoever makes a loader passes the archive (or,
    # for rows of no archive, archives.simulated.SimulatedStores) to it as an
    # argument, and retrieval builds on them
    targets = import_graph()["twomass_vo.retrieval.loaders"]
    assert not any(t.startswith("twomass_vo.archives") for t in targets)
    assert "twomass_vo.retrieval" not in targets


# ------------------------------------------------------------------ the layers
# inputs/ and geometry/ sit under the archives, the results and the downloads;
# _http/ sits under everything. A layer may import the leaves beside it
# (exceptions, version, the settings of the package root), never a layer above.
ABOVE_INPUTS = (
    "twomass_vo.archives",
    "twomass_vo.results",
    "twomass_vo.retrieval",
    "twomass_vo.core",
    "twomass_vo.planner",
    "twomass_vo.dask_queries",
    "twomass_vo.cli",
)
#: What _http may import of the package besides itself: the exceptions, the
#: version (User-Agent) and the package root for its ``conf`` (settings).
HTTP_MAY_IMPORT = {"twomass_vo.exceptions", "twomass_vo.version", "twomass_vo"}
ROOT_NAMES_FOR_HTTP = {"conf"}


def _in(module, packages):
    return any(module == p or module.startswith(p + ".") for p in packages)


def import_path(graph, start, wanted):
    """The shortest chain of imports from ``start`` to a module ``wanted`` accepts."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for other in sorted(graph.get(node, ())):
            if other in paths:
                continue
            paths[other] = paths[node] + [other]
            if wanted(other):
                return paths[other]
            queue.append(other)
    return None


def layer_violations(graph, layers, above):
    """Import chains from a module of ``layers`` to one of ``above``."""
    found = []
    for name in sorted(graph):
        if _in(name, layers):
            chain = import_path(graph, name, lambda m: _in(m, above))
            if chain:
                found.append(chain)
    return found


def http_violations(graph, root_names):
    """Package modules _http imports besides itself and `HTTP_MAY_IMPORT`.

    ``root_names`` maps each _http module to the names it imports from the
    package root: only `ROOT_NAMES_FOR_HTTP` may come from there.
    """
    found = []
    for name in sorted(graph):
        if not _in(name, ["twomass_vo._http"]):
            continue
        for target in sorted(graph[name]):
            if not _in(target, ["twomass_vo._http"]) and target not in HTTP_MAY_IMPORT:
                found.append(f"{name} imports {target}")
        for extra in sorted(set(root_names.get(name, ())) - ROOT_NAMES_FOR_HTTP):
            found.append(f"{name} imports twomass_vo.{extra}")
    return found


def names_from_root():
    """Map each package module to the names it imports from the package root."""
    names = {}
    for name, path in _package_modules().items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and _resolve(node, name, is_package)[0] == "twomass_vo"
            ):
                names.setdefault(name, set()).update(a.name for a in node.names)
    return names


def test_layer_checks_report_a_planted_import():
    graph = {
        "twomass_vo.inputs.a": {"twomass_vo.exceptions", "twomass_vo._files.b"},
        "twomass_vo._files.b": {"twomass_vo.results.c"},
        "twomass_vo.results.c": set(),
        "twomass_vo._http.d": {"twomass_vo", "twomass_vo._http.e"},
        "twomass_vo._http.e": {"twomass_vo.retrieval.f"},
    }
    # an indirect import counts, and the chain is shown
    assert layer_violations(graph, ["twomass_vo.inputs"], ABOVE_INPUTS) == [
        ["twomass_vo.inputs.a", "twomass_vo._files.b", "twomass_vo.results.c"]
    ]
    assert http_violations(graph, {"twomass_vo._http.d": {"conf"}}) == [
        "twomass_vo._http.e imports twomass_vo.retrieval.f"
    ]
    assert http_violations({"twomass_vo._http.d": set()}, {}) == []
    # from the root, the settings only (not a lazily loaded TwoMassBatch)
    assert http_violations(
        {"twomass_vo._http.d": {"twomass_vo"}}, {"twomass_vo._http.d": {"TwoMassBatch"}}
    ) == ["twomass_vo._http.d imports twomass_vo.TwoMassBatch"]


def test_inputs_and_geometry_import_no_layer_above():
    graph = import_graph()
    assert "twomass_vo.inputs.tables" in graph and "twomass_vo.geometry" in graph
    found = layer_violations(
        graph, ["twomass_vo.inputs", "twomass_vo.geometry"], ABOVE_INPUTS
    )
    assert not found, "inputs/ or geometry/ import a layer above them:\n" + "\n".join(
        " -> ".join(chain) for chain in found
    )


def test_http_imports_only_the_exceptions_version_and_settings():
    graph = import_graph()
    assert "twomass_vo._http.fetch" in graph
    # the package root it takes ``conf`` from is a leaf (its other names load
    # lazily, through __getattr__, not through an import statement)
    assert graph["twomass_vo"] <= {"twomass_vo.version"}
    assert not graph["twomass_vo.exceptions"] and not graph["twomass_vo.version"]
    found = http_violations(graph, names_from_root())
    assert not found, "_http imports more than it may:\n" + "\n".join(found)
