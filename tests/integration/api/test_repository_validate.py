"""Relying-party validation through the repository: ``POST /repository/v1/validate``
(R-RP-1..3, R-GOV-3), against the module's shared repository (``repository_shelf``)."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smki.ca.crl_schedule import reissue_due_lists
from smki.profiles.kinds import Environment
from smki.wiring import open_services
from tests.integration.api.repository_shelf import DEVICE_A, DEVICE_B, Shelf
from tests.integration.api.repository_shelf import shelf as shared_shelf
from tests.integration.api.support import assert_problem
from tests.integration.cli_support import PASSPHRASE

__all__ = ["shared_shelf"]  # the module's repository

VALIDATE = "/repository/v1/validate"


@pytest.fixture(scope="module")
def shelf(shared_shelf: Shelf) -> Shelf:
    """The shared repository, its lists reissued as the schedule would have done: the shelf's
    clock moved two days past lists that last one (R-REP-5), and a stale list is refused."""
    services = open_services(
        shared_shelf.smki.home, clock=shared_shelf.clock, secret=PASSPHRASE.encode()
    )
    try:
        reissue_due_lists(
            services.store,
            services.clock,
            services.config.crl_period,
            services.authority_loader(Environment.TEST),
            Environment.TEST,
            "test",
        )
    finally:
        services.close()
    return shared_shelf


def _pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def _verdict(shelf: Shelf, body: dict[str, object]) -> dict[str, object]:
    response = shelf.client.post(VALIDATE, json=body, headers=shelf.supplier)
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert isinstance(verdict, dict)
    return verdict


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("org-ds", None),
        ("device-ds", None),
        ("org-revoked", "revoked"),
        ("org-old", "expired"),
        ("device-suspended", "suspended"),
    ],
)
def test_verdicts_follow_the_repository_state(shelf: Shelf, name: str, reason: str | None) -> None:
    verdict = _verdict(shelf, {"certificate": _pem(shelf.issued[name].der)})
    assert (verdict["ok"], verdict["reason"]) == (reason is None, reason), verdict["detail"]
    if reason is None:
        path = verdict["path"]
        assert isinstance(path, list) and path[-1]["role"] == "trust anchor"


def test_base64_der_and_device_expectations(shelf: Shelf) -> None:
    der = base64.b64encode(shelf.issued["device-ds"].der).decode()
    assert _verdict(shelf, {"certificate": der, "device": DEVICE_A, "usage": "ds"})["ok"] is True
    wrong_device = _verdict(shelf, {"certificate": der, "device": DEVICE_B})
    assert wrong_device["reason"] == "wrong-device"
    assert _verdict(shelf, {"certificate": der, "usage": "ka"})["reason"] == "wrong-usage"


def test_unreadable_requests_are_problems(shelf: Shelf) -> None:
    garbage = shelf.client.post(
        VALIDATE, json={"certificate": "bm90IGEgY2VydGlmaWNhdGU="}, headers=shelf.supplier
    )
    assert_problem(garbage, 400, "malformed")
    neither = shelf.client.post(
        VALIDATE, json={"certificate": "%%% not base64 %%%"}, headers=shelf.supplier
    )
    assert_problem(neither, 400, "malformed")
    usage = shelf.client.post(
        VALIDATE,
        json={"certificate": _pem(shelf.issued["org-ds"].der), "usage": "xx"},
        headers=shelf.supplier,
    )
    assert usage.status_code in (400, 422) and usage.json()["code"] == "bad-usage"
    anonymous = shelf.client.post(VALIDATE, json={"certificate": "x"})
    assert_problem(anonymous, 401, "session-missing")
