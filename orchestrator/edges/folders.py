"""Folders and files the tool creates are private to the owner and group (0750 and 0640)."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o750
FILE_MODE = 0o640


def make_folders(folder: Path) -> list[Path]:
    """Create `folder` and any missing parents with DIR_MODE (mkdir's `parents=True` would give
    the parents the umask's mode); returns the folders created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created = list(reversed(missing))
    for path in created:
        path.mkdir(mode=DIR_MODE, exist_ok=True)
        path.chmod(DIR_MODE)  # mkdir applies the umask to its mode
    return created


def is_file(path: Path) -> bool:
    """Path.is_file that answers False, not OSError, for a name the OS cannot even look up."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_dir(path: Path) -> bool:
    """Path.is_dir that answers False, not OSError, for a name the OS cannot even look up."""
    try:
        return path.is_dir()
    except OSError:
        return False


def touch_private(path: Path) -> None:
    """Create `path` if missing with FILE_MODE, without following a symlink planted there."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    os.close(descriptor)
