"""Loading a CA from the store and the key store, ready to sign."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from smki.ca.issuer import SigningAuthority
from smki.errors import NotFound
from smki.ids import KeyLabel
from smki.keystore.base import KeyStore
from smki.profiles.build import IssuerContext
from smki.storage.api import AuthorityRow, Transaction
from smki.x509.keys import key_id_for_spki, spki_der


@dataclass(frozen=True)
class LoadedAuthority:
    row: AuthorityRow
    certificate: x509.Certificate
    signing: SigningAuthority
    context: IssuerContext


def load_authority(
    tx: Transaction, keystore: KeyStore, env: str, name: str, policy: x509.ObjectIdentifier
) -> LoadedAuthority:
    row = tx.authority(env, name)
    if row is None or row.certificate_id is None:
        raise NotFound(
            f"no {name} authority in the {env} environment; run 'smki init'", code="no-authority"
        )
    certificate = x509.load_der_x509_certificate(tx.certificate(row.certificate_id).der)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    signer = keystore.signer(KeyLabel(row.key_label))
    return LoadedAuthority(
        row=row,
        certificate=certificate,
        signing=SigningAuthority(row.id, name, signer, public_key),
        context=IssuerContext(
            name=certificate.subject.public_bytes(),
            key_id=key_id_for_spki(spki_der(public_key)),
            policy=policy,
        ),
    )
