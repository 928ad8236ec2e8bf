"""``smki officer …``: SROs and AROs, and ARO credentials (R-PART-5, R-IKI-1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from smki.cli.errors import cli_errors
from smki.cli.options import HomeOption
from smki.cli.output import as_dict, print_json
from smki.errors import InputError
from smki.iki.credential_files import CredentialInfo, check_writable, write_credential
from smki.profiles.kinds import Environment
from smki.ra.csr import load_csr
from smki.ra.officers import Officers
from smki.ra.status import load_party
from smki.wiring import Services, open_services

app = typer.Typer(help="Senior and Authorised Responsible Officers.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the object as JSON.")]


def _officers(services: Services, env: Environment) -> Officers:
    return Officers(
        services.store,
        services.clock,
        services.config,
        services.linter(env),
        services.authority,
        services.actor,
    )


def _party_env(services: Services, party_id: int) -> Environment:
    with services.store.transaction() as tx:
        return Environment(load_party(tx, party_id).env)


@app.command("add")
@cli_errors
def add(
    home: HomeOption,
    party: Annotated[int, typer.Option("--party")],
    kind: Annotated[str, typer.Option("--kind", help="sro or aro")],
    name: Annotated[str, typer.Option("--name")],
    credential_out: Annotated[
        Path | None, typer.Option("--credential-out", help="Folder for the ARO credential.")
    ] = None,
    csr: Annotated[
        Path | None, typer.Option("--csr", help="The ARO's own CSR instead of a new key.")
    ] = None,
    by_sro: Annotated[int | None, typer.Option("--by-sro", help="The appointing SRO.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Register an SRO, or appoint an ARO and issue its IKI credential."""
    if kind not in ("sro", "aro"):
        raise InputError(f"--kind must be sro or aro, not {kind!r}", code="bad-officer-kind")
    if kind == "aro" and credential_out is None:
        raise InputError(
            "an ARO's credential needs --credential-out DIR",
            code="credential-out-required",
            rid="R-IKI-1",
        )
    if credential_out is not None:
        check_writable(credential_out)
    public_key = None
    if csr is not None:
        request = load_csr(csr.read_bytes())
        if not request.is_signature_valid:
            raise InputError(
                "the ARO CSR's signature does not verify", code="bad-proof-of-possession"
            )
        public_key = request.public_key()
    services = open_services(home)
    try:
        env = _party_env(services, party)
        officers = _officers(services, env)
        if kind == "sro":
            officer = officers.add_sro(party, name)
        else:
            appointment = officers.appoint_aro(party, name, by_sro=by_sro, public_key=public_key)
            officer = appointment.officer
            assert credential_out is not None
            write_credential(
                credential_out,
                CredentialInfo(officer.id, party, env),
                appointment.certificate,
                appointment.ica,
                appointment.private_key,
            )
    finally:
        services.close()
    if json_out:
        print_json(as_dict(officer))
    else:
        typer.echo(f"{officer.kind} {officer.id} {officer.name} of party {officer.party_id}")


@app.command("remove")
@cli_errors
def remove(
    home: HomeOption,
    officer: Annotated[int, typer.Option("--officer")],
    json_out: JsonOption = False,
) -> None:
    """Remove an officer; an ARO's credential is revoked and the IKI CRL reissued."""
    services = open_services(home)
    try:
        with services.store.transaction() as tx:
            row = tx.officer(officer)
        env = _party_env(services, row.party_id) if row is not None else Environment.TEST
        removed, revocation = _officers(services, env).remove(officer)
    finally:
        services.close()
    if json_out:
        data = as_dict(removed)
        data["revocation"] = as_dict(revocation) if revocation else None
        print_json(data)
        return
    typer.echo(f"{removed.kind} {removed.id} removed")
    if revocation is not None:
        typer.echo(
            f"credential {revocation.serial:X} revoked; IKI CRL number "
            f"{revocation.list_number} issued"
        )


@app.command("list")
@cli_errors
def list_officers(
    home: HomeOption,
    party: Annotated[int, typer.Option("--party")],
    all_: Annotated[bool, typer.Option("--all", help="Include removed officers.")] = False,
    json_out: JsonOption = False,
) -> None:
    """A party's officers."""
    services = open_services(home)
    try:
        with services.store.transaction() as tx:
            load_party(tx, party)
            rows = tx.officers(party, include_removed=all_)
    finally:
        services.close()
    if json_out:
        print_json([as_dict(r) for r in rows])
        return
    table = Table(title=f"officers of party {party}")
    for column in ("id", "kind", "name", "appointed", "by", "removed"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.name,
            r.appointed_at.isoformat(),
            r.appointed_by,
            r.removed_at.isoformat() if r.removed_at else "—",
        )
    Console().print(table)
