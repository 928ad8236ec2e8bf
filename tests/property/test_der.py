"""smki's DER primitives against ``cryptography``'s encoder (R-PROF-1, R-PROF-3, R-SI-3).

``der.integer``, ``der.oid`` and ``der.length`` must be byte-identical to what
``cryptography`` writes for the same value (serials, R-PROF-3; policy and hwType OIDs,
R-PROF-2, R-PROF-10); ``read_tlv``, ``split_sequence`` and ``decode_oid`` must invert the
encoders; and the decoders, which read untrusted CSR contents (R-SI-3), must refuse garbage
with ``MalformedInput`` only, never an ``IndexError`` or ``ValueError``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smki.errors import InputError, MalformedInput
from smki.x509 import der
from smki.x509.hwname import HardwareModuleName
from tests.property.strategies import oids

_KEY = ec.derive_private_key(0x5EED, ec.SECP256R1())
_FIXED = settings(max_examples=50, deadline=None)

tags = st.integers(min_value=0, max_value=255)
values = st.binary(max_size=300)


@_FIXED
@given(st.integers(min_value=0, max_value=2**400))
@example(0)
@example(0x7F)
@example(0x80)
@example(0xFF)
@example(0x100)
def test_integer_matches_cryptography(value: int) -> None:
    assert der.integer(value) == x509.CRLNumber(value).public_bytes()


@_FIXED
@given(st.integers(min_value=1, max_value=2**159 - 1))
@example(1)
@example(0x80)
@example(0x10 << 120)
@example((0x80 << 120) - 1)
def test_integer_is_the_serial_cryptography_writes(serial: int) -> None:
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([]))
        .serial_number(serial)
        .not_valid_before(at)
        .not_valid_after(at)
        .public_key(_KEY.public_key())
        .sign(_KEY, hashes.SHA256())
    )
    _, body, _ = der.read_tlv(certificate.tbs_certificate_bytes)
    assert body.startswith(der.context(0, der.integer(2)) + der.integer(serial))


@given(st.integers(max_value=-1))
@settings(max_examples=20, deadline=None)
def test_integer_refuses_negative_values(value: int) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        der.integer(value)


@_FIXED
@given(oids())
@example(x509.ObjectIdentifier("2.999"))
@example(x509.ObjectIdentifier("1.39.18446744073709551615"))
def test_oid_matches_cryptography(oid: x509.ObjectIdentifier) -> None:
    assert der.sequence(der.oid(oid.dotted_string)) == x509.ExtendedKeyUsage([oid]).public_bytes()


@_FIXED
@given(oids())
def test_decode_oid_inverts_oid(oid: x509.ObjectIdentifier) -> None:
    tag, value, end = der.read_tlv(der.oid(oid.dotted_string))
    assert tag == der.OID
    assert end == len(der.oid(oid.dotted_string))
    assert der.decode_oid(value) == oid.dotted_string


@_FIXED
@given(st.integers(min_value=0, max_value=2**17))
@example(0)
@example(0x7F)
@example(0x80)
@example(0xFF)
@example(0x100)
@example(0xFFFF)
@example(0x10000)
def test_length_matches_cryptography(size: int) -> None:
    content = bytes(size)
    encoded = x509.SubjectKeyIdentifier(content).public_bytes()
    assert encoded == bytes([der.OCTET_STRING]) + der.length(size) + content
    assert der.octet_string(content) == encoded


@_FIXED
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_length_is_minimal_definite_form(size: int) -> None:
    encoded = der.length(size)
    if size < 0x80:
        assert encoded == bytes([size])
        return
    count = encoded[0] & 0x7F
    assert encoded[0] & 0x80
    assert count == len(encoded) - 1 <= 4
    assert encoded[1] != 0  # minimal: no leading zero octet (X.690 §10.1)
    assert int.from_bytes(encoded[1:], "big") == size


@_FIXED
@given(st.binary(max_size=20), tags, st.binary(max_size=70_000), st.binary(max_size=20))
def test_read_tlv_inverts_tlv(prefix: bytes, tag: int, value: bytes, suffix: bytes) -> None:
    encoded = der.tlv(tag, value)
    data = prefix + encoded + suffix
    assert der.read_tlv(data, len(prefix)) == (tag, value, len(prefix) + len(encoded))


@_FIXED
@given(st.lists(st.tuples(tags, values), max_size=12))
def test_split_sequence_inverts_concatenated_tlvs(children: list[tuple[int, bytes]]) -> None:
    encoded = b"".join(der.tlv(tag, value) for tag, value in children)
    assert der.split_sequence(encoded) == children
    tag, body, _ = der.read_tlv(der.sequence(encoded))
    assert tag == der.SEQUENCE
    assert body == encoded


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.integers(min_value=0, max_value=45))
@example(b"", 0)
@example(b"\x30", 0)
@example(b"\x30\x80", 0)
@example(b"\x30\x85\x01\x00\x00\x00\x00", 0)
@example(b"\x30\x82\x01", 0)
@example(b"\x04\x84\xff\xff\xff\xff", 0)
@example(b"\x04\x01\x00", 3)
def test_read_tlv_refuses_garbage_with_malformed_input(data: bytes, offset: int) -> None:
    try:
        tag, value, end = der.read_tlv(data, offset)
    except MalformedInput:
        return
    assert tag == data[offset]
    assert offset + 2 <= end <= len(data)
    assert data[end - len(value) : end] == value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_split_sequence_refuses_garbage_with_malformed_input(data: bytes) -> None:
    try:
        children = der.split_sequence(data)
    except MalformedInput:
        return
    assert sum(len(value) for _, value in children) <= len(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=30))
def test_decode_oid_refuses_garbage_with_malformed_input(data: bytes) -> None:
    try:
        dotted = der.decode_oid(data)
    except MalformedInput:
        return
    assert dotted.count(".") >= 1


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.builds(der.sequence, st.binary(max_size=30))))
def test_hardware_module_name_decode_refuses_garbage_with_input_error(data: bytes) -> None:
    try:
        HardwareModuleName.decode(data)
    except InputError:
        return


@pytest.mark.parametrize("value", [b"\x2a\x86", b"\x2a\x86\x48\xce\xbd"])
def test_decode_oid_refuses_a_truncated_arc(value: bytes) -> None:
    # 06 02 2a 86 is not a valid OID: 0x86 promises another octet. decode_oid returns "1.2",
    # so a Device CSR's HardwareModuleName hwType is silently changed (R-PROF-14).
    try:
        dotted = der.decode_oid(value)
    except MalformedInput:
        return
    raise AssertionError(f"decode_oid({value.hex()}) returned {dotted!r}")
