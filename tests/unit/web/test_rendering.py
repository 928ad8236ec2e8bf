"""Portal pages rendered without a server: escaping, labels, PEM, file names (R-REP-7)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from smki.profiles.kinds import Environment
from smki.ra.repository_access import Reader, ReaderKind
from smki.repository.views import CertificateView
from smki.web.downloads import file_name
from smki.web.rendering import SECURITY_HEADERS, pem_text, render, when
from smki.web.session import ended_reason_of, sign_in_url

READER = Reader(ReaderKind.SEC_PANEL, Environment.TEST, 3, "<b>Panel</b> & Co", 9)


def _view(**changes: object) -> CertificateView:
    fields: dict[str, object] = {
        "serial": "10" * 16,
        "issuer": "issuing-dca",
        "kind": "device",
        "subject": "",
        "eui64": "00DB1234567890C1",
        "role": None,
        "role_name": None,
        "key_usage": "ka",
        "key_usage_name": "keyAgreement",
        "status": "in-use",
        "not_before": "2026-11-25T10:00:00Z",
        "not_after": None,
        "issued_at": "2026-11-25T10:00:01Z",
        "revoked_at": None,
        "revocation_reason": None,
    }
    fields.update(changes)
    return CertificateView(**fields)  # type: ignore[arg-type]


def _self_signed() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "t")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x10AB)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_every_page_escapes_what_it_shows_and_carries_the_headers() -> None:
    hostile = _view(subject='CN=<script>alert("x")</script>', kind="<i>device</i>")
    response = render(
        "certificate.html", reader=READER, view=hostile, pem="", der_url="/d", pem_url="/p"
    )
    html = bytes(response.body).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<i>device" not in html
    assert "&lt;b&gt;Panel&lt;/b&gt; &amp; Co" in html  # who is signed in, escaped
    assert "SEC Panel" in html and 'action="/portal/sign-out"' in html
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["content-security-policy"] == "default-src 'self'"


def test_a_device_certificate_never_expires_and_a_revoked_one_says_when_and_why() -> None:
    html = bytes(
        render("certificate.html", reader=READER, view=_view(), pem="", der_url="", pem_url="").body
    ).decode()
    assert "never expires" in html
    revoked = _view(
        kind="organisation",
        role=2,
        role_name="supplier",
        status="revoked",
        not_after="2036-11-25T10:00:00Z",
        revoked_at="2026-11-26T09:30:00Z",
        revocation_reason="keyCompromise",
    )
    html = bytes(
        render("certificate.html", reader=READER, view=revoked, pem="", der_url="", pem_url="").body
    ).decode()
    assert "supplier (2)" in html
    assert "revoked 2026-11-26 09:30:00 UTC, reason keyCompromise" in html
    assert "2036-11-25 10:00:00 UTC" in html and "never expires" not in html


def test_the_sign_in_page_shows_no_reader() -> None:
    response = render(
        "sign_in.html",
        reader=None,
        status=401,
        audience="/portal/sign-in",
        code="token-audience",
        detail="made for <another> path",
        ended=None,
        ended_message="",
    )
    html = bytes(response.body).decode()
    assert response.status_code == 401
    assert "Sign out" not in html
    assert "token-audience" in html and "made for &lt;another&gt; path" in html
    assert "--aud /portal/sign-in" in html


def test_pem_text_is_what_openssl_and_cryptography_read() -> None:
    certificate = _self_signed()
    pem = pem_text(certificate.public_bytes(Encoding.DER))
    assert pem == certificate.public_bytes(Encoding.PEM).decode()
    assert x509.load_pem_x509_certificate(pem.encode()) == certificate


def test_when_shows_utc() -> None:
    assert when("2026-11-25T10:00:00Z") == "2026-11-25 10:00:00 UTC"
    summer = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert when(summer) == "2026-07-01 11:00:00 UTC"
    assert when(None) == ""


def test_file_names_are_safe_in_a_header() -> None:
    assert file_name("issuing-oca-crl-2", ".crl") == "issuing-oca-crl-2.crl"
    assert file_name('a"b\r\nc/../d', ".pem") == "a_b__c_.._d.pem"
    assert len(file_name("x" * 500, ".cer")) == 104


def test_only_a_code_travels_in_the_sign_in_url() -> None:
    assert sign_in_url(None) == "/portal/"
    assert sign_in_url("session-expired") == "/portal/?ended=session-expired"
    assert sign_in_url("<script>") == "/portal/"
    assert ended_reason_of("session-expired") == "session-expired"
    assert ended_reason_of("Bad Reason!") is None
    assert ended_reason_of("") is None
