"""Bad input gets a precise message, a non-zero exit and writes nothing (R-SI-3, R-PROF-*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smki.wiring import open_services
from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import Smki
from tests.integration.csr_factory import bad_csrs, organisation_csr

EUI = bytes.fromhex("00DB1234567890B0")
CASES = bad_csrs(EUI)


def _counts(smki: Smki) -> tuple[int, int]:
    services = open_services(smki.home)
    try:
        events = sum(1 for _ in services.store.audit_events())
        with services.store.transaction() as tx:
            return tx.count_certificates(), events
    finally:
        services.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_csr_is_refused_with_its_code(ready: Smki, tmp_path: Path, case: str) -> None:
    data, code = CASES[case]
    csr = tmp_path / f"{case}.csr"
    csr.write_bytes(data)
    before = _counts(ready)
    outcome = ready("ca", "issue", *ready.h, "--csr", str(csr))
    assert outcome.exit_code == 2, outcome.stderr
    assert f"error: {code}:" in outcome.stderr
    assert outcome.stdout == ""
    assert _counts(ready) == before


@pytest.mark.parametrize(
    ("role", "subject_role", "code"),
    [
        ("99", RemotePartyRole.SUPPLIER, "unknown-role"),
        ("03", RemotePartyRole.SUPPLIER, "role-mismatch"),
        (None, RemotePartyRole.ISSUING_AUTHORITY, "role-not-issuable"),
    ],
)
def test_role_refusals(
    ready: Smki, tmp_path: Path, role: str | None, subject_role: RemotePartyRole, code: str
) -> None:
    """An unknown --role, a --role that disagrees with the CSR's OU, a CA role (R-PROF-24)."""
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(subject_role, EUI))
    before = _counts(ready)
    extra = ("--role", role) if role is not None else ()
    outcome = ready("ca", "issue", *ready.h, "--csr", str(csr), *extra)
    assert outcome.exit_code == 2
    assert f"error: {code}:" in outcome.stderr
    assert _counts(ready) == before


def test_missing_csr_file(ready: Smki, tmp_path: Path) -> None:
    outcome = ready("ca", "issue", *ready.h, "--csr", str(tmp_path / "absent.csr"))
    assert outcome.exit_code == 2
    assert "error: unreadable-file:" in outcome.stderr


def test_issue_on_a_folder_that_is_not_a_home(tmp_path: Path, smki: Smki) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, EUI))
    outcome = smki("ca", "issue", "--home", str(tmp_path / "nowhere"), "--csr", str(csr))
    assert outcome.exit_code == 5
    assert "error: not-initialised:" in outcome.stderr
