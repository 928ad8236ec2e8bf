"""Certificate and CRL lints: GBCS profile lints plus RFC 5280 via pkilint (R-PROF-40).

One lint per module (or a few tightly related ones); each has a stable name (``gbcs.*``,
``iki.*``, ``dccki.*``, ``pkilint.<code>``) and cites the requirement it enforces.
"""

from smki.lint.finding import CertKind, Finding, Severity, errors_only
from smki.lint.loading import load_any
from smki.lint.runner import lint_certificate, lint_crl

__all__ = [
    "CertKind",
    "Finding",
    "Severity",
    "errors_only",
    "lint_certificate",
    "lint_crl",
    "load_any",
]
