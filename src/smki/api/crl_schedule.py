"""The CRL and ARL schedule of a serving process (R-REP-5): a background thread that reissues
every list before its nextUpdate (``smki.ca.crl_schedule``).

Each process of ``smki serve`` runs one; they may race on one database, which the schedule
resolves (the loser skips). ``SMKI_CRL_SCHEDULE`` sets the seconds between checks (default
300; ``off`` or ``0`` disables it, e.g. when another host keeps the schedule). The first check
runs at start-up, so a service that was down past a nextUpdate republishes at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from smki.api.runtime import Runtime
from smki.ca.crl_schedule import reissue_due_lists
from smki.errors import ConfigError, SmkiError

log = logging.getLogger("smki.api")

SCHEDULE_ENV: Final = "SMKI_CRL_SCHEDULE"
DEFAULT_SECONDS: Final = 300.0
_STATE: Final = "smki_crl_schedule"


def schedule_seconds() -> float | None:
    """Seconds between checks from the environment; None when the schedule is off."""
    text = os.environ.get(SCHEDULE_ENV, "").strip().lower()
    if text in ("off", "0", "false", "no"):
        return None
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(
            f"{SCHEDULE_ENV} must be a number of seconds or off", code="bad-option"
        ) from None
    return seconds if seconds > 0 else None


class CrlSchedule:
    """Checks, then sleeps ``seconds``, until stopped."""

    def __init__(self, rt: Runtime, seconds: float) -> None:
        self._rt = rt
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smki-crl-schedule", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def check(self) -> None:
        services = self._rt.services
        reissued = reissue_due_lists(
            services.store,
            services.clock,
            services.config.crl_period,
            services.authority_loader(self._rt.env),
            self._rt.env,
            "smki-serve:crl-schedule",
        )
        for item in reissued:
            log.info(
                "%s %s number %d issued on schedule", item.authority, item.list_kind, item.number
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except SmkiError as error:
                # The next check tries again; a list past its nextUpdate is refused by relying
                # parties (stale), never silently extended.
                log.error("scheduled CRL reissue failed: %s", error)
            self._stop.wait(self._seconds)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    seconds = schedule_seconds()
    rt = getattr(app.state, "runtime", None)
    schedule = None
    if seconds is not None and isinstance(rt, Runtime):
        schedule = CrlSchedule(rt, seconds)
        await run_in_threadpool(schedule.start)
        setattr(app.state, _STATE, schedule)
    try:
        yield
    finally:
        if schedule is not None:
            await run_in_threadpool(schedule.stop)


def create_router() -> APIRouter:
    """No endpoints: only the lifespan that runs the schedule beside the application's."""
    return APIRouter(lifespan=_lifespan)
