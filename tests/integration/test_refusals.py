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


def test_unknown_role_is_refused(ready: Smki, tmp_path: Path) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, EUI))
    before = _counts(ready)
    outcome = ready("ca", "issue", *ready.h, "--csr", str(csr), "--role", "99")
    assert outcome.exit_code == 2
    assert "error: unknown-role:" in outcome.stderr
    assert _counts(ready) == before


def test_role_must_agree_with_the_csr(ready: Smki, tmp_path: Path) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.SUPPLIER, EUI))
    before = _counts(ready)
    outcome = ready("ca", "issue", *ready.h, "--csr", str(csr), "--role", "03")
    assert outcome.exit_code == 2
    assert "error: role-mismatch:" in outcome.stderr
    assert _counts(ready) == before


def test_ca_roles_are_not_issued_to_subscribers(ready: Smki, tmp_path: Path) -> None:
    csr = tmp_path / "org.csr"
    csr.write_bytes(organisation_csr(RemotePartyRole.ISSUING_AUTHORITY, EUI))
    outcome = ready("ca", "issue", *ready.h, "--csr", str(csr))
    assert outcome.exit_code == 2
    assert "error: role-not-issuable:" in outcome.stderr


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
