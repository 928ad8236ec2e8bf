"""The smki side of the benchmarks: a fresh home, batch and direct issuance, a large CRL."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.ca.ceremony import Ceremony
from smki.ca.crl import REASONS, CrlRequest, Revoked, build_crl_tbs, sign_crl
from smki.ca.linting import PreSignLinter
from smki.ca.pool import SigningPool
from smki.config.home import HomeSettings, KeyStoreSettings, default_database_url, write_home
from smki.profiles.kinds import Environment, Pki
from smki.ra.device_batch import DeviceBatchIssuer, Refused, prepare_devices
from smki.ra.direct import issue_from_csr
from smki.wiring import Services, build_services
from smki.x509.keys import spki_der
from tests.bench.pools import warm

#: Given in code on purpose: the bench key store is throwaway and must not need SMKI_* vars.
PASSPHRASE = b"smki bench passphrase - throwaway keys"
ENV = Environment.TEST


def home_settings(home: Path, database_url: str | None = None) -> HomeSettings:
    home = home.resolve()
    return HomeSettings(
        home=home,
        database_url=database_url or default_database_url(home),
        keystore=KeyStoreSettings("file", str(home / "keys")),
    )


def open_home(home: Path) -> Services:
    return build_services(home_settings(home), secret=PASSPHRASE)


def create_home(home: Path, database_url: str | None = None) -> float:
    """A fresh home (SQLite unless ``database_url``, file key store) with the Test ceremony
    run; returns its seconds."""
    settings = home_settings(home, database_url)
    settings.home.mkdir(parents=True)
    started = time.perf_counter()
    services = build_services(settings, secret=PASSPHRASE)
    try:
        Ceremony(
            services.store,
            services.keystore,
            services.clock,
            services.linter(ENV),
            services.config,
            services.actor,
        ).run(ENV)
    finally:
        services.close()
    write_home(settings)
    return time.perf_counter() - started


def copy_home(template: Path, home: Path) -> None:
    """A copy of a closed home; the copy's settings point at its own database and keys."""
    shutil.copytree(template, home)
    write_home(home_settings(home))


def issuing_dca_certificate(home: Path) -> tuple[bytes, str]:
    """The Issuing DCA's certificate (DER) and the Test Device policy OID."""
    services = open_home(home)
    try:
        loaded = services.issuing_authority(ENV, Pki.DEVICE)
        der = loaded.certificate.public_bytes(Encoding.DER)
        return der, loaded.context.policy.dotted_string
    finally:
        services.close()


@dataclass(frozen=True)
class BatchFigures:
    processes: int
    startup: float  # seconds: SigningPool construction until every worker answered
    seconds: float  # DeviceBatchIssuer.run, start to return
    issued: int
    refused: int
    refusals: dict[str, int]  # refusal code → count
    linted: bool  # whether the batch ran with the pre-sign linter
    caveats: tuple[str, ...]  # work-arounds the bench had to apply, for the report


def _stored(services: Services) -> int:
    with services.store.transaction() as tx:
        return tx.count_certificates(ENV)


def batch_issue(home: Path, csrs: Sequence[bytes], processes: int) -> BatchFigures:
    services = open_home(home)
    caveats: list[str] = []
    try:
        loaded = services.issuing_authority(ENV, Pki.DEVICE)
        spki = spki_der(loaded.signing.public_key)
        linter: PreSignLinter | None = services.linter(ENV)
        started = time.perf_counter()
        pool = SigningPool(services.keystore_spec(), loaded.row.key_label, spki, processes)
        try:
            if processes > 1:
                # What unpickling the timed tasks imports: the batch module, the linter's.
                modules = (prepare_devices.__module__, type(linter).__module__)
                warm(pool.submit, processes, modules)
            startup = time.perf_counter() - started
            issuer = DeviceBatchIssuer(
                services.store,
                services.clock,
                pool,
                loaded.signing,
                loaded.context,
                linter,
                services.actor,
            )
            before = _stored(services)
            started = time.perf_counter()
            outcome = issuer.run(csrs, label="bench")
            seconds = time.perf_counter() - started
            if _stored(services) - before != outcome.issued:
                caveats.append(
                    f"the database holds {_stored(services) - before:,} new certificates after "
                    f"a batch that reported {outcome.issued:,} issued"
                )
        finally:
            pool.close()
        refusals = Counter(r.code for r in outcome.results if isinstance(r, Refused))
        return BatchFigures(
            processes,
            startup,
            seconds,
            outcome.issued,
            outcome.refused,
            dict(refusals),
            linter is not None,
            tuple(caveats),
        )
    finally:
        services.close()


@dataclass(frozen=True)
class DirectFigures:
    count: int
    first_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def direct_issue(home: Path, first: bytes, csrs: Sequence[bytes]) -> DirectFigures:
    """``issue_from_csr`` once per CSR, as ``smki ca issue`` calls it (authority loaded per
    call, full pre-sign lint); ``first`` is a cold call, reported apart."""
    services = open_home(home)
    try:
        linter = services.linter(ENV)

        def one(csr: bytes) -> float:
            started = time.perf_counter()
            issue_from_csr(
                services.store,
                services.clock,
                linter,
                services.config,
                services.issuing_authority,
                ENV,
                csr,
                None,
                services.actor,
            )
            return (time.perf_counter() - started) * 1000

        first_ms = one(first)
        samples = [one(csr) for csr in csrs]
    finally:
        services.close()
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return DirectFigures(len(samples), first_ms, cuts[49], cuts[98], max(samples))


@dataclass(frozen=True)
class CrlFigures:
    entries: int
    prepare: float  # building the Revoked list (not part of any figure)
    build: float  # build_crl_tbs
    sign: float  # sign_crl: build again + sign + parse + verify
    size: int  # bytes of the signed CRL
    load: float  # x509.load_der_x509_crl


def revoked_entries(count: int) -> list[Revoked]:
    """``count`` entries: distinct 16-octet serials, distinct revocation seconds, the five
    reasons in turn (distinct times defeat the encoder's time cache: the worst case)."""
    reasons = list(REASONS)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    second = dt.timedelta(seconds=1)
    raw = os.urandom(15 * count)
    return [
        Revoked(
            ((0x10 + i % 0x70) << 120) | int.from_bytes(raw[15 * i : 15 * i + 15], "big"),
            base + i * second,
            reasons[i % len(reasons)],
        )
        for i in range(count)
    ]


def crl_figures(home: Path, count: int) -> CrlFigures:
    services = open_home(home)
    try:
        loaded = services.issuing_authority(ENV, Pki.DEVICE)
        period = services.config.crl_period
    finally:
        services.close()
    started = time.perf_counter()
    entries = revoked_entries(count)
    prepare = time.perf_counter() - started
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    request = CrlRequest(loaded.context.name, loaded.context.key_id, 2, now, now + period, entries)
    started = time.perf_counter()
    build_crl_tbs(request)
    build = time.perf_counter() - started
    started = time.perf_counter()
    crl_der = sign_crl(loaded.signing.signer, loaded.signing.public_key, request)
    sign = time.perf_counter() - started
    started = time.perf_counter()
    x509.load_der_x509_crl(crl_der)
    load = time.perf_counter() - started
    return CrlFigures(count, prepare, build, sign, len(crl_der), load)
