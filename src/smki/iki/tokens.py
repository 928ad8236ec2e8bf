"""ARO bearer tokens for the SMKI Service Interface (R-IKI-1).

An Authorised Responsible Officer authenticates each request with ``Authorization: Bearer
<token>``: a compact ES256 JWS, signed with the ARO's IKI key, that carries the ARO and ICA
certificates in ``x5c`` and lives at most five minutes. ``docs/aro-token.md`` is the format a
client follows; this module builds tokens (:func:`make_token`) and checks them
(:func:`verify_token`). Every refusal is :class:`~smki.errors.Unauthenticated` with its own code.

The checks run in a fixed order, cheapest first, and the one that writes (recording the
``jti``) runs last, so a refused token never burns its ``jti``: format, header (``alg``, names,
``x5c``), claims, lifetime, time, audience, signature, issuer, certificate validity, revocation,
replay. The first failed check gives the code.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from smki.errors import Unauthenticated
from smki.iki import jws

log = logging.getLogger(__name__)

#: Longest accepted ``exp - iat``, in seconds.
MAX_LIFETIME = 300
#: How far ``iat`` may lie ahead of our clock, in seconds.
CLOCK_SKEW = 60
#: Longest accepted token, in characters (two P-256 certificates need about 2 KiB).
MAX_TOKEN_LENGTH = 16 * 1024

ALGORITHM = "ES256"
_HEADER_KEYS = frozenset({"alg", "typ", "x5c"})
_CLAIMS = frozenset({"sub", "aud", "iat", "exp", "jti"})
_JTI = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SUB = re.compile(r"[0-9]{1,20}")
_TOKEN68 = re.compile(r"[!-~]+")

#: Every code :func:`verify_token` and :func:`bearer_token` may give (docs/aro-token.md).
REFUSAL_CODES = frozenset(
    {
        "token-missing",
        "token-malformed",
        "token-alg",
        "token-header",
        "token-x5c",
        "token-claims",
        "token-lifetime",
        "token-expired",
        "token-not-yet-valid",
        "token-audience",
        "token-signature",
        "token-untrusted",
        "token-certificate-expired",
        "token-revoked",
        "token-replayed",
    }
)


@dataclass(frozen=True)
class TokenClaims:
    """The claims of a well-formed token (R-IKI-1); times are seconds since the epoch."""

    sub: str
    aud: str
    iat: int
    exp: int
    jti: str


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check of :func:`verify_token`.

    ``claims.sub`` is what the ARO *says* it is: the caller must still check that
    ``certificate`` is the IKI credential of that ARO (and that the ARO is still appointed).
    """

    claims: TokenClaims
    certificate: x509.Certificate
    ica: x509.Certificate


class TokenTrust(Protocol):
    """What :func:`verify_token` asks of the environment (R-IKI-1). Nothing fails open: a
    store that cannot answer raises, and its exception reaches the caller unchanged."""

    def trusted_icas(self) -> Sequence[bytes]:
        """DER of the environment's active ICA certificates."""
        ...

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        """True if the ARO certificate is revoked (the IKI CRL, or the store behind it)."""
        ...

    def use_jti(self, jti: str, expires_at: dt.datetime) -> bool:
        """Record ``jti`` until ``expires_at``; False if it was already recorded (a replay)."""
        ...


def make_token(
    key: ec.EllipticCurvePrivateKey,
    certificate_der: bytes,
    ica_der: bytes,
    *,
    aro_id: str,
    audience: str,
    now: dt.datetime,
    lifetime: int = MAX_LIFETIME,
    jti: str | None = None,
) -> str:
    """A token for one request to ``audience`` (the path, without the query) (R-IKI-1).

    ``ValueError`` if an argument could only give a token that :func:`verify_token` refuses.
    """
    jti = secrets.token_urlsafe(24) if jti is None else jti
    if not 0 < lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1..{MAX_LIFETIME} seconds")
    if not _SUB.fullmatch(aro_id) or not _JTI.fullmatch(jti):
        raise ValueError("aro_id must be decimal digits, jti 16..128 of [A-Za-z0-9_-]")
    iat = int(_utc(now).timestamp())
    header = {
        "alg": ALGORITHM,
        "typ": "JWT",
        "x5c": [jws.b64_der_encode(certificate_der), jws.b64_der_encode(ica_der)],
    }
    payload = {"sub": aro_id, "aud": audience, "iat": iat, "exp": iat + lifetime, "jti": jti}
    return jws.encode_es256(header, payload, key)


