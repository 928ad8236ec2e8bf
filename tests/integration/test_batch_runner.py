"""Batched CSRs without HTTP: intake, the runner, a SIGKILL mid-batch, two runners (R-SI-2).

Intake refuses an upload whole and stores nothing; an accepted batch gets one certificate or
one precise error per CSR, in input order; a runner killed mid-batch resumes on restart
without issuing any CSR twice or losing one (R-CA-4); two runners share one database without
claiming the same batch or reusing a serial.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smki.clock import FixedClock
from smki.errors import Forbidden, InputError
from smki.profiles.kinds import Environment, Pki
from smki.ra.batch_intake import MAX_BATCH, submit_batch
from smki.ra.batches import BatchRunner
from smki.storage.api import BatchRow, Transaction
from smki.wiring import Services, open_services
from smki.x509.roles import RemotePartyRole
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.csr_factory import bad_csrs, device_csr, organisation_csr
from tests.integration.test_registration import supplier_with_aro

TEST = Environment.TEST


def _pem(csr: bytes) -> bytes:
    """PEM for a CSR given as PEM or DER."""
    if csr.startswith(b"-----"):
        return csr
    return x509.load_der_x509_csr(csr).public_bytes(Encoding.PEM)


def device_csrs(count: int, prefix: str = "00DB1234") -> list[bytes]:
    return [
        device_csr(bytes.fromhex(f"{prefix}{i:08X}"), ds=i % 2 == 0, ka=i % 2 == 1)
        for i in range(count)
    ]


@pytest.fixture
def supplier(ready: Smki, tmp_path: Path) -> tuple[Smki, int, int]:
    """An Authorised supplier in the Test environment: (home, party id, ARO id)."""
    party_id, aro_id = supplier_with_aro(ready, tmp_path / "aro")
    return ready, party_id, aro_id


@pytest.fixture
def services(supplier: tuple[Smki, int, int]) -> Iterator[Services]:
    opened = open_services(supplier[0].home, secret=PASSPHRASE.encode())
    try:
        yield opened
    finally:
        opened.close()


def make_runner(
    services: Services, *, processes: int = 2, chunk: int = 32, prestart_pool: bool = False
) -> BatchRunner:
    """A runner of the Test environment, as a service process would make it."""
    return BatchRunner(
        services.store,
        services.clock,
        services.issuing_authority(TEST, Pki.DEVICE),
        services.linter(TEST),
        services.actor,
        keystore=services.keystore_spec(),
        processes=processes,
        chunk=chunk,
        prestart_pool=prestart_pool,
    )


def _public_key(der_or_pem: bytes, *, csr: bool) -> bytes:
    if csr:
        key = x509.load_pem_x509_csr(_pem(der_or_pem)).public_key()
    else:
        key = x509.load_der_x509_certificate(der_or_pem).public_key()
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _nothing_stored(services: Services, audit_head: tuple[int, bytes] | None) -> None:
    with services.store.transaction() as tx:
        assert tx.unfinished_batches() == []
    assert services.store.audit_head() == audit_head


# -- intake -----------------------------------------------------------------------------------


def test_intake_refuses_whole_and_stores_nothing(
    supplier: tuple[Smki, int, int], services: Services, tmp_path: Path
) -> None:
    smki, party_id, aro_id = supplier
    head = services.store.audit_head()
    good = [_pem(c) for c in device_csrs(6)]

    def refused(body: bytes, *, party: int = party_id, aro: int = aro_id, env: str = "test") -> str:
        with pytest.raises((InputError, Forbidden)) as info:
            submit_batch(services.store, services.clock, env, party, aro, body)
        return f"{info.value.code}: {info.value.detail}"

    started = time.perf_counter()
    assert refused(good[0] * (MAX_BATCH + 1)).startswith("batch-too-large")
    assert time.perf_counter() - started < 2, "50,001 CSRs must be refused before decoding"
    assert refused(good[0]).startswith("batch-too-small")
    assert refused(b"").startswith("batch-too-small")
    assert refused(b"\n \n").startswith("batch-too-small")
    assert refused(b"x" * (40 * 1024 * 1024 + 1)).startswith("too-large")

    garbled = bad_csrs(bytes.fromhex("00DB1234567FFFFF"))["malformed-pem"][0]
    assert "block 4 " in refused(b"".join([*good[:4], garbled, *good[4:]]))
    not_pkcs10 = (
        b"-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQE=\n-----END CERTIFICATE REQUEST-----\n"
    )
    assert "block 2 " in refused(b"".join([*good[:2], not_pkcs10, *good[2:]]))
    certificate = (smki.home / "out" / "issuing-dca.pem").read_bytes()
    message = refused(b"".join([good[0], certificate, good[1]]))
    assert message.startswith("malformed-batch") and "block 1 " in message
    assert "block 2 " in refused(b"".join([*good[:2], b"hello\n", *good[2:]]))
    assert "block 5 " in refused(b"".join(good)[:-40])  # the last block has no END line
    mismatched = good[1].replace(b"END CERTIFICATE REQUEST", b"END NEW CERTIFICATE REQUEST")
    assert "block 1 " in refused(b"".join([good[0], mismatched]))
    der_only = x509.load_pem_x509_csr(good[0]).public_bytes(Encoding.DER)
    assert refused(der_only + der_only).startswith("malformed-batch")
    _nothing_stored(services, head)

    # Authorisation: an ARO of another party, a Live party without SREPT.
    other_party, other_aro = supplier_with_aro(smki, tmp_path / "other-aro", eui="90B3D51F30020000")
    assert refused(b"".join(good), aro=other_aro).startswith("not-the-party-aro")
    assert refused(b"".join(good), party=other_party, env="live").startswith("not-the-party-aro")
    smki.ok("init", *smki.h, "--env", "live")
    live_party, live_aro = supplier_with_aro(smki, tmp_path / "live-aro", env="live")
    # The ceremony and the registrations above were audited; nothing since.
    head = services.store.audit_head()
    code = refused(b"".join(good), party=live_party, aro=live_aro, env="live")
    assert code.startswith("srept-not-completed")
    _nothing_stored(services, head)


def test_intake_accepts_and_dates_the_deadline(
    supplier: tuple[Smki, int, int], services: Services
) -> None:
    _, party_id, aro_id = supplier
    csrs = [_pem(c) for c in device_csrs(3)]
    body = b"".join(csrs)
    received = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)  # 12:00 GMT, the day before BST
    row = submit_batch(services.store, FixedClock(received), "test", party_id, aro_id, body)
    assert (row.state, row.count, row.party_id, row.aro_id) == ("accepted", 3, party_id, aro_id)
    assert row.received_at == received
    assert row.deadline == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)  # 08:00 BST
    late = dt.datetime(2026, 10, 24, 19, 30, tzinfo=dt.UTC)  # 20:30 BST: out of hours
    row = submit_batch(services.store, FixedClock(late), "test", party_id, aro_id, body)
    assert row.deadline == late + dt.timedelta(hours=24)
    with services.store.transaction() as tx:
        assert [b.id for b in tx.unfinished_batches()][-1] == row.id
        assert [i.csr for i in tx.open_items(row.id, 10)] == [
            x509.load_pem_x509_csr(c).public_bytes(Encoding.DER) for c in csrs
        ]
    events = [e for e in services.store.audit_events() if e.action == "batch.accepted"]
    assert [e.subject for e in events][-1] == f"batch:{row.id}"
    assert events[-1].details["count"] == 3


# -- issuance ---------------------------------------------------------------------------------


def test_a_batch_is_issued_in_input_order_with_per_csr_errors(
    supplier: tuple[Smki, int, int], services: Services
) -> None:
    _, party_id, aro_id = supplier
    csrs = device_csrs(200)
    bad = bad_csrs(bytes.fromhex("00DB1234567FFFFF"))
    csrs[7] = _pem(bad["bad-signature"][0])
    csrs[99] = organisation_csr(RemotePartyRole.SUPPLIER, bytes.fromhex("90B3D51F30010000"))
    csrs[150] = bad["p384-key"][0]
    row = submit_batch(
        services.store, services.clock, "test", party_id, aro_id, b"".join(map(_pem, csrs))
    )
    with services.store.transaction() as tx:
        devices_before = _device_count(tx)
    runner = make_runner(services)
    try:
        assert runner.run_until_idle() == 1
    finally:
        runner.close()

    with services.store.transaction() as tx:
        done = tx.batch(row.id)
        assert done is not None and done.state == "done" and done.completed_at is not None
        assert done.lease_owner is None
        assert tx.batch_counts(row.id) == (197, 3, 0)
        assert [(e.index, e.code) for e in tx.batch_errors(row.id)] == [
            (7, "bad-proof-of-possession"),
            (99, "not-a-device-csr"),
            (150, "wrong-curve"),
        ]
        ders = tx.batch_certificates(row.id)
        assert tx.pending_intents() == []
        assert _device_count(tx) - devices_before == 197
    good = [c for i, c in enumerate(csrs) if i not in (7, 99, 150)]
    assert [_public_key(d, csr=False) for d in ders] == [_public_key(c, csr=True) for c in good]


def _device_count(tx: Transaction) -> int:
    """Certificates in the Test environment: only batch issuance adds any while measured."""
    return tx.count_certificates("test")


def test_a_party_no_longer_authorised_gets_an_error_per_csr(
    supplier: tuple[Smki, int, int], services: Services
) -> None:
    smki, party_id, aro_id = supplier
    row = submit_batch(
        services.store,
        services.clock,
        "test",
        party_id,
        aro_id,
        b"".join(_pem(c) for c in device_csrs(5)),
    )
    with services.store.transaction() as tx:
        sro = next(o for o in tx.officers(party_id) if o.kind == "sro")
    smki.ok("officer", "remove", *smki.h, "--officer", str(sro.id))
    runner = make_runner(services, processes=1)
    try:
        assert runner.run_until_idle() == 1
    finally:
        runner.close()
    with services.store.transaction() as tx:
        assert tx.batch_counts(row.id) == (0, 5, 0)
        errors = tx.batch_errors(row.id)
        assert {e.code for e in errors} == {"not-authorised-subscriber"}
        assert [e.index for e in errors] == list(range(5))
        assert tx.batch_certificates(row.id) == []


# -- crash safety -----------------------------------------------------------------------------

_RUNNER_SCRIPT = """
import datetime as dt, sys
from pathlib import Path
from smki.profiles.kinds import Environment, Pki
from smki.ra.batches import BatchRunner
from smki.wiring import open_services

