"""HardwareModuleName (RFC 4108) inside a subjectAltName otherName (R-PROF-10)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from smki.errors import InputError, MalformedInput
from smki.ids import EntityId
from smki.x509 import der
from smki.x509.eui import eui64_from_bytes
from smki.x509.oids import HARDWARE_MODULE_NAME


@dataclass(frozen=True)
class HardwareModuleName:
    hw_type: x509.ObjectIdentifier
    hw_serial: EntityId

    def encode(self) -> bytes:
        """DER of HardwareModuleName ::= SEQUENCE { hwType OID, hwSerialNum OCTET STRING }."""
        return der.sequence(der.oid(self.hw_type.dotted_string), der.octet_string(self.hw_serial))

    def general_name(self) -> x509.OtherName:
        return x509.OtherName(HARDWARE_MODULE_NAME, self.encode())

    def subject_alt_name(self) -> x509.SubjectAlternativeName:
        return x509.SubjectAlternativeName([self.general_name()])

    @classmethod
    def decode(cls, value: bytes) -> HardwareModuleName:
        tag, body, end = der.read_tlv(value)
        if tag != der.SEQUENCE or end != len(value):
            raise MalformedInput("HardwareModuleName is not a DER SEQUENCE")
        children = der.split_sequence(body)
        if [t for t, _ in children] != [der.OID, der.OCTET_STRING]:
            raise MalformedInput("HardwareModuleName must be SEQUENCE { OID, OCTET STRING }")
        return cls(
            x509.ObjectIdentifier(der.decode_oid(children[0][1])), eui64_from_bytes(children[1][1])
        )


def read_device_san(san: x509.SubjectAlternativeName) -> HardwareModuleName:
    """The single HardwareModuleName a device SAN must hold (R-PROF-10)."""
    names = list(san)
    if len(names) != 1:
        raise InputError(
            f"subjectAltName holds {len(names)} names; a device has exactly one",
            code="san-name-count",
            rid="R-PROF-10",
        )
    (name,) = names
    if not isinstance(name, x509.OtherName) or name.type_id != HARDWARE_MODULE_NAME:
        raise InputError(
            "subjectAltName is not a HardwareModuleName otherName",
            code="san-not-hardware-module-name",
            rid="R-PROF-10",
        )
    return HardwareModuleName.decode(name.value)
