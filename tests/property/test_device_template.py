"""The batch Device Certificate template against the generic encoder (R-PROF-3,
R-PROF-10…13, R-SI-2).

``device_template(...).fill(serial, point, eui)`` must be byte-identical to
``encode_tbs(build.device(...))`` for every serial, P-256 point, EUI-64, key usage and hwType,
and must refuse values that do not fit its fixed-length slots with ``ValueError``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from smki.ids import EntityId
from smki.profiles import build
from smki.profiles.build import IssuerContext, SubjectKey
from smki.profiles.device_template import DeviceTemplate, device_template, p256_spki
from smki.profiles.kinds import KeyUse
from smki.x509.hwname import HardwareModuleName
from smki.x509.keyid import key_id, uncompressed_point
from smki.x509.keys import spki_der
from smki.x509.oids import DEFAULT_DEVICE_HW_TYPE
from smki.x509.tbs import encode_tbs
from tests.property.strategies import (
    SERIAL_MAX,
    SERIAL_MIN,
    Authority,
    authorities,
    euis,
    oids,
    private_keys,
    serials,
    times,
)

_FIXED = settings(max_examples=50, deadline=None)

usages = st.sampled_from([KeyUse.DIGITAL_SIGNATURE, KeyUse.KEY_AGREEMENT])
#: The observed RTDS hwType, close relatives, and any OID.
hw_types = st.one_of(
    st.sampled_from(
        [
            DEFAULT_DEVICE_HW_TYPE.dotted_string,
            "1.2.826.0.1.8641679.1.2.2.2",
            "1.3.6.1.4.1.32473.1",
            "2.999",
        ]
    ),
    oids().map(lambda oid: oid.dotted_string),
)

_CONTEXT = IssuerContext(
    name=x509.Name([]).public_bytes(), key_id=bytes(8), policy=x509.ObjectIdentifier("1.2.3")
)
_TEMPLATE = device_template(
    _CONTEXT, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), KeyUse.DIGITAL_SIGNATURE, "1.2.3.4"
)
_POINT = b"\x04" + bytes(range(64))
_EUI = bytes(range(8))


@_FIXED
@given(authorities(), times, usages, hw_types, serials, private_keys, euis)
def test_fill_equals_the_generic_encoder(
    authority: Authority,
    not_before: dt.datetime,
    usage: KeyUse,
    hw_type: str,
    serial: int,
    key: ec.EllipticCurvePrivateKey,
    eui: EntityId,
) -> None:
    template = device_template(authority.context, not_before, usage, hw_type)
    public = key.public_key()
    point = uncompressed_point(public)
    assert p256_spki(point) == spki_der(public)
    expected = encode_tbs(
        build.device(
            authority.context,
            serial,
            not_before,
            SubjectKey(spki_der(public), key_id(public)),
            usage,
            HardwareModuleName(x509.ObjectIdentifier(hw_type), eui),
        )
    )
    assert template.fill(serial, point, eui) == expected


@_FIXED
@given(
    usages,
    hw_types,
    st.lists(st.tuples(serials, private_keys, euis), min_size=2, max_size=4),
)
def test_one_template_serves_many_devices(
    usage: KeyUse, hw_type: str, devices: list[tuple[int, ec.EllipticCurvePrivateKey, EntityId]]
) -> None:
    # R-SI-2: one template per batch, refilled for every device.
    not_before = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    template = device_template(_CONTEXT, not_before, usage, hw_type)
    for serial, key, eui in devices:
        public = key.public_key()
        fields = build.device(
            _CONTEXT,
            serial,
            not_before,
            SubjectKey(spki_der(public), key_id(public)),
            usage,
            HardwareModuleName(x509.ObjectIdentifier(hw_type), eui),
        )
        assert template.fill(serial, uncompressed_point(public), eui) == encode_tbs(fields)


def _fill(template: DeviceTemplate, serial: int, point: bytes, eui: bytes) -> None:
    template.fill(serial, point, eui)


@_FIXED
@given(
    st.one_of(
        st.binary(max_size=80).filter(lambda p: len(p) != 65),
        st.binary(min_size=64, max_size=64).flatmap(
            lambda tail: (
                st.integers(0, 255).filter(lambda b: b != 4).map(lambda head: bytes([head]) + tail)
            )
        ),
    )
)
def test_fill_refuses_a_point_of_wrong_size_or_prefix(point: bytes) -> None:
    with pytest.raises(ValueError, match="uncompressed P-256 point"):
        _fill(_TEMPLATE, SERIAL_MIN, point, _EUI)


@_FIXED
@given(private_keys)
def test_fill_refuses_a_compressed_point(key: ec.EllipticCurvePrivateKey) -> None:
    compressed = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    with pytest.raises(ValueError, match="uncompressed P-256 point"):
        _fill(_TEMPLATE, SERIAL_MIN, compressed, _EUI)


@_FIXED
@given(st.binary(max_size=20).filter(lambda e: len(e) != 8))
def test_fill_refuses_an_eui_of_wrong_length(eui: bytes) -> None:
    with pytest.raises(ValueError, match="8 octets"):
        _fill(_TEMPLATE, SERIAL_MIN, _POINT, eui)


@_FIXED
@given(
    st.one_of(
        st.integers(min_value=0, max_value=SERIAL_MIN - 1),
        st.integers(min_value=SERIAL_MAX + 1, max_value=2**128 - 1),
    )
)
def test_fill_refuses_a_serial_whose_first_octet_is_outside_0x10_0x7f(serial: int) -> None:
    # R-PROF-3: 16 octets, first octet 0x10–0x7F.
    with pytest.raises(ValueError, match="R-PROF-3"):
        _fill(_TEMPLATE, serial, _POINT, _EUI)


@pytest.mark.parametrize(
    "serial", [-1, 2**128, 0x10 << 128], ids=["negative", "2**128", "17-octets"]
)
def test_fill_refuses_a_serial_longer_than_16_octets_with_value_error(serial: int) -> None:
    with pytest.raises(ValueError, match="R-PROF-3"):
        _fill(_TEMPLATE, serial, _POINT, _EUI)
