"""The relying-party check against the public GBCS vectors (R-RP-3, OBSERVED.md).

R-RP-3: "It accepts the real vectors that conform and refuses the negative vectors for the
right reason." Z1 ("OU=07, CN=Z1") is the only CA certificate in the corpus and its root "ZA"
is not public (OBSERVED.md §B), so Z1 is the trust anchor; no CRL was ever published with
the vectors, so the checks run with ``--no-crl`` (the verdict says revocation was not
checked). The list of Z1-issued certificates is OBSERVED_INDEX.tsv's ("Z1-verified"); the
quirks and their lints are tests/interop/vector_manifest.py's.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from smki.cli.main import app
from smki.validation import Reason, TrustStore, Verdict, validate
from smki.validation.certificate import parse_certificate
from tests.interop.test_vectors import (
    CERTIFICATE_FILES,
    CORRUPTED,
    INVALID_KU,
    UNKNOWN_ISSUER,
    VECTORS,
    Z1,
    der_of,
    documents,
    one,
)
from tests.interop.vector_manifest import EXPECTED


@functools.cache
def z1_store() -> TrustStore:
    return TrustStore.from_der([der_of(Z1)])


def inside_validity(der: bytes) -> dt.datetime:
    """The middle of the certificate's validity, whole seconds, UTC."""
    cert = parse_certificate(der, rfc5280=False)
    middle = cert.not_before + (cert.not_after - cert.not_before) / 2
    return middle.replace(microsecond=0)


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def z1_issued_files() -> dict[str, str]:
    """serial (hex) → one single-certificate file, for every certificate the index records as
    verified with Z1's key (OBSERVED.md §C: 42 of them)."""
    with (VECTORS / "OBSERVED_INDEX.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    chosen: dict[str, str] = {}
    for row in rows:
        if row["signature check"] != "Z1-verified" or row["serial_hex"] in chosen:
            continue
        if len(documents(row["file"])) == 1:
            chosen[row["serial_hex"]] = row["file"]
    return chosen


def verify(path: str, at: dt.datetime, *extra: str) -> tuple[int, str, str]:
    args = ["verify", str(VECTORS / path), "--trust", str(VECTORS / one(Z1))]
    args += ["--at", iso(at), "--no-crl", *extra]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_42_z1_organisation_certificates_validate(vectors: Path) -> None:
    files = z1_issued_files()
    assert len(files) == 42
    for serial, path in sorted(files.items()):
        at = inside_validity(der_of(path))
        code, out, err = verify(path, at, "--json")
        assert code == 0, f"{path}: {err}"
        verdict = json.loads(out)
        assert verdict["ok"] is True and verdict["path"][0]["serial"] == serial
        assert [entry["role"] for entry in verdict["path"]] == ["leaf", "trust anchor"]
        assert verdict["path"][1]["subject"] == "OU=07, CN=Z1"
        notes = " | ".join(verdict["notes"])
        assert "revocation of" in notes and "was not checked" in notes, notes


def test_the_text_output_says_revocation_was_not_checked(vectors: Path) -> None:
    path = next(iter(z1_issued_files().values()))
    code, out, _ = verify(path, inside_validity(der_of(path)))
    assert code == 0 and "VALID:" in out
    assert "note: no revocation list (CRL) from OU=07, CN=Z1" in out
    assert "was not checked" in out


def _refusal(pattern: str) -> Verdict:
    der = der_of(pattern)
    return validate(der, trust=z1_store(), at=inside_validity(der), require_crls=False)


def test_corrupted_z1_copy_is_refused(vectors: Path) -> None:
    # The copy differs from Z1 only in its last signature octet (OBSERVED.md §G); it is not
    # the anchor, and its own issuer "ZA" is not public, so it cannot be trusted.
    verdict = _refusal(CORRUPTED)
    assert verdict.reason in (Reason.BAD_SIGNATURE, Reason.UNKNOWN_ISSUER), verdict.detail
    assert "a copy of trust anchor OU=07, CN=Z1" in verdict.detail
    code, _, err = verify(one(CORRUPTED), inside_validity(der_of(CORRUPTED)))
    assert code == 11 and err.startswith(f"error: {verdict.code}: ")


def test_invalid_key_usage_is_a_profile_violation(vectors: Path) -> None:
    verdict = _refusal(INVALID_KU)
    assert verdict.reason is Reason.PROFILE_VIOLATION
    assert "gbcs.key_usage_single" in verdict.detail and "nonRepudiation" in verdict.detail


def test_unknown_issuer_z2(vectors: Path) -> None:
    verdict = _refusal(UNKNOWN_ISSUER)
    assert verdict.reason is Reason.UNKNOWN_ISSUER
    assert "OU=07, CN=Z2" in verdict.detail
    code, _, err = verify(one(UNKNOWN_ISSUER), inside_validity(der_of(UNKNOWN_ISSUER)))
    assert code == 11 and err.startswith("error: unknown-issuer: ")


def test_z1_itself_validates_as_its_own_anchor(vectors: Path) -> None:
    der = der_of(Z1)
    verdict = validate(der, trust=z1_store(), at=inside_validity(der), require_crls=False)
    assert verdict.ok and [entry.role for entry in verdict.path] == ["trust anchor"]


def test_each_observed_quirk_is_a_named_profile_violation(vectors: Path) -> None:
    checked = 0
    for entry in EXPECTED:
        for path in CERTIFICATE_FILES:
            if not entry.matches(path):
                continue
            for document in documents(path):
                at = inside_validity(document.der)
                verdict = validate(document.der, trust=z1_store(), at=at, require_crls=False)
                assert verdict.reason is Reason.PROFILE_VIOLATION, f"{path}: {verdict.detail}"
                missing = [lint for lint in entry.lints if lint not in verdict.detail]
                assert missing == [], f"{path} ({entry.reason}): {verdict.detail}"
                checked += 1
    assert checked >= len(EXPECTED)


def _openssl_accepts(path: Path, at: dt.datetime) -> bool:
    """``openssl verify`` with Z1 as a (partial-chain) trust anchor at ``at``: Z1 is not
    self-signed, and no CRL exists for it, so no CRL check either (as ``--no-crl``)."""
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-partial_chain",
            "-CAfile",
            str(VECTORS / one(Z1)),
            "-attime",
            str(int(at.timestamp())),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


def test_openssl_agrees_on_the_z1_chain(vectors: Path, tmp_path: Path) -> None:
    """Our verdict and openssl's agree on every Z1-issued certificate and on the two NEGATIVE
    files whose refusal is about the chain (the keyUsage one is a GBCS profile rule, which
    openssl does not know)."""
    cases = [(der_of(path), True) for path in z1_issued_files().values()]
    cases += [(der_of(CORRUPTED), False), (der_of(UNKNOWN_ISSUER), False)]
    for index, (der, expected) in enumerate(cases):
        at = inside_validity(der)
        ours = validate(der, trust=z1_store(), at=at, require_crls=False)
        pem_path = tmp_path / f"case-{index}.pem"
        pem_path.write_bytes(
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
        )
        assert ours.ok is expected, ours.detail
        assert _openssl_accepts(pem_path, at) is expected, index
