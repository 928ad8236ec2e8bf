"""A small SMKI test PKI for the validation unit tests, built in memory with smki's own
profile builders (smki.profiles.build) and CRL encoder (smki.ca.crl), so every certificate
is what the CAs issue and lints clean; keys are throwaway P-256 keys.

Organisation hierarchy: root "TZA" (OU=00) → Issuing OCA "TZ1" (OU=07) → supplier DS and KA
certificates. Device hierarchy: root "TDA" → Issuing DCA "TD1" (CN only) → a device's DS and
KA certificates. Lists: the Organisation CRL (by TZ1) and ARL (by TZA), the Device ARL (by
TDA) and an empty Device CRL (by TD1); each current from ``THIS_UPDATE`` to ``NEXT_UPDATE``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from smki.ca.crl import CrlRequest, Revoked, build_crl_tbs
from smki.ca.serials import new_serial
from smki.ids import EntityId
from smki.profiles import build
from smki.profiles import extensions as ext
from smki.profiles.build import IssuerContext, SubjectKey
from smki.profiles.kinds import KeyUse
from smki.x509 import der
from smki.x509.hwname import HardwareModuleName
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.names import ca_subject, common_name_subject
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE, OBSERVED_ORGANISATION_POLICY
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM, TbsFields, encode_certificate, encode_tbs

NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ORG_NOT_AFTER = dt.datetime(2034, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
CA_NOT_AFTER = dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
THIS_UPDATE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
NEXT_UPDATE = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
#: A time at which every certificate and list of the PKI is valid and current.
AT = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
SUPPLIER_EUI = EntityId(bytes.fromhex("90B3D51F30010000"))
DEVICE_EUI = EntityId(bytes.fromhex("00DB123456789001"))
POLICY = OBSERVED_ORGANISATION_POLICY


@dataclass(frozen=True)
class Ca:
    """A CA of the test PKI: its certificate, its key and what it stamps into what it signs."""

    der: bytes
    key: ec.EllipticCurvePrivateKey
    context: IssuerContext
    serial: int

    def sign(self, fields: TbsFields) -> bytes:
        return sign_tbs(self.key, encode_tbs(fields))

    def crl(
        self,
        revoked: Sequence[int] = (),
        *,
        this_update: dt.datetime = THIS_UPDATE,
        next_update: dt.datetime = NEXT_UPDATE,
        number: int = 1,
        key: ec.EllipticCurvePrivateKey | None = None,
        reason: str = "keyCompromise",
    ) -> bytes:
        """A full CRL (issuing CA) or ARL (root) listing ``revoked``; ``key`` signs it instead
        of the CA's own key, for a forged list."""
        request = CrlRequest(
            self.context.name,
            self.context.key_id,
            number,
            this_update,
            next_update,
            [Revoked(serial, this_update, reason) for serial in revoked],
        )
        tbs = build_crl_tbs(request)
        signature = (key or self.key).sign(tbs, ec.ECDSA(hashes.SHA256()))
        return der.sequence(tbs, ECDSA_SHA256_ALGORITHM, der.bit_string(signature))


def sign_tbs(key: ec.EllipticCurvePrivateKey, tbs: bytes) -> bytes:
    return encode_certificate(tbs, key.sign(tbs, ec.ECDSA(hashes.SHA256())))


def subject_key(key: ec.EllipticCurvePrivateKey) -> SubjectKey:
    spki = spki_der(key.public_key())
    return SubjectKey(spki, key_id_for_spki(spki))


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def root(common_name: str) -> Ca:
    key, serial = new_key(), new_serial()
    subject = ca_subject(RemotePartyRole.ROOT, common_name)
    fields = build.root_ca(subject, serial, NOT_BEFORE, CA_NOT_AFTER, subject_key(key), POLICY)
    der_bytes = sign_tbs(key, encode_tbs(fields))
    context = IssuerContext(subject.public_bytes(), subject_key(key).key_id, POLICY)
    return Ca(der_bytes, key, context, serial)


def issuing(parent: Ca, subject_name: str, *, organisation: bool) -> Ca:
    key, serial = new_key(), new_serial()
    subject = (
        ca_subject(RemotePartyRole.ISSUING_AUTHORITY, subject_name)
        if organisation
        else common_name_subject(subject_name)
    )
    fields = build.issuing_ca(
        parent.context, subject, serial, NOT_BEFORE, CA_NOT_AFTER, subject_key(key)
    )
    context = IssuerContext(subject.public_bytes(), subject_key(key).key_id, POLICY)
    return Ca(parent.sign(fields), key, context, serial)


def organisation_fields(
    ca: Ca,
    usage: KeyUse = KeyUse.DIGITAL_SIGNATURE,
    *,
    not_before: dt.datetime = NOT_BEFORE,
    not_after: dt.datetime = ORG_NOT_AFTER,
) -> TbsFields:
    return build.organisation(
        ca.context,
        new_serial(),
        not_before,
        not_after,
        subject_key(new_key()),
        usage,
        RemotePartyRole.SUPPLIER,
        SUPPLIER_EUI,
        None,
    )


def device_fields(ca: Ca, usage: KeyUse, eui: EntityId = DEVICE_EUI) -> TbsFields:
    return build.device(
        ca.context,
        new_serial(),
        NOT_BEFORE,
        subject_key(new_key()),
        usage,
        HardwareModuleName(DEFAULT_DEVICE_HW_TYPE, eui),
    )


def with_both_usages(fields: TbsFields) -> TbsFields:
    """The same certificate with keyUsage digitalSignature and keyAgreement (R-PROF-21)."""
    both = ext.from_cryptography(
        x509.KeyUsage(True, False, False, False, True, False, False, False, False), True
    )
    return TbsFields(
        fields.serial,
        fields.issuer,
        fields.not_before,
        fields.not_after,
        fields.subject,
        fields.spki,
        (both, *fields.extensions[1:]),
    )


@dataclass(frozen=True)
class Hierarchies:
    root_oca: Ca
    issuing_oca: Ca
    root_dca: Ca
    issuing_dca: Ca
    org_ds: bytes
    org_ds_serial: int
    org_ka: bytes
    device_ds: bytes
    device_ka: bytes
    #: The current, empty Organisation CRL and ARL.
    org_lists: tuple[bytes, bytes]


@functools.cache
def hierarchies() -> Hierarchies:
    """Built once per test session: the objects are immutable."""
    root_oca = root("TZA")
    issuing_oca = issuing(root_oca, "TZ1", organisation=True)
    root_dca = root("TDA")
    issuing_dca = issuing(root_dca, "TD1", organisation=False)
    org_ds = organisation_fields(issuing_oca)
    return Hierarchies(
        root_oca=root_oca,
        issuing_oca=issuing_oca,
        root_dca=root_dca,
        issuing_dca=issuing_dca,
        org_ds=issuing_oca.sign(org_ds),
        org_ds_serial=org_ds.serial,
        org_ka=issuing_oca.sign(organisation_fields(issuing_oca, KeyUse.KEY_AGREEMENT)),
        device_ds=issuing_dca.sign(device_fields(issuing_dca, KeyUse.DIGITAL_SIGNATURE)),
        device_ka=issuing_dca.sign(device_fields(issuing_dca, KeyUse.KEY_AGREEMENT)),
        org_lists=(issuing_oca.crl(), root_oca.crl()),
    )
