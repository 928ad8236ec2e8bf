"""The shape of a lint: a named function with its requirement id and scope (R-PROF-40).

A certificate lint is a function ``CertContext -> Iterator[str]`` yielding one message per
problem, wrapped by :func:`cert_lint` into a :class:`CertLint` that carries its stable name,
its R-id, the certificate kinds it applies to and its severity. CRL lints are the same over
:class:`~smki.lint.raw.RawCrl`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from smki.errors import SmkiError
from smki.lint.context import CertContext
from smki.lint.finding import CertKind, Finding, Severity
from smki.lint.raw import RawCrl

CertCheck = Callable[[CertContext], Iterator[str]]
CrlCheck = Callable[[RawCrl], Iterator[str]]


@dataclass(frozen=True)
class CertLint:
    name: str
    rid: str
    kinds: frozenset[CertKind]
    check: CertCheck
    severity: Severity = "error"
    #: A different R-id where a kind's own requirement says it (e.g. extension order).
    rid_by_kind: Mapping[CertKind, str] = field(default_factory=dict)
    #: Only run when the caller asks for the issuance-time serial rule.
    strict_serial_only: bool = False

    def applies(self, ctx: CertContext) -> bool:
        if self.strict_serial_only and not ctx.options.strict_serial:
            return False
        return ctx.kind in self.kinds

    def run(self, ctx: CertContext) -> list[Finding]:
        rid = self.rid_by_kind.get(ctx.kind, self.rid)
        try:
            messages = list(self.check(ctx))
        except SmkiError as exc:
            # A value too malformed to judge is itself a violation of the rule that reads it.
            messages = [f"cannot be checked: {exc.detail}"]
        return [Finding(self.name, rid, self.severity, m) for m in messages]


def cert_lint(
    name: str,
    rid: str,
    kinds: Iterable[CertKind],
    *,
    severity: Severity = "error",
    rid_by_kind: Mapping[CertKind, str] | None = None,
    strict_serial_only: bool = False,
) -> Callable[[CertCheck], CertLint]:
    """Decorator turning a check function into a registered-by-module CertLint."""

    def wrap(check: CertCheck) -> CertLint:
        return CertLint(
            name=name,
            rid=rid,
            kinds=frozenset(kinds),
            check=check,
            severity=severity,
            rid_by_kind=dict(rid_by_kind or {}),
            strict_serial_only=strict_serial_only,
        )

    return wrap


@dataclass(frozen=True)
class CrlLint:
    name: str
    rid: str
    check: CrlCheck
    severity: Severity = "error"

    def run(self, crl: RawCrl) -> list[Finding]:
        try:
            messages = list(self.check(crl))
        except SmkiError as exc:
            messages = [f"cannot be checked: {exc.detail}"]
        return [Finding(self.name, self.rid, self.severity, m) for m in messages]


def crl_lint(name: str, rid: str, *, severity: Severity = "error") -> Callable[[CrlCheck], CrlLint]:
    def wrap(check: CrlCheck) -> CrlLint:
        return CrlLint(name=name, rid=rid, check=check, severity=severity)

    return wrap
