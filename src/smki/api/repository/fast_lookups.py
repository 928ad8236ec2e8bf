"""The repository's two hot look-ups without the framework's per-request machinery (R-REP-4).

Relying parties look certificates up by serial and by EUI-64 far more often than anything
else, and the SEC standard is measured on them. Routing, dependency solving and two thread
hops cost several times the look-up itself, so this ASGI middleware (inside the request
recorder, so every response time is still recorded) answers exactly these requests itself:

- ``GET /repository/v1/certificates/{serial}`` with no query and a JSON (or no) ``Accept``;
- ``GET /repository/v1/certificates?eui=…`` and nothing else in the query;

with the same session check, the same Catalogue and the same JSON as the FastAPI handlers in
``certificates``. Anything else — another form, another parameter, and every refusal (no
session, a bad EUI-64, no such certificate) — goes on to the FastAPI application, which
answers it (problem+json included) exactly as it always does: this path only ever answers
success, so it cannot answer differently from the documented interface.

A look-up by an indexed key reads one row in a fraction of a millisecond, less than handing it
to a thread would cost, so it runs on the event loop; look-ups that arrive together are read
together, one statement for all (``lookup_batches``).
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from smki.api.metrics import Metrics
from smki.api.recording import STATE_PARTY_ID, RouteTemplate
from smki.api.repository.certificates import CERTIFICATES_PATH
from smki.api.repository.deps import (
    SESSION_COOKIE,
    STATE_ATTRIBUTE,
    RepositoryState,
    presented_secret,
)
from smki.api.repository.negotiation import JSON
from smki.errors import SmkiError
from smki.repository.catalogue import SERIAL_READ_LIMIT
from smki.repository.search import parse_query, parse_serial
from smki.storage.api import point_field

_PREFIX: Final = CERTIFICATES_PATH + "/"
_JSON_ACCEPTS: Final = frozenset({"", "*/*", JSON, "application/*"})
#: As JSONResponse renders, built once (json.dumps with options builds one per call).
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


_BY_SERIAL: Final = RouteTemplate(CERTIFICATES_PATH + "/{serial}")
_SEARCH: Final = RouteTemplate(CERTIFICATES_PATH)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class FastLookups:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET":
            answer = await self._answer(scope)
            if answer is not None:
                await _send_json(send, answer)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> dict[str, Any] | None:
        path: str = scope.get("path", "")
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        if path.startswith(_PREFIX) and not query:
            accept = (_header(scope, b"accept") or "").strip().lower()
            if accept not in _JSON_ACCEPTS:
                return None
            route, serial = _BY_SERIAL, path[len(_PREFIX) :]
            if not serial or "/" in serial:
                return None
            eui = None
        elif path == CERTIFICATES_PATH and query.startswith("eui="):
            pairs = parse_qsl(query, keep_blank_values=True)
            if len(pairs) != 1 or pairs[0][0] != "eui":
                return None
            route, serial, eui = _SEARCH, "", pairs[0][1]
        else:
            return None
        app = scope.get("app")
        repo = getattr(getattr(app, "state", None), STATE_ATTRIBUTE, None)
        if not isinstance(repo, RepositoryState):
            return None
        try:
            secret = presented_secret(
                _header(scope, b"authorization"),
                cookie_parser(_header(scope, b"cookie") or "").get(SESSION_COOKIE),
            )
            reader = repo.sessions.reader(secret)
            answer: dict[str, Any]
            if eui is None:
                number = parse_serial(serial)
                listed = await repo.lookups.look_up("serial", number, SERIAL_READ_LIMIT)
                # Not found and ambiguous raise here and fall through, like every refusal.
                answer = repo.catalogue.found(number, listed).view.as_json()
            else:
                search = parse_query(authorities={}, eui=eui)
                if point_field(search.wanted) != "eui" or search.after_id:
                    return None
                listed = await repo.lookups.look_up("eui", search.wanted.eui, search.limit + 1)
                page = repo.catalogue.page(listed, search.limit)
                answer = {
                    "items": [item.as_json() for item in page.items],
                    "next_cursor": page.next_cursor,
                }
        except SmkiError:
            return None  # the application answers refusals, exactly as documented
        scope["route"] = route
        scope.setdefault("state", {})[STATE_PARTY_ID] = reader.party_id
        metrics = getattr(getattr(app, "state", None), "metrics", None)
        if isinstance(metrics, Metrics):
            metrics.fast_lookups.inc(route.path)
        return answer


async def _send_json(send: Send, answer: dict[str, Any]) -> None:
    # As JSONResponse renders it, byte for byte.
    body = _ENCODER.encode(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Accept"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
