"""Signing in to and out of the repository (R-REP-3).

``POST /repository/v1/sessions`` takes an ARO token made for that path (docs/aro-token.md),
checks it and the reader's right to read (``smki.repository.sessions.sign_in``: SREPT on
Live, identity verified, ARO appointed, credential not revoked) and answers ``201`` with a
session secret shown this once; only its SHA-256 is stored. ``DELETE
/repository/v1/sessions/current`` ends the session presented. Both are audited by the domain.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from smki.api.auth import bearer_scheme
from smki.api.problems import problem_responses
from smki.api.recording import STATE_PARTY_ID
from smki.api.repository.deps import (
    SESSION_COOKIE,
    RepositoryDep,
    presented_secret,
    session_cookie_scheme,
    session_scheme,
)
from smki.ra.repository_access import Reader
from smki.repository.sessions import sign_in

SESSIONS_PATH: Final = "/repository/v1/sessions"
CURRENT_SESSION_PATH: Final = SESSIONS_PATH + "/current"

router = APIRouter(tags=["repository"])


class ReaderAnswer(BaseModel):
    kind: str = Field(examples=["sec-party"], description="sec-party, sec-panel, smki-pma, dcc")
    environment: str = Field(examples=["test"])
    party_id: int
    party_name: str
    officer_id: int = Field(description="The ARO who signed in.")

    @classmethod
    def of(cls, reader: Reader) -> ReaderAnswer:
        return cls(
            kind=reader.kind.value,
            environment=reader.env.value,
            party_id=reader.party_id,
            party_name=reader.party_name,
            officer_id=reader.officer_id,
        )


class SessionAnswer(BaseModel):
    session: str = Field(
        description="The session secret: send it as `Authorization: Bearer <secret>`.",
        examples=["smkis_…"],
    )
    expires_at: str = Field(examples=["2026-01-05T10:00:00Z"])
    reader: ReaderAnswer


@router.post(
    SESSIONS_PATH,
    status_code=201,
    response_model=SessionAnswer,
    summary="Sign in to the repository with an ARO token (R-REP-3)",
    responses=problem_responses(401, 403, 503),
)
def open_session(
    request: Request,
    response: Response,
    repo: RepositoryDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> SessionAnswer:
    """A session for the ARO behind the token (audience: this path), if its party or body may
    read the repository. Sync: FastAPI runs it in its threadpool (it writes to the store)."""
    signed = sign_in(
        repo.store,
        repo.clock,
        repo.env,
        request.headers.get("authorization"),
        request.url.path,
    )
    request.scope.setdefault("state", {})[STATE_PARTY_ID] = signed.reader.party_id
    # The body holds a secret: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return SessionAnswer(
        session=signed.secret,
        expires_at=signed.expires_at.isoformat().replace("+00:00", "Z"),
        reader=ReaderAnswer.of(signed.reader),
    )


@router.delete(
    CURRENT_SESSION_PATH,
    status_code=204,
    response_class=Response,
    summary="Sign out: end the session presented (R-REP-3)",
    responses=problem_responses(401, 503),
)
def close_session(
    request: Request,
    repo: RepositoryDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(session_scheme)],
    _cookie: Annotated[str | None, Security(session_cookie_scheme)],
) -> Response:
    """End the session; 401 ``session-invalid`` if it is not open."""
    secret = presented_secret(
        request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )
    repo.sessions.sign_out(secret)
    return Response(status_code=204)
