"""The package's import graph has no circles.

Every module of ``twomass_vo`` is parsed with :mod:`ast`; every ``import``
statement counts, at module level and inside functions (lazy imports), with
relative imports resolved.  A circle anywhere fails the test and is printed.
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
