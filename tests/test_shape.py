"""The package keeps its shape: no function takes more than eight parameters (collaborators come
grouped in small frozen values), the fake aside, which mirrors a vendor's sprawl on purpose."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "orchestrator"
MOST_PARAMETERS = 8


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Its parameters, `self` and `cls` not counted, `*args` and `**kwargs` counted once each."""
    arguments = function.args
    named = [*arguments.posonlyargs, *arguments.args]
    count = len(named) + len(arguments.kwonlyargs)
    count += bool(arguments.vararg) + bool(arguments.kwarg)
    return count - (1 if named and named[0].arg in ("self", "cls") else 0)


def wide_functions(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "fakeapi" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if parameters(node) > MOST_PARAMETERS:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_no_function_takes_more_than_eight_parameters() -> None:
    """Every function of the package (the fake aside) takes at most eight parameters."""
    assert wide_functions(PACKAGE) == []


def test_the_count_sees_every_kind_of_parameter(tmp_path: Path) -> None:
    """Positional, keyword-only, *args and **kwargs all count; self does not."""
    (tmp_path / "m.py").write_text(
        "class C:\n    def f(self, a, b, /, c, *d, e, f, g, i, **h): ...\n"
        "def g(a, b, c, d, e, f, g, h): ...\n"
    )
    assert wide_functions(tmp_path) == ["m.py:2 f"]
