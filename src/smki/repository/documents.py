"""The SMKI Document Set and the CPSs, versioned, with their approving decision (R-DOC-1/2)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Final

from smki.errors import InputError, NotFound
from smki.profiles.kinds import Environment
from smki.ra.repository_access import Reader, require_confidential_access
from smki.storage.api import DocumentRow, Transaction

MAX_DOCUMENT_BYTES: Final = 32 * 1024 * 1024
#: The media types a document may be published as, and the file name extension a download
#: of each is given (the portal and the repository API name their attachments alike).
DOCUMENT_EXTENSIONS: Final = {
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/html": ".html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
MEDIA_TYPES: Final = frozenset(DOCUMENT_EXTENSIONS)


class DocumentKind(enum.StrEnum):
    """R-DOC-1 (public to repository readers) and R-DOC-2 (the confidential CPSs)."""

    DEVICE_CP = "device-cp"
    ORGANISATION_CP = "organisation-cp"
    IKI_CP = "iki-cp"
    RAPP = "rapp"
    RECOVERY_PROCEDURE = "recovery-procedure"
    COMPLIANCE_POLICY = "compliance-policy"
    INTERFACE_DESIGN_SPECIFICATION = "interface-design-specification"
    CODE_OF_CONNECTION = "code-of-connection"
    REPOSITORY_IDS = "repository-ids"
    REPOSITORY_CODE_OF_CONNECTION = "repository-code-of-connection"
    SREPT_DOCUMENT = "srept-document"
    RECOVERY_KEY_GUIDANCE = "recovery-key-guidance"
    DCCKI_CP = "dccki-cp"
    DCCKI_RAPP = "dccki-rapp"
    DCCKI_IDS = "dccki-ids"
    DCCKI_CODE_OF_CONNECTION = "dccki-code-of-connection"
    DCCKI_REPOSITORY_IDS = "dccki-repository-ids"
    DEVICE_CPS = "device-cps"
    ORGANISATION_CPS = "organisation-cps"
    IKI_CPS = "iki-cps"

    @property
    def confidential(self) -> bool:
        return self in CONFIDENTIAL

    @classmethod
    def parse(cls, text: str) -> DocumentKind:
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise InputError(
                f"unknown document kind {text[:60]!r}; use one of {known}",
                code="bad-document-kind",
                rid="R-DOC-1",
            ) from None


CONFIDENTIAL: Final = frozenset(
    {DocumentKind.DEVICE_CPS, DocumentKind.ORGANISATION_CPS, DocumentKind.IKI_CPS}
)


def publish_document(
    tx: Transaction,
    env: Environment,
    kind: DocumentKind,
    title: str,
    media_type: str,
    content: bytes,
    approved_by: str,
    actor: str,
    at: dt.datetime,
) -> DocumentRow:
    """Store the next version of ``kind``, approved by the named PMA decision (R-DOC-1)."""
    if not content:
        raise InputError("the document is empty", code="empty-document", rid="R-DOC-1")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InputError(
            f"the document exceeds {MAX_DOCUMENT_BYTES} bytes",
            code="document-too-large",
            rid="R-DOC-1",
        )
    if media_type not in MEDIA_TYPES:
        raise InputError(
            f"media type {media_type[:60]!r} is not one of {', '.join(sorted(MEDIA_TYPES))}",
            code="bad-media-type",
            rid="R-DOC-1",
        )
    title, approved_by = title.strip(), approved_by.strip()
    if not title or not approved_by:
        raise InputError(
            "a document needs a title and the PMA decision that approved it",
            code="document-unapproved",
            rid="R-DOC-1",
        )
    row = tx.add_document(
        env,
        kind,
        title,
        media_type,
        content,
        kind.confidential,
        approved_by,
        actor,
        at,
    )
    tx.audit(
        actor,
        "document.published",
        f"document:{env}:{kind}:{row.version}",
        {
            "title": title,
            "sha256": row.sha256.hex(),
            "size": row.size,
            "approved_by": approved_by,
            "confidential": row.confidential,
        },
    )
    return row


def visible_documents(tx: Transaction, reader: Reader) -> list[DocumentRow]:
    """Every version the reader may see; the CPSs are not even listed to others (R-DOC-2)."""
    return [
        row for row in tx.documents(reader.env) if reader.reads_confidential or not row.confidential
    ]


def read_document(
    tx: Transaction, reader: Reader, kind: DocumentKind, version: int | None
) -> DocumentRow:
    if kind.confidential:
        require_confidential_access(reader, f"the {kind.value} document")
    row = tx.document(reader.env, kind, version)
    if row is None:
        which = "any version" if version is None else f"version {version}"
        raise NotFound(
            f"{kind.value} has no {which} published", code="document-not-found", rid="R-DOC-1"
        )
    return row
