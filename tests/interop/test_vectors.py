"""The lints and signatures against the public GBCS test vectors (R-PROF-40, OBSERVED.md).

Vectors are read in place from ``$SMKI_VECTORS`` (default ``<repo>/../shared/vectors``); when
the folder is missing these tests skip, unless ``SMKI_REQUIRE_VECTORS=1``. Files are
classified by content (certificates, keys, a CSR, git blob copies), and duplicates are
counted once by SHA-256.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import hashlib
import os
import warnings
from collections import Counter
from pathlib import Path

import pytest
import typer
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from typer.testing import CliRunner

from smki.cli.lint_cmd import lint
from smki.errors import MalformedInput
from smki.lint import lint_certificate
from smki.lint.context import detect_kind, parse_leniently
from smki.lint.loading import Document, read_documents
from smki.x509.hwname import read_device_san
from smki.x509.keyid import key_id
from smki.x509.oids import OBSERVED_DEVICE_POLICY, OBSERVED_ORGANISATION_POLICY
from tests.interop.vector_manifest import EXPECTED, expected_for

VECTORS = Path(os.environ.get("SMKI_VECTORS", Path(__file__).parents[2] / "../shared/vectors"))
REQUIRED = os.environ.get("SMKI_REQUIRE_VECTORS") == "1"

# Vector files by unique glob (the full names carry provenance and are long).
Z1 = "extracted/ZAZ1-Issuing-OCA-*.pem"
CORRUPTED = "extracted/NEGATIVE-corrupted-signature__*.pem"
INVALID_KU = "extracted/NEGATIVE-invalid-keyUsage__*.pem"
UNKNOWN_ISSUER = "extracted/NEGATIVE-unknown-issuer-Z2__*.pem"
CSR_DER = "extracted/device-CSR-PKCS10__00db1234567890a0-ds__*.der"
CSR_PEM = "extracted/device-CSR-PKCS10__00db1234567890a0-ds__*.pem"
DEVICE_A0 = "gbcs-parser-rtds-keystore/00db1234567890a0-ds.pem"
DEVICE_01 = "gbcs-parser-rtds-keystore/00db123456789001-ds.pem"
Z1_ORG = "dccboxed-keystore/Z1-supplier-ds__*.cert.pem"
MDR = "dccboxed-keystore/mdr-ds__*.cert.pem"
MDR_KEY = "dccboxed-keystore/mdr-ds__*.key.pem"
DSP_XML_SIGN_Z1 = "dccboxed-signing-tool/main__Z1-accessControlBroker-dSPXmlSign.pem"


def _all_files() -> list[str]:
    if not VECTORS.is_dir():
        return []
    return sorted(
        p.relative_to(VECTORS).as_posix()
        for p in VECTORS.rglob("*")
        if p.is_file() and p.suffix not in (".md", ".tsv")
    )


@functools.cache
def documents(path: str) -> tuple[Document, ...]:
    return tuple(read_documents((VECTORS / path).read_bytes()))


def _holds_certificate(path: str) -> bool:
    try:
        return any(d.kind == "certificate" for d in documents(path))
    except MalformedInput:
        return False  # test_every_file_is_classified_by_content reports it


FILES = _all_files()
CERTIFICATE_FILES = [p for p in FILES if _holds_certificate(p)]


def one(pattern: str) -> str:
    """The single vector file matching ``pattern``."""
    (path,) = [p for p in FILES if fnmatch.fnmatchcase(p, pattern)]
    return path


def der_of(pattern: str) -> bytes:
    (document,) = documents(one(pattern))
    return document.der


def certificate(path: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(der_of(path))


def certificate_lenient(path: str) -> x509.Certificate:
    """cryptography's view, via the lint loader for the Z99 certificates."""
    _, cert, _ = parse_leniently(der_of(path))
    assert cert is not None
    return cert


def distinct_certificates() -> dict[str, bytes]:
    """SHA-256 → DER of every distinct certificate in the corpus."""
    out: dict[str, bytes] = {}
    for path in CERTIFICATE_FILES:
        for document in documents(path):
            out.setdefault(hashlib.sha256(document.der).hexdigest(), document.der)
    return out


# --- classification and parsing --------------------------------------------------------------


def test_every_file_is_classified_by_content(vectors: Path) -> None:
    kinds: Counter[str] = Counter()
    for path in FILES:
        kinds.update(d.kind for d in documents(path))
    # OBSERVED.md: 495 certificate files, 76 EC private-key files, a CSR (DER + PEM), one key.
    assert kinds == {"certificate": 495, "private-key": 76, "csr": 2, "public-key": 1}
    assert len(distinct_certificates()) == 461


