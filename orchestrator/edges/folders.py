"""Folders and files the tool creates are private to the owner and group (0750 and 0640); files
it reads by a path the user gave must be regular files (a FIFO would block the read forever), and
folders it writes in must not lead out of the output tree through a symlink."""

from __future__ import annotations

import errno
import os
import stat
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


def kind_of(mode: int) -> str:
    """What a file of this `st_mode` is, in words for a message."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file"


def not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as a file ("is a FIFO (named pipe), not a regular file"), checked
    before opening it and following symlinks. None for a regular file, and for a path that is
    missing or cannot be looked up: opening that fails at once, it does not wait."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else f"is {kind_of(mode)}, not a regular file"


def read_regular(path: Path, limit: int = -1) -> bytes:
    """The bytes of a regular file (at most `limit`); an OSError for anything else, never a wait:
    checked before opening, then opened without blocking and checked again on the descriptor,
    so a FIFO put there in between is refused unread too."""
    problem = not_regular(path)
    if problem is not None:
        raise OSError(errno.EINVAL, f"{path} {problem}")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{path} is {kind_of(mode)}, not a regular file")
        return handle.read(limit)


def leads_out(folder: Path, root: Path) -> Path | None:
    """Where `folder` really is when a symlink in it takes it out of `root` (a dangling link
    counts, by where it points), else None."""
    try:
        real = folder.resolve()
        inside = real.is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        return folder
    return None if inside else real
