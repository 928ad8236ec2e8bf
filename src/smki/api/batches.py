"""Batched CSRs (R-SI-2): ``/smki/v1/batches``.

- ``POST /smki/v1/batches``: 2 to 50,000 Device CSRs as concatenated PEM
  (``application/x-pem-file``). Accepted or refused whole at intake (size, format,
  authorisation; nothing is stored for a refusal): ``202`` with the batch id, count and SEC
  deadline, and ``Location`` to poll.
- ``GET /smki/v1/batches/{id}``: its state (``accepted`` | ``issuing`` | ``done`` |
  ``failed``), counts, deadline, and a precise error per refused CSR, by input index. With
  ``?wait=S`` (up to 30 seconds) the answer waits until the batch is finished or S seconds
  have passed, whichever comes first: a client learns of the end at once without polling,
  each poll being an authenticated request that costs the service more than the wait does.
- ``GET /smki/v1/batches/{id}/certificates``: the certificates issued, in input order, as one
  PEM bundle (once the batch is finished).

Only an ARO of the batch's party may read it (403 ``not-your-batch``).

Issuance runs in this process: ``create_router()`` carries a lifespan that FastAPI merges into
the application's (``include_router``), so **app.py needs nothing beyond
``app.include_router(batches.create_router())``**. It runs inside the application's lifespan —
after ``app.state.runtime`` is set, before the services close — and starts a ``BatchRunner``
for the environment served (a background thread, whose first act is to start its signing pool,
so that the first batch does not wait for worker processes to spawn), then stops it
gracefully. ``startup(app)`` and ``shutdown(app)`` are the same steps for an
application that prefers to call them itself (then ``create_router(run_issuance=False)``).
Every worker of ``smki serve --workers N`` runs one; batch leases keep them apart (R-X-2).

Environment: ``SMKI_BATCH_RUNNER=off`` serves the endpoints without issuing (another process
issues); ``SMKI_BATCH_PROCESSES=N`` sizes the signing pool (default: one per core, at least 2).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from smki.api.auth import AroDep
from smki.api.bodies import read_body, require_media_type
from smki.api.problems import problem_responses
from smki.api.runtime import Runtime, RuntimeDep
from smki.ca.pool import default_processes
from smki.errors import Conflict, Forbidden, NotFound
from smki.profiles.kinds import Pki
from smki.ra.authentication import AuthenticatedAro
from smki.ra.batch_intake import MAX_BODY_BYTES, submit_batch
from smki.ra.batches import BatchRunner
from smki.storage.api import BatchItemError, BatchRow

log = logging.getLogger("smki.api")

BATCHES_PATH: Final = "/smki/v1/batches"
BATCH_PATH: Final = "/smki/v1/batches/{batch_id}"
BATCH_CERTIFICATES_PATH: Final = "/smki/v1/batches/{batch_id}/certificates"
PEM: Final = "application/x-pem-file"
RUNNER_ENV: Final = "SMKI_BATCH_RUNNER"
PROCESSES_ENV: Final = "SMKI_BATCH_PROCESSES"
_STATE_RUNNER: Final = "batch_runner"
#: The longest ``?wait=`` a status request may ask for, and how often a waiting one re-reads.
MAX_WAIT_SECONDS: Final = 30.0
_WAIT_STEP: Final = 0.1
_FINISHED: Final = frozenset({"done", "failed"})


class BatchAccepted(BaseModel):
    id: str = Field(description="The batch id (a UUID).")
    state: str = Field(examples=["accepted"])
    count: int = Field(description="The number of CSRs accepted.")
    received_at: str = Field(description="When the batch was received (UTC, ISO 8601).")
    deadline: str = Field(
        description="When the response is due (UTC, ISO 8601): 08:00 London time the next "
        "day if received 08:00–20:00 London time, else 24 hours after receipt (SEC L8)."
    )


class BatchItemProblem(BaseModel):
    index: int = Field(description="The CSR's position in the upload, from 0.")
    code: str = Field(examples=["bad-proof-of-possession"])
    detail: str


class BatchStatus(BaseModel):
    id: str
    state: str = Field(description="accepted | issuing | done | failed")
    count: int
    issued: int
    failed: int
    received_at: str
    deadline: str
    completed_at: str | None
    errors: list[BatchItemProblem]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# -- issuance in this process -------------------------------------------------------------------


def make_runner(rt: Runtime) -> BatchRunner:
    """The runner for the environment ``rt`` serves, with its Issuing DCA."""
    services = rt.services
    processes = int(os.environ.get(PROCESSES_ENV) or 0) or max(2, default_processes())
    # At least two: a one-process pool signs in this process with module-level state.
    return BatchRunner(
        services.store,
        services.clock,
        services.issuing_authority(rt.env, Pki.DEVICE),
        services.linter(rt.env),
        services.actor,
        keystore=services.keystore_spec(),
        processes=max(2, processes),
        prestart_pool=True,
    )


async def startup(app: FastAPI) -> None:
    """Start this process's batch runner (after the application's runtime is open)."""
    if os.environ.get(RUNNER_ENV, "on").lower() in ("off", "0", "false", "no"):
        log.info("batch issuance is off in this process (%s)", RUNNER_ENV)
        return
    rt = getattr(app.state, "runtime", None)
    if not isinstance(rt, Runtime):
        log.warning("no runtime: batch issuance not started")
        return
    runner = await run_in_threadpool(make_runner, rt)
    await run_in_threadpool(runner.start)  # recovers pending intents first: database work
    setattr(app.state, _STATE_RUNNER, runner)
    log.info("batch runner %s started for the %s environment", runner.owner, rt.env)


async def shutdown(app: FastAPI) -> None:
    """Stop this process's batch runner: the slice in hand is finished, its lease released."""
    runner = getattr(app.state, _STATE_RUNNER, None)
    if isinstance(runner, BatchRunner):
        setattr(app.state, _STATE_RUNNER, None)
        await run_in_threadpool(runner.stop)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await startup(app)
    try:
        yield
    finally:
        await shutdown(app)


