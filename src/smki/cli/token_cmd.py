"""``smki token``: a bearer token from an ARO credential folder (R-IKI-1, docs/aro-token.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smki.cli.errors import cli_errors
from smki.clock import SystemClock
from smki.iki.credential_files import read_credential
from smki.iki.tokens import MAX_LIFETIME, make_token


@cli_errors
def token(
    credential: Annotated[Path, typer.Option("--credential", help="The credential folder.")],
    aud: Annotated[str, typer.Option("--aud", help="The request path, without query string.")],
    lifetime: Annotated[int, typer.Option("--lifetime", min=1, max=MAX_LIFETIME)] = 120,
) -> None:
    """Print a token for one request path, valid for --lifetime seconds (at most 300)."""
    loaded = read_credential(credential)
    typer.echo(
        make_token(
            loaded.key,
            loaded.certificate,
            loaded.ica,
            aro_id=str(loaded.info.aro_id),
            audience=aud.split("?", 1)[0],
            now=SystemClock().now(),
            lifetime=lifetime,
        )
    )
