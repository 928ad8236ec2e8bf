"""Our relying-party check and ``openssl verify -crl_check_all`` agree (R-RP-1, R-RP-2, R-RP-3).

Every certificate smki issues — Organisation (incl. the Recovery certificate), Device, the CA
certificates of the four hierarchies, and an ARO's IKI credential — is judged by both with the
same inputs: the root as trust anchor, the Issuing CA as untrusted chain, and the CRL and ARL
that ``smki ca export`` wrote (``openssl_verify`` in cli_support). Then each certificate is
revoked and judged again, and then each Issuing CA is revoked on its root's ARL. Roots and
Device Certificates cannot be revoked (``root-not-revocable`` R-REC-2, ``device-not-revocable``
R-SI-4): the tests check that the attempt is refused and both tools still accept them.

The Device CRL. Device Certificates are never revoked (R-SI-4 [smki decision]), but the
ceremony still publishes an empty CRL for the Issuing DCA and ``smki ca export`` writes it as
``device.crl``; both tools are given it, so agreement is measured on identical inputs. Where
the two differ on purpose is a Device Certificate checked *without* that file: ``openssl
-crl_check_all`` then fails ("unable to get certificate CRL"), while our check accepts with a
note, because R-SI-4 makes the absence expected; ``test_device_crl_absence_is_the_one_difference``
shows both sides and that the Device ARL is still enforced.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.validation import Reason, Verdict, load_certificate, load_certificates, load_crls
from smki.validation import validate as validate_certificate
from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import Smki, openssl_verify
from tests.integration.csr_factory import openssl_device_csr, organisation_csr
from tests.integration.test_registration import supplier_with_aro

#: Hierarchy → the CA file stem ``smki ca export`` uses for it.
CA_OF = {"organisation": "oca", "device": "dca", "iki": "ica", "dccki": "dccki"}


@dataclass(frozen=True)
class Home:
    smki: Smki
    out: Path
    recovery_serial: int

    def export(self) -> None:
        self.smki.ok("ca", "export", *self.smki.h, "--out", str(self.out))

    def revoke(self, certificate: Path, reason: str) -> None:
        serial = x509.load_pem_x509_certificate(certificate.read_bytes()).serial_number
        self.smki.ok("ca", "revoke", *self.smki.h, "--serial", f"{serial:X}", "--reason", reason)


@pytest.fixture
def home(smki: Smki) -> Iterator[Home]:
    """``smki init`` + export, keeping the Recovery certificate's serial that init prints."""
    printed = smki.ok("init", *smki.h, "--env", "test").stdout
    recovery = next(
        line.split()[-1] for line in printed.splitlines() if line.strip().startswith("recovery")
    )
    result = Home(smki, smki.home / "out", int(recovery, 16))
    result.export()
    yield result
    audit = smki("audit", "verify", *smki.h)
    assert audit.exit_code == 0, audit.stderr


def ours(
    out: Path, pki: str, certificate: Path, *, crls: tuple[str, ...] = ("crl", "arl")
) -> Verdict:
    """Our verdict on exactly openssl_verify's inputs."""
    ca = CA_OF[pki]
    return validate_certificate(
        load_certificate(certificate),
        trust=load_certificates(out / f"root-{ca}.pem"),
        chain=load_certificates(out / f"issuing-{ca}.pem"),
        crls=load_crls(*(out / f"{pki}.{kind}" for kind in crls)),
    )


def assert_agree(out: Path, pki: str, certificate: Path, expected: Reason | None) -> None:
    """Both accept (``expected`` None) or both refuse, ours for ``expected``."""
    verdict = ours(out, pki, certificate)
    theirs = openssl_verify(out, pki, certificate)
    said = theirs.stdout + theirs.stderr
    assert verdict.reason is expected, f"{certificate.name}: {verdict.detail}"
    assert verdict.ok == (theirs.returncode == 0), (
        f"{certificate.name}: ours {verdict}, openssl {said}"
    )
    if expected in (Reason.REVOKED, Reason.CA_REVOKED):
        assert "certificate revoked" in said, said


def _issue(home: Home, folder: Path) -> dict[str, tuple[str, Path]]:
    """One certificate of each end-entity kind smki issues: name → (hierarchy, PEM file)."""
    smki = home.smki
    issued: dict[str, tuple[str, Path]] = {}
    for name, ds in (("org-ds", True), ("org-ka", False)):
        csr = folder / f"{name}.csr"
        csr.write_bytes(
            organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30010000"), ds=ds)
        )
        target = folder / f"{name}.pem"
        smki.ok("ca", "issue", *smki.h, "--csr", str(csr), "--out", str(target))
        issued[target.stem] = ("organisation", target)
    for key_usage in ("digitalSignature", "keyAgreement"):
        csr = openssl_device_csr(folder / "device", "00DB1234567890D1", key_usage)
        target = folder / f"device-{key_usage}.pem"
        smki.ok("ca", "issue", *smki.h, "--csr", str(csr), "--out", str(target))
        issued[target.stem] = ("device", target)
    supplier_with_aro(smki, folder / "aro")
    issued["aro"] = ("iki", folder / "aro" / "aro.pem")
    recovery = folder / "recovery.pem"
    services = open_services(smki.home)
    try:
        with services.store.transaction() as tx:
            (row,) = tx.certificate_by_serial("test", home.recovery_serial)
    finally:
        services.close()
    recovery.write_bytes(x509.load_der_x509_certificate(row.der).public_bytes(Encoding.PEM))
    issued["recovery"] = ("organisation", recovery)
    return issued


