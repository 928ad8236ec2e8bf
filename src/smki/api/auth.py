"""The ARO behind a request (R-IKI-1, R-PART-2): a FastAPI dependency.

The bearer token's audience is the request path without its query string (docs/aro-token.md);
``smki.ra.authentication.authenticate`` checks the token against the store, then that the ARO
is still appointed and its party still an Authorised Subscriber (SREPT on Live). Failures are
``Unauthenticated`` (401) or ``Forbidden`` (403), turned into problems by ``problems``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from smki.api.recording import STATE_PARTY_ID
from smki.api.runtime import RuntimeDep
from smki.ra.authentication import (
    AuthenticatedAro,
    authenticate,
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
