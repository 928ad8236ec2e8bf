"""One exception root for smki.

Every error carries a stable ``code`` (used as the problem+json type suffix and in CLI
messages), a ``detail`` that is safe to show to the caller, and the requirement id (R-…) that
the refusal enforces. Internals are logged, never put into ``detail``.
"""

from __future__ import annotations


class SmkiError(Exception):
    """Root of every error smki raises on purpose."""

    code = "smki-error"
    rid = ""
    #: CLI exit status for this family of errors; the CLI edge maps it in one table.
    exit_status = 1

    def __init__(self, detail: str, *, code: str | None = None, rid: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if rid is not None:
            self.rid = rid

    def __str__(self) -> str:
        suffix = f" [{self.rid}]" if self.rid else ""
        return f"{self.code}: {self.detail}{suffix}"


class InputError(SmkiError):
    """The caller handed us something malformed or not allowed; nothing was changed."""

    code = "bad-input"
    exit_status = 2


class MalformedInput(InputError):
    code = "malformed"


class CsrRefused(InputError):
    """A CSR was refused; ``code`` names the rule (each refusal has its own code)."""

    code = "csr-refused"
    rid = "R-SI-3"


class ProfileViolation(InputError):
    code = "profile-violation"
    rid = "R-PROF-40"


class NotFound(SmkiError):
    code = "not-found"
    exit_status = 3


class Conflict(SmkiError):
    """The request contradicts the current state (already exists, already revoked, …)."""

    code = "conflict"
    exit_status = 4


class ConfigError(SmkiError):
    code = "config"
    exit_status = 5


class KeyStoreError(SmkiError):
    code = "keystore"
    rid = "R-CA-3"
    exit_status = 6


class StorageError(SmkiError):
    code = "storage"
    rid = "R-X-2"
    exit_status = 7


class IntegrityError(SmkiError):
    """Stored data failed a consistency check (audit chain, signed bytes, …)."""

    code = "integrity"
    exit_status = 8


class Unauthenticated(SmkiError):
    """The caller could not be authenticated (HTTP 401): bad, expired or replayed token."""

    code = "unauthenticated"
    rid = "R-IKI-1"
    exit_status = 9


class Forbidden(SmkiError):
    """The caller is known but not entitled (HTTP 403): not Authorised, not eligible."""

    code = "forbidden"
    exit_status = 10


class NotValid(SmkiError):
    """A relying-party check refused a certificate (R-RP-1…3); ``code`` is the stable
    refusal reason (``revoked``, ``expired``, …, docs/validation.md)."""

    code = "not-valid"
    rid = "R-RP-3"
    exit_status = 11
