"""The run lock on object storage: a lease per shard, `<prefix>/.orchestrator/lease[.shard-I-of-N].json`.

    take     create the object (If-None-Match: *): whoever creates it holds it.
    renew    every third of the TTL, rewrite it on the ETag last written (If-Match): a holder that
             finds the ETag changed has lost it, and knows.
    meet     a run that finds the object watches it for a whole TTL (its own or the holder's, the
             longer). If it changes, a live run holds it: JournalLocked (exit 75), as for a second
             run on a local journal. If it is marked released, or stays unchanged for the TTL (the
             holder was killed), the run takes it over by rewriting it on the ETag it watched
             (If-Match): of runs that try together, the store lets exactly one succeed, and a late
             renewal of the old holder fails the same way.
    release  a clean exit marks it released (If-Match), so the next run takes it at once.

No clock is compared between hosts: each side measures durations on its own monotonic clock (only
their rates must agree), and the lease's wall time is written for people only. The holder stops
writing the journal (`fence`) once VALID_SHARE of a TTL has passed since it sent its last renewal
that the store accepted, while a contender takes over only after a whole TTL without change, which
began after that renewal was written: the old holder has stopped before the new one starts. A
write already in flight then is fenced by the journal's log (see object_journal).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio
import obstore
import structlog
from anyio.abc import TaskStatus
from obstore.exceptions import AlreadyExistsError, PreconditionError

from orchestrator.core.location import Location
from orchestrator.edges.storage.output import DEFAULT_TTL
from orchestrator.edges.storage.stores import access_error, describe_error, failure_of
from orchestrator.errors import JournalLocked, JournalUnavailable

if TYPE_CHECKING:
    from obstore.store import ObjectStore

VALID_SHARE = 0.8
"""Of a TTL after its last accepted renewal, how long a holder goes on writing the journal."""
MAX_TTL = 3600.0
_log = structlog.get_logger("orchestrator.lease")


def new_holder() -> str:
    """Who holds a lease, for the messages of runs that meet it: host (the pod), process, nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """One shard's lease; `take` before the journal is opened, `keep` beside the run, `release`
    after it."""

    def __init__(
        self,
        store: ObjectStore,
        location: Location,
        path: str,
        *,
        holder: str,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._store, self._path, self.holder, self.ttl = store, path, holder, ttl
        self.url = location.url(path)
        self._location, self._clock = location, clock
        self._etag: str | None = None
        self._renewals = 0
        self._renewed_at = 0.0
        self._lost: str | None = None

    def __repr__(self) -> str:
        state = self._lost or ("held" if self._etag else "not held")
        return f"Lease({self.url!r}, {state}, ttl={self.ttl:g}s)"

    async def take(self) -> None:
        """Hold the lease, waiting at most one TTL for a killed holder's to lapse; JournalLocked
        if a live run holds it, SettingsError if the bucket refuses us."""
        while True:
            sent = self._clock()
            if await self._write("create", released=False):
                self._renewed_at = sent
                return
            found = await self._read()
            if found is None:
                continue  # deleted meanwhile: create it again
            document, etag = found
            if not document.get("released"):
                await self._watch(document, etag)
            sent = self._clock()
            if await self._write(etag, released=False):
                self._renewed_at = sent
                return
            raise self._locked(document, "took it over first")

    async def _watch(self, document: dict[str, Any], etag: str) -> None:
        """Wait one TTL (the longer of ours and the holder's) for the lease to change."""
        theirs = document.get("ttl")
        ttl = min(max(self.ttl, float(theirs) if isinstance(theirs, int | float) else 0.0), MAX_TTL)
        _log.info(
            "orchestrator.lease_waiting", lease=self.url, holder=document.get("holder"), seconds=ttl
        )
        ends = self._clock() + ttl
        while self._clock() < ends:
            await anyio.sleep(min(max(ttl / 10, 0.02), 3.0, max(ends - self._clock(), 0.0)))
            if await self._etag_now() != etag:
                raise self._locked(document, "is renewing it")

    async def keep(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Renew every third of the TTL until cancelled or lost; a failed renewal is tried again
        sooner, and the fence closes if none succeeds in time."""
        task_status.started()
        while self._lost is None:
            await anyio.sleep(self.ttl / 3)
            await self.renew()

    async def renew(self) -> None:
        sent = self._clock()
        try:
            if await self._write(self._etag or "", released=False):
                self._renewed_at = sent
                return
            mine = await self._still_mine()
        except JournalUnavailable as error:  # the store failed: the fence decides when to stop
            _log.warning("orchestrator.lease_renewal_failed", lease=self.url, error=str(error))
            return
        if not mine:
            self._lost = "another run took over its lease (this run was thought dead)"
            _log.error("orchestrator.lease_lost", lease=self.url)

    def fence(self) -> str | None:
        """Why this run may no longer write its journal, or None while the lease is held."""
        if self._lost:
            return self._lost
        if self._etag is None:
            return "the lease is not held"
        if self._clock() - self._renewed_at > self.ttl * VALID_SHARE:
            return (
                f"the lease {self.url} could not be renewed for {self.ttl * VALID_SHARE:.0f} s; "
                "another run may take it over, so this one stops writing"
            )
        return None

    async def release(self) -> None:
        """Mark the lease released, if it is still ours; never raises (the run is over)."""
        if self._etag is None or self._lost:
            return
        with anyio.move_on_after(10, shield=True):
            try:
                await self._write(self._etag, released=True)
            except JournalUnavailable as error:
                _log.warning("orchestrator.lease_release_failed", lease=self.url, error=str(error))
        self._etag = None

    async def _write(self, mode: str, *, released: bool) -> bool:
        """Create (mode "create") or rewrite on ETag `mode`; False if the store's precondition
        failed (someone else has it, or changed it)."""
        self._renewals += 1
        body = json.dumps(
            {
                "holder": self.holder,
                "ttl": self.ttl,
                "renewals": self._renewals,
                "released": released,
                "written_at": datetime.now(UTC).isoformat(timespec="seconds"),  # for people
            }
        ).encode()
        precondition: Any = "create" if mode == "create" else {"e_tag": mode}
        try:
            result = await obstore.put_async(self._store, self._path, body, mode=precondition)
        except (AlreadyExistsError, PreconditionError):
            return False
        except Exception as error:
            raise self._unusable(error, "write") from None
        self._etag = result["e_tag"]
        return True

    async def _read(self) -> tuple[dict[str, Any], str] | None:
        try:
            found = await obstore.get_async(self._store, self._path)
            body = bytes(await found.bytes_async())
        except FileNotFoundError:
            return None
        except Exception as error:
            raise self._unusable(error, "read") from None
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        return (document if isinstance(document, dict) else {}), str(found.meta["e_tag"])

    async def _etag_now(self) -> str | None:
        try:
            return str((await obstore.head_async(self._store, self._path))["e_tag"])
        except FileNotFoundError:
            return None
        except Exception as error:
            raise self._unusable(error, "read") from None

    async def _still_mine(self) -> bool:
        """After a refused renewal: whether the lease is ours anyway (a renewal that landed but
        whose answer was lost); if so, its ETag is adopted."""
        found = await self._read()
        if found is None:
            return False
        document, etag = found
        if document.get("holder") == self.holder and not document.get("released"):
            self._etag = etag
            return True
        return False

    def _locked(self, document: dict[str, Any], doing: str) -> JournalLocked:
        holder = document.get("holder", "an unknown run")
        return JournalLocked(
            f"another orchestrator run ({holder}) holds the lease {self.url} and {doing}; wait for "
            "it to finish, or give this run its own --out (a sharded run: its own --shard)"
        )

    def _unusable(self, error: Exception, action: str) -> JournalUnavailable:
        if failure_of(error) in ("denied", "missing_bucket"):
            return JournalUnavailable(
                str(access_error(error, self._location, f"{action} the lease"))
            )
        return JournalUnavailable(f"cannot {action} the lease {self.url}: {describe_error(error)}")
