"""`orchestrator exports [EXPORT_ID] [--json]`: the vendor's Care export catalog, for people.

Lists every Care export ID with its UI name, methods and parameters (kind, allowed values,
required); with an ID, that export in detail (each parameter's rule and source, the notes). It
prints `core.catalog` and sends nothing. Exit codes: 0, or 2 for an ID the catalog lacks.
"""

from __future__ import annotations

import argparse
import difflib
import json
from typing import Any

from orchestrator.cli.arguments import Commands
from orchestrator.core.catalog import (
    CARE_EXPORTS,
    GENERIC_REPORT_TYPES,
    PUBLISHING_NOTE,
    Export,
    Param,
)
from orchestrator.errors import UsageError
from orchestrator.exit_codes import ExitCode

SOURCE = "API-CATALOG.md"


def add_commands(commands: Commands) -> None:
    """Register `exports`."""
    exports = commands.add_parser(
        "exports",
        help="list the Care export IDs and their parameters, as the vendor's reference gives them",
    )
    exports.add_argument(
        "export_id", nargs="?", metavar="EXPORT_ID", help="show this export in detail"
    )
    exports.add_argument("--json", action="store_true", help="print the same as JSON")
    exports.set_defaults(command=command_exports)


def command_exports(arguments: argparse.Namespace) -> ExitCode:
    if arguments.export_id is None:
        chosen = list(CARE_EXPORTS.values())
        if arguments.json:
            print(json.dumps(catalog_document(chosen), indent=2))
        else:
            print(describe_all(chosen))
        return ExitCode.OK
    export = find(arguments.export_id)
    print(json.dumps(export_document(export), indent=2) if arguments.json else describe(export))
    return ExitCode.OK


def find(export_id: str) -> Export:
    """The catalog's export, or a UsageError (exit 2) with a did-you-mean."""
    export = CARE_EXPORTS.get(export_id)
    if export is None:
        close = difflib.get_close_matches(export_id, sorted(CARE_EXPORTS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"{export_id!r} is not a Care export ID of the vendor's reference{hint} "
            f"(the 13: {', '.join(CARE_EXPORTS)}). {PUBLISHING_NOTE}."
        )
    return export


def catalog_document(exports: list[Export]) -> dict[str, Any]:
    return {
        "source": f"{SOURCE} §3",
        "care": [export_document(export) for export in exports],
        "publishing": PUBLISHING_NOTE,
        "generic_report_types": list(GENERIC_REPORT_TYPES),
    }


def export_document(export: Export) -> dict[str, Any]:
    return {
        "export_id": export.export_id,
        "ui_name": export.ui_name,
        "methods": list(export.methods),
        "post": {
            "transport": export.post,
            "in_query": ["companyKey"] if export.post == "query" else list(export.post_query),
        },
        "params": [_param_document(param) for param in export.params],
        "notes": list(export.notes),
        "source": f"{SOURCE} §3",
    }


def _param_document(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "kind": param.kind,
        "declared": param.declared,
        "required": param.required,
        "values": list(param.values) or None,
        "set_by_client": param.by_client,
        "rule": param.rule,
        "source": f"{SOURCE} {param.cite}",
    }


def describe_all(exports: list[Export]) -> str:
    """One block per export: its parameters the manifest may set, then the client's own."""
    blocks = [_block(export) for export in exports]
    blocks.append(
        f"{len(exports)} Care export IDs ({SOURCE} §3); * marks a required parameter; "
        f"`orchestrator exports ID` shows one with its rules.\n{PUBLISHING_NOTE}."
    )
    return "\n\n".join(blocks)


def _block(export: Export) -> str:
    filters = [param for param in export.params if not param.by_client]
    width = max((len(param.name) for param in filters), default=0)
    lines = [f"{export.export_id}  ({export.ui_name})  {_methods(export)}"]
    lines += [f"  {_param_line(param, width)}" for param in filters]
    own = ", ".join(param.name for param in export.params if param.by_client)
    lines.append(f"  set by the client: {own}")
    return "\n".join(lines)


def describe(export: Export) -> str:
    """One export in detail: every parameter with its rule and source, and the notes."""
    lines = [
        f"{export.export_id}  ({export.ui_name})",
        f"methods: {_methods(export)}",
        "",
        "parameters (kind, allowed values; * required):",
    ]
    width = max(len(param.name) for param in export.params)
    for param in export.params:
        lines.append(f"  {_param_line(param, width)}")
        by = "set by the client; " if param.by_client else ""
        lines.append(f"  {'':<{width}}  {by}{param.rule} ({SOURCE} {param.cite})")
    if export.notes:
        lines += ["", "notes:", *(f"  {note}" for note in export.notes)]
    return "\n".join(lines)


def _methods(export: Export) -> str:
    if export.post == "query":
        where = "a POST sends every parameter in the query"
    else:
        where = f"a POST keeps {', '.join(export.post_query)} in the query, the rest in a form body"
    return f"{' and '.join(export.methods)}; {where}"


def _param_line(param: Param, width: int) -> str:
    required = "*" if param.required else " "
    mistyped = param.kind == "boolean" and param.declared != "boolean"
    kind = f"boolean ({param.declared})" if mistyped else param.kind
    values = ", ".join(param.values) if param.values else "any"
    return f"{param.name:<{width}} {required} {kind:<19} {values}".rstrip()


__all__ = ["add_commands", "describe", "describe_all", "find"]
