"""One export's file as stored: the value the sink returns, the lifecycle carries, the journal
keeps, and the results and the report show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Where the file is (relative to the output root, POSIX form), its size, rows and sha256, and
    whether its window had not ended when it was fetched (then it is not final: fetched again)."""

    path: str
    bytes: int
    sha256: str
    rows: int | None
    open: bool = False
    mtime_ns: int | None = None
    inode: int | None = None
    """The local folder's facts of the file as written: a rerun that finds them unchanged trusts
    the file without reading it. Stores without such facts leave them None."""

    @property
    def empty(self) -> bool:
        """No data rows: the export had nothing in its window."""
        return self.rows == 0

    def same_place(self, other: StoredFile) -> bool:
        """Whether `other` is this file found again under the facts it was written with."""
        return (self.mtime_ns, self.inode) == (other.mtime_ns, other.inode)
