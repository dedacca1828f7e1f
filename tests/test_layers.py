"""The layers import only downward: core < edges < run < the application and CLI; the fake apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "orchestrator"
ALLOWED = {
    "errors": set(),
    "core": {"core", "errors"},
    "edges": {"core", "edges", "errors"},
    "run": {"core", "edges", "run", "errors"},
    "fakeapi": {"fakeapi"},
}
"""Which of our layers each layer may import; modules at the top (app, cli, ...) may import all."""


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


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if layer_of(path) in ALLOWED)
assert len(MODULES) > 40, "the layer test found no modules: did the package move?"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_module_imports_only_from_the_layers_below_it(path: Path) -> None:
    """A core module imports only core and errors; edges add edges; run adds run; the fake
    imports nothing of ours."""
    layer = layer_of(path)
    assert imported_layers(path) <= ALLOWED[layer], f"{layer} may import only {ALLOWED[layer]}"
