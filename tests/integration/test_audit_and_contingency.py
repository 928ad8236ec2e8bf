"""The audit log through the CLI (R-X-1) and the wrapped Contingency key (R-PROF-31, R-REC-3)."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography import x509

from smki.ca.ceremony import CONTINGENCY_LABEL_KEY, SYMMETRIC_LABEL_KEY
from smki.config.pki import load_pki_config
from smki.ids import KeyLabel
from smki.wiring import open_services
from smki.x509 import der
from smki.x509.keys import spki_der
from tests.integration.cli_support import PASSPHRASE, Smki


def test_audit_verify_names_the_first_edited_record(smki: Smki) -> None:
    smki.ok("init", *smki.h, "--env", "test")
    assert "audit log intact" in smki.ok("audit", "verify", *smki.h).stdout
    engine = sa.create_engine(smki.env["SMKI_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"))
    finally:
        engine.dispose()
    outcome = smki("audit", "verify", *smki.h)
    assert outcome.exit_code == 8
    assert "error: audit-chain-broken: audit log broken at record 5" in outcome.stderr
    with_deleted = sa.create_engine(smki.env["SMKI_DATABASE_URL"])
    try:
        with with_deleted.begin() as conn:
            conn.execute(
                sa.text("UPDATE audit_events SET actor = 'test:integration' WHERE seq = 5")
            )
            conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 3"))
    finally:
        with_deleted.dispose()
    outcome = smki("audit", "verify", *smki.h)
    assert outcome.exit_code == 8
    assert "record 4" in outcome.stderr or "record 3" in outcome.stderr


def test_contingency_key_unwraps_from_the_root_oca(ready: Smki) -> None:
    root = x509.load_pem_x509_certificate((ready.home / "out" / "root-oca.pem").read_bytes())
    oid = load_pki_config().contingency_extension
    extension = root.extensions.get_extension_for_oid(oid)
    assert extension.critical is False
    assert isinstance(extension.value, x509.UnrecognizedExtension)
    tag, wrapped, _ = der.read_tlv(extension.value.value)
    assert tag == der.OCTET_STRING
    services = open_services(ready.home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            symmetric = tx.get_meta(SYMMETRIC_LABEL_KEY.format(env="test"))
            contingency = tx.get_meta(CONTINGENCY_LABEL_KEY.format(env="test"))
        assert symmetric is not None and contingency is not None
        unwrapped = services.keystore.unseal(KeyLabel(symmetric), wrapped)
        expected = spki_der(services.keystore.signer(KeyLabel(contingency)).public_key())
    finally:
        services.close()
    assert unwrapped == expected
    for other in ("root-dca.pem", "issuing-oca.pem"):
        cert = x509.load_pem_x509_certificate((ready.home / "out" / other).read_bytes())
        assert oid not in [e.oid for e in cert.extensions]
