"""Checks before work: what a manifest path is, and whether the output tree takes files."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from orchestrator.edges.preflight import (
    OutputNotWritable,
    check_output_tree,
    manifest_path_problem,
)
from orchestrator.errors import UsageError


def test_a_regular_file_or_a_link_to_one_is_a_manifest(tmp_path: Path) -> None:
    """A file, and a symlink to a file, raise no problem."""
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text("version: 1\n")
    (tmp_path / "link.yaml").symlink_to(manifest)
    assert manifest_path_problem(manifest) is None
    assert manifest_path_problem(tmp_path / "link.yaml") is None


def test_each_kind_of_non_file_is_named(tmp_path: Path) -> None:
    """A folder, a pipe, a socket, a missing file and a dangling link each get their own words."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        assert "is not a regular file" in str(manifest_path_problem(tmp_path / "sock"))
    assert "is a folder, not a manifest file" in str(manifest_path_problem(tmp_path))
    assert "is not a regular file" in str(manifest_path_problem(fifo))
    assert "no such manifest file" in str(manifest_path_problem(tmp_path / "missing.yaml"))
    assert "no such manifest file" in str(manifest_path_problem(tmp_path / "dangling"))


def test_a_writable_tree_is_created_and_left_clean(tmp_path: Path) -> None:
    """The output folder, _runs and the journal's folder are created, with no probe file left behind."""
    out = tmp_path / "deep" / "out"
    check_output_tree(out, out / ".orchestrator" / "journal.sqlite")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        ".orchestrator",
        "_runs",
    ]


def test_an_output_folder_under_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    """A folder that cannot exist (its parent is a file) is an OutputNotWritable, a usage error."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputNotWritable, match=rf"cannot write to {blocker}/out: ") as caught:
        check_output_tree(blocker / "out", tmp_path / "journal" / "journal.sqlite")
    assert isinstance(caught.value, UsageError)


def test_a_journal_folder_that_cannot_be_written_is_refused(tmp_path: Path) -> None:
    """The journal may live elsewhere; its folder is checked too."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputNotWritable, match=rf"cannot write to {blocker}: "):
        check_output_tree(tmp_path / "out", blocker / "journal.sqlite")
