"""What a request handler needs from the running service: the open services, the environment
served and the eligibility table. Built once per process by the application's lifespan."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Final, TypeVar

from fastapi import Depends, Request

from smki.api.metrics import Metrics
from smki.ca.authority import LoadedAuthority
from smki.errors import ConfigError
from smki.profiles.kinds import Environment, Pki
from smki.ra.eligibility import EligibilityTable
from smki.storage.group_commit import GroupCommitter
from smki.wiring import Services


class AuthorityCache:
    """The issuing CAs of this process, loaded (certificate parsed, key opened) once rather
    than per request. A user checks, inside the transaction that records its intent, that the
    authority's row is still the one loaded (``is_current``); when it is not (a new
    certificate, a revoked or replaced CA) it ``forget``s it and loads again, so a change in
    the store takes effect at the next request, as it did when every request loaded it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[Environment, Pki], LoadedAuthority] = {}

    def get(self, services: Services, env: Environment, pki: Pki) -> LoadedAuthority:
        loaded = self._loaded.get((env, pki))
        if loaded is None:
            loaded = services.issuing_authority(env, pki)
            with self._lock:
                self._loaded[(env, pki)] = loaded
        return loaded

    def forget(self, env: Environment, pki: Pki) -> None:
        with self._lock:
            self._loaded.pop((env, pki), None)


#: How many requests may do their store-bound work (authentication, issuance) at once.
WORK_THREADS_ENV: Final = "SMKI_WORK_THREADS"
#: On SQLite that work is all CPU under one GIL: one thread beside the event loop and the
#: writer does the most (measured, 32 single-CSR clients, two workers: 629 req/s and p99 75 ms
#: with 1 thread, 534 and 104 ms with 2, about 500 and 105 ms with 4). On PostgreSQL a request
#: also waits for the server, and threads overlap those waits.
DEFAULT_WORK_THREADS: Final = {"sqlite": 1, "postgresql": 4}


def default_work_threads(dialect: str) -> int:
    return DEFAULT_WORK_THREADS.get(dialect, 4)


_T = TypeVar("_T")


class WorkLimiter:
    """A bound on the threads that run requests' synchronous work at once.

    That work is CPU (signature checks, lints, signing) and store reads: 32 concurrent
    requests in 32 threads do not finish sooner than in 4, they contend for the GIL while
    holding each other up, and the slowest wait longest (R-PERF-1). Queued requests wait here,
    in arrival order, without a thread. A plain executor: measured cheaper per hop than
    anyio's thread runner, and a request makes several hops."""

    def __init__(self, threads: int | None = None, *, default: int = 4) -> None:
        self._threads = threads
        self._default = default
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._guard = threading.Lock()

    def threads(self) -> int:
        if self._threads is None:
            self._threads = max(1, int(os.environ.get(WORK_THREADS_ENV) or self._default))
        return self._threads

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        executor = self._executor or self._start()
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    def close(self) -> None:
        """Finish what is running and stop the threads."""
        with self._guard:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is not None:
            executor.shutdown(wait=True)

    def _start(self) -> ThreadPoolExecutor:
        with self._guard:
            if self._closed:
                raise ConfigError("the service is stopping", code="not-ready")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads(), thread_name_prefix="smki-work")
            return self._executor


@dataclass(frozen=True)
class Runtime:
    services: Services
    env: Environment
    eligibility: EligibilityTable
    metrics: Metrics
    #: The process's shared write transactions (``storage.group_commit``, R-PERF-1).
    commits: GroupCommitter
    authorities: AuthorityCache = field(default_factory=AuthorityCache, compare=False)
    work: WorkLimiter = field(default_factory=WorkLimiter, compare=False)

    def close(self) -> None:
        """Finish the requests' work, let queued writes commit, then close the services."""
        try:
            self.work.close()
            self.commits.close()
        finally:
            self.services.close()

    def actor(self, officer_id: int) -> str:
        """The audit actor for an ARO acting through the Service Interface."""
        return f"aro:{officer_id}"


def runtime(request: Request) -> Runtime:
    """The process's Runtime (a FastAPI dependency); 503 ``not-ready`` outside the lifespan."""
    value = getattr(request.app.state, "runtime", None)
    if not isinstance(value, Runtime):
        raise ConfigError("the service is starting or stopping", code="not-ready")
    return value


RuntimeDep = Annotated[Runtime, Depends(runtime)]
