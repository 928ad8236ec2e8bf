"""Repository sign-in (R-REP-3): an ARO token buys a session; the session is then presented.

An ARO token is single-use (its jti is burnt, R-IKI-1), which suits one Service Interface
request but not browsing or a relying party's stream of look-ups. ``sign_in`` checks the token
and the reader's right to read, then returns a random session secret; only its SHA-256 is
stored. ``SessionBook.reader`` resolves a secret to its Reader, re-reading the store at most
every ``recheck`` seconds per session, so an ARO removed, a credential revoked or a party that
lost its right is shut out within that bound (default 5 s) without a database read per request.
Removing an ARO also ends its sessions in the same transaction (``ra.officers``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Final

from smki.clock import Clock
from smki.errors import SmkiError, Unauthenticated
from smki.profiles.kinds import Environment
from smki.ra.authentication import identify_aro
from smki.ra.repository_access import Reader, admit_reader
from smki.storage.api import Store, Transaction

SESSION_PREFIX: Final = "smkis_"
DEFAULT_LIFETIME: Final = dt.timedelta(hours=1)
DEFAULT_RECHECK: Final = dt.timedelta(seconds=5)
_SECRET_BYTES: Final = 32
_MAX_SECRET_LENGTH: Final = 128


@dataclass(frozen=True)
class SignedIn:
    secret: str  # shown once, to the reader; never logged
    reader: Reader
    expires_at: dt.datetime


def session_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _no_session(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="session-invalid", rid="R-REP-3")


def sign_in(
    store: Store,
    clock: Clock,
    env: Environment,
    authorization: str | None,
    audience: str,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
) -> SignedIn:
    """A new session for the ARO behind the token, if it may read the repository."""
    aro = identify_aro(store, clock, env, authorization, audience)
    reader = admit_reader(env, aro.party, aro.officer)
    secret = SESSION_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    now = clock.now()
    expires_at = now + lifetime
    with store.transaction() as tx:
        tx.add_session(
            session_hash(secret), env, reader.officer_id, reader.party_id, now, expires_at
        )
        tx.audit(
            f"aro:{reader.officer_id}",
            "repository.sign-in",
            f"party:{reader.party_id}",
            {"reader": reader.kind.value, "expires_at": expires_at.isoformat()},
        )
    return SignedIn(secret, reader, expires_at)


def session_secret(authorization: str | None) -> str:
    """The secret of an ``Authorization: Bearer smkis_…`` header, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated(
            "sign in first: POST an ARO token to /repository/v1/sessions",
            code="session-missing",
            rid="R-REP-3",
        )
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(SESSION_PREFIX):
        raise _no_session("the Authorization header does not carry a repository session")
    if len(value) > _MAX_SECRET_LENGTH:
        raise _no_session("the session is not valid")
    return value


@dataclass
class _Cached:
    reader: Reader
    expires_at: dt.datetime
    checked_at: dt.datetime


class SessionBook:
    """Resolves session secrets to readers; thread-safe; see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        env: Environment,
        recheck: dt.timedelta = DEFAULT_RECHECK,
    ) -> None:
        self._store = store
        self._clock = clock
        self._env = env
        self._recheck = recheck
        self._cache: dict[bytes, _Cached] = {}
        self._lock = threading.Lock()

    def reader(self, secret: str) -> Reader:
        key = session_hash(secret)
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(key)
        if (
            cached is not None
            and now < cached.expires_at
            and now - cached.checked_at < self._recheck
        ):
            return cached.reader
        try:
            with self._store.reading() as tx:
                reader, expires_at = self._check(tx, key, now)
        except SmkiError:
            with self._lock:
                self._cache.pop(key, None)
            raise
        with self._lock:
            self._cache[key] = _Cached(reader, expires_at, now)
        return reader

    def sign_out(self, secret: str) -> None:
        key = session_hash(secret)
        with self._lock:
            self._cache.pop(key, None)
        with self._store.transaction() as tx:
            row = tx.session(key)
            if row is None or not tx.end_session(key, self._clock.now()):
                raise _no_session("the session is not open")
            tx.audit(
                f"aro:{row.officer_id}",
                "repository.sign-out",
                f"party:{row.party_id}",
                {},
            )

    def _check(self, tx: Transaction, key: bytes, now: dt.datetime) -> tuple[Reader, dt.datetime]:
        row = tx.session(key)
        # One refusal for every way a secret can be wrong: nothing to learn by probing.
        if row is None or row.env != self._env or row.ended_at is not None:
            raise _no_session("the session is not valid")
        if now >= row.expires_at:
            raise Unauthenticated(
                "the session has expired; sign in again", code="session-expired", rid="R-REP-3"
            )
        officer = tx.officer(row.officer_id)
        party = tx.party(row.party_id)
        if officer is None or party is None:
            raise _no_session("the session is not valid")
        if officer.certificate_id is not None:
            credential = tx.certificate(officer.certificate_id)
            if credential.status == "revoked":
                raise Unauthenticated(
                    "the ARO's IKI credential is revoked", code="token-revoked", rid="R-IKI-1"
                )
        return admit_reader(self._env, party, officer), row.expires_at
