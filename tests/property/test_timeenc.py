"""Certificate and CRL time encoding against ``cryptography`` (R-PROF-5, R-PROF-12).

``encode_time`` must write exactly the Validity times ``cryptography`` writes: UTCTime for
1950–2049, GeneralizedTime from 2050, whole seconds, ``Z``; and must never write a time that
reads back as a different instant.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smki.x509 import der
from smki.x509.timeenc import NO_EXPIRY, encode_time, truncate
from tests.property.reference import REFERENCE_SIGNER, reference_tbs
from tests.property.strategies import EARLIEST, LATEST, times, validities

_FIXED = settings(max_examples=50, deadline=None)
_EMPTY = x509.Name([])


def _validity_of(tbs: bytes) -> bytes:
    _, body, _ = der.read_tlv(tbs)
    tag, value = der.split_sequence(body)[4]
    assert tag == der.SEQUENCE
    return value


@_FIXED
@given(validities())
@example((NO_EXPIRY, NO_EXPIRY))
@example(
    (
        dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2050, 1, 1, tzinfo=dt.UTC),
    )
)
def test_encode_time_matches_cryptography(validity: tuple[dt.datetime, dt.datetime]) -> None:
    not_before, not_after = validity
    tbs = reference_tbs(
        subject=_EMPTY,
        issuer=_EMPTY,
        serial=1,
        not_before=not_before,
        not_after=not_after,
        public_key=REFERENCE_SIGNER.public_key(),
        extensions=[],
    )
    assert _validity_of(tbs) == encode_time(not_before) + encode_time(not_after)


def _read_time(encoded: bytes) -> dt.datetime:
    """RFC 5280 §4.1.2.5 reading: UTCTime YY >= 50 is 19YY, else 20YY."""
    tag, value, end = der.read_tlv(encoded)
    assert end == len(encoded)
    text = value.decode("ascii")
    if tag == der.UTC_TIME:
        assert len(text) == 13
        century = "19" if int(text[:2]) >= 50 else "20"
        text = century + text
    else:
        assert tag == der.GENERALIZED_TIME
        assert len(text) == 15
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


@_FIXED
@given(times)
def test_encode_time_reads_back_as_the_same_instant(at: dt.datetime) -> None:
    encoded = encode_time(at)
    assert (encoded[0] == der.UTC_TIME) == (at.year < 2050)
    assert _read_time(encoded) == at


@_FIXED
@given(
    st.datetimes(
        min_value=EARLIEST,
        max_value=LATEST,
        timezones=st.sampled_from(
            [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=-5))]
        ),
    ).filter(lambda at: EARLIEST.replace(tzinfo=dt.UTC) <= at <= NO_EXPIRY)
)
def test_truncate_gives_whole_utc_seconds(at: dt.datetime) -> None:
    cut = truncate(at)
    assert cut.tzinfo is dt.UTC
    assert cut.microsecond == 0
    assert dt.timedelta(0) <= at - cut < dt.timedelta(seconds=1)
    assert encode_time(cut) == encode_time(at.replace(microsecond=0))


def test_encode_time_before_1950_is_not_a_utc_time() -> None:
    # RFC 5280 §4.1.2.5: UTCTime only for 1950–2049; 1949-12-31 as "491231235959Z" is 2049.
    at = dt.datetime(1949, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert _read_time(encode_time(at)) == at
