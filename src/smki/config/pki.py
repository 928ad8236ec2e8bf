"""The PKI declaration (pki.yaml): validity periods, policy OIDs and CA names per environment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from cryptography.x509 import ObjectIdentifier

from smki.errors import ConfigError
from smki.ids import EntityId
from smki.profiles.kinds import CertKind, Environment, Pki
from smki.x509.eui import parse_eui64

PKI_FILE = "pki.yaml"


@dataclass(frozen=True)
class EnvironmentPki:
    policies: dict[Pki, ObjectIdentifier]
    names: dict[CertKind, str]


@dataclass(frozen=True)
class PkiConfig:
    crl_period: dt.timedelta
    organisation_validity: dt.timedelta
    root_validity: dt.timedelta
    issuing_ca_validity: dt.timedelta
    iki_validity: dt.timedelta
    dccki_validity: dt.timedelta
    contingency_extension: ObjectIdentifier
    dcc_entity_id: EntityId
    environments: dict[Environment, EnvironmentPki]

    def env(self, env: Environment) -> EnvironmentPki:
        return self.environments[env]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _oid(text: object, where: str) -> ObjectIdentifier:
    try:
        return ObjectIdentifier(str(text))
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r} is not an OID") from exc


def _days(raw: dict[str, Any], key: str) -> dt.timedelta:
    value = raw.get(key)
    if not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{PKI_FILE}: {key} must be a positive whole number")
    return dt.timedelta(days=value)


def load_pki_config(home: Path | None = None) -> PkiConfig:
    """Embedded defaults, overridden by ``<home>/pki.yaml`` when present."""
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("smki.config").joinpath(PKI_FILE).read_text("utf-8")
    )
    if home is not None and (home / PKI_FILE).is_file():
        try:
            override = yaml.safe_load((home / PKI_FILE).read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{home / PKI_FILE} is not valid YAML: {exc}") from exc
        if not isinstance(override, dict):
            raise ConfigError(f"{home / PKI_FILE} must hold a mapping")
        raw = _merge(raw, override)
    environments: dict[Environment, EnvironmentPki] = {}
    for env in Environment:
        section = raw["environments"][env.value]
        environments[env] = EnvironmentPki(
            policies={
                pki: _oid(section["policies"][pki.value], f"{env}.policies.{pki}") for pki in Pki
            },
            names={kind: str(section["names"][kind.value]) for kind in CertKind if kind.is_ca},
        )
    hours = raw.get("crl_period_hours")
    if not isinstance(hours, int) or hours <= 0:
        raise ConfigError(f"{PKI_FILE}: crl_period_hours must be a positive whole number")
    return PkiConfig(
        crl_period=dt.timedelta(hours=hours),
        organisation_validity=_days(raw, "organisation_validity_days"),
        root_validity=_days(raw, "root_validity_days"),
        issuing_ca_validity=_days(raw, "issuing_ca_validity_days"),
        iki_validity=_days(raw, "iki_validity_days"),
        dccki_validity=_days(raw, "dccki_validity_days"),
        contingency_extension=_oid(raw["contingency_extension_oid"], "contingency_extension_oid"),
        dcc_entity_id=parse_eui64(str(raw["dcc_entity_id"])),
        environments=environments,
    )
