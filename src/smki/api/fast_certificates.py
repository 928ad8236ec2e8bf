"""Single CSRs without the framework's per-request machinery (R-SI-1, R-PERF-1).

``POST /smki/v1/certificates`` is the Service Interface's busiest request. Routing, dependency
solving and the exception middleware cost a good part of what answering it costs, so this ASGI
middleware (inside the request recorder, so every response is still recorded and an
unexpected failure still answered ``internal``) takes exactly that method and path, with no
query (the route ignores one; a query is how the tests reach the route), and calls
what the FastAPI route calls: ``certificates.answer_certificate_request``, with refusals
rendered by ``problems.error_response``, the application's own handler. The answer is the same
byte for byte; the route stays for the OpenAPI description, and answers while the service is
starting or stopping (``not-ready``).
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from smki.api.certificates import CERTIFICATES_PATH, answer_certificate_request
from smki.api.problems import error_response
from smki.api.recording import RouteTemplate
from smki.api.runtime import Runtime
from smki.errors import SmkiError

_ROUTE: Final = RouteTemplate(CERTIFICATES_PATH)


class FastCertificates:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") == CERTIFICATES_PATH
            and not scope.get("query_string")
        ):
            runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
            if isinstance(runtime, Runtime):
                scope["route"] = _ROUTE
                request = Request(scope, receive)
                try:
                    response = await answer_certificate_request(runtime, request)
                except SmkiError as error:
                    response = error_response(request, error)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
