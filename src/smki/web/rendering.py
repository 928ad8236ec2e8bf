"""Pages from templates, with the headers every portal response carries (R-REP-7).

Templates are package data (``smki/web/templates``) rendered by Jinja2 with autoescaping on for
every template, so nothing a certificate, a document title or a form field holds can become
markup. Every response, pages, redirects and downloads alike, goes out through ``secured``.
Refusals are pages too: the error's stable code and safe detail, with the status the Service
Interface's one table gives it (``smki.api.problems.status_for``); a server-side failure keeps
its code but shows a generic detail, as problem+json does.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import textwrap
from typing import Any, Final

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smki.api.problems import STATE_PROBLEM_CODE, status_for
from smki.errors import SmkiError
from smki.ra.repository_access import Reader, ReaderKind

log = logging.getLogger("smki.web")

#: The same origin only: no inline script or style, no framing source, no third party.
CONTENT_SECURITY_POLICY: Final = "default-src 'self'"
#: What every portal response carries (R-REP-7); pages are per reader, so never cached.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
READER_KIND_LABELS: Final = {
    ReaderKind.SEC_PARTY: "SEC Party",
    ReaderKind.SEC_PANEL: "SEC Panel",
    ReaderKind.SMKI_PMA: "SMKI PMA",
    ReaderKind.DCC: "DCC",
}
_SERVER_SIDE_DETAIL: Final = "the repository could not answer; try again later"


def when(moment: dt.datetime | str | None) -> str:
    """A time as people read it, in UTC (the store keeps UTC, R-X-4)."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pem_text(der: bytes, label: str = "CERTIFICATE") -> str:
    """PEM of any DER (RFC 7468): the bytes as stored, whether or not a parser likes them."""
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("smki.web", "templates"),
        autoescape=True,  # every template, whatever its name (R-REP-7)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.globals["reader_kind_label"] = lambda kind: READER_KIND_LABELS[ReaderKind(kind)]
    return env


TEMPLATES: Final = _environment()


def secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(template: str, *, reader: Reader | None, status: int = 200, **context: Any) -> Response:
    """``template`` with ``context``; the header shows ``reader`` and a sign-out button."""
    html = TEMPLATES.get_template(template).render(reader=reader, **context)
    return secured(HTMLResponse(html, status_code=status))


def redirect(url: str) -> Response:
    """303 See Other: after a POST, and to the sign-in page, the browser GETs ``url``."""
    return secured(RedirectResponse(url, status_code=303))


def shown_detail(request: Request, error: SmkiError) -> tuple[int, str]:
    """The status and the detail a page may show for ``error``; 5xx details are logged only."""
    status = status_for(error)
    # The request recorder counts refusals by code, pages as well as problem+json.
    request.scope.setdefault("state", {})[STATE_PROBLEM_CODE] = error.code
    if status >= 500:
        log.error("portal %s %s failed: %s", request.method, request.url.path, error)
        return status, _SERVER_SIDE_DETAIL
    return status, error.detail


def error_page(request: Request, reader: Reader | None, error: SmkiError) -> Response:
    status, detail = shown_detail(request, error)
    return render(
        "error.html", reader=reader, status=status, code=error.code, detail=detail, rid=error.rid
    )


def not_found_page(reader: Reader | None = None) -> Response:
    return render(
        "error.html",
        reader=reader,
        status=404,
        code="not-found",
        detail="there is no such page in the portal",
        rid="R-REP-7",
    )
