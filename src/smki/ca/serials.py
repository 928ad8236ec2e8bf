"""Certificate serial numbers (R-PROF-3)."""

from __future__ import annotations

import secrets

from smki.ids import Serial

_FIRST_OCTET_LOW = 0x10
_FIRST_OCTET_SPAN = 0x80 - 0x10


def new_serial() -> Serial:
    """A 16-octet positive integer from the CSPRNG whose first octet is in 0x10–0x7F, so the
    DER INTEGER is always exactly 16 octets (no sign padding, no leading zero)."""
    first = _FIRST_OCTET_LOW + secrets.randbelow(_FIRST_OCTET_SPAN)
    return Serial(int.from_bytes(bytes([first]) + secrets.token_bytes(15), "big"))


def serial_hex(serial: int) -> str:
    return f"{serial:X}"


def parse_serial_hex(text: str) -> Serial:
    cleaned = text.strip().replace(":", "").removeprefix("0x").removeprefix("0X")
    value = int(cleaned, 16)
    if value <= 0:
        raise ValueError("serial numbers are positive")
    return Serial(value)
