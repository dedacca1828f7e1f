"""Checks made before any work: is the manifest path a file, can the output tree be written.

A run that finds an unwritable output folder only when its first download lands has already spent
requests creating and polling exports; `check_output_tree` finds it before the first submit.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from orchestrator.core.layout import RUNS_FOLDER
from orchestrator.edges.folders import make_folders
from orchestrator.errors import UsageError


class OutputNotWritable(UsageError):
    """The output folder or the journal's folder cannot take files (exit code 2)."""


def manifest_path_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a manifest (a folder, a device, missing), or None if it can."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"{path}: no such manifest file (give its path, or run where jobs.yaml is)"
    except OSError as error:
        return f"{path}: cannot look up the manifest file: {error.strerror or error}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{path} is a folder, not a manifest file (give the path of the YAML file in it)"
    return f"{path} is not a regular file (a device, pipe or socket): give a manifest file's path"


def check_output_tree(out: Path, journal: Path) -> None:
    """The output folder, its run reports' folder and the journal's folder can all take files."""
    check_writable([out, out / RUNS_FOLDER, journal.parent])


def check_writable(folders: Iterable[Path]) -> None:
    """Create each folder if missing and write then remove a temporary file in it; raises
    OutputNotWritable naming the folder and the operating system's reason."""
    for folder in dict.fromkeys(folders):
        try:
            make_folders(folder)
            descriptor, name = tempfile.mkstemp(prefix=".write-check-", dir=folder)
            os.close(descriptor)
            with contextlib.suppress(FileNotFoundError):
                Path(name).unlink()
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise OutputNotWritable(
                f"cannot write to {folder}: {reason}; nothing was submitted "
                "(check --out / ORCHESTRATOR_OUT, --journal / ORCHESTRATOR_JOURNAL, "
                "and the folder's owner and mode)"
            ) from None
