"""ARO tokens checked against the store (R-IKI-1, R-PART-2, R-PART-6).

The token is built by hand from the documented format (docs/aro-token.md) for the valid
case, and through ``smki token`` for the CLI; every refusal has its own code.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from smki.clock import FixedClock, SystemClock
from smki.errors import Forbidden, Unauthenticated
from smki.iki.credential_files import read_credential
from smki.iki.tokens import make_token
from smki.profiles.kinds import Environment
from smki.ra.authentication import authenticate
from smki.wiring import open_services
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.test_registration import supplier_with_aro

AUD = "/smki/v1/certificates"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(credential: Path, audience: str, now: dt.datetime) -> str:
    """Built from docs/aro-token.md with nothing but cryptography and the standard library."""
    cert = x509.load_pem_x509_certificate((credential / "aro.pem").read_bytes())
    ica = x509.load_pem_x509_certificate((credential / "ica.pem").read_bytes())
    key = load_pem_private_key((credential / "aro.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    header = {
        "alg": "ES256",
        "typ": "JWT",
        "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in (cert, ica)],
    }
    iat = int(now.timestamp())
    claims = {
        "aud": audience,
        "iat": iat,
        "exp": iat + 120,
        "jti": secrets.token_urlsafe(24),
        "sub": str(json.loads((credential / "aro.json").read_text())["aro_id"]),
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _check(
    smki: Smki,
    token: str,
    *,
    audience: str = AUD,
    env: str = "test",
    clock: FixedClock | None = None,
) -> None:
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        authenticate(
            services.store, clock or SystemClock(), Environment(env), f"Bearer {token}", audience
        )
    finally:
        services.close()


def _refused(smki: Smki, token: str, code: str, **kwargs: object) -> None:
    with pytest.raises((Unauthenticated, Forbidden)) as refused:
        _check(smki, token, **kwargs)  # type: ignore[arg-type]
    assert refused.value.code == code


@pytest.fixture
def authorised(ready: Smki, tmp_path: Path) -> tuple[Smki, Path, int, int]:
    credential = tmp_path / "aro"
    party_id, aro_id = supplier_with_aro(ready, credential)
    ready.ok("party", "srept-passed", *ready.h, "--party", str(party_id))
    return ready, credential, party_id, aro_id


def test_hand_made_token_is_accepted_once(authorised: tuple[Smki, Path, int, int]) -> None:
    smki, credential, _, _ = authorised
    token = hand_made_token(credential, AUD, dt.datetime.now(dt.UTC))
    _check(smki, token)
    _refused(smki, token, "token-replayed")


def test_cli_token_is_accepted(authorised: tuple[Smki, Path, int, int]) -> None:
    smki, credential, _, _ = authorised
    token = smki.ok("token", "--credential", str(credential), "--aud", AUD + "?x=1").stdout
    _check(smki, token.strip())


def test_time_and_audience(authorised: tuple[Smki, Path, int, int]) -> None:
    smki, credential, _, _ = authorised
    now = dt.datetime.now(dt.UTC)
    _refused(smki, hand_made_token(credential, AUD, now - dt.timedelta(minutes=5)), "token-expired")
    _refused(
        smki, hand_made_token(credential, AUD, now + dt.timedelta(minutes=5)), "token-not-yet-valid"
    )
    _refused(smki, hand_made_token(credential, "/smki/v1/batches", now), "token-audience")


def test_wrong_key_is_refused(authorised: tuple[Smki, Path, int, int]) -> None:
    smki, credential, _, aro_id = authorised
    loaded = read_credential(credential)
    token = make_token(
        ec.generate_private_key(ec.SECP256R1()),
        loaded.certificate,
        loaded.ica,
        aro_id=str(aro_id),
        audience=AUD,
        now=dt.datetime.now(dt.UTC),
    )
    _refused(smki, token, "token-signature")


@pytest.mark.parametrize(
    ("served", "code"), [("test", "token-untrusted"), ("live", "srept-not-completed")]
)
def test_a_live_aro_without_srept(
    authorised: tuple[Smki, Path, int, int], tmp_path: Path, served: str, code: str
) -> None:
    """Presented to Test, a Live credential is from another environment's ICA; presented to
    Live, its party has not completed SREPT (R-PART-6)."""
    smki, _, _, _ = authorised
    smki.ok("init", *smki.h, "--env", "live")
    live_credential = tmp_path / "live-aro"
    supplier_with_aro(smki, live_credential, env="live")
    token = hand_made_token(live_credential, AUD, dt.datetime.now(dt.UTC))
    _refused(smki, token, code, env=served)


def test_revoked_and_removed_aros(authorised: tuple[Smki, Path, int, int], tmp_path: Path) -> None:
    smki, credential, party_id, aro_id = authorised
    serial = (
        f"{x509.load_pem_x509_certificate((credential / 'aro.pem').read_bytes()).serial_number:X}"
    )
    smki.ok("ca", "revoke", *smki.h, "--serial", serial, "--reason", "keyCompromise")
    _refused(smki, hand_made_token(credential, AUD, dt.datetime.now(dt.UTC)), "token-revoked")
    second = tmp_path / "aro2"
    aro2 = json.loads(
        smki.ok(
            "officer",
            "add",
            *smki.h,
            "--party",
            str(party_id),
            "--kind",
            "aro",
            "--name",
            "Second",
            "--credential-out",
            str(second),
            "--json",
        ).stdout
    )
    _check(smki, hand_made_token(second, AUD, dt.datetime.now(dt.UTC)))
    smki.ok("officer", "remove", *smki.h, "--officer", str(aro2["id"]))
    _refused(smki, hand_made_token(second, AUD, dt.datetime.now(dt.UTC)), "aro-removed")
    del aro_id


def test_party_losing_its_sro_is_forbidden(authorised: tuple[Smki, Path, int, int]) -> None:
    smki, credential, party_id, _ = authorised
    officers = json.loads(
        smki.ok("officer", "list", *smki.h, "--party", str(party_id), "--json").stdout
    )
    sro = next(o for o in officers if o["kind"] == "sro")
    smki.ok("officer", "remove", *smki.h, "--officer", str(sro["id"]))
    _refused(
        smki, hand_made_token(credential, AUD, dt.datetime.now(dt.UTC)), "not-authorised-subscriber"
    )