def test_every_certificate_parses(vectors: Path) -> None:
    refused = set()
    for digest, der in distinct_certificates().items():
        _, cert, problem = parse_leniently(der)
        assert cert is not None, digest  # directly, or after dropping Z99's NULL parameters
        if problem is not None:
            refused.add(cert.serial_number)
    # Only the two Z99 certificates upset cryptography (OBSERVED.md §D).
    mdr_serials = {certificate_lenient(p).serial_number for p in CERTIFICATE_FILES if "/mdr-" in p}
    assert refused == mdr_serials and len(refused) == 2


def test_cryptography_refuses_or_warns_on_null_signature_parameters(vectors: Path) -> None:
    # Whether cryptography warns (older releases) or refuses (50+), the caught outcome is
    # reported by gbcs.signature_algorithm.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            x509.load_der_x509_certificate(der_of(MDR))
            refused = False
        except ValueError:
            refused = True
    assert refused or caught
    findings = [f for f in lint_certificate(der_of(MDR)) if f.lint == "gbcs.signature_algorithm"]
    assert findings and "0500" in findings[0].message


def test_detected_kinds(vectors: Path) -> None:
    kinds = Counter(
        str(detect_kind(parse_leniently(der)[0])) for der in distinct_certificates().values()
    )
    # 400 RTDS keystore devices + the negative copy + CN=0001 + 3 DCC Boxed; Z1 + its
    # corrupted copy; every organisation certificate whatever its issuer.
    assert kinds == {"device": 405, "organisation": 54, "issuing-ca": 2}


# --- lints against the manifest ---------------------------------------------------------------


@pytest.mark.parametrize("path", CERTIFICATE_FILES)
def test_certificate_lints(vectors: Path, path: str) -> None:
    expected = expected_for(path)
    wanted = expected.lints if expected else frozenset()
    for document in documents(path):
        findings = lint_certificate(document.der)
        found = {f.lint for f in findings if f.severity in ("error", "warning")}
        detail = "\n".join(str(f) for f in findings)
        reason = expected.reason if expected else "conforming: must lint clean"
        assert found == wanted, f"{path} ({reason}):\n{detail}"


def test_manifest_entries_each_match_a_file(vectors: Path) -> None:
    for entry in EXPECTED:
        for pattern in entry.patterns:
            assert any(fnmatch.fnmatchcase(p, pattern) for p in CERTIFICATE_FILES), pattern
        assert entry.reason.startswith("OBSERVED.md §")
    for path in CERTIFICATE_FILES:
        expected_for(path)  # raises when two entries match


def test_environment_policies(vectors: Path) -> None:
    # Policy OIDs are configuration (OBSERVED.md §J4): ZAZ1 and E357 each use their own.
    organisation = frozenset({OBSERVED_ORGANISATION_POLICY.dotted_string})
    device = frozenset({OBSERVED_DEVICE_POLICY.dotted_string})
    assert lint_certificate(der_of(Z1_ORG), allowed_policies=organisation) == []
    assert lint_certificate(der_of(DEVICE_01), allowed_policies=device) == []
    wrong = lint_certificate(der_of(DEVICE_01), allowed_policies=organisation)
    assert {f.lint for f in wrong} == {"gbcs.policy_allowed"}


def test_z1_and_its_organisation_certificates_lint_clean_even_strictly(vectors: Path) -> None:
    # strict_serial: every certificate in the corpus has a 0x10–0x7F first serial octet except
    # Z1-accessControlBroker-dSPXmlSign (0x0F), which must still be clean by default.
    assert lint_certificate(der_of(DSP_XML_SIGN_Z1)) == []
    strict = lint_certificate(der_of(DSP_XML_SIGN_Z1), strict_serial=True)
    assert [f.lint for f in strict] == ["gbcs.serial_first_octet"]
    assert lint_certificate(der_of(Z1), kind="issuing-ca", strict_serial=True) == []


# --- signatures -------------------------------------------------------------------------------


def test_42_organisation_certificates_verify_against_z1(vectors: Path) -> None:
    z1 = certificate(Z1)
    z1_ski = z1.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    verified: set[int] = set()
    for der in distinct_certificates().values():
        _, cert, problem = parse_leniently(der)
        if cert is None or problem is not None:
            continue  # the Z99 certificates cannot be verified as encoded, nor are they Z1's
        try:
            cert.verify_directly_issued_by(z1)
        except (ValueError, TypeError, InvalidSignature):
            continue
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == z1_ski
        verified.add(cert.serial_number)
    assert len(verified) == 42
    with (VECTORS / "OBSERVED_INDEX.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    indexed = {int(r["serial_hex"], 16) for r in rows if r["signature check"] == "Z1-verified"}
    assert verified == indexed


def test_unknown_issuer_z2_does_not_chain_to_z1(vectors: Path) -> None:
    z1, z2_issued = certificate(Z1), certificate(UNKNOWN_ISSUER)
    assert z2_issued.issuer != z1.subject
    aki = z2_issued.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    z1_ski = z1.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier != z1_ski.digest
    with pytest.raises(ValueError):
        z2_issued.verify_directly_issued_by(z1)
    z1_key = z1.public_key()
    assert isinstance(z1_key, ec.EllipticCurvePublicKey)
    with pytest.raises(InvalidSignature):
        z1_key.verify(
            z2_issued.signature, z2_issued.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256())
        )


