"""ARO bearer tokens (R-IKI-1): one accepted token, and each refusal with its own code."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.errors import StorageError, Unauthenticated
from smki.iki import jws
from smki.iki.tokens import (
    CLOCK_SKEW,
    MAX_LIFETIME,
    REFUSAL_CODES,
    TokenClaims,
    bearer_token,
    make_token,
    verify_token,
)
from tests.unit.iki import ARO_ID, AUDIENCE, NOW, Environment, FakeTrust, environment

HERE = environment("Here")
ELSEWHERE = environment("Elsewhere")
SECONDS = dt.timedelta(seconds=1)
JTI = "abcdefghijklmnop0123456789_-"


@pytest.fixture(autouse=True)
def _no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # verify_token logs an exception its checks did not foresee: none of these may do so.
    yield
    assert [r.getMessage() for r in caplog.records if r.name == "smki.iki.tokens"] == []


def _trust() -> FakeTrust:
    return FakeTrust([ELSEWHERE.ica_der[:10] + b"x", HERE.ica_der])


def _refused(token: str, *, trust: FakeTrust | None = None, at: dt.datetime = NOW) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verify_token(token, audience=AUDIENCE, now=at, trust=trust or _trust())
    assert caught.value.code in REFUSAL_CODES
    assert caught.value.rid == "R-IKI-1"
    return caught.value.code


def _header(**changes: object) -> dict[str, object]:
    header: dict[str, object] = {
        "alg": "ES256",
        "typ": "JWT",
        "x5c": [jws.b64_der_encode(HERE.aro_der), jws.b64_der_encode(HERE.ica_der)],
    }
    header.update(changes)
    return header


def _claims(**changes: object) -> dict[str, object]:
    iat = int(NOW.timestamp())
    claims: dict[str, object] = {
        "sub": ARO_ID,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + 300,
        "jti": JTI,
    }
    claims.update(changes)
    return claims


def _signed(header: dict[str, object], claims: dict[str, object], env: Environment = HERE) -> str:
    return jws.encode_es256(header, claims, env.aro_key)


def _segments(token: str) -> list[str]:
    return token.split(".")


def _json(segment: str) -> dict[str, object]:
    value = json.loads(jws.b64url_decode(segment))
    assert isinstance(value, dict)
    return value


# -- accepted -------------------------------------------------------------------------------


def test_a_valid_token_is_accepted_and_its_jti_recorded() -> None:
    trust = _trust()
    verified = verify_token(HERE.token(jti=JTI), audience=AUDIENCE, now=NOW, trust=trust)
    iat = int(NOW.timestamp())
    assert verified.claims == TokenClaims(
        sub=ARO_ID, aud=AUDIENCE, iat=iat, exp=iat + MAX_LIFETIME, jti=JTI
    )
    assert verified.certificate == HERE.aro and verified.ica == HERE.ica
    assert trust.jtis == {JTI: NOW + MAX_LIFETIME * SECONDS}


def test_the_token_has_the_documented_shape() -> None:
    header_b64, payload_b64, signature_b64 = _segments(HERE.token(jti=JTI))
    assert _json(header_b64) == _header()
    assert _json(payload_b64) == _claims()
    assert len(jws.b64url_decode(signature_b64)) == 64


def test_a_default_jti_is_random_and_well_formed() -> None:
    first, second = (_json(_segments(HERE.token())[1])["jti"] for _ in range(2))
    assert first != second
    assert isinstance(first, str) and len(first) == 32


@pytest.mark.parametrize("offset", [0, MAX_LIFETIME])
def test_a_token_is_accepted_until_its_exp(offset: int) -> None:
    verify_token(HERE.token(), audience=AUDIENCE, now=NOW + offset * SECONDS, trust=_trust())


def test_a_token_within_the_clock_skew_is_accepted() -> None:
    token = HERE.token(at=NOW + CLOCK_SKEW * SECONDS)
    verify_token(token, audience=AUDIENCE, now=NOW, trust=_trust())


def test_bearer_token_extracts_the_token() -> None:
    assert bearer_token("Bearer a.b.c") == "a.b.c"
    assert bearer_token("bEaReR   a.b.c ") == "a.b.c"


# -- refused: time and lifetime -------------------------------------------------------------


def test_an_expired_token_is_refused() -> None:
    assert _refused(HERE.token(), at=NOW + (MAX_LIFETIME + 1) * SECONDS) == "token-expired"


def test_a_future_dated_token_is_refused() -> None:
    token = HERE.token(at=NOW + (CLOCK_SKEW + 1) * SECONDS)
    assert _refused(token) == "token-not-yet-valid"


@pytest.mark.parametrize("lifetime", [MAX_LIFETIME + 1, 0, -1, 10**30])
def test_a_lifetime_outside_1_to_300_seconds_is_refused(lifetime: int) -> None:
    iat = int(NOW.timestamp())
    token = _signed(_header(), _claims(exp=iat + lifetime))
    assert _refused(token) == "token-lifetime"


# -- refused: audience, replay --------------------------------------------------------------


@pytest.mark.parametrize("audience", ["/api/v1/other", AUDIENCE + "/", AUDIENCE + "?x=1", ""])
def test_a_token_for_another_path_is_refused(audience: str) -> None:
    assert _refused(HERE.token(audience=audience)) == "token-audience"


def test_a_replayed_jti_is_refused() -> None:
    trust = _trust()
    verify_token(HERE.token(jti=JTI), audience=AUDIENCE, now=NOW, trust=trust)
    assert _refused(HERE.token(jti=JTI), trust=trust) == "token-replayed"
    fresh = HERE.token(jti=JTI, at=NOW + SECONDS)  # another token with the same jti
    assert _refused(fresh, trust=trust, at=NOW + SECONDS) == "token-replayed"


def _revoked_trust() -> FakeTrust:
    trust = _trust()
    trust.revoked.add(HERE.aro.serial_number)
    return trust


@pytest.mark.parametrize(
    ("token", "trust", "code"),
    [
        (HERE.token(jti=JTI, audience="/elsewhere"), _trust(), "token-audience"),
        (HERE.token(jti=JTI), FakeTrust([ELSEWHERE.ica_der]), "token-untrusted"),
        (HERE.token(jti=JTI), _revoked_trust(), "token-revoked"),
        (HERE.token(jti=JTI, at=NOW - 400 * SECONDS), _trust(), "token-expired"),
    ],
)
def test_a_refused_token_does_not_consume_its_jti(token: str, trust: FakeTrust, code: str) -> None:
    assert _refused(token, trust=trust) == code
    assert trust.jtis == {}
    trust.revoked.clear()
    trust.icas = [HERE.ica_der]
    verify_token(HERE.token(jti=JTI), audience=AUDIENCE, now=NOW, trust=trust)


# -- refused: signature, chain, certificate -------------------------------------------------


def test_a_token_signed_with_another_key_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    token = make_token(other, HERE.aro_der, HERE.ica_der, aro_id=ARO_ID, audience=AUDIENCE, now=NOW)
    assert _refused(token) == "token-signature"


def test_a_certificate_from_another_environment_is_refused() -> None:
    assert _refused(ELSEWHERE.token()) == "token-untrusted"


def _foreign_aro_token() -> str:
    """Elsewhere's ARO, presented with our (trusted) ICA: signature fine, chain broken."""
    return make_token(
        ELSEWHERE.aro_key,
        ELSEWHERE.aro_der,
        HERE.ica_der,
        aro_id=ARO_ID,
        audience=AUDIENCE,
        now=NOW,
    )


