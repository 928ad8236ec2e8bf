"""Fixtures for the Service Interface tests: a ``ready`` home (SQLite and PostgreSQL) with an
Authorised supplier, served by a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.api.support import Api, Subscriber, authorised_supplier, serving
from tests.integration.cli_support import PASSPHRASE, Smki


@pytest.fixture
def server_env(ready: Smki, monkeypatch: pytest.MonkeyPatch) -> Smki:
    """The variables a server process would have: passphrase and database (R-CA-3)."""
    monkeypatch.setenv("SMKI_KEY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("SMKI_DATABASE_URL", ready.env["SMKI_DATABASE_URL"])
    return ready


@pytest.fixture
def supplier(ready: Smki, tmp_path: Path) -> Subscriber:
    return authorised_supplier(ready, tmp_path / "aro")


@pytest.fixture
def api(server_env: Smki, supplier: Subscriber) -> Iterator[Api]:
    """The Test environment of the home, served; an httpx client of it."""
    with serving(server_env.home) as base_url, httpx.Client(base_url=base_url) as client:
        yield Api(server_env, client)
