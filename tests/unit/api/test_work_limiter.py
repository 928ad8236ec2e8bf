"""The bound on requests' synchronous work (api/runtime.WorkLimiter)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from smki.api.runtime import WorkLimiter, default_work_threads
from smki.errors import ConfigError


def test_work_runs_off_the_event_loop_at_most_n_at_once() -> None:
    limiter = WorkLimiter(2)
    running = 0
    most = 0
    guard = threading.Lock()
    loop_thread = threading.get_ident()

    def work() -> int:
        nonlocal running, most
        assert threading.get_ident() != loop_thread
        with guard:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.02)
        with guard:
            running -= 1
        return 1

    async def many() -> list[int]:
        return await asyncio.gather(*(limiter.run(work) for _ in range(8)))

    try:
        assert asyncio.run(many()) == [1] * 8
    finally:
        limiter.close()
    assert most == 2


def test_a_closed_limiter_refuses_new_work() -> None:
    limiter = WorkLimiter(1)
    assert asyncio.run(limiter.run(lambda: 7)) == 7
    limiter.close()
    with pytest.raises(ConfigError) as refused:
        asyncio.run(limiter.run(lambda: 8))
    assert refused.value.code == "not-ready"


def test_one_thread_on_sqlite_four_on_postgresql() -> None:
    assert default_work_threads("sqlite") == 1
    assert default_work_threads("postgresql") == 4
