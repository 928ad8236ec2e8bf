"""Who is asking: ARO bearer tokens checked against the store (R-IKI-1, R-PART-2).

``verify_token`` (``iki/tokens.py``) checks the token itself; this module supplies the trust
it needs from the store — the environment's ICA certificates, the revocation status of the
ARO's credential, the replay register — and then requires the ARO to be still appointed and
its party still an Authorised Subscriber. Unauthenticated → HTTP 401, Forbidden → 403.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.clock import Clock
from smki.errors import Unauthenticated
from smki.iki.tokens import bearer_token, verify_token
from smki.profiles.kinds import CertKind, Environment
from smki.ra.status import load_party, require_authorised
from smki.storage.api import CertificateRow, OfficerRow, PartyRow, Store, Transaction


@dataclass(frozen=True)
class AuthenticatedAro:
    officer: OfficerRow
    party: PartyRow


def credential_row(
    tx: Transaction, env: str, certificate: x509.Certificate
) -> CertificateRow | None:
    der = certificate.public_bytes(Encoding.DER)
    for row in tx.certificate_by_serial(env, certificate.serial_number):
        if row.kind == CertKind.IKI and hmac.compare_digest(row.der, der):
            return row
    return None


class StoreTokenTrust:
    """The TokenTrust of one environment, read inside the caller's transaction."""

    def __init__(self, tx: Transaction, env: Environment, clock: Clock) -> None:
        self._tx = tx
        self._env = env
        self._clock = clock

    def trusted_icas(self) -> Sequence[bytes]:
        return [
            self._tx.certificate(authority.certificate_id).der
            for authority in self._tx.authorities(self._env)
            if authority.name == CertKind.ISSUING_ICA
            and authority.status == "active"
            and authority.certificate_id is not None
        ]

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        """Fails closed: a credential the store does not hold counts as revoked."""
        row = credential_row(self._tx, self._env, certificate)
        if row is None:
            return True
        officer = self._tx.officer_by_certificate(row.id)
        if officer is not None and officer.removed_at is not None:
            raise Unauthenticated(
                f"ARO {officer.id} was removed", code="aro-removed", rid="R-PART-5"
            )
        return row.status == "revoked"

    def use_jti(self, jti: str, expires_at: dt.datetime) -> bool:
        return self._tx.use_token_id(jti, expires_at, self._clock.now())


def authenticate(
    store: Store, clock: Clock, env: Environment, authorization: str | None, audience: str
) -> AuthenticatedAro:
    """The ARO behind ``authorization`` for a request to ``audience`` in ``env``, whose party
    is an Authorised Subscriber (R-PART-2)."""
    aro = identify_aro(store, clock, env, authorization, audience)
    with store.transaction() as tx:
        require_authorised(tx, aro.party)
    return aro


def identify_aro(
    store: Store, clock: Clock, env: Environment, authorization: str | None, audience: str
) -> AuthenticatedAro:
    """The appointed ARO behind a valid token (the token is used up), whatever its party's
    status: callers with their own access rule (the repository, R-REP-3) start here."""
    token = bearer_token(authorization)
    with store.transaction() as tx:
        verified = verify_token(
            token, audience=audience, now=clock.now(), trust=StoreTokenTrust(tx, env, clock)
        )
        row = credential_row(tx, env, verified.certificate)
        officer = tx.officer_by_certificate(row.id) if row is not None else None
        if officer is None or officer.kind != "aro":
            raise Unauthenticated(
                "the token's certificate is not an ARO credential",
                code="token-unknown-aro",
                rid="R-IKI-1",
            )
        if not hmac.compare_digest(verified.claims.sub.encode(), str(officer.id).encode()):
            raise Unauthenticated(
                "the token's subject is not the credential's ARO",
                code="token-subject",
                rid="R-IKI-1",
            )
        party = load_party(tx, officer.party_id)
    return AuthenticatedAro(officer, party)
