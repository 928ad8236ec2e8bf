"""The key ceremony (R-CA-2): four hierarchies, the Recovery and Contingency keys, first CRLs.

Keys are generated first, under labels unique to this ceremony; then every certificate, CRL
and audit event is written in one transaction. A crash leaves either a complete environment or
none (orphaned key labels are harmless and listed in the log); a second ceremony for an
environment that exists is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import partial

from cryptography import x509

from smki.ca.crl import publish_crl
from smki.ca.issuer import CertificateFacts, Issued, SigningAuthority, issue_one
from smki.ca.linting import PreSignLinter
from smki.clock import Clock
from smki.config.pki import PkiConfig
from smki.errors import Conflict
from smki.ids import KeyLabel
from smki.keystore.base import KeyStore, Signer
from smki.profiles import build
from smki.profiles import extensions as ext
from smki.profiles.build import IssuerContext, SubjectKey
from smki.profiles.kinds import CertKind, Environment, KeyUse, Pki
from smki.storage.api import Store, Transaction
from smki.storage.scoped import ScopedStore
from smki.x509 import der
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.names import ca_subject, common_name_subject, holder_subject
from smki.x509.roles import RemotePartyRole
from smki.x509.timeenc import truncate

INITIALISED_KEY = "initialised:{env}"
CONTINGENCY_LABEL_KEY = "contingency-key:{env}"
SYMMETRIC_LABEL_KEY = "symmetric-key:{env}"
RECOVERY_LABEL_KEY = "recovery-key:{env}"


@dataclass(frozen=True)
class CeremonyResult:
    env: Environment
    certificates: dict[str, Issued]
    crl_numbers: dict[str, int]


def _ca_name(pki: Pki, kind: CertKind, common_name: str) -> x509.Name:
    if pki in (Pki.IKI, Pki.DCCKI):
        return holder_subject(common_name, "smki")
    if kind.is_root:
        return ca_subject(RemotePartyRole.ROOT, common_name)
    if pki is Pki.ORGANISATION:
        return ca_subject(RemotePartyRole.ISSUING_AUTHORITY, common_name)
    return common_name_subject(common_name)


def _subject_key(signer: Signer) -> SubjectKey:
    spki = spki_der(signer.public_key())
    return SubjectKey(spki=spki, key_id=key_id_for_spki(spki))


class Ceremony:
    def __init__(
        self,
        store: Store,
        keystore: KeyStore,
        clock: Clock,
        linter: PreSignLinter,
        config: PkiConfig,
        actor: str,
    ) -> None:
        self._store = store
        self._keystore = keystore
        self._clock = clock
        self._linter = linter
        self._config = config
        self._actor = actor

    def run(self, env: Environment) -> CeremonyResult:
        with self._store.transaction() as tx:
            if tx.get_meta(INITIALISED_KEY.format(env=env)) is not None:
                raise Conflict(
                    f"the {env} environment of this home is already initialised; a second "
                    "ceremony would overwrite its hierarchy",
                    code="already-initialised",
                    rid="R-CA-2",
                )
        ceremony_id = secrets.token_hex(4)
        keys = self._generate_keys(env, ceremony_id)
        with self._store.transaction() as tx:
            if tx.get_meta(INITIALISED_KEY.format(env=env)) is not None:
                raise Conflict(
                    f"the {env} environment was initialised meanwhile",
                    code="already-initialised",
                    rid="R-CA-2",
                )
            return self._write(tx, env, ceremony_id, keys)

    def _generate_keys(self, env: Environment, ceremony_id: str) -> dict[str, Signer]:
        labels = [kind.value for kind in CertKind if kind.is_ca] + ["recovery", "contingency"]
        keys = {
            name: self._keystore.generate(KeyLabel(f"{env}-{name}-{ceremony_id}"))
            for name in labels
        }
        self._keystore.generate_secret(KeyLabel(f"{env}-symmetric-{ceremony_id}"))
        return keys

    def _write(
        self, tx: Transaction, env: Environment, ceremony_id: str, keys: dict[str, Signer]
    ) -> CeremonyResult:
        scoped = ScopedStore(self._store, tx)
        now = truncate(self._clock.now())
        issued: dict[str, Issued] = {}
        contexts: dict[CertKind, tuple[SigningAuthority, IssuerContext]] = {}
        for pki in Pki:
            extra = (
                self._contingency_extension(env, ceremony_id, keys)
                if pki is Pki.ORGANISATION
                else ()
            )
            issued.update(self._hierarchy(tx, scoped, env, pki, keys, now, extra, contexts))
        issued["recovery"] = self._recovery_certificate(
            scoped, contexts[CertKind.ISSUING_OCA], keys, now
        )
        crl_numbers = {}
        for kind, (authority, context) in contexts.items():
            list_kind = "arl" if kind.is_root else "crl"
            crl_numbers[f"{kind}.{list_kind}"] = publish_crl(
                tx, self._clock, self._config.crl_period, authority, context, list_kind, self._actor
            )
        tx.set_meta(RECOVERY_LABEL_KEY.format(env=env), keys["recovery"].label)
        tx.set_meta(CONTINGENCY_LABEL_KEY.format(env=env), keys["contingency"].label)
        tx.set_meta(SYMMETRIC_LABEL_KEY.format(env=env), f"{env}-symmetric-{ceremony_id}")
        tx.set_meta(INITIALISED_KEY.format(env=env), now.isoformat())
        tx.audit(
            self._actor,
            "ceremony.completed",
            f"environment:{env}",
            {
                "ceremony": ceremony_id,
                "certificates": {k: f"{v.serial:X}" for k, v in issued.items()},
            },
        )
        return CeremonyResult(env, issued, crl_numbers)

    def _hierarchy(
        self,
        tx: Transaction,
        scoped: Store,
        env: Environment,
        pki: Pki,
        keys: dict[str, Signer],
        now: dt.datetime,
        extra: tuple[bytes, ...],
        contexts: dict[CertKind, tuple[SigningAuthority, IssuerContext]],
    ) -> dict[str, Issued]:
        """Root (self-signed) and issuing CA of one hierarchy (R-CA-1)."""
        env_config = self._config.env(env)
        policy = env_config.policies[pki]
        root_kind, issuing_kind = pki.root, pki.issuing
        root_signer, issuing_signer = keys[root_kind.value], keys[issuing_kind.value]
        root_id = tx.add_authority(env, root_kind, pki, True, root_signer.label, None)
        root = SigningAuthority(root_id, root_kind, root_signer, root_signer.public_key())
        root_name = _ca_name(pki, root_kind, env_config.names[root_kind])
        root_key = _subject_key(root_signer)
        root_issued = issue_one(
            scoped,
            self._clock,
            self._linter,
            root,
            CertificateFacts(root_kind, KeyUse.CA),
            partial(
                build.root_ca,
                root_name,
                not_before=now,
                not_after=now + self._config.root_validity,
                key=root_key,
                policy=policy,
                extra=extra,
            ),
            self._actor,
            self_signed=True,
        )
        root_context = IssuerContext(root_name.public_bytes(), root_key.key_id, policy)
        issuing_id = tx.add_authority(env, issuing_kind, pki, False, issuing_signer.label, root_id)
        issuing_name = _ca_name(pki, issuing_kind, env_config.names[issuing_kind])
        issuing_key = _subject_key(issuing_signer)
        issuing_issued = issue_one(
            scoped,
            self._clock,
            self._linter,
            root,
            CertificateFacts(issuing_kind, KeyUse.CA),
            partial(
                build.issuing_ca,
                root_context,
                issuing_name,
                not_before=now,
                not_after=now + self._config.issuing_ca_validity,
                key=issuing_key,
            ),
            self._actor,
        )
        tx.set_authority_certificate(issuing_id, issuing_issued.certificate_id)
        contexts[root_kind] = (root, root_context)
        contexts[issuing_kind] = (
            SigningAuthority(issuing_id, issuing_kind, issuing_signer, issuing_signer.public_key()),
            IssuerContext(issuing_name.public_bytes(), issuing_key.key_id, policy),
        )
        return {root_kind: root_issued, issuing_kind: issuing_issued}

    def _contingency_extension(
        self, env: Environment, ceremony_id: str, keys: dict[str, Signer]
    ) -> tuple[bytes, ...]:
        """R-PROF-31, R-REC-3: the Contingency public key, sealed with the Symmetric Key."""
        point = spki_der(keys["contingency"].public_key())
        wrapped = self._keystore.seal(KeyLabel(f"{env}-symmetric-{ceremony_id}"), point)
        value = x509.UnrecognizedExtension(
            self._config.contingency_extension, der.octet_string(wrapped)
        )
        return (ext.from_cryptography(value, False),)

    def _recovery_certificate(
        self,
        store: Store,
        issuing_oca: tuple[SigningAuthority, IssuerContext],
        keys: dict[str, Signer],
        now: dt.datetime,
    ) -> Issued:
        """The Recovery key's Organisation Certificate, role 01 (R-CA-2)."""
        authority, context = issuing_oca
        key = _subject_key(keys["recovery"])
        eui = self._config.dcc_entity_id
        return issue_one(
            store,
            self._clock,
            self._linter,
            authority,
            CertificateFacts(
                CertKind.ORGANISATION, KeyUse.DIGITAL_SIGNATURE, eui, RemotePartyRole.RECOVERY
            ),
            lambda serial: build.organisation(
                context,
                serial,
                now,
                now + self._config.organisation_validity,
                key,
                KeyUse.DIGITAL_SIGNATURE,
                RemotePartyRole.RECOVERY,
                eui,
                None,
            ),
            self._actor,
        )
