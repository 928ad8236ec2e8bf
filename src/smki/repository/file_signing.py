"""The repository's file-signing credential (R-REP-6: extracts are "signed (IKI file-signing
certificate)", R-PROF-33).

One DCC IKI certificate per environment, issued by the environment's Issuing ICA through the
normal issuance cycle (intent, lint, sign, verify, store, audit; docs/issuance-cycle.md). Its
private key is generated in the key store (encrypted file or PKCS#11) and never leaves it.
Subject: O=DCC, CN=SMKI Repository file signing; keyUsage digitalSignature.

Where it is found again [smki decision]: the meta key ``file-signing:<env>`` holds JSON naming
the key label and the certificate's row id. It is created on first need (the first extract)
and replaced, under a new key, when the recorded one is revoked, suspended, within
``RENEW_BEFORE`` of its expiry, no longer issued by the current Issuing ICA, or its key is
gone from the key store. Two processes creating one at the same moment each issue a valid
credential and the last write names the one used from then on; the other's key label stays
unused in the key store, as an interrupted ceremony's do.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from cryptography.hazmat.primitives.serialization import Encoding

from smki.ca.authority import LoadedAuthority
from smki.ca.issuer import CertificateFacts, issue_one
from smki.ca.linting import PreSignLinter
from smki.ca.serials import serial_hex
from smki.clock import Clock
from smki.config.pki import PkiConfig
from smki.errors import NotFound
from smki.ids import KeyLabel
from smki.keystore.base import KeyStore, Signer
from smki.profiles import build
from smki.profiles.build import SubjectKey
from smki.profiles.kinds import CertKind, Environment, KeyUse, Pki
from smki.storage.api import Store, Transaction
from smki.storage.scoped import ScopedStore
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.names import holder_subject
from smki.x509.timeenc import truncate

log = logging.getLogger(__name__)

#: The meta key naming the credential of one environment (JSON: key_label, certificate_id).
META_KEY: Final = "file-signing:{env}"
#: Subject of the credential: the DCC organisation and a CN that says what the key is for.
ORGANISATION: Final = "DCC"
COMMON_NAME: Final = "SMKI Repository file signing"
#: A credential this close to its notAfter is replaced, so that no extract is signed by a
#: certificate that expires before relying parties have fetched it [smki decision].
RENEW_BEFORE: Final = dt.timedelta(days=30)

AuthorityLoader = Callable[[Transaction, Environment, str], LoadedAuthority]


@dataclass(frozen=True)
class FileSigner:
    """The key that signs extracts and the chain a relying party checks it by."""

    signer: Signer = field(repr=False)
    certificate: bytes  # DER of the file-signing certificate
    ica: bytes  # DER of the Issuing ICA certificate that issued it
    certificate_id: int
    serial: int


def _recorded(
    tx: Transaction, keystore: KeyStore, env: Environment, now: dt.datetime
) -> FileSigner | None:
    """The recorded credential if it may still sign, else None (and why, in the log)."""
    raw = tx.get_meta(META_KEY.format(env=env))
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        label, certificate_id = str(record["key_label"]), int(record["certificate_id"])
    except (ValueError, KeyError, TypeError):
        log.warning("the recorded %s file-signing credential is unreadable; replacing it", env)
        return None
    row = tx.certificate(certificate_id)
    ica = tx.authority(env, Pki.IKI.issuing)
    reason = None
    if row.status == "revoked":
        reason = "revoked"
    elif tx.suspended_ids([row.id]):
        reason = "suspended"
    elif row.not_after - RENEW_BEFORE <= now:
        reason = "about to expire"
    elif ica is None or ica.certificate_id is None or ica.id != row.authority_id:
        reason = "not issued by the current Issuing ICA"
    if reason is not None:
        log.info("the %s file-signing credential %X is %s", env, row.serial, reason)
        return None
    assert ica is not None and ica.certificate_id is not None
    try:
        signer = keystore.signer(KeyLabel(label))
    except NotFound:
        log.warning("the %s file-signing key %s is not in the key store", env, label)
        return None
    return FileSigner(signer, row.der, tx.certificate(ica.certificate_id).der, row.id, row.serial)


def file_signer(
    store: Store,
    keystore: KeyStore,
    clock: Clock,
    linter: PreSignLinter,
    config: PkiConfig,
    load: AuthorityLoader,
    env: Environment,
    actor: str,
) -> FileSigner:
    """The environment's file-signing credential, issued first if there is none usable."""
    with store.reading() as tx:
        found = _recorded(tx, keystore, env, clock.now())
    if found is not None:
        return found
    # The key is made before the transaction, as the ceremony does: a key store is not
    # transactional, and a rolled-back issuance leaves only an unused label behind.
    label = KeyLabel(f"{env}-file-signing-{secrets.token_hex(4)}")
    signer = keystore.generate(label)
    with store.transaction() as tx:
        found = _recorded(tx, keystore, env, clock.now())
        if found is not None:
            log.info("another process issued the %s file-signing credential; %s unused", env, label)
            return found
        return _issue(tx, store, clock, linter, config, load, env, signer, actor)


def _issue(
    tx: Transaction,
    store: Store,
    clock: Clock,
    linter: PreSignLinter,
    config: PkiConfig,
    load: AuthorityLoader,
    env: Environment,
    signer: Signer,
    actor: str,
) -> FileSigner:
    ica = load(tx, env, Pki.IKI.issuing)
    spki = spki_der(signer.public_key())
    now = truncate(clock.now())
    issued = issue_one(
        ScopedStore(store, tx),
        clock,
        linter,
        ica.signing,
        CertificateFacts(CertKind.IKI, KeyUse.DIGITAL_SIGNATURE),
        partial(
            build.iki,
            ica.context,
            holder_subject(COMMON_NAME, ORGANISATION),
            not_before=now,
            not_after=now + config.iki_validity,
            key=SubjectKey(spki, key_id_for_spki(spki)),
        ),
        actor,
    )
    record = {"key_label": signer.label, "certificate_id": issued.certificate_id}
    tx.set_meta(META_KEY.format(env=env), json.dumps(record, sort_keys=True))
    tx.audit(
        actor,
        "repository.file-signing-credential",
        f"certificate:{issued.certificate_id}",
        {"env": str(env), "serial": serial_hex(issued.serial), "key_label": signer.label},
    )
    return FileSigner(
        signer,
        issued.der,
        ica.certificate.public_bytes(Encoding.DER),
        issued.certificate_id,
        issued.serial,
    )
