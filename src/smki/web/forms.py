"""What the portal's forms send, parsed whole and refused precisely (R-REP-2, R-REP-7).

The search form is a GET (its URL can be bookmarked and shared); its fields are handed to
``smki.repository.search.parse_query`` so the portal and the JSON API refuse the same input
with the same codes. The sign-in form is a POST of one field, read here without a multipart
library: an ``application/x-www-form-urlencoded`` body is all a browser sends for it.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final

from smki.errors import Forbidden, InputError, MalformedInput, Unauthenticated
from smki.repository.search import SearchQuery, parse_query

SEARCH_PATH: Final = "/portal/search"
#: The audience of the ARO token a reader pastes to sign in (docs/aro-token.md).
SIGN_IN_PATH: Final = "/portal/sign-in"
#: The search form's fields, in the order the form shows them (R-REP-2).
SEARCH_FIELDS: Final = ("eui", "role", "usage", "status", "issuer", "kind", "serial")
#: Longer values are cut before parsing, so that no refusal echoes a page of text.
MAX_FIELD_CHARS: Final = 200
FORM_MEDIA_TYPE: Final = "application/x-www-form-urlencoded"
#: A sign-in body carries one ARO token (at most 16 KiB, docs/aro-token.md) and its name.
MAX_SIGN_IN_OCTETS: Final = 20 * 1024
_MAX_FORM_FIELDS: Final = 8
_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SearchForm:
    """The search form as the reader filled it in; empty strings are "any"."""

    eui: str = ""
    role: str = ""
    usage: str = ""
    status: str = ""
    issuer: str = ""
    kind: str = ""
    serial: str = ""
    limit: str = ""
    cursor: str = ""
    #: False on the first visit (no query string): show the form, run no search.
    submitted: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SearchForm:
        """The form from a query string; unknown parameters are ignored, as browsers add none."""
        names = [f.name for f in fields(cls) if f.name != "submitted"]
        values = {name: params.get(name, "").strip()[:MAX_FIELD_CHARS] for name in names}
        return cls(**values, submitted=any(name in params for name in names))

    def query(self, authorities: Mapping[str, int]) -> SearchQuery:
        """The repository search this form asks for, or InputError naming the bad field."""
        return parse_query(
            authorities=authorities,
            serial=self.serial or None,
            eui=self.eui or None,
            role=self.role or None,
            usage=self.usage or None,
            status=self.status or None,
            issuer=self.issuer or None,
            kind=self.kind or None,
            limit=parse_limit(self.limit),
            cursor=self.cursor or None,
        )

    def next_page(self, cursor: str) -> str:
        """The URL of the page after this one (the filled-in fields and the catalogue's
        cursor), so the reader pages through the same search."""
        values = {
            name: getattr(self, name) for name in (*SEARCH_FIELDS, "limit") if getattr(self, name)
        }
        return f"{SEARCH_PATH}?{urllib.parse.urlencode({**values, 'cursor': cursor})}"


def parse_limit(text: str) -> int | None:
    """The page size: decimal digits, range-checked by ``parse_query``; empty is the default."""
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise InputError("limit must be a whole number", code="bad-limit", rid="R-REP-2")
    return int(text)


def sign_in_token(body: bytes) -> str:
    """The ``token`` field of a sign-in form, or a refusal saying what is wrong with it."""
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError:  # not ASCII, not name=value pairs, or too many fields
        raise _malformed() from None
    tokens = [value for name, value in pairs if name == "token"]
    if len(tokens) > 1:
        raise _malformed()
    # Pasted tokens often carry a line break or spaces from the terminal they were copied from.
    token = "".join(tokens[0].split()) if tokens else ""
    if not token:
        raise Unauthenticated(
            f"paste an ARO token made with: smki token --credential DIR --aud {SIGN_IN_PATH}",
            code="token-missing",
            rid="R-IKI-1",
        )
    if not _COMPACT_JWS.fullmatch(token):
        # Checked here so the refusal speaks of pasted text, not of an Authorization header.
        raise Unauthenticated(
            "the pasted text is not an ARO token: a token is three base64url parts joined by dots",
            code="token-malformed",
            rid="R-IKI-1",
        )
    return token


def _malformed() -> MalformedInput:
    return MalformedInput(
        "the sign-in form must send one field, token", code="malformed-request", rid="R-REP-7"
    )


def require_same_site(headers: Mapping[str, str]) -> None:
    """Refuse a form posted from another site (login CSRF, R-REP-7).

    The session cookie is SameSite=Strict, so a cross-site POST carries no session; this check
    also stops another site from signing a browser in as someone else. Browsers say where a
    request came from in ``Sec-Fetch-Site``; clients that do not send it are not browsers.
    """
    if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        raise Forbidden(
            "this form may only be sent from the portal's own pages",
            code="cross-site-form",
            rid="R-REP-7",
        )
