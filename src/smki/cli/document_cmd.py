"""``smki document …``: the SMKI Document Set and the CPSs, versioned (R-DOC-1, R-DOC-2).

Publishing is a DCC action recorded with the SMKI PMA decision that approved the version; it
is audited in the same transaction (``repository.documents.publish_document``). The Device,
Organisation and IKI CPSs are stored confidential: the repository shows them only to the
SMKI PMA and the DCC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from smki.cli.errors import cli_errors
from smki.cli.options import EnvOption, HomeOption
from smki.cli.output import as_dict, print_json
from smki.errors import InputError
from smki.repository.documents import DocumentKind, publish_document
from smki.storage.api import DocumentRow
from smki.wiring import open_services

app = typer.Typer(help="The SMKI Document Set (R-DOC-1).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

#: The media type a file's suffix gives when --media-type is not said.
SUFFIX_MEDIA_TYPES: Final = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _media_type(path: Path, given: str | None) -> str:
    if given:
        return given.strip().lower()
    guessed = SUFFIX_MEDIA_TYPES.get(path.suffix.lower())
    if guessed is None:
        raise InputError(
            f"cannot tell the media type of {path.name}; say it with --media-type",
            code="bad-media-type",
            rid="R-DOC-1",
        )
    return guessed


def _listing(row: DocumentRow) -> dict[str, object]:
    data = as_dict(row)
    data.pop("content", None)
    data.pop("id", None)
    return data


@app.command("publish")
@cli_errors
def publish(
    home: HomeOption,
    file: Annotated[Path, typer.Argument(help="The document's file.")],
    kind: Annotated[str, typer.Option("--kind", help="e.g. rapp, device-cp, iki-cps.")],
    title: Annotated[str, typer.Option("--title")],
    approved_by: Annotated[
        str, typer.Option("--approved-by", help="The SMKI PMA decision approving it.")
    ],
    media_type: Annotated[
        str | None, typer.Option("--media-type", help="Default: from the file's suffix.")
    ] = None,
    env: EnvOption = None,
    json_out: JsonOption = False,
) -> None:
    """Publish the next version of a document of the Document Set (R-DOC-1)."""
    document_kind = DocumentKind.parse(kind)
    chosen_type = _media_type(file, media_type)
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}", code="unreadable-file") from None
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        with services.store.transaction() as tx:
            row = publish_document(
                tx,
                environment,
                document_kind,
                title,
                chosen_type,
                content,
                approved_by,
                services.actor,
                services.clock.now(),
            )
    finally:
        services.close()
    if json_out:
        print_json(_listing(row))
        return
    secrecy = " (confidential: SMKI PMA and DCC only)" if row.confidential else ""
    typer.echo(
        f"published {row.kind} version {row.version}, {row.size} bytes, "
        f"sha256 {row.sha256.hex()}{secrecy}"
    )


@app.command("list")
@cli_errors
def list_documents(home: HomeOption, env: EnvOption = None, json_out: JsonOption = False) -> None:
    """Every version of every document, confidential ones included (an operator's view)."""
    services = open_services(home)
    try:
        environment = services.choose_environment(env)
        with services.store.reading() as tx:
            rows = tx.documents(environment)
    finally:
        services.close()
    if json_out:
        print_json([_listing(row) for row in rows])
        return
    table = Table(title=f"documents ({environment})")
    for column in ("kind", "version", "confidential", "title", "bytes", "approved by"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.kind,
            str(row.version),
            "yes" if row.confidential else "no",
            row.title,
            str(row.size),
            row.approved_by,
        )
    Console().print(table)
