"""Path building: anchors, intermediates, CA constraints and what the verdict notes (R-RP-1)."""

from __future__ import annotations

import pytest

from smki.ca.serials import new_serial
from smki.lint.raw import parse_certificate
from smki.profiles import build
from smki.profiles.build import IssuerContext
from smki.profiles.kinds import KeyUse
from smki.validation import Reason, RevocationLists, TrustStore, validate
from smki.x509.names import ca_subject
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import encode_tbs
from tests.unit.validation.pki import (
    AT,
    CA_NOT_AFTER,
    NOT_BEFORE,
    POLICY,
    SUPPLIER_EUI,
    Hierarchies,
    hierarchies,
    issuing,
    new_key,
    organisation_fields,
    sign_tbs,
    subject_key,
)


@pytest.fixture(scope="module")
def pki() -> Hierarchies:
    return hierarchies()


def test_an_anchor_checked_as_the_certificate_is_its_own_path(pki: Hierarchies) -> None:
    verdict = validate(pki.root_oca.der, trust=[pki.root_oca.der], at=AT)
    assert verdict.ok
    assert [entry.role for entry in verdict.path] == ["trust anchor"]


def test_an_issuing_ca_as_anchor_is_trusted_as_given_and_says_so(pki: Hierarchies) -> None:
    # The observed ZAZ1 set has only the Issuing OCA "Z1" (OBSERVED.md §B): relying parties
    # anchor on it. Its own signature cannot be checked, and the verdict says so.
    verdict = validate(pki.org_ds, trust=[pki.issuing_oca.der], crls=[pki.issuing_oca.crl()], at=AT)
    assert verdict.ok
    assert [entry.role for entry in verdict.path] == ["leaf", "trust anchor"]
    assert len(verdict.notes) == 1
    assert "is not self-signed: it is trusted as given" in verdict.notes[0]
    assert "OU=00, CN=TZA" in verdict.notes[0]


def test_a_resigned_copy_of_an_anchor_is_not_the_anchor(pki: Hierarchies) -> None:
    # Same TBS, other signature (the RTDS "corrupted signature" case, OBSERVED.md §G): it is
    # not byte-identical to the anchor, so it needs its own issuer, which is not given.
    copy = sign_tbs(new_key(), _tbs_of(pki.issuing_oca.der))
    verdict = validate(copy, trust=[pki.issuing_oca.der], at=AT, require_crls=False)
    assert verdict.reason is Reason.UNKNOWN_ISSUER
    assert "a copy of trust anchor OU=07, CN=TZ1" in verdict.detail


def _tbs_of(certificate: bytes) -> bytes:
    return parse_certificate(certificate).tbs.encoded


def test_an_end_entity_cannot_issue(pki: Hierarchies) -> None:
    # A certificate signed with the supplier's key, naming the supplier as issuer: the
    # signature is good, but an Organisation Certificate is no CA (basicConstraints).
    supplier_key = new_key()
    supplier = build.organisation(
        pki.issuing_oca.context,
        new_serial(),
        NOT_BEFORE,
        CA_NOT_AFTER,
        subject_key(supplier_key),
        KeyUse.DIGITAL_SIGNATURE,
        RemotePartyRole.SUPPLIER,
        SUPPLIER_EUI,
        None,
    )
    supplier_der = pki.issuing_oca.sign(supplier)
    as_issuer = IssuerContext(supplier.subject, subject_key(supplier_key).key_id, POLICY)
    child_fields = organisation_fields(pki.issuing_oca)
    child = sign_tbs(
        supplier_key,
        encode_tbs(
            build.organisation(
                as_issuer,
                child_fields.serial,
                NOT_BEFORE,
                CA_NOT_AFTER,
                subject_key(new_key()),
                KeyUse.KEY_AGREEMENT,
                RemotePartyRole.SUPPLIER,
                SUPPLIER_EUI,
                None,
            )
        ),
    )
    verdict = validate(
        child,
        trust=[pki.root_oca.der],
        chain=[pki.issuing_oca.der, supplier_der],
        crls=pki.org_lists,
        at=AT,
    )
    assert verdict.reason is Reason.UNKNOWN_ISSUER
    assert "which is not a CA" in verdict.detail


def test_path_length_zero_forbids_a_ca_below_the_issuing_ca(pki: Hierarchies) -> None:
    # R-PROF-30: Issuing CAs carry pathLenConstraint 0.
    below = issuing(pki.issuing_oca, "TZ9", organisation=True)
    leaf = below.sign(organisation_fields(below))
    verdict = validate(
        leaf,
        trust=[pki.root_oca.der],
        chain=[pki.issuing_oca.der, below.der],
        at=AT,
        require_crls=False,
    )
    assert verdict.reason is Reason.UNKNOWN_ISSUER
    assert "pathLenConstraint 0" in verdict.detail
    assert [entry.subject for entry in verdict.path] == [
        "OU=02, uniqueIdentifier=90B3D51F30010000",
        "OU=07, CN=TZ9",
        "OU=07, CN=TZ1",
        "OU=00, CN=TZA",
    ]


def test_the_partial_path_is_reported_on_refusal(pki: Hierarchies) -> None:
    verdict = validate(pki.org_ds, trust=[pki.root_dca.der], chain=[pki.issuing_oca.der], at=AT)
    assert verdict.reason is Reason.UNKNOWN_ISSUER
    assert [entry.role for entry in verdict.path] == ["leaf", "intermediate"]


def test_the_right_one_of_two_same_named_issuers_is_chosen(pki: Hierarchies) -> None:
    # Rotation: two Issuing OCAs called TZ1 under the same root; the AKI picks the right one.
    twin_subject = ca_subject(RemotePartyRole.ISSUING_AUTHORITY, "TZ1")
    twin_key = new_key()
    twin = pki.root_oca.sign(
        build.issuing_ca(
            pki.root_oca.context,
            twin_subject,
            new_serial(),
            NOT_BEFORE,
            CA_NOT_AFTER,
            subject_key(twin_key),
        )
    )
    verdict = validate(
        pki.org_ds,
        trust=[pki.root_oca.der],
        chain=[twin, pki.issuing_oca.der],
        crls=pki.org_lists,
        at=AT,
    )
    assert verdict.ok, verdict.detail
    assert verdict.path[1].serial == f"{pki.issuing_oca.serial:X}"


def test_prepared_store_and_lists_serve_many_certificates(pki: Hierarchies) -> None:
    store = TrustStore.from_der([pki.root_oca.der, pki.root_dca.der], [pki.issuing_oca.der])
    lists = RevocationLists.from_der(
        [*pki.org_lists, pki.root_dca.crl(), pki.issuing_dca.crl([pki.org_ds_serial])]
    )
    assert len(lists) == 4
    assert len(store.anchors) == 2
    for certificate in (pki.org_ds, pki.org_ka, pki.issuing_oca.der):
        assert validate(certificate, trust=store, crls=lists, at=AT).ok
    # The device hierarchy's intermediate is given per call; the Device CRL listing a serial
    # equal to the supplier's does not touch the supplier (another issuer).
    device = validate(pki.device_ds, trust=store, chain=[pki.issuing_dca.der], crls=lists, at=AT)
    assert device.ok and device.notes == ()
