"""Checks made before any work: is the manifest path a file, can the output tree be written.

A run that finds an unwritable output folder only when its first download lands has already spent
requests creating and polling exports; `check_output_tree` finds it before the first submit, and
with it a folder of the tree that a symlink leads out of (the run report or the journal would be
written there) and a journal file that is a FIFO (SQLite would wait on it forever).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from orchestrator.core.layout import RUNS_FOLDER
from orchestrator.edges.folders import leads_out, make_folders, not_regular
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


JOURNAL_COMPANIONS = ("", ".lock", "-wal", "-shm", "-journal")
"""Suffixes of the files beside the journal that the run opens: its lock and SQLite's own."""


def check_output_tree(out: Path, journal: Path, exports: Iterable[str] = ()) -> None:
    """The output folder, its run reports' folder and the journal's folder can all take files;
    none of them, nor an export's folder, leads out of the output tree; the journal's files are
    regular files. Raises OutputNotWritable naming the path."""
    check_contained(out, [out / RUNS_FOLDER, journal.parent, *(out / name for name in exports)])
    check_writable([out, out / RUNS_FOLDER, journal.parent])
    check_journal_files(journal)


def check_contained(out: Path, folders: Iterable[Path]) -> None:
    """Each folder that lies in `out` by its path really lies in it: no symlink leads out, as the
    output sink already refuses for export folders when it writes. A journal put elsewhere on
    purpose (--journal) is not in `out` by its path and is not checked."""
    for folder in dict.fromkeys(folders):
        lexical = Path(os.path.abspath(folder))  # noqa: PTH100 - resolve() follows the links
        if not lexical.is_relative_to(os.path.abspath(out)):  # noqa: PTH100 - checked here
            continue
        real = leads_out(folder, out)
        if real is not None:
            raise OutputNotWritable(
                f"refusing to write under {folder}: a symlink leads out of {out} (to {real}); "
                "nothing was submitted (remove the link, or point --out at the real folder)"
            )


def check_journal_files(journal: Path) -> None:
    """The journal, its lock and SQLite's files beside it are regular files or absent."""
    for suffix in JOURNAL_COMPANIONS:
        path = journal.with_name(journal.name + suffix)
        problem = not_regular(path)
        if problem is not None:
            raise OutputNotWritable(
                f"{path} {problem}; nothing was submitted (remove it, or give the run another "
                "journal with --journal / ORCHESTRATOR_JOURNAL)"
            )


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
