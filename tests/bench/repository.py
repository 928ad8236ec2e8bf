"""Repository figures (R-REP-4): look-ups by serial and by EUI-64 with a large store.

For each database a fresh home gets the Test ceremony, the demonstration supplier and
``count`` Device Certificates, loaded through the bulk path: real certificates filled from the
device template and signed by the Issuing DCA's key, stored with ``add_certificates``
(executemany, one transaction and one audit event per chunk); PostgreSQL's planner
statistics are refreshed after it (``analyze``). Then ``smki serve`` runs on 127.0.0.1, one
session is bought with an ARO token, and the load generator (``tests.bench.loadgen``) sends
keep-alive GETs from ``clients`` closed-loop connections, each for a random stored
certificate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql

from smki.ca.serials import new_serial
from smki.cli.devrun import provision_demo
from smki.clock import SystemClock
from smki.iki.credential_files import read_credential
from smki.iki.tokens import make_token
from smki.profiles.device_template import SAMPLE_POINT, device_template
from smki.profiles.kinds import KeyUse, Pki
from smki.storage.api import NewCertificate
from smki.wiring import open_services
from smki.x509.tbs import encode_certificate
from smki.x509.timeenc import NO_EXPIRY
from tests.bench.loadgen import LoadResult, get_requests, run_load
from tests.bench.serving import serving
from tests.bench.smki_runs import ENV, PASSPHRASE, create_home

SESSIONS = "/repository/v1/sessions"
CERTIFICATES = "/repository/v1/certificates"
_CHUNK = 20_000
_SAMPLES = 20_000
#: A fixed hwType: ZigBee's, as on the vectors' devices; its value does not matter here.
_HW_TYPE = "1.2.826.0.1.4315446.1"
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class LookupFigures:
    backend: str
    stored: int
    load_seconds: float
    workers: int
    clients: int
    by_serial: LoadResult
    by_eui: LoadResult


@dataclass(frozen=True)
class _Sample:
    serial: int
    eui: bytes


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def load_devices(home: Path, count: int, progress: Callable[[str], None]) -> list[_Sample]:
    """``count`` signed Device Certificates stored in bulk; a random sample of them."""
    services = open_services(home, secret=PASSPHRASE)
    samples: list[_Sample] = []
    try:
        loaded = services.issuing_authority(ENV, Pki.DEVICE)
        now = services.clock.now().replace(microsecond=0)
        template = device_template(loaded.context, now, KeyUse.DIGITAL_SIGNATURE, _HW_TYPE)
        signer = loaded.signing.signer
        ski = b"\x40" + secrets.token_bytes(7)
        rng = random.Random(7)
        keep = _SAMPLES / max(count, 1)
        done = 0
        started = time.perf_counter()
        while done < count:
            rows = []
            for _ in range(min(_CHUNK, count - done)):
                serial, eui = new_serial(), rng.randbytes(8)
                tbs = template.fill(serial, SAMPLE_POINT, eui)
                rows.append(
                    NewCertificate(
                        authority_id=loaded.row.id,
                        serial=serial,
                        kind="device",
                        subject_eui=eui,
                        role=None,
                        key_usage=KeyUse.DIGITAL_SIGNATURE.value,
                        not_before=now,
                        not_after=NO_EXPIRY,
                        ski=ski,
                        der=encode_certificate(tbs, signer.sign(tbs)),
                    )
                )
                if rng.random() < keep:
                    samples.append(_Sample(serial, eui))
            with services.store.transaction() as tx:
                tx.add_certificates(rows, services.clock.now())
                tx.audit("bench", "bench.loaded", "issuing-dca", {"count": len(rows)})
            done += len(rows)
            if done % (_CHUNK * 10) == 0 or done == count:
                # Rate and peak memory in the log: at a million the load takes minutes, and
                # the loader must hold one chunk at a time, not the whole store.
                elapsed = time.perf_counter() - started
                progress(
                    f"  {done:,} / {count:,} certificates stored, {done / elapsed:,.0f}/s, "
                    f"peak RSS {peak_rss_mib():,.0f} MiB"
                )
    finally:
        services.close()
    return samples


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    name = f"smki_bench_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def analyze(database_url: str) -> None:
    """Refresh PostgreSQL's planner statistics after the bulk load.

    A deployed server's autovacuum does this once a table has grown by a tenth; the test
    server runs with autovacuum off, and with the statistics of an empty table the planner
    serves look-ups about seven times slower (measured at 200,000 certificates: 296 against
    2,073 requests/s). The figure is meant to show the steady state, so the bench does it.
    """
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE")


def _session(url: str, home: Path) -> str:
    credential = read_credential(home / "demo-aro")
    token = make_token(
        credential.key,
        credential.certificate,
        credential.ica,
        aro_id=str(credential.info.aro_id),
        audience=SESSIONS,
        now=SystemClock().now(),
        lifetime=300,
    )
    answer = httpx.post(url + SESSIONS, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["session"])


def _measure(
    url: str, session: str, paths: Sequence[str], clients: int, seconds: float
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = {"Authorization": f"Bearer {session}", "Accept": "application/json"}
    # A short warm-up fills the server's caches and connection pools first.
    run_load(host, port, get_requests(host, port, paths[:500], headers), clients, 2.0)
    return run_load(host, port, get_requests(host, port, paths, headers), clients, seconds)


def lookup_figures(
    root: Path,
    backend: str,
    count: int,
    clients: int,
    seconds: float,
    workers: int,
    progress: Callable[[str], None],
) -> LookupFigures:
    home = root / f"repository-{backend}"
    with postgres_database() if backend == "postgresql" else _no_database() as database_url:
        create_home(home, database_url)
        # provision_demo opens the home as `make run` does: passphrase from the environment.
        os.environ.setdefault("SMKI_KEY_PASSPHRASE", PASSPHRASE.decode())
        provision_demo(home)
        progress(f"loading {count:,} Device Certificates into {backend}")
        started = time.perf_counter()
        samples = load_devices(home, count, progress)
        if database_url is not None:
            analyze(database_url)
        load_seconds = time.perf_counter() - started
        rng = random.Random(11)
        rng.shuffle(samples)
        by_serial = [f"{CERTIFICATES}/{s.serial:032X}" for s in samples]
        by_eui = [f"{CERTIFICATES}?eui={s.eui.hex().upper()}" for s in samples]
        env = {"SMKI_DATABASE_URL": database_url} if database_url else {}
        # Look-ups only: no batch runner, so no signing pool starting beside the measurement.
        env = {**env, "SMKI_BATCH_RUNNER": "off"}
        with serving(home, PASSPHRASE.decode(), workers=workers, env=env) as url:
            session = _session(url, home)
            progress(f"{backend}: look-ups by serial, {clients} clients, {seconds:.0f} s")
            serial_result = _measure(url, session, by_serial, clients, seconds)
            progress(f"{backend}: look-ups by EUI-64, {clients} clients, {seconds:.0f} s")
            eui_result = _measure(url, session, by_eui, clients, seconds)
    return LookupFigures(backend, count, load_seconds, workers, clients, serial_result, eui_result)


@contextmanager
def _no_database() -> Iterator[str | None]:
    yield None


def as_json(figures: LookupFigures) -> str:
    def result(r: LoadResult) -> dict[str, float]:
        return {
            "requests": r.requests,
            "errors": r.errors,
            "per_second": round(r.per_second, 1),
            "p50_ms": round(r.p50_ms, 2),
            "p99_ms": round(r.p99_ms, 2),
        }

    return json.dumps(
        {
            "backend": figures.backend,
            "stored": figures.stored,
            "by_serial": result(figures.by_serial),
            "by_eui": result(figures.by_eui),
            "at": dt.datetime.now(dt.UTC).isoformat(),
        }
    )
