"""The output tree as objects in a bucket: the sink port's implementation for S3, GCS and Azure.

A file appears under its key only when it is complete, with its sha256, rows, job key and
content type in the object's metadata, so a rerun proves it by one HEAD (`matches`):

- up to PART_BYTES, the file is gathered in memory and sent in one PUT (atomic by nature);
- above, it streams through a multipart upload to a staging key under `.orchestrator/uploads/`
  while it is hashed and counted, then is streamed from there to its key with the metadata that
  only its end made known (S3 and GCS fix metadata when an upload starts, and obstore has no copy
  that replaces it), and the staging object is deleted. The second pass is the price of the
  metadata on large files; both passes keep memory flat (parts of PART_BYTES, PARTS_IN_FLIGHT
  of them).

obstore pulls an upload from an async iterator in tasks of its own, and a cancelled `put_async`
leaves its multipart upload behind (checked against moto). So the download is read here, in the
caller's task and cancel scopes, and handed over through a channel (`_Feed`), while the upload
is awaited in a shielded scope. The upload completes only if the hand-over was marked whole;
any failure or cancellation closes the channel unmarked, obstore aborts the multipart upload,
and the shielded await returns once the abort is done: no object, no part left behind. A run
killed mid-upload leaves an incomplete upload that only a bucket lifecycle rule removes
(AbortIncompleteMultipartUpload), and perhaps a staging object, which `discard_partials` removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import anyio
import obstore
from anyio.streams.memory import MemoryObjectReceiveStream

from orchestrator.core.layout import STATE_FOLDER, stays_inside
from orchestrator.core.location import Location
from orchestrator.core.rows import RowCounter, row_counter
from orchestrator.core.stored import StoredFile
from orchestrator.edges.storage.stores import describe_error, failure_of
from orchestrator.errors import DownloadCut, SinkError

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import ObjectStore

PART_BYTES = 8 * 1024 * 1024
"""A file up to this size is one PUT; a larger one is uploaded in parts of this size (S3 takes
parts of 5 MiB to 5 GiB and 10,000 parts: files up to 78 GiB)."""
PARTS_IN_FLIGHT = 2
HAND_OVER_BYTES = 1024 * 1024
"""Bytes gathered before they are handed to obstore: one thread hop per MiB, not per chunk."""
UPLOADS = f"{STATE_FOLDER}/uploads"
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}
SHA256, ROWS, JOB_KEY = "sha256", "rows", "jobkey"
"""Metadata names: lowercase letters and digits only, which S3, GCS and Azure all accept."""


class _Abandoned(Exception):
    """Raised to obstore from the hand-over when the sink gave up: obstore aborts the upload."""


class _Tally:
    """A file's sha256, rows and size, taken as it streams past."""

    def __init__(self, report_format: str) -> None:
        self.size = 0
        self.digest = hashlib.sha256()
        self.counter: RowCounter = row_counter(report_format)

    def feed(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.counter.feed(chunk)
        self.size += len(chunk)

    def check(self, expected_size: int | None) -> None:
        if expected_size is not None and self.size != expected_size:
            raise DownloadCut(f"got {self.size} of {expected_size} announced bytes")

    def stored(self, relative: PurePosixPath) -> StoredFile:
        return StoredFile(
            relative.as_posix(), self.size, self.digest.hexdigest(), self.counter.rows()
        )


class ObjectSink:
    """Writes export files under one location's prefix in its bucket."""

    def __init__(self, store: ObjectStore, location: Location) -> None:
        self._store = store
        self.location = location

    def __repr__(self) -> str:
        return f"ObjectSink({self.location.url()!r})"

    def path(self, relative: PurePosixPath) -> str:
        """The object path of a relative one (under the store's prefix), refusing anything that
        would leave the tree."""
        if not stays_inside(relative):
            raise SinkError(f"refusing output path {relative}: it would leave {self.location}")
        return relative.as_posix()

    async def store(
        self,
        relative: PurePosixPath,
        chunks: AsyncIterator[bytes],
        *,
        expected_size: int | None,
        report_format: str,
        key: str | None = None,
    ) -> StoredFile:
        """Stream `chunks` to the object at `relative`; on any failure no object appears."""
        path = self.path(relative)
        tally = _Tally(report_format)
        head, rest = await _head(chunks, tally)
        if rest is None:
            tally.check(expected_size)
            stored = tally.stored(relative)
            await self._put(path, bytes(head), _attributes(stored, report_format, key))
            return stored
        staging = f"{UPLOADS}/{path}.{secrets.token_hex(4)}.part"
        try:
            await self._multipart(staging, _whole(head, rest, tally, expected_size), {})
            stored = tally.stored(relative)
            copy = await self._reader(staging, stored.sha256)
            await self._multipart(path, copy, _attributes(stored, report_format, key))
        finally:
            with anyio.CancelScope(shield=True):
                await self._delete_quietly(staging)
        return stored

    async def discard_partials(self, relative: PurePosixPath) -> int:
        """Delete staging objects a killed run left for this target; returns how many."""
        target = PurePosixPath(UPLOADS, self.path(relative))
        try:
            listed = await obstore.list_with_delimiter_async(self._store, str(target.parent))
        except Exception as error:
            raise _sink_error(error, self.location.url(target.parent)) from None
        stale = [
            meta["path"]
            for meta in listed["objects"]
            if PurePosixPath(meta["path"]).name.startswith(f"{target.name}.")
            and meta["path"].endswith(".part")
        ]
        for path in stale:
            await self._delete_quietly(path)
        return len(stale)

    async def matches(self, file: StoredFile, *, verify: bool = False) -> StoredFile | None:
        """The recorded `file`, if its object has the recorded size and sha256 metadata (one HEAD,
        the body unread); `verify` reads the body and hashes it. None if it is not the file."""
        path = self.path(PurePosixPath(file.path))
        try:
            found = await obstore.get_async(self._store, path, options={"head": True})
        except FileNotFoundError:
            return None
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None
        if found.meta["size"] != file.bytes:
            return None
        recorded = found.attributes.get(SHA256)
        if not verify:
            return file if recorded == file.sha256 else None
        return file if await self._hash(path) == file.sha256 else None

    async def put(self, relative: PurePosixPath, data: bytes) -> None:
        """A small object (a marker) in one PUT: it appears whole or not at all."""
        path = self.path(relative)
        await self._put(path, data, {"Content-Type": "application/json"})

    async def remove(self, relative: PurePosixPath) -> bool:
        """Delete a small object if it is there; whether it was."""
        if not await self.exists(relative):
            return False
        path = self.path(relative)
        try:
            await obstore.delete_async(self._store, path)
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None
        return True

    async def exists(self, relative: PurePosixPath) -> bool:
        path = self.path(relative)
        try:
            await obstore.head_async(self._store, path)
        except FileNotFoundError:
            return False
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None
        return True

    async def _put(self, path: str, body: bytes, attributes: Attributes) -> None:
        try:
            await obstore.put_async(
                self._store, path, body, attributes=attributes, use_multipart=False
            )
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None

    async def _multipart(
        self, path: str, source: AsyncIterator[bytes], attributes: Attributes
    ) -> None:
        """Upload `source` to `path` in parts; it appears only if `source` ended cleanly."""
        send, receive = anyio.create_memory_object_stream[bytes](0)
        feed = _Feed(receive)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._upload, path, feed, attributes)
                async with send:
                    try:
                        async for block in _blocks(source):
                            await send.send(block)
                    except anyio.BrokenResourceError:
                        return  # the upload ended early: its own error says why
                    feed.complete = True
        except BaseExceptionGroup as group_error:
            raise _alone(group_error) from None

    async def _upload(self, path: str, feed: _Feed, attributes: Attributes) -> None:
        """obstore's multipart upload of what `feed` hands over, shielded so that a cancellation
        never drops it midway: it completes, or obstore aborts it, before this returns."""
        with anyio.CancelScope(shield=True):
            try:
                await obstore.put_async(
                    self._store,
                    path,
                    feed,
                    attributes=attributes,
                    use_multipart=True,
                    chunk_size=PART_BYTES,
                    max_concurrency=PARTS_IN_FLIGHT,
                )
            except _Abandoned:
                return
            except Exception as error:
                raise _sink_error(error, self.location.url(path)) from None
            finally:
                feed.close()

    async def _reader(self, path: str, sha256: str) -> AsyncIterator[bytes]:
        """The staging object's bytes, checked against the sha256 they were written with."""
        try:
            result = await obstore.get_async(self._store, path)
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None
        return _checked(
            result.stream(min_chunk_size=HAND_OVER_BYTES), sha256, self.location.url(path)
        )

    async def _hash(self, path: str) -> str | None:
        digest = hashlib.sha256()
        try:
            result = await obstore.get_async(self._store, path)
            async for chunk in result.stream(min_chunk_size=HAND_OVER_BYTES):
                digest.update(chunk)
        except FileNotFoundError:
            return None
        except Exception as error:
            raise _sink_error(error, self.location.url(path)) from None
        return digest.hexdigest()

    async def _delete_quietly(self, path: str) -> None:
        with contextlib.suppress(Exception):  # one left over is removed by a later run
            await obstore.delete_async(self._store, path)


