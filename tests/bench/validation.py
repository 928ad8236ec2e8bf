"""Figure 7: relying-party validations per second with cached CRLs (R-RP-3, R-RP-1, R-REP-4).

In one process, no HTTP, the same stored Device and Organisation Certificates are validated
in a loop three ways:

- ``RepositoryValidator`` (smki.repository.relying), built once over the home's store: trust
  anchors, issuing CA certificates and current CRLs/ARLs are read, parsed and cached by its
  first call; every validation still asks the store whether a certificate of the path is
  suspended (R-GOV-3, it fails closed) and runs pkilint (``validate``'s default);
- the pure library ``smki.validation.validate`` given a prepared ``TrustStore`` and
  ``RevocationLists``, with ``rfc5280=True`` (pkilint, the default) and ``rfc5280=False``.

The home is the bench's repository home (figure 6, SQLite) when it ran, so the suspension
look-ups meet the large store; otherwise a small fresh one. A few Organisation Certificates
are issued into it through the operator's direct path (``issue_from_csr``), since the bulk
loader stores Device Certificates only.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from smki.ca.crl import list_kind_of
from smki.profiles.kinds import CertKind, Environment
from smki.ra.direct import issue_from_csr
from smki.repository.catalogue import Catalogue
from smki.repository.relying import RepositoryValidator
from smki.storage.api import CertificateFilter
from smki.validation import RevocationLists, TrustStore, Verdict, validate
from smki.wiring import Services, open_services
from smki.x509.roles import RemotePartyRole
from tests.bench.repository import load_devices
from tests.bench.smki_runs import ENV, PASSPHRASE, create_home
from tests.integration.csr_factory import organisation_csr

#: Distinct stored certificates validated in turn, per kind (a relying party's working set).
SAMPLED_DEVICES = 1_000
ORGANISATIONS = 20
#: EUI-64s of the bench's organisations: a prefix no device of the bench uses, + an index.
_ORGANISATION_EUI_PREFIX = bytes.fromhex("BE4C0002")


@dataclass(frozen=True)
class ValidationRate:
    method: str  # "RepositoryValidator", "validate rfc5280=True", "validate rfc5280=False"
    kind: str  # "device" | "organisation"
    validations: int
    seconds: float
    refusals: dict[str, int]  # reason → count; a correct run has none

    @property
    def per_second(self) -> float:
        return self.validations / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ValidationFigures:
    stored: int  # certificates in the home's store
    fresh_home: bool  # True when figure 6's home was not available
    devices: int  # distinct Device Certificates validated in turn
    organisations: int
    prepare_seconds: float  # trust store + revocation lists, parsed and linted once
    rates: tuple[ValidationRate, ...]


def fresh_home(home: Path, devices: int, progress: Callable[[str], None]) -> None:
    """A small SQLite home: the Test ceremony (first CRLs and ARLs) and ``devices`` loaded."""
    create_home(home)
    load_devices(home, devices, progress)


def _issue_organisations(services: Services, count: int) -> None:
    linter = services.linter(ENV)
    for index in range(count):
        eui = _ORGANISATION_EUI_PREFIX + index.to_bytes(4, "big")
        issue_from_csr(
            services.store,
            services.clock,
            linter,
            services.config,
            services.issuing_authority,
            ENV,
            # Digital signing and key agreement in turn: both Organisation profiles.
            organisation_csr(RemotePartyRole.SUPPLIER, eui, ds=index % 2 == 0),
            None,
            "bench",
        )


def _stored_certificates(
    services: Services, kind: CertKind, count: int, *, spread: bool
) -> list[bytes]:
    """Up to ``count`` distinct stored certificates of ``kind``: the first ones, or (``spread``)
    each the next after a random id, so that a large store is sampled all over."""
    rng = random.Random(13)
    wanted = CertificateFilter(kind=kind.value)
    now = services.clock.now()
    found: dict[int, bytes] = {}
    with services.store.reading() as tx:
        total = tx.count_certificates(ENV)
        for _ in range(count * 2 if spread else 0):
            rows = tx.find_certificates(ENV, wanted, now, after_id=rng.randrange(total), limit=1)
            found.update((row.id, row.der) for row in rows)
            if len(found) >= count:
                break
        if len(found) < count:
            rows = tx.find_certificates(ENV, wanted, now, limit=count)
            found.update((row.id, row.der) for row in rows)
    return list(found.values())[:count]


def _trust_and_lists(services: Services, env: Environment) -> tuple[TrustStore, RevocationLists]:
    """What a relying party prepares once: the active roots as anchors, the issuing CAs as
    intermediates, the current CRL or ARL of each CA (R-REP-5)."""
    with services.store.reading() as tx:
        authorities = [a for a in tx.authorities(env) if a.certificate_id is not None]
        anchors, intermediates, lists = [], [], []
        for authority in authorities:
            assert authority.certificate_id is not None
            der = tx.certificate(authority.certificate_id).der
            if not authority.is_root:
                intermediates.append(der)
            elif authority.status == "active":
                anchors.append(der)
            latest = tx.latest_crl(authority.id, list_kind_of(authority))
            if latest is not None:
                lists.append(latest.der)
    return TrustStore.from_der(anchors, intermediates), RevocationLists.from_der(lists)


def _measure(
    method: str,
    kind: str,
    check: Callable[[bytes], Verdict],
    certificates: Sequence[bytes],
    seconds: float,
) -> ValidationRate:
    """``check`` on each certificate in turn until ``seconds`` have passed (one warm-up call
    first, untimed)."""
    check(certificates[0])
    refusals: Counter[str] = Counter()
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        verdict = check(certificates[done % len(certificates)])
        done += 1
        if not verdict.ok:
            refusals[str(verdict.reason)] += 1
        if time.perf_counter() >= deadline:
            break
    return ValidationRate(method, kind, done, time.perf_counter() - started, dict(refusals))


def validation_figures(
    home: Path,
    seconds: float,
    fresh: bool,
    progress: Callable[[str], None],
) -> ValidationFigures:
    """Validations per second on ``home`` (closed; SQLite or the database its settings name),
    ``seconds`` per method and kind."""
    services = open_services(home, secret=PASSPHRASE)
    try:
        progress(f"validation: issuing {ORGANISATIONS} Organisation Certificates")
        _issue_organisations(services, ORGANISATIONS)
        with services.store.reading() as tx:
            stored = tx.count_certificates(ENV)
        samples = {
            "device": _stored_certificates(services, CertKind.DEVICE, SAMPLED_DEVICES, spread=True),
            "organisation": _stored_certificates(
                services, CertKind.ORGANISATION, ORGANISATIONS, spread=False
            ),
        }
        started = time.perf_counter()
        trust, lists = _trust_and_lists(services, ENV)
        prepare_seconds = time.perf_counter() - started
        catalogue = Catalogue(services.store, services.clock, ENV)
        validator = RepositoryValidator(services.store, services.clock, ENV, catalogue)
        methods: dict[str, Callable[[bytes], Verdict]] = {
            "RepositoryValidator": validator.validate,
            "validate rfc5280=True": lambda der: validate(der, trust=trust, crls=lists),
            "validate rfc5280=False": lambda der: validate(
                der, trust=trust, crls=lists, rfc5280=False
            ),
        }
        rates = []
        for method, check in methods.items():
            for kind, certificates in samples.items():
                progress(f"validation: {method}, {kind}, {seconds:.0f} s")
                rates.append(_measure(method, kind, check, certificates, seconds))
    finally:
        services.close()
    return ValidationFigures(
        stored,
        fresh,
        len(samples["device"]),
        len(samples["organisation"]),
        prepare_seconds,
        tuple(rates),
    )
