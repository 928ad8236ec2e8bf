"""The portal's session cookie attributes (R-REP-3, R-REP-7), without a server."""

from __future__ import annotations

import pytest
from fastapi import Request
from fastapi.responses import Response

from smki.errors import Unauthenticated
from smki.web.session import (
    COOKIE,
    clear_session_cookie,
    cookie_secret,
    set_session_cookie,
)

SECRET = "smkis_" + "A" * 43


def _request(scheme: str, cookie: str | None = None) -> Request:
    headers = [] if cookie is None else [(b"cookie", f"{COOKIE}={cookie}".encode())]
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "method": "GET",
            "path": "/portal/search",
            "query_string": b"",
            "headers": headers,
            "server": ("smki.example", 443 if scheme == "https" else 80),
        }
    )


def _set_cookie(scheme: str) -> str:
    response = Response()
    set_session_cookie(_request(scheme), response, SECRET, 3600)
    return response.headers["set-cookie"]


def test_the_cookie_is_http_only_strict_and_lives_as_long_as_the_session() -> None:
    header = _set_cookie("http")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert header.startswith(f"{COOKIE}={SECRET};")
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "Max-Age=3600" in header and "Path=/" in header and "SameSite=strict" in header
    assert "secure" not in attributes  # a browser would drop a Secure cookie over http


def test_over_https_the_cookie_is_secure() -> None:
    assert "secure" in {p.strip().lower() for p in _set_cookie("https").split(";")}


def test_clearing_the_cookie_expires_it_on_the_same_path() -> None:
    response = Response()
    clear_session_cookie(_request("https"), response)
    header = response.headers["set-cookie"]
    assert header.startswith(f'{COOKIE}="";') and "Max-Age=0" in header and "Path=/" in header


def test_the_cookie_must_hold_a_session_secret() -> None:
    assert cookie_secret(_request("http")) is None
    assert cookie_secret(_request("http", SECRET)) == SECRET
    for forged in ("eyJhbGciOi.x.y", "smkis_" + "A" * 200):
        with pytest.raises(Unauthenticated) as refused:
            cookie_secret(_request("http", forged))
        assert refused.value.code == "session-invalid"
