"""Sharding is a pure partition of the planned jobs: stable, complete, disjoint, budget-sharing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import PurePath
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.manifest import parse_manifest
from orchestrator.core.planner import plan
from orchestrator.core.shard import (
    MAX_SHARDS,
    Shard,
    ShardError,
    is_journal_of,
    parse_shard,
    select,
    shard_of,
)
from tests.core.strategies import AS_OF, valid_manifests

keys = st.text(min_size=0, max_size=40)
counts = st.integers(1, 64)


@settings(max_examples=50, deadline=None)
@given(valid_manifests(), counts)
def test_the_shards_of_a_plan_partition_it(data: dict[str, Any], count: int) -> None:
    """The N shards of a plan are disjoint and together hold every planned job, in plan order."""
    jobs = plan(parse_manifest(yaml.safe_dump(data)), as_of=AS_OF).jobs
    shards = [select(jobs, Shard(index, count)) for index in range(count)]
    seen = [job.key for shard in shards for job in shard]
    assert sorted(seen) == sorted(job.key for job in jobs)
    assert len(seen) == len(set(seen))
    for shard in shards:
        assert list(shard) == [job for job in jobs if job in shard]


@given(keys, counts)
def test_every_key_belongs_to_exactly_one_shard(key: str, count: int) -> None:
    """Exactly one of the N shards owns a key, and it is the one shard_of names."""
    owners = [index for index in range(count) if Shard(index, count).owns(key)]
    assert owners == [shard_of(key, count)]


@given(keys, counts)
def test_a_keys_shard_does_not_change_between_calls(key: str, count: int) -> None:
    """Asking twice gives the same shard."""
    assert shard_of(key, count) == shard_of(key, count)


def test_shards_follow_the_sha256_of_the_key() -> None:
    """sha256("abc") is the FIPS 180-2 test vector ba78...15ad, so its shards are known by hand."""
    assert shard_of("abc", 2) == 1  # ...ad is odd
    assert shard_of("abc", 16) == 0xD
    assert shard_of("abc", 256) == 0xAD
    assert shard_of("abc", 1) == 0


def test_the_shard_of_a_key_is_the_same_in_another_process() -> None:
    """A fresh interpreter with another hash seed puts the same keys in the same shards."""
    sample = [f"{n:016x}" for n in range(0, 2000, 7)]
    script = (
        "import sys, json; from orchestrator.core.shard import shard_of; "
        "print(json.dumps([shard_of(k, 7) for k in json.loads(sys.stdin.read())]))"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sample),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert json.loads(answer.stdout) == [shard_of(key, 7) for key in sample]


@given(st.floats(0.001, 1e6), counts)
def test_each_shard_takes_one_nth_of_the_budget(per_minute: float, count: int) -> None:
    """N shards' budgets add up to the whole budget, never more."""
    budgets = [Shard(index, count).budget(per_minute) for index in range(count)]
    assert all(budget == per_minute / count for budget in budgets)
    assert sum(budgets) == pytest.approx(per_minute)


@given(st.integers(1, MAX_SHARDS).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_a_shard_reads_back_from_its_text(pair: tuple[int, int]) -> None:
    """`I/N` as printed (and logged) parses back to the same shard."""
    shard = Shard(*pair)
    assert parse_shard(str(shard), 1) == shard


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [("0/4", 1, Shard(0, 4)), ("3/4", 1, Shard(3, 4)), ("2", 5, Shard(2, 5)), (" 0 ", 1, Shard())],
)
def test_a_shard_is_written_index_slash_count_or_index(
    text: str, default: int, expected: Shard
) -> None:
    """`I/N` gives both numbers; `I` alone takes N from the settings."""
    assert parse_shard(text, default) == expected


@pytest.mark.parametrize(
    ("text", "default", "message"),
    [
        ("4/4", 1, "shard index 4 is out of range for 4 shard(s) (indexes run from 0 to 3)"),
        ("1", 1, "shard index 1 is out of range for 1 shard(s)"),
        ("0/0", 1, "the shard count must be from 1 to"),
        (f"0/{MAX_SHARDS + 1}", 1, "the shard count must be from 1 to"),
        ("-1/4", 1, "is not a shard like 0/4"),
        ("a/b", 1, "is not a shard like 0/4"),
        ("1/2/3", 1, "is not a shard like 0/4"),
        ("\u0663/4", 1, "is not a shard like 0/4"),  # an Arabic-Indic 3: a digit, not ours
        ("", 1, "is not a shard like 0/4"),
    ],
)
def test_a_bad_shard_says_what_is_wrong(text: str, default: int, message: str) -> None:
    """Out-of-range and malformed shards raise a ShardError naming the problem."""
    with pytest.raises(ShardError, match=re.escape(message)):
        parse_shard(text, default)


def test_an_unsharded_run_keeps_its_journal_and_shards_get_their_own() -> None:
    """One shard uses the journal path as it is; shard I of N a sibling named after both."""
    base = PurePath("out/.orchestrator/journal.sqlite")
    assert Shard().file_for(base) == base
    assert Shard(1, 3).file_for(base) == PurePath("out/.orchestrator/journal.shard-1-of-3.sqlite")
    names = {Shard(i, 3).file_for(base).name for i in range(3)}
    assert len(names) == 3
    assert all(is_journal_of(name, base) for name in (*names, "journal.sqlite"))
    for other in ("journal.sqlite-wal", "journal.sqlite.lock", "journal.shard-x-of-3.sqlite"):
        assert not is_journal_of(other, base)
