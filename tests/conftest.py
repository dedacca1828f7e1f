"""Shared fixtures: every async test runs on asyncio, the only backend aiohttp supports.

Tests marked `slow` are collected first, so that `pytest -n 2` starts them at once on both workers
and fills in with the quick ones, instead of finding a 40-second soak at the end of one queue.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept
