"""The ``smki`` command: one Typer app; each command lives in its own module."""

from __future__ import annotations

import logging

import typer

from smki.cli import (
    audit_cmd,
    ca_cmd,
    client_cmd,
    document_cmd,
    init_cmd,
    lint_cmd,
    officer_cmd,
    party_cmd,
    pma_cmd,
    repository_cmd,
    serve_cmd,
    token_cmd,
    verify_cmd,
)

app = typer.Typer(
    name="smki",
    help="Smart Metering Key Infrastructure: CAs, registration, repository, validation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(init_cmd.init)
app.command("lint")(lint_cmd.lint)
app.add_typer(ca_cmd.app, name="ca")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(party_cmd.app, name="party")
app.add_typer(officer_cmd.app, name="officer")
app.command("token")(token_cmd.token)
app.command("serve")(serve_cmd.serve)
app.add_typer(client_cmd.app, name="client")
app.add_typer(repository_cmd.app, name="repository")
app.add_typer(document_cmd.app, name="document")
app.add_typer(pma_cmd.app, name="pma")
app.command("verify")(verify_cmd.verify)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log to stderr.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


if __name__ == "__main__":
    app()
