"""Signing in and out of the portal (R-REP-3, R-REP-7).

``GET /portal/`` shows the sign-in form: the reader pastes an ARO token made for the audience
``/portal/sign-in`` (``smki token --aud /portal/sign-in``). ``POST /portal/sign-in`` buys a
repository session with it (``smki.repository.sessions.sign_in``: the token is checked and
used up, the reader's right to read is checked, the sign-in is audited), sets the session
cookie and sends the browser to the search page. A refused token shows the page again with the
refusal's code and detail, status 401 or 403. ``POST /portal/sign-out`` ends the session.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from smki.api.bodies import read_body, require_media_type
from smki.errors import Forbidden, SmkiError, Unauthenticated
from smki.repository.sessions import DEFAULT_LIFETIME, sign_in
from smki.web.context import portal_services
from smki.web.forms import (
    FORM_MEDIA_TYPE,
    MAX_SIGN_IN_OCTETS,
    SEARCH_PATH,
    SIGN_IN_PATH,
    require_same_site,
    sign_in_token,
)
from smki.web.rendering import error_page, redirect, render, shown_detail
from smki.web.session import (
    clear_session_cookie,
    cookie_secret,
    ended_reason,
    set_session_cookie,
    sign_in_url,
)

SESSION_LIFETIME: Final = DEFAULT_LIFETIME
SIGNED_OUT: Final = "signed-out"
#: What the sign-in page says when a session ended, by the code it ended with.
ENDED_MESSAGES: Final = {
    SIGNED_OUT: "You are signed out.",
    "session-expired": "Your session expired; sign in again.",
}

router = APIRouter()


def _sign_in_page(
    request: Request, *, status: int = 200, code: str = "", detail: str = ""
) -> Response:
    ended = ended_reason(request) if not code else None
    return render(
        "sign_in.html",
        reader=None,
        status=status,
        audience=SIGN_IN_PATH,
        code=code,
        detail=detail,
        ended=ended,
        ended_message=ENDED_MESSAGES.get(ended or "", ""),
    )


@router.get("/")
def sign_in_form(request: Request) -> Response:
    """The sign-in page; a reader with a valid session goes straight to the search."""
    try:
        services = portal_services(request)
        secret = cookie_secret(request)
        if secret is not None:
            services.sessions.reader(secret)
            return redirect(SEARCH_PATH)
    except (Unauthenticated, Forbidden):
        pass  # no valid session: sign in
    except SmkiError as error:
        return error_page(request, None, error)
    return _sign_in_page(request)


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    """Buy a session with the pasted ARO token (R-REP-3); 303 to the search page."""
    try:
        require_same_site(request.headers)
        require_media_type(request, FORM_MEDIA_TYPE)
        token = sign_in_token(await read_body(request, MAX_SIGN_IN_OCTETS))
        services = portal_services(request)
        signed = await run_in_threadpool(
            sign_in,
            services.store,
            services.clock,
            services.env,
            f"Bearer {token}",
            SIGN_IN_PATH,
            SESSION_LIFETIME,
        )
    except SmkiError as error:
        status, detail = shown_detail(request, error)
        return _sign_in_page(request, status=status, code=error.code, detail=detail)
    response = redirect(SEARCH_PATH)
    set_session_cookie(request, response, signed.secret, int(SESSION_LIFETIME.total_seconds()))
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request) -> Response:
    """End the session (audited) and forget the cookie; 303 to the sign-in page."""
    try:
        require_same_site(request.headers)
        services = portal_services(request)
    except SmkiError as error:
        return error_page(request, None, error)
    try:
        secret = cookie_secret(request)
        if secret is not None:
            services.sessions.sign_out(secret)
    except (Unauthenticated, Forbidden):
        pass  # the session had already ended (or never was): signed out either way
    except SmkiError as error:
        return error_page(request, None, error)
    response = redirect(sign_in_url(SIGNED_OUT))
    clear_session_cookie(request, response)
    return response
