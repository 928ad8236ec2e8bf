"""The relying-party library stands alone (docs/architecture.md, STYLE.md): it may use
x509/, profiles/, lint/, errors and ids, and cryptography; never storage, HTTP, the CAs, the
RA or the CLI, so that any relying party (and the repository's endpoint) can embed it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[3] / "src" / "smki" / "validation"
ALLOWED_SMKI = (
    "smki.validation",
    "smki.x509",
    "smki.profiles",
    "smki.lint",
    "smki.errors",
    "smki.ids",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_package_exists() -> None:
    assert (PACKAGE / "validate.py").is_file()


def test_validation_imports_only_its_allowed_dependencies() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith("smki"):
                ok = any(name == a or name.startswith(a + ".") for a in ALLOWED_SMKI)
            else:
                ok = top in ("cryptography", "__future__") or top in sys.stdlib_module_names
            if not ok:
                offenders.append(f"{path.name} imports {name}")
    assert offenders == []
