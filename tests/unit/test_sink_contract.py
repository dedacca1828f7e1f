"""The sink's contract: the same test bodies run against the output folder, the in-memory sink
and a bucket (moto's S3 server on loopback)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.core.location import Location
from orchestrator.core.stored import StoredFile
from orchestrator.edges.memory_sink import MemorySink
from orchestrator.edges.ports import Sink
from orchestrator.edges.sink import FileSink
from orchestrator.edges.storage.object_sink import ObjectSink
from orchestrator.edges.storage.stores import build_store
from orchestrator.errors import DownloadCut, SinkError

pytestmark = pytest.mark.anyio
BODY = b"id,text\n1,hello\n2,world\n"
RELATIVE = PurePosixPath("conversation/2024/01/01/c.csv")


@pytest.fixture(params=["folder", "memory", "bucket"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Sink:
    if request.param == "bucket":
        location: Location = request.getfixturevalue("bucket")
        return ObjectSink(build_store(location), location)
    return FileSink(tmp_path / "out") if request.param == "folder" else MemorySink()


async def stream(*parts: bytes, fail: Exception | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail is not None:
        raise fail


def recorded(body: bytes, path: PurePosixPath = RELATIVE) -> StoredFile:
    """A file as a journal would record it, without the folder's facts."""
    return StoredFile(path.as_posix(), len(body), hashlib.sha256(body).hexdigest(), rows=None)


async def test_a_stored_file_is_hashed_counted_and_found_again(sink: Sink) -> None:
    """A stored stream comes back with its path, size, sha256 and rows, and is then found by them."""
    stored = await sink.store(
        RELATIVE, stream(BODY[:5], BODY[5:]), expected_size=len(BODY), report_format="csv"
    )
    assert (stored.path, stored.bytes, stored.rows) == (RELATIVE.as_posix(), len(BODY), 2)
    assert stored.sha256 == hashlib.sha256(BODY).hexdigest()
    assert await sink.matches(stored) is not None
    assert await sink.matches(recorded(BODY)) is not None
    assert await sink.matches(recorded(BODY), verify=True) is not None


async def test_another_file_or_none_is_not_a_match(sink: Sink) -> None:
    """Another sha256, another size or no file at all is never taken for the recorded file."""
    await sink.store(RELATIVE, stream(BODY), expected_size=None, report_format="csv")
    other = BODY.replace(b"hello", b"HELLO")
    assert await sink.matches(recorded(other)) is None
    assert await sink.matches(recorded(BODY + b"3,!\n")) is None
    assert await sink.matches(recorded(BODY, PurePosixPath("elsewhere/c.csv"))) is None


async def test_a_short_body_is_a_cut_and_leaves_the_earlier_file(sink: Sink) -> None:
    """Fewer bytes than announced is a DownloadCut; the file stored before stays as it was."""
    await sink.store(RELATIVE, stream(BODY), expected_size=len(BODY), report_format="csv")
    with pytest.raises(DownloadCut):
        await sink.store(RELATIVE, stream(b"id,"), expected_size=len(BODY), report_format="csv")
    assert await sink.matches(recorded(BODY), verify=True) is not None


async def test_a_broken_stream_stores_nothing(sink: Sink) -> None:
    """A stream that fails midway raises its own error and leaves no file under the path."""
    with pytest.raises(DownloadCut, match="reset"):
        await sink.store(
            RELATIVE,
            stream(BODY, fail=DownloadCut("reset")),
            expected_size=None,
            report_format="csv",
        )
    assert await sink.matches(recorded(BODY)) is None
    assert await sink.discard_partials(RELATIVE) == 0


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.csv", "a/../../b.csv"])
async def test_paths_that_leave_the_tree_are_refused(sink: Sink, path: str) -> None:
    """An absolute path or one that climbs out of the tree is a SinkError, nothing is written."""
    with pytest.raises(SinkError):
        await sink.store(PurePosixPath(path), stream(BODY), expected_size=None, report_format="csv")


async def test_a_small_file_is_put_whole_found_and_removed(sink: Sink) -> None:
    """A marker is put whole (replacing an older one), is then there, and removing it says
    whether it was; a path that would leave the tree is refused."""
    marker = PurePosixPath("conversation/2024/01/01/_SUCCESS")
    assert not await sink.exists(marker)
    await sink.put(marker, b"{}\n")
    await sink.put(marker, b'{"files": []}\n')
    assert await sink.exists(marker)
    assert await sink.remove(marker)
    assert not await sink.remove(marker)
    assert not await sink.exists(marker)
    with pytest.raises(SinkError):
        await sink.put(PurePosixPath("../_SUCCESS"), b"{}")
