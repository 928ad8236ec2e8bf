"""Liveness and readiness (R-X-3).

``/healthz``: the process answers. ``/readyz``: the store answers a trivial query, the
environment served is still initialised in it, and this process's batch runner (if it runs
one) has its signing pool started; otherwise 503 ``not-ready``, so that a load balancer sends
no requests to a process that could only fail them or, for a batch, start them slowly (the
workers' spawning, imports and key decryption take about a second of both cores).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from smki.api.batches import runner_of
from smki.api.problems import problem_responses
from smki.api.runtime import Runtime, runtime
from smki.errors import ConfigError, SmkiError

log = logging.getLogger("smki.api")

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    environment: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive (no dependency is consulted)."""
    return Health(status="ok")


def _check(rt: Runtime) -> None:
    if rt.env not in rt.services.environments():
        raise ConfigError(f"the {rt.env} environment is not initialised", code="not-ready")


@router.get("/readyz", response_model=Readiness, responses=problem_responses(503))
async def readyz(request: Request) -> Readiness:
    """Ready to serve: the store answers, the environment served is initialised and the
    batch runner's signing pool (if this process runs one) has started."""
    try:
        rt = runtime(request)
        await run_in_threadpool(_check, rt)
    except SmkiError as error:
        log.warning("not ready: %s", error)
        raise ConfigError("the service is not ready", code="not-ready") from None
    runner = runner_of(request.app)
    if runner is not None and not runner.started:
        raise ConfigError("the service is starting its signing pool", code="not-ready")
    return Readiness(status="ready", environment=str(rt.env))
