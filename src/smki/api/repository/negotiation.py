"""The form of a certificate or a list: ``?format=`` first, else ``Accept`` (R-REP-2, R-REP-5).

Certificates are served as JSON (the GBCS view), DER or PEM; CRLs and ARLs as DER or PEM. The
``format`` query parameter names the form outright (for links and browsers, which cannot set
``Accept``); without it the ``Accept`` header is negotiated as RFC 9110 §12.5.1 says: each offer
takes the quality of the most specific range that matches it, the best quality wins, and on a
tie the offer listed first (the default) wins. PEM is written here from the DER, without
parsing it: the DER served is byte for byte what is stored.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from smki.api.accept import accept_ranges, offer_match
from smki.errors import InputError

JSON: Final = "application/json"
DER_CERTIFICATE: Final = "application/pkix-cert"
DER_CRL: Final = "application/pkix-crl"
PEM: Final = "application/x-pem-file"
_PEM_LINE: Final = 64


@dataclass(frozen=True)
class Form:
    """One way of serving a resource: its ``?format=`` name and its media type."""

    name: str
    media_type: str


JSON_FORM: Final = Form("json", JSON)
PEM_FORM: Final = Form("pem", PEM)
CERTIFICATE_FORMS: Final = (JSON_FORM, Form("der", DER_CERTIFICATE), PEM_FORM)
LIST_FORMS: Final = (Form("der", DER_CRL), PEM_FORM)


def choose_form(forms: Sequence[Form], requested: str | None, accept: str | None, rid: str) -> Form:
    """The form to serve: ``requested`` (``?format=``) if given, else the ``Accept`` header's
    best; 400 ``bad-format`` for an unknown name, 406 ``not-acceptable`` if nothing fits."""
    if requested is not None:
        wanted = requested.strip().lower()
        for form in forms:
            if form.name == wanted:
                return form
        names = ", ".join(form.name for form in forms)
        raise InputError(
            f"format {requested[:20]!r} is not one of {names}", code="bad-format", rid=rid
        )
    if accept is None or not accept.strip():
        return forms[0]
    ranges = accept_ranges(accept)
    # Quality alone decides; on a tie the offer listed first (the default) wins.
    scored = [(offer_match(form.media_type, ranges)[0], -index) for index, form in enumerate(forms)]
    quality, negative_index = max(scored)
    if quality <= 0:
        offered = ", ".join(form.media_type for form in forms)
        raise InputError(
            f"this resource is served as {offered}; the request accepts none of them",
            code="not-acceptable",
            rid=rid,
        )
    return forms[-negative_index]


def pem(der: bytes, label: str) -> bytes:
    """RFC 7468 text encoding of ``der`` (``CERTIFICATE``, ``X509 CRL``)."""
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + _PEM_LINE] for i in range(0, len(text), _PEM_LINE)]
    body = "\n".join(lines)
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode("ascii")
