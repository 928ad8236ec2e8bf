"""The ARO behind a request (R-IKI-1, R-PART-2): a FastAPI dependency.

The bearer token's audience is the request path without its query string (docs/aro-token.md);
``smki.ra.authentication.authenticate`` checks the token against the store, then that the ARO
is still appointed and its party still an Authorised Subscriber (SREPT on Live). Failures are
``Unauthenticated`` (401) or ``Forbidden`` (403), turned into problems by ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from smki.api.recording import STATE_PARTY_ID
from smki.api.runtime import RuntimeDep
from smki.ra.authentication import (
    AuthenticatedAro,
    TokenUse,
    authenticate,
    authenticate_reading,
)

#: Only for the OpenAPI description (a security scheme); the header is read and checked below.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="aroToken",
    bearerFormat="JWT",
    description="An ES256 ARO token for this request path, one per request (docs/aro-token.md).",
)


async def authenticated_aro(
    request: Request,
    rt: RuntimeDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> AuthenticatedAro:
    """Authenticate the request's ARO. Its database work runs in a worker thread, never on
    the event loop, within the runtime's bound on concurrent work (``WorkLimiter``)."""
    aro = await rt.work.run(
        authenticate,
        rt.services.store,
        rt.services.clock,
        rt.env,
        request.headers.get("authorization"),
        request.url.path,
    )
    request.scope.setdefault("state", {})[STATE_PARTY_ID] = aro.party.id
    return aro


AroDep = Annotated[AuthenticatedAro, Depends(authenticated_aro)]


@dataclass(frozen=True)
class PendingAro:
    """An authenticated ARO whose token is not used up yet: the handler records it in its
    first write (``token.record``) or burns it when the request is refused (``token.burn``)."""

    aro: AuthenticatedAro
    token: TokenUse


async def pending_aro(
    request: Request,
    rt: RuntimeDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> PendingAro:
    """``authenticated_aro`` from a read-only snapshot: the token's id is checked, not yet
    recorded, so authentication takes no write lock and waits for no commit (R-PERF-1)."""
    aro, token = await rt.work.run(
        authenticate_reading,
        rt.services.store,
        rt.services.clock,
        rt.env,
        request.headers.get("authorization"),
        request.url.path,
    )
    request.scope.setdefault("state", {})[STATE_PARTY_ID] = aro.party.id
    return PendingAro(aro, token)


PendingAroDep = Annotated[PendingAro, Depends(pending_aro)]
