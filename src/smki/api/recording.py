"""Receipt and response times of every request (R-PERF-1), metrics and one log line (R-X-3).

A pure ASGI middleware, outermost of the application's own: it notes the receipt time, lets
the request run, and when the last byte of the response has been handed to the server it
records the response time — as a JSON line on the ``smki.api.requests`` logger and in the
metrics. It is also the last line of defence: an exception nothing else handled becomes a
500 problem with code ``internal`` (logged with its traceback, never returned).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smki.api.metrics import Metrics
from smki.api.problems import STATE_PROBLEM_CODE, internal_error_response

log = logging.getLogger("smki.api")
request_log = logging.getLogger("smki.api.requests")

#: Where handlers put the authenticated party, for the log line.
STATE_PARTY_ID: Final = "smki_party_id"
REQUEST_ID_HEADER: Final = "X-Request-Id"
_UNMATCHED: Final = "unmatched"
#: Built once: json.dumps with options builds an encoder on every call.
_LINE_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))


class RouteTemplate:
    """What a path answered without the framework's router puts in ``scope["route"]``, as
    the router would: the template the recorder labels the request with."""

    def __init__(self, path: str) -> None:
        self.path = path


def _endpoint(scope: Scope) -> str:
    """The route template (``/smki/v1/certificates``), never the raw path: bounded labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class RequestRecorder:
    """Records every HTTP request; see the module docstring."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received_at = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        request_id = secrets.token_hex(16)
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        response_started = False
        self.metrics.in_flight.add(1)

        async def send_recorded(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            log.exception(
                "unexpected failure in %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if response_started:
                # Headers are out: nothing to do but let the server drop the connection.
                raise
            state[STATE_PROBLEM_CODE] = "internal"
            await internal_error_response()(scope, receive, send_recorded)
        finally:
            self.metrics.in_flight.add(-1)
            self._record(scope, state, request_id, received_at, started, status)

    def _record(
        self,
        scope: Scope,
        state: dict[str, Any],
        request_id: str,
        received_at: dt.datetime,
        started: float,
        status: int,
    ) -> None:
        elapsed = time.perf_counter() - started
        responded_at = received_at + dt.timedelta(seconds=elapsed)
        endpoint = _endpoint(scope)
        method = str(scope.get("method", ""))
        code = state.get(STATE_PROBLEM_CODE)
        self.metrics.requests.inc(endpoint, method, str(status))
        self.metrics.latency.observe(elapsed, endpoint)
        if code is not None:
            self.metrics.problems.inc(str(code))
        party = state.get(STATE_PARTY_ID)
        request_log.info(
            _LINE_ENCODER.encode(
                {
                    "event": "request",
                    "request_id": request_id,
                    "method": method,
                    "endpoint": endpoint,
                    "path": scope.get("path", ""),
                    "status": status,
                    "code": code,
                    "party_id": party,
                    "received_at": _iso(received_at),
                    "responded_at": _iso(responded_at),
                    "duration_ms": round(elapsed * 1000, 3),
                }
            )
        )
