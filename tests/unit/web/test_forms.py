"""The portal's form parsing without a browser (R-REP-2, R-REP-7)."""

from __future__ import annotations

import urllib.parse

import pytest

from smki.errors import Forbidden, InputError, MalformedInput, SmkiError, Unauthenticated
from smki.repository.search import DEFAULT_PAGE, KEY_USAGES, encode_cursor
from smki.web.forms import (
    MAX_FIELD_CHARS,
    SearchForm,
    parse_limit,
    require_same_site,
    sign_in_token,
)
from smki.web.pages import USAGE_OPTIONS
from smki.x509.roles import RemotePartyRole

AUTHORITIES = {"issuing-dca": 4, "issuing-oca": 2}
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"


def test_the_first_visit_runs_no_search_and_an_empty_submission_does() -> None:
    assert not SearchForm.from_params({}).submitted
    assert not SearchForm.from_params({"utm": "x"}).submitted  # unknown names are ignored
    empty = SearchForm.from_params({"eui": "", "role": ""})
    assert empty.submitted
    query = empty.query(AUTHORITIES)
    assert query.limit == DEFAULT_PAGE and query.after_id == 0
    assert query.wanted.eui is None and query.wanted.role is None


def test_every_field_reaches_the_repository_search() -> None:
    form = SearchForm.from_params(
        {
            "eui": " 00-db-12-34-56-78-90-c1 ",
            "role": "supplier",
            "usage": "ka",
            "status": "revoked",
            "issuer": "issuing-oca",
            "kind": "organisation",
            "serial": "0x10:AB",
            "limit": "10",
            "cursor": encode_cursor(7),
        }
    )
    query = form.query(AUTHORITIES)
    assert query.wanted.eui == bytes.fromhex("00DB1234567890C1")
    assert query.wanted.role == int(RemotePartyRole.SUPPLIER)
    assert query.wanted.key_usage == "ka"
    assert query.wanted.status == "revoked"
    assert query.wanted.authority_id == 2
    assert query.wanted.kind == "organisation"
    assert query.wanted.serial == 0x10AB
    assert (query.limit, query.after_id) == (10, 7)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"eui": "00DB12"}, "bad-eui"),
        ({"role": "plumber"}, "bad-role"),
        ({"usage": "both"}, "bad-usage"),
        ({"status": "lost"}, "bad-status"),
        ({"issuer": "issuing-xyz"}, "bad-issuer"),
        ({"kind": "passport"}, "bad-kind"),
        ({"serial": "not-hex"}, "bad-serial"),
        ({"limit": "ten"}, "bad-limit"),
        ({"limit": "-1"}, "bad-limit"),
        ({"limit": "0"}, "bad-limit"),
        ({"limit": "1001"}, "bad-limit"),
        ({"cursor": "bm9wZQ"}, "bad-cursor"),
    ],
)
def test_each_bad_field_is_refused_by_name(params: dict[str, str], code: str) -> None:
    with pytest.raises(InputError) as refused:
        SearchForm.from_params(params).query(AUTHORITIES)
    assert refused.value.code == code
    assert refused.value.rid == "R-REP-2"


def test_long_values_are_cut_before_they_are_parsed_or_shown() -> None:
    form = SearchForm.from_params({"eui": "A" * 5000})
    assert len(form.eui) == MAX_FIELD_CHARS
    with pytest.raises(InputError) as refused:
        form.query(AUTHORITIES)
    assert len(refused.value.detail) < 200


def test_the_next_page_keeps_the_search_and_adds_the_cursor() -> None:
    form = SearchForm.from_params({"role": "supplier", "eui": "", "limit": "10", "cursor": "old"})
    url = form.next_page(encode_cursor(99))
    path, _, query = url.partition("?")
    assert path == "/portal/search"
    assert urllib.parse.parse_qs(query) == {
        "role": ["supplier"],
        "limit": ["10"],
        "cursor": [encode_cursor(99)],
    }
    again = SearchForm.from_params(dict(urllib.parse.parse_qsl(query))).query(AUTHORITIES)
    assert again.after_id == 99


def test_parse_limit() -> None:
    assert parse_limit("") is None
    assert parse_limit("200") == 200
    for text in ("1e3", "٣", "9999999", " 5"):
        with pytest.raises(InputError):
            parse_limit(text)


def test_the_usage_choices_are_the_searchable_usages() -> None:
    assert tuple(value for value, _ in USAGE_OPTIONS) == KEY_USAGES


def _form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def test_sign_in_token_is_read_from_the_form() -> None:
    assert sign_in_token(_form(token=TOKEN)) == TOKEN
    # Pasted from a terminal: wrapped lines and spaces are not part of a token.
    wrapped = f"  {TOKEN[:20]}\r\n{TOKEN[20:]}\n"
    assert sign_in_token(_form(token=wrapped)) == TOKEN


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        (b"", Unauthenticated, "token-missing"),
        (_form(token=""), Unauthenticated, "token-missing"),
        (_form(other="x"), Unauthenticated, "token-missing"),
        (_form(token="not a token!"), Unauthenticated, "token-malformed"),
        (_form(token="a.b"), Unauthenticated, "token-malformed"),
        (_form(token="a.b.c.d"), Unauthenticated, "token-malformed"),
        (b"token=a&token=b", MalformedInput, "malformed-request"),
        ("token=é".encode(), MalformedInput, "malformed-request"),
        (b"token", MalformedInput, "malformed-request"),
        (b"&".join([b"f=1"] * 20), MalformedInput, "malformed-request"),
    ],
)
def test_sign_in_forms_that_carry_no_token_are_refused_precisely(
    body: bytes, error: type[SmkiError], code: str
) -> None:
    with pytest.raises(error) as refused:
        sign_in_token(body)
    assert refused.value.code == code


def test_forms_posted_from_another_site_are_refused() -> None:
    for allowed in ({}, {"sec-fetch-site": "same-origin"}, {"sec-fetch-site": "none"}):
        require_same_site(allowed)
    with pytest.raises(Forbidden) as refused:
        require_same_site({"sec-fetch-site": "Cross-Site"})
    assert refused.value.code == "cross-site-form"
