"""``smki client …``: a subscriber's client for the SMKI Service Interface (R-SI-5).

Every request carries a fresh ARO token for its own path (``docs/aro-token.md``), built from
the credential folder. Errors from the service (problem+json) are printed with their code and
end the command with the status of that error family.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from smki.cli.errors import cli_errors
from smki.clock import SystemClock
from smki.errors import (
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    SmkiError,
    StorageError,
    Unauthenticated,
)
from smki.iki.credential_files import LoadedCredential, read_credential
from smki.iki.tokens import make_token

app = typer.Typer(help="Client of the SMKI Service Interface.", no_args_is_help=True)

_FAMILY = {
    400: InputError,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InputError,
    422: InputError,
}
_POLL_SECONDS = 1.0


class Client:
    def __init__(self, url: str, credential: Path, timeout: float = 120.0) -> None:
        self._credential: LoadedCredential = read_credential(credential)
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def _headers(self, path: str, **extra: str) -> dict[str, str]:
        token = make_token(
            self._credential.key,
            self._credential.certificate,
            self._credential.ica,
            aro_id=str(self._credential.info.aro_id),
            audience=path,
            now=SystemClock().now(),
            lifetime=120,
        )
        return {"Authorization": f"Bearer {token}", **extra}

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {} if content_type is None else {"Content-Type": content_type}
        try:
            response = self._http.request(
                method,
                path,
                content=content,
                json=json_body,
                params=params,
                headers=self._headers(path, **headers),
            )
        except httpx.HTTPError as exc:
            raise StorageError(f"cannot reach the service: {exc}", code="unreachable") from exc
        if response.status_code >= 400:
            raise _problem(response)
        return response

    def close(self) -> None:
        self._http.close()


def _problem(response: httpx.Response) -> SmkiError:
    try:
        body = response.json()
        code, detail = str(body.get("code", "http-error")), str(body.get("detail", ""))
    except ValueError:
        code, detail = "http-error", response.text[:200]
    family = _FAMILY.get(response.status_code, SmkiError)
    return family(f"{detail} (HTTP {response.status_code})", code=code)


UrlOption = Annotated[str, typer.Option("--url", envvar="SMKI_URL", help="Service base URL.")]
CredentialOption = Annotated[
    Path, typer.Option("--credential", envvar="SMKI_CREDENTIAL", help="ARO credential folder.")
]


@app.callback()
def client(ctx: typer.Context, url: UrlOption, credential: CredentialOption) -> None:
    """Talk to an SMKI Service Interface as an ARO."""
    ctx.obj = (url, credential)


def _client(ctx: typer.Context) -> Client:
    url, credential = ctx.obj
    return Client(url, credential)


@app.command("submit")
@cli_errors
def submit(
    ctx: typer.Context,
    csrs: Annotated[list[Path], typer.Argument(help="CSR files (PEM or DER).")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the certificates.")] = None,
) -> None:
    """One CSR per request; each certificate is printed (or written to --out)."""
    client = _client(ctx)
    try:
        for path in csrs:
            response = client.request(
                "POST",
                "/smki/v1/certificates",
                content=path.read_bytes(),
                content_type="application/pkcs10",
            )
            if out is None:
                typer.echo(response.text, nl=False)
            else:
                out.mkdir(parents=True, exist_ok=True)
                target = out / (path.stem + ".pem")
                target.write_text(response.text)
                typer.echo(f"{path} → {target} ({response.headers.get('Location', '')})")
    finally:
        client.close()


@app.command("submit-batch")
@cli_errors
def submit_batch(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="Concatenated PEM Device CSRs.")],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow until done.")] = True,
) -> None:
    """Send a batch; with --wait (default) show a progress bar until it is issued."""
    client = _client(ctx)
    try:
        data = bundle.read_bytes()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
        ) as bar:
            upload = bar.add_task("upload", total=len(data))
            response = client.request(
                "POST",
                "/smki/v1/batches",
                content=data,
                content_type="application/x-pem-file",
            )
            bar.update(upload, completed=len(data))
            batch = response.json()
            if not wait:
                bar.stop()
                typer.echo(f"batch {batch['id']}: {batch['count']} CSRs, due {batch['deadline']}")
                return
            issuing = bar.add_task("issue", total=int(batch["count"]))
            status = _follow(client, str(batch["id"]), bar, issuing)
        typer.echo(
            f"batch {status['id']}: {status['state']}, {status['issued']} issued, "
            f"{status['failed']} refused"
        )
    finally:
        client.close()


def _follow(client: Client, batch_id: str, bar: Progress, task: Any) -> dict[str, Any]:
    # The service holds each status request until the batch finishes or a second passes
    # (?wait=): the bar moves every second and the end shows at once, with few requests.
    while True:
        asked = time.monotonic()
        status: dict[str, Any] = client.request(
            "GET", f"/smki/v1/batches/{batch_id}", params={"wait": f"{_POLL_SECONDS:g}"}
        ).json()
        bar.update(task, completed=int(status["issued"]) + int(status["failed"]))
        if status["state"] in ("done", "failed"):
            return status
        # A service that answers at once (one without ?wait=) is not asked in a tight loop.
        time.sleep(max(0.0, _POLL_SECONDS - (time.monotonic() - asked)))


@app.command("batch-status")
@cli_errors
def batch_status(ctx: typer.Context, batch_id: Annotated[str, typer.Argument()]) -> None:
    """The batch's state, counts, deadline and per-CSR errors, as JSON."""
    client = _client(ctx)
    try:
        typer.echo(client.request("GET", f"/smki/v1/batches/{batch_id}").text)
    finally:
        client.close()


@app.command("fetch-batch")
@cli_errors
def fetch_batch(
    ctx: typer.Context,
    batch_id: Annotated[str, typer.Argument()],
    out: Annotated[Path, typer.Option("--out", help="File for the PEM bundle.")],
) -> None:
    """The batch's certificates, in input order, as one PEM bundle."""
    client = _client(ctx)
    try:
        response = client.request("GET", f"/smki/v1/batches/{batch_id}/certificates")
    finally:
        client.close()
    out.write_bytes(response.content)
    typer.echo(f"{response.content.count(b'BEGIN CERTIFICATE'):,} certificates → {out}")


@app.command("revoke")
@cli_errors
def revoke(
    ctx: typer.Context,
    serial: Annotated[str, typer.Argument(help="Serial number in hex.")],
    reason: Annotated[str, typer.Option("--reason")],
) -> None:
    """Revoke one of the party's Organisation Certificates (R-SI-4)."""
    client = _client(ctx)
    try:
        response = client.request(
            "POST", "/smki/v1/revocations", json_body={"serial": serial, "reason": reason}
        )
    finally:
        client.close()
    typer.echo(response.text)
