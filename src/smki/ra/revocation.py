"""Revocation of Organisation, IKI, DCCKI and Issuing CA certificates (R-SI-4, R-REP-5).

The certificate is marked revoked and the affected CRL (issuing CA) or ARL (root) is reissued
in the same transaction, so the revocation and its publication happen whole or not at all.
Device Certificates are not revoked: devices cannot consult CRLs (R-SI-4 [smki decision]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smki.ca.authority import LoadedAuthority
from smki.ca.crl import list_kind_of, parse_reason, publish_crl
from smki.ca.serials import serial_hex
from smki.clock import Clock
from smki.config.pki import PkiConfig
from smki.errors import Conflict, InputError, NotFound
from smki.profiles.kinds import CertKind
from smki.storage.api import CertificateRow, Store, Transaction

AuthorityByName = Callable[[Transaction, str], LoadedAuthority]


@dataclass(frozen=True)
class RevocationResult:
    certificate_id: int
    serial: int
    kind: str
    list_kind: str
    list_number: int


def find_certificate(tx: Transaction, env: str, serial: int) -> CertificateRow:
    rows = tx.certificate_by_serial(env, serial)
    if not rows:
        raise NotFound(
            f"no certificate with serial {serial_hex(serial)} in the {env} environment",
            code="unknown-certificate",
        )
    if len(rows) > 1:
        raise Conflict(
            f"serial {serial_hex(serial)} is held by {len(rows)} issuers; "
            "name the certificate by issuer",
            code="ambiguous-serial",
        )
    return rows[0]


def revoke(
    store: Store,
    clock: Clock,
    config: PkiConfig,
    load_by_name: AuthorityByName,
    env: str,
    serial: int,
    reason: str,
    actor: str,
) -> RevocationResult:
    """Revoke the certificate with ``serial`` in ``env`` and reissue its CRL or ARL."""
    with store.transaction() as tx:
        row = find_certificate(tx, env, serial)
        return revoke_in(tx, clock, config, load_by_name, env, row, reason, actor)


def revoke_in(
    tx: Transaction,
    clock: Clock,
    config: PkiConfig,
    load_by_name: AuthorityByName,
    env: str,
    row: CertificateRow,
    reason: str,
    actor: str,
) -> RevocationResult:
    """The revocation inside a caller's transaction, so that it commits with the change that
    caused it (an ARO's removal, R-IKI-1)."""
    reason = parse_reason(reason)
    kind = CertKind(row.kind)
    if kind is CertKind.DEVICE:
        raise InputError(
            "Device Certificates are not revoked (devices cannot consult "
            "CRLs); replace the device's credentials instead",
            code="device-not-revocable",
            rid="R-SI-4",
        )
    if kind.is_root:
        raise InputError(
            "a root certificate is a trust anchor and cannot be revoked; "
            "use the SMKI Recovery Procedure",
            code="root-not-revocable",
            rid="R-REC-2",
        )
    if not tx.revoke(row.id, reason, clock.now()):
        raise Conflict(
            f"certificate {serial_hex(row.serial)} is already revoked",
            code="already-revoked",
            rid="R-SI-4",
        )
    issuer_row = tx.authority_by_id(row.authority_id)
    if kind.is_ca:
        subject_authority = next(
            (a for a in tx.authorities(env) if a.certificate_id == row.id), None
        )
        if subject_authority is not None:
            tx.set_authority_status(subject_authority.id, "revoked")
    tx.audit(
        actor,
        "certificate.revoked",
        f"certificate:{row.id}",
        {"serial": serial_hex(row.serial), "kind": row.kind, "reason": reason},
    )
    issuer = load_by_name(tx, issuer_row.name)
    list_kind = list_kind_of(issuer_row)
    number = publish_crl(
        tx, clock, config.crl_period, issuer.signing, issuer.context, list_kind, actor
    )
    return RevocationResult(row.id, row.serial, row.kind, list_kind, number)
