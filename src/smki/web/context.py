"""What a portal page reads through: the repository API's per-process objects (R-REP-3).

The application's lifespan puts one ``RepositoryState`` (store, clock, environment, Catalogue,
SessionBook, issuer names) on ``app.state.repository``; the portal uses the very same objects,
so a session signed out on one side is forgotten by the other's cache at once and the pages
answer from the same read-only snapshots as ``/repository/v1`` (R-REP-4).
"""

from __future__ import annotations

from fastapi import Request

from smki.api.repository.deps import STATE_ATTRIBUTE, RepositoryState
from smki.errors import ConfigError

#: The portal's name for the shared objects: a page needs nothing else.
PortalServices = RepositoryState


def portal_services(request: Request) -> PortalServices:
    """The running application's RepositoryState; ConfigError ``not-ready`` (a 503 page)
    outside the lifespan."""
    value = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(value, RepositoryState):
        raise ConfigError("the repository is starting or stopping", code="not-ready")
    return value
