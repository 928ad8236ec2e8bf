"""Hypothesis strategies shared by the property tests (R-PROF-1…34, R-REP-5).

Values are drawn inside the domain the profiles accept: P-256 keys (R-PROF-1), 16-octet
serials whose first octet is 0x10–0x7F (R-PROF-3), whole-second UTC times that
``cryptography`` can carry (1950 onwards, R-PROF-5), 8-octet EUI-64s and key identifiers
(R-PROF-2, R-PROF-10), and OIDs small enough for ``cryptography``'s OID parser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st

from smki.ca.serials import new_serial
from smki.ids import EntityId
from smki.profiles import build
from smki.profiles.build import IssuerContext, SubjectKey
from smki.x509.keyid import key_id
from smki.x509.keys import key_id_for_spki, spki_der
from smki.x509.names import ca_subject, common_name_subject, holder_subject
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import encode_certificate, encode_tbs

#: Order of the P-256 base point: private scalars are 1 … n-1.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

#: R-PROF-3: 16 octets, first octet 0x10–0x7F.
SERIAL_MIN = 0x10 << 120
SERIAL_MAX = (0x80 << 120) - 1

EARLIEST = dt.datetime(1950, 1, 1)  # naive: hypothesis bounds
LATEST = dt.datetime(9999, 12, 31, 23, 59, 59)
UTC_TIME_LAST = dt.datetime(2049, 12, 31, 23, 59, 59)
GENERALIZED_FIRST = dt.datetime(2050, 1, 1)

#: The characters of an ASN.1 PrintableString (X.680 §41.4).
PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"

private_keys: st.SearchStrategy[ec.EllipticCurvePrivateKey] = st.integers(
    min_value=1, max_value=P256_ORDER - 1
).map(lambda scalar: ec.derive_private_key(scalar, ec.SECP256R1()))

#: Serials from the project's own generator and from the whole R-PROF-3 range (shrinkable).
serials: st.SearchStrategy[int] = st.one_of(
    st.builds(new_serial),
    st.integers(min_value=SERIAL_MIN, max_value=SERIAL_MAX),
)

euis: st.SearchStrategy[EntityId] = st.binary(min_size=8, max_size=8).map(EntityId)
key_ids: st.SearchStrategy[bytes] = st.binary(min_size=8, max_size=8)


def _whole_seconds(at: dt.datetime) -> dt.datetime:
    return at.replace(microsecond=0)


def times_between(low: dt.datetime, high: dt.datetime) -> st.SearchStrategy[dt.datetime]:
    """Whole-second, UTC-aware times in [low, high] (both naive, read as UTC)."""
    return st.datetimes(min_value=low, max_value=high, timezones=st.just(dt.UTC)).map(
        _whole_seconds
    )


#: Times on both sides of the UTCTime / GeneralizedTime switch (R-PROF-5).
times: st.SearchStrategy[dt.datetime] = st.one_of(
    times_between(EARLIEST, UTC_TIME_LAST),
    times_between(GENERALIZED_FIRST, LATEST),
    st.sampled_from([UTC_TIME_LAST, GENERALIZED_FIRST, EARLIEST, LATEST]).map(
        lambda at: at.replace(tzinfo=dt.UTC)
    ),
)


@st.composite
def validities(draw: st.DrawFn) -> tuple[dt.datetime, dt.datetime]:
    """(notBefore, notAfter) with notBefore <= notAfter."""
    first, second = draw(times), draw(times)
    return (first, second) if first <= second else (second, first)


@st.composite
def oids(draw: st.DrawFn) -> x509.ObjectIdentifier:
    """Any OID ``cryptography`` accepts: first arc 0–2, second < 40 under 0 and 1."""
    first = draw(st.integers(min_value=0, max_value=2))
    second_max = 39 if first < 2 else 2**40
    second = draw(st.integers(min_value=0, max_value=second_max))
    rest = draw(
        st.lists(
            st.one_of(
                st.integers(min_value=0, max_value=300),
                st.integers(min_value=0, max_value=2**32),
                st.integers(min_value=0, max_value=2**63),
            ),
            max_size=5,
        )
    )
    return x509.ObjectIdentifier(".".join(str(a) for a in [first, second, *rest]))


def _fits_64_octets(text: str) -> bool:
    # cryptography bounds commonName at 64 UTF-8 octets (not characters).
    return len(text.encode("utf-8")) <= 64


#: UTF8String values: printable unicode (no controls, no surrogates, no NUL), 1–64 octets.
utf8_names: st.SearchStrategy[str] = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=64
).filter(_fits_64_octets)

printable_names: st.SearchStrategy[str] = st.text(alphabet=PRINTABLE, min_size=1, max_size=64)

roles: st.SearchStrategy[RemotePartyRole] = st.sampled_from(list(RemotePartyRole))

#: CA and holder names built with the smki helpers (R-PROF-30…33).
ca_names: st.SearchStrategy[x509.Name] = st.one_of(
    st.builds(ca_subject, roles, printable_names),
    st.builds(common_name_subject, printable_names),
    st.builds(holder_subject, utf8_names, utf8_names),
)


def subject_key(key: ec.EllipticCurvePrivateKey) -> SubjectKey:
    spki = spki_der(key.public_key())
    return SubjectKey(spki=spki, key_id=key_id_for_spki(spki))


def sign_tbs(key: ec.EllipticCurvePrivateKey, tbs: bytes) -> x509.Certificate:
    """Sign our TBS with ``key``, assemble it and parse it with ``cryptography``."""
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return x509.load_der_x509_certificate(encode_certificate(tbs, signature))


@dataclass(frozen=True)
class Authority:
    """A self-signed CA made with smki's own encoder, to issue the certificates under test."""

    key: ec.EllipticCurvePrivateKey
    name: x509.Name
    certificate: x509.Certificate
    context: IssuerContext


@st.composite
def authorities(draw: st.DrawFn) -> Authority:
    key = draw(private_keys)
    name = draw(ca_names)
    policy = draw(oids())
    not_before = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    not_after = dt.datetime(2070, 1, 1, tzinfo=dt.UTC)
    fields = build.root_ca(name, 0x4000 << 112, not_before, not_after, subject_key(key), policy)
    certificate = sign_tbs(key, encode_tbs(fields))
    context = IssuerContext(
        name=name.public_bytes(), key_id=key_id(key.public_key()), policy=policy
    )
    return Authority(key, name, certificate, context)