# P-256 (SEC 2) for public-key recovery: the issuers "ZA" and "E357" are not in the corpus, but
# an ECDSA signature determines at most four candidate keys, and the certificate's AKI (method 2
# over the issuer key) says which one is the issuer's.
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
Point = tuple[int, int] | None


def _add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % _P == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 - 3) * pow(2 * y1, -1, _P) % _P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P) % _P
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


def _multiply(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def recover_issuer_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    """The issuer key that signed ``cert``, chosen among the candidates by the AKI."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    r, s = decode_dss_signature(cert.signature)
    e = int.from_bytes(hashlib.sha256(cert.tbs_certificate_bytes).digest(), "big")
    for x in (r, r + _N):
        y_squared = (pow(x, 3, _P) - 3 * x + _B) % _P
        y = pow(y_squared, (_P + 1) // 4, _P)
        if x >= _P or y * y % _P != y_squared:
            continue
        for candidate_y in (y, _P - y):
            point = _add(_multiply(s, (x, candidate_y)), _multiply(-e % _N, _G))
            q = _multiply(pow(r, -1, _N), point)
            if q is None:
                continue
            key = ec.EllipticCurvePublicNumbers(q[0], q[1], ec.SECP256R1()).public_key()
            if key_id(key) == aki.key_identifier:
                return key
    raise AssertionError("no candidate key matches the authorityKeyIdentifier")


def _verifies(key: ec.EllipticCurvePublicKey, cert: x509.Certificate) -> bool:
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def test_corrupted_signature_fails_against_the_recovered_root_key(vectors: Path) -> None:
    genuine, corrupted = certificate(Z1), certificate(CORRUPTED)
    assert corrupted.tbs_certificate_bytes == genuine.tbs_certificate_bytes
    assert corrupted.signature != genuine.signature
    root_key = recover_issuer_key(genuine)  # "ZA": SKI 48CF1B32697C4669 (OBSERVED.md §B)
    assert key_id(root_key).hex().upper() == "48CF1B32697C4669"
    assert _verifies(root_key, genuine)
    assert not _verifies(root_key, corrupted)
    # Nor does it verify with Z1's own key (it is not self-signed).
    z1_key = genuine.public_key()
    assert isinstance(z1_key, ec.EllipticCurvePublicKey)
    assert not _verifies(z1_key, corrupted)


def test_invalid_key_usage_is_linted_and_its_signature_fails(vectors: Path) -> None:
    findings = lint_certificate(der_of(INVALID_KU))
    assert {f.lint for f in findings} == {"gbcs.key_usage_single"}
    assert "nonRepudiation" in findings[0].message
    genuine, negative = certificate(DEVICE_A0), certificate(INVALID_KU)
    assert genuine.serial_number == negative.serial_number
    e357 = recover_issuer_key(genuine)
    assert key_id(e357).hex().upper() == "47D40AF3412904A0"
    assert _verifies(e357, certificate(DEVICE_01))  # the recovered key signs other E357 certs
    assert not _verifies(e357, negative)


def test_device_csr_parses_and_matches_its_certificate(vectors: Path) -> None:
    assert der_of(CSR_DER) == der_of(CSR_PEM)
    csr = x509.load_der_x509_csr(der_of(CSR_DER))
    assert csr.is_signature_valid
    assert len(csr.subject) == 0
    ku = csr.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_agreement
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert read_device_san(san.value).hw_serial.hex().upper() == "00DB1234567890A0"
    issued = certificate(DEVICE_A0)
    assert issued.public_key() == csr.public_key()
    assert lint_certificate(der_of(DEVICE_A0), kind="device") == []


# --- the CLI over real files -----------------------------------------------------------------


def test_cli_on_vectors(vectors: Path) -> None:
    app = typer.Typer()
    app.command("lint")(lint)

    @app.callback()
    def main() -> None:
        """Keep ``lint`` a subcommand."""

    runner = CliRunner()
    clean = runner.invoke(app, ["lint", str(vectors / one(Z1)), str(vectors / one(Z1_ORG))])
    assert clean.exit_code == 0, clean.stdout
    quirky = runner.invoke(app, ["lint", str(vectors / one(MDR))])
    assert quirky.exit_code == 1 and "gbcs.signature_algorithm" in quirky.stdout
    key = runner.invoke(app, ["lint", str(vectors / one(MDR_KEY))])
    assert key.exit_code == 2 and "private key" in key.stderr
