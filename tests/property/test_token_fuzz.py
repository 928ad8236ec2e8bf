"""``verify_token`` on hostile input (R-IKI-1): it refuses with ``Unauthenticated`` and a
documented code, and raises nothing else, whatever the token holds.

The sources: arbitrary text; dot-joined base64url of arbitrary bytes; properly encoded and
really signed headers and payloads built from random JSON and near-valid values (so the deep
checks run too); really signed tokens carrying corrupted certificates; and valid tokens with
characters flipped, inserted or deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

from smki.errors import Unauthenticated
from smki.iki import jws
from smki.iki.tokens import REFUSAL_CODES, VerifiedToken, verify_token
from tests.unit.iki import ARO_ID, AUDIENCE, NOW, Environment, FakeTrust, environment

HERE = environment("Here")
ELSEWHERE = environment("Elsewhere")
VALID = HERE.token(jti="fuzz-fuzz-fuzz-fuzz-fuzz")
IAT = int(NOW.timestamp())

_FUZZ = settings(max_examples=200, deadline=None)
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _no_unexpected_errors() -> Iterator[None]:
    """Fails if verify_token met an exception its checks did not foresee (it logs those)."""
    recorder, logger = _Recorder(), logging.getLogger("smki.iki.tokens")
    logger.addHandler(recorder)
    try:
        yield
    finally:
        logger.removeHandler(recorder)
    assert recorder.messages == []


def _verify(token: str, at: dt.datetime = NOW) -> VerifiedToken | str:
    """The verified token, or the code of the refusal; any other exception fails the test."""
    trust = FakeTrust([ELSEWHERE.ica_der, HERE.ica_der])
    with _no_unexpected_errors():
        try:
            return verify_token(token, audience=AUDIENCE, now=at, trust=trust)
        except Unauthenticated as refusal:
            assert refusal.code in REFUSAL_CODES, refusal.code
            return refusal.code


# -- arbitrary strings ----------------------------------------------------------------------


@_FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_is_refused(text: str) -> None:
    assert isinstance(_verify(text), str)


@_FUZZ
@given(st.lists(st.binary(max_size=80).map(jws.b64url_encode), min_size=1, max_size=5))
def test_dotted_base64url_pieces_are_refused(pieces: list[str]) -> None:
    assert isinstance(_verify(".".join(pieces)), str)


@_FUZZ
@given(st.lists(st.text(st.sampled_from(_B64URL + ".=+/ "), max_size=40), max_size=4))
def test_dotted_base64url_like_text_is_refused(pieces: list[str]) -> None:
    assert isinstance(_verify(".".join(pieces)), str)


# -- encoded JSON, really signed ------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_der = st.sampled_from([HERE.aro_der, HERE.ica_der, ELSEWHERE.aro_der, ELSEWHERE.ica_der])
_x5c = st.one_of(
    st.lists(_der.map(jws.b64_der_encode), min_size=0, max_size=3),
    st.lists(st.binary(max_size=40).map(jws.b64_der_encode), max_size=3),
    _json,
)
_times = st.integers(min_value=IAT - 400, max_value=IAT + 400) | _json
#: Values a near-valid header or claims set may take, member by member (None: left out).
_HEADER_VALUES: dict[str, st.SearchStrategy[object]] = {
    "alg": st.sampled_from(["none", "HS256", "ES384", "es256"]) | _json,
    "typ": st.sampled_from(["jwt", "JOSE"]) | _json,
    "x5c": _x5c,
    "jwk": _json,
    "crit": _json,
}
_CLAIM_VALUES: dict[str, st.SearchStrategy[object]] = {
    "sub": st.sampled_from(["", "x", "٤٢", "42\n"]) | st.from_regex(r"[0-9]{1,22}", fullmatch=True),
    "aud": st.sampled_from([AUDIENCE + "/", "\ud800", ""]) | _json,
    "iat": _times,
    "exp": _times,
    "jti": st.from_regex(r"[A-Za-z0-9_-]{10,140}", fullmatch=True) | _json,
    "nbf": _times,
}
_VALID_HEADER: dict[str, object] = {
    "alg": "ES256",
    "typ": "JWT",
    "x5c": [jws.b64_der_encode(HERE.aro_der), jws.b64_der_encode(HERE.ica_der)],
}
_VALID_CLAIMS: dict[str, object] = {
    "sub": ARO_ID,
    "aud": AUDIENCE,
    "iat": IAT,
    "exp": IAT + 300,
    "jti": "fuzz-fuzz-fuzz-fuzz-fuzz",
}


@st.composite
def _near(
    draw: st.DrawFn, valid: dict[str, object], values: dict[str, st.SearchStrategy[object]]
) -> dict[str, object]:
    """``valid`` with 0..3 members left out, replaced or added: every check gets its turn."""
    result = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)):
        if draw(st.booleans()):
            result[name] = draw(values[name])
        else:
            result.pop(name, None)
    return result


@_FUZZ
@given(
    st.one_of(_near(_VALID_HEADER, _HEADER_VALUES), st.dictionaries(st.text(max_size=6), _json)),
    st.one_of(_near(_VALID_CLAIMS, _CLAIM_VALUES), st.dictionaries(st.text(max_size=6), _json)),
    st.sampled_from([HERE, ELSEWHERE, None]),
)
def test_signed_near_valid_headers_and_claims_give_only_refusals(
    header: dict[str, object], claims: dict[str, object], signer: Environment | None
) -> None:
    if signer is None:
        token = f"{jws.json_segment(header)}.{jws.json_segment(claims)}."
    else:
        token = jws.encode_es256(header, claims, signer.aro_key)
    outcome = _verify(token)
    if isinstance(outcome, VerifiedToken):  # the edits can leave a valid token
        assert signer is HERE and header["alg"] == "ES256"
        assert dataclasses.asdict(outcome.claims) == claims


@_FUZZ
@given(
    st.sampled_from([0, 1]),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=3),
)
def test_signed_tokens_with_corrupted_certificates_give_only_refusals(
    which: int, flips: list[tuple[int, int]]
) -> None:
    ders = [bytearray(HERE.aro_der), bytearray(HERE.ica_der)]
    for position, mask in flips:  # XOR a byte: lengths, tags, versions, serials, keys, names
        ders[which][position % len(ders[which])] ^= mask
    header = {**_VALID_HEADER, "x5c": [jws.b64_der_encode(bytes(d)) for d in ders]}
    outcome = _verify(jws.encode_es256(header, _VALID_CLAIMS, HERE.aro_key))
    assert isinstance(outcome, str) or header == _VALID_HEADER  # or the flips cancelled out


@_FUZZ
@given(st.binary(max_size=200), st.binary(max_size=200), st.binary(max_size=80))
def test_arbitrary_segment_bytes_are_refused(header: bytes, payload: bytes, sig: bytes) -> None:
    token = ".".join(jws.b64url_encode(part) for part in (header, payload, sig))
    assert isinstance(_verify(token), str)


# -- mutated valid tokens -------------------------------------------------------------------

_edits = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete"]),
        st.integers(min_value=0, max_value=len(VALID)),
        st.characters(codec="ascii") | st.sampled_from(list(_B64URL + ".=")),
    ),
    min_size=1,
    max_size=4,
)


def _apply(token: str, edits: list[tuple[str, int, str]]) -> str:
    for kind, position, char in edits:
        at = position % (len(token) + 1)
        if kind == "insert":
            token = token[:at] + char + token[at:]
        elif token:
            at = min(at, len(token) - 1)
            token = token[:at] + (char if kind == "flip" else "") + token[at + 1 :]
    return token


def test_the_unmutated_token_is_valid() -> None:
    assert isinstance(_verify(VALID), VerifiedToken)


@_FUZZ
@given(_edits)
def test_a_mutated_valid_token_is_refused(edits: list[tuple[str, int, str]]) -> None:
    mutated = _apply(VALID, edits)
    outcome = _verify(mutated)
    assert isinstance(outcome, str) or mutated == VALID


@_FUZZ
@given(st.integers(min_value=-10_000, max_value=10_000))
def test_a_valid_token_at_any_time_gives_only_refusals(offset: int) -> None:
    outcome = _verify(VALID, NOW + dt.timedelta(seconds=offset))
    if isinstance(outcome, VerifiedToken):
        assert -60 <= offset <= 300
