"""The issuance cycle for one certificate (R-CA-4, docs/issuance-cycle.md).

validate (done by the caller) → reserve serial → build TBS → lint → record intent (audit) →
sign → check the signed bytes → store and publish (audit). A crash before the last step leaves
a pending intent and no certificate; ``recover_intents`` then abandons it cleanly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from smki.ca.linting import PreSignLinter, require_clean
from smki.ca.serials import new_serial, serial_hex
from smki.ca.signed import sign_certificate
from smki.clock import Clock
from smki.errors import Conflict
from smki.failpoints import hit
from smki.keystore.base import Signer
from smki.profiles.kinds import CertKind, KeyUse
from smki.storage.api import NewCertificate, Store, Transaction
from smki.x509.keys import key_id_for_spki
from smki.x509.tbs import TbsFields, encode_tbs, precertificate

_SERIAL_ATTEMPTS = 3


@dataclass(frozen=True)
class SigningAuthority:
    """A CA able to sign now: its row id, its key and its public key."""

    authority_id: int
    name: str
    signer: Signer
    public_key: ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class CertificateFacts:
    """What the store records beside the DER, for search (R-REP-2)."""

    kind: CertKind
    key_usage: KeyUse
    subject_eui: bytes | None = None
    role: int | None = None


@dataclass(frozen=True)
class Issued:
    certificate_id: int
    serial: int
    der: bytes = field(repr=False)


#: Runs inside the transaction that records the intent (a caller's claim on the request);
#: raising refuses the request and leaves nothing behind.
IntentHook = Callable[[Transaction], None]
#: Runs inside the transaction that stores the certificate, with the stored certificate.
StoredHook = Callable[[Transaction, "Issued"], None]


@dataclass(frozen=True)
class Draft:
    """Steps 2–4 done: a serial chosen, the TBS built with it and linted."""

    fields: TbsFields
    serial: int
    tbs: bytes = field(repr=False)


@dataclass(frozen=True)
class Reservation:
    """Steps 2–5 done: a serial reserved, the TBS built, linted and its intent committed."""

    authority: SigningAuthority
    facts: CertificateFacts
    fields: TbsFields
    serial: int
    tbs: bytes = field(repr=False)
    intent_id: int


def issue_one(
    store: Store,
    clock: Clock,
    linter: PreSignLinter,
    authority: SigningAuthority,
    facts: CertificateFacts,
    build: Callable[[int], TbsFields],
    actor: str,
    *,
    self_signed: bool = False,
) -> Issued:
    """Run the whole cycle for one certificate built by ``build(serial)``."""
    reservation = reserve(store, clock, linter, authority, facts, build, actor)
    return complete(store, clock, reservation, actor, self_signed=self_signed)


def reserve(
    store: Store,
    clock: Clock,
    linter: PreSignLinter,
    authority: SigningAuthority,
    facts: CertificateFacts,
    build: Callable[[int], TbsFields],
    actor: str,
    *,
    in_intent: IntentHook | None = None,
) -> Reservation:
    """Reserve a serial, build the TBS, lint it and commit its intent (R-CA-4, steps 2–5).

    ``in_intent`` runs first in the intent's transaction: a refusal it raises commits
    nothing. After this returns, ``complete`` signs, or ``recover_intents`` abandons."""
    for _ in range(_SERIAL_ATTEMPTS):
        draft = draft_tbs(linter, facts, build)
        try:
            with store.transaction() as tx:
                return record_intent(tx, clock, authority, facts, draft, actor, in_intent)
        except Conflict as conflict:
            if conflict.code != "duplicate-serial":
                raise
    raise _no_fresh_serial()


def draft_tbs(
    linter: PreSignLinter, facts: CertificateFacts, build: Callable[[int], TbsFields]
) -> Draft:
    """A fresh serial and the TBS built with it, linted clean (R-CA-4, steps 2–4)."""
    serial = new_serial()
    fields = build(serial)
    tbs = encode_tbs(fields)
    require_clean(linter, precertificate(tbs), facts.kind)
    return Draft(fields, serial, tbs)


def record_intent(
    tx: Transaction,
    clock: Clock,
    authority: SigningAuthority,
    facts: CertificateFacts,
    draft: Draft,
    actor: str,
    in_intent: IntentHook | None = None,
) -> Reservation:
    """Record the intent to sign ``draft``, with its audit event, in ``tx`` (R-CA-4, step 5):
    ``in_intent`` first. Conflict ``duplicate-serial`` if the serial was used: draft again."""
    digest = hashlib.sha256(draft.tbs).digest()
    if in_intent is not None:
        in_intent(tx)
    (intent_id,) = tx.reserve_intents(
        authority.authority_id, [(draft.serial, str(facts.kind), digest)], clock.now()
    )
    tx.audit(
        actor,
        "issuance.intent",
        f"intent:{intent_id}",
        {
            "authority": authority.name,
            "serial": serial_hex(draft.serial),
            "tbs_sha256": digest.hex(),
        },
    )
    return Reservation(authority, facts, draft.fields, draft.serial, draft.tbs, intent_id)


def _no_fresh_serial() -> Conflict:  # pragma: no cover - 2**-100 territory
    return Conflict("could not reserve a fresh serial number", rid="R-PROF-3")


def complete(
    store: Store,
    clock: Clock,
    reservation: Reservation,
    actor: str,
    *,
    self_signed: bool = False,
    in_store: StoredHook | None = None,
) -> Issued:
    """Sign the reserved TBS, check the signed bytes, then store and publish (R-CA-4, steps
    6–8). ``in_store`` runs in the storing transaction, after the certificate is inserted."""
    hit("issue.after-intent")
    der = sign_reserved(reservation)
    hit("issue.after-sign")
    with store.transaction() as tx:
        issued = store_issued(
            tx, clock, reservation, der, actor, self_signed=self_signed, in_store=in_store
        )
    hit("issue.after-store")
    return issued


def sign_reserved(reservation: Reservation) -> bytes:
    """The certificate, signed and checked (R-CA-4, steps 6–7); its intent must be committed."""
    authority = reservation.authority
    return sign_certificate(authority.signer, authority.public_key, reservation.tbs)


def store_issued(
    tx: Transaction,
    clock: Clock,
    reservation: Reservation,
    der: bytes,
    actor: str,
    *,
    self_signed: bool = False,
    in_store: StoredHook | None = None,
) -> Issued:
    """Store and publish the signed certificate, with its audit event, in ``tx`` (R-CA-4,
    step 8)."""
    authority, facts, fields = reservation.authority, reservation.facts, reservation.fields
    serial = reservation.serial
    (certificate_id,) = tx.add_certificates(
        [
            NewCertificate(
                authority_id=authority.authority_id,
                serial=serial,
                kind=facts.kind,
                subject_eui=facts.subject_eui,
                role=facts.role,
                key_usage=facts.key_usage,
                not_before=fields.not_before,
                not_after=fields.not_after,
                ski=key_id_for_spki(fields.spki),
                der=der,
                intent_id=reservation.intent_id,
            )
        ],
        clock.now(),
    )
    if self_signed:
        tx.set_authority_certificate(authority.authority_id, certificate_id)
    tx.audit(
        actor,
        "certificate.issued",
        f"certificate:{certificate_id}",
        {
            "authority": authority.name,
            "serial": serial_hex(serial),
            "kind": str(facts.kind),
            "sha256": hashlib.sha256(der).hexdigest(),
        },
    )
    issued = Issued(certificate_id, serial, der)
    if in_store is not None:
        in_store(tx, issued)
    return issued


#: How old a pending intent must be before an implicit recovery settles it: far longer than
#: any signing step takes, so that a live process's in-flight issuance is never abandoned.
STALE_INTENT_AGE = dt.timedelta(minutes=10)


def recover_intents(
    store: Store, clock: Clock, actor: str, *, older_than: dt.timedelta = STALE_INTENT_AGE
) -> tuple[int, int]:
    """Finish or abandon what a crash left pending (R-CA-4). Returns (finished, abandoned).

    A pending intent whose certificate was stored is marked done; one without a certificate
    was never published, so it is abandoned and its serial stays reserved (never reused).
    Only intents older than ``older_than`` are settled: younger ones may belong to another
    process that is signing right now (``smki ca recover --now`` settles all, after a crash
    when nothing else runs)."""
    finished = abandoned = 0
    cutoff = clock.now() - older_than
    with store.transaction() as tx:
        for intent in tx.pending_intents():
            if intent.created_at > cutoff:
                continue
            stored = tx.certificate_for_intent(intent.id)
            state = "done" if stored is not None else "abandoned"
            tx.finish_intents([intent.id], state, clock.now())
            tx.audit(
                actor,
                f"issuance.{state}-on-recovery",
                f"intent:{intent.id}",
                {"serial": serial_hex(intent.serial), "kind": intent.kind},
            )
            if stored is None:
                abandoned += 1
            else:
                finished += 1
    return finished, abandoned
