"""The composition root: builds the concrete objects from a home folder.

Everything else in smki takes interfaces (``Store``, ``KeyStore``, ``Clock``, a linter); only
this module and the edges (``cli/``, later ``api/``) decide which implementations run.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from smki.ca.authority import LoadedAuthority, load_authority
from smki.ca.ceremony import INITIALISED_KEY
from smki.ca.issuer import recover_intents
from smki.ca.linting import PreSignLinter
from smki.clock import Clock, SystemClock
from smki.config.home import HomeSettings, KeyStoreSettings, load_home
from smki.config.pki import PkiConfig, load_pki_config
from smki.errors import ConfigError
from smki.keystore.base import KeyStore, StoreSpec
from smki.keystore.factory import open_keystore
from smki.lint.presign import ProfileLinter
from smki.profiles.kinds import CertKind, Environment, Pki
from smki.storage.api import Store, Transaction
from smki.storage.sql import open_store

ACTOR_ENV = "SMKI_ACTOR"


def current_actor() -> str:
    """Who is acting, for the audit log: ``SMKI_ACTOR`` or the operating-system user."""
    return os.environ.get(ACTOR_ENV) or f"operator:{getpass.getuser()}"


def keystore_secret(settings: KeyStoreSettings, *, prompt: bool = True) -> bytes:
    """The passphrase (file keys) or PIN (PKCS#11), from the environment or a prompt."""
    if settings.kind == "file":
        from smki.keystore.files import passphrase_from_env_or_prompt

        return passphrase_from_env_or_prompt(prompt=prompt)
    if settings.kind == "pkcs11":
        from smki.keystore.pkcs11 import pin_from_env

        return pin_from_env().encode("utf-8")
    raise ConfigError(f"unknown key store kind {settings.kind!r}", rid="R-CA-3")


def keystore_spec(settings: KeyStoreSettings, secret: bytes) -> StoreSpec:
    return StoreSpec(settings.kind, settings.location, settings.token_label, secret)


@dataclass
class Services:
    settings: HomeSettings
    config: PkiConfig
    store: Store
    clock: Clock
    actor: str
    _keystore: KeyStore | None = field(default=None, repr=False)
    _secret: bytes | None = field(default=None, repr=False)
    _linters: dict[Environment, ProfileLinter] = field(default_factory=dict, repr=False)

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def keystore(self) -> KeyStore:
        """Opened on first use, so that read-only commands need no passphrase."""
        if self._keystore is None:
            self._keystore = open_keystore(self.keystore_spec())
        return self._keystore

    def keystore_spec(self) -> StoreSpec:
        if self._secret is None:
            self._secret = keystore_secret(self.settings.keystore)
        return keystore_spec(self.settings.keystore, self._secret)

    def linter(self, env: Environment) -> PreSignLinter:
        """One linter per environment and process, so that its shape cache is shared."""
        if env not in self._linters:
            policies = frozenset(p.dotted_string for p in self.config.env(env).policies.values())
            self._linters[env] = ProfileLinter(policies)
        return self._linters[env]

    def environments(self) -> list[Environment]:
        with self.store.transaction() as tx:
            return [e for e in Environment if tx.get_meta(INITIALISED_KEY.format(env=e))]

    def choose_environment(self, env: Environment | None) -> Environment:
        ready = self.environments()
        if env is not None:
            if env not in ready:
                raise ConfigError(
                    f"the {env} environment of {self.home} is not initialised",
                    code="not-initialised",
                )
            return env
        if len(ready) == 1:
            return ready[0]
        if not ready:
            raise ConfigError(
                f"{self.home} has no initialised environment; run 'smki init'",
                code="not-initialised",
            )
        raise ConfigError(
            "this home holds Test and Live: say which with --env", code="env-required"
        )

    def authority(self, tx: Transaction, env: Environment, name: str) -> LoadedAuthority:
        kind = CertKind(name)
        pki = next(p for p in Pki if kind in (p.root, p.issuing))
        return load_authority(tx, self.keystore, env, name, self.config.env(env).policies[pki])

    def authority_loader(self, env: Environment) -> Callable[[Transaction, str], LoadedAuthority]:
        """``authority`` bound to ``env``: what revocation and the CRL schedule take."""
        return lambda tx, name: self.authority(tx, env, name)

    def issuing_authority(self, env: Environment, pki: Pki) -> LoadedAuthority:
        with self.store.transaction() as tx:
            return self.authority(tx, env, pki.issuing)

    def recover(self, *, everything: bool = False) -> tuple[int, int]:
        """Finish or abandon issuance that a crash left pending (R-CA-4): stale intents
        only, or every pending one when nothing else can be running (``everything``)."""
        if everything:
            return recover_intents(self.store, self.clock, self.actor, older_than=dt.timedelta(0))
        return recover_intents(self.store, self.clock, self.actor)

    def close(self) -> None:
        self.store.close()


def open_services(
    home: Path, *, clock: Clock | None = None, secret: bytes | None = None
) -> Services:
    """Services for an existing home; ``secret`` (passphrase or PIN) skips the environment."""
    settings = load_home(home)
    return build_services(settings, clock=clock, secret=secret)


def build_services(
    settings: HomeSettings, *, clock: Clock | None = None, secret: bytes | None = None
) -> Services:
    return Services(
        settings=settings,
        config=load_pki_config(settings.home),
        store=open_store(settings.database_url),
        clock=clock or SystemClock(),
        actor=current_actor(),
        _secret=secret,
    )