def runner_of(app: FastAPI) -> BatchRunner | None:
    """This process's batch runner, when it runs one."""
    runner = getattr(app.state, _STATE_RUNNER, None)
    return runner if isinstance(runner, BatchRunner) else None


def _wake_runner(request: Request) -> None:
    runner = runner_of(request.app)
    if runner is not None:
        runner.wake()


# -- reading ------------------------------------------------------------------------------------


def _batch_of(rt: Runtime, aro: AuthenticatedAro, batch_id: str) -> BatchRow:
    """The batch, if it is the ARO's party's; 404 ``unknown-batch``, 403 ``not-your-batch``."""
    try:
        canonical = str(uuid.UUID(batch_id))
    except ValueError:
        canonical = None
    row = None
    if canonical is not None:
        with rt.services.store.reading() as tx:
            row = tx.batch(canonical)
    if row is None or row.env != rt.env:
        raise NotFound("there is no such batch", code="unknown-batch", rid="R-SI-2")
    if row.party_id != aro.party.id:
        raise Forbidden("the batch was sent by another party", code="not-your-batch", rid="R-SI-2")
    return row


def batch_status(rt: Runtime, aro: AuthenticatedAro, batch_id: str) -> BatchStatus:
    row = _batch_of(rt, aro, batch_id)
    with rt.services.store.reading() as tx:
        issued, failed, _ = tx.batch_counts(row.id)
        # The counters are kept with the items: no errors, no need to look for them.
        errors: list[BatchItemError] = tx.batch_errors(row.id) if failed else []
    return BatchStatus(
        id=row.id,
        state=row.state,
        count=row.count,
        issued=issued,
        failed=failed,
        received_at=_iso(row.received_at),
        deadline=_iso(row.deadline),
        completed_at=None if row.completed_at is None else _iso(row.completed_at),
        errors=[BatchItemProblem(index=e.index, code=e.code, detail=e.detail) for e in errors],
    )


