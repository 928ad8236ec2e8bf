"""``smki audit verify``: check the tamper-evident audit log (R-X-1)."""

from __future__ import annotations

import typer

from smki.audit.verify import verify_chain
from smki.cli.errors import cli_errors
from smki.cli.options import HomeOption
from smki.errors import IntegrityError
from smki.wiring import open_services

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
@cli_errors
def verify(home: HomeOption) -> None:
    """Exit 0 when the hash chain is intact; otherwise name the first bad record."""
    services = open_services(home)
    try:
        result = verify_chain(services.store)
    finally:
        services.close()
    if not result.ok:
        raise IntegrityError(
            f"audit log broken at record {result.first_bad_seq}: {result.reason} "
            f"({result.checked} records checked)",
            code="audit-chain-broken",
            rid="R-X-1",
        )
    typer.echo(f"audit log intact: {result.checked} records")
