"""The most recent full extract, kept on disk for the Repository Interface (R-REP-6, R-REP-4).

A full extract of a large store takes minutes to build, so the HTTP endpoint does not build
one per request: ``FullExtractCache.open`` answers the file ``<home>/extracts/full-<env>.tar.gz``
while its manifest's ``generated_at`` is younger than ``max_age`` (default one hour,
``SMKI_EXTRACT_MAX_AGE`` in seconds), and rebuilds it first otherwise. One process rebuilds at
a time (a thread lock, and an ``flock`` on a lock file for the other processes of the same
home); the new archive replaces the old by ``os.replace``, so a download already under way
keeps reading the file it opened. Increments are built per request into an unlinked temporary
file (``open_increment``): they are small and their window is the caller's.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final

from smki.clock import Clock
from smki.errors import ConfigError, SmkiError
from smki.profiles.kinds import Environment
from smki.repository.extract import write_extract
from smki.repository.extract_manifest import MANIFEST_NAME, Manifest
from smki.repository.file_signing import FileSigner
from smki.storage.api import Store

MAX_AGE_ENV: Final = "SMKI_EXTRACT_MAX_AGE"
DEFAULT_MAX_AGE: Final = dt.timedelta(hours=1)
FOLDER: Final = "extracts"
_MANIFEST_LIMIT: Final = 32 * 1024 * 1024

SignerFactory = Callable[[], FileSigner]


def max_age_from_environment() -> dt.timedelta:
    """``SMKI_EXTRACT_MAX_AGE`` (whole seconds, at least 1) or the default hour."""
    raw = os.environ.get(MAX_AGE_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_AGE
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ConfigError(f"{MAX_AGE_ENV} must be a whole number of seconds, at least 1")
    return dt.timedelta(seconds=seconds)


def generated_at(path: Path) -> dt.datetime | None:
    """When the archive at ``path`` was built, from its first member; None if unreadable."""
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            entry = archive.next()
            if entry is None or entry.name != MANIFEST_NAME or entry.size > _MANIFEST_LIMIT:
                return None
            stream = archive.extractfile(entry)
            if stream is None:
                return None
            return Manifest.parse(stream.read()).generated_at
    except (OSError, tarfile.TarError, EOFError, zlib.error, SmkiError):
        return None


class FullExtractCache:
    def __init__(
        self,
        home: Path,
        store: Store,
        env: Environment,
        signer: SignerFactory,
        clock: Clock,
        max_age: dt.timedelta = DEFAULT_MAX_AGE,
    ) -> None:
        self.folder = home / FOLDER
        self.path = self.folder / f"full-{env}.tar.gz"
        self._store = store
        self._env = env
        self._signer = signer
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()

    def _fresh(self) -> bool:
        built = generated_at(self.path)
        return built is not None and self._clock.now() - built < self._max_age

    def open(self) -> BinaryIO:
        """The current full extract, opened for reading (rebuilt first when too old)."""
        with self._lock:
            if not self._fresh():
                self.folder.mkdir(parents=True, exist_ok=True)
                with (self.folder / f".full-{self._env}.lock").open("a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if not self._fresh():  # another process may have rebuilt it meanwhile
                        write_extract(
                            self._store,
                            self._env,
                            self._signer(),
                            self.path,
                            since=None,
                            now=self._clock.now(),
                        )
            return self.path.open("rb")

    def open_increment(self, since: dt.datetime) -> BinaryIO:
        """A new increment from ``since``, in a file already unlinked: it goes when closed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".increment-", dir=self.folder) as work:
            path = Path(work) / "increment.tar.gz"
            write_extract(
                self._store, self._env, self._signer(), path, since=since, now=self._clock.now()
            )
            return path.open("rb")
