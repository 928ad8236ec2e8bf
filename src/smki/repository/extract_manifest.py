"""The manifest of a repository extract (R-REP-6): what the archive holds, digest by digest.

``manifest.json`` is canonical JSON (sorted keys, no spaces, UTF-8, one final newline), so the
bytes signed in ``manifest.jws`` are the bytes in the archive. ``Manifest.parse`` reads one
from untrusted bytes and refuses anything else with ``extract-malformed``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from smki.errors import MalformedInput

FORMAT: Final = "smki-repository-extract"
FORMAT_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
SIGNATURE_NAME: Final = "manifest.jws"
KINDS: Final = ("full", "increment")
_MEMBER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}(/[a-z0-9][a-z0-9._-]{0,99})?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEYS: Final = frozenset(
    {
        "format",
        "version",
        "environment",
        "kind",
        "since",
        "until",
        "overlap_seconds",
        "generated_at",
        "members",
    }
)
_MEMBER_KEYS: Final = frozenset({"name", "size", "sha256", "items"})


def malformed(detail: str) -> MalformedInput:
    return MalformedInput(detail, code="extract-malformed", rid="R-REP-6")


def valid_member_name(name: str) -> bool:
    """Lower-case names, at most one folder, no dot segments: safe to unpack anywhere."""
    return bool(_MEMBER_NAME.fullmatch(name)) and ".." not in name


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str  # lower-case hex
    items: int  # certificates, JSON lines, or 1 for a CRL/ARL


@dataclass(frozen=True)
class Manifest:
    environment: str
    kind: str  # "full" | "increment"
    since: dt.datetime | None  # None for a full extract
    until: dt.datetime
    #: How far before ``since`` an increment reaches, so that what was being stored at the
    #: previous extract's ``until`` is not missed (docs/repository.md).
    overlap_seconds: int
    generated_at: dt.datetime
    members: tuple[Member, ...]

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "environment": self.environment,
            "kind": self.kind,
            "since": None if self.since is None else _iso(self.since),
            "until": _iso(self.until),
            "overlap_seconds": self.overlap_seconds,
            "generated_at": _iso(self.generated_at),
            "members": [
                {"name": m.name, "size": m.size, "sha256": m.sha256, "items": m.items}
                for m in self.members
            ],
        }
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise malformed("manifest.json is not UTF-8 JSON") from None
        if not isinstance(document, dict) or set(document) != _KEYS:
            raise malformed(f"manifest.json holds exactly the keys {', '.join(sorted(_KEYS))}")
        if document["format"] != FORMAT or document["version"] != FORMAT_VERSION:
            raise malformed(f"this is not a {FORMAT} manifest of version {FORMAT_VERSION}")
        if document["kind"] not in KINDS:
            raise malformed("kind is full or increment")
        since = document["since"]
        if (since is None) != (document["kind"] == "full"):
            raise malformed("an increment has a since, a full extract none")
        members = document["members"]
        if not isinstance(members, list):
            raise malformed("members is a list")
        parsed = tuple(_member(m) for m in members)
        if len({m.name for m in parsed}) != len(parsed):
            raise malformed("a member is listed twice")
        overlap = document["overlap_seconds"]
        if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
            raise malformed("overlap_seconds is a whole number of seconds")
        return cls(
            environment=_text(document["environment"], "environment"),
            kind=str(document["kind"]),
            since=None if since is None else _time(since, "since"),
            until=_time(document["until"], "until"),
            overlap_seconds=overlap,
            generated_at=_time(document["generated_at"], "generated_at"),
            members=parsed,
        )


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise malformed(f"{what} is a non-empty string")
    return value


def _time(value: Any, what: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(_text(value, what))
    except ValueError:
        raise malformed(f"{what} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise malformed(f"{what} has no time zone")
    return parsed.astimezone(dt.UTC)


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise malformed(f"{what} is a whole number")
    return value


def _member(value: Any) -> Member:
    if not isinstance(value, dict) or set(value) != _MEMBER_KEYS:
        raise malformed(f"a member holds exactly {', '.join(sorted(_MEMBER_KEYS))}")
    name = _text(value["name"], "a member name")
    if not valid_member_name(name) or name in (MANIFEST_NAME, SIGNATURE_NAME):
        raise malformed(f"member name {name[:60]!r} is not allowed")
    digest = _text(value["sha256"], "sha256")
    if not _SHA256.fullmatch(digest):
        raise malformed(f"the sha256 of {name} is not 64 lower-case hex digits")
    return Member(name, _count(value["size"], "size"), digest, _count(value["items"], "items"))
