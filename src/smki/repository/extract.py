"""Bulk extracts of the repository for relying parties (R-REP-6 [SEC modification MP147]).

A full extract holds everything stored before ``until``; an increment what was stored from
``since`` (less ``overlap``) to ``until``. The archive is a gzip'd POSIX tar (docs/repository.md,
"Bulk extracts")::

    manifest.json       what follows, member by member: name, size, sha256, items
    manifest.jws        compact JWS (ES256, x5c) over manifest.json, by the file-signing key
    certificates.pem    every certificate stored in the window, all kinds, by store id
    revocations.jsonl   {"serial", "issuer", "reason", "revoked_at"} per revocation
    suspensions.jsonl   {"serial", "issuer", "event", "at", "decision"}: the active
                        suspensions (full) or the suspensions and lifts in the window
    lists/<authority>.<number>.crl|arl   every CRL and ARL issued in the window, DER

Certificates are read a page at a time by id and written straight to a member file, so a
store of a million certificates is never in memory at once. Members are written to a private
temporary folder beside the output, then packed; the output appears whole (``os.replace``)
or not at all.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final

from smki.ca.crl import list_kind_of
from smki.ca.serials import serial_hex
from smki.clock import parse_utc
from smki.errors import InputError
from smki.profiles.kinds import Environment
from smki.repository.extract_manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    Member,
)
from smki.repository.extract_signature import sign_manifest
from smki.repository.file_signing import FileSigner
from smki.storage.api import CertificateRow, Store, Transaction

#: How far before ``since`` an increment reaches. A certificate (or revocation, list or
#: suspension) is dated when its transaction starts writing and seen when it commits; one
#: committed just after the previous extract's ``until`` but dated just before it would
#: otherwise fall between two increments. Ten minutes is far longer than any storing
#: transaction, as for stale issuance intents (ca.issuer.STALE_INTENT_AGE) [smki decision].
DEFAULT_OVERLAP: Final = dt.timedelta(minutes=10)
#: Certificates read per query.
PAGE: Final = 1000
CERTIFICATES: Final = "certificates.pem"
REVOCATIONS: Final = "revocations.jsonl"
SUSPENSIONS: Final = "suspensions.jsonl"
LISTS_FOLDER: Final = "lists"

Progress = Callable[[int], None]


class _MemberFile:
    """A member being written: its digest, size and item count kept as it grows."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = folder / name.replace("/", "__")
        self._file: BinaryIO = self.path.open("xb")
        self._digest = hashlib.sha256()
        self._size = 0
        self.items = 0

    def write(self, data: bytes, items: int = 1) -> None:
        self._file.write(data)
        self._digest.update(data)
        self._size += len(data)
        self.items += items

    def close(self) -> Member:
        self._file.close()
        return Member(self.name, self._size, self._digest.hexdigest(), self.items)


def _pem(der: bytes) -> bytes:
    text = base64.b64encode(der)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def _json_line(value: dict[str, object]) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _certificates(
    store: Store,
    env: Environment,
    start: dt.datetime | None,
    until: dt.datetime,
    member: _MemberFile,
    progress: Progress | None,
) -> None:
    after = 0
    while True:
        with store.reading() as tx:
            rows = tx.certificates_created(env, start, until, after_id=after, limit=PAGE)
        for row in rows:
            member.write(_pem(row.der))
        if progress is not None and rows:
            progress(len(rows))
        if len(rows) < PAGE:
            return
        after = rows[-1].id


def _revocations(
    tx: Transaction,
    env: Environment,
    start: dt.datetime | None,
    until: dt.datetime,
    names: dict[int, str],
    member: _MemberFile,
) -> None:
    for certificate, revocation in tx.revocations_between(env, start, until):
        member.write(
            _json_line(
                {
                    "serial": serial_hex(certificate.serial),
                    "issuer": names[certificate.authority_id],
                    "reason": revocation.reason,
                    "revoked_at": _iso(revocation.revoked_at),
                }
            )
        )


def _suspension_line(
    certificate: CertificateRow, names: dict[int, str], event: str, at: dt.datetime, decision: str
) -> bytes:
    return _json_line(
        {
            "serial": serial_hex(certificate.serial),
            "issuer": names[certificate.authority_id],
            "event": event,
            "at": _iso(at),
            "decision": decision,
        }
    )


def _suspensions(
    tx: Transaction,
    env: Environment,
    start: dt.datetime | None,
    until: dt.datetime,
    names: dict[int, str],
    member: _MemberFile,
) -> None:
    """A full extract lists the suspensions active at ``until``; an increment every
    suspension and lift in its window, in time order (R-GOV-3)."""
    events: list[tuple[dt.datetime, int, int, bytes]] = []
    if start is None:
        for certificate, suspension in tx.active_suspensions(env, until):
            line = _suspension_line(
                certificate, names, "suspended", suspension.suspended_at, suspension.decision
            )
            events.append((suspension.suspended_at, suspension.id, 0, line))
    else:
        for certificate, suspension in tx.suspension_changes(env, start, until):
            if start <= suspension.suspended_at < until:
                line = _suspension_line(
                    certificate, names, "suspended", suspension.suspended_at, suspension.decision
                )
                events.append((suspension.suspended_at, suspension.id, 0, line))
            lifted = suspension.lifted_at
            if lifted is not None and start <= lifted < until:
                line = _suspension_line(
                    certificate, names, "lifted", lifted, suspension.lift_decision or ""
                )
                events.append((lifted, suspension.id, 1, line))
    for *_, line in sorted(events, key=lambda event: event[:3]):
        member.write(line)


