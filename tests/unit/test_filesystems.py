"""SQLite's journal mode by filesystem: WAL on a local one, the rollback journal with exclusive
locking on a network one (WAL does not work there), told apart from mountinfo text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.edges import journal as journal_module
from orchestrator.edges.filesystems import filesystem_type, is_network, journal_mode_for
from orchestrator.edges.journal import Journal, read_records
from orchestrator.errors import JournalUnavailable
from tests.unit.edges import day_job

MOUNTINFO = """\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
31 22 0:40 / /data rw,relatime shared:20 - nfs4 fs-0123.efs.us-east-1.amazonaws.com:/ rw,vers=4.1
32 31 0:41 / /data/local rw,relatime shared:21 - tmpfs tmpfs rw
33 22 0:42 / /mnt/my\\040share rw,relatime - cifs //server/share rw
34 22 0:43 / /mnt/gcs rw,nosuid - fuse.gcsfuse bucket rw
35 22 0:44 / /var/lib/ceph rw - ceph 10.0.0.1:/ rw
"""


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/home/user/out", "ext4"),
        ("/data/out/.orchestrator", "nfs4"),
        ("/data", "nfs4"),
        ("/data/local/out", "tmpfs"),
        ("/datadir/out", "ext4"),
        ("/mnt/my share/out", "cifs"),
        ("/mnt/gcs/x", "fuse.gcsfuse"),
        ("/var/lib/ceph/j", "ceph"),
    ],
)
def test_the_mount_with_the_longest_point_names_the_filesystem(path: str, fstype: str) -> None:
    """A path's filesystem is that of the deepest mount holding it (escaped spaces read back)."""
    assert filesystem_type(path, MOUNTINFO) == fstype


def test_network_filesystems_get_the_rollback_journal(tmp_path: Path) -> None:
    """`auto` picks rollback on NFS, CIFS, Ceph and FUSE, WAL elsewhere; a setting overrides it."""
    assert [is_network(t) for t in ("nfs4", "cifs", "ceph", "fuse.sshfs", "ext4", "tmpfs")] == [
        True, True, True, True, False, False,
    ]  # fmt: skip
    on_nfs = f"1 0 0:1 / {tmp_path} rw - nfs4 server:/ rw\n"
    journal = tmp_path / "journal.sqlite"
    assert journal_mode_for(journal, "auto", on_nfs) == "rollback"
    assert journal_mode_for(journal, "auto", "1 0 0:1 / / rw - ext4 /dev/x rw\n") == "wal"
    assert journal_mode_for(journal, "wal", on_nfs) == "wal"
    assert journal_mode_for(journal, "rollback", "") == "rollback"


@pytest.mark.anyio
async def test_a_rollback_journal_works_and_keeps_readers_out_while_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the rollback journal the run writes as usual, no -wal file appears, `status` hears
    the journal is held (not a traceback) until the run closes it, then reads it."""
    monkeypatch.setattr(journal_module, "READ_BUSY_SECONDS", 0.05)
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, mode="rollback")
    journal.open()
    try:
        await journal.intend(day_job("a"), attempts=1, uncertain=False)
        assert not path.with_name("journal.sqlite-wal").exists()
        with pytest.raises(JournalUnavailable, match="held by a run"):
            read_records(path)
    finally:
        journal.close()
    assert list(read_records(path)) == [day_job("a").key]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
