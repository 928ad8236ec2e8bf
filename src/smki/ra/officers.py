"""Senior and Authorised Responsible Officers (R-PART-5) and ARO credentials (R-IKI-1).

SROs are registered by the DCC; an SRO appoints and removes AROs. Appointing an ARO issues
its IKI credential from the environment's Issuing ICA in the same transaction; removing it
revokes the credential and reissues the IKI CRL in the same transaction. Removing the last
SRO or ARO ends Authorised Subscriber status at once (status is derived, R-PART-2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.ca.authority import LoadedAuthority
from smki.ca.issuer import CertificateFacts, issue_one
from smki.ca.linting import PreSignLinter
from smki.clock import Clock
from smki.config.pki import PkiConfig
from smki.errors import Conflict, InputError, NotFound
from smki.profiles import build
from smki.profiles.build import SubjectKey
from smki.profiles.kinds import CertKind, Environment, KeyUse, Pki
from smki.ra.revocation import RevocationResult, revoke_in
from smki.ra.status import load_party
from smki.storage.api import OfficerRow, Store, Transaction
from smki.storage.scoped import ScopedStore
from smki.x509.keys import key_id_for_spki, require_p256, spki_der
from smki.x509.names import holder_subject
from smki.x509.timeenc import truncate

AuthorityLoader = Callable[[Transaction, Environment, str], LoadedAuthority]
_MAX_NAME_OCTETS = 64


@dataclass(frozen=True)
class AroAppointment:
    officer: OfficerRow
    certificate: bytes  # DER of the ARO's IKI certificate
    ica: bytes  # DER of the Issuing ICA certificate
    private_key: ec.EllipticCurvePrivateKey | None = field(repr=False)  # None: the ARO's CSR


def _officer_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned.encode("utf-8")) > _MAX_NAME_OCTETS:
        raise InputError(
            f"an officer name is 1 to {_MAX_NAME_OCTETS} UTF-8 octets",
            code="bad-name",
            rid="R-PART-5",
        )
    return cleaned


class Officers:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: PkiConfig,
        linter: PreSignLinter,
        load: AuthorityLoader,
        actor: str,
    ) -> None:
        self._store = store
        self._clock = clock
        self._config = config
        self._linter = linter
        self._load = load
        self._actor = actor

    def add_sro(self, party_id: int, name: str) -> OfficerRow:
        """The DCC registers a Senior Responsible Officer (R-PART-5)."""
        clean = _officer_name(name)
        with self._store.transaction() as tx:
            load_party(tx, party_id)
            officer_id = tx.add_officer(party_id, "sro", clean, self._actor, self._clock.now())
            tx.audit(
                self._actor,
                "officer.appointed",
                f"officer:{officer_id}",
                {"party": party_id, "kind": "sro", "name": clean},
            )
            return _officer(tx, officer_id)

    def appoint_aro(
        self,
        party_id: int,
        name: str,
        *,
        by_sro: int | None = None,
        public_key: object | None = None,
    ) -> AroAppointment:
        """An SRO of the party appoints an ARO; its IKI credential is issued with it."""
        clean = _officer_name(name)
        private_key = None
        if public_key is None:
            private_key = ec.generate_private_key(ec.SECP256R1())
            public_key = private_key.public_key()
        key = require_p256(public_key, rid="R-IKI-1")
        with self._store.transaction() as tx:
            party = load_party(tx, party_id)
            sro = _appointing_sro(tx, party_id, by_sro)
            officer_id = tx.add_officer(party_id, "aro", clean, f"sro:{sro.id}", self._clock.now())
            env = Environment(party.env)
            ica = self._load(tx, env, Pki.IKI.issuing)
            spki = spki_der(key)
            now = truncate(self._clock.now())
            issued = issue_one(
                ScopedStore(self._store, tx),
                self._clock,
                self._linter,
                ica.signing,
                CertificateFacts(CertKind.IKI, KeyUse.DIGITAL_SIGNATURE),
                partial(
                    build.iki,
                    ica.context,
                    holder_subject(clean, party.name),
                    not_before=now,
                    not_after=now + self._config.iki_validity,
                    key=SubjectKey(spki, key_id_for_spki(spki)),
                ),
                self._actor,
            )
            tx.set_officer_certificate(officer_id, issued.certificate_id)
            tx.audit(
                self._actor,
                "officer.appointed",
                f"officer:{officer_id}",
                {
                    "party": party_id,
                    "kind": "aro",
                    "name": clean,
                    "by": f"sro:{sro.id}",
                    "credential_serial": f"{issued.serial:X}",
                },
            )
            return AroAppointment(
                _officer(tx, officer_id),
                issued.der,
                ica.certificate.public_bytes(Encoding.DER),
                private_key,
            )

    def remove(self, officer_id: int) -> tuple[OfficerRow, RevocationResult | None]:
        """Remove an officer; an ARO's IKI credential is revoked and the IKI CRL reissued."""
        with self._store.transaction() as tx:
            officer = _officer(tx, officer_id)
            if not tx.remove_officer(officer_id, self._actor, self._clock.now()):
                raise Conflict(
                    f"officer {officer_id} was already removed",
                    code="officer-already-removed",
                    rid="R-PART-5",
                )
            # Its repository sessions end with it (R-REP-3), in the same transaction.
            ended = tx.end_officer_sessions(officer_id, self._clock.now())
            tx.audit(
                self._actor,
                "officer.removed",
                f"officer:{officer_id}",
                {"party": officer.party_id, "kind": officer.kind, "sessions_ended": ended},
            )
            revocation = None
            if officer.certificate_id is not None:
                party = load_party(tx, officer.party_id)
                env = Environment(party.env)
                row = tx.certificate(officer.certificate_id)
                if row.status != "revoked":
                    revocation = revoke_in(
                        tx,
                        self._clock,
                        self._config,
                        lambda t, n: self._load(t, env, n),
                        env,
                        row,
                        "affiliationChanged",
                        self._actor,
                    )
            return _officer(tx, officer_id), revocation


def _officer(tx: Transaction, officer_id: int) -> OfficerRow:
    officer = tx.officer(officer_id)
    if officer is None:
        raise NotFound(f"no officer {officer_id}", code="unknown-officer", rid="R-PART-5")
    return officer


def _appointing_sro(tx: Transaction, party_id: int, by_sro: int | None) -> OfficerRow:
    sros = [o for o in tx.officers(party_id) if o.kind == "sro"]
    if by_sro is None:
        if len(sros) == 1:
            return sros[0]
        raise InputError(
            "an SRO appoints AROs: "
            + ("the party has no SRO" if not sros else "name the appointing SRO with --by-sro"),
            code="no-appointing-sro",
            rid="R-PART-5",
        )
    for sro in sros:
        if sro.id == by_sro:
            return sro
    raise InputError(
        f"officer {by_sro} is not an active SRO of party {party_id}",
        code="no-appointing-sro",
        rid="R-PART-5",
    )
