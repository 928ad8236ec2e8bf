"""``smki verify CERT``: the relying-party check from the command line (R-RP-1…3).

Reads the certificate, the trust anchors, the chain and the CRLs/ARLs from files (PEM with
one or more blocks, or DER), runs :func:`smki.validation.validate` and prints the verdict as
text or ``--json``. Exit status: 0 only when the certificate is fit to rely on; 11 (the
``NotValid`` family) with the refusal reason as the error code otherwise; 2 for files that
cannot be read or hold the wrong kind of object (docs/errors.md).

The main app registers this function with ``app.command("verify")(verify)``.
"""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from smki.cli.errors import cli_errors
from smki.cli.output import print_json
from smki.clock import parse_utc
from smki.errors import InputError, MalformedInput, NotValid
from smki.profiles.kinds import KeyUse
from smki.validation import (
    Reason,
    RevocationLists,
    TrustStore,
    Verdict,
    load_certificate,
    load_certificates,
    load_crls,
    validate,
)
from smki.x509.eui import parse_eui64


class Usage(enum.StrEnum):
    """The two GBCS key uses a relying party checks for (R-RP-2)."""

    DS = "ds"
    KA = "ka"


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 (``2025-10-01T12:00:00Z``, ``2025-10-01``); UTC when no offset is given."""
    try:
        return parse_utc(text)
    except ValueError:
        raise InputError(
            f"--at {text!r} is not an ISO 8601 time (e.g. 2025-10-01T12:00:00Z)",
            code="bad-option",
            rid="R-RP-3",
        ) from None


def _print_text(verdict: Verdict) -> None:
    out = Console()
    table = Table(title="certification path, leaf first")
    table.add_column("role")
    table.add_column("subject")
    table.add_column("serial", no_wrap=True, min_width=32)
    table.add_column("valid (UTC)")
    for entry in verdict.path:
        table.add_row(
            entry.role,
            entry.subject,
            entry.serial,
            f"{entry.not_before:%Y-%m-%d %H:%M:%S} to {entry.not_after:%Y-%m-%d %H:%M:%S}",
        )
    if verdict.path:
        out.print(table)
    # One line each, never folded, so that scripts and people can grep them.
    if verdict.ok:
        out.print(Text(f"VALID: {verdict.detail}", style="bold green"), soft_wrap=True)
    else:
        out.print(
            Text(f"REFUSED ({verdict.code}): {verdict.detail}", style="bold red"), soft_wrap=True
        )
    for note in verdict.notes:
        out.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)


@cli_errors
def verify(
    certificate: Annotated[
        Path, typer.Argument(help="The certificate to check: PEM or DER, one certificate.")
    ],
    trust: Annotated[
        list[Path],
        typer.Option("--trust", help="Trust anchor file(s) (roots); PEM may hold several."),
    ],
    chain: Annotated[
        list[Path] | None,
        typer.Option("--chain", help="Intermediate CA certificate file(s) to build the path."),
    ] = None,
    crl: Annotated[
        list[Path] | None,
        typer.Option("--crl", help="CRL/ARL file(s): the issuing CAs' CRLs, the roots' ARLs."),
    ] = None,
    no_crl: Annotated[
        bool,
        typer.Option(
            "--no-crl",
            help="Accept an issuer with no CRL/ARL given; the output says what was not checked.",
        ),
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Validate at this ISO 8601 time (default now; UTC if no offset)."
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option("--device", help="The device EUI-64 (16 hex digits) the SAN must name."),
    ] = None,
    usage: Annotated[
        Usage | None, typer.Option("--usage", help="The key use intended: ds or ka.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check that a certificate may be relied on: path, signatures, validity, CRLs/ARLs,
    GBCS profile, device and key usage (R-RP-1, R-RP-2)."""
    when = parse_time(at) if at is not None else None
    expect_device = parse_eui64(device) if device is not None else None
    leaf = load_certificate(certificate)
    store = TrustStore.from_der(load_certificates(*trust), load_certificates(*(chain or ())))
    lists = RevocationLists.from_der(load_crls(*(crl or ())))
    verdict = validate(
        leaf,
        trust=store,
        crls=lists,
        at=when,
        expect_device=expect_device,
        expect_usage=KeyUse(usage.value) if usage is not None else None,
        require_crls=not no_crl,
    )
    if json_out:
        print_json(verdict.as_json())
    else:
        _print_text(verdict)
    if verdict.reason is Reason.MALFORMED:
        raise MalformedInput(verdict.detail, rid="R-RP-3")
    if verdict.reason is not None:
        raise NotValid(verdict.detail, code=verdict.reason.value, rid=verdict.reason.rid)
