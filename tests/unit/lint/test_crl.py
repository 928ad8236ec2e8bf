"""CRL/ARL lints with a positive and a negative case each (R-REP-5, R-PROF-1, R-PROF-5)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from smki.errors import MalformedInput
from smki.lint import lint_crl
from smki.lint.registry import CRL_LINTS
from smki.x509 import der
from tests.unit.lint import builders as b

# tbsCertList field positions in a cryptography-built v2 CRL with entries:
# version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] crlExtensions.
VERSION, SIGNATURE, ISSUER, THIS_UPDATE, NEXT_UPDATE, REVOKED = range(6)


def edited(edit: Callable[[list[bytes]], list[bytes]], algorithm: bytes | None = None) -> bytes:
    return b.rebuild_crl(b.crl(revoked=1), edit, algorithm=algorithm)


def drop(index: int) -> Callable[[list[bytes]], list[bytes]]:
    return lambda fields: fields[:index] + fields[index + 1 :]


def set_field(index: int, value: bytes) -> Callable[[list[bytes]], list[bytes]]:
    def edit(fields: list[bytes]) -> list[bytes]:
        fields[index] = value
        return fields

    return edit


NEGATIVE: dict[str, Callable[[], bytes]] = {
    "gbcs.crl_version": lambda: edited(drop(VERSION)),
    "gbcs.crl_number": lambda: b.crl(number=None),
    "gbcs.crl_aki_keyid": lambda: b.crl(with_aki=False),
    "gbcs.crl_next_update": lambda: edited(drop(NEXT_UPDATE)),
    "gbcs.crl_signature_algorithm": lambda: edited(
        set_field(SIGNATURE, b.ECDSA_SHA256_NULL), algorithm=b.ECDSA_SHA256_NULL
    ),
    "gbcs.crl_time_encoding": lambda: edited(
        set_field(THIS_UPDATE, der.tlv(der.GENERALIZED_TIME, b"20250901000000Z"))
    ),
}


def test_every_crl_lint_has_a_negative_case() -> None:
    assert set(NEGATIVE) == {lint.name for lint in CRL_LINTS}


@pytest.mark.parametrize("revoked", [0, 2])
def test_crl_built_with_cryptography_is_clean(revoked: int) -> None:
    # Positive case for every CRL lint, pkilint's RFC 5280 CRL lints included.
    assert [f for f in lint_crl(b.crl(revoked=revoked)) if f.severity != "notice"] == []


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_crl_negative(name: str) -> None:
    findings = lint_crl(NEGATIVE[name]())
    assert name in {f.lint for f in findings}


def test_missing_crl_number_is_also_a_pkilint_error() -> None:
    found = {(f.lint, f.severity) for f in lint_crl(b.crl(number=None))}
    assert ("gbcs.crl_number", "error") in found
    assert ("pkilint.pkix.crl_number_missing", "error") in found


def test_revocation_dates_are_checked() -> None:
    # Replace the revocationDate of the single entry with a GeneralizedTime before 2050.
    def edit(fields: list[bytes]) -> list[bytes]:
        entry = der.sequence(
            der.integer(b.SERIAL), der.tlv(der.GENERALIZED_TIME, b"20250901000000Z")
        )
        fields[REVOKED] = der.sequence(entry)
        return fields

    findings = lint_crl(edited(edit), rfc5280=False)
    assert any(
        "revocationDate" in f.message for f in findings if f.lint == "gbcs.crl_time_encoding"
    )


def test_a_certificate_is_not_a_crl() -> None:
    with pytest.raises(MalformedInput):
        lint_crl(b.build("device"))
