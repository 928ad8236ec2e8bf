"""CRLs and ARLs as the validator reads them: parsed once, looked up by serial (R-RP-1).

A relying party builds one :class:`RevocationLists` from the lists it fetched (the
Organisation CRL and ARL, the Device ARL, the IKI CRL and ARL, R-REP-1) and reuses it for
every certificate: each list's revoked serials are a dict (a set lookup per certificate), and
a list's signature is checked once per issuing certificate.

A list belongs to a CA when its issuer name is byte-identical to the CA's subject and its
authorityKeyIdentifier (when present) names the CA's key; it counts only if the CA's key
verifies its ecdsa-with-SHA256 signature. Whether it is current is the caller's question
(``current_at``): thisUpdate ≤ at ≤ nextUpdate, R-RP-1 "CRLs must be fresh".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography import x509

from smki.errors import MalformedInput
from smki.lint.raw import children, read_one
from smki.validation.certificate import (
    Certificate,
    display_name,
    is_ecdsa_sha256,
    verify_signature,
)
from smki.x509 import der


@dataclass(frozen=True, eq=False)
class RevocationList:
    """One full CRL or ARL (R-REP-5)."""

    der: bytes
    issuer_der: bytes
    issuer_text: str
    authority_key_id: bytes | None
    number: int | None
    this_update: dt.datetime
    next_update: dt.datetime | None
    #: serial → revocationDate of every entry.
    revoked: Mapping[int, dt.datetime]
    tbs: bytes
    signature: bytes
    signature_is_ecdsa_sha256: bool
    parsed: x509.CertificateRevocationList = field(repr=False)

    def current_at(self, at: dt.datetime) -> bool:
        return self.next_update is not None and self.this_update <= at <= self.next_update

    def reason_for(self, serial: int) -> str | None:
        """The entry's CRLReason name (e.g. ``keyCompromise``), looked up only when reporting."""
        entry = self.parsed.get_revoked_certificate_by_serial_number(serial)
        if entry is None:
            return None
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            return None
        return str(reason.value)  # RFC 5280 names: keyCompromise, cACompromise, …

    def label(self, kind: str) -> str:
        """``the CRL number 3 from OU=07, CN=Z1``; ``kind`` is CRL or ARL."""
        number = f" number {self.number}" if self.number is not None else ""
        return f"the {kind}{number} from {self.issuer_text}"


def _tbs_issuer(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(tbsCertList, its issuer Name, signatureAlgorithm) exactly as encoded."""
    outer = read_one(data, "CRL")
    top = children(outer.value)
    if outer.tag != der.SEQUENCE or len(top) != 3:
        raise MalformedInput("not a CertificateList")
    fields = children(top[0].value)
    if fields and fields[0].tag == der.INTEGER:
        fields = fields[1:]  # version
    if len(fields) < 2:
        raise MalformedInput("tbsCertList lacks its issuer")
    return top[0].encoded, fields[1].encoded, top[1].encoded


def parse_crl(data: bytes) -> RevocationList:
    """Parse one DER CRL/ARL; MalformedInput when it is not one."""
    try:
        crl = x509.load_der_x509_crl(data)
        tbs, issuer_der, algorithm = _tbs_issuer(data)
        try:
            aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
            key_id = aki.key_identifier
        except x509.ExtensionNotFound:
            key_id = None
        try:
            number: int | None = crl.extensions.get_extension_for_class(
                x509.CRLNumber
            ).value.crl_number
        except x509.ExtensionNotFound:
            number = None
        revoked = {entry.serial_number: entry.revocation_date_utc for entry in crl}
        issuer_text = display_name(crl.issuer)
    except ValueError as exc:
        raise MalformedInput(f"the CRL cannot be parsed: {exc}") from exc
    return RevocationList(
        der=data,
        issuer_der=issuer_der,
        issuer_text=issuer_text,
        authority_key_id=key_id,
        number=number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        revoked=revoked,
        tbs=tbs,
        signature=crl.signature,
        signature_is_ecdsa_sha256=is_ecdsa_sha256(algorithm),
        parsed=crl,
    )


@dataclass(frozen=True)
class IssuedLists:
    """The lists naming one CA as issuer: those its key verifies, and those it does not."""

    verified: tuple[RevocationList, ...]
    forged: tuple[RevocationList, ...]


class RevocationLists:
    """Every CRL and ARL a relying party holds, indexed by issuer name."""

    def __init__(self, lists: Iterable[RevocationList]) -> None:
        self._by_issuer: dict[bytes, list[RevocationList]] = {}
        for item in lists:
            self._by_issuer.setdefault(item.issuer_der, []).append(item)
        # (list, issuer certificate DER) → signature verifies; each list is checked once per
        # issuer however many certificates are validated.
        self._verified: dict[tuple[RevocationList, bytes], bool] = {}

    @classmethod
    def from_der(cls, crls: Iterable[bytes]) -> RevocationLists:
        """Parse every list once; MalformedInput names the bad one (``CRL 2: …``)."""
        parsed = []
        for number, data in enumerate(crls, start=1):
            try:
                parsed.append(parse_crl(data))
            except MalformedInput as exc:
                raise MalformedInput(f"CRL {number}: {exc.detail}") from exc
        return cls(parsed)

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_issuer.values())

    def issued_by(self, issuer: Certificate) -> IssuedLists:
        """The lists whose issuer name and key identifier are ``issuer``'s, split by whether
        ``issuer``'s key verifies their signature."""
        verified: list[RevocationList] = []
        forged: list[RevocationList] = []
        for item in self._by_issuer.get(issuer.subject_der, ()):
            if item.authority_key_id is not None and item.authority_key_id not in issuer.key_ids:
                continue  # another key of a CA with the same name (rotation): not this CA's
            key = (item, issuer.der)
            good = self._verified.get(key)
            if good is None:
                good = self._verified[key] = verify_signature(
                    issuer.public_key, item.signature_is_ecdsa_sha256, item.signature, item.tbs
                )
            (verified if good else forged).append(item)
        return IssuedLists(tuple(verified), tuple(forged))
