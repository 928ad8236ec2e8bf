"""Typed identifiers, so that a serial is never mistaken for a row id."""

from __future__ import annotations

from typing import NewType

#: Certificate serial number as an integer.
Serial = NewType("Serial", int)
#: An EUI-64 entity or device identifier, 8 octets.
EntityId = NewType("EntityId", bytes)
#: Label of a key in a key store.
KeyLabel = NewType("KeyLabel", str)
