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
from smki.errors import Forbidden, Unauthenticated
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


@dataclass
class TokenUse:
    """A token's id, found unused by ``authenticate_reading`` but not recorded yet.

    The caller records it in the transaction of its request's first write (``record``), or,
    if the request is refused before that, on its own (``burn``): either way the token is
    used up once the request is answered, as with ``authenticate`` (R-IKI-1)."""

    jti: str
    expires_at: dt.datetime
    recorded: bool = False

    def record(self, tx: Transaction, clock: Clock) -> None:
        """Use the id up in ``tx``; ``token-replayed`` if another request used it since."""
        if not tx.use_token_id(self.jti, self.expires_at, clock.now()):
            raise Unauthenticated("the token was already used", code="token-replayed")

    def burn(self, store: Store, clock: Clock) -> None:
        """Use the id up in a transaction of its own (a refused request)."""
        if not self.recorded:
            with store.transaction() as tx:
                tx.use_token_id(self.jti, self.expires_at, clock.now())
            self.recorded = True


class StoreTokenTrust:
    """The TokenTrust of one environment, read inside the caller's transaction. With
    ``defer_jti`` the token id is only checked, and left in ``pending`` to be recorded."""

    def __init__(
        self, tx: Transaction, env: Environment, clock: Clock, *, defer_jti: bool = False
    ) -> None:
        self._tx = tx
        self._env = env
        self._clock = clock
        self._defer_jti = defer_jti
        self.pending: TokenUse | None = None
        # What ``is_revoked`` read, for ``_identify`` to reuse in the same transaction.
        self.credential: tuple[x509.Certificate, CertificateRow | None] | None = None
        self.officer: OfficerRow | None = None

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
        self.credential = (certificate, row)
        if row is None:
            return True
        officer = self.officer = self._tx.officer_by_certificate(row.id)
        if officer is not None and officer.removed_at is not None:
            raise Unauthenticated(
                f"ARO {officer.id} was removed", code="aro-removed", rid="R-PART-5"
            )
        return row.status == "revoked"

    def use_jti(self, jti: str, expires_at: dt.datetime) -> bool:
        if self._defer_jti:
            if self._tx.token_id_used(jti, self._clock.now()):
                return False
            self.pending = TokenUse(jti, expires_at)
            return True
        return self._tx.use_token_id(jti, expires_at, self._clock.now())


def authenticate(
    store: Store, clock: Clock, env: Environment, authorization: str | None, audience: str
) -> AuthenticatedAro:
    """The ARO behind ``authorization`` for a request to ``audience`` in ``env``, whose party
    is an Authorised Subscriber (R-PART-2).

    One transaction: the token is checked and used up, then the party's status is read. A
    party that is not Authorised is refused after that transaction commits, so the token is
    used up all the same (as a token refused for any later reason is)."""
    token = bearer_token(authorization)
    refusal: Forbidden | None = None
    with store.transaction() as tx:
        aro = _identify(tx, clock, env, token, audience)
        try:
            require_authorised(tx, aro.party)
        except Forbidden as error:  # reads only: nothing of it to roll back
            refusal = error
    if refusal is not None:
        raise refusal
    return aro


def authenticate_reading(
    store: Store, clock: Clock, env: Environment, authorization: str | None, audience: str
) -> tuple[AuthenticatedAro, TokenUse]:
    """``authenticate`` in a read-only snapshot: no write lock and no commit to wait for.
    The token's id is checked but returned unrecorded: the caller must ``record`` it in its
    first write or ``burn`` it (a party refused here has it burnt already)."""
    token = bearer_token(authorization)
    refusal: Forbidden | None = None
    with store.reading() as tx:
        trust = StoreTokenTrust(tx, env, clock, defer_jti=True)
        aro = _identify(tx, clock, env, token, audience, trust)
        try:
            require_authorised(tx, aro.party)
        except Forbidden as error:
            refusal = error
    use = trust.pending
    assert use is not None, "verify_token returned without asking for the jti"
    if refusal is not None:
        use.burn(store, clock)
        raise refusal
    return aro, use


def identify_aro(
    store: Store, clock: Clock, env: Environment, authorization: str | None, audience: str
) -> AuthenticatedAro:
    """The appointed ARO behind a valid token (the token is used up), whatever its party's
    status: callers with their own access rule (the repository, R-REP-3) start here."""
    token = bearer_token(authorization)
    with store.transaction() as tx:
        return _identify(tx, clock, env, token, audience)


def _identify(
    tx: Transaction,
    clock: Clock,
    env: Environment,
    token: str,
    audience: str,
    trust: StoreTokenTrust | None = None,
) -> AuthenticatedAro:
    trust = trust or StoreTokenTrust(tx, env, clock)
    verified = verify_token(token, audience=audience, now=clock.now(), trust=trust)
    if trust.credential is not None and trust.credential[0] is verified.certificate:
        row, officer = trust.credential[1], trust.officer  # read by is_revoked, this transaction
    else:
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
    return AuthenticatedAro(officer, load_party(tx, officer.party_id))
