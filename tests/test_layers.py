"""The code's shape: imports run one way (cunliao → web → api → engine), no module imports another
that imports it back (not even inside a function), and no file grows past what a reader takes in whole.

Read from the source with ``ast``, so a lazy import inside a function counts like one at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "api", "web", "cunliao")
# What each top-level package may import of the others (besides itself).
ALLOWED = {
    "engine": set(),
    "api": {"engine"},
    "web": {"api", "engine"},
    "cunliao": {"web", "api", "engine"},
}
FORBIDDEN_THIRD_PARTY = {"engine": {"flask", "flask_smorest", "flask_babel", "werkzeug", "marshmallow"}}
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in the file: project modules by their full name
    (``from pkg import mod`` counts as importing ``pkg.mod``), others by their top-level name."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    return found


GRAPH = {name: {i for i in _imports(name, path) if i in MODULES and i != name} for name, path in MODULES.items()}
THIRD_PARTY = {name: {i.split(".")[0] for i in _imports(name, path) if i.split(".")[0] not in PACKAGES}
               for name, path in MODULES.items()}


def test_layers_import_one_way():
    wrong = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() for target in targets
                   if target.split(".")[0] != name.split(".")[0]
                   and target.split(".")[0] not in ALLOWED[name.split(".")[0]])
    assert not wrong, "imports against the layers (cunliao → web → api → engine):\n" + "\n".join(wrong)


def test_the_api_core_knows_no_feature():
    """``api/core`` is what every feature package uses; it uses none of them."""
    wrong = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() if _area(name) == "api.core"
                   for target in targets if target.startswith("api.") and _area(target) != "api.core")
    assert not wrong, "\n".join(wrong)


def test_no_cycles_between_api_packages():
    areas: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        if name.startswith("api."):
            areas.setdefault(_area(name), set()).update(
                _area(t) for t in targets if t.startswith("api.") and _area(t) != _area(name))
    cycles = _cycles(areas)
    assert not cycles, "packages of api/ that import each other:\n" + "\n".join(" → ".join(c) for c in cycles)


def _area(module: str) -> str:
    """``api.census.routes`` → ``api.census``: the package of api/ a module belongs to."""
    return ".".join(module.split(".")[:2])


def test_engine_knows_no_web_framework():
    wrong = sorted(f"{name} imports {library}" for name, libraries in THIRD_PARTY.items()
                   for library in libraries & FORBIDDEN_THIRD_PARTY.get(name.split(".")[0], set()))
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in cycles)


def test_no_file_over_the_limit():
    long = sorted(f"{path.relative_to(ROOT)}: {n} lines" for path in MODULES.values()
                  if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES)
    assert not long, f"files over {MAX_LINES} lines:\n" + "\n".join(long)


def test_the_checks_see_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_through(graph, component) for component in sorted(components)]


def _path_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A readable cycle inside one component: from its first module back to it."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return component
