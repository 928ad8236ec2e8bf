"""``smki lint FILE…``: lint certificates and CRLs from files (R-PROF-40).

Each file may be DER or PEM, and a PEM file may hold several blocks; every certificate and CRL
in it is linted with the GBCS lints and pkilint's RFC 5280 lints. Exit status: 0 when no
finding has error severity, 1 when one does, 2 when a file cannot be read or holds something
that is not a certificate or CRL (keys, CSRs, garbage) — the InputError status.

The main app registers this function with ``app.command("lint")(lint)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from smki.errors import InputError, MalformedInput
from smki.lint import CertKind, Finding, lint_certificate, lint_crl
from smki.lint.loading import read_documents

#: Exit status when any error-severity finding was produced.
EXIT_FINDINGS = 1
_STYLES = {"error": "bold red", "warning": "yellow", "notice": "cyan"}
_NOT_LINTABLE = {"csr": "a CSR", "private-key": "a private key", "public-key": "a public key"}


def _lint_file(path: Path, kind: CertKind | None) -> list[tuple[str, list[Finding]]]:
    """(document label, findings) for every document in one file; InputError if unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MalformedInput(f"cannot read the file: {exc.strerror or exc}") from exc
    documents = read_documents(data)
    several = len(documents) > 1
    results: list[tuple[str, list[Finding]]] = []
    for number, document in enumerate(documents, start=1):
        label = f"{path} [block {number}]" if several else str(path)
        if document.kind == "certificate":
            results.append((label, lint_certificate(document.der, kind=kind)))
        elif document.kind == "crl":
            results.append((label, lint_crl(document.der)))
        else:
            where = f"PEM block {number} holds" if several else "holds"
            raise MalformedInput(
                f"{where} {_NOT_LINTABLE[document.kind]}; lint takes certificates and CRLs"
            )
    return results


def _line(finding: Finding) -> Text:
    # One line per finding (soft-wrapped, never folded mid-name) so output stays greppable;
    # Text, not markup, because messages hold brackets ("[commonName,] …").
    line = Text("  ")
    line.append(f"{finding.severity:<7}", style=_STYLES[finding.severity])
    line.append(f"  {finding.lint}", style="bold")
    line.append(f"  [{finding.rid}]  ", style="dim")
    line.append(finding.message)
    return line


def lint(
    files: Annotated[
        list[Path],
        typer.Argument(help="Certificate or CRL files, PEM (one or more blocks) or DER."),
    ],
    kind: Annotated[
        CertKind | None,
        typer.Option(help="Certificate profile to lint against; detected when omitted."),
    ] = None,
) -> None:
    """Lint certificates and CRLs against the GBCS profiles and RFC 5280."""
    out = Console()
    exit_status = 0
    documents = findings_count = 0
    for path in files:
        try:
            results = _lint_file(path, kind)
        except InputError as exc:
            typer.echo(f"{path}: {exc.detail}", err=True)
            exit_status = max(exit_status, exc.exit_status)
            continue
        for label, findings in results:
            documents += 1
            findings_count += len(findings)
            if not findings:
                out.print(Text(f"{label}: clean", style="green"), soft_wrap=True)
                continue
            out.print(Text(f"{label}:", style="bold"), soft_wrap=True)
            for finding in findings:
                out.print(_line(finding), soft_wrap=True)
            if any(f.severity == "error" for f in findings):
                exit_status = max(exit_status, EXIT_FINDINGS)
    out.print(Text(f"{documents} document(s) in {len(files)} file(s), {findings_count} finding(s)"))
    if exit_status:
        raise typer.Exit(exit_status)
