"""Time encoding lint (R-PROF-5): UTCTime before 2050, GeneralizedTime from 2050 on.

Read from the raw DER: cryptography hands back a datetime and forgets which type encoded it.
Both forms are whole seconds in UTC ("Z"), as RFC 5280 §4.1.2.5 requires.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from smki.lint.base import cert_lint
from smki.lint.context import CertContext
from smki.lint.finding import ALL_KINDS
from smki.lint.raw import Tlv
from smki.x509 import der

_UTC = re.compile(r"\d{12}Z")
_GENERALIZED = re.compile(r"\d{14}Z")


def _valid(text: str, pattern: str) -> bool:
    try:
        dt.datetime.strptime(text, pattern)
    except ValueError:
        return False
    return True


def time_problems(label: str, time: Tlv) -> Iterator[str]:
    """Why one encoded Time breaks RFC 5280 §4.1.2.5 (shared with the CRL lints)."""
    text = time.value.decode("ascii", "replace")
    if time.tag == der.UTC_TIME:
        if not _UTC.fullmatch(text) or not _valid(text, "%y%m%d%H%M%SZ"):
            yield f"{label} UTCTime {text!r} is not YYMMDDHHMMSSZ"
    elif time.tag == der.GENERALIZED_TIME:
        if not _GENERALIZED.fullmatch(text) or not _valid(text, "%Y%m%d%H%M%SZ"):
            yield f"{label} GeneralizedTime {text!r} is not YYYYMMDDHHMMSSZ"
        elif int(text[:4]) < 2050:
            yield f"{label} {text} is GeneralizedTime before 2050; UTCTime is required"
    else:
        yield f"{label} has tag 0x{time.tag:02X}, neither UTCTime nor GeneralizedTime"


@cert_lint("gbcs.time_encoding", "R-PROF-5", ALL_KINDS)
def time_encoding(ctx: CertContext) -> Iterator[str]:
    yield from time_problems("notBefore", ctx.raw.not_before)
    yield from time_problems("notAfter", ctx.raw.not_after)