def verify_token(
    token: str, *, audience: str, now: dt.datetime, trust: TokenTrust
) -> VerifiedToken:
    """Authenticate an ARO by its token for a request to ``audience`` at ``now`` (R-IKI-1).

    Raises :class:`~smki.errors.Unauthenticated` with the code of the first failed check, and
    nothing else for anything found in the token; exceptions raised by ``trust`` itself (a
    store that cannot answer) propagate. The ``jti`` is recorded only if every other check
    passed. ``ValueError`` if ``now`` is naive (a bug in the caller, not in the token).
    """
    at = _utc(now)
    with _only_refusals():
        parsed = _parse(token)
        claims = parsed.claims
        _check_times(claims, at)
        if not hmac.compare_digest(claims.aud.encode("utf-8"), audience.encode("utf-8")):
            _refuse("token-audience", "the token is for another path")
        _check_signature(parsed)
    trusted = trust.trusted_icas()
    with _only_refusals():
        _check_issuer(parsed.certificate, parsed.ica, trusted, parsed.x5c)
        for cert, name in ((parsed.certificate, "ARO"), (parsed.ica, "ICA")):
            if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
                _refuse("token-certificate-expired", f"the {name} certificate is not valid now")
    if trust.is_revoked(parsed.certificate):
        _refuse("token-revoked", "the ARO certificate is revoked")
    expires_at = dt.datetime.fromtimestamp(claims.exp, dt.UTC)
    if not trust.use_jti(claims.jti, expires_at):
        _refuse("token-replayed", "the token was already used")
    return VerifiedToken(claims=claims, certificate=parsed.certificate, ica=parsed.ica)


