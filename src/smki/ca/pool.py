"""A process pool for signing, sized to the cores (R-SI-2).

Workers are started with ``spawn``: a PKCS#11 login does not survive ``fork``, and a clean
interpreter holds no copy of the parent's state. Each worker reopens the key store from its
``StoreSpec`` once, in the initializer; the passphrase or PIN travels to it over the pool's
pipe and is never logged.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from smki.ca.signed import sign_certificate
from smki.ids import KeyLabel
from smki.keystore.base import Signer, StoreSpec
from smki.keystore.factory import open_keystore

T = TypeVar("T")

_signer: Signer | None = None
_issuer_key: ec.EllipticCurvePublicKey | None = None


def _initialise(spec: StoreSpec, label: str, issuer_spki: bytes) -> None:
    global _signer, _issuer_key
    _signer = open_keystore(spec).signer(KeyLabel(label))
    key = load_der_public_key(issuer_spki)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    _issuer_key = key


def sign_tbs_list(tbs_list: list[bytes]) -> list[bytes]:
    """Worker side: sign and check each TBS with the worker's CA key."""
    assert _signer is not None and _issuer_key is not None, "worker not initialised"
    return [sign_certificate(_signer, _issuer_key, tbs) for tbs in tbs_list]


def _started(delay: float, modules: tuple[str, ...]) -> int:
    """Worker side: import ``modules``, linger so that one worker cannot take every task, and
    say which process ran."""
    for name in modules:
        importlib.import_module(name)
    time.sleep(delay)
    return os.getpid()


_WARM_DELAY = 0.02
_WARM_ROUNDS = 200


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class SigningPool:
    """Runs worker functions either in a spawned pool or, with one process, in-process."""

    def __init__(self, spec: StoreSpec, label: str, issuer_spki: bytes, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        if processes > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialise,
                initargs=(spec, label, issuer_spki),
            )
        else:
            _initialise(spec, label, issuer_spki)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if self._executor is not None:
            return self._executor.submit(fn, *args)
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def warm(self, modules: Sequence[str] = ()) -> None:
        """Return once every worker has started, run its initialiser (the key store opened)
        and imported ``modules``: spawning is lazy, and a batch should not wait for it."""
        if self._executor is None:
            return
        seen: set[int] = set()
        for _ in range(_WARM_ROUNDS):
            futures = [
                self._executor.submit(_started, _WARM_DELAY, tuple(modules))
                for _ in range(self.processes)
            ]
            seen.update(future.result() for future in futures)
            if len(seen) >= self.processes:
                return

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> SigningPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
