"""Reading certificates and CRLs for validation: PEM (several blocks) or DER (R-RP-3)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from smki.errors import InputError, MalformedInput
from smki.validation import (
    certificates_from,
    crls_from,
    load_certificate,
    load_certificates,
    load_crls,
)
from tests.unit.validation.pki import Hierarchies, hierarchies


def pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


@pytest.fixture(scope="module")
def pki() -> Hierarchies:
    return hierarchies()


def test_der_and_pem_with_several_blocks(pki: Hierarchies, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        pem("CERTIFICATE", pki.root_oca.der) + pem("CERTIFICATE", pki.issuing_oca.der)
    )
    single = tmp_path / "org.der"
    single.write_bytes(pki.org_ds)
    assert load_certificates(bundle, single) == [pki.root_oca.der, pki.issuing_oca.der, pki.org_ds]
    assert load_certificate(single) == pki.org_ds
    lists = tmp_path / "lists.pem"
    lists.write_bytes(b"".join(pem("X509 CRL", crl) for crl in pki.org_lists))
    assert load_crls(lists) == list(pki.org_lists)
    assert crls_from(pki.org_lists[0]) == [pki.org_lists[0]]


def test_the_wrong_kind_of_object_is_named(pki: Hierarchies, tmp_path: Path) -> None:
    crl = tmp_path / "organisation.crl"
    crl.write_bytes(pem("X509 CRL", pki.org_lists[0]))
    with pytest.raises(MalformedInput, match=r"organisation\.crl holds a CRL, not a certificate"):
        load_certificates(crl)
    mixed = pem("CERTIFICATE", pki.root_oca.der) + pem("X509 CRL", pki.org_lists[0])
    with pytest.raises(MalformedInput, match=r"PEM block 1\) holds a certificate, not a CRL"):
        crls_from(mixed, "mixed.pem")


def test_one_certificate_is_expected_where_one_is_checked(pki: Hierarchies, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem("CERTIFICATE", pki.org_ds) + pem("CERTIFICATE", pki.issuing_oca.der))
    with pytest.raises(MalformedInput, match="holds 2 certificates") as caught:
        load_certificate(bundle)
    assert caught.value.exit_status == 2


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(MalformedInput, match="text without a PEM block"):
        certificates_from(b"hello", "hello.txt")
    with pytest.raises(InputError) as caught:
        load_certificates(tmp_path / "absent.pem")
    assert caught.value.code == "unreadable-file" and caught.value.exit_status == 2