class _Feed:
    """The async iterator obstore pulls an upload from. The end of the hand-over completes the
    upload only if the sink marked it `complete`; otherwise it raises, and obstore aborts."""

    def __init__(self, receive: MemoryObjectReceiveStream[bytes]) -> None:
        self._receive = receive
        self.complete = False

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self.complete:
                raise StopAsyncIteration from None
            raise _Abandoned from None

    def close(self) -> None:
        self._receive.close()


async def _head(
    chunks: AsyncIterator[bytes], tally: _Tally
) -> tuple[bytearray, AsyncIterator[bytes] | None]:
    """Up to PART_BYTES of the stream, and the rest of it (None if it ended within them)."""
    head = bytearray()
    stream = aiter(chunks)
    while len(head) <= PART_BYTES:
        try:
            chunk = await anext(stream)
        except StopAsyncIteration:
            return head, None
        tally.feed(chunk)
        head += chunk
    return head, stream


async def _whole(
    head: bytearray, rest: AsyncIterator[bytes], tally: _Tally, expected_size: int | None
) -> AsyncIterator[bytes]:
    """The stream from its start, tallied; a short one raises DownloadCut before it ends."""
    yield bytes(head)
    head.clear()
    async for chunk in rest:
        tally.feed(chunk)
        yield chunk
    tally.check(expected_size)


