"""The portal's session cookie and the gate every page but sign-in goes through (R-REP-3).

Signing in (``signin.py``) buys a repository session with an ARO token; its secret travels in
the ``smki_session`` cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
page sends it), Path=/ (the JSON API at /repository/v1 accepts it too), Secure over https, and
as long-lived as the session. ``signed_in`` resolves the cookie to its Reader through the
SessionBook (which re-reads the store every few seconds, so a removed ARO is shut out) and
sends anyone without a valid session to the sign-in page, saying why when there is a reason.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Final

from fastapi import Request
from fastapi.responses import Response

from smki.api.repository.deps import SESSION_COOKIE, request_reader
from smki.errors import Forbidden, SmkiError, Unauthenticated
from smki.ra.repository_access import Reader
from smki.repository.sessions import session_secret
from smki.web.context import PortalServices, portal_services
from smki.web.rendering import error_page, redirect, secured

COOKIE: Final = SESSION_COOKIE  # "smki_session", as the JSON API reads it
#: The code of a request that presents no session at all.
NO_SESSION: Final = "session-missing"
SIGN_IN_PAGE: Final = "/portal/"
#: A reason code put in the sign-in page's URL: a stable error code, nothing else.
_REASON = re.compile(r"[a-z0-9-]{1,40}")

Page = Callable[[PortalServices, Reader], Response]


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, secret: str, seconds: int) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=seconds,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path="/", secure=is_https(request), httponly=True, samesite="strict"
    )


def cookie_secret(request: Request) -> str | None:
    """The session secret the browser sent, or None; Unauthenticated if it is not one."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    # The same shape checks as a Bearer session on the JSON API (prefix, length).
    return session_secret(f"Bearer {value}")


def sign_in_url(reason: str | None = None) -> str:
    """The sign-in page, saying why the reader is there when ``reason`` is an error code."""
    code = ended_reason_of(reason or "")
    if code is None:
        return SIGN_IN_PAGE
    return f"{SIGN_IN_PAGE}?{urllib.parse.urlencode({'ended': code})}"


def ended_reason_of(text: str) -> str | None:
    """The reason code in a sign-in URL, if it is one (the page shows nothing else)."""
    return text if _REASON.fullmatch(text) else None


def ended_reason(request: Request) -> str | None:
    """Why the reader was sent back to sign in (a code from ``sign_in_url``), if it says."""
    return ended_reason_of(request.query_params.get("ended", ""))


def to_sign_in(request: Request, reason: str | None) -> Response:
    response = redirect(sign_in_url(reason))
    if request.cookies.get(COOKIE):
        clear_session_cookie(request, response)
    return response


def signed_in(request: Request, page: Page) -> Response:
    """``page`` for the signed-in reader; the sign-in page for anyone else (R-REP-3).

    A refusal raised by ``page`` becomes an error page that still shows who is signed in.
    """
    try:
        services = portal_services(request)
    except SmkiError as error:
        return error_page(request, None, error)
    try:
        # The cookie (or an Authorization header), as the JSON API reads it; notes the party
        # for the request log.
        reader = request_reader(request, services.sessions)
    except (Unauthenticated, Forbidden) as refused:
        # Expired, ended, ARO removed, credential revoked, party no longer admitted; a browser
        # that never signed in is just shown the page, without a reason.
        return to_sign_in(request, None if refused.code == NO_SESSION else refused.code)
    except SmkiError as error:  # the store could not answer: never treated as signed out
        return error_page(request, None, error)
    try:
        return secured(page(services, reader))
    except SmkiError as error:
        return error_page(request, reader, error)
