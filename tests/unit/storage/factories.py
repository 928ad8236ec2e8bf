"""Small builders for store tests."""

from __future__ import annotations

import datetime as dt
import hashlib

from smki.storage.api import NewCertificate, Transaction

T0 = dt.datetime(2025, 3, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
#: A device certificate's notAfter (R-PROF-12): the edge of what datetimes can hold.
FOREVER = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def add_ca(tx: Transaction, name: str = "issuing-oca", env: str = "test") -> int:
    return tx.add_authority(env, name, "organisation", name.startswith("root"), f"key-{name}", None)


def new_certificate(
    authority_id: int,
    serial: int,
    *,
    kind: str = "device",
    intent_id: int | None = None,
    eui: bytes | None = b"\x00\xdb\x12\x34\x56\x78\x90\xa0",
    role: int | None = None,
    not_after: dt.datetime = FOREVER,
) -> NewCertificate:
    return NewCertificate(
        authority_id=authority_id,
        serial=serial,
        kind=kind,
        subject_eui=eui,
        role=role,
        key_usage="ds",
        not_before=T0,
        not_after=not_after,
        ski=serial.to_bytes(17, "big", signed=True)[-8:],
        der=b"\x30\x82" + serial.to_bytes(17, "big", signed=True),
        intent_id=intent_id,
    )


def tbs_digest(serial: int) -> bytes:
    return hashlib.sha256(serial.to_bytes(17, "big", signed=True)).digest()
