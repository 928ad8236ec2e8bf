"""The portal's pages for a signed-in reader (R-REP-2, R-REP-5, R-REP-7, R-DOC-1/2).

- ``/portal/search``: the search form and a page of results, paged by the catalogue's cursor;
  input it cannot parse is shown with the refusal's code and detail, never a 500.
- ``/portal/certificates/{serial}[?issuer=]``: one certificate decoded in GBCS terms, with its
  PEM and download links.
- ``/portal/revocation-lists``: every CA's CRL or ARL, current and by number.
- ``/portal/documents``: the Document Set versions the reader may see; the confidential CPSs
  are not even listed to readers other than the SMKI PMA and the DCC (R-DOC-2).
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smki.errors import InputError
from smki.profiles.kinds import CertKind
from smki.ra.repository_access import Reader
from smki.repository.catalogue import FoundCertificate
from smki.repository.documents import visible_documents
from smki.repository.search import parse_serial
from smki.storage.api import CERTIFICATE_STATUSES
from smki.web.context import PortalServices
from smki.web.forms import SearchForm
from smki.web.rendering import pem_text, render, shown_detail
from smki.web.session import signed_in
from smki.x509.roles import RemotePartyRole

router = APIRouter()

#: The select options of the search form: (value sent, text shown).
ROLE_OPTIONS: Final = tuple((r.gbcs_name, f"{r.gbcs_name} ({int(r)})") for r in RemotePartyRole)
USAGE_OPTIONS: Final = (("ds", "digitalSignature (DS)"), ("ka", "keyAgreement (KA)"))
STATUS_OPTIONS: Final = tuple((s, s) for s in CERTIFICATE_STATUSES)
KIND_OPTIONS: Final = tuple((k.value, k.value) for k in CertKind)
PAGE_SIZES: Final = ("10", "50", "200", "1000")


def certificate_url(serial: str, issuer: str, suffix: str = "") -> str:
    """The portal URL of a certificate (``suffix``: ``/download.der`` or ``/download.pem``)."""
    query = urllib.parse.urlencode({"issuer": issuer})
    return f"/portal/certificates/{urllib.parse.quote(serial, safe='')}{suffix}?{query}"


def find_certificate(services: PortalServices, serial: str, issuer: str) -> FoundCertificate:
    """The certificate a portal URL names: a hex serial and, optionally, its issuer's name."""
    issuer_id = services.catalogue.issuer_id(issuer)
    return services.catalogue.certificate(parse_serial(serial), issuer_id)


@router.get("/search")
def search_page(request: Request) -> Response:
    """Search certificates by EUI-64, role, key usage, status, issuer, kind or serial."""
    form = SearchForm.from_params(request.query_params)

    def page(services: PortalServices, reader: Reader) -> Response:
        authorities = services.catalogue.issuer_ids(form.issuer or None)
        shown: dict[str, Any] = {
            "form": form,
            "roles": ROLE_OPTIONS,
            "usages": USAGE_OPTIONS,
            "statuses": STATUS_OPTIONS,
            "kinds": KIND_OPTIONS,
            "issuers": tuple((name, name) for name in sorted(authorities)),
            "page_sizes": PAGE_SIZES,
            "certificate_url": certificate_url,
            "results": None,  # None: no search run; []: a search that found nothing
            "next_url": None,
            "refused": None,
        }
        if not form.submitted:
            return render("search.html", reader=reader, **shown)
        try:
            found = services.catalogue.search(form.query(authorities))
        except InputError as refused:
            status, detail = shown_detail(request, refused)
            shown["refused"] = {"code": refused.code, "detail": detail, "rid": refused.rid}
            return render("search.html", reader=reader, status=status, **shown)
        shown["results"] = found.items
        if found.next_cursor is not None:
            shown["next_url"] = form.next_page(found.next_cursor)
        return render("search.html", reader=reader, **shown)

    return signed_in(request, page)


@router.get("/certificates/{serial}")
def certificate_page(request: Request, serial: str) -> Response:
    """One certificate in GBCS terms: role, EUI-64, key usage, status, validity (R-REP-7)."""
    issuer = request.query_params.get("issuer", "")

    def page(services: PortalServices, reader: Reader) -> Response:
        found = find_certificate(services, serial, issuer)
        view = found.view
        return render(
            "certificate.html",
            reader=reader,
            view=view,
            pem=pem_text(found.der),
            der_url=certificate_url(view.serial, view.issuer, "/download.der"),
            pem_url=certificate_url(view.serial, view.issuer, "/download.pem"),
        )

    return signed_in(request, page)


@router.get("/revocation-lists")
def revocation_lists_page(request: Request) -> Response:
    """Every CA's list: CRLs of the issuing CAs, ARLs of the roots (R-REP-5)."""

    def page(services: PortalServices, reader: Reader) -> Response:
        summaries = services.catalogue.revocation_lists()
        return render(
            "revocation_lists.html",
            reader=reader,
            lists=summaries,
            list_url=list_url,
        )

    return signed_in(request, page)


def list_url(authority: str, number: int | None = None) -> str:
    """The download URL of a CA's current list, or of the one with CRL number ``number``."""
    which = "" if number is None else f"/{number}"
    return f"/portal/revocation-lists/{urllib.parse.quote(authority, safe='')}{which}/download"


@router.get("/documents")
def documents_page(request: Request) -> Response:
    """The Document Set versions this reader may see (R-DOC-1); CPSs only to PMA/DCC."""

    def page(services: PortalServices, reader: Reader) -> Response:
        with services.store.reading() as tx:
            documents = visible_documents(tx, reader)
        return render("documents.html", reader=reader, documents=documents)

    return signed_in(request, page)
