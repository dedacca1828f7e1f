"""Sharding: which of N pods runs a job, and what each pod's journal and request budget are.

A job belongs to shard `int(sha256(key)) mod N`: the same in every run, process and Python version
(`hash()` is salted per process), and exactly one shard for any N. Shards are chosen among the
*planned* jobs; the pieces of a split window are made by the runner from their planned job, so they
always run in their parent's shard. The API's request budget is shared, never multiplied: each of N
shards gets `requests_per_minute / N`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from orchestrator.core.jobs import Job
from orchestrator.errors import UsageError

MAX_SHARDS = 10_000
"""More pods than this would each get a budget of a request every few hours: surely a typo."""


class ShardError(UsageError):
    """A shard that cannot be: the message says which number is wrong and why."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (0-based) of `count`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ShardError(f"the shard count must be from 1 to {MAX_SHARDS}, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardError(
                f"shard index {self.index} is out of range for {self.count} shard(s) "
                f"(indexes run from 0 to {self.count - 1})"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def budget(self, requests_per_minute: float) -> float:
        """This shard's part of the API's request budget."""
        return requests_per_minute / self.count

    def file_for(self, base: PurePath) -> PurePath:
        """`base` itself when unsharded; otherwise `<stem>.shard-I-of-N<suffix>` beside it."""
        if not self.sharded:
            return base
        return base.with_name(f"{base.stem}.shard-{self.index}-of-{self.count}{base.suffix}")


def shard_of(key: str, count: int) -> int:
    """The shard of a job key among `count`: the key's sha256 as an integer, modulo `count`."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest, "big") % count


def select(jobs: Iterable[Job], shard: Shard) -> tuple[Job, ...]:
    """The planned jobs this shard runs, in plan order."""
    return tuple(job for job in jobs if shard.owns(job.key))


def parse_shard(text: str, default_count: int) -> Shard:
    """`I/N`, or `I` with N = `default_count`; a ShardError says what is wrong."""
    match = re.fullmatch(r"\s*([0-9]{1,9})\s*(?:/\s*([0-9]{1,9})\s*)?", text)
    if not match:
        raise ShardError(f"{text!r} is not a shard like 0/4 (index/count) or 0")
    index = int(match.group(1))
    count = int(match.group(2)) if match.group(2) is not None else default_count
    return Shard(index, count)


def is_journal_of(name: str, base: PurePath) -> bool:
    """Whether a file name is `base`'s, or one of its shards' journal files."""
    pattern = re.escape(base.stem) + r"(\.shard-[0-9]+-of-[0-9]+)?" + re.escape(base.suffix)
    return re.fullmatch(pattern, name) is not None
