"""Batched CSRs through a real server (R-SI-2, R-SI-3, R-PART-6, R-X-2).

Accepted whole with its SEC deadline, issued in the server's background runner, read back as
state + per-CSR errors and as one PEM bundle in input order; refused whole at intake with its
own code and nothing stored; two worker processes on PostgreSQL share the batches without
duplicate serials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from smki.calendar import batch_deadline
from smki.profiles.kinds import Environment
from smki.wiring import open_services
from tests.integration.api.support import (
    PEM,
    Api,
    Counts,
    Subscriber,
    assert_problem,
    authorised_supplier,
    serving,
)
from tests.integration.cli_support import PASSPHRASE, Smki
from tests.integration.csr_factory import bad_csrs, device_csr
from tests.integration.test_batch_runner import make_runner
from tests.integration.test_registration import supplier_with_aro

BATCHES = "/smki/v1/batches"
_DONE = ("done", "failed")


def pem_csrs(count: int, prefix: str = "00DB5678") -> list[bytes]:
    return [device_csr(bytes.fromhex(f"{prefix}{i:08X}")) for i in range(count)]


def submit(api: Api, who: Subscriber, body: bytes, **kwargs: object) -> httpx.Response:
    headers = {"Content-Type": str(kwargs.get("content_type", PEM))}
    now = kwargs.get("now")
    if kwargs.get("auth", True):
        assert now is None or isinstance(now, dt.datetime)
        headers.update(api.auth(who, BATCHES, now))
    return api.client.post(BATCHES, content=body, headers=headers, timeout=60)


def get(api: Api, who: Subscriber, path: str) -> httpx.Response:
    return api.client.get(path, headers=api.auth(who, path), timeout=60)


def wait_done(api: Api, who: Subscriber, batch_id: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        answer = get(api, who, f"{BATCHES}/{batch_id}")
        assert answer.status_code == 200, answer.text
        status: dict[str, object] = answer.json()
        if status["state"] in _DONE:
            return status
        assert time.monotonic() < deadline, f"batch {batch_id} still {status['state']}"
        time.sleep(0.2)


def _key(item: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return item.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _batches(api: Api) -> int:
    services = open_services(api.smki.home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            return len(tx.unfinished_batches())
    finally:
        services.close()


def test_a_batch_end_to_end(api: Api, supplier: Subscriber) -> None:
    csrs = pem_csrs(60)
    bad = bad_csrs(bytes.fromhex("00DB56787FFFFFFF"))
    csrs[3] = bad["p384-key"][0]
    csrs[41] = bad["both-usages"][0]
    before = time.time()
    answer = submit(api, supplier, b"".join(csrs))
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert set(accepted) == {"id", "state", "count", "received_at", "deadline"}
    assert (accepted["state"], accepted["count"]) == ("accepted", 60)
    assert answer.headers["location"] == f"{BATCHES}/{accepted['id']}"
    received = dt.datetime.fromisoformat(accepted["received_at"])
    assert abs(received.timestamp() - before) < 30
    assert dt.datetime.fromisoformat(accepted["deadline"]) == batch_deadline(received)

    status = wait_done(api, supplier, accepted["id"])
    assert status["state"] == "done"
    assert (status["count"], status["issued"], status["failed"]) == (60, 58, 2)
    errors = status["errors"]
    assert isinstance(errors, list)
    assert [(e["index"], e["code"]) for e in errors] == [
        (3, "wrong-curve"),
        (41, "key-usage-count"),
    ]
    assert all(set(e) == {"index", "code", "detail"} and e["detail"] for e in errors)
    assert status["completed_at"]

    bundle = get(api, supplier, f"{BATCHES}/{accepted['id']}/certificates")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == PEM
    certificates = x509.load_pem_x509_certificates(bundle.content)
    expected = [x509.load_pem_x509_csr(c) for i, c in enumerate(csrs) if i not in (3, 41)]
    assert [_key(c) for c in certificates] == [_key(r) for r in expected]
    assert len({c.serial_number for c in certificates}) == 58
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {BATCHES, f"{BATCHES}/{{batch_id}}", f"{BATCHES}/{{batch_id}}/certificates"} <= set(
        paths
    )


def test_intake_refusals_store_nothing(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    csrs = pem_csrs(4)
    body = b"".join(csrs)
    before: Counts = api.counts()
    assert_problem(submit(api, supplier, csrs[0] * 50_001), 422, "batch-too-large")
    garbled = bad_csrs(bytes.fromhex("00DB56787FFFFFFE"))["malformed-pem"][0]
    problem = assert_problem(
        submit(api, supplier, b"".join([*csrs[:2], garbled, *csrs[2:]])), 400, "malformed-batch"
    )
    assert "block 2 " in str(problem["detail"])
    assert_problem(submit(api, supplier, csrs[0]), 422, "batch-too-small")
    assert_problem(submit(api, supplier, b"x" * (40 * 1024 * 1024 + 1)), 413, "too-large")
    assert_problem(
        submit(api, supplier, body, content_type="application/pkcs10"),
        415,
        "unsupported-media-type",
    )
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert_problem(submit(api, supplier, body, now=an_hour_ago), 401, "token-expired")
    assert_problem(submit(api, supplier, body, auth=False), 401, "token-missing")
    assert api.counts() == before
    assert _batches(api) == 0


def test_only_the_party_reads_its_batch(api: Api, supplier: Subscriber, tmp_path: Path) -> None:
    other = authorised_supplier(api.smki, tmp_path / "other", eui="90B3D51F30080000")
    answer = submit(api, supplier, b"".join(pem_csrs(2)))
    assert answer.status_code == 202, answer.text
    batch_id = answer.json()["id"]
    path = f"{BATCHES}/{batch_id}"
    assert_problem(get(api, other, path), 403, "not-your-batch")
    assert_problem(get(api, other, f"{path}/certificates"), 403, "not-your-batch")
    assert_problem(
        get(api, supplier, f"{BATCHES}/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), 404, "unknown-batch"
    )
    assert_problem(get(api, supplier, f"{BATCHES}/not-a-uuid"), 404, "unknown-batch")
    wait_done(api, supplier, batch_id)


def test_live_party_without_srept_is_refused(server_env: Smki, tmp_path: Path) -> None:
    server_env.ok("init", *server_env.h, "--env", "live")
    credential = tmp_path / "live-aro"
    party_id, aro_id = supplier_with_aro(server_env, credential, env="live")
    live = Subscriber(credential, party_id, aro_id)
    with serving(server_env.home, Environment.LIVE) as url, httpx.Client(base_url=url) as client:
        api = Api(server_env, client, env="live")
        before = api.counts()
        problem = assert_problem(
            submit(api, live, b"".join(pem_csrs(3))), 403, "srept-not-completed"
        )
        assert problem["rid"] == "R-PART-6"
        assert api.counts() == before
        assert _batches(api) == 0


def test_a_separate_runner_issues_and_the_bundle_waits(
    server_env: Smki, supplier: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With issuance off in the server (another process issues), the batch waits as
    ``accepted``, and its bundle is refused until it is done."""
    monkeypatch.setenv("SMKI_BATCH_RUNNER", "off")
    with serving(server_env.home) as url, httpx.Client(base_url=url) as client:
        api = Api(server_env, client)
        answer = submit(api, supplier, b"".join(pem_csrs(5)))
        assert answer.status_code == 202, answer.text
        batch_id = answer.json()["id"]
        time.sleep(0.5)
        status = get(api, supplier, f"{BATCHES}/{batch_id}").json()
        assert (status["state"], status["issued"], status["errors"]) == ("accepted", 0, [])
        assert_problem(
            get(api, supplier, f"{BATCHES}/{batch_id}/certificates"), 409, "batch-not-finished"
        )
        # ?wait= holds the answer while the batch is unfinished, for at most that long.
        path = f"{BATCHES}/{batch_id}"
        asked = time.monotonic()
        held = api.client.get(path, params={"wait": "0.4"}, headers=api.auth(supplier, path))
        assert held.json()["state"] == "accepted" and time.monotonic() - asked >= 0.4
        too_long = api.client.get(path, params={"wait": "31"}, headers=api.auth(supplier, path))
        assert_problem(too_long, 400, "malformed-request")
        # A request waiting when the batch finishes is answered at once.
        finished: dict[str, object] = {}

        def wait_for_it() -> None:
            headers = api.auth(supplier, path)
            started = time.monotonic()
            answer = api.client.get(path, params={"wait": "30"}, headers=headers, timeout=60)
            finished.update(answer.json(), seconds=time.monotonic() - started)

        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()
        services = open_services(server_env.home, secret=PASSPHRASE.encode())
        runner = make_runner(services, processes=1)
        try:
            assert runner.run_until_idle() == 1
        finally:
            runner.close()
            services.close()
        waiter.join(35)
        assert (finished["state"], finished["issued"]) == ("done", 5)
        assert isinstance(finished["seconds"], float) and finished["seconds"] < 25
        assert wait_done(api, supplier, batch_id)["issued"] == 5
        bundle = get(api, supplier, f"{BATCHES}/{batch_id}/certificates")
        assert len(x509.load_pem_x509_certificates(bundle.content)) == 5


