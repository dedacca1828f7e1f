"""YAML read with every value's location, so each problem can say `jobs.yaml:14:12`.

A safe loader that refuses anchors and aliases (no alias bombs), keeps timestamps as text for the
date parser, and refuses duplicate keys; node marks are recorded by field path. libyaml's parser is
used when PyYAML has it: on a dense 1 MiB file it is ten times faster than the pure-Python one, and
it limits nesting depth itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import yaml

from orchestrator.core.problems import FieldPath, Problem, dotted
from orchestrator.errors import ManifestError

_TOO_DEEP = "the YAML is nested too deeply"
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc]  # a C or Python class, chosen at import
    """The safe loader, with timestamps left as text for `dates`."""


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return cast(str, loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


@dataclass
class Locator:
    """Where each field of the document is (value and key marks by field path)."""

    name: str
    values: dict[FieldPath, yaml.Mark] = field(default_factory=dict)
    keys: dict[FieldPath, yaml.Mark] = field(default_factory=dict)

    def record(self, node: yaml.Node, path: FieldPath, problems: list[Problem]) -> None:
        """Walk the node tree; a key given twice is a problem (PyYAML would keep the last)."""
        self.values[path] = node.start_mark
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.record(item, (*path, index), problems)
        if not isinstance(node, yaml.MappingNode):
            return
        for key, value in node.value:
            child = (*path, key.value) if isinstance(key, yaml.ScalarNode) else None
            if child is not None and child in self.keys:
                line = self.keys[child].line + 1
                message = f"duplicate key {key.value!r} (first on line {line})"
                problems.append(Problem(self.where(key.start_mark), dotted(child), message))
            elif child is not None:
                self.keys[child] = key.start_mark
                self.record(value, child, problems)

    def where(self, mark: yaml.Mark) -> str:
        return f"{self.name}:{mark.line + 1}:{mark.column + 1}"

    def at(self, path: FieldPath, *, key: bool = False) -> str:
        """The location of `path`, or of its nearest recorded parent (e.g. for a missing field)."""
        if key and path in self.keys:
            return self.where(self.keys[path])
        for size in range(len(path), -1, -1):
            mark = self.values.get(path[:size])
            if mark is not None:
                return self.where(mark)
        return self.name

    def problem(self, path: FieldPath, message: str, *, key: bool = False) -> Problem:
        return Problem(self.at(path, key=key), dotted(path), message)


def read_yaml(text: str, name: str) -> tuple[object, Locator]:
    """The document's data and locations; YAML errors become located problems."""
    locator = Locator(name)
    try:
        return _compose(text, locator), locator
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = "; ".join(part for part in (exc.context, exc.problem) if part)
        where = locator.where(mark) if mark is not None else name
        if "nesting depth" in message:
            raise ManifestError([Problem(where, "", _TOO_DEEP)]) from None
        raise ManifestError([Problem(where, "", f"not valid YAML: {message}")]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        message = " ".join(str(exc).split())  # one problem, one line
        raise ManifestError([Problem(name, "", f"not valid YAML: {message}")]) from None
    except RecursionError:
        raise ManifestError([Problem(name, "", _TOO_DEEP)]) from None


def _refuse_anchors(text: str) -> None:
    """Anchors and aliases are refused before anything is built from them (alias bombs)."""
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (& and *) are not supported: "
                "write the value out, or put shared fields in defaults",
                cast(yaml.Mark, event.start_mark),
            )


def _compose(text: str, locator: Locator) -> object:
    _refuse_anchors(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            message = "the manifest is empty: start with 'version: 1' and list the exports"
            raise ManifestError([Problem(locator.name, "", message)])
        problems: list[Problem] = []
        locator.record(node, (), problems)
        if problems:
            raise ManifestError(problems)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def show(value: object) -> str:
    kind = {dict: "a mapping", list: "a list", type(None): "nothing (null)"}.get(type(value))
    if kind is not None:
        return kind
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
