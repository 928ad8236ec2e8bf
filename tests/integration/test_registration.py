"""Registration end to end through the CLI (R-PART-1, R-PART-2, R-PART-5, R-PART-6, R-IKI-1)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cryptography import x509

from tests.integration.cli_support import Smki


def _json(smki: Smki, *args: str) -> dict[str, object]:
    data = json.loads(smki.ok(*args, "--json").stdout)
    assert isinstance(data, dict)
    return data


def supplier_with_aro(
    ready: Smki, credential: Path, env: str = "test", eui: str = "90B3D51F30010000"
) -> tuple[int, int]:
    """A supplier party made Authorised: identity, SRO, ARO (credential written), SREPT."""
    party = _json(
        ready,
        "party",
        "create",
        *ready.h,
        "--env",
        env,
        "--name",
        "Supplier One",
        "--category",
        "import-supplier",
        "--eui",
        eui,
    )
    party_id = int(str(party["id"]))
    ready.ok(
        "party",
        "verify-identity",
        *ready.h,
        "--party",
        str(party_id),
        "--by",
        "DCC RA officer",
        "--evidence",
        "Companies House 01234567",
    )
    ready.ok(
        "officer",
        "add",
        *ready.h,
        "--party",
        str(party_id),
        "--kind",
        "sro",
        "--name",
        "Sam Senior",
    )
    aro = _json(
        ready,
        "officer",
        "add",
        *ready.h,
        "--party",
        str(party_id),
        "--kind",
        "aro",
        "--name",
        "Alex Authorised",
        "--credential-out",
        str(credential),
    )
    return party_id, int(str(aro["id"]))


def test_end_to_end_authorised_then_not(ready: Smki, tmp_path: Path) -> None:
    credential = tmp_path / "aro"
    party_id, aro_id = supplier_with_aro(ready, credential)
    assert sorted(p.name for p in credential.iterdir()) == [
        "aro.json",
        "aro.key",
        "aro.pem",
        "ica.pem",
    ]
    assert (credential / "aro.key").stat().st_mode & 0o777 == 0o600
    info = json.loads((credential / "aro.json").read_text())
    assert info == {"aro_id": aro_id, "party_id": party_id, "environment": "test"}
    shown = _json(ready, "party", "srept-passed", *ready.h, "--party", str(party_id))
    assert shown["authorised_subscriber"] == {
        "device": True,
        "organisation": True,
        "iki": True,
        "dccki": True,
    }
    assert shown["srept_completed_at"]

    aro_cert = x509.load_pem_x509_certificate((credential / "aro.pem").read_bytes())
    out = ready.home / "out"
    verified = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(out / "root-ica.pem"),
            "-untrusted",
            str(credential / "ica.pem"),
            str(credential / "aro.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    removed = _json(ready, "officer", "remove", *ready.h, "--officer", str(aro_id))
    assert removed["removed_at"]
    shown = _json(ready, "party", "show", *ready.h, "--party", str(party_id))
    assert shown["authorised_subscriber"] == {
        "device": False,
        "organisation": False,
        "iki": False,
        "dccki": False,
    }
    assert shown["missing"] == ["no Authorised Responsible Officer"]
    ready.ok("ca", "export", *ready.h, "--out", str(out))
    crl = subprocess.run(
        ["openssl", "crl", "-in", str(out / "iki.crl"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"{aro_cert.serial_number:X}" in crl.replace(":", "").upper()
    assert "Affiliation Changed" in crl


def test_srept_is_notified_once(ready: Smki, tmp_path: Path) -> None:
    party_id, _ = supplier_with_aro(ready, tmp_path / "aro")
    ready.ok("party", "srept-passed", *ready.h, "--party", str(party_id))
    again = ready("party", "srept-passed", *ready.h, "--party", str(party_id))
    assert again.exit_code == 4 and "srept-already-recorded" in again.stderr


def test_entity_ids_are_unique_per_environment(ready: Smki) -> None:
    args = (
        "party",
        "create",
        *ready.h,
        "--name",
        "A",
        "--category",
        "gas-supplier",
        "--eui",
        "00DB123456780004",
    )
    ready.ok(*args)
    refused = ready(*args)
    assert refused.exit_code == 4 and "duplicate-entity-id" in refused.stderr
    bad = ready(
        "party",
        "create",
        *ready.h,
        "--name",
        "B",
        "--category",
        "gas-supplier",
        "--eui",
        "00DB12345678000",
    )
    assert bad.exit_code == 2 and "bad-eui64" in bad.stderr
    unknown = ready(
        "party",
        "create",
        *ready.h,
        "--name",
        "C",
        "--category",
        "baker",
        "--eui",
        "00DB123456780005",
    )
    assert unknown.exit_code == 2 and "bad-category" in unknown.stderr


def test_aro_needs_an_sro_and_a_credential_folder(ready: Smki, tmp_path: Path) -> None:
    party = _json(
        ready,
        "party",
        "create",
        *ready.h,
        "--name",
        "N",
        "--category",
        "rdp",
        "--eui",
        "00DB123456780009",
    )
    no_folder = ready(
        "officer", "add", *ready.h, "--party", str(party["id"]), "--kind", "aro", "--name", "X"
    )
    assert no_folder.exit_code == 2 and "credential-out-required" in no_folder.stderr
    no_sro = ready(
        "officer",
        "add",
        *ready.h,
        "--party",
        str(party["id"]),
        "--kind",
        "aro",
        "--name",
        "X",
        "--credential-out",
        str(tmp_path / "c"),
    )
    assert no_sro.exit_code == 2 and "no-appointing-sro" in no_sro.stderr
    assert not (tmp_path / "c").exists()