services = open_services(Path(sys.argv[1]))
env = Environment.TEST
runner = BatchRunner(
    services.store, services.clock, services.issuing_authority(env, Pki.DEVICE),
    services.linter(env), services.actor, keystore=services.keystore_spec(),
    processes=2, chunk=int(sys.argv[2]), lease=dt.timedelta(seconds=float(sys.argv[3])),
)
try:
    print(runner.run_until_idle(), flush=True)
finally:
    runner.close()
    services.close()
"""


def _run_runner(
    smki: Smki, out: Path, chunk: int, lease_seconds: float, failpoint: str | None = None
) -> tuple[int, str, str]:
    """Run a runner in a process of its own; (exit status, stdout, stderr)."""
    env = {**os.environ, **smki.env}
    if failpoint is not None:
        env["SMKI_FAILPOINT"] = failpoint
    out.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = out / "stdout", out / "stderr"
    # Files, not pipes: the signing workers inherit them and may outlive a killed parent.
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _RUNNER_SCRIPT, str(smki.home), str(chunk), str(lease_seconds)],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group, which its workers share
        )
        try:
            status = process.wait(timeout=180)
        finally:
            # End whatever is left of the group (workers of a SIGKILLed runner).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return status, stdout_path.read_text(), stderr_path.read_text()


def test_sigkill_mid_batch_resumes_without_duplicates_or_losses(
    supplier: tuple[Smki, int, int], services: Services, tmp_path: Path
) -> None:
    smki, party_id, aro_id = supplier
    chunk, count, lease = 20, 160, 3.0
    csrs = device_csrs(count)
    row = submit_batch(
        services.store, services.clock, "test", party_id, aro_id, b"".join(map(_pem, csrs))
    )
    with services.store.transaction() as tx:
        devices_before = _device_count(tx)

    status, _, stderr = _run_runner(
        smki, tmp_path / "killed", chunk, lease, failpoint="batch.after-chunk-stored"
    )
    killed_at = time.monotonic()
    assert status == -signal.SIGKILL, stderr
    with services.store.transaction() as tx:
        issued, failed, still_open = tx.batch_counts(row.id)
        assert (issued, failed, still_open) == (chunk, 0, count - chunk)
        after_kill = tx.batch(row.id)
        assert after_kill is not None and after_kill.state == "issuing"
        assert _device_count(tx) - devices_before == chunk
        # Whether a later chunk had recorded its intents before the kill depends on timing.
        in_flight = len(tx.pending_intents())
    audit = smki.subprocess("audit", "verify", *smki.h)
    assert audit.returncode == 0, audit.stderr

    # Restart once the dead runner's lease has run out.
    time.sleep(max(0.0, lease + 0.5 - (time.monotonic() - killed_at)))
    status, stdout, stderr = _run_runner(smki, tmp_path / "restarted", chunk, lease)
    assert status == 0, stderr
    assert stdout.strip() == "1"

    with services.store.transaction() as tx:
        done = tx.batch(row.id)
        assert done is not None and done.state == "done"
        assert tx.batch_counts(row.id) == (count, 0, 0)
        ders = tx.batch_certificates(row.id)
        assert tx.pending_intents() == []
        assert _device_count(tx) - devices_before == count
    assert len(ders) == count and len(set(ders)) == count
    assert [_public_key(d, csr=False) for d in ders] == [_public_key(c, csr=True) for c in csrs]
    abandoned = [e for e in services.store.audit_events() if "abandoned" in e.action]
    assert len(abandoned) == in_flight, "every in-flight intent of the killed runner abandoned"
    audit = smki.subprocess("audit", "verify", *smki.h)
    assert audit.returncode == 0, audit.stderr


# -- two runners ------------------------------------------------------------------------------


def test_two_runners_share_the_work_without_duplicate_serials(
    supplier: tuple[Smki, int, int], services: Services
) -> None:
    smki, party_id, aro_id = supplier
    rows: list[BatchRow] = []
    for n in range(3):
        body = b"".join(map(_pem, device_csrs(80, prefix=f"00DB{n:04X}")))
        rows.append(submit_batch(services.store, services.clock, "test", party_id, aro_id, body))
    second = open_services(smki.home, secret=PASSPHRASE.encode())
    runners = [
        make_runner(services, processes=1, chunk=16),
        make_runner(second, processes=1, chunk=16),
    ]
    barrier = threading.Barrier(2)
    finished: list[int] = []
    failures: list[BaseException] = []

    def work(runner: BatchRunner) -> None:
        try:
            barrier.wait(10)
            finished.append(runner.run_until_idle())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for runner in runners:
            runner.close()
        second.close()
    assert failures == []
    assert sum(finished) == 3
    serials: list[int] = []
    with services.store.transaction() as tx:
        for row in rows:
            batch = tx.batch(row.id)
            assert batch is not None and batch.state == "done"
            assert tx.batch_counts(row.id) == (80, 0, 0)
            serials += [
                x509.load_der_x509_certificate(d).serial_number
                for d in tx.batch_certificates(row.id)
            ]
        assert tx.pending_intents() == []
    assert len(serials) == len(set(serials)) == 240
    claims = [e for e in services.store.audit_events() if e.action == "batch.claimed"]
    assert {e.details["owner"] for e in claims} == {r.owner for r in runners}


def test_a_prestarted_pool_says_when_it_is_warm(services: Services) -> None:
    """/readyz waits on ``started``: false until the workers have spawned and opened the key
    store, true from then on; a runner that starts its pool on first use has nothing to wait
    for."""
    lazy = make_runner(services)
    assert lazy.started
    lazy.close()
    runner = make_runner(services, prestart_pool=True)
    assert not runner.started
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not runner.started:
            assert time.monotonic() < deadline, "the signing pool did not start"
            time.sleep(0.05)
    finally:
        runner.stop()