def test_an_aro_certificate_not_issued_by_the_x5c_ica_is_refused() -> None:
    assert _refused(_foreign_aro_token()) == "token-untrusted"


def test_remembered_chain_checks_decide_as_the_first_check_did() -> None:
    # The outcome of the ARO-under-ICA signature check is remembered per x5c pair: a pair
    # that verified keeps verifying, a pair that did not keeps being refused; trust and
    # revocation are still asked of the store every time (R-IKI-1).
    mixed_x5c = _foreign_aro_token()
    for _ in range(2):
        assert _refused(mixed_x5c) == "token-untrusted"
        verified = verify_token(HERE.token(), audience=AUDIENCE, now=NOW, trust=_trust())
        assert verified.certificate.public_bytes(Encoding.DER) == HERE.aro_der
    # A remembered pair is still refused once its ICA is no longer trusted, or revoked.
    assert _refused(HERE.token(), trust=FakeTrust([ELSEWHERE.ica_der])) == "token-untrusted"
    assert _refused(HERE.token(), trust=_revoked_trust()) == "token-revoked"


def test_the_ica_itself_cannot_stand_in_for_an_aro() -> None:
    token = make_token(
        HERE.ica_key, HERE.ica_der, HERE.ica_der, aro_id=ARO_ID, audience=AUDIENCE, now=NOW
    )
    assert _refused(token) == "token-untrusted"


