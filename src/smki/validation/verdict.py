"""What a relying-party check answers: a verdict with a stable reason (R-RP-1…3).

A refusal always names one :class:`Reason`; its value is the stable code that the CLI prints,
the JSON carries and docs/validation.md documents. ``detail`` is for people and may change
wording; ``reason`` never does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any


class Reason(enum.StrEnum):
    """Why a certificate must not be relied on; the value is the stable code."""

    MALFORMED = "malformed"
    PROFILE_VIOLATION = "profile-violation"
    WRONG_DEVICE = "wrong-device"
    WRONG_USAGE = "wrong-usage"
    UNKNOWN_ISSUER = "unknown-issuer"
    BAD_SIGNATURE = "bad-signature"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    CA_REVOKED = "ca-revoked"
    REVOKED = "revoked"
    STALE_CRL = "stale-crl"
    CRL_MISSING = "crl-missing"
    SUSPENDED = "suspended"

    @property
    def rid(self) -> str:
        """The requirement the refusal enforces."""
        return _RIDS.get(self, "R-RP-1")


_RIDS = {
    Reason.MALFORMED: "R-RP-3",
    Reason.PROFILE_VIOLATION: "R-RP-2",
    Reason.WRONG_DEVICE: "R-RP-2",
    Reason.WRONG_USAGE: "R-RP-2",
    Reason.SUSPENDED: "R-GOV-3",
}


@dataclass(frozen=True)
class CertificateSummary:
    """One certificate of the path, as a person reads it."""

    #: "leaf", "intermediate" or "trust anchor" (a leaf that is itself an anchor: "trust anchor").
    role: str
    subject: str
    serial: str  # upper-case hex
    issuer: str
    #: The profile detected by the linter: device, organisation, root-ca, issuing-ca, unknown.
    kind: str
    not_before: dt.datetime
    not_after: dt.datetime


@dataclass(frozen=True)
class Verdict:
    """The answer to "may I rely on this certificate at ``at``?".

    ``ok`` is True only when every check passed; then ``reason`` is None. ``path`` runs from
    the certificate to its trust anchor (as far as it could be built when the refusal came
    from path building). ``notes`` say what was accepted without being checked (a missing
    CRL under ``require_crls=False``, the absent Device CRL) and report lint warnings.
    """

    ok: bool
    reason: Reason | None
    detail: str
    path: tuple[CertificateSummary, ...]
    notes: tuple[str, ...]
    at: dt.datetime

    @property
    def code(self) -> str | None:
        """The reason's stable code as a plain string (None when valid)."""
        return None if self.reason is None else self.reason.value

    def as_json(self) -> dict[str, Any]:
        """The verdict as JSON values: what ``smki verify --json`` prints and what the
        repository's validation endpoint answers (times in ISO 8601)."""
        return {
            "ok": self.ok,
            "reason": self.code,
            "detail": self.detail,
            "path": [
                {
                    **dataclasses.asdict(entry),
                    "not_before": entry.not_before.isoformat(),
                    "not_after": entry.not_after.isoformat(),
                }
                for entry in self.path
            ],
            "notes": list(self.notes),
            "at": self.at.isoformat(),
        }


class Refusal(Exception):
    """Raised inside the validation package by a failing check; ``validate`` turns it into
    a refused :class:`Verdict`. It never escapes the package."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
