"""Which filesystem a path is on, to pick SQLite's journal mode: WAL needs shared memory between
the processes of one host, which a network filesystem does not give (SQLite's documentation: WAL
"does not work over a network filesystem"), so there the journal uses the rollback journal with
exclusive locking instead.

The filesystem type comes from /proc/self/mountinfo (the mount whose point is the longest prefix
of the path's real location); where there is none (not Linux), the path is taken as local.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

JournalMode = Literal["auto", "wal", "rollback"]
MOUNTINFO = Path("/proc/self/mountinfo")
NETWORK_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "9p",
        "afs",
        "ocfs2",
        "gfs2",
        "efs",
        "virtiofs",
    }
)
"""Filesystems shared between hosts (EFS and Filestore mount as nfs4, Azure Files as cifs or nfs4);
every FUSE filesystem (`fuse.*`: sshfs, s3fs, gcsfuse, JuiceFS, ...) counts too."""


def is_network(fstype: str) -> bool:
    return fstype in NETWORK_TYPES or fstype.startswith("fuse.") or fstype == "fuse"


def filesystem_type(path: str, mountinfo: str) -> str | None:
    """The type of the filesystem mounted at the longest mount point that holds `path` (an
    absolute, resolved path), as /proc/self/mountinfo text describes the mounts."""
    best, best_type = "", None
    for line in mountinfo.splitlines():
        fields, separator, rest = line.partition(" - ")
        parts = fields.split()
        if not separator or len(parts) < 5 or not rest.split():
            continue
        point = _unescape(parts[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, rest.split()[0]
    return best_type


def journal_mode_for(
    path: Path, setting: JournalMode, mountinfo: str | None = None
) -> Literal["wal", "rollback"]:
    """The journal mode for a journal at `path`: the setting, or with `auto`, rollback on a
    network filesystem and WAL elsewhere."""
    if setting != "auto":
        return setting
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text()
        except OSError:
            return "wal"
    fstype = filesystem_type(os.path.realpath(path.parent), mountinfo)
    return "rollback" if fstype is not None and is_network(fstype) else "wal"


def _unescape(field: str) -> str:
    """mountinfo writes a space, tab, newline and backslash in a path as octal escapes."""
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, plain)
    return field
