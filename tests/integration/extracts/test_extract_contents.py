"""What full extracts and increments hold (R-REP-6, R-REP-1, R-REP-5, R-GOV-3).

The story, on a fixed clock (hours after the ceremony at T0):
  0    ceremony: 9 certificates (8 CAs and the Recovery certificate), 8 CRLs/ARLs
  0.5  the file-signing credential is issued
  1    Organisation Certificate A, Device Certificate D
  2    A revoked (keyCompromise; Issuing OCA CRL 2), D suspended
  3    Organisation Certificate B issued and suspended, D's suspension lifted
  4    the extracts are written
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from smki.ca.serials import serial_hex
from smki.errors import InputError
from smki.profiles.kinds import Pki
from smki.repository import extract
from smki.repository.extract_verify import verify_extract
from tests.integration.extracts.support import (
    PkiHome,
    at,
    json_lines,
    members,
    pem_serials,
)

EUI_A = bytes.fromhex("90B3D51F30010000")
EUI_D = bytes.fromhex("00DB1234567890A1")
EUI_B = bytes.fromhex("90B3D51F30010001")


@dataclass(frozen=True)
class Story:
    ceremony: set[int]
    file_signing: int
    a: int
    d: int
    b: int


def _story(pki: PkiHome) -> Story:
    ceremony = pki.ceremony_serials()
    pki.clock.set(at(0.5))
    file_signing = pki.signer().serial
    pki.clock.set(at(1))
    a = pki.issue_organisation(EUI_A).serial
    d = pki.issue_device(EUI_D).serial
    pki.clock.set(at(2))
    pki.revoke(a)
    pki.suspend(d)
    pki.clock.set(at(3))
    b = pki.issue_organisation(EUI_B).serial
    pki.suspend(b, "PMA-2025-009")
    pki.lift(d)
    pki.clock.set(at(4))
    return Story(ceremony, file_signing, a, d, b)


def _iso(hours: float) -> str:
    return at(hours).isoformat().replace("+00:00", "Z")


def test_full_extract_holds_everything_until_now(pki: PkiHome, tmp_path: Path) -> None:
    story = _story(pki)
    manifest = pki.extract(tmp_path / "full.tar.gz")
    found = members(tmp_path / "full.tar.gz")
    assert list(found)[:2] == ["manifest.json", "manifest.jws"]
    assert len(story.ceremony) == 9
    assert sorted(pem_serials(found["certificates.pem"])) == sorted(
        story.ceremony | {story.file_signing, story.a, story.d, story.b}
    )
    assert json_lines(found["revocations.jsonl"]) == [
        {
            "serial": serial_hex(story.a),
            "issuer": "issuing-oca",
            "reason": "keyCompromise",
            "revoked_at": _iso(2),
        }
    ]
    # Only what is suspended at `until`: D's suspension was lifted (R-GOV-3).
    assert json_lines(found["suspensions.jsonl"]) == [
        {
            "serial": serial_hex(story.b),
            "issuer": "issuing-oca",
            "event": "suspended",
            "at": _iso(3),
            "decision": "PMA-2025-009",
        }
    ]
    lists = sorted(name for name in found if name.startswith("lists/"))
    assert len(lists) == 9 and "lists/issuing-oca.2.crl" in lists
    second = x509.load_der_x509_crl(found["lists/issuing-oca.2.crl"])
    assert [entry.serial_number for entry in second] == [story.a]
    assert manifest.kind == "full" and manifest.since is None and manifest.until == at(4)
    assert manifest.environment == "test" and manifest.generated_at == at(4)
    # The manifest describes every member exactly (R-REP-6).
    assert [m.name for m in manifest.members] == list(found)[2:]
    for member in manifest.members:
        assert member.size == len(found[member.name])
        assert member.sha256 == hashlib.sha256(found[member.name]).hexdigest()
    items = {m.name: m.items for m in manifest.members}
    assert items["certificates.pem"] == 13
    assert items["revocations.jsonl"] == 1 and items["suspensions.jsonl"] == 1
    assert json.loads(found["manifest.json"]) == json.loads(manifest.to_bytes())


def test_increment_holds_the_window_only(pki: PkiHome, tmp_path: Path) -> None:
    story = _story(pki)
    manifest = pki.extract(tmp_path / "late.tar.gz", since=at(2.5))
    found = members(tmp_path / "late.tar.gz")
    assert pem_serials(found["certificates.pem"]) == [story.b]
    assert found["revocations.jsonl"] == b""
    events = json_lines(found["suspensions.jsonl"])
    assert [(e["serial"], e["event"], e["decision"]) for e in events] == [
        (serial_hex(story.d), "lifted", "PMA-2025-008"),
        (serial_hex(story.b), "suspended", "PMA-2025-009"),
    ]
    assert not [name for name in found if name.startswith("lists/")]
    assert manifest.kind == "increment" and manifest.since == at(2.5)
    assert manifest.overlap_seconds == 600

    wider = pki.extract(tmp_path / "wide.tar.gz", since=at(1.5))
    found = members(tmp_path / "wide.tar.gz")
    assert pem_serials(found["certificates.pem"]) == [story.b]
    assert [r["serial"] for r in json_lines(found["revocations.jsonl"])] == [serial_hex(story.a)]
    assert [(e["serial"], e["event"]) for e in json_lines(found["suspensions.jsonl"])] == [
        (serial_hex(story.d), "suspended"),
        (serial_hex(story.d), "lifted"),
        (serial_hex(story.b), "suspended"),
    ]
    assert sorted(name for name in found if name.startswith("lists/")) == [
        "lists/issuing-oca.2.crl"
    ]
    assert {m.name for m in wider.members} == set(found) - {"manifest.json", "manifest.jws"}


def test_increment_reaches_back_by_the_overlap(pki: PkiHome, tmp_path: Path) -> None:
    """What was dated just before the previous `until` but committed after it is not lost."""
    story = _story(pki)
    since = at(1) + dt.timedelta(minutes=5)
    pki.extract(tmp_path / "overlap.tar.gz", since=since)
    assert sorted(pem_serials(members(tmp_path / "overlap.tar.gz")["certificates.pem"])) == sorted(
        [story.a, story.d, story.b]
    )
    pki.extract(tmp_path / "exact.tar.gz", since=since, overlap=dt.timedelta(0))
    assert pem_serials(members(tmp_path / "exact.tar.gz")["certificates.pem"]) == [story.b]


def test_certificates_are_read_a_page_at_a_time(
    pki: PkiHome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = _story(pki)
    pages: list[int] = []
    monkeypatch.setattr(extract, "PAGE", 2)  # 13 certificates: seven pages, none lost
    manifest = extract.write_extract(
        pki.services.store,
        pki.services.choose_environment(None),
        pki.signer(),
        tmp_path / "paged.tar.gz",
        since=None,
        now=pki.clock.now(),
        progress=pages.append,
    )
    assert pages == [2, 2, 2, 2, 2, 2, 1]
    serials = pem_serials(members(tmp_path / "paged.tar.gz")["certificates.pem"])
    assert len(serials) == len(set(serials)) == 13 and story.b in serials
    verify_extract(
        tmp_path / "paged.tar.gz", [pki.ca_certificate(Pki.IKI.issuing)], now=pki.clock.now()
    )
    assert manifest.members[0].items == 13


def test_since_must_be_before_now(pki: PkiHome, tmp_path: Path) -> None:
    pki.clock.set(at(1))
    with pytest.raises(InputError) as refused:
        pki.extract(tmp_path / "future.tar.gz", since=at(2))
    assert refused.value.code == "bad-since"
    assert not (tmp_path / "future.tar.gz").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".smki-extract")] == []
