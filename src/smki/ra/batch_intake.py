"""Batched CSRs, intake (R-SI-2): the upload is accepted or refused whole.

``submit_batch`` checks size, format and authorisation and stores the batch, every CSR and
the audit event in one transaction; the response is due by the SEC deadline
(``smki.calendar.batch_deadline``). Nothing is stored for a refusal. ``ra/batches.py`` issues
what was accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from typing import Final

from cryptography import x509

from smki.calendar import batch_deadline
from smki.clock import Clock
from smki.errors import (
    Forbidden,
    InputError,
    MalformedInput,
)
from smki.ra.status import load_party, require_authorised
from smki.storage.api import BatchRow, Store, Transaction

log = logging.getLogger(__name__)

#: R-SI-2: a batch is more than one and at most 50,000 Device CSRs.
MIN_BATCH: Final = 2
MAX_BATCH: Final = 50_000
#: 50,000 PEM Device CSRs take about 30 MiB; anything much larger is not a batch.
MAX_BODY_BYTES: Final = 40 * 1024 * 1024

_BEGIN: Final = b"-----BEGIN "
_END: Final = b"-----END "
_DASHES: Final = b"-----"
_CSR_LABELS: Final = frozenset({b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"})


# -- intake -----------------------------------------------------------------------------------


def split_pem_csrs(body: bytes) -> list[bytes]:
    """The DER of each ``CERTIFICATE REQUEST`` block of a concatenated PEM upload.

    Only whitespace may surround the blocks. Refuses the whole upload (InputError):
    ``too-large`` over 40 MiB, ``batch-too-large`` over 50,000 blocks (counted before any
    decoding), ``malformed-batch`` naming the first bad block (index from 0). Proof of
    possession and the Device profile are checked later, per CSR.
    """
    if len(body) > MAX_BODY_BYTES:
        raise InputError(
            f"a batch upload is at most {MAX_BODY_BYTES // (1024 * 1024)} MiB",
            code="too-large",
            rid="R-SI-2",
        )
    if body.count(_BEGIN) > MAX_BATCH:
        raise _too_large()
    blocks: list[bytes] = []
    pos = 0
    while True:
        start = body.find(_BEGIN, pos)
        if body[pos : len(body) if start < 0 else start].strip():
            raise _malformed(len(blocks), "text outside a PEM block")
        if start < 0:
            return blocks
        der, pos = _decode_block(body, start, len(blocks))
        blocks.append(der)


def _decode_block(body: bytes, start: int, index: int) -> tuple[bytes, int]:
    """The DER of the block starting at ``start``, and where the text after it starts.

    Only ``find`` from left to right: linear in the upload, however it is malformed."""
    label_end = body.find(_DASHES, start + len(_BEGIN))
    end = body.find(_END, label_end) if label_end >= 0 else -1
    end_label_end = body.find(_DASHES, end + len(_END)) if end >= 0 else -1
    if end_label_end < 0:
        raise _malformed(index, "an incomplete PEM block")
    label = body[start + len(_BEGIN) : label_end]
    if label not in _CSR_LABELS or body[end + len(_END) : end_label_end] != label:
        raise _malformed(index, "a PEM block that is not a CERTIFICATE REQUEST")
    text = b"".join(body[label_end + len(_DASHES) : end].split())
    try:
        der = base64.b64decode(text, validate=True)
        x509.load_der_x509_csr(der)
    except (binascii.Error, ValueError):
        raise _malformed(index, "a block that is not a PKCS#10 certificate request") from None
    return der, end_label_end + len(_DASHES)


def _malformed(index: int, what: str) -> MalformedInput:
    return MalformedInput(
        f"the batch was refused whole: block {index} (counting from 0) is {what}",
        code="malformed-batch",
        rid="R-SI-3",
    )


def _too_large() -> InputError:
    return InputError(
        f"a batch holds at most {MAX_BATCH:,} CSRs", code="batch-too-large", rid="R-SI-2"
    )


def submit_batch(
    store: Store, clock: Clock, env: str, party_id: int, aro_id: int, body: bytes
) -> BatchRow:
    """Accept a Batched CSR whole, or refuse it whole and store nothing (R-SI-2, R-SI-3).

    The ARO must be a current ARO of the party, and the party an Authorised Subscriber in
    ``env`` (Forbidden otherwise). The batch, its items and the audit event are one
    transaction.
    """
    csrs = split_pem_csrs(body)
    if len(csrs) < MIN_BATCH:
        raise InputError(
            f"a batch holds at least {MIN_BATCH} CSRs; send one CSR as a single request",
            code="batch-too-small",
            rid="R-SI-2",
        )
    if len(csrs) > MAX_BATCH:  # pragma: no cover - counted before decoding
        raise _too_large()
    batch_id = str(uuid.uuid4())
    with store.transaction() as tx:
        _require_entitled(tx, env, party_id, aro_id)
        received = clock.now()
        deadline = batch_deadline(received)
        row = tx.add_batch(batch_id, env, party_id, aro_id, received, deadline, csrs)
        tx.audit(
            f"aro:{aro_id}",
            "batch.accepted",
            f"batch:{batch_id}",
            {
                "env": env,
                "party": party_id,
                "count": len(csrs),
                "deadline": deadline.isoformat(),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
        )
    return row


def _require_entitled(tx: Transaction, env: str, party_id: int, aro_id: int) -> None:
    party = load_party(tx, party_id)
    officer = tx.officer(aro_id)
    if (
        party.env != env
        or officer is None
        or officer.kind != "aro"
        or officer.party_id != party_id
        or officer.removed_at is not None
    ):
        raise Forbidden(
            f"officer {aro_id} is not a current ARO of party {party_id} in {env}",
            code="not-the-party-aro",
            rid="R-PART-5",
        )
    require_authorised(tx, party)


# -- issuance ---------------------------------------------------------------------------------
