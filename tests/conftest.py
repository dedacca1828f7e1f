"""Shared fixtures: every async test runs on asyncio, the only backend aiohttp supports.

Tests marked `slow` are collected first, so that `pytest -n 2` starts them at once on both workers
and fills in with the quick ones, instead of finding a 40-second soak at the end of one queue.

Every async test runs under `anyio.fail_after(ASYNC_TEST_SECONDS)`, wrapped here once, so a hang
fails that test fast with a cancellation instead of stalling the worker until pytest-timeout.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import anyio
import pytest
import structlog

from orchestrator.core.location import Location
from orchestrator.edges.storage.stores import VARIABLES

ASYNC_TEST_SECONDS = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def fresh_structlog() -> Iterator[None]:
    """Each test leaves structlog as it found it: a command run in a test configures it (at info,
    say), and a later test on the same worker that captures debug lines would see none."""
    yield
    structlog.reset_defaults()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.obj = bounded(item.obj)


def bounded(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """`test` under `fail_after`: a hang is a failure within ASYNC_TEST_SECONDS."""

    @functools.wraps(test)
    async def under_fail_after(**arguments: Any) -> None:
        with anyio.fail_after(ASYNC_TEST_SECONDS):
            await test(**arguments)

    under_fail_after.bounded = True  # type: ignore[attr-defined]
    return under_fail_after


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Location:
    """A fresh bucket on the process's moto S3 server (started once), under a prefix, with the
    standard AWS variables pointing at it, as a user of an S3-compatible store sets them."""
    from tests.s3 import moto_s3  # imported on first use: moto takes a while to import

    server = moto_s3()
    for name in [*VARIABLES["s3"], "AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    return Location("s3", server.new_bucket(), "exports")
