"""Issuing many Device Certificates at once (R-SI-2, R-CA-4), in input order.

The issuance cycle, chunk by chunk, on a ``SigningPool``:
  workers: check each CSR (R-SI-3) → reserve a serial → fill the linted template (TBS);
  here:    record the chunk's intents and its audit event in one transaction;
  workers: sign → check the signed bytes;
  here:    store the chunk's certificates and their audit event in one transaction.
A CSR that fails its checks gets a precise per-CSR refusal and no serial. A crash leaves
pending intents without certificates, which ``recover_intents`` abandons; an error that stops
the run abandons the intents of the chunks it did not store.

Callers that keep per-CSR state (the batch runner, ``ra/batches.py``) pass hooks that run
inside those same transactions: ``on_refused`` with the chunk's refusals (in the intents
transaction, or one of its own when the whole chunk was refused) and ``on_chunk_stored`` with
(input index, certificate id) pairs, in the transaction that stores the certificates. A hook
that raises rolls its transaction back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from smki.ca.issuer import Draft, Issued, SigningAuthority
from smki.ca.linting import PreSignLinter, require_clean
from smki.ca.pool import SigningPool, sign_tbs_list
from smki.ca.serials import new_serial, serial_hex
from smki.clock import Clock
from smki.errors import CsrRefused, SmkiError
from smki.failpoints import hit
from smki.profiles.build import IssuerContext
from smki.profiles.device_template import SAMPLE_POINT, DeviceTemplate, device_template
from smki.profiles.kinds import CertKind, KeyUse
from smki.ra.csr import DeviceRequest, check_csr
from smki.ra.direct import Plan
from smki.storage.api import NewCertificate, Store, Transaction
from smki.x509.tbs import encode_tbs, precertificate
from smki.x509.timeenc import NO_EXPIRY

#: CSRs per chunk: each chunk costs two transactions, two audit events and a pool round trip,
#: so larger chunks cost less per CSR, until filling and draining the pipeline (a chunk
#: prepared and signed before anything else can happen) costs more. 2,000 measured best for
#: a 50,000-CSR batch on two cores (R-SI-2).
DEFAULT_CHUNK = 2000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refused:
    index: int
    code: str
    detail: str


@dataclass(frozen=True)
class _Prepared:
    index: int
    serial: int
    tbs: bytes
    eui: bytes
    usage: KeyUse
    ski: bytes


@dataclass(frozen=True)
class TemplateSpec:
    """What workers need to build (and lint, once) their device templates."""

    issuer: IssuerContext
    not_before: dt.datetime
    linter: PreSignLinter | None = field(default=None, compare=False)


_TEMPLATE_CACHE_SIZE = 64
_templates: dict[tuple[IssuerContext, dt.datetime, KeyUse, str, bool], DeviceTemplate] = {}


def _template(spec: TemplateSpec, usage: KeyUse, hw_type: str) -> DeviceTemplate:
    # Whether it was linted is part of the key: a template cut without a linter (a pool in
    # the tests) is never taken for a linted one.
    key = (spec.issuer, spec.not_before, usage, hw_type, spec.linter is not None)
    template = _templates.get(key)
    if template is None:
        if len(_templates) >= _TEMPLATE_CACHE_SIZE:
            # Each run has its own notBefore: a long-lived worker would otherwise keep them all.
            _templates.clear()
        template = device_template(spec.issuer, spec.not_before, usage, hw_type)
        if spec.linter is not None:
            # The template holds every fixed byte; lint it whole once (R-PROF-40). The
            # variable parts are typed values checked by check_csr and by ``fill``.
            sample = template.fill(new_serial(), SAMPLE_POINT, b"\x00" * 8)
            require_clean(spec.linter, precertificate(sample), CertKind.DEVICE)
        _templates[key] = template
    return template


def draft_device(plan: Plan, linter: PreSignLinter, request: DeviceRequest) -> Draft:
    """A single Device Certificate's TBS filled from the linted template, as a batch's are
    (R-PROF-40): the template is linted once per issuing CA, second, key usage and hwType.
    The fill is compared with the generic encoder's TBS, and linted whole if it ever differed,
    so a certificate is never signed from bytes neither path vouched for."""
    serial = new_serial()
    fields = plan.build(serial)
    tbs = encode_tbs(fields)
    spec = TemplateSpec(plan.issuer, fields.not_before, linter)
    template = _template(spec, request.usage, request.hardware.hw_type.dotted_string)
    if template.fill(serial, request.point, request.eui) != tbs:  # pragma: no cover - proven
        log.error("a Device template fill differs from the encoder's TBS; linted whole")
        require_clean(linter, precertificate(tbs), CertKind.DEVICE)
    return Draft(fields, serial, tbs)


def prepare_devices(
    start: int, csrs: Sequence[bytes], spec: TemplateSpec
) -> list[_Prepared | Refused]:
    """Worker side: validate each CSR as a Device CSR and fill its TBS."""
    out: list[_Prepared | Refused] = []
    for offset, data in enumerate(csrs):
        index = start + offset
        try:
            request = check_csr(data)
            if not isinstance(request, DeviceRequest):
                raise CsrRefused(
                    "a batch holds Device CSRs only", code="not-a-device-csr", rid="R-SI-2"
                )
            point = request.point
            template = _template(spec, request.usage, request.hardware.hw_type.dotted_string)
            serial = new_serial()
            tbs = template.fill(serial, point, request.eui)
        except SmkiError as error:
            out.append(Refused(index, error.code, error.detail))
            continue
        out.append(_Prepared(index, serial, tbs, request.eui, request.usage, request.key.key_id))
    return out


#: Called inside the transaction that records a chunk's refusals.
RefusedHook = Callable[[Transaction, Sequence["Refused"]], None]
#: Called inside the transaction that stores a chunk: (input index, certificate id) pairs.
StoredHook = Callable[[Transaction, Sequence[tuple[int, int]]], None]


@dataclass
class BatchOutcome:
    """Per input index: the issued certificate or the refusal."""

    results: list[Issued | Refused | None]

    @property
    def issued(self) -> int:
        return sum(isinstance(r, Issued) for r in self.results)

    @property
    def refused(self) -> int:
        return sum(isinstance(r, Refused) for r in self.results)


class DeviceBatchIssuer:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        pool: SigningPool,
        authority: SigningAuthority,
        context: IssuerContext,
        linter: PreSignLinter | None,
        actor: str,
        *,
        chunk: int = DEFAULT_CHUNK,
        on_refused: RefusedHook | None = None,
        on_chunk_stored: StoredHook | None = None,
    ) -> None:
        self._on_refused = on_refused
        self._on_chunk_stored = on_chunk_stored
        self._store = store
        self._clock = clock
        self._pool = pool
        self._authority = authority
        self._context = context
        self._linter = linter
        self._actor = actor
        self._chunk = chunk

    def run(self, csrs: Sequence[bytes], *, label: str = "") -> BatchOutcome:
        now = self._clock.now().replace(microsecond=0)
        spec = TemplateSpec(self._context, now, self._linter)
        results: list[Issued | Refused | None] = [None] * len(csrs)
        starts = iter(range(0, len(csrs), self._chunk))
        # A bounded pipeline: a few chunks being prepared, and each chunk's signing task
        # queued right behind them, so that the pool's FIFO queue alternates preparing and
        # signing and this process records intents and stores chunks while workers work.
        preparing: deque[Future[list[_Prepared | Refused]]] = deque()
        signing: deque[tuple[list[_Prepared], list[int], Future[list[bytes]]]] = deque()

        def feed() -> None:
            while len(preparing) <= self._pool.processes:
                start = next(starts, None)
                if start is None:
                    return
                part = list(csrs[start : start + self._chunk])
                preparing.append(self._pool.submit(prepare_devices, start, part, spec))

        try:
            feed()
            while preparing:
                prepared: list[_Prepared] = []
                refused: list[Refused] = []
                for item in preparing.popleft().result():
                    if isinstance(item, Refused):
                        results[item.index] = item
                        refused.append(item)
                    else:
                        prepared.append(item)
                if prepared:
                    intents = self._record_intents(prepared, refused, label)
                    tbs_list = [p.tbs for p in prepared]
                    signing.append((prepared, intents, self._pool.submit(sign_tbs_list, tbs_list)))
                elif refused and self._on_refused is not None:
                    with self._store.transaction() as tx:
                        self._on_refused(tx, refused)
                feed()
                # A chunk leaves the queue only once stored: what is queued is never stored.
                while signing and signing[0][2].done():
                    self._store_chunk(*_resolve(signing[0]), now, results, label)
                    signing.popleft()
            while signing:
                self._store_chunk(*_resolve(signing[0]), now, results, label)
                signing.popleft()
        except BaseException:
            for pending in preparing:
                pending.cancel()
            self._abandon([intent for _, intents, _ in signing for intent in intents], label)
            raise
        return BatchOutcome(results)

    def _abandon(self, intents: list[int], label: str) -> None:
        """Abandon intents whose certificates this run will never store (R-CA-4).

        Conditional on the intent still being pending, so an intent whose store transaction
        did commit is left alone. If this fails too, ``recover_intents`` does it later.
        """
        if not intents:
            return
        try:
            with self._store.transaction() as tx:
                tx.finish_intents(intents, "abandoned", self._clock.now())
                tx.audit(
                    self._actor,
                    "issuance.abandoned",
                    f"batch:{label}" if label else "batch",
                    {
                        "authority": self._authority.name,
                        "count": len(intents),
                        "intents": intents,
                    },
                )
        except SmkiError as error:
            log.warning("could not abandon %d unstored intents: %s", len(intents), error.code)

    def _record_intents(
        self, prepared: list[_Prepared], refused: list[Refused], label: str
    ) -> list[int]:
        items = [(p.serial, str(CertKind.DEVICE), hashlib.sha256(p.tbs).digest()) for p in prepared]
        with self._store.transaction() as tx:
            if refused and self._on_refused is not None:
                self._on_refused(tx, refused)
            intents = tx.reserve_intents(self._authority.authority_id, items, self._clock.now())
            tx.audit(
                self._actor,
                "issuance.intent",
                f"batch:{label}" if label else "batch",
                {
                    "authority": self._authority.name,
                    "count": len(items),
                    "first_intent": intents[0],
                    "last_intent": intents[-1],
                },
            )
        return intents

    def _store_chunk(
        self,
        prepared: list[_Prepared],
        intents: list[int],
        certificates: list[bytes],
        now: dt.datetime,
        results: list[Issued | Refused | None],
        label: str,
    ) -> None:
        rows = [
            NewCertificate(
                authority_id=self._authority.authority_id,
                serial=p.serial,
                kind=CertKind.DEVICE,
                subject_eui=p.eui,
                role=None,
                key_usage=p.usage,
                not_before=now,
                not_after=NO_EXPIRY,
                ski=p.ski,
                der=der,
                intent_id=intent,
            )
            for p, intent, der in zip(prepared, intents, certificates, strict=True)
        ]
        with self._store.transaction() as tx:
            ids = tx.add_certificates(rows, self._clock.now())
            tx.audit(
                self._actor,
                "certificate.issued",
                f"batch:{label}" if label else "batch",
                {
                    "authority": self._authority.name,
                    "count": len(rows),
                    "serials": [serial_hex(p.serial) for p in prepared],
                },
            )
            if self._on_chunk_stored is not None:
                self._on_chunk_stored(
                    tx, [(p.index, i) for p, i in zip(prepared, ids, strict=True)]
                )
        hit("batch.after-chunk-stored")
        for p, certificate_id, der in zip(prepared, ids, certificates, strict=True):
            results[p.index] = Issued(certificate_id, p.serial, der)


def _resolve(
    entry: tuple[list[_Prepared], list[int], Future[list[bytes]]],
) -> tuple[list[_Prepared], list[int], list[bytes]]:
    prepared, intents, future = entry
    return prepared, intents, future.result()
