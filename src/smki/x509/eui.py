"""EUI-64 entity and device identifiers."""

from __future__ import annotations

import re

from smki.errors import InputError
from smki.ids import EntityId

_HEX16 = re.compile(r"[0-9A-Fa-f]{16}")


def parse_eui64(text: str) -> EntityId:
    """Parse 16 hex digits (separators ``-`` and ``:`` and spaces allowed) into 8 octets."""
    compact = re.sub(r"[-: ]", "", text.strip())
    if not _HEX16.fullmatch(compact):
        raise InputError(
            f"{text!r} is not an EUI-64 (16 hex digits)", code="bad-eui64", rid="R-PART-1"
        )
    return EntityId(bytes.fromhex(compact))


def eui64_from_bytes(data: bytes) -> EntityId:
    if len(data) != 8:
        raise InputError(
            f"an EUI-64 has 8 octets, not {len(data)}", code="bad-eui64", rid="R-PROF-10"
        )
    return EntityId(bytes(data))


def format_eui64(eui: bytes) -> str:
    return eui.hex().upper()
