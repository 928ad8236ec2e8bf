"""CRL and ARL TBS against ``CertificateRevocationListBuilder`` (R-REP-5, R-SI-4).

``build_crl_tbs`` must equal the ``tbs_certlist_bytes`` that ``cryptography`` writes for the
same issuer, thisUpdate, nextUpdate, entries (serial, date, non-critical CRLReason) and list
extensions (AKI keyIdentifier only, then cRLNumber, both non-critical), for 0 to 30 entries
with repeated dates; the signed list then parses back to the same entries.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.ca.crl import REASONS, CrlRequest, Revoked, build_crl_tbs
from smki.x509 import der
from smki.x509.tbs import ECDSA_SHA256_ALGORITHM
from tests.property.reference import REFERENCE_SIGNER
from tests.property.strategies import ca_names, key_ids, private_keys, serials, times, validities

_FIXED = settings(max_examples=50, deadline=None)

Validity = tuple[dt.datetime, dt.datetime]


@st.composite
def revoked_lists(draw: st.DrawFn) -> list[Revoked]:
    """0–30 entries; dates drawn from a small pool so that some repeat (shared encodings)."""
    pool = draw(st.lists(times, min_size=1, max_size=4))
    entries = st.builds(
        Revoked,
        serial=st.one_of(serials, st.integers(min_value=1, max_value=2**159 - 1)),
        revoked_at=st.one_of(st.sampled_from(pool), times),
        reason=st.sampled_from(sorted(REASONS)),
    )
    return draw(st.lists(entries, max_size=30))


def _reference(
    issuer: x509.Name,
    key_id: bytes,
    number: int,
    validity: Validity,
    entries: list[Revoked],
) -> bytes:
    this_update, next_update = validity
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.AuthorityKeyIdentifier(key_id, None, None), critical=False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .add_extension(x509.CRLReason(REASONS[entry.reason]), critical=False)
            .build()
        )
    return builder.sign(REFERENCE_SIGNER, hashes.SHA256()).tbs_certlist_bytes


@_FIXED
@given(
    ca_names,
    key_ids,
    st.integers(min_value=1, max_value=2**40),
    validities(),
    revoked_lists(),
    private_keys,
)
def test_build_crl_tbs_equals_cryptography(
    issuer: x509.Name,
    key_id: bytes,
    number: int,
    validity: Validity,
    entries: list[Revoked],
    signer: ec.EllipticCurvePrivateKey,
) -> None:
    this_update, next_update = validity
    request = CrlRequest(issuer.public_bytes(), key_id, number, this_update, next_update, entries)
    tbs = build_crl_tbs(request)
    assert tbs == _reference(issuer, key_id, number, validity, entries)

    # Sign, assemble as sign_crl does, and parse back.
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    crl = x509.load_der_x509_crl(
        der.sequence(tbs, ECDSA_SHA256_ALGORITHM, der.bit_string(signature))
    )
    assert crl.tbs_certlist_bytes == tbs
    assert crl.is_signature_valid(signer.public_key())
    assert crl.issuer == issuer
    assert crl.last_update_utc == this_update
    assert crl.next_update_utc == next_update
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert not aki.critical
    assert aki.value == x509.AuthorityKeyIdentifier(key_id, None, None)
    parsed = [
        (
            revoked.serial_number,
            revoked.revocation_date_utc,
            revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason,
        )
        for revoked in crl
    ]
    assert parsed == [(e.serial, e.revoked_at, REASONS[e.reason]) for e in entries]
