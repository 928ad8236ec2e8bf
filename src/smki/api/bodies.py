"""Request bodies read with a size limit and a required media type."""

from __future__ import annotations

from fastapi import Request

from smki.errors import InputError


def media_type(value: str | None) -> str:
    """``type/subtype`` of a Content-Type or Accept element, lower case, parameters dropped."""
    return (value or "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, *accepted: str) -> str:
    """The request's media type if it is one of ``accepted``; else 415."""
    given = media_type(request.headers.get("content-type"))
    if given not in accepted:
        raise InputError(
            f"the body must be {' or '.join(accepted)}, not {given or 'untyped'}",
            code="unsupported-media-type",
        )
    return given


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413 ``too-large``) anything over ``limit`` octets without
    reading more than ``limit + 1`` of it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> InputError:
    return InputError(f"the body is larger than {limit} octets", code="too-large")
