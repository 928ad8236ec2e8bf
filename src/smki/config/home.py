"""A home folder: ``smki.yaml`` (database and key store settings), keys, the SQLite file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smki.errors import ConfigError

SETTINGS_FILE = "smki.yaml"
DATABASE_URL_ENV = "SMKI_DATABASE_URL"


@dataclass(frozen=True)
class KeyStoreSettings:
    kind: str  # "file" | "pkcs11"
    location: str  # key folder, or PKCS#11 module path
    token_label: str = ""


@dataclass(frozen=True)
class HomeSettings:
    home: Path
    database_url: str
    keystore: KeyStoreSettings

    def to_yaml(self) -> str:
        data: dict[str, Any] = {
            "database_url": self.database_url,
            "keystore": {"kind": self.keystore.kind, "location": self.keystore.location},
        }
        if self.keystore.token_label:
            data["keystore"]["token_label"] = self.keystore.token_label
        return yaml.safe_dump(data, sort_keys=True)


def default_database_url(home: Path) -> str:
    return f"sqlite:///{(home / 'smki.db').resolve()}"


def load_home(home: Path) -> HomeSettings:
    """Read ``<home>/smki.yaml``; ``SMKI_DATABASE_URL`` overrides the stored database URL."""
    path = home / SETTINGS_FILE
    if not path.is_file():
        raise ConfigError(
            f"{home} is not an smki home (no {SETTINGS_FILE}); run 'smki init'",
            code="not-initialised",
        )
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        keystore = raw["keystore"]
        settings = HomeSettings(
            home=home,
            database_url=os.environ.get(DATABASE_URL_ENV) or str(raw["database_url"]),
            keystore=KeyStoreSettings(
                kind=str(keystore["kind"]),
                location=str(keystore["location"]),
                token_label=str(keystore.get("token_label", "")),
            ),
        )
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is malformed: {exc}") from exc
    return settings


def write_home(settings: HomeSettings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    target = settings.home / SETTINGS_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(settings.to_yaml(), "utf-8")
    os.replace(temporary, target)
