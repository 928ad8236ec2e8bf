"""Trust anchors and known CA certificates, parsed, linted and checked once (R-RP-1).

A relying party builds one :class:`TrustStore` from the roots it trusts (and, optionally, the
issuing CA certificates it knows) and validates any number of certificates against it: the
anchors' and intermediates' parsing, linting and signature checks are never repeated.

A trust anchor is trusted as configured. A self-signed anchor must still verify against its
own key (a corrupted root copy is refused, not trusted); an anchor that is not self-signed
(the observed Issuing OCA "Z1", whose root "ZA" is not public) is trusted as given, and the
verdict says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from smki.errors import MalformedInput
from smki.validation.certificate import Certificate, parse_certificate


def parse_numbered(what: str, documents: Iterable[bytes], *, rfc5280: bool) -> list[Certificate]:
    """Parse each DER certificate; MalformedInput names which one (``trust anchor 2: …``)."""
    parsed = []
    for number, data in enumerate(documents, start=1):
        try:
            parsed.append(parse_certificate(data, rfc5280=rfc5280))
        except MalformedInput as exc:
            raise MalformedInput(f"{what} {number}: {exc.detail}") from exc
    return parsed


def _by_subject(certificates: Iterable[Certificate]) -> dict[bytes, list[Certificate]]:
    index: dict[bytes, list[Certificate]] = {}
    seen: set[bytes] = set()
    for cert in certificates:
        if cert.der not in seen:
            seen.add(cert.der)
            index.setdefault(cert.subject_der, []).append(cert)
    return index


class TrustStore:
    """Anchors (trusted) and intermediates (untrusted, used to build paths), by subject."""

    def __init__(
        self, anchors: Iterable[Certificate], intermediates: Iterable[Certificate] = ()
    ) -> None:
        self._anchors = _by_subject(anchors)
        self._anchor_der = {a.der for group in self._anchors.values() for a in group}
        pool = [c for c in intermediates if c.der not in self._anchor_der]
        self._intermediates = _by_subject(pool)
        self._members = {c for group in self._anchors.values() for c in group} | set(pool)
        # Self-signature of each self-issued anchor, checked once here.
        self._self_signed = {
            a: a.signed_by(a.public_key)
            for group in self._anchors.values()
            for a in group
            if a.self_issued
        }
        # Signatures between store members, memoised (children and issuers both long-lived).
        self._verified: dict[tuple[Certificate, Certificate], bool] = {}

    @classmethod
    def from_der(cls, anchors: Iterable[bytes], intermediates: Iterable[bytes] = ()) -> TrustStore:
        """Parse and lint the anchors and intermediates once; MalformedInput names the bad one."""
        return cls(
            parse_numbered("trust anchor", anchors, rfc5280=True),
            parse_numbered("chain certificate", intermediates, rfc5280=True),
        )

    @property
    def anchors(self) -> tuple[Certificate, ...]:
        return tuple(a for group in self._anchors.values() for a in group)

    def is_anchor(self, cert: Certificate) -> bool:
        """Byte-identical to a configured anchor: a copy with another signature is not one."""
        return cert.der in self._anchor_der

    def anchor(self, cert: Certificate) -> Certificate:
        """The store's own object for an anchor (its lint findings and checks are cached)."""
        return next(a for a in self._anchors.get(cert.subject_der, ()) if a.der == cert.der)

    def self_signature_ok(self, anchor: Certificate) -> bool | None:
        """Whether a self-issued anchor verifies with its own key; None if not self-issued."""
        return self._self_signed.get(anchor)

    def anchors_with_tbs(self, cert: Certificate) -> list[Certificate]:
        """Anchors signed over exactly this certificate's TBS but with other bytes: the
        certificate is then a re-signed (or corrupted) copy of an anchor."""
        return [
            a
            for a in self._anchors.get(cert.subject_der, ())
            if a.tbs == cert.tbs and a.der != cert.der
        ]

    def named(self, issuer_der: bytes, extra: Iterable[Certificate]) -> list[Certificate]:
        """Every certificate whose subject is ``issuer_der``: anchors first, then the store's
        intermediates, then ``extra`` (the caller's chain), without duplicates."""
        found = [*self._anchors.get(issuer_der, ()), *self._intermediates.get(issuer_der, ())]
        known = {c.der for c in found}
        for cert in extra:
            if cert.subject_der == issuer_der and cert.der not in known:
                known.add(cert.der)
                found.append(cert)
        return found

    def verifies(self, child: Certificate, issuer: Certificate) -> bool:
        """``child``'s signature with ``issuer``'s key, memoised between store members."""
        if child not in self._members or issuer not in self._members:
            return child.signed_by(issuer.public_key)
        key = (child, issuer)
        known = self._verified.get(key)
        if known is None:
            known = self._verified[key] = child.signed_by(issuer.public_key)
        return known
