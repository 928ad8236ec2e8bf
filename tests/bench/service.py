"""Service Interface figures: a 50,000-CSR batch over HTTP and single CSRs under load.

The service runs as ``smki serve`` in its own process, on 127.0.0.1, against a fresh copy of
the benchmark home with an Authorised demonstration supplier; requests carry real ARO tokens.
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.cli.devrun import provision_demo
from smki.clock import SystemClock
from smki.iki.credential_files import LoadedCredential, read_credential
from smki.iki.tokens import make_token
from tests.bench.serving import serving

BATCHES = "/smki/v1/batches"
CERTIFICATES = "/smki/v1/certificates"
PKCS10 = "application/pkcs10"


#: Load generators for the single-CSR figure. "light": one keep-alive http.client connection
#: per client thread, every ARO token minted before the clock starts. "httpx": an httpx client
#: per thread, each token minted just before its request (outside the timed part), as first
#: written; its own CPU competes with the service for the same cores.
GENERATORS = ("light", "httpx")


@dataclass(frozen=True)
class SingleFigures:
    generator: str
    count: int
    clients: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu_ms: float  # CPU of the generating process per request, while timed
    workers: int = 1


@dataclass(frozen=True)
class ServiceFigures:
    batch_count: int
    batch_seconds: float  # upload start → last certificate fetched
    batch_accepted_seconds: float  # upload start → 202
    batch_retrieved: int
    singles: tuple[SingleFigures, ...]


def _headers(credential: LoadedCredential, path: str, **extra: str) -> dict[str, str]:
    token = make_token(
        credential.key,
        credential.certificate,
        credential.ica,
        aro_id=str(credential.info.aro_id),
        audience=path,
        now=SystemClock().now(),
        lifetime=300,
    )
    return {"Authorization": f"Bearer {token}", **extra}


def _pem_bundle(csrs: Sequence[bytes]) -> bytes:
    return b"".join(x509.load_der_x509_csr(c).public_bytes(Encoding.PEM) for c in csrs)


def run_batch(
    url: str, credential: LoadedCredential, csrs: Sequence[bytes]
) -> tuple[float, float, int]:
    body = _pem_bundle(csrs)
    with httpx.Client(base_url=url, timeout=600) as http:
        started = time.perf_counter()
        response = http.post(
            BATCHES,
            content=body,
            headers=_headers(credential, BATCHES, **{"Content-Type": "application/x-pem-file"}),
        )
        response.raise_for_status()
        accepted = time.perf_counter() - started
        batch_id = response.json()["id"]
        path = f"{BATCHES}/{batch_id}"
        while True:
            # Held by the service until the batch finishes (?wait=, at most 30 s a request).
            wait = {"wait": "30"}
            status = http.get(path, params=wait, headers=_headers(credential, path)).json()
            if status["state"] in ("done", "failed"):
                break
        path = f"{BATCHES}/{batch_id}/certificates"
        bundle = http.get(path, headers=_headers(credential, path))
        bundle.raise_for_status()
        seconds = time.perf_counter() - started
    return seconds, accepted, bundle.content.count(b"-----BEGIN CERTIFICATE-----")


def run_single(
    url: str, credential: LoadedCredential, csrs: Sequence[bytes], clients: int
) -> tuple[float, list[float], int]:
    """The httpx generator: returns (seconds, latencies, responses not 201)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    work = iter(csrs)

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                with lock:
                    csr = next(work, None)
                if csr is None:
                    return
                headers = _headers(
                    credential, CERTIFICATES, **{"Content-Type": "application/pkcs10"}
                )
                started = time.perf_counter()
                response = http.post(CERTIFICATES, content=csr, headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 201

    return _timed_threads(client, clients), latencies, errors


def run_single_light(
    url: str, credential: LoadedCredential, csrs: Sequence[bytes], clients: int
) -> tuple[float, list[float], int]:
    """The light generator: tokens minted first, raw keep-alive HTTP/1.1 connections."""
    work = iter(
        [(csr, _headers(credential, CERTIFICATES, **{"Content-Type": PKCS10})) for csr in csrs]
    )
    parsed = urlsplit(url)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=60)
        try:
            while True:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                csr, headers = item
                started = time.perf_counter()
                connection.request("POST", CERTIFICATES, body=csr, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += response.status != 201
        finally:
            connection.close()

    return _timed_threads(client, clients), latencies, errors


def _timed_threads(client: Callable[[], None], clients: int) -> float:
    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


#: Single CSRs sent, untimed, before each timed run: the workers' first requests load the
#: issuing CAs and the linters, and cut the first Device template; the figure is the steady state.
WARMUP_CSRS = 200


def single_figures(
    generator: str,
    url: str,
    credential: LoadedCredential,
    csrs: Sequence[bytes],
    clients: int,
    workers: int = 1,
) -> SingleFigures:
    """``csrs``: the first ``WARMUP_CSRS`` warm the service up, the rest are timed."""
    run = run_single_light if generator == "light" else run_single
    run(url, credential, csrs[:WARMUP_CSRS], clients)
    csrs = csrs[WARMUP_CSRS:]
    cpu = _cpu_seconds()
    seconds, latencies, errors = run(url, credential, csrs, clients)
    cpu = _cpu_seconds() - cpu
    ordered = sorted(latencies)
    return SingleFigures(
        generator=generator,
        count=len(csrs),
        clients=clients,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        errors=errors,
        client_cpu_ms=cpu / len(csrs) * 1000,
        workers=workers,
    )


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def service_figures(
    home: Path,
    passphrase: str,
    batch: Sequence[bytes],
    singles: Sequence[tuple[str, Sequence[bytes]]],
    clients: int,
    two_workers: Sequence[bytes] = (),
) -> ServiceFigures:
    """The batch, then each generator's single CSRs (its own CSRs: a CSR sent twice is a
    duplicate request); then, if ``two_workers`` holds CSRs, the light generator's against
    ``smki serve --workers 2``."""
    os.environ.setdefault("SMKI_KEY_PASSPHRASE", passphrase)
    credential = read_credential(provision_demo(home))
    with serving(home, passphrase) as url:
        batch_seconds, accepted, retrieved = (
            run_batch(url, credential, batch) if batch else (0.0, 0.0, 0)
        )
        figures = tuple(
            single_figures(generator, url, credential, csrs, clients)
            for generator, csrs in singles
            if csrs
        )
    if two_workers:
        with serving(home, passphrase, workers=2) as url:
            figures += (single_figures("light", url, credential, two_workers, clients, 2),)
    return ServiceFigures(
        batch_count=len(batch),
        batch_seconds=batch_seconds,
        batch_accepted_seconds=accepted,
        batch_retrieved=retrieved,
        singles=figures,
    )