async def _checked(stream: AsyncIterator[bytes], sha256: str, url: str) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    async for chunk in stream:
        digest.update(chunk)
        yield bytes(chunk)
    if digest.hexdigest() != sha256:
        raise SinkError(f"the staged upload {url} changed while it was copied; try again")


async def _blocks(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`source` regrouped into blocks of at least HAND_OVER_BYTES (the last may be shorter)."""
    pending = bytearray()
    async for chunk in source:
        pending += chunk
        if len(pending) >= HAND_OVER_BYTES:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _attributes(stored: StoredFile, report_format: str, key: str | None) -> Attributes:
    attributes: Attributes = {
        "Content-Type": CONTENT_TYPES.get(report_format, "application/octet-stream"),
        SHA256: stored.sha256,
    }
    if stored.rows is not None:
        attributes[ROWS] = str(stored.rows)
    if key:
        attributes[JOB_KEY] = key
    return attributes


def _alone(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a task group wrapped (the sink's own first), or the group."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    ours = [leaf for leaf in leaves if not isinstance(leaf, anyio.get_cancelled_exc_class())]
    return ours[0] if len(ours) == 1 else group


def _sink_error(error: Exception, url: str) -> SinkError:
    if failure_of(error) == "denied":
        return SinkError(f"access denied writing {url}: {describe_error(error)}")
    return SinkError(f"storing {url} failed: {describe_error(error)}")