def _lists(
    store: Store,
    env: Environment,
    start: dt.datetime | None,
    until: dt.datetime,
    folder: Path,
) -> list[Member]:
    """Every CRL and ARL issued in the window, one DER member each, read one at a time."""
    members = []
    with store.reading() as tx:
        listings = [
            (authority.name, row)
            for authority in tx.authorities(env)
            for row in tx.crls(authority.id, list_kind_of(authority))
            if (start is None or start <= row.this_update) and row.this_update < until
        ]
    for name, listing in listings:
        with store.reading() as tx:
            row = tx.crl_by_number(listing.authority_id, listing.list_kind, listing.number)
        assert row is not None  # lists are never deleted
        member = _MemberFile(folder, f"{LISTS_FOLDER}/{name}.{row.number}.{row.list_kind}")
        member.write(row.der)
        members.append(member.close())
    return members


def parse_since(text: str) -> dt.datetime:
    """An increment's start from ISO 8601 text (``2025-10-01T00:00:00Z``); UTC when no offset
    is given, as everywhere in smki."""
    try:
        return parse_utc(text.strip())
    except ValueError:
        raise InputError(
            f"since {text[:40]!r} is not an ISO 8601 time (e.g. 2025-10-01T00:00:00Z)",
            code="bad-since",
            rid="R-REP-6",
        ) from None


def _window(
    since: dt.datetime | None, now: dt.datetime, overlap: dt.timedelta
) -> tuple[dt.datetime, dt.datetime | None]:
    until = now.astimezone(dt.UTC)
    if since is None:
        return until, None
    if since.tzinfo is None:
        raise InputError(
            "since needs a time zone (e.g. 2025-01-31T00:00:00Z)", code="bad-since", rid="R-REP-6"
        )
    if since >= until:
        raise InputError(
            f"since ({_iso(since)}) is not before now ({_iso(until)})",
            code="bad-since",
            rid="R-REP-6",
        )
    return until, since.astimezone(dt.UTC) - overlap


def write_extract(
    store: Store,
    env: Environment,
    signer: FileSigner,
    out: Path,
    *,
    since: dt.datetime | None,
    now: dt.datetime,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    progress: Progress | None = None,
) -> Manifest:
    """Write the full extract (``since`` None) or the increment from ``since`` to ``out``."""
    until, start = _window(since, now, overlap)
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix=".smki-extract-", dir=out.parent) as work:
        folder = Path(work)
        certificates = _MemberFile(folder, CERTIFICATES)
        try:
            _certificates(store, env, start, until, certificates, progress)
        finally:
            members = [certificates.close()]
        revocations = _MemberFile(folder, REVOCATIONS)
        suspensions = _MemberFile(folder, SUSPENSIONS)
        try:
            with store.reading() as tx:
                names = {row.id: row.name for row in tx.authorities(env)}
                _revocations(tx, env, start, until, names, revocations)
                _suspensions(tx, env, start, until, names, suspensions)
        finally:
            members += [revocations.close(), suspensions.close()]
        members += _lists(store, env, start, until, folder)
        manifest = Manifest(
            environment=str(env),
            kind="full" if since is None else "increment",
            since=None if since is None else since.astimezone(dt.UTC),
            until=until,
            overlap_seconds=0 if since is None else int(overlap.total_seconds()),
            generated_at=now.astimezone(dt.UTC),
            members=tuple(members),
        )
        manifest_bytes = manifest.to_bytes()
        signature = sign_manifest(signer, manifest_bytes).encode("ascii")
        _pack(folder, out, manifest, manifest_bytes, signature)
    return manifest


def _pack(
    folder: Path, out: Path, manifest: Manifest, manifest_bytes: bytes, signature: bytes
) -> None:
    """The manifest and its signature first (a reader can check them before the rest), then
    the members in manifest order; written beside ``out`` and renamed over it."""
    mtime = int(manifest.generated_at.timestamp())
    partial = folder / "archive.partial"
    with partial.open("xb") as raw:
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
        ):
            for name, data in ((MANIFEST_NAME, manifest_bytes), (SIGNATURE_NAME, signature)):
                archive.addfile(_entry(name, len(data), mtime), io.BytesIO(data))
            for member in manifest.members:
                path = folder / member.name.replace("/", "__")
                with path.open("rb") as source:
                    archive.addfile(_entry(member.name, member.size, mtime), source)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, out)


def _entry(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    return info
