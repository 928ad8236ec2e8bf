"""Organisation subject names, Remote Party Roles and EUI-64 text round trips (R-PROF-20,
R-PROF-24, R-PART-1).

``organisation_subject`` → DER (through a CSR, as a subscriber sends it) → parse →
``read_organisation_subject`` gives back the role, EUI-64 and optional commonName; the DER is
the R-PROF-20 layout written out by hand; the OU is two upper-case hex digits; EUI-64 text
formatting and parsing invert each other.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.errors import InputError
from smki.ids import EntityId
from smki.x509 import der
from smki.x509.eui import format_eui64, parse_eui64
from smki.x509.names import OrganisationIdentity, organisation_subject, read_organisation_subject
from smki.x509.roles import RemotePartyRole
from tests.property.reference import REFERENCE_SIGNER
from tests.property.strategies import euis, roles, utf8_names

_FIXED = settings(max_examples=50, deadline=None)


def _through_der(name: x509.Name) -> x509.Name:
    """Carry a name through DER and back inside a CSR, the way a subscriber sends it."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(REFERENCE_SIGNER, hashes.SHA256())
    )
    return x509.load_der_x509_csr(csr.public_bytes(Encoding.DER)).subject


def _rdn(oid: str, tag: int, value: bytes) -> bytes:
    return der.tlv(der.SET, der.sequence(der.oid(oid), der.tlv(tag, value)))


@_FIXED
@given(roles, euis, st.none() | utf8_names)
def test_organisation_subject_round_trip(
    role: RemotePartyRole, eui: EntityId, common_name: str | None
) -> None:
    name = organisation_subject(role, eui, common_name)
    reread = _through_der(name)
    assert reread == name
    assert reread.public_bytes() == name.public_bytes()
    assert read_organisation_subject(reread) == OrganisationIdentity(role, eui, common_name)
    # R-PROF-20: [CN UTF8String] OU UTF8String uniqueIdentifier BIT STRING, one RDN each.
    rdns = [_rdn("2.5.4.3", der.UTF8_STRING, common_name.encode())] if common_name else []
    rdns.append(_rdn("2.5.4.11", der.UTF8_STRING, role.ou.encode()))
    rdns.append(_rdn("2.5.4.45", der.BIT_STRING, b"\x00" + eui))
    assert name.public_bytes() == der.sequence(*rdns)


@pytest.mark.parametrize("role", list(RemotePartyRole), ids=lambda r: r.name)
def test_role_ou_round_trip(role: RemotePartyRole) -> None:
    # R-PROF-24 values, written as two upper-case hex digits (R-PROF-20).
    assert len(role.ou) == 2
    assert role.ou == role.ou.upper()
    assert int(role.ou, 16) == role.value
    assert RemotePartyRole.from_ou(role.ou) is role


@_FIXED
@given(st.one_of(st.text(max_size=4), st.sampled_from([r.ou for r in RemotePartyRole])))
def test_from_ou_accepts_exactly_the_role_encodings(text: str) -> None:
    known = {role.ou: role for role in RemotePartyRole}
    if text in known:
        assert RemotePartyRole.from_ou(text) is known[text]
    else:
        with pytest.raises(InputError):
            RemotePartyRole.from_ou(text)


@_FIXED
@given(euis)
def test_eui64_text_round_trip(eui: EntityId) -> None:
    text = format_eui64(eui)
    assert len(text) == 16
    assert text == text.upper()
    assert parse_eui64(text) == eui
    assert parse_eui64(text.lower()) == eui
    assert parse_eui64("-".join(text[i : i + 2] for i in range(0, 16, 2))) == eui
    assert parse_eui64(":".join(text[i : i + 4] for i in range(0, 16, 4))) == eui
