"""``smki init``: the key ceremony for one environment of a home (R-CA-2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from smki.ca.ceremony import Ceremony
from smki.cli.errors import cli_errors
from smki.cli.options import HomeOption
from smki.config.home import (
    DATABASE_URL_ENV,
    SETTINGS_FILE,
    HomeSettings,
    KeyStoreSettings,
    default_database_url,
    load_home,
    write_home,
)
from smki.errors import ConfigError, InputError
from smki.profiles.kinds import Environment
from smki.wiring import build_services, keystore_secret


def _settings(home: Path, keystore: str, module: str | None, token: str | None) -> HomeSettings:
    if keystore == "file":
        if module or token:
            raise InputError(
                "--pkcs11-module and --pkcs11-token go with --keystore pkcs11", code="bad-option"
            )
        store = KeyStoreSettings("file", str((home / "keys").resolve()))
    elif keystore == "pkcs11":
        if not module or not token:
            raise InputError(
                "--keystore pkcs11 needs --pkcs11-module and --pkcs11-token", code="bad-option"
            )
        if not Path(module).is_file():
            raise InputError(f"PKCS#11 module {module} does not exist", code="bad-option")
        store = KeyStoreSettings("pkcs11", module, token)
    else:
        raise InputError(f"--keystore must be file or pkcs11, not {keystore!r}", code="bad-option")
    url = os.environ.get(DATABASE_URL_ENV) or default_database_url(home)
    return HomeSettings(home=home, database_url=url, keystore=store)


@cli_errors
def init(
    home: HomeOption,
    env: Annotated[Environment, typer.Option("--env", help="test or live")] = Environment.TEST,
    keystore: Annotated[str, typer.Option("--keystore", help="file or pkcs11")] = "file",
    pkcs11_module: Annotated[str | None, typer.Option("--pkcs11-module")] = None,
    pkcs11_token: Annotated[str | None, typer.Option("--pkcs11-token")] = None,
) -> None:
    """Create the SMKI, DCA, IKI and DCCKI hierarchies, the Recovery and Contingency keys and
    the first CRLs and ARLs of one environment. Refuses to run twice."""
    home = home.resolve()
    if (home / SETTINGS_FILE).is_file():
        settings = load_home(home)
        requested = _settings(home, keystore, pkcs11_module, pkcs11_token).keystore
        if requested.kind != settings.keystore.kind:
            raise ConfigError(
                f"{home} keeps its keys in a {settings.keystore.kind} store",
                code="keystore-mismatch",
            )
    else:
        settings = _settings(home, keystore, pkcs11_module, pkcs11_token)
    # Ask for the secret before anything is written: a missing passphrase changes nothing.
    secret = keystore_secret(settings.keystore)
    home.mkdir(parents=True, exist_ok=True)
    services = build_services(settings, secret=secret)
    try:
        result = Ceremony(
            services.store,
            services.keystore,
            services.clock,
            services.linter(env),
            services.config,
            services.actor,
        ).run(env)
    finally:
        services.close()
    write_home(settings)
    console = Console()
    console.print(f"[bold]smki[/bold]: {env} environment initialised in {home}")
    for name, issued in result.certificates.items():
        console.print(f"  {name:<15} serial {issued.serial:X}")
