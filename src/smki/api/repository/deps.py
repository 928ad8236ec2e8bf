"""Who is reading the repository (R-REP-3): the per-process objects and the session dependency.

``open_repository`` builds, once per process (the application's lifespan), the Catalogue that
answers look-ups and the SessionBook that resolves session secrets; they live on
``app.state.repository`` so the web portal can share them (a session signed out on one side is
forgotten by the other's cache at once).

A request presents its session as ``Authorization: Bearer smkis_…`` or, for the portal's pages
and a browser following their links, as the ``smki_session`` cookie holding the same secret.
The header wins when both are present. The SessionBook caches each session's reader and
re-reads the store at most every few seconds, so a look-up costs no database read for the
session (R-REP-4) while a removed ARO or a revoked credential is still shut out promptly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from smki.api.recording import STATE_PARTY_ID
from smki.api.repository.lookup_batches import LookupBatches
from smki.api.runtime import Runtime
from smki.clock import Clock
from smki.errors import ConfigError
from smki.profiles.kinds import Environment
from smki.ra.repository_access import Reader
from smki.repository.catalogue import Catalogue
from smki.repository.relying import RepositoryValidator
from smki.repository.sessions import DEFAULT_RECHECK, SessionBook, session_secret
from smki.storage.api import Store

SESSION_COOKIE: Final = "smki_session"
#: Where the lifespan puts the RepositoryState (``app.state.repository``).
STATE_ATTRIBUTE: Final = "repository"

#: Only for the OpenAPI description; the header and the cookie are read by ``request_reader``.
session_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="repositorySession",
    bearerFormat="smkis_…",
    description="A repository session secret from POST /repository/v1/sessions.",
)
session_cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="repositorySessionCookie",
    description="The same secret in the portal's HttpOnly cookie.",
)


@dataclass(frozen=True)
class RepositoryState:
    """The repository's objects for one process and one environment."""

    store: Store
    clock: Clock
    env: Environment
    catalogue: Catalogue
    sessions: SessionBook
    validator: RepositoryValidator
    lookups: LookupBatches


def open_repository(rt: Runtime, *, recheck: dt.timedelta = DEFAULT_RECHECK) -> RepositoryState:
    """The Catalogue and SessionBook over the Runtime's store, clock and environment."""
    store, clock = rt.services.store, rt.services.clock
    catalogue = Catalogue(store, clock, rt.env)
    return RepositoryState(
        store,
        clock,
        rt.env,
        catalogue,
        SessionBook(store, clock, rt.env, recheck=recheck),
        RepositoryValidator(store, clock, rt.env, catalogue),
        LookupBatches(lambda field, keys, limit: catalogue.look_up_many(field, keys, limit=limit)),
    )


async def repository_state(request: Request) -> RepositoryState:
    """The process's RepositoryState (a FastAPI dependency; no blocking work, so ``async``);
    503 ``not-ready`` outside the lifespan."""
    value = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(value, RepositoryState):
        raise ConfigError("the repository is starting or stopping", code="not-ready")
    return value


RepositoryDep = Annotated[RepositoryState, Depends(repository_state)]


def presented_secret(authorization: str | None, cookie: str | None) -> str:
    """The session secret a request presents: the Authorization header's, else the cookie's.

    Unauthenticated ``session-missing`` when there is neither, ``session-invalid`` when what
    is there is not a session secret (R-REP-3)."""
    if authorization:
        return session_secret(authorization)
    if cookie:
        return session_secret(f"Bearer {cookie}")
    return session_secret(None)


def request_reader(request: Request, sessions: SessionBook) -> Reader:
    """The Reader of the session ``request`` presents (header or cookie). May read the store
    (at most every few seconds per session): call it from a thread, never the event loop.
    The portal uses it too."""
    secret = presented_secret(
        request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )
    reader = sessions.reader(secret)
    request.scope.setdefault("state", {})[STATE_PARTY_ID] = reader.party_id
    return reader


def current_reader(
    request: Request,
    repo: RepositoryDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(session_scheme)],
    _cookie: Annotated[str | None, Security(session_cookie_scheme)],
) -> Reader:
    """The signed-in reader (a sync dependency: FastAPI runs it in its threadpool)."""
    return request_reader(request, repo.sessions)


ReaderDep = Annotated[Reader, Depends(current_reader)]
