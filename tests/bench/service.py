"""Service Interface figures: a 50,000-CSR batch over HTTP and single CSRs under load.

The service runs as ``smki serve`` in its own process, on 127.0.0.1, against a fresh copy of
the benchmark home with an Authorised demonstration supplier; requests carry real ARO tokens.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.cli.devrun import provision_demo
from smki.clock import SystemClock
from smki.iki.credential_files import LoadedCredential, read_credential
from smki.iki.tokens import make_token

BATCHES = "/smki/v1/batches"
CERTIFICATES = "/smki/v1/certificates"
_POLL = 0.05


@dataclass(frozen=True)
class ServiceFigures:
    batch_count: int
    batch_seconds: float  # upload start → last certificate fetched
    batch_accepted_seconds: float  # upload start → 202
    batch_retrieved: int
    single_count: int
    clients: int
    single_seconds: float
    p50_ms: float
    p99_ms: float
    single_errors: int


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_service(home: Path, passphrase: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "SMKI_KEY_PASSPHRASE": passphrase}
    process = subprocess.Popen(
        [sys.executable, "-m", "smki.cli.main", "serve", "--home", str(home), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"smki serve exited: {process.stderr.read().decode()[-2000:]}"
                    if process.stderr
                    else "smki serve exited"
                )
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("smki serve did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
            status = http.get(path, headers=_headers(credential, path)).json()
            if status["state"] in ("done", "failed"):
                break
            time.sleep(_POLL)
        path = f"{BATCHES}/{batch_id}/certificates"
        bundle = http.get(path, headers=_headers(credential, path))
        bundle.raise_for_status()
        seconds = time.perf_counter() - started
    return seconds, accepted, bundle.content.count(b"-----BEGIN CERTIFICATE-----")


def run_single(
    url: str, credential: LoadedCredential, csrs: Sequence[bytes], clients: int
) -> tuple[float, list[float], int]:
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

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


def service_figures(
    home: Path, passphrase: str, batch: Sequence[bytes], single: Sequence[bytes], clients: int
) -> ServiceFigures:
    os.environ.setdefault("SMKI_KEY_PASSPHRASE", passphrase)
    credential = read_credential(provision_demo(home))
    with running_service(home, passphrase) as url:
        batch_seconds, accepted, retrieved = run_batch(url, credential, batch)
        seconds, latencies, errors = run_single(url, credential, single, clients)
    ordered = sorted(latencies)
    return ServiceFigures(
        batch_count=len(batch),
        batch_seconds=batch_seconds,
        batch_accepted_seconds=accepted,
        batch_retrieved=retrieved,
        single_count=len(single),
        clients=clients,
        single_seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        single_errors=errors,
    )
