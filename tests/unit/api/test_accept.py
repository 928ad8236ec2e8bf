"""The ``Accept`` header as both negotiating edges read it (R-SI-1, R-REP-2), without a server."""

from __future__ import annotations

import pytest

from smki.api.accept import accept_ranges, offer_match
from smki.api.certificates import DER, PEM, choose_format
from smki.errors import InputError


def test_ranges_keep_order_lower_case_and_quality() -> None:
    assert accept_ranges("Application/PKIX-Cert;q=0.5, */*;Q=0.1, ;q=1, text/plain;q=x") == [
        ("application/pkix-cert", 0.5),
        ("*/*", 0.1),
        ("text/plain", 0.0),  # an unreadable q counts as refusal, not as 1
    ]


def test_the_most_specific_matching_range_gives_the_quality() -> None:
    ranges = accept_ranges("*/*;q=0.9, application/*;q=0.1, application/pkix-cert;q=0.4")
    assert offer_match("application/pkix-cert", ranges) == (0.4, 2)
    assert offer_match("application/json", ranges) == (0.1, 1)
    assert offer_match("text/html", ranges) == (0.9, 0)
    assert offer_match("text/html", accept_ranges("application/*")) == (0.0, -1)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, PEM),
        ("*/*", PEM),
        (DER, DER),
        # Same quality: the Service Interface prefers the more specific match (R-SI-1) ...
        (f"application/*, {DER}", DER),
        # ... and PEM when the matches are equally specific.
        (f"{DER}, {PEM}", PEM),
        (f"{PEM};q=0.2, {DER};q=0.5", DER),
    ],
)
def test_service_interface_format(accept: str | None, expected: str) -> None:
    assert choose_format(accept) == expected


def test_service_interface_refuses_what_it_cannot_serve() -> None:
    with pytest.raises(InputError) as refused:
        choose_format(f"text/html, {PEM};q=0")
    assert refused.value.code == "not-acceptable"
