"""What a lint reports: findings, severities and certificate kinds (R-PROF-40).

A :class:`Finding` names the lint that produced it (``gbcs.*``, ``iki.*``, ``dccki.*`` for
ours, ``pkilint.<code>`` for RFC 5280 findings from pkilint) and the requirement it enforces,
so that a refusal at issuance time and a failing vector test say the same thing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

#: "error" blocks issuance (R-PROF-40); "warning" and "notice" are reported only.
Severity = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Finding:
    """One problem found by one lint."""

    lint: str
    rid: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.lint} [{self.rid}] {self.message}"


class CertKind(enum.StrEnum):
    """The profile a certificate is linted against (SPEC §2).

    ``UNKNOWN`` is what detection yields when a certificate looks like none of the SMKI kinds;
    only the lints common to every SMKI certificate (R-PROF-1…5) run then. IKI and DCCKI
    certificates are never detected: the caller that issued them says so.
    """

    DEVICE = "device"
    ORGANISATION = "organisation"
    ROOT_CA = "root-ca"
    ISSUING_CA = "issuing-ca"
    IKI = "iki"
    DCCKI_TLS = "dccki-tls"
    UNKNOWN = "unknown"


#: Kinds held to the GBCS SMKI profile (R-PROF-1…31).
SMKI_KINDS = frozenset(
    {
        CertKind.DEVICE,
        CertKind.ORGANISATION,
        CertKind.ROOT_CA,
        CertKind.ISSUING_CA,
        CertKind.UNKNOWN,
    }
)
END_ENTITY_KINDS = frozenset({CertKind.DEVICE, CertKind.ORGANISATION})
CA_KINDS = frozenset({CertKind.ROOT_CA, CertKind.ISSUING_CA})
#: Kinds whose exact extension list the profile fixes (R-PROF-13, R-PROF-23, R-PROF-30, R-PROF-31).
PROFILED_KINDS = END_ENTITY_KINDS | CA_KINDS
ALL_KINDS = frozenset(CertKind)


def errors_only(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that block issuance."""
    return [f for f in findings if f.severity == "error"]
