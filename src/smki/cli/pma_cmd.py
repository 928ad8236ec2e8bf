"""``smki pma …``: recording SMKI PMA instructions (R-GOV-3, SEC L2.14).

Each command names the PMA decision it carries out; the change and its audit event are written
in one transaction (``smki.governance.suspension``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from smki.cli.errors import cli_errors
from smki.cli.options import EnvOption, HomeOption
from smki.clock import Clock
from smki.governance.suspension import SuspensionChange, lift_suspension, suspend_certificate
from smki.profiles.kinds import Environment
from smki.repository.search import parse_serial
from smki.storage.api import Store
from smki.wiring import open_services

app = typer.Typer(help="SMKI PMA decisions: certificate suspension.", no_args_is_help=True)

SerialArgument = Annotated[str, typer.Argument(help="The certificate's serial, in hex.")]
IssuerOption = Annotated[
    str | None,
    typer.Option("--issuer", help="The issuing authority's name, when serials collide."),
]
DecisionOption = Annotated[
    str, typer.Option("--decision", help="The SMKI PMA decision carried out.")
]


#: ``suspend_certificate`` or ``lift_suspension``: both take the same arguments.
_PmaAction = Callable[[Store, Clock, Environment, int, str | None, str, str], SuspensionChange]


def _describe(change: SuspensionChange) -> str:
    return f"certificate {change.serial:X} ({change.kind}, issued by {change.issuer})"


def _carry_out(
    decide: _PmaAction,
    home: Path,
    serial: str,
    decision: str,
    issuer: str | None,
    env: Environment | None,
) -> SuspensionChange:
    number = parse_serial(serial)
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        return decide(
            services.store, services.clock, environment, number, issuer, decision, services.actor
        )
    finally:
        services.close()


@app.command("suspend-certificate")
@cli_errors
def suspend(
    home: HomeOption,
    serial: SerialArgument,
    decision: DecisionOption,
    issuer: IssuerOption = None,
    env: EnvOption = None,
) -> None:
    """Suspend the use of a certificate on a PMA decision (R-GOV-3)."""
    change = _carry_out(suspend_certificate, home, serial, decision, issuer, env)
    typer.echo(f"suspended {_describe(change)} on decision {change.decision}")


@app.command("lift-suspension")
@cli_errors
def lift(
    home: HomeOption,
    serial: SerialArgument,
    decision: DecisionOption,
    issuer: IssuerOption = None,
    env: EnvOption = None,
) -> None:
    """Lift a certificate's suspension on a PMA decision (R-GOV-3)."""
    change = _carry_out(lift_suspension, home, serial, decision, issuer, env)
    typer.echo(f"lifted the suspension of {_describe(change)} on decision {change.decision}")
