"""Every async test is bounded: the suite wraps each one in `anyio.fail_after` once, centrally."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import ASYNC_TEST_SECONDS


@pytest.mark.anyio
async def test_an_async_test_runs_under_a_deadline(request: pytest.FixtureRequest) -> None:
    """The running test was wrapped, and its deadline lies at most ASYNC_TEST_SECONDS ahead."""
    assert getattr(request.node.obj, "bounded", False)
    assert anyio.current_effective_deadline() - anyio.current_time() <= ASYNC_TEST_SECONDS
