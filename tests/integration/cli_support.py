"""Running the ``smki`` command in tests: in-process through Typer's runner, or as a real
subprocess where a crash (SIGKILL) must be real."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smki.cli.main import app

PASSPHRASE = "integration passphrase"


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Smki:
    """An smki home under test with the environment its commands run in."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, extra_env: Mapping[str, str] | None = None) -> Outcome:
        runner = CliRunner()
        env = {**self.env, **(extra_env or {})}
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str) -> Outcome:
        outcome = self(*args)
        assert outcome.exit_code == 0, f"smki {' '.join(args)} failed: {outcome.stderr}"
        return outcome

    def subprocess(
        self,
        *args: str,
        extra_env: Mapping[str, str] | None = None,
        input_data: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "smki.cli.main", *args],
            env=env,
            capture_output=True,
            input=input_data,
            timeout=120,
            check=False,
        )

    @property
    def h(self) -> tuple[str, str]:
        return ("--home", str(self.home))


def make_smki(tmp_path: Path, database_url: str, **env: str) -> Smki:
    return Smki(
        home=tmp_path / "home",
        env={
            "SMKI_KEY_PASSPHRASE": PASSPHRASE,
            "SMKI_DATABASE_URL": database_url,
            "SMKI_ACTOR": "test:integration",
            **env,
        },
    )


@pytest.fixture
def smki(tmp_path: Path, database_url: str) -> Smki:
    """A fresh home (not yet initialised) on SQLite and on PostgreSQL."""
    return make_smki(tmp_path, database_url)


@pytest.fixture
def ready(smki: Smki) -> Iterator[Smki]:
    """A home whose Test environment is initialised, with its CA files exported to out/."""
    smki.ok("init", *smki.h, "--env", "test")
    smki.ok("ca", "export", *smki.h, "--out", str(smki.home / "out"))
    yield smki
    audit = smki("audit", "verify", *smki.h)
    assert audit.exit_code == 0, audit.stderr


def openssl_verify(out: Path, pki: str, certificate: Path) -> subprocess.CompletedProcess[str]:
    """``openssl verify`` with full CRL checking against the exported chain and lists."""
    root = out / f"root-{_ca(pki)}.pem"
    issuing = out / f"issuing-{_ca(pki)}.pem"
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(root),
            "-untrusted",
            str(issuing),
            "-crl_check_all",
            "-CRLfile",
            str(out / f"{pki}.crl"),
            "-CRLfile",
            str(out / f"{pki}.arl"),
            str(certificate),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _ca(pki: str) -> str:
    return {"organisation": "oca", "device": "dca", "iki": "ica", "dccki": "dccki"}[pki]
