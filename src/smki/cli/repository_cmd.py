"""``smki repository …``: signed bulk extracts of the repository (R-REP-6).

``extract`` writes a full extract or an increment, signed with the repository's file-signing
credential (issued on first use, ``smki.repository.file_signing``); ``verify-extract`` is the
relying party's check and needs no home, only the IKI trust anchors.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smki.cli.errors import cli_errors
from smki.cli.options import EnvOption, HomeOption
from smki.cli.output import print_json
from smki.errors import InputError
from smki.profiles.kinds import Environment
from smki.repository.extract import parse_since, write_extract
from smki.repository.extract_manifest import Manifest
from smki.repository.extract_verify import verify_extract
from smki.repository.file_signing import FileSigner, file_signer
from smki.wiring import Services, open_services

app = typer.Typer(help="The SMKI Repository: signed bulk extracts.", no_args_is_help=True)


def signer_for(services: Services, env: Environment) -> FileSigner:
    """The environment's file-signing credential, issued now if it has none (R-REP-6)."""
    return file_signer(
        services.store,
        services.keystore,
        services.clock,
        services.linter(env),
        services.config,
        services.authority,
        env,
        services.actor,
    )


def _summary(manifest: Manifest) -> str:
    items = {member.name: member.items for member in manifest.members}
    lists = sum(1 for name in items if name.startswith("lists/"))
    window = (
        f"until {manifest.until.isoformat()}"
        if manifest.since is None
        else f"{manifest.since.isoformat()} to {manifest.until.isoformat()}"
    )
    return (
        f"{manifest.kind} extract of {manifest.environment}, {window}: "
        f"{items.get('certificates.pem', 0)} certificates, "
        f"{items.get('revocations.jsonl', 0)} revocations, "
        f"{items.get('suspensions.jsonl', 0)} suspension records, {lists} CRLs/ARLs"
    )


@app.command("extract")
@cli_errors
def extract(
    home: HomeOption,
    out: Annotated[Path, typer.Option("--out", help="Write the .tar.gz here.")],
    full: Annotated[bool, typer.Option("--full", help="Everything stored until now.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="An increment from this ISO 8601 time.")
    ] = None,
    env: EnvOption = None,
) -> None:
    """Write a signed full extract or increment of the repository (R-REP-6)."""
    if full == (since is not None):
        raise InputError("give exactly one of --full and --since", code="bad-option")
    start = None if since is None else parse_since(since)
    if not out.parent.is_dir():
        raise InputError(f"the folder of {out} does not exist", code="bad-option")
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        signer = signer_for(services, environment)
        total = None
        if start is None:
            with services.store.reading() as tx:
                total = tx.count_certificates(environment)
        console = Console(stderr=True)
        with Progress(
            TextColumn("certificates"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("certificates", total=total)
            manifest = write_extract(
                services.store,
                environment,
                signer,
                out,
                since=start,
                now=services.clock.now(),
                progress=lambda count: progress.advance(task, count),
            )
    finally:
        services.close()
    typer.echo(f"{_summary(manifest)} → {out}")


def _anchors(paths: list[Path]) -> list[x509.Certificate]:
    anchors: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read {path}: {exc.strerror}", code="unreadable-file"
            ) from None
        try:
            if b"-----BEGIN" in data:
                anchors.extend(x509.load_pem_x509_certificates(data))
            else:
                anchors.append(x509.load_der_x509_certificate(data))
        except ValueError:
            raise InputError(
                f"{path} holds no certificate (PEM or DER)", code="bad-trust-anchor", rid="R-REP-6"
            ) from None
    return anchors


@app.command("verify-extract")
@cli_errors
def verify(
    archive: Annotated[Path, typer.Argument(help="The extract (.tar.gz).")],
    trust: Annotated[
        list[Path], typer.Option("--trust", help="IKI Root or Issuing ICA certificate; repeatable.")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest.")] = False,
) -> None:
    """Check an extract's signature, signer and every member, as a relying party (R-REP-6)."""
    anchors = _anchors(trust)
    if not archive.is_file():
        raise InputError(f"cannot read {archive}", code="unreadable-file")
    verified = verify_extract(archive, anchors, now=dt.datetime.now(dt.UTC))
    if json_out:
        print_json(
            {
                "kind": verified.manifest.kind,
                "environment": verified.manifest.environment,
                "since": verified.manifest.since,
                "until": verified.manifest.until,
                "generated_at": verified.manifest.generated_at,
                "signer": verified.signer.subject.rfc4514_string(),
                "members": [
                    {"name": m.name, "size": m.size, "sha256": m.sha256, "items": m.items}
                    for m in verified.manifest.members
                ],
            }
        )
        return
    typer.echo(f"verified: {_summary(verified.manifest)}")
    typer.echo(f"signed by {verified.signer.subject.rfc4514_string()}")
