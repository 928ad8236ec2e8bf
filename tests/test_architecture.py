"""The import direction of docs/architecture.md, checked on every module (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "smki"
EDGES = ("smki.cli", "smki.api", "smki.web")
DOMAIN = (
    "x509",
    "profiles",
    "lint",
    "keystore",
    "storage",
    "audit",
    "ca",
    "ra",
    "config",
    "repository",
    "governance",
    "validation",
    "iki",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted(SRC.rglob("*.py"))}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(owner: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if _in(module, owner)
        for name in names
        if any(_in(name, f) for f in forbidden)
    ]


def test_modules_were_found() -> None:
    assert "smki.ca.issuer" in MODULES and "smki.cli.main" in MODULES


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_never_imports_the_edges(package: str) -> None:
    assert _violations(f"smki.{package}", (*EDGES, "smki.wiring")) == []


def test_ca_knows_no_policy_and_no_sql() -> None:
    assert _violations("smki.ca", ("smki.ra", "smki.governance", "sqlalchemy", "psycopg")) == []


def test_sql_lives_in_storage_only() -> None:
    offenders = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if not _in(module, "smki.storage")
        for name in names
        if _in(name, "sqlalchemy") or _in(name, "psycopg") or _in(name, "alembic")
    ]
    assert offenders == []


def test_x509_imports_only_cryptography_and_its_own() -> None:
    allowed = ("smki.x509", "smki.errors", "smki.ids", "cryptography", "__future__")
    stdlib_ok = {"dataclasses", "datetime", "hashlib", "re", "typing", "collections.abc", "enum"}
    offenders = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if _in(module, "smki.x509")
        for name in names
        if not any(_in(name, a) for a in allowed) and name not in stdlib_ok
    ]
    assert offenders == []


def test_profiles_do_not_sign_or_store() -> None:
    assert (
        _violations("smki.profiles", ("smki.ca", "smki.ra", "smki.storage", "smki.keystore")) == []
    )


def test_validation_needs_no_store_no_http_and_no_authority() -> None:
    """The relying-party library stands alone (R-RP-3): a relying party has no smki store."""
    forbidden = ("smki.storage", "smki.ra", "smki.ca", "smki.repository", "smki.keystore")
    assert _violations("smki.validation", (*forbidden, "sqlalchemy", "fastapi", "httpx")) == []


def test_repository_signs_only_its_extracts() -> None:
    """The repository reads; only the bulk extract is signed, with the IKI file-signing key
    (R-REP-6)."""
    signing = [
        module
        for module, names in MODULES.items()
        if _in(module, "smki.repository") and any(_in(n, "smki.keystore") for n in names)
    ]
    allowed = ("smki.repository.extract", "smki.repository.file_signing")
    assert all(module.startswith(allowed) for module in signing), signing