def test_every_certificate_smki_issues_is_accepted_by_both(home: Home, tmp_path: Path) -> None:
    issued = _issue(home, tmp_path)
    home.export()  # the IKI CRL was reissued when the ARO credential was made
    for pki, path in issued.values():
        assert_agree(home.out, pki, path, None)
        assert ours(home.out, pki, path).notes == ()  # every list was given, none missing
    for pki, ca in CA_OF.items():
        for level in ("root", "issuing"):
            assert_agree(home.out, pki, home.out / f"{level}-{ca}.pem", None)


def test_each_revoked_certificate_is_refused_by_both(home: Home, tmp_path: Path) -> None:
    issued = _issue(home, tmp_path)
    for name in ("org-ds", "recovery", "aro"):
        home.revoke(issued[name][1], "keyCompromise")
    home.export()
    for name, (pki, path) in issued.items():
        expected = Reason.REVOKED if name in ("org-ds", "recovery", "aro") else None
        assert_agree(home.out, pki, path, expected)
    # Device Certificates cannot be revoked (R-SI-4): both keep accepting them.
    device = issued["device-digitalSignature"][1]
    serial = x509.load_pem_x509_certificate(device.read_bytes()).serial_number
    refused = home.smki(
        "ca", "revoke", *home.smki.h, "--serial", f"{serial:X}", "--reason", "keyCompromise"
    )
    assert refused.exit_code == 2 and "device-not-revocable" in refused.stderr
    assert_agree(home.out, "device", device, None)


def test_revoking_each_issuing_ca_is_refused_by_both(home: Home, tmp_path: Path) -> None:
    issued = _issue(home, tmp_path)
    home.export()
    for ca in CA_OF.values():
        home.revoke(home.out / f"issuing-{ca}.pem", "cACompromise")
    home.export()
    for pki, ca in CA_OF.items():
        # The Issuing CA itself is revoked (on its root's ARL); what it issued is ca-revoked.
        assert_agree(home.out, pki, home.out / f"issuing-{ca}.pem", Reason.REVOKED)
        root = home.out / f"root-{ca}.pem"
        serial = x509.load_pem_x509_certificate(root.read_bytes()).serial_number
        attempt = home.smki(
            "ca", "revoke", *home.smki.h, "--serial", f"{serial:X}", "--reason", "cACompromise"
        )
        assert attempt.exit_code == 2 and "root-not-revocable" in attempt.stderr
        assert_agree(home.out, pki, root, None)
    for pki, path in issued.values():
        assert_agree(home.out, pki, path, Reason.CA_REVOKED)


def _openssl_without_device_crl(out: Path, certificate: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(out / "root-dca.pem"),
            "-untrusted",
            str(out / "issuing-dca.pem"),
            "-crl_check_all",
            "-CRLfile",
            str(out / "device.arl"),
            str(certificate),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_device_crl_absence_is_the_one_difference(home: Home, tmp_path: Path) -> None:
    device = tmp_path / "device.pem"
    csr = openssl_device_csr(tmp_path, "00DB1234567890D2")
    home.smki.ok("ca", "issue", *home.smki.h, "--csr", str(csr), "--out", str(device))
    # openssl needs a CRL for every CA on the path; without device.crl it cannot finish.
    theirs = _openssl_without_device_crl(home.out, device)
    assert theirs.returncode != 0
    assert "unable to get certificate CRL" in theirs.stdout + theirs.stderr
    # Ours accepts (R-SI-4: no Device CRL is expected) and says what it did not check.
    verdict = ours(home.out, "device", device, crls=("arl",))
    assert verdict.ok, verdict.detail
    assert len(verdict.notes) == 1 and "no Device CRL" in verdict.notes[0]
    # The Device ARL still counts: with the Issuing DCA revoked both refuse.
    home.revoke(home.out / "issuing-dca.pem", "cACompromise")
    home.export()
    assert ours(home.out, "device", device, crls=("arl",)).reason is Reason.CA_REVOKED
    theirs = _openssl_without_device_crl(home.out, device)
    assert theirs.returncode != 0


def test_smki_verify_command_on_an_exported_home(home: Home, tmp_path: Path) -> None:
    issued = _issue(home, tmp_path)
    out, smki = home.out, home.smki
    org = str(issued["org-ds"][1])
    args = [org, "--trust", str(out / "root-oca.pem"), "--chain", str(out / "issuing-oca.pem")]
    args += ["--crl", str(out / "organisation.crl"), "--crl", str(out / "organisation.arl")]
    assert "VALID:" in smki.ok("verify", *args, "--usage", "ds").stdout
    home.revoke(issued["org-ds"][1], "keyCompromise")
    home.export()
    refused = smki("verify", *args)
    assert refused.exit_code == 11
    assert refused.stderr.startswith("error: revoked: ")
