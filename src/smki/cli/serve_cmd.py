"""``smki serve``: the SMKI Service Interface on uvicorn (R-SI-1..5, docs/api.md).

Before uvicorn starts, the command opens the home exactly as a worker will (passphrase or PIN
from the environment, the environment chosen, the issuing CAs loaded) so that a home that is
not initialised, a missing passphrase or an ambiguous environment is a one-line error with the
CLI's exit status rather than a worker that dies at startup. The home and the environment reach
the workers through ``SMKI_HOME`` and ``SMKI_ENV`` (uvicorn's factory). With ``--workers N``
above 1, each worker listens on a socket of its own (``serve_workers``).
"""

from __future__ import annotations

import copy
import logging.config
import os
import sys
from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from smki.api.app import ENVIRONMENT_ENV, HOME_ENV, open_runtime
from smki.api.metrics import Metrics
from smki.cli.errors import cli_errors
from smki.cli.options import EnvOption, HomeOption
from smki.cli.serve_workers import WorkerSettings, serve_workers

FACTORY = "smki.api.app:app_from_environment"


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus smki's: one JSON line per request on stdout
    (``smki.api.requests``), everything else from smki on stderr."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["smki"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["formatters"]["smki-requests"] = {"format": "%(message)s"}
    config["handlers"]["smki"] = {
        "formatter": "smki",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["handlers"]["smki-requests"] = {
        "formatter": "smki-requests",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["smki"] = {"handlers": ["smki"], "level": "INFO", "propagate": False}
    config["loggers"]["smki.api.requests"] = {
        "handlers": ["smki-requests"],
        "level": "INFO",
        "propagate": False,
    }
    return config


@cli_errors
def serve(
    home: HomeOption,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (each opens the home).")
    ] = 1,
    env: EnvOption = None,
) -> None:
    """Run the SMKI Service Interface (OpenAPI at /openapi.json) until interrupted."""
    home = home.resolve()
    checked = open_runtime(home, env, Metrics())
    checked.close()
    os.environ[HOME_ENV] = str(home)
    # The environment checked above, so that every worker serves the same one.
    os.environ[ENVIRONMENT_ENV] = str(checked.env)
    if workers > 1:
        logging.config.dictConfig(log_config())
        status = serve_workers(WorkerSettings(FACTORY, host, port, log_config()), workers)
        if status != 0:
            print("error: internal: a worker failed to start; see the log", file=sys.stderr)
            raise typer.Exit(status)
        return
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_config=log_config(),
        log_level="info",
    )
