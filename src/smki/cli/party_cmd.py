"""``smki party …``: registering SEC Parties and RDPs (R-PART-1, R-PART-2, R-PART-6)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from smki.cli.errors import cli_errors
from smki.cli.options import HomeOption
from smki.cli.output import as_dict, print_json
from smki.profiles.kinds import Environment
from smki.ra.categories import PartyCategory
from smki.ra.parties import Registration
from smki.ra.status import CERTIFICATE_POLICIES, load_party, subscriber_status
from smki.storage.api import PartyRow
from smki.wiring import Services, open_services
from smki.x509.eui import format_eui64, parse_eui64

app = typer.Typer(help="SEC Parties and Registration Data Providers.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the object as JSON.")]
PartyOption = Annotated[int, typer.Option("--party", help="The party id.")]


def _registration(services: Services) -> Registration:
    return Registration(services.store, services.clock, services.actor)


def _describe(services: Services, party: PartyRow) -> dict[str, object]:
    with services.store.transaction() as tx:
        status = subscriber_status(tx, party)
        officers = tx.officers(party.id)
    data = as_dict(party)
    data["authorised_subscriber"] = {cp: status.authorised for cp in CERTIFICATE_POLICIES}
    data["missing"] = status.missing
    data["officers"] = [as_dict(o) for o in officers]
    return data


def _show(services: Services, party: PartyRow, json_out: bool) -> None:
    data = _describe(services, party)
    if json_out:
        print_json(data)
        return
    table = Table(title=f"party {party.id}", show_header=False)
    for key in (
        "name",
        "env",
        "categories",
        "entity_ids",
        "identity_verified_by",
        "identity_verified_at",
        "identity_evidence",
        "srept_completed_at",
    ):
        value = data[key]
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value or "—"))
    authorised = data["authorised_subscriber"]
    assert isinstance(authorised, dict)
    table.add_row(
        "authorised", ", ".join(f"{cp}: {'yes' if ok else 'no'}" for cp, ok in authorised.items())
    )
    missing = data["missing"]
    assert isinstance(missing, list)
    table.add_row("missing", "; ".join(missing) or "—")
    Console().print(table)


@app.command("create")
@cli_errors
def create(
    home: HomeOption,
    name: Annotated[str, typer.Option("--name")],
    category: Annotated[list[str], typer.Option("--category", help="Repeat for each.")],
    eui: Annotated[list[str], typer.Option("--eui", help="Entity Identifier; repeatable.")],
    env: Annotated[Environment, typer.Option("--env")] = Environment.TEST,
    json_out: JsonOption = False,
) -> None:
    """Register a party with its categories and Entity Identifiers."""
    categories = [PartyCategory.parse(c) for c in category]
    euis = [parse_eui64(e) for e in eui]
    services = open_services(home)
    try:
        services.choose_environment(env)
        party = _registration(services).create_party(env, name, categories, euis)
        _show(services, party, json_out)
    finally:
        services.close()


@app.command("amend")
@cli_errors
def amend(
    home: HomeOption,
    party: PartyOption,
    name: Annotated[str | None, typer.Option("--name")] = None,
    category: Annotated[list[str] | None, typer.Option("--category")] = None,
    eui: Annotated[list[str] | None, typer.Option("--eui")] = None,
    json_out: JsonOption = False,
) -> None:
    """Replace a party's name, categories or Entity Identifiers."""
    categories = [PartyCategory.parse(c) for c in category] if category else None
    euis = [parse_eui64(e) for e in eui] if eui else None
    services = open_services(home)
    try:
        row = _registration(services).amend_party(
            party, name=name, categories=categories, euis=euis
        )
        _show(services, row, json_out)
    finally:
        services.close()


@app.command("show")
@cli_errors
def show(home: HomeOption, party: PartyOption, json_out: JsonOption = False) -> None:
    """A party, its officers and its Authorised Subscriber status per Certificate Policy."""
    services = open_services(home)
    try:
        with services.store.transaction() as tx:
            row = load_party(tx, party)
        _show(services, row, json_out)
    finally:
        services.close()


@app.command("list")
@cli_errors
def list_parties(
    home: HomeOption,
    env: Annotated[Environment | None, typer.Option("--env")] = None,
    json_out: JsonOption = False,
) -> None:
    """Every party (of one environment, with --env)."""
    services = open_services(home)
    try:
        with services.store.transaction() as tx:
            rows = tx.parties(env)
        described = [_describe(services, row) for row in rows]
    finally:
        services.close()
    if json_out:
        print_json(described)
        return
    table = Table(title="parties")
    for column in ("id", "env", "name", "categories", "entity ids", "authorised"):
        table.add_column(column)
    for row, data in zip(rows, described, strict=True):
        table.add_row(
            str(row.id),
            row.env,
            row.name,
            ", ".join(row.categories),
            ", ".join(format_eui64(e) for e in row.entity_ids),
            "yes" if not data["missing"] else "no",
        )
    Console().print(table)


@app.command("verify-identity")
@cli_errors
def verify_identity(
    home: HomeOption,
    party: PartyOption,
    by: Annotated[str, typer.Option("--by", help="Who verified the identity.")],
    evidence: Annotated[str, typer.Option("--evidence", help="Evidence reference.")],
    json_out: JsonOption = False,
) -> None:
    """Record the verification of a party's organisation identity (R-PART-2)."""
    services = open_services(home)
    try:
        row = _registration(services).verify_identity(party, by, evidence)
        _show(services, row, json_out)
    finally:
        services.close()


@app.command("srept-passed")
@cli_errors
def srept_passed(home: HomeOption, party: PartyOption, json_out: JsonOption = False) -> None:
    """Record SREPT completion; the SEC Panel is notified (R-PART-6)."""
    services = open_services(home)
    try:
        row = _registration(services).record_srept(party)
        _show(services, row, json_out)
    finally:
        services.close()
