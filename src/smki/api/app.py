"""The SMKI Service Interface application (R-SI-1..5, R-X-3).

``create_app(home)`` builds a FastAPI application for one home folder and one environment;
the lifespan opens the services at startup (key store passphrase or PIN from the environment,
never a prompt) and closes them at shutdown. ``app_from_environment`` is the uvicorn factory
used by ``smki serve``: the home and the environment come through ``SMKI_HOME`` and
``SMKI_ENV``, so that every worker process builds the same application.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from smki.api import batches, certificates, crl_schedule, health, metrics, revocations
from smki.api.fast_certificates import FastCertificates
from smki.api.metrics import Metrics
from smki.api.problems import install_problem_handlers
from smki.api.recording import RequestRecorder
from smki.api.repository import create_repository_router, open_repository
from smki.api.repository.fast_lookups import FastLookups
from smki.api.runtime import Runtime, WorkLimiter, default_work_threads
from smki.clock import Clock
from smki.config.home import load_home
from smki.errors import ConfigError
from smki.profiles.kinds import Environment, Pki
from smki.ra.eligibility import load_eligibility
from smki.storage.engine import engine_url
from smki.storage.group_commit import GroupCommitter
from smki.web import portal
from smki.wiring import build_services, keystore_secret

log = logging.getLogger("smki.api")

HOME_ENV: Final = "SMKI_HOME"
ENVIRONMENT_ENV: Final = "SMKI_ENV"
TITLE: Final = "smki — SMKI Service Interface"
VERSION: Final = "1"


def open_runtime(
    home: Path, env: Environment | None, metrics: Metrics, clock: Clock | None = None
) -> Runtime:
    """Open the services and check, before the first request, that they can issue: the
    environment is initialised, the key store opens, the issuing CAs load."""
    settings = load_home(home)
    secret = keystore_secret(settings.keystore, prompt=False)
    services = build_services(settings, clock=clock, secret=secret)
    try:
        chosen = services.choose_environment(env)
        for pki in (Pki.DEVICE, Pki.ORGANISATION):
            services.issuing_authority(chosen, pki)
        eligibility = load_eligibility(home)
        work = WorkLimiter(
            default=default_work_threads(engine_url(services.store.url).get_backend_name())
        )
        commits = GroupCommitter(services.store)
        return Runtime(services, chosen, eligibility, metrics, commits, work=work)
    except BaseException:
        services.close()
        raise


def _without_open_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry hooks (in its newer releases) look up the global providers
    on every request, about 3% of a repository look-up; smki records its own metrics and
    request log (R-PERF-1, R-X-3), so they are off wherever FastAPI has them."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(
    home: Path, env: Environment | None = None, *, clock: Clock | None = None
) -> FastAPI:
    """The Service Interface for ``home``: its only environment, or ``env`` when given."""
    registry = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = await run_in_threadpool(open_runtime, home, env, registry, clock)
        app.state.runtime = rt
        # One Catalogue and SessionBook per process, shared with the portal (R-REP-3, R-REP-4).
        app.state.repository = open_repository(rt)
        # What start-up built (modules, schema, linters, keys) lives as long as the process:
        # out of the collector's sight, a full collection no longer walks it mid-request,
        # which otherwise shows as the latency tail of every request then in flight (R-REP-4).
        gc.collect()
        gc.freeze()
        log.info("serving the %s environment of %s", rt.env, home)
        try:
            yield
        finally:
            app.state.runtime = None
            app.state.repository = None
            await run_in_threadpool(rt.close)

    app = FastAPI(
        title=TITLE,
        version=VERSION,
        summary="Certificates and revocations for Authorised Subscribers (SEC Section L4).",
        lifespan=lifespan,
        **_without_open_telemetry(),
    )
    app.state.metrics = registry
    app.state.runtime = None
    app.state.repository = None
    install_problem_handlers(app)
    # Added first, so it runs inside the recorder: its responses are timed too (R-REP-4).
    app.add_middleware(FastLookups)
    app.add_middleware(FastCertificates)
    app.add_middleware(RequestRecorder, metrics=registry)
    app.include_router(certificates.router)
    app.include_router(revocations.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(batches.create_router())
    app.include_router(crl_schedule.create_router())  # lists reissued on schedule (R-REP-5)
    app.include_router(create_repository_router())  # /repository/v1 (R-REP-2..4)
    app.include_router(portal.create_router())  # pages for people (R-REP-7)
    return app


def app_from_environment() -> FastAPI:
    """The uvicorn factory of ``smki serve``: ``SMKI_HOME`` and optional ``SMKI_ENV``."""
    home = os.environ.get(HOME_ENV)
    if not home:
        raise ConfigError(f"{HOME_ENV} is not set: which home should be served?")
    env_name = os.environ.get(ENVIRONMENT_ENV) or None
    try:
        env = Environment(env_name) if env_name is not None else None
    except ValueError:
        raise ConfigError(f"{ENVIRONMENT_ENV} must be test or live", code="bad-option") from None
    return create_app(Path(home), env)
