"""Verify the audit hash chain (R-X-1): ``smki audit verify``.

Reads the log only through ``Store.audit_events`` and ``Store.audit_head`` (no SQL here) and
reports the first place the log stops being the one that was written:

- ``sequence gap``    an event is missing (the next one's seq skips); ``first_bad_seq`` is the
                      missing seq;
- ``broken link``     an event's prev_hash is not the previous event's hash (an event was
                      inserted, removed and renumbered, or moved);
- ``hash mismatch``   an event's content no longer hashes to its recorded hash (edited);
- ``head mismatch``   the recorded head disagrees with the last event: the tail was deleted,
                      an event was appended behind the head's back, or the head was edited.

Events appended while the verifier runs are tolerated: the head is read before and after the
events, and every committed event moves the head in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from smki.audit.chain import GENESIS_HASH, canonical_json, event_hash
from smki.storage.api import AuditRow, Store

SEQUENCE_GAP = "sequence gap"
BROKEN_LINK = "broken link"
HASH_MISMATCH = "hash mismatch"
HEAD_MISMATCH = "head mismatch"


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    #: Events whose link and hash were verified before the first problem.
    checked: int
    first_bad_seq: int | None
    #: "ok", or exactly one of SEQUENCE_GAP, BROKEN_LINK, HASH_MISMATCH, HEAD_MISMATCH.
    reason: str
    #: A sentence for people, saying what exactly disagrees.
    detail: str = ""


def recompute_hash(row: AuditRow) -> bytes | None:
    """The hash ``row`` should carry, or None if its content cannot be hashed at all."""
    try:
        details_json = (
            row.details_json if row.details_json is not None else canonical_json(row.details)
        )
        return event_hash(
            row.seq, row.at, row.actor, row.action, row.subject, details_json, row.prev_hash
        )
    except (TypeError, ValueError, UnicodeError):
        return None


def verify_chain(store: Store) -> VerifyResult:
    """Walk the whole log and check every link, every hash and the head (R-X-1)."""
    head_before = store.audit_head()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    hash_at_head: bytes | None = None
    checked = 0
    for row in store.audit_events():
        if row.seq != expected_seq:
            return _bad(
                checked,
                expected_seq,
                SEQUENCE_GAP,
                f"event {expected_seq} is missing (the next event is {row.seq})",
            )
        if row.prev_hash != prev_hash:
            return _bad(
                checked,
                row.seq,
                BROKEN_LINK,
                f"event {row.seq} does not link to "
                + (f"event {row.seq - 1}" if row.seq > 1 else "the genesis hash"),
            )
        if recompute_hash(row) != row.hash:
            return _bad(
                checked,
                row.seq,
                HASH_MISMATCH,
                f"event {row.seq} no longer matches its recorded hash",
            )
        checked += 1
        prev_hash = row.hash
        if head_before is not None and row.seq == head_before[0]:
            hash_at_head = row.hash
        expected_seq += 1
    last_seq = expected_seq - 1

    if head_before is not None:
        head_seq, head_hash = head_before
        if head_seq > last_seq:
            return _bad(
                checked,
                last_seq + 1,
                HEAD_MISMATCH,
                f"the head records event {head_seq} but the log ends at {last_seq}",
            )
        if hash_at_head != head_hash:
            return _bad(
                checked,
                head_seq,
                HEAD_MISMATCH,
                f"the head's hash is not the hash of event {head_seq}",
            )
    head_after = store.audit_head()
    recorded = 0 if head_after is None else head_after[0]
    if last_seq > recorded:
        # A committed append moves the head in the same transaction, so this event was not
        # appended through smki.
        return _bad(
            checked,
            recorded + 1,
            HEAD_MISMATCH,
            f"event {recorded + 1} lies beyond the recorded head ({recorded})",
        )
    return VerifyResult(ok=True, checked=checked, first_bad_seq=None, reason="ok")


def _bad(checked: int, seq: int, reason: str, detail: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=checked, first_bad_seq=seq, reason=reason, detail=detail)
