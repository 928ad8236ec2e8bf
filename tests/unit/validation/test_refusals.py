"""Each refusal code of the relying-party library, on the in-memory test PKI (R-RP-1, R-RP-2).

Every test first has the same inputs validate (``_org``/``_device`` with nothing changed are
valid, see ``test_the_unchanged_inputs_are_valid``), then changes one thing and expects one
reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from smki.profiles.kinds import KeyUse
from smki.validation import Reason, TrustStore, Verdict, validate
from tests.unit.validation.pki import (
    AT,
    CA_NOT_AFTER,
    DEVICE_EUI,
    NEXT_UPDATE,
    NOT_BEFORE,
    ORG_NOT_AFTER,
    THIS_UPDATE,
    Hierarchies,
    hierarchies,
    new_key,
    organisation_fields,
    root,
    with_both_usages,
)


@pytest.fixture(scope="module")
def pki() -> Hierarchies:
    return hierarchies()


def _org(
    pki: Hierarchies,
    certificate: bytes | None = None,
    *,
    trust: Sequence[bytes] | None = None,
    chain: Sequence[bytes] | None = None,
    crls: Sequence[bytes] | None = None,
    at: dt.datetime = AT,
    **options: object,
) -> Verdict:
    """Validate an Organisation Certificate (default: the supplier DS one) with the full
    organisation hierarchy and both current lists."""
    return validate(
        pki.org_ds if certificate is None else certificate,
        trust=[pki.root_oca.der] if trust is None else trust,
        chain=[pki.issuing_oca.der] if chain is None else chain,
        crls=pki.org_lists if crls is None else crls,
        at=at,
        **options,  # type: ignore[arg-type]
    )


def _device(pki: Hierarchies, certificate: bytes | None = None, **options: object) -> Verdict:
    """Validate the device DS certificate against the device hierarchy and its ARL."""
    return validate(
        pki.device_ds if certificate is None else certificate,
        trust=[pki.root_dca.der],
        chain=[pki.issuing_dca.der],
        crls=[pki.root_dca.crl()],
        at=AT,
        **options,  # type: ignore[arg-type]
    )


def _refused(verdict: Verdict, reason: Reason, *words: str) -> None:
    assert not verdict.ok, verdict
    assert verdict.reason is reason, verdict.detail
    for word in words:
        assert word in verdict.detail, verdict.detail


def test_the_unchanged_inputs_are_valid(pki: Hierarchies) -> None:
    verdict = _org(pki)
    assert verdict.ok and verdict.reason is None and verdict.code is None
    assert [entry.role for entry in verdict.path] == ["leaf", "intermediate", "trust anchor"]
    assert verdict.path[0].subject == "OU=02, uniqueIdentifier=90B3D51F30010000"
    assert verdict.path[2].subject == "OU=00, CN=TZA"
    assert verdict.notes == ()
    assert _device(pki).ok


def test_malformed_certificate(pki: Hierarchies) -> None:
    _refused(_org(pki, b"\x30\x03\x02\x01\x01"), Reason.MALFORMED, "certificate")
    _refused(_org(pki, b"not a certificate"), Reason.MALFORMED)


def test_malformed_trust_anchor_chain_or_crl_is_named(pki: Hierarchies) -> None:
    _refused(_org(pki, trust=[pki.root_oca.der[:-1]]), Reason.MALFORMED, "trust anchor 1")
    _refused(_org(pki, chain=[b"\x30\x00"]), Reason.MALFORMED, "chain certificate 1")
    _refused(_org(pki, crls=[pki.org_lists[0], b"\x30\x00"]), Reason.MALFORMED, "CRL 2")


def test_bad_signature_by_a_flipped_signature_byte(pki: Hierarchies) -> None:
    # The last octet of the DER is the last octet of the signature's s: the certificate still
    # parses, and only the signature check can tell.
    flipped = pki.org_ds[:-1] + bytes([pki.org_ds[-1] ^ 0x01])
    _refused(_org(pki, flipped), Reason.BAD_SIGNATURE, "does not verify", "OU=07, CN=TZ1")


def test_bad_signature_on_a_self_signed_anchor(pki: Hierarchies) -> None:
    corrupted_root = pki.root_oca.der[:-1] + bytes([pki.root_oca.der[-1] ^ 0x01])
    _refused(_org(pki, trust=[corrupted_root]), Reason.BAD_SIGNATURE, "trust anchor", "own key")


def test_bad_signature_on_a_forged_crl(pki: Hierarchies) -> None:
    forged = pki.issuing_oca.crl(key=new_key())
    _refused(_org(pki, crls=[forged, pki.root_oca.crl()]), Reason.BAD_SIGNATURE, "CRL", "signature")


def test_unknown_issuer_when_the_chain_is_missing(pki: Hierarchies) -> None:
    _refused(_org(pki, chain=[]), Reason.UNKNOWN_ISSUER, "OU=07, CN=TZ1", "neither")


def test_unknown_issuer_under_another_root(pki: Hierarchies) -> None:
    _refused(_org(pki, trust=[pki.root_dca.der]), Reason.UNKNOWN_ISSUER, "OU=00, CN=TZA")


def test_unknown_issuer_when_a_same_named_root_has_another_key(pki: Hierarchies) -> None:
    impostor = root("TZA")  # same name, different key: the AKI does not match its SKI
    _refused(_org(pki, trust=[impostor.der]), Reason.UNKNOWN_ISSUER, "another key")


def test_not_yet_valid(pki: Hierarchies) -> None:
    before = NOT_BEFORE - dt.timedelta(seconds=1)
    _refused(_org(pki, at=before), Reason.NOT_YET_VALID, NOT_BEFORE.isoformat())


def test_expired_organisation_certificate(pki: Hierarchies) -> None:
    after = ORG_NOT_AFTER + dt.timedelta(seconds=1)
    _refused(_org(pki, at=after), Reason.EXPIRED, ORG_NOT_AFTER.isoformat(), "OU=02")


def test_device_certificates_do_not_expire_but_their_cas_do(pki: Hierarchies) -> None:
    # R-PROF-12: notAfter 99991231235959Z; only the CAs above the device ever expire.
    late = CA_NOT_AFTER + dt.timedelta(days=1)
    verdict = validate(
        pki.device_ds,
        trust=[pki.root_dca.der],
        chain=[pki.issuing_dca.der],
        at=late,
        require_crls=False,
    )
    _refused(verdict, Reason.EXPIRED, "TD1")
    assert verdict.path[0].not_after.year == 9999


def test_stale_crl_after_next_update(pki: Hierarchies) -> None:
    after = NEXT_UPDATE + dt.timedelta(seconds=1)
    _refused(_org(pki, at=after), Reason.STALE_CRL, "nextUpdate", NEXT_UPDATE.isoformat())


def test_stale_crl_before_this_update(pki: Hierarchies) -> None:
    before = THIS_UPDATE - dt.timedelta(days=1)
    _refused(_org(pki, at=before), Reason.STALE_CRL, "after the time checked")


def test_a_current_list_beside_an_old_one_is_enough(pki: Hierarchies) -> None:
    old = pki.issuing_oca.crl(
        this_update=THIS_UPDATE - dt.timedelta(days=60),
        next_update=THIS_UPDATE - dt.timedelta(days=30),
    )
    assert _org(pki, crls=[old, *pki.org_lists]).ok


def test_revoked_on_the_issuing_ca_crl(pki: Hierarchies) -> None:
    crl = pki.issuing_oca.crl([pki.org_ds_serial], number=7)
    verdict = _org(pki, crls=[crl, pki.root_oca.crl()])
    _refused(verdict, Reason.REVOKED, f"{pki.org_ds_serial:X}", "number 7", "keyCompromise")
    assert _org(pki, pki.org_ka, crls=[crl, pki.root_oca.crl()]).ok  # only that one


def test_revoked_wins_over_a_stale_list(pki: Hierarchies) -> None:
    crl = pki.issuing_oca.crl([pki.org_ds_serial])
    later = NEXT_UPDATE + dt.timedelta(days=1)
    _refused(_org(pki, crls=[crl, pki.root_oca.crl()], at=later), Reason.REVOKED)


def test_ca_revoked_on_the_arl(pki: Hierarchies) -> None:
    arl = pki.root_oca.crl([pki.issuing_oca.serial], reason="cACompromise")
    crls = [pki.issuing_oca.crl(), arl]
    _refused(_org(pki, crls=crls), Reason.CA_REVOKED, "OU=07, CN=TZ1", "ARL", "cACompromise")
    # The Issuing OCA itself, checked as the leaf, is simply revoked.
    _refused(_org(pki, pki.issuing_oca.der, crls=crls), Reason.REVOKED, "ARL")


def test_device_arl_applies_to_the_issuing_dca(pki: Hierarchies) -> None:
    arl = pki.root_dca.crl([pki.issuing_dca.serial], reason="cACompromise")
    verdict = validate(
        pki.device_ds, trust=[pki.root_dca.der], chain=[pki.issuing_dca.der], crls=[arl], at=AT
    )
    _refused(verdict, Reason.CA_REVOKED, "CN=TD1")


def test_crl_missing(pki: Hierarchies) -> None:
    _refused(_org(pki, crls=[]), Reason.CRL_MISSING, "no ARL from OU=00, CN=TZA")
    _refused(_org(pki, crls=[pki.root_oca.crl()]), Reason.CRL_MISSING, "no CRL from OU=07")


def test_crl_missing_is_a_note_when_not_required(pki: Hierarchies) -> None:
    verdict = _org(pki, crls=[], require_crls=False)
    assert verdict.ok
    assert len(verdict.notes) == 2
    assert all("not checked" in note for note in verdict.notes)
    assert any("(ARL) from OU=00, CN=TZA" in note for note in verdict.notes)
    assert any("(CRL) from OU=07, CN=TZ1" in note for note in verdict.notes)


def test_no_device_crl_is_expected_and_noted(pki: Hierarchies) -> None:
    # R-SI-4: Device Certificates are not revoked; the Device ARL alone is enough, even when
    # CRLs are required, and the verdict says what was not checked.
    verdict = _device(pki)
    assert verdict.ok
    assert len(verdict.notes) == 1 and "no Device CRL from CN=TD1" in verdict.notes[0]
    with_crl = validate(
        pki.device_ds,
        trust=[pki.root_dca.der],
        chain=[pki.issuing_dca.der],
        crls=[pki.root_dca.crl(), pki.issuing_dca.crl()],
        at=AT,
    )
    assert with_crl.ok and with_crl.notes == ()
    # The Device ARL is not optional: without it the Issuing DCA's revocation is unknown.
    no_arl = validate(pki.device_ds, trust=[pki.root_dca.der], chain=[pki.issuing_dca.der], at=AT)
    _refused(no_arl, Reason.CRL_MISSING, "no ARL from OU=00, CN=TDA")


def test_suspended_through_the_callback(pki: Hierarchies) -> None:
    asked: list[tuple[bytes, int]] = []

    def leaf_suspended(issuer: bytes, serial: int) -> bool:
        asked.append((issuer, serial))
        return serial == pki.org_ds_serial

    _refused(_org(pki, suspended=leaf_suspended), Reason.SUSPENDED, "suspended")
    # Asked anchor side first, with the issuer name DER and the serial of each certificate.
    assert asked == [
        (pki.root_oca.context.name, pki.root_oca.serial),
        (pki.root_oca.context.name, pki.issuing_oca.serial),
        (pki.issuing_oca.context.name, pki.org_ds_serial),
    ]
    ca_suspended = _org(pki, suspended=lambda _issuer, serial: serial == pki.issuing_oca.serial)
    _refused(ca_suspended, Reason.SUSPENDED, "OU=07, CN=TZ1", "on the path of")
    assert _org(pki, suspended=lambda _issuer, _serial: False).ok


def test_a_suspension_check_that_cannot_answer_is_not_a_yes(pki: Hierarchies) -> None:
    def broken(_issuer: bytes, _serial: int) -> bool:
        raise RuntimeError("the repository cannot answer")

    with pytest.raises(RuntimeError):
        _org(pki, suspended=broken)


def test_profile_violation_names_the_lint(pki: Hierarchies) -> None:
    both = pki.issuing_oca.sign(with_both_usages(organisation_fields(pki.issuing_oca)))
    _refused(_org(pki, both), Reason.PROFILE_VIOLATION, "gbcs.key_usage_single", "R-PROF-21")


def test_wrong_device(pki: Hierarchies) -> None:
    other = bytes.fromhex("00DB1234567890FF")
    _refused(_device(pki, expect_device=other), Reason.WRONG_DEVICE, "00DB123456789001")
    assert _device(pki, expect_device=DEVICE_EUI).ok
    _refused(_org(pki, expect_device=DEVICE_EUI), Reason.WRONG_DEVICE, "names no device")


def test_wrong_usage(pki: Hierarchies) -> None:
    _refused(
        _device(pki, expect_usage=KeyUse.KEY_AGREEMENT), Reason.WRONG_USAGE, "digitalSignature"
    )
    assert _device(pki, expect_usage=KeyUse.DIGITAL_SIGNATURE).ok
    ka = validate(
        pki.device_ka,
        trust=[pki.root_dca.der],
        chain=[pki.issuing_dca.der],
        crls=[pki.root_dca.crl()],
        at=AT,
        expect_usage=KeyUse("ka"),
    )
    assert ka.ok
    _refused(_org(pki, pki.org_ka, expect_usage=KeyUse("ds")), Reason.WRONG_USAGE, "keyAgreement")


def test_every_reason_has_a_requirement() -> None:
    assert {reason.value for reason in Reason} == {
        "malformed",
        "profile-violation",
        "wrong-device",
        "wrong-usage",
        "unknown-issuer",
        "bad-signature",
        "not-yet-valid",
        "expired",
        "ca-revoked",
        "revoked",
        "stale-crl",
        "crl-missing",
        "suspended",
    }
    assert all(reason.rid.startswith("R-") for reason in Reason)


def test_a_prepared_trust_store_gives_the_same_verdicts(pki: Hierarchies) -> None:
    store = TrustStore.from_der([pki.root_oca.der], [pki.issuing_oca.der])
    for certificate in (pki.org_ds, pki.org_ka, pki.issuing_oca.der, pki.root_oca.der):
        assert validate(certificate, trust=store, crls=pki.org_lists, at=AT).ok
    flipped = pki.org_ds[:-1] + bytes([pki.org_ds[-1] ^ 0x01])
    assert validate(flipped, trust=store, crls=pki.org_lists, at=AT).reason is (
        Reason.BAD_SIGNATURE
    )
