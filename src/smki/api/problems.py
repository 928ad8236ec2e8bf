"""The HTTP edge's one table from errors to problem+json responses (RFC 9457, STYLE.md).

Every refusal the service gives is ``application/problem+json``::

    {"type": "urn:smki:problem:<code>", "title": "...", "status": 403,
     "detail": "...", "code": "<code>", "rid": "R-PART-3"}

``code`` is the stable :class:`smki.errors.SmkiError` code (docs/errors.md); ``rid`` names the
requirement the refusal enforces. The status comes from the error's family, with a few codes
overriding it (``CODE_STATUS``). Server-side failures (5xx) keep their code but get a generic
detail: the real one is logged, never returned. Anything that is not an ``SmkiError`` is a
500 with code ``internal`` and no detail at all (``internal_error_response``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from smki.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InputError,
    IntegrityError,
    KeyStoreError,
    MalformedInput,
    NotFound,
    SmkiError,
    StorageError,
    Unauthenticated,
)

log = logging.getLogger("smki.api")

PROBLEM_JSON: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:smki:problem:"
#: Where the request-recording middleware finds the code of the problem a request got.
STATE_PROBLEM_CODE: Final = "smki_problem_code"

#: Error family → HTTP status, most specific first (the first ``isinstance`` match wins).
FAMILY_STATUS: Final[tuple[tuple[type[SmkiError], int], ...]] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (MalformedInput, 400),
    (InputError, 422),
    (NotFound, 404),
    (Conflict, 409),
    (ConfigError, 503),
    (KeyStoreError, 503),
    (StorageError, 503),
    (IntegrityError, 500),
    (SmkiError, 500),
)

#: Codes whose status is not their family's: the input could not be read at all (400), or the
#: refusal is about the HTTP exchange itself rather than its content.
CODE_STATUS: Final[Mapping[str, int]] = {
    "malformed-csr": 400,
    "malformed-request": 400,
    "bad-serial": 400,
    # A repository GET whose query or path parameter cannot be read (R-REP-2, R-REP-5,
    # R-DOC-1): the request's URL itself is wrong, as a malformed body is for a POST, so 400
    # and not the 422 of a well-formed request that the rules refuse.
    "bad-eui": 400,
    "bad-role": 400,
    "bad-usage": 400,
    "bad-status": 400,
    "bad-issuer": 400,
    "bad-kind": 400,
    "bad-limit": 400,
    "bad-cursor": 400,
    "bad-format": 400,
    "bad-number": 400,
    "bad-document-kind": 400,
    "not-acceptable": 406,
    "too-large": 413,
    "unsupported-media-type": 415,
}

#: Starlette's own refusals (no route, wrong method, …) → our code.
HTTP_STATUS_CODE: Final[Mapping[int, str]] = {
    404: "not-found",
    405: "method-not-allowed",
}

_SERVER_SIDE_DETAIL: Final = "the service could not complete the request; try again later"
_INTERNAL_DETAIL: Final = "unexpected failure; the operator has the details"


class Problem(BaseModel):
    """An RFC 9457 problem document as smki writes it (for the OpenAPI description)."""

    type: str = Field(examples=["urn:smki:problem:entity-id-not-held"])
    title: str = Field(examples=["Forbidden"])
    status: int = Field(examples=[403])
    detail: str = Field(examples=["EUI-64 90B3D51F30020000 is not one of the party's ..."])
    code: str = Field(examples=["entity-id-not-held"], description="stable, see docs/errors.md")
    rid: str = Field(examples=["R-PART-3"], description="the requirement the refusal enforces")


def status_for(error: SmkiError) -> int:
    """The HTTP status of ``error``: its code's override, else its family's."""
    if error.code in CODE_STATUS:
        return CODE_STATUS[error.code]
    return next(status for family, status in FAMILY_STATUS if isinstance(error, family))


def problem_response(
    status: int,
    code: str,
    detail: str,
    rid: str = "",
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "rid": rid,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def error_response(request: Request, error: SmkiError) -> JSONResponse:
    """The problem document for an smki error (the one table: ``status_for``)."""
    status = status_for(error)
    _remember(request, error.code)
    detail = error.detail
    if status >= 500:
        # Configuration, key store, storage and integrity failures are the operator's to see.
        log.error("request %s %s failed: %s", request.method, request.url.path, error)
        detail = _SERVER_SIDE_DETAIL
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(status, error.code, detail, error.rid, headers)


def internal_error_response() -> JSONResponse:
    """An unexpected exception: code ``internal`` and nothing about its cause."""
    return problem_response(500, "internal", _INTERNAL_DETAIL)


def _remember(request: Request, code: str) -> None:
    request.scope.setdefault("state", {})[STATE_PROBLEM_CODE] = code


async def _smki_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SmkiError)
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODE.get(exc.status_code, f"http-{exc.status_code}")
    _remember(request, code)
    detail = HTTPStatus(exc.status_code).description or HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only the location and the message: pydantic's errors also quote the input.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()
    )
    _remember(request, "malformed-request")
    return problem_response(400, "malformed-request", problems or "the request is malformed")


def install_problem_handlers(app: FastAPI) -> None:
    """Make every smki error and every framework refusal a problem+json response."""
    app.add_exception_handler(SmkiError, _smki_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problems an operation can answer with."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }
