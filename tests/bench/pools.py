"""Bringing a spawn-based pool up to full strength before anything is timed.

``ProcessPoolExecutor`` with ``spawn`` starts workers lazily, on ``submit``. ``warm`` keeps
submitting tiny tasks until every worker has answered, so that spawn, imports and the pool
initialiser (key loading) are over before the timed work starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future

_WARM_DELAY = 0.02
_WARM_DEADLINE = 120.0


def worker_pid(delay: float) -> int:
    """Worker side: linger briefly (so one worker cannot take every task), then say who ran."""
    time.sleep(delay)
    return os.getpid()


def warm(submit: Callable[[Callable[[float], int], float], Future[int]], processes: int) -> None:
    """Return once ``processes`` distinct workers have each run a task."""
    seen: set[int] = set()
    deadline = time.perf_counter() + _WARM_DEADLINE
    while len(seen) < processes:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(seen)} of {processes} workers started")
        futures = [submit(worker_pid, _WARM_DELAY) for _ in range(processes)]
        seen.update(future.result() for future in futures)
