"""Pre-encoded Device Certificate TBS (R-PROF-10…13, R-SI-2).

Within one batch every Device Certificate of one key usage and hwType shares all bytes but
the serial, the subject key, its key identifier and the hwSerialNum: the lengths are fixed
(16-octet serial, 65-octet P-256 point, 8-octet key id and EUI-64, UTCTime notBefore). The
template is cut from the generic encoder's own output at marker values, so it is
byte-identical to ``build.device`` by construction; ``tests/property`` checks it on random
input.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography.x509 import ObjectIdentifier

from smki.ids import EntityId
from smki.profiles import build
from smki.profiles.build import IssuerContext, SubjectKey
from smki.profiles.kinds import KeyUse
from smki.x509.eui import eui64_from_bytes
from smki.x509.hwname import HardwareModuleName
from smki.x509.keyid import key_id_from_point
from smki.x509.keys import P256_SPKI_PREFIX
from smki.x509.tbs import encode_tbs

_SERIAL_SIZE = 16
_POINT_SIZE = 65
#: A valid P-256 point (the curve's generator, SEC 2 §2.4.2): for linting a template, and for
#: certificates whose key does not matter (the benchmarks' bulk loads).
SAMPLE_POINT = bytes.fromhex(
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
)


def p256_spki(point: bytes) -> bytes:
    return P256_SPKI_PREFIX + point


@dataclass(frozen=True)
class DeviceTemplate:
    usage: KeyUse
    hw_type: str
    parts: tuple[bytes, ...]  # fixed bytes around: serial, point, key id, EUI-64

    def fill(self, serial: int, point: bytes, eui: bytes) -> bytes:
        """The TBS for one device: ``point`` is the 65-octet uncompressed P-256 point."""
        if len(point) != _POINT_SIZE or point[0] != 4:
            raise ValueError("a device key must be an uncompressed P-256 point")
        if len(eui) != 8:
            raise ValueError("an EUI-64 has 8 octets")
        if not 0x10 << 120 <= serial < 0x80 << 120:
            raise ValueError("serial outside the 16-octet positive range (R-PROF-3)")
        serial_bytes = serial.to_bytes(_SERIAL_SIZE, "big")
        p = self.parts
        return b"".join(
            (p[0], serial_bytes, p[1], point, p[2], key_id_from_point(point), p[3], eui, p[4])
        )


def _cut(data: bytes, markers: list[bytes]) -> tuple[bytes, ...]:
    parts = []
    rest = data
    for marker in markers:
        if rest.count(marker) != 1:
            raise AssertionError("template marker is not unique")  # pragma: no cover
        head, rest = rest.split(marker)
        parts.append(head)
    parts.append(rest)
    return tuple(parts)


def device_template(
    issuer: IssuerContext, not_before: dt.datetime, usage: KeyUse, hw_type: str
) -> DeviceTemplate:
    """Cut a template from ``build.device`` at random marker values."""
    serial = bytes([0x5A]) + secrets.token_bytes(_SERIAL_SIZE - 1)
    point = b"\x04" + secrets.token_bytes(_POINT_SIZE - 1)
    key_id = key_id_from_point(point)
    eui: EntityId = eui64_from_bytes(secrets.token_bytes(8))
    fields = build.device(
        issuer,
        int.from_bytes(serial, "big"),
        not_before,
        SubjectKey(p256_spki(point), key_id),
        usage,
        HardwareModuleName(ObjectIdentifier(hw_type), eui),
    )
    tbs = encode_tbs(fields)
    return DeviceTemplate(usage, hw_type, _cut(tbs, [serial, point, key_id, eui]))