def batch_bundle(rt: Runtime, aro: AuthenticatedAro, batch_id: str) -> bytes:
    row = _batch_of(rt, aro, batch_id)
    if row.state not in ("done", "failed"):
        raise Conflict(
            f"batch {row.id} is {row.state}; its certificates are served once it is done",
            code="batch-not-finished",
            rid="R-SI-2",
        )
    with rt.services.store.reading() as tx:
        ders = tx.batch_certificates(row.id)
    return b"".join(pem_certificate(der) for der in ders)


def pem_certificate(der: bytes) -> bytes:
    """RFC 7468 PEM of a certificate we issued and checked (R-CA-4): base64 in 64-character
    lines, as cryptography writes it, without parsing the DER again (50,000 per bundle)."""
    body = base64.b64encode(der)
    lines = b"\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


# -- the router ---------------------------------------------------------------------------------


def create_router(*, run_issuance: bool = True) -> APIRouter:
    """The batch endpoints; with ``run_issuance`` also the lifespan that runs the runner."""
    router = APIRouter(tags=["batches"], lifespan=_lifespan if run_issuance else None)

    @router.post(
        BATCHES_PATH,
        status_code=202,
        response_model=BatchAccepted,
        summary="Send a Batched CSR: 2 to 50,000 Device CSRs (R-SI-2)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "Concatenated PEM CERTIFICATE REQUEST blocks, at most 40 MiB.",
                "content": {PEM: {"schema": {"type": "string"}}},
            }
        },
        responses={
            202: {
                "description": "Accepted whole; poll Location.",
                "headers": {"Location": {"description": "The batch", "schema": {"type": "string"}}},
            },
            **problem_responses(400, 401, 403, 413, 415, 422, 503),
        },
    )
    async def submit(
        request: Request, response: Response, rt: RuntimeDep, aro: AroDep
    ) -> BatchAccepted:
        """Accept the batch whole (or refuse it whole, storing nothing)."""
        require_media_type(request, PEM)
        body = await read_body(request, MAX_BODY_BYTES)
        row = await run_in_threadpool(
            submit_batch,
            rt.services.store,
            rt.services.clock,
            rt.env,
            aro.party.id,
            aro.officer.id,
            body,
        )
        _wake_runner(request)
        response.headers["Location"] = BATCH_PATH.format(batch_id=row.id)
        return BatchAccepted(
            id=row.id,
            state=row.state,
            count=row.count,
            received_at=_iso(row.received_at),
            deadline=_iso(row.deadline),
        )

    @router.get(
        BATCH_PATH,
        response_model=BatchStatus,
        summary="A batch's state and its per-CSR errors (R-SI-2)",
        responses=problem_responses(401, 403, 404, 503),
    )
    async def status(
        request: Request,
        batch_id: str,
        rt: RuntimeDep,
        aro: AroDep,
        wait: Annotated[
            float,
            Query(
                ge=0,
                le=MAX_WAIT_SECONDS,
                description="Seconds to wait for the batch to finish before answering (0–30).",
            ),
        ] = 0,
    ) -> BatchStatus:
        deadline = time.monotonic() + wait
        # The caller was authenticated once. While it waits, only the batch's row is read (its
        # state, and that it is still the party's): the counts and errors once, at the end.
        row = await run_in_threadpool(_batch_of, rt, aro, batch_id)
        while row.state not in _FINISHED and time.monotonic() < deadline:
            if await request.is_disconnected():
                break
            await asyncio.sleep(min(_WAIT_STEP, max(0.0, deadline - time.monotonic())))
            row = await run_in_threadpool(_batch_of, rt, aro, batch_id)
        return await run_in_threadpool(batch_status, rt, aro, batch_id)

    @router.get(
        BATCH_CERTIFICATES_PATH,
        response_class=Response,
        summary="A finished batch's certificates, in input order, as one PEM bundle (R-SI-2)",
        responses={
            200: {"description": "PEM certificates", "content": {PEM: {}}},
            **problem_responses(401, 403, 404, 409, 503),
        },
    )
    async def certificates(batch_id: str, rt: RuntimeDep, aro: AroDep) -> Response:
        bundle = await run_in_threadpool(batch_bundle, rt, aro, batch_id)
        return Response(bundle, media_type=PEM)

    return router
