"""Serial number lints (R-PROF-3).

Serials are 16-octet positive DER INTEGERs. smki's own serials also have a first octet in
0x10–0x7F (16 CSPRNG octets, top bit cleared, high nibble non-zero); that rule runs only on
request (``strict_serial``) because a real Z1-issued certificate has a serial starting 0x0F
(``Z1-accessControlBroker-dSPXmlSign``, serial 0F4889EF…, OBSERVED.md §F).
"""

from __future__ import annotations

from collections.abc import Iterator

from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import SMKI_KINDS


@cert_lint("gbcs.serial_16_octets", "R-PROF-3", SMKI_KINDS)
def serial_16_octets(ctx: CertContext) -> Iterator[str]:
    serial = ctx.raw.serial
    if not serial or serial[0] & 0x80:
        yield "serialNumber is not a positive INTEGER"
    elif len(serial) != 16:
        yield f"serialNumber is {len(serial)} octets, not 16"


@cert_lint("gbcs.serial_first_octet", "R-PROF-3", SMKI_KINDS, strict_serial_only=True)
def serial_first_octet(ctx: CertContext) -> Iterator[str]:
    serial = ctx.raw.serial
    if serial and not 0x10 <= serial[0] <= 0x7F:
        yield f"serialNumber starts 0x{serial[0]:02X}; smki serials start 0x10–0x7F"
