"""YAML read with every value's location, so each problem can say `jobs.yaml:14:12`.

A SafeLoader that refuses anchors and aliases (no alias bombs), keeps timestamps as text for the date
parser, and refuses duplicate keys; node marks are recorded by field path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import yaml

from orchestrator.core.problems import FieldPath, ManifestError, Problem, dotted


class _Loader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors and aliases and leaves timestamps as text for `dates`."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (& and *) are not supported: "
                "write the value out, or put shared fields in defaults",
                cast(yaml.Mark, event.start_mark),
            )
        return super().compose_node(parent, index)


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


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
        raise ManifestError([Problem(where, "", f"not valid YAML: {message}")]) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        message = " ".join(str(exc).split())  # one problem, one line
        raise ManifestError([Problem(name, "", f"not valid YAML: {message}")]) from None
    except RecursionError:
        raise ManifestError([Problem(name, "", "the YAML is nested too deeply")]) from None


def _compose(text: str, locator: Locator) -> object:
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
