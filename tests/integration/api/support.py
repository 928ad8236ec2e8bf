"""A real Service Interface on 127.0.0.1 and the helpers the HTTP tests share."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from smki.api.app import create_app
from smki.clock import Clock
from smki.profiles.kinds import Environment
from smki.wiring import open_services
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.test_aro_authentication import hand_made_token
from tests.integration.test_registration import supplier_with_aro

CERTIFICATES = "/smki/v1/certificates"
REVOCATIONS = "/smki/v1/revocations"
PKCS10 = "application/pkcs10"
PEM = "application/x-pem-file"
DER = "application/pkix-cert"
PROBLEM = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "rid"}
_STARTUP_SECONDS = 20.0


@contextmanager
def serving(
    home: Path, env: Environment | None = None, *, clock: Clock | None = None
) -> Iterator[str]:
    """``create_app(home, env, clock=clock)`` on uvicorn in a background thread; yields its
    base URL. A test that holds the clock (a FixedClock) moves the server's time."""
    config = uvicorn.Config(
        create_app(home, env, clock=clock),
        lifespan="on",
        log_level="warning",
        log_config=None,
        access_log=False,
        http="h11",
        ws="none",
    )
    server = uvicorn.Server(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server failed to start (see the log)")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        # As a load balancer would: requests once /readyz says so (the signing pool started).
        while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready in time")
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_SECONDS)
        listener.close()
        assert not thread.is_alive(), "the server did not shut down"


@dataclass(frozen=True)
class Subscriber:
    """A party with an ARO credential folder."""

    credential: Path
    party_id: int
    aro_id: int


def authorised_supplier(
    ready: Smki, credential: Path, *, env: str = "test", eui: str = "90B3D51F30010000"
) -> Subscriber:
    """An Authorised supplier (identity, SRO, ARO, SREPT recorded)."""
    party_id, aro_id = supplier_with_aro(ready, credential, env=env, eui=eui)
    ready.ok("party", "srept-passed", *ready.h, "--party", str(party_id))
    return Subscriber(credential, party_id, aro_id)


@dataclass(frozen=True)
class Counts:
    certificates: int
    pending_intents: int
    audit_events: int


@dataclass
class Api:
    """An HTTP client of one running server, and the store behind it."""

    smki: Smki
    client: httpx.Client
    env: str = "test"

    def token(self, who: Subscriber, path: str, now: dt.datetime | None = None) -> str:
        return hand_made_token(who.credential, path, now or dt.datetime.now(dt.UTC))

    def auth(self, who: Subscriber, path: str, now: dt.datetime | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who, path, now)}"}

    def post_csr(
        self,
        who: Subscriber | None,
        csr: bytes,
        *,
        accept: str | None = None,
        content_type: str = PKCS10,
        now: dt.datetime | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type}
        if who is not None:
            headers.update(self.auth(who, CERTIFICATES, now))
        if accept is not None:
            headers["Accept"] = accept
        return self.client.post(CERTIFICATES, content=csr, headers=headers)

    def revoke(self, who: Subscriber, serial: str, reason: str) -> httpx.Response:
        return self.client.post(
            REVOCATIONS,
            content=json.dumps({"serial": serial, "reason": reason}).encode(),
            headers={"Content-Type": "application/json", **self.auth(who, REVOCATIONS)},
        )

    def counts(self) -> Counts:
        """What a refusal must leave unchanged (R-SI-3)."""
        services = open_services(self.smki.home, secret=PASSPHRASE.encode())
        try:
            events = sum(1 for _ in services.store.audit_events())
            with services.store.transaction() as tx:
                return Counts(tx.count_certificates(self.env), len(tx.pending_intents()), events)
        finally:
            services.close()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """``response`` is the problem+json document for ``code`` with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == PROBLEM_FIELDS
    assert body["code"] == code, body
    assert body["type"] == f"urn:smki:problem:{code}"
    assert body["status"] == status
    assert response.headers.get("x-request-id")
    return body
