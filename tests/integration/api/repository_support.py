"""What the repository HTTP tests share: readers of every kind, sessions, and documents
published in the store (a database that outlives one test is ``tests.fixtures.stores.
fresh_database``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx

from smki.clock import Clock
from smki.profiles.kinds import Environment
from smki.repository.documents import DocumentKind, publish_document
from smki.wiring import open_services
from tests.integration.api.support import Subscriber
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.test_aro_authentication import hand_made_token

SESSIONS = "/repository/v1/sessions"
CURRENT_SESSION = "/repository/v1/sessions/current"
CERTIFICATES = "/repository/v1/certificates"
LISTS = "/repository/v1/revocation-lists"
DOCUMENTS = "/repository/v1/documents"


def _json(smki: Smki, *args: str) -> dict[str, object]:
    data = json.loads(smki.ok(*args, "--json").stdout)
    assert isinstance(data, dict)
    return data


def reader_with_aro(
    smki: Smki,
    credential: Path,
    *,
    category: str,
    eui: str,
    name: str,
    env: str = "test",
    srept: bool = True,
) -> Subscriber:
    """A party (or governance body) of ``category`` with a verified identity, an SRO and an
    ARO whose credential is written to ``credential``; SREPT recorded when ``srept``."""
    party = _json(
        smki,
        "party",
        "create",
        *smki.h,
        "--env",
        env,
        "--name",
        name,
        "--category",
        category,
        "--eui",
        eui,
    )
    party_id = int(str(party["id"]))
    p = str(party_id)
    smki.ok("party", "verify-identity", *smki.h, "--party", p, "--by", "RA", "--evidence", "ok")
    smki.ok("officer", "add", *smki.h, "--party", p, "--kind", "sro", "--name", "Sam Senior")
    aro = _json(
        smki,
        "officer",
        "add",
        *smki.h,
        "--party",
        p,
        "--kind",
        "aro",
        "--name",
        f"ARO of {name}",
        "--credential-out",
        str(credential),
    )
    if srept:
        smki.ok("party", "srept-passed", *smki.h, "--party", p)
    return Subscriber(credential, party_id, int(str(aro["id"])))


def token_for(who: Subscriber, clock: Clock, audience: str = SESSIONS) -> str:
    return hand_made_token(who.credential, audience, clock.now())


def sign_in(client: httpx.Client, who: Subscriber, clock: Clock) -> httpx.Response:
    return client.post(SESSIONS, headers={"Authorization": f"Bearer {token_for(who, clock)}"})


def session_headers(client: httpx.Client, who: Subscriber, clock: Clock) -> dict[str, str]:
    """Sign ``who`` in; the headers that present the session."""
    response = sign_in(client, who, clock)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['session']}"}


def publish(
    smki: Smki, kind: DocumentKind, content: bytes, *, media_type: str = "text/plain"
) -> None:
    """Publish the next version of ``kind`` in the Test environment (as the DCC would)."""
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            publish_document(
                tx,
                Environment.TEST,
                kind,
                f"The {kind.value}",
                media_type,
                content,
                "PMA-2026-11",
                "dcc:documents",
                services.clock.now(),
            )
    finally:
        services.close()


def audit_events(smki: Smki) -> int:
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        return sum(1 for _ in services.store.audit_events())
    finally:
        services.close()


def real_now() -> dt.datetime:
    """Now, to the second: a FixedClock started here is never before a credential made
    just before it."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