def bearer_token(authorization_header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (scheme in any case)."""
    if authorization_header is not None:
        scheme, _, rest = authorization_header.partition(" ")
        token = rest.strip(" ")
        if scheme.isascii() and scheme.lower() == "bearer" and _TOKEN68.fullmatch(token):
            return token
    _refuse("token-missing", "an Authorization: Bearer token is required")


# -- checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    claims: TokenClaims
    certificate: x509.Certificate
    ica: x509.Certificate
    signed: bytes  # the JWS signing input
    signature: bytes
    x5c: tuple[str, str] = ("", "")  # as sent: the key of the chain-signature cache


def _parse(token: str) -> _Parsed:
    """The parts of a well-formed ES256 token with an acceptable header and claims."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        _refuse("token-malformed", "the token is not an ASCII string of at most 16 KiB")
    parts = token.split(".")
    if len(parts) != 3:
        _refuse("token-malformed", "the token is not header.payload.signature")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(header_b64, "header")
    if header.get("alg") != ALGORITHM:
        _refuse("token-alg", f"the algorithm must be {ALGORITHM}")
    if not header.keys() <= _HEADER_KEYS or header.get("typ", "JWT") != "JWT":
        _refuse("token-header", 'the header holds only "alg", "typ": "JWT" and "x5c"')
    x5c = header.get("x5c")
    certificate, ica = _certificates(x5c)
    assert isinstance(x5c, list)  # _certificates refused anything else
    return _Parsed(
        claims=_claims(_json_object(payload_b64, "payload")),
        certificate=certificate,
        ica=ica,
        signed=jws.signing_input(header_b64, payload_b64),
        signature=_decode(signature_b64, "signature"),
        x5c=(str(x5c[0]), str(x5c[1])),
    )


def _json_object(segment: str, name: str) -> dict[str, object]:
    text = _decode(segment, name)
    try:
        value = json.loads(
            text.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (ValueError, RecursionError):  # not UTF-8, not JSON, NaN, a repeated name, 10**5000
        _refuse("token-malformed", f"the {name} is not JSON")
    if not isinstance(value, dict):
        _refuse("token-malformed", f"the {name} is not a JSON object")
    return value


def _claims(payload: dict[str, object]) -> TokenClaims:
    if payload.keys() != _CLAIMS:
        _refuse("token-claims", "the claims are exactly sub, aud, iat, exp and jti")
    sub, aud, iat, exp, jti = (payload[k] for k in ("sub", "aud", "iat", "exp", "jti"))
    if not (
        isinstance(sub, str)
        and _SUB.fullmatch(sub)
        and isinstance(aud, str)
        and _is_utf8(aud)
        and isinstance(jti, str)
        and _JTI.fullmatch(jti)
        and type(iat) is int  # not bool, not float
        and type(exp) is int
    ):
        _refuse("token-claims", "a claim has the wrong type or form")
    return TokenClaims(sub=sub, aud=aud, iat=iat, exp=exp, jti=jti)


def _check_times(claims: TokenClaims, at: dt.datetime) -> None:
    if not 0 < claims.exp - claims.iat <= MAX_LIFETIME:
        _refuse("token-lifetime", f"exp - iat must be 1..{MAX_LIFETIME} seconds")
    now = at.timestamp()  # int/float comparisons are exact, whatever the size of the int
    if now > claims.exp:
        _refuse("token-expired", "the token has expired")
    if claims.iat > now + CLOCK_SKEW:
        _refuse("token-not-yet-valid", "the token was issued in the future")


def _certificates(x5c: object) -> tuple[x509.Certificate, x509.Certificate]:
    if not isinstance(x5c, list) or len(x5c) != 2 or not all(isinstance(c, str) for c in x5c):
        _refuse("token-x5c", "x5c holds exactly the ARO and the ICA certificate")
    try:
        aro, ica = (x509.load_der_x509_certificate(jws.b64_der_decode(c)) for c in x5c)
    except (ValueError, x509.InvalidVersion, CryptographyDeprecationWarning):
        # The warning is raised only where warnings are errors (the tests): a certificate
        # cryptography frowns on (a serial that is not positive) is then refused here.
        _refuse("token-x5c", "an x5c entry is not a base64 DER certificate")
    return aro, ica


def _check_signature(parsed: _Parsed) -> None:
    try:
        key = parsed.certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not jws.verify_es256(
        key, parsed.signed, parsed.signature
    ):
        _refuse("token-signature", "the signature does not verify with the ARO certificate")


#: Outcomes of "the ARO certificate's signature verifies under the ICA certificate", keyed by
#: the two certificates as sent. Only that pure function of the two is remembered: which ICAs
#: are trusted and whether the credential is revoked are asked of the store on every request,
#: so a revocation takes effect at the next request (R-IKI-1). Bounded; cleared when full.
_CHAIN_CHECKS: dict[tuple[str, str], bool] = {}
_CHAIN_CHECKS_MAX = 1024


def _issued_by(aro: x509.Certificate, ica: x509.Certificate, x5c: tuple[str, str]) -> bool:
    found = _CHAIN_CHECKS.get(x5c) if all(x5c) else None
    if found is not None:
        return found
    try:
        aro.verify_directly_issued_by(ica)
        issued = True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        issued = False
    if all(x5c):
        if len(_CHAIN_CHECKS) >= _CHAIN_CHECKS_MAX:
            _CHAIN_CHECKS.clear()
        _CHAIN_CHECKS[x5c] = issued
    return issued


def _check_issuer(
    aro: x509.Certificate,
    ica: x509.Certificate,
    trusted: Sequence[bytes],
    x5c: tuple[str, str] = ("", ""),
) -> None:
    ica_der = ica.public_bytes(Encoding.DER)
    known = False
    for der in trusted:  # no early exit: the time taken does not say which one matched
        known |= hmac.compare_digest(der, ica_der)
    issued = _issued_by(aro, ica, x5c)
    if not (known and issued):
        _refuse("token-untrusted", "the certificate was not issued by this environment's ICA")


# -- helpers --------------------------------------------------------------------------------


def _refuse(code: str, detail: str) -> NoReturn:
    raise Unauthenticated(detail, code=code)


@contextmanager
def _only_refusals() -> Iterator[None]:
    # The token is hostile input: whatever our checks did not foresee must still be a refusal
    # (and logged, since it is a bug), never a 500 that tells the caller how far it got.
    try:
        yield
    except Unauthenticated:
        raise
    except Exception:
        log.warning("unexpected error while checking a token", exc_info=True)
        _refuse("token-malformed", "the token is malformed")


def _decode(segment: str, name: str) -> bytes:
    try:
        return jws.b64url_decode(segment)
    except ValueError:
        _refuse("token-malformed", f"the {name} is not base64url without padding")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member name")
    return result


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, from "\ud800" escapes
        return False
    return True


def _utc(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)
