"""The portal's router: every page under ``/portal/`` (R-REP-7), included by the application.

``create_router()`` gathers sign-in, the pages, the downloads, the stylesheet and, last, a
catch-all that answers any other ``/portal/…`` GET with an HTML "no such page" (or the sign-in
page, for a browser without a session) rather than the API's problem+json.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smki.ra.repository_access import Reader
from smki.web import downloads, pages, signin
from smki.web.context import PortalServices
from smki.web.rendering import not_found_page, secured
from smki.web.session import signed_in

PREFIX: Final = "/portal"
STYLESHEET: Final = files("smki.web").joinpath("static", "portal.css").read_bytes()


def _stylesheet() -> Response:
    """The one stylesheet, same origin (the CSP allows nothing else); no session needed."""
    response = Response(STYLESHEET, media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return secured(response)


def _no_such_page(request: Request, rest: str) -> Response:
    def page(services: PortalServices, reader: Reader) -> Response:
        return not_found_page(reader)

    return signed_in(request, page)


def create_router() -> APIRouter:
    """All portal routes under ``/portal``; pages for people, so none is in the OpenAPI."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    router.add_api_route("/static/portal.css", _stylesheet, methods=["GET"])
    for part in (signin.router, pages.router, downloads.router):
        router.include_router(part)
    router.add_api_route("/{rest:path}", _no_such_page, methods=["GET"])
    return router
