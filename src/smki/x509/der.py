"""Minimal DER encoding and decoding of the few shapes the certificate profiles need.

Used by the fast issuance path (pre-encoded profile fragments) and by the GBCS extension
values that ``cryptography`` has no type for. Tests prove the output byte-identical to
``cryptography``'s own encoder where both exist.
"""

from __future__ import annotations

from smki.errors import MalformedInput

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
BOOLEAN = 0x01


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + length(len(value)) + value


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are encoded here")
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return tlv(INTEGER, body)


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2:
        raise ValueError(f"OID too short: {dotted}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(OID, bytes(out))


def bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    return tlv(BIT_STRING, bytes([unused_bits]) + data)


def octet_string(data: bytes) -> bytes:
    return tlv(OCTET_STRING, data)


def context(number: int, value: bytes, *, constructed: bool = True) -> bytes:
    return tlv((0xA0 if constructed else 0x80) | number, value)


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """Read one TLV at ``offset``; return (tag, value, offset just after it)."""
    try:
        tag = data[offset]
        first = data[offset + 1]
        pos = offset + 2
        if first < 0x80:
            size = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4:
                raise MalformedInput("unsupported DER length encoding")
            size = int.from_bytes(data[pos : pos + count], "big")
            pos += count
            if size < 0x80 or data[offset + 2] == 0:
                raise MalformedInput("DER length is not minimally encoded")
    except IndexError as exc:
        raise MalformedInput("truncated DER") from exc
    end = pos + size
    if end > len(data):
        raise MalformedInput("truncated DER")
    return tag, data[pos:end], end


def split_sequence(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, value) children of a constructed value's contents."""
    children: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, value, pos = read_tlv(data, pos)
        children.append((tag, value))
    return children


def decode_oid(value: bytes) -> str:
    arcs: list[int] = []
    current = 0
    starting = True
    for byte in value:
        if starting and byte == 0x80:
            raise MalformedInput("OID arc is not minimally encoded")
        current = (current << 7) | (byte & 0x7F)
        starting = not byte & 0x80
        if starting:
            arcs.append(current)
            current = 0
    if not arcs or not starting:
        raise MalformedInput("empty or truncated OID")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])
