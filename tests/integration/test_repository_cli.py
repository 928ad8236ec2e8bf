"""``smki repository``, ``smki document`` and ``smki pma`` end to end (R-REP-6, R-DOC-1/2,
R-GOV-3): exit statuses, messages, and nothing written on refusal."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from cryptography import x509

from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.csr_factory import organisation_csr


def _audit_count(smki: Smki) -> int:
    services = open_services(smki.home, secret=PASSPHRASE.encode())
    try:
        return sum(1 for _ in services.store.audit_events())
    finally:
        services.close()


def _issue_organisation(ready: Smki, tmp_path: Path) -> str:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30010000")))
    target = tmp_path / "org.pem"
    ready.ok("ca", "issue", *ready.h, "--csr", str(csr), "--out", str(target))
    return f"{x509.load_pem_x509_certificate(target.read_bytes()).serial_number:X}"


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as opened:
        stream = opened.extractfile(name)
        assert stream is not None
        return stream.read()


def test_extract_then_verify(ready: Smki, tmp_path: Path) -> None:
    serial = _issue_organisation(ready, tmp_path)
    ready.ok("pma", "suspend-certificate", *ready.h, serial, "--decision", "PMA-2025-007")
    archive = tmp_path / "full.tar.gz"
    printed = ready.ok("repository", "extract", *ready.h, "--full", "--out", str(archive)).stdout
    assert "full extract of test" in printed and "1 suspension records" in printed
    suspended = json.loads(_member(archive, "suspensions.jsonl"))
    assert (suspended["serial"], suspended["event"]) == (serial, "suspended")
    out = ready.home / "out"
    for anchor in ("root-ica.pem", "issuing-ica.pem"):
        verified = ready.ok(
            "repository", "verify-extract", str(archive), "--trust", str(out / anchor)
        )
        assert verified.stdout.startswith("verified: full extract of test")
        assert "signed by CN=SMKI Repository file signing,O=DCC" in verified.stdout
    as_json = ready.ok(
        "repository", "verify-extract", str(archive), "--trust", str(out / "root-ica.pem"), "--json"
    )
    assert json.loads(as_json.stdout)["kind"] == "full"
    wrong = ready(
        "repository", "verify-extract", str(archive), "--trust", str(out / "root-oca.pem")
    )
    assert wrong.exit_code == 8
    assert wrong.stderr.startswith("error: extract-untrusted: ")
    increment = tmp_path / "increment.tar.gz"
    since = "2000-01-01T00:00:00Z"
    ready.ok("repository", "extract", *ready.h, "--since", since, "--out", str(increment))
    ready.ok("repository", "verify-extract", str(increment), "--trust", str(out / "root-ica.pem"))


def test_extract_refusals_write_nothing(ready: Smki, tmp_path: Path) -> None:
    folder = tmp_path / "extracts"
    folder.mkdir()
    ready.ok("repository", "extract", *ready.h, "--full", "--out", str(folder / "warm.tar.gz"))
    before = _audit_count(ready)  # the file-signing credential exists from here on
    target = folder / "refused.tar.gz"
    cases = [
        ((), 2, "bad-option"),
        (("--full", "--since", "2025-01-01T00:00:00Z"), 2, "bad-option"),
        (("--since", "yesterday"), 2, "bad-since"),
        (("--since", "2999-01-01T00:00:00Z"), 2, "bad-since"),
    ]
    for args, status, code in cases:
        outcome = ready("repository", "extract", *ready.h, *args, "--out", str(target))
        assert outcome.exit_code == status, outcome.stderr
        assert outcome.stderr.startswith(f"error: {code}: "), outcome.stderr
    missing_folder = folder / "nowhere" / "x.tar.gz"
    outcome = ready("repository", "extract", *ready.h, "--full", "--out", str(missing_folder))
    assert outcome.exit_code == 2
    assert not target.exists() and not missing_folder.parent.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["warm.tar.gz"]
    assert _audit_count(ready) == before


def test_verify_extract_refuses_a_damaged_file(ready: Smki, tmp_path: Path) -> None:
    archive = tmp_path / "full.tar.gz"
    ready.ok("repository", "extract", *ready.h, "--full", "--out", str(archive))
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(archive.read_bytes()[:-40])
    anchor = str(ready.home / "out" / "root-ica.pem")
    outcome = ready("repository", "verify-extract", str(damaged), "--trust", anchor)
    assert outcome.exit_code == 2 and "extract-malformed" in outcome.stderr
    not_a_certificate = tmp_path / "anchor.pem"
    not_a_certificate.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    outcome = ready("repository", "verify-extract", str(archive), "--trust", str(not_a_certificate))
    assert outcome.exit_code == 2 and "bad-trust-anchor" in outcome.stderr


def _documents(ready: Smki) -> list[dict[str, object]]:
    listed = json.loads(ready.ok("document", "list", *ready.h, "--json").stdout)
    assert isinstance(listed, list)
    return listed


def test_document_publish_and_list(ready: Smki, tmp_path: Path) -> None:
    rapp = tmp_path / "rapp.md"
    rapp.write_text("# RAPP\nversion one\n")
    printed = ready.ok(
        "document",
        "publish",
        *ready.h,
        str(rapp),
        "--kind",
        "rapp",
        "--title",
        "Registration Authority Policies and Procedures",
        "--approved-by",
        "PMA-2025-001",
    ).stdout
    assert printed.startswith("published rapp version 1, 19 bytes, sha256 ")
    rapp.write_text("# RAPP\nversion two\n")
    ready.ok(
        "document",
        "publish",
        *ready.h,
        str(rapp),
        "--kind",
        "RAPP",
        "--title",
        "RAPP",
        "--approved-by",
        "PMA-2025-002",
    )
    cps = tmp_path / "iki-cps.bin"
    cps.write_bytes(b"%PDF-1.7 confidential")
    printed = ready.ok(
        "document",
        "publish",
        *ready.h,
        str(cps),
        "--kind",
        "iki-cps",
        "--title",
        "IKI CPS",
        "--approved-by",
        "PMA-2025-003",
        "--media-type",
        "application/pdf",
    ).stdout
    assert "(confidential: SMKI PMA and DCC only)" in printed
    listed = _documents(ready)
    assert [(d["kind"], d["version"], d["confidential"]) for d in listed] == [
        ("iki-cps", 1, True),
        ("rapp", 1, False),
        ("rapp", 2, False),
    ]
    assert listed[2]["approved_by"] == "PMA-2025-002"
    assert listed[0]["media_type"] == "application/pdf"
    table = ready.ok("document", "list", *ready.h).stdout
    cps_line = next(line for line in table.splitlines() if "iki-cps" in line)
    assert "yes" in cps_line


def test_document_refusals_write_nothing(ready: Smki, tmp_path: Path) -> None:
    before = _audit_count(ready)
    text = tmp_path / "doc.txt"
    text.write_text("text")
    blob = tmp_path / "doc.bin"
    blob.write_bytes(b"\x00\x01")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    base = ("--title", "T", "--approved-by", "PMA-1")
    cases = [
        ((str(text), "--kind", "no-such-kind", *base), 2, "bad-document-kind"),
        ((str(blob), "--kind", "rapp", *base), 2, "bad-media-type"),
        ((str(text), "--kind", "rapp", *base, "--media-type", "image/png"), 2, "bad-media-type"),
        ((str(empty), "--kind", "rapp", *base), 2, "empty-document"),
        (
            (str(text), "--kind", "rapp", "--title", "T", "--approved-by", " "),
            2,
            "document-unapproved",
        ),
        ((str(tmp_path / "absent.txt"), "--kind", "rapp", *base), 2, "unreadable-file"),
    ]
    for args, status, code in cases:
        outcome = ready("document", "publish", *ready.h, *args)
        assert outcome.exit_code == status, outcome.stderr
        assert outcome.stderr.startswith(f"error: {code}: "), outcome.stderr
    assert _documents(ready) == []
    assert _audit_count(ready) == before


def test_pma_suspension_and_lift(ready: Smki, tmp_path: Path) -> None:
    serial = _issue_organisation(ready, tmp_path)
    printed = ready.ok(
        "pma", "suspend-certificate", *ready.h, serial, "--decision", "PMA-2025-007"
    ).stdout
    assert printed.startswith(
        f"suspended certificate {serial} (organisation, issued by issuing-oca)"
    )
    before = _audit_count(ready)
    twice = ready("pma", "suspend-certificate", *ready.h, serial, "--decision", "PMA-2025-008")
    assert twice.exit_code == 4 and twice.stderr.startswith("error: already-suspended: ")
    unknown = ready("pma", "suspend-certificate", *ready.h, "1234ABCD", "--decision", "PMA-1")
    assert unknown.exit_code == 3 and "unknown-certificate" in unknown.stderr
    bad = ready("pma", "suspend-certificate", *ready.h, "xyz", "--decision", "PMA-1")
    assert bad.exit_code == 2 and "bad-serial" in bad.stderr
    wrong_issuer = ready(
        "pma", "lift-suspension", *ready.h, serial, "--issuer", "issuing-dca", "--decision", "P"
    )
    assert wrong_issuer.exit_code == 3 and "unknown-certificate" in wrong_issuer.stderr
    assert _audit_count(ready) == before
    lifted = ready.ok(
        "pma",
        "lift-suspension",
        *ready.h,
        serial,
        "--issuer",
        "issuing-oca",
        "--decision",
        "PMA-2025-009",
    )
    assert lifted.stdout.startswith(f"lifted the suspension of certificate {serial}")
    again = ready("pma", "lift-suspension", *ready.h, serial, "--decision", "PMA-2025-010")
    assert again.exit_code == 4 and again.stderr.startswith("error: not-suspended: ")
    assert _audit_count(ready) == before + 1
