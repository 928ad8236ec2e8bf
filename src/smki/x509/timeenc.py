"""Certificate time encoding (R-PROF-5, R-PROF-12)."""

from __future__ import annotations

import datetime as dt

from smki.x509 import der

#: Devices have no well-defined expiry: notAfter 99991231235959Z (R-PROF-12).
NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def encode_time(at: dt.datetime) -> bytes:
    """UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5)."""
    utc = at.astimezone(dt.UTC)
    if 1950 <= utc.year < 2050:
        return der.tlv(der.UTC_TIME, utc.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return der.tlv(der.GENERALIZED_TIME, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def truncate(at: dt.datetime) -> dt.datetime:
    """Whole seconds, UTC: what a certificate can carry."""
    return at.astimezone(dt.UTC).replace(microsecond=0)
