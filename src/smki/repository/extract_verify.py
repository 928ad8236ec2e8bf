"""A relying party's check of a repository extract (R-REP-6, R-RP-1).

``verify_extract`` reads the archive once, as a stream: it keeps ``manifest.json`` and
``manifest.jws`` and hashes every other member as it passes. Then, in this order: the
signature and the signer's path to one of the given IKI trust anchors
(``extract_signature``), that ``manifest.json`` is the signed payload byte for byte, that no
listed member is missing and none is unlisted, and every member's size and SHA-256. Each
refusal has its own code (docs/errors.md); nothing in the archive is trusted before the
signature is.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from cryptography import x509

from smki.repository.extract_manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Manifest,
    malformed,
    valid_member_name,
)
from smki.repository.extract_signature import refused, verify_manifest_signature

#: Bounds on the two small members, so a hostile archive cannot exhaust memory.
MAX_MANIFEST_BYTES: Final = 32 * 1024 * 1024
MAX_SIGNATURE_BYTES: Final = 2 * MAX_MANIFEST_BYTES
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class VerifiedExtract:
    manifest: Manifest
    signer: x509.Certificate


@dataclass(frozen=True)
class _Seen:
    size: int
    sha256: str


def _read_small(stream: IO[bytes], limit: int, name: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise malformed(f"{name} is larger than {limit} bytes")
    return data


def _digest(stream: IO[bytes]) -> _Seen:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return _Seen(size, digest.hexdigest())


def _read_archive(path: Path) -> tuple[bytes | None, bytes | None, dict[str, _Seen]]:
    manifest = signature = None
    seen: dict[str, _Seen] = {}
    names: set[str] = set()
    try:
        with (
            gzip.open(path, "rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r|") as archive,
        ):
            for entry in archive:
                if entry.name in names:
                    raise malformed(f"{entry.name[:80]!r} appears twice in the archive")
                names.add(entry.name)
                if not entry.isreg():
                    raise malformed(f"{entry.name[:80]!r} is not a regular file")
                stream = archive.extractfile(entry)
                assert stream is not None  # a regular file always has one
                if entry.name == MANIFEST_NAME:
                    manifest = _read_small(stream, MAX_MANIFEST_BYTES, MANIFEST_NAME)
                elif entry.name == SIGNATURE_NAME:
                    signature = _read_small(stream, MAX_SIGNATURE_BYTES, SIGNATURE_NAME)
                else:
                    seen[entry.name] = _digest(stream)
            # Read to the gzip trailer, so its CRC and length are checked: a cut or altered
            # archive is refused even where tar's end-of-archive blocks were already seen.
            while unzipped.read(_CHUNK):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise malformed(f"{path.name} is not a gzip'd tar archive ({type(exc).__name__})") from None
    return manifest, signature, seen


def verify_extract(
    path: Path, trust_anchors: Sequence[x509.Certificate], *, now: dt.datetime | None = None
) -> VerifiedExtract:
    """The extract's manifest if it is whole and signed by the repository's file-signing
    credential under one of ``trust_anchors`` (IKI Root or Issuing ICA); else IntegrityError
    (or MalformedInput for what is not an extract at all)."""
    if not trust_anchors:
        raise malformed("name at least one IKI trust anchor")
    manifest_bytes, signature, seen = _read_archive(path)
    for name, data in ((SIGNATURE_NAME, signature), (MANIFEST_NAME, manifest_bytes)):
        if data is None:
            raise refused("extract-member-missing", f"the archive has no {name}")
    assert signature is not None and manifest_bytes is not None
    try:
        token = signature.decode("ascii")
    except UnicodeDecodeError:
        raise refused("extract-bad-signature", "manifest.jws is not a compact JWS") from None
    payload, signer = verify_manifest_signature(
        token, trust_anchors, now or dt.datetime.now(dt.UTC)
    )
    if payload != manifest_bytes:
        raise refused(
            "extract-manifest-mismatch", "manifest.json is not the manifest that was signed"
        )
    manifest = Manifest.parse(payload)
    listed = {member.name: member for member in manifest.members}
    missing = sorted(set(listed) - set(seen))
    if missing:
        raise refused(
            "extract-member-missing",
            f"{len(missing)} listed member(s) are missing, first {missing[0]}",
        )
    extra = sorted(set(seen) - set(listed))
    if extra:
        shown = extra[0] if valid_member_name(extra[0]) else "an unlisted name"
        raise refused(
            "extract-member-unexpected", f"{len(extra)} member(s) are not listed, first {shown}"
        )
    for name, member in listed.items():
        found = seen[name]
        if found.size != member.size or found.sha256 != member.sha256:
            raise refused("extract-digest-mismatch", f"{name} does not match its size and SHA-256")
    return VerifiedExtract(manifest, signer)