# -- two workers on PostgreSQL ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_two_workers_serve_concurrent_batches(
    server_env: Smki, supplier: Subscriber, tmp_path: Path
) -> None:
    if not server_env.env["SMKI_DATABASE_URL"].startswith("postgresql"):
        pytest.skip("several service processes share one database on PostgreSQL (R-X-2)")
    port = _free_port()
    log = tmp_path / "serve.log"
    serve_options = ["--port", str(port), "--workers", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "smki.cli.main", "serve", *server_env.h, *serve_options],
            env={**os.environ, **server_env.env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            api = Api(server_env, client)
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
            bodies = [b"".join(pem_csrs(50, prefix=f"00DC{n:04X}")) for n in range(4)]
            answers: list[httpx.Response] = [None] * len(bodies)  # type: ignore[list-item]

            def send(n: int) -> None:
                answers[n] = submit(api, supplier, bodies[n])

            threads = [threading.Thread(target=send, args=(n,)) for n in range(len(bodies))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert all(a is not None and a.status_code == 202 for a in answers), answers
            serials: list[int] = []
            for answer in answers:
                batch_id = answer.json()["id"]
                status = wait_done(api, supplier, batch_id, timeout=120)
                assert (status["state"], status["issued"]) == ("done", 50)
                bundle = get(api, supplier, f"{BATCHES}/{batch_id}/certificates")
                serials += [
                    c.serial_number for c in x509.load_pem_x509_certificates(bundle.content)
                ]
            assert len(serials) == len(set(serials)) == 200
    finally:
        process.send_signal(signal.SIGINT)  # graceful: each worker stops its runner
        try:
            process.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group
            process.wait()
    served = log.read_text()
    assert process.returncode == 0, served
    assert served.count("started for the test environment") == 2, served  # one per worker
    services = open_services(server_env.home, secret=PASSPHRASE.encode())
    try:
        with services.store.transaction() as tx:
            assert tx.unfinished_batches() == []
            assert tx.pending_intents() == []
    finally:
        services.close()