def test_a_revoked_aro_certificate_is_refused() -> None:
    assert _refused(HERE.token(), trust=_revoked_trust()) == "token-revoked"


@pytest.mark.parametrize(
    ("not_before", "not_after"),
    [(NOW - 2 * dt.timedelta(days=30), NOW - SECONDS), (NOW + SECONDS, NOW + dt.timedelta(days=1))],
)
def test_an_aro_certificate_outside_its_validity_is_refused(
    not_before: dt.datetime, not_after: dt.datetime
) -> None:
    token = HERE.issue_aro(not_before, not_after).token()
    assert _refused(token) == "token-certificate-expired"


# -- refused: tampering and algorithm confusion ---------------------------------------------


def test_a_tampered_payload_is_refused() -> None:
    header_b64, _, signature_b64 = _segments(HERE.token(jti=JTI))
    payload_b64 = jws.json_segment(_claims(sub="43"))
    assert _refused(f"{header_b64}.{payload_b64}.{signature_b64}") == "token-signature"


def test_a_tampered_header_is_refused() -> None:
    _, payload_b64, signature_b64 = _segments(HERE.token(jti=JTI))
    header = _header()
    del header["typ"]
    assert _refused(f"{jws.json_segment(header)}.{payload_b64}.{signature_b64}") == (
        "token-signature"
    )


def test_a_tampered_signature_is_refused() -> None:
    header_b64, payload_b64, signature_b64 = _segments(HERE.token())
    signature = bytearray(jws.b64url_decode(signature_b64))
    signature[5] ^= 1
    tampered = f"{header_b64}.{payload_b64}.{jws.b64url_encode(bytes(signature))}"
    assert _refused(tampered) == "token-signature"


@pytest.mark.parametrize(
    "signature", [b"", b"\x01" * 63, b"\x01" * 65, b"\x00" * 64, b"\xff" * 64, b"\x01" * 64]
)
def test_a_signature_of_the_wrong_length_or_out_of_range_is_refused(signature: bytes) -> None:
    header_b64, payload_b64, _ = _segments(HERE.token())
    signature_b64 = jws.b64url_encode(signature)
    token = f"{header_b64}.{payload_b64}.{signature_b64}"
    assert _refused(token) == "token-signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_an_unsigned_token_is_refused(alg: str) -> None:
    token = f"{jws.json_segment(_header(alg=alg))}.{jws.json_segment(_claims())}."
    assert _refused(token) == "token-alg"


@pytest.mark.parametrize(
    "secret", [HERE.aro_der, HERE.aro.public_bytes(Encoding.PEM), HERE.ica_der]
)
def test_an_hmac_token_keyed_with_the_certificate_is_refused(secret: bytes) -> None:
    signing_input = f"{jws.json_segment(_header(alg='HS256'))}.{jws.json_segment(_claims())}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    assert _refused(f"{signing_input}.{jws.b64url_encode(mac)}") == "token-alg"


