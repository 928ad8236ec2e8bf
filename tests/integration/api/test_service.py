"""The service itself: health, readiness, OpenAPI, problems, metrics and the request log
(R-SI-5, R-X-3, R-PERF-1)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from smki.api import certificates
from smki.errors import StorageError
from smki.profiles.kinds import Environment
from smki.wiring import Services
from tests.integration.api.support import (
    CERTIFICATES,
    REVOCATIONS,
    Api,
    Subscriber,
    assert_problem,
)
from tests.integration.csr_factory import openssl_device_csr


def test_health_readiness_openapi_and_framework_problems(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "environment": "test"}

    def unavailable(self: Services) -> list[Environment]:
        raise StorageError("connection refused by db01.internal", code="unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(Services, "environments", unavailable)
        not_ready = api.client.get("/readyz")
        body = assert_problem(not_ready, 503, "not-ready")
        assert "db01" not in not_ready.text and body["detail"]
        assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/readyz").status_code == 200

    spec = api.client.get("/openapi.json").json()
    assert {CERTIFICATES, REVOCATIONS, "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    issue = spec["paths"][CERTIFICATES]["post"]
    assert "application/pkcs10" in issue["requestBody"]["content"]
    assert {"application/x-pem-file", "application/pkix-cert"} <= set(
        issue["responses"]["201"]["content"]
    )
    assert "application/problem+json" in issue["responses"]["409"]["content"]
    assert spec["components"]["securitySchemes"]["aroToken"]["scheme"] == "bearer"

    # The framework's own refusals are problems too.
    assert_problem(api.client.get("/smki/v1/nothing-here"), 404, "not-found")
    refused = api.client.get(CERTIFICATES)
    assert_problem(refused, 405, "method-not-allowed")
    assert "POST" in refused.headers["allow"]


def test_unexpected_failure_is_internal_without_detail(
    api: Api,
    supplier: Subscriber,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(data: bytes) -> object:
        raise RuntimeError("connection to db01.internal as admin/s3cret failed")

    monkeypatch.setattr(certificates, "check_csr", broken)
    csr = openssl_device_csr(tmp_path, "00DB1234567890E1").read_bytes()
    before = api.counts()
    with caplog.at_level(logging.ERROR, logger="smki.api"):
        response = api.post_csr(supplier, csr)
    body = assert_problem(response, 500, "internal")
    assert "s3cret" not in response.text and body["rid"] == ""
    assert api.counts() == before
    logged = [r for r in caplog.records if r.name == "smki.api" and r.exc_info]
    assert logged and response.headers["x-request-id"] in logged[0].getMessage()


def _wait_for_line(caplog: pytest.LogCaptureFixture, endpoint: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in list(caplog.records):
            if record.name == "smki.api.requests":
                entry: dict[str, Any] = json.loads(record.getMessage())
                if entry["endpoint"] == endpoint:
                    return entry
        time.sleep(0.01)
    raise AssertionError(f"no request line for {endpoint}")


def test_request_log_and_metrics(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="smki.api.requests")
    refused = api.client.post(CERTIFICATES, content=b"x", headers={"Content-Type": "text/plain"})
    assert_problem(refused, 401, "token-missing")
    assert refused.headers["www-authenticate"] == "Bearer"

    # The request is recorded once its last byte is handed to the server, which may be just
    # after the client has read it; metrics are recorded before the line.
    line = _wait_for_line(caplog, CERTIFICATES)
    assert line["status"] == 401 and line["code"] == "token-missing" and line["method"] == "POST"
    assert line["request_id"] == refused.headers["x-request-id"]
    received = dt.datetime.fromisoformat(line["received_at"])
    responded = dt.datetime.fromisoformat(line["responded_at"])
    assert received <= responded and line["duration_ms"] >= 0

    text = api.client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = text.text
    assert (
        'smki_http_requests_total{endpoint="/smki/v1/certificates",method="POST",status="401"} 1'
        in body
    )
    assert 'smki_http_problems_total{code="token-missing"} 1' in body
    assert 'smki_http_request_duration_seconds_count{endpoint="/smki/v1/certificates"} 1' in body
    assert "# TYPE smki_http_request_duration_seconds histogram" in body
