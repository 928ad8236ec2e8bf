"""``smki ca …``: the operator's CA commands (R-CA-2, R-SI-4, R-REP-5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rich.console import Console
from rich.table import Table

from smki.ca.crl_schedule import reissue_due_lists
from smki.ca.serials import parse_serial_hex
from smki.cli.errors import cli_errors
from smki.cli.options import EnvOption, HomeOption
from smki.errors import InputError
from smki.profiles.kinds import CertKind, Pki
from smki.ra.direct import issue_from_csr
from smki.ra.revocation import revoke as revoke_certificate
from smki.wiring import Services, open_services
from smki.x509.roles import RemotePartyRole

app = typer.Typer(help="Certification authority operations.", no_args_is_help=True)

#: Exported file names (the issue's contract) → (authority, list kind).
CA_FILES = {f"{kind.value}.pem": kind for kind in CertKind if kind.is_ca}
LIST_FILES = {
    f"{pki.value}.{list_kind}": (pki.root if list_kind == "arl" else pki.issuing, list_kind)
    for pki in Pki
    for list_kind in ("crl", "arl")
}


def _pem_certificate(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


def _pem_crl(der: bytes) -> bytes:
    return x509.load_der_x509_crl(der).public_bytes(Encoding.PEM)


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", code="unreadable-file") from exc


@app.command("issue")
@cli_errors
def issue(
    home: HomeOption,
    csr: Annotated[Path, typer.Option("--csr", help="PKCS#10 request, PEM or DER.")],
    role: Annotated[
        str | None, typer.Option("--role", help="Remote Party Role (hex) when the CSR has no OU.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the PEM here.")] = None,
    env: EnvOption = None,
) -> None:
    """Issue a Device or Organisation Certificate from a CSR (operator's direct path)."""
    data = _read_input(csr)
    chosen_role = RemotePartyRole.parse(role) if role is not None else None
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        services.recover()
        issued = issue_from_csr(
            services.store,
            services.clock,
            services.linter(environment),
            services.config,
            services.issuing_authority,
            environment,
            data,
            chosen_role,
            services.actor,
        )
    finally:
        services.close()
    pem = _pem_certificate(issued.der)
    if out is not None:
        out.write_bytes(pem)
        typer.echo(f"issued serial {issued.serial:X} → {out}", err=True)
    else:
        typer.echo(pem.decode("ascii"), nl=False)


@app.command("revoke")
@cli_errors
def revoke(
    home: HomeOption,
    serial: Annotated[str, typer.Option("--serial", help="Serial number in hex.")],
    reason: Annotated[str, typer.Option("--reason", help="RFC 5280 reason name.")],
    env: EnvOption = None,
) -> None:
    """Revoke an Organisation, IKI, DCCKI or Issuing CA certificate and reissue its CRL/ARL."""
    try:
        number = parse_serial_hex(serial)
    except ValueError as exc:
        raise InputError(
            f"{serial!r} is not a hexadecimal serial number", code="bad-serial"
        ) from exc
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        services.recover()

        result = revoke_certificate(
            services.store,
            services.clock,
            services.config,
            services.authority_loader(environment),
            environment,
            number,
            reason,
            services.actor,
        )
    finally:
        services.close()
    typer.echo(
        f"revoked {result.kind} certificate {result.serial:X}; "
        f"{result.list_kind.upper()} number {result.list_number} issued"
    )


def _export(services: Services, env: EnvOption, out: Path) -> list[Path]:
    environment = services.choose_environment(env)
    files: dict[str, bytes] = {}
    with services.store.transaction() as tx:
        for filename, kind in CA_FILES.items():
            row = tx.authority(environment, kind)
            if row is None or row.certificate_id is None:
                continue
            files[filename] = _pem_certificate(tx.certificate(row.certificate_id).der)
        for filename, (kind, list_kind) in LIST_FILES.items():
            row = tx.authority(environment, kind)
            if row is None:
                continue
            crl = tx.latest_crl(row.id, list_kind)
            if crl is not None:
                files[filename] = _pem_crl(crl.der)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, data in files.items():
        target = out / filename
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
        written.append(target)
    return written


@app.command("export")
@cli_errors
def export(
    home: HomeOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for the PEM files.")],
    env: EnvOption = None,
) -> None:
    """Write the CA certificates and the current CRLs and ARLs as PEM files."""
    services = open_services(home)
    try:
        written = _export(services, env, out)
    finally:
        services.close()
    for path in written:
        typer.echo(str(path))


@app.command("recover")
@cli_errors
def recover(
    home: HomeOption,
    now: Annotated[
        bool, typer.Option("--now", help="Settle every pending intent: nothing else runs.")
    ] = False,
) -> None:
    """Finish or abandon issuance that a crash interrupted (R-CA-4). Without --now only
    intents older than ten minutes, so a running service's in-flight work is left alone."""
    services = open_services(home)
    try:
        finished, abandoned = services.recover(everything=now)
    finally:
        services.close()
    typer.echo(f"pending issuance: {finished} finished, {abandoned} abandoned")


@app.command("show")
@cli_errors
def show(home: HomeOption, env: EnvOption = None) -> None:
    """List the certification authorities of an environment."""
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        table = Table(title=f"smki {environment} authorities")
        for column in ("name", "status", "subject", "serial", "not after"):
            table.add_column(column)
        with services.store.transaction() as tx:
            for row in tx.authorities(environment):
                if row.certificate_id is None:
                    continue
                cert = x509.load_der_x509_certificate(tx.certificate(row.certificate_id).der)
                table.add_row(
                    row.name,
                    row.status,
                    cert.subject.rfc4514_string(),
                    f"{cert.serial_number:X}",
                    cert.not_valid_after_utc.isoformat(),
                )
    finally:
        services.close()
    Console().print(table)


@app.command("reissue-crls")
@cli_errors
def reissue_crls(
    home: HomeOption,
    env: EnvOption = None,
    all_lists: Annotated[
        bool, typer.Option("--all", help="Reissue every list, not only those due.")
    ] = False,
) -> None:
    """Reissue the CRLs and ARLs due (half their period or less left), as `smki serve` does
    on its schedule (R-REP-5)."""
    services = open_services(home)
    try:
        environment = services.choose_environment(env)

        period = services.config.crl_period
        reissued = reissue_due_lists(
            services.store,
            services.clock,
            period,
            services.authority_loader(environment),
            environment,
            services.actor,
            margin=period if all_lists else None,
        )
    finally:
        services.close()
    for item in reissued:
        typer.echo(f"{item.authority}: {item.list_kind.upper()} number {item.number} issued")
    if not reissued:
        typer.echo("no list was due")