@pytest.mark.parametrize("alg", ["ES384", "RS256", "PS256", "EdDSA", "es256", 256, None])
def test_any_other_alg_is_refused(alg: object) -> None:
    assert _refused(_signed(_header(alg=alg), _claims())) == "token-alg"


def test_a_missing_alg_is_refused() -> None:
    header = _header()
    del header["alg"]
    assert _refused(_signed(header, _claims())) == "token-alg"


# -- refused: header ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "crit", "kid", "x5t#S256", "cty", "b64"])
def test_an_unexpected_header_parameter_is_refused(name: str) -> None:
    jwk = {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}
    assert _refused(_signed(_header(**{name: jwk}), _claims())) == "token-header"


@pytest.mark.parametrize("typ", ["jwt", "JOSE", "", None, 1])
def test_a_typ_other_than_jwt_is_refused(typ: object) -> None:
    assert _refused(_signed(_header(typ=typ), _claims())) == "token-header"


def test_typ_is_optional() -> None:
    header = _header()
    del header["typ"]
    verify_token(_signed(header, _claims()), audience=AUDIENCE, now=NOW, trust=_trust())


def _wrapped(der: bytes) -> str:
    text = jws.b64_der_encode(der)
    return "\n".join(text[i : i + 64] for i in range(0, len(text), 64))


def _x5c(*ders: bytes) -> list[str]:
    return [jws.b64_der_encode(d) for d in ders]


@pytest.mark.parametrize(
    "x5c",
    [
        _x5c(HERE.aro_der, HERE.ica_der, HERE.ica_der),
        _x5c(HERE.aro_der),
        [],
        None,
        "MII",
        {"0": "x"},
        [jws.b64_der_encode(HERE.aro_der), 1],
        [jws.b64url_encode(HERE.aro_der), jws.b64_der_encode(HERE.ica_der)],  # url-safe
        [_wrapped(HERE.aro_der), jws.b64_der_encode(HERE.ica_der)],  # MIME line breaks
        _x5c(b"\x30\x03\x02\x01\x01", HERE.ica_der),
        _x5c(HERE.aro.public_bytes(Encoding.PEM), HERE.ica_der),
    ],
)
def test_x5c_must_hold_exactly_two_base64_der_certificates(x5c: object) -> None:
    assert _refused(_signed(_header(x5c=x5c), _claims())) == "token-x5c"


def test_a_missing_x5c_is_refused() -> None:
    header = _header()
    del header["x5c"]
    assert _refused(_signed(header, _claims())) == "token-x5c"


# -- refused: claims ------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["sub", "aud", "iat", "exp", "jti"])
def test_a_missing_claim_is_refused(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    assert _refused(_signed(_header(), claims)) == "token-claims"


@pytest.mark.parametrize("claim", ["nbf", "iss", "extra"])
def test_an_unknown_claim_is_refused(claim: str) -> None:
    assert _refused(_signed(_header(), _claims(**{claim: 1}))) == "token-claims"


@pytest.mark.parametrize("sub", ["", "abc", "4 2", "-42", "4.2", "٤٢", "42\n", 42, None, "1" * 21])
def test_a_sub_that_is_not_decimal_digits_is_refused(sub: object) -> None:
    assert _refused(_signed(_header(), _claims(sub=sub))) == "token-claims"


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": float(int(NOW.timestamp()))},
        {"exp": str(int(NOW.timestamp()) + 300)},
        {"iat": True},
        {"exp": None},
        {"aud": ["/api/v1/certificate-requests"]},
        {"jti": "short"},
        {"jti": "x" * 129},
        {"jti": "abcdefghijklmnop+/"},
        {"jti": 1234567890123456789},
    ],
)
def test_claims_of_the_wrong_type_or_form_are_refused(changes: dict[str, object]) -> None:
    assert _refused(_signed(_header(), _claims(**changes))) == "token-claims"


# -- refused: malformed ---------------------------------------------------------------------


