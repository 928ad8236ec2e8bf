"""Bringing a spawn-based pool up to full strength before anything is timed.

``ProcessPoolExecutor`` with ``spawn`` starts workers lazily, on ``submit``. ``warm`` keeps
submitting tiny tasks until every worker has answered, so that spawn, imports (including the
modules the timed tasks will need) and the pool initialiser (key loading) are over before the
timed work starts.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from concurrent.futures import Future

_WARM_DELAY = 0.02
_WARM_DEADLINE = 120.0

WarmTask = Callable[[float, tuple[str, ...]], int]


def worker_pid(delay: float, modules: tuple[str, ...]) -> int:
    """Worker side: import ``modules``, linger briefly (so that one worker cannot take every
    task), then say which process ran."""
    for name in modules:
        importlib.import_module(name)
    time.sleep(delay)
    return os.getpid()


def warm(
    submit: Callable[[WarmTask, float, tuple[str, ...]], Future[int]],
    processes: int,
    modules: tuple[str, ...] = (),
) -> None:
    """Return once ``processes`` distinct workers have each run a task."""
    seen: set[int] = set()
    deadline = time.perf_counter() + _WARM_DEADLINE
    while len(seen) < processes:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(seen)} of {processes} workers started")
        futures = [submit(worker_pid, _WARM_DELAY, modules) for _ in range(processes)]
        seen.update(future.result() for future in futures)
