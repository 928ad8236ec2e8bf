"""Printing domain rows for people (rich tables) and for scripts (``--json``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import typer

from smki.x509.eui import format_eui64


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return format_eui64(value) if len(value) == 8 else value.hex()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def as_dict(row: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in dataclasses.asdict(row).items()}


def print_json(data: Any) -> None:
    typer.echo(json.dumps(_plain(data), indent=2, sort_keys=True))
