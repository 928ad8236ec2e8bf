"""How the repository chooses JSON, DER or PEM (R-REP-2, R-REP-5), without a server."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.api.repository.negotiation import (
    CERTIFICATE_FORMS,
    DER_CERTIFICATE,
    DER_CRL,
    JSON,
    LIST_FORMS,
    PEM,
    choose_form,
    pem,
)
from smki.api.repository.params import parse_number
from smki.errors import InputError


def _chosen(accept: str | None, requested: str | None = None) -> str:
    return choose_form(CERTIFICATE_FORMS, requested, accept, "R-REP-2").media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),  # a tie: the first form offered
        (DER_CERTIFICATE, DER_CERTIFICATE),
        (f"{PEM}, {DER_CERTIFICATE};q=0.5", PEM),
        (f"{PEM};q=0.2, {DER_CERTIFICATE};q=0.5", DER_CERTIFICATE),
        (f"text/html, {JSON};q=0.1", JSON),
        # The most specific range decides: JSON is refused though */* is welcome.
        (f"*/*, {JSON};q=0", DER_CERTIFICATE),
    ],
)
def test_accept_is_negotiated(accept: str | None, expected: str) -> None:
    assert _chosen(accept) == expected


def test_format_overrides_accept_and_lists_default_to_der() -> None:
    assert _chosen("application/json", "PEM") == PEM
    assert _chosen(None, "der") == DER_CERTIFICATE
    assert choose_form(LIST_FORMS, None, None, "R-REP-5").media_type == DER_CRL
    assert choose_form(LIST_FORMS, None, f"{PEM}", "R-REP-5").media_type == PEM


@pytest.mark.parametrize(
    ("accept", "requested", "code"),
    [
        ("text/html", None, "not-acceptable"),
        (f"{JSON};q=0, {PEM};q=0, {DER_CERTIFICATE};q=0", None, "not-acceptable"),
        (None, "xml", "bad-format"),
        (None, "", "bad-format"),
    ],
)
def test_refusals(accept: str | None, requested: str | None, code: str) -> None:
    with pytest.raises(InputError) as refused:
        _chosen(accept, requested)
    assert refused.value.code == code and refused.value.rid == "R-REP-2"


def test_pem_is_what_cryptography_writes() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "pem")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(Encoding.DER)
    assert pem(der, "CERTIFICATE") == certificate.public_bytes(Encoding.PEM)


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "first", "", "9" * 19, "١"])
def test_path_numbers_are_positive_and_64_bit(text: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_number(text, "a CRL number", "R-REP-5")
    assert refused.value.code == "bad-number"


def test_path_numbers() -> None:
    assert parse_number("7", "a CRL number", "R-REP-5") == 7
    assert parse_number("9" * 18, "a CRL number", "R-REP-5") == int("9" * 18)