def _raw(header: bytes, payload: bytes, signature: bytes = b"\x00" * 64) -> str:
    return ".".join(jws.b64url_encode(part) for part in (header, payload, signature))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        HERE.token() + ".",
        HERE.token() + ".e30",
        "." + HERE.token(),
        HERE.token().replace(".", "..", 1),
        HERE.token() + "=",
        HERE.token().replace("-", "+").replace("_", "/") + "+/",
        HERE.token() + "é",
        HERE.token() + " ",
        HERE.token()[:-1] + "\n",
        "x" * (16 * 1024 + 1),
        _raw(b"not json", json.dumps(_claims()).encode()),
        _raw(b"[]", json.dumps(_claims()).encode()),
        _raw(json.dumps(_header()).encode(), b"[1, 2]"),
        _raw(json.dumps(_header()).encode(), b'"claims"'),
        _raw(json.dumps(_header()).encode(), b"\xff\xfe"),
        _raw(b'{"alg":"none","alg":"ES256"}', json.dumps(_claims()).encode()),
        _raw(json.dumps(_header()).encode(), b'{"sub":"1","sub":"2"}'),
        _raw(json.dumps(_header()).encode(), b'{"exp": NaN}'),
        _raw(json.dumps(_header()).encode(), b"[" * 3000 + b"]" * 3000),
        _raw(json.dumps(_header()).encode(), b'{"iat": 1' + b"0" * 5000 + b"}"),
    ],
)
def test_a_malformed_token_is_refused(token: str) -> None:
    assert _refused(token) == "token-malformed"


def test_a_non_canonical_base64url_segment_is_refused() -> None:
    header_b64, payload_b64, signature_b64 = _segments(HERE.token())
    last = jws.b64url_encode(jws.b64url_decode(signature_b64))[-1]
    # 64 octets leave 4 unused bits in the last character: set one of them.
    bumped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    changed = bumped[bumped.index(last) + 1]
    token = f"{header_b64}.{payload_b64}.{signature_b64[:-1]}{changed}"
    assert _refused(token) == "token-malformed"


def test_a_lone_surrogate_in_a_claim_is_refused() -> None:
    payload = json.dumps(_claims()).replace(AUDIENCE, "\\ud800").encode()
    assert _refused(_raw(json.dumps(_header()).encode(), payload)) == "token-claims"


def test_a_non_string_token_is_refused() -> None:
    assert _refused(b"a.b.c") == "token-malformed"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearera.b.c"]
)
def test_a_missing_bearer_token_is_refused(header: str | None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        bearer_token(header)
    assert caught.value.code == "token-missing"


# -- the caller's side ----------------------------------------------------------------------


def test_a_store_that_cannot_answer_is_not_an_authentication_failure() -> None:
    class Down(FakeTrust):
        def is_revoked(self, certificate: x509.Certificate) -> bool:
            raise StorageError("the database is unreachable")

    with pytest.raises(StorageError):
        verify_token(HERE.token(), audience=AUDIENCE, now=NOW, trust=Down([HERE.ica_der]))


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_token(HERE.token(), audience=AUDIENCE, now=NOW.replace(tzinfo=None), trust=_trust())


@pytest.mark.parametrize(
    "changes",
    [{"lifetime": 0}, {"lifetime": MAX_LIFETIME + 1}, {"jti": "short"}, {"aro_id": "ARO-42"}],
)
def test_make_token_refuses_arguments_verify_token_would_refuse(
    changes: dict[str, object],
) -> None:
    arguments: dict[str, object] = {"aro_id": ARO_ID, "audience": AUDIENCE, "now": NOW}
    arguments.update(changes)
    with pytest.raises(ValueError):
        make_token(HERE.aro_key, HERE.aro_der, HERE.ica_der, **arguments)  # type: ignore[arg-type]


def test_the_x5c_entries_are_standard_base64_with_padding() -> None:
    header = _json(_segments(HERE.token())[0])
    x5c = header["x5c"]
    assert isinstance(x5c, list)
    assert [base64.b64decode(entry, validate=True) for entry in x5c] == [
        HERE.aro_der,
        HERE.ica_der,
    ]
