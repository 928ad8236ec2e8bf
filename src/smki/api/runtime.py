"""What a request handler needs from the running service: the open services, the environment
served and the eligibility table. Built once per process by the application's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from smki.api.metrics import Metrics
from smki.errors import ConfigError
from smki.profiles.kinds import Environment
from smki.ra.eligibility import EligibilityTable
from smki.wiring import Services


@dataclass(frozen=True)
class Runtime:
    services: Services
    env: Environment
    eligibility: EligibilityTable
    metrics: Metrics

    def actor(self, officer_id: int) -> str:
        """The audit actor for an ARO acting through the Service Interface."""
        return f"aro:{officer_id}"


def runtime(request: Request) -> Runtime:
    """The process's Runtime (a FastAPI dependency); 503 ``not-ready`` outside the lifespan."""
    value = getattr(request.app.state, "runtime", None)
    if not isinstance(value, Runtime):
        raise ConfigError("the service is starting or stopping", code="not-ready")
    return value


RuntimeDep = Annotated[Runtime, Depends(runtime)]
