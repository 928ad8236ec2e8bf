"""Fixtures of the bulk-extract tests (R-REP-6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.extracts.support import PkiHome, open_pki_home


@pytest.fixture
def pki(tmp_path: Path, database_url: str) -> Iterator[PkiHome]:
    """An in-process Test environment on SQLite and on PostgreSQL."""
    yield from open_pki_home(tmp_path / "home", database_url)
