"""Who may read the repository, and for how long (R-REP-3, R-PART-5, R-PART-6, R-IKI-1).

Each test has its own home (SQLite and PostgreSQL): they change who is appointed and what is
revoked. Servers that must see time pass run on a FixedClock the test moves, so a session's
5-second recheck and one-hour lifetime are crossed without sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from cryptography import x509

from smki.clock import FixedClock
from smki.profiles.kinds import Environment
from smki.wiring import open_services
from tests.integration.api.repository_support import (
    CERTIFICATES,
    CURRENT_SESSION,
    SESSIONS,
    audit_events,
    reader_with_aro,
    real_now,
    session_headers,
    sign_in,
    token_for,
)
from tests.integration.api.support import Subscriber, assert_problem, serving
from tests.integration.cli_support import PASSPHRASE, Smki

#: Past the SessionBook's recheck bound (5 s, docs/repository.md).
PAST_RECHECK = dt.timedelta(seconds=6)


def _reads(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.get(CERTIFICATES, params={"limit": "1"}, headers=headers)


def test_live_repository_needs_srept_but_not_for_the_panel(
    server_env: Smki, tmp_path: Path
) -> None:
    """A SEC Party reads Live only once the DCC recorded its SREPT completion; the SEC Panel,
    a governance body, never takes SREPT; on Test, SREPT is not a precondition (R-REP-3)."""
    smki = server_env
    smki.ok("init", *smki.h, "--env", "live")
    live_supplier = reader_with_aro(
        smki,
        tmp_path / "live",
        category="import-supplier",
        eui="90B3D51F30010000",
        name="Live Supplier",
        env="live",
        srept=False,
    )
    panel = reader_with_aro(
        smki,
        tmp_path / "panel",
        category="sec-panel",
        eui="90B3D51F30040000",
        name="SEC Panel",
        env="live",
        srept=False,
    )
    test_supplier = reader_with_aro(
        smki,
        tmp_path / "test",
        category="import-supplier",
        eui="90B3D51F30010000",
        name="Test Supplier",
        srept=False,
    )
    clock = FixedClock(real_now())
    with (
        serving(smki.home, Environment.LIVE, clock=clock) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        before = audit_events(smki)
        body = assert_problem(sign_in(client, live_supplier, clock), 403, "srept-not-completed")
        assert body["rid"] == "R-REP-3"
        assert audit_events(smki) == before  # no session, no sign-in event

        admitted = sign_in(client, panel, clock)
        assert admitted.status_code == 201, admitted.text
        assert admitted.json()["reader"]["kind"] == "sec-panel"

        smki.ok("party", "srept-passed", *smki.h, "--party", str(live_supplier.party_id))
        answer = sign_in(client, live_supplier, clock)
        assert answer.status_code == 201, answer.text
        assert answer.json()["reader"] == {
            "kind": "sec-party",
            "environment": "live",
            "party_id": live_supplier.party_id,
            "party_name": "Live Supplier",
            "officer_id": live_supplier.aro_id,
        }
        session = {"Authorization": f"Bearer {answer.json()['session']}"}
        assert _reads(client, session).status_code == 200
    with (
        serving(smki.home, Environment.TEST, clock=clock) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        assert sign_in(client, test_supplier, clock).status_code == 201


def _credential_serial(who: Subscriber) -> str:
    certificate = x509.load_pem_x509_certificate((who.credential / "aro.pem").read_bytes())
    return f"{certificate.serial_number:X}"


def _second_aro(smki: Smki, first: Subscriber, credential: Path) -> Subscriber:
    added = smki.ok(
        "officer",
        "add",
        *smki.h,
        "--party",
        str(first.party_id),
        "--kind",
        "aro",
        "--name",
        "Second ARO",
        "--credential-out",
        str(credential),
        "--json",
    )
    return Subscriber(credential, first.party_id, int(json.loads(added.stdout)["id"]))


def test_revoked_credential_and_removed_aro_are_shut_out(server_env: Smki, tmp_path: Path) -> None:
    """Revoking an ARO's IKI credential refuses its next sign-in and ends its open session at
    the next recheck; removing an ARO ends its sessions in the store at once (R-PART-5)."""
    smki = server_env
    revoked = reader_with_aro(
        smki, tmp_path / "one", category="import-supplier", eui="90B3D51F30010000", name="Sup"
    )
    removed = _second_aro(smki, revoked, tmp_path / "two")
    clock = FixedClock(real_now())
    with serving(smki.home, clock=clock) as base_url, httpx.Client(base_url=base_url) as client:
        first = session_headers(client, revoked, clock)
        second = session_headers(client, removed, clock)
        assert _reads(client, first).status_code == 200
        assert _reads(client, second).status_code == 200

        smki.ok(
            "ca",
            "revoke",
            *smki.h,
            "--serial",
            _credential_serial(revoked),
            "--reason",
            "keyCompromise",
        )
        assert_problem(sign_in(client, revoked, clock), 401, "token-revoked")
        clock.advance(PAST_RECHECK)
        body = assert_problem(_reads(client, first), 401, "token-revoked")
        assert body["rid"] == "R-IKI-1"
        assert _reads(client, second).status_code == 200  # the other ARO is untouched

        smki.ok("officer", "remove", *smki.h, "--officer", str(removed.aro_id))
        clock.advance(PAST_RECHECK)
        assert_problem(_reads(client, second), 401, "session-invalid")
        assert_problem(sign_in(client, removed, clock), 401, "aro-removed")


def _actions(smki: Smki) -> list[str]:
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        return [event.action for event in services.store.audit_events()]
    finally:
        services.close()


def test_session_from_sign_in_to_sign_out(server_env: Smki, tmp_path: Path) -> None:
    smki = server_env
    supplier = reader_with_aro(
        smki, tmp_path / "aro", category="import-supplier", eui="90B3D51F30010000", name="Sup"
    )
    clock = FixedClock(real_now())
    with serving(smki.home, clock=clock) as base_url, httpx.Client(base_url=base_url) as client:
        before = _actions(smki)
        assert_problem(client.post(SESSIONS), 401, "token-missing")
        wrong_path = token_for(supplier, clock, audience="/smki/v1/certificates")
        assert_problem(
            client.post(SESSIONS, headers={"Authorization": f"Bearer {wrong_path}"}),
            401,
            "token-audience",
        )
        assert_problem(_reads(client, {}), 401, "session-missing")
        aro_token = {"Authorization": f"Bearer {token_for(supplier, clock, CERTIFICATES)}"}
        assert_problem(_reads(client, aro_token), 401, "session-invalid")
        assert _actions(smki) == before

        token = token_for(supplier, clock)
        answer = client.post(SESSIONS, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.text
        assert answer.headers["cache-control"] == "no-store"
        secret = answer.json()["session"]
        assert secret.startswith("smkis_")
        expires = dt.datetime.fromisoformat(answer.json()["expires_at"])
        assert expires == clock.now() + dt.timedelta(hours=1)
        assert _actions(smki) == [*before, "repository.sign-in"]
        replayed = client.post(SESSIONS, headers={"Authorization": f"Bearer {token}"})
        assert_problem(replayed, 401, "token-replayed")

        # The portal's cookie carries the same secret; a header, when sent, is what counts.
        client.cookies.set("smki_session", secret)
        assert _reads(client, {}).status_code == 200
        forged = {"Authorization": "Bearer smkis_forged"}
        assert_problem(_reads(client, forged), 401, "session-invalid")
        client.cookies.clear()

        clock.advance(dt.timedelta(hours=1, seconds=1))
        session = {"Authorization": f"Bearer {secret}"}
        assert_problem(_reads(client, session), 401, "session-expired")

        again = session_headers(client, supplier, clock)
        assert _reads(client, again).status_code == 200
        assert client.delete(CURRENT_SESSION, headers=again).status_code == 204
        assert_problem(_reads(client, again), 401, "session-invalid")
        assert_problem(client.delete(CURRENT_SESSION, headers=again), 401, "session-invalid")
        assert _actions(smki)[-2:] == ["repository.sign-in", "repository.sign-out"]
