"""What the CA asks of a linter before it signs (R-PROF-40)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smki.errors import ProfileViolation
from smki.profiles.kinds import CertKind


class PreSignLinter(Protocol):
    def __call__(self, precertificate: bytes, kind: CertKind) -> Sequence[str]:
        """Error findings (empty when clean) for a pre-certificate of ``kind``."""
        ...


def require_clean(linter: PreSignLinter, precertificate: bytes, kind: CertKind) -> None:
    problems = linter(precertificate, kind)
    if problems:
        raise ProfileViolation(
            f"the {kind} certificate failed its profile lints: " + "; ".join(problems),
            code="lint-failed",
        )
