"""The layers import only downward: core < edges < run < app (the composition root) < cli (the
face); the fake apart. No module takes part in an import circle, hidden imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "orchestrator"
BELOW_THE_FACE = {"core", "edges", "run", "app", "errors", "exit_codes"}
ALLOWED = {
    "__init__": set(),
    "errors": set(),
    "exit_codes": {"errors"},
    "core": {"core", "errors"},
    "edges": {"core", "edges", "errors"},
    "run": {"core", "edges", "run", "errors"},
    "app": BELOW_THE_FACE,
    "cli": {*BELOW_THE_FACE, "cli", "fakeapi"},
    "__main__": {"cli"},
    "fakeapi": {"fakeapi"},
}
"""Which of our layers each layer may import: each one only those below it, so nothing but
`python -m orchestrator` imports the face (cli). Every module of the package has a layer."""


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path) -> set[str]:
    """Our layers that a module imports at run time (imports for type checking only are free)."""
    tree = ast.parse(path.read_text())
    checking_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    layers: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.ImportFrom):
            module = _absolute(path, node.module, node.level)
            names = [f"{module}.{alias.name}" for alias in node.names] if module else []
            if module == "orchestrator":  # `from orchestrator import core`
                layers.update(_layer(name) for name in names)
            elif module.startswith("orchestrator."):
                layers.add(_layer(module))
        elif isinstance(node, ast.Import):
            layers.update(_layer(alias.name) for alias in node.names if _ours(alias.name))
    return layers


def _ours(name: str) -> bool:
    return name == "orchestrator" or name.startswith("orchestrator.")


def _layer(module: str) -> str:
    """The layer of a dotted module name; `orchestrator` alone is the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "top"


def _absolute(path: Path, module: str | None, level: int) -> str:
    """The absolute name a (possibly relative) `from ... import` refers to."""
    if not level:
        return module or ""
    package = ["orchestrator", *path.relative_to(PACKAGE).parent.parts]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


MODULES = sorted(PACKAGE.rglob("*.py"))
assert len(MODULES) > 40, "the layer test found no modules: did the package move?"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_module_imports_only_from_the_layers_below_it(path: Path) -> None:
    """A core module imports only core and errors; edges add edges; run adds run; app adds app
    and the exit codes; only the face imports the face; the fake imports nothing of ours."""
    layer = layer_of(path)
    assert layer in ALLOWED, f"{layer}: a new layer, or a module to place in one of {set(ALLOWED)}"
    assert imported_layers(path) <= ALLOWED[layer], f"{layer} may import only {ALLOWED[layer]}"


def module_name(path: Path) -> str:
    parts = ["orchestrator", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every module of ours that `path` imports anywhere: at the top, inside functions, and for
    type checking only (a circle hidden in a function is still a circle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(path, node.module, node.level)
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                found.add(candidate if candidate in known else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known} - {module_name(path)}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, known) for path in paths}


def a_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, as the modules along it, or None (depth-first search)."""
    done: set[str] = set()
    trail: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in trail:
            return [*trail[trail.index(module) :], module]
        if module in done:
            return None
        trail.append(module)
        for imported in sorted(graph[module]):
            circle = visit(imported)
            if circle:
                return circle
        trail.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        circle = visit(module)
        if circle:
            return circle
    return None


def test_no_module_takes_part_in_an_import_circle() -> None:
    """The package's modules import each other without a circle, counting function-level and
    type-checking-only imports (a package's __init__ re-exporting its own modules aside)."""
    graph = import_graph()
    for package in [name for name in graph if (PACKAGE / "/".join(name.split(".")[1:])).is_dir()]:
        graph[package] = {name for name in graph[package] if not name.startswith(package + ".")}
    assert a_circle(graph) is None


def test_the_circle_finder_finds_a_circle() -> None:
    """A graph with a circle through three modules is reported with that circle."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert a_circle(graph) == ["a", "b", "c", "a"]
