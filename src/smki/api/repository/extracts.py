"""Signed bulk extracts over HTTP (R-REP-6): ``GET /repository/v1/extracts/full`` and
``GET /repository/v1/extracts/increment?since=ISO8601``.

Any signed-in repository reader may fetch them (R-REP-3). The full extract is the one kept on
disk under the home and rebuilt when older than ``SMKI_EXTRACT_MAX_AGE`` (default one hour,
``repository.extract_cache``); an increment is built per request. Both are streamed from an
open file, a megabyte at a time, with ``Content-Length`` and a ``Content-Disposition`` naming
the file; the archive format is in docs/repository.md ("Bulk extracts").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Annotated, BinaryIO, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from smki.api.problems import problem_responses
from smki.api.repository.deps import ReaderDep
from smki.api.runtime import Runtime, RuntimeDep
from smki.repository.extract import parse_since
from smki.repository.extract_cache import FullExtractCache, max_age_from_environment
from smki.repository.file_signing import FileSigner, file_signer

EXTRACTS_PATH: Final = "/repository/v1/extracts"
ARCHIVE_TYPE: Final = "application/gzip"
#: Where the process keeps its FullExtractCache (``app.state``), made on first request.
STATE_ATTRIBUTE: Final = "extract_cache"
_CHUNK: Final = 1 << 20
_cache_lock = threading.Lock()

router = APIRouter(tags=["repository"])

_ARCHIVE_RESPONSES: Final = {
    200: {
        "description": "The signed extract: a gzip'd tar with manifest.json and manifest.jws "
        "first (docs/repository.md, Bulk extracts).",
        "content": {ARCHIVE_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    **problem_responses(400, 401, 403, 422, 503),
}


def _cache(request: Request, rt: Runtime) -> FullExtractCache:
    with _cache_lock:
        cache = getattr(request.app.state, STATE_ATTRIBUTE, None)
        if not isinstance(cache, FullExtractCache):
            services = rt.services

            def signer() -> FileSigner:
                return file_signer(
                    services.store,
                    services.keystore,
                    services.clock,
                    services.linter(rt.env),
                    services.config,
                    services.authority,
                    rt.env,
                    services.actor,
                )

            cache = FullExtractCache(
                services.home,
                services.store,
                rt.env,
                signer,
                services.clock,
                max_age_from_environment(),
            )
            setattr(request.app.state, STATE_ATTRIBUTE, cache)
    return cache


def _chunks(opened: BinaryIO) -> Iterator[bytes]:
    with opened:
        while chunk := opened.read(_CHUNK):
            yield chunk


def _download(opened: BinaryIO, filename: str) -> StreamingResponse:
    size = os.fstat(opened.fileno()).st_size
    return StreamingResponse(
        _chunks(opened),
        media_type=ARCHIVE_TYPE,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    EXTRACTS_PATH + "/full",
    summary="The signed full extract of the repository (R-REP-6)",
    response_class=StreamingResponse,
    responses=_ARCHIVE_RESPONSES,
)
def full_extract(request: Request, reader: ReaderDep, rt: RuntimeDep) -> StreamingResponse:
    del reader  # every repository reader may fetch extracts (R-REP-3)
    opened = _cache(request, rt).open()
    return _download(opened, f"smki-{rt.env}-full.tar.gz")


@router.get(
    EXTRACTS_PATH + "/increment",
    summary="A signed increment of the repository from `since` to now (R-REP-6)",
    response_class=StreamingResponse,
    responses=_ARCHIVE_RESPONSES,
)
def increment_extract(
    request: Request,
    reader: ReaderDep,
    rt: RuntimeDep,
    since: Annotated[
        str, Query(description="ISO 8601, e.g. 2025-10-01T00:00:00Z (UTC if no offset)")
    ],
) -> StreamingResponse:
    del reader
    start = parse_since(since)
    opened = _cache(request, rt).open_increment(start)
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    return _download(opened, f"smki-{rt.env}-increment-{stamp}.tar.gz")
