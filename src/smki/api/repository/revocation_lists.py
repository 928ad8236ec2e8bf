"""CRLs and ARLs in the repository (R-REP-1, R-REP-5).

``GET /repository/v1/revocation-lists`` summarises every CA's list (a CRL for an issuing CA,
an ARL for a root): its current number, this and next update, and every number issued, all
kept. ``GET …/revocation-lists/{authority}`` answers the current list and ``…/{number}`` the
one with that CRL number, as DER (the default, ``application/pkix-crl``) or PEM — the bytes
the CA signed, never re-encoded.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from smki.api.problems import problem_responses
from smki.api.repository.deps import ReaderDep, RepositoryDep
from smki.api.repository.negotiation import DER_CRL, LIST_FORMS, PEM, choose_form, pem
from smki.api.repository.params import iso, parse_number

LISTS_PATH: Final = "/repository/v1/revocation-lists"

router = APIRouter(tags=["repository"])


class ListSummaryModel(BaseModel):
    authority: str = Field(examples=["issuing-oca"])
    list_kind: str = Field(examples=["crl"], description="crl (issuing CA) or arl (root)")
    number: int = Field(description="The current list's CRL number")
    this_update: str
    next_update: str
    numbers: list[int] = Field(description="Every number issued, oldest first")


class ListSummaries(BaseModel):
    items: list[ListSummaryModel]


@router.get(
    LISTS_PATH,
    summary="Every CA's revocation list: current number and history (R-REP-5)",
    responses={200: {"model": ListSummaries}, **problem_responses(401, 403, 503)},
)
def revocation_lists(reader: ReaderDep, repo: RepositoryDep) -> JSONResponse:
    del reader  # every reader may read the lists (R-REP-3)
    items = []
    for summary in repo.catalogue.revocation_lists():
        items.append(
            {
                "authority": summary.authority,
                "list_kind": summary.list_kind,
                "number": summary.number,
                "this_update": iso(summary.this_update),
                "next_update": iso(summary.next_update),
                "numbers": summary.numbers,
            }
        )
    return JSONResponse({"items": items})


_LIST_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The list as the CA signed it: DER (default) or PEM.",
        "content": {
            DER_CRL: {"schema": {"type": "string", "format": "binary"}},
            PEM: {"schema": {"type": "string"}},
        },
    },
    **problem_responses(400, 401, 403, 404, 406, 503),
}


def _serve_list(
    request: Request, repo: RepositoryDep, authority: str, number: int | None, output: str | None
) -> Response:
    form = choose_form(LIST_FORMS, output, request.headers.get("accept"), "R-REP-5")
    row = repo.catalogue.revocation_list(authority, number)
    content = row.der if form.name == "der" else pem(row.der, "X509 CRL")
    return Response(content, media_type=form.media_type, headers={"Vary": "Accept"})


FormatQuery = Annotated[
    str | None, Query(alias="format", description="der or pem; overrides Accept")
]


@router.get(
    LISTS_PATH + "/{authority}",
    summary="A CA's current CRL or ARL (R-REP-5)",
    response_class=Response,
    responses=_LIST_RESPONSES,
)
def current_list(
    request: Request,
    reader: ReaderDep,
    repo: RepositoryDep,
    authority: str,
    output: FormatQuery = None,
) -> Response:
    del reader
    return _serve_list(request, repo, authority, None, output)


@router.get(
    LISTS_PATH + "/{authority}/{number}",
    summary="A CA's CRL or ARL by its CRL number (R-REP-5)",
    response_class=Response,
    responses=_LIST_RESPONSES,
)
def numbered_list(
    request: Request,
    reader: ReaderDep,
    repo: RepositoryDep,
    authority: str,
    number: str,
    output: FormatQuery = None,
) -> Response:
    del reader
    return _serve_list(
        request, repo, authority, parse_number(number, "a CRL number", "R-REP-5"), output
    )
