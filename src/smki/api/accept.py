"""The ``Accept`` header read as RFC 9110 §12.5.1 says, for every endpoint that negotiates.

The Service Interface (``certificates``: PEM or DER) and the repository (``repository/
negotiation``: JSON, DER or PEM) choose among their offers differently on a tie; both score an
offer the same way: the quality of the most specific media range that matches it.
"""

from __future__ import annotations

from collections.abc import Sequence

#: (media range, quality), lower-cased, in the order the header lists them.
MediaRanges = Sequence[tuple[str, float]]


def accept_ranges(accept: str) -> list[tuple[str, float]]:
    """The header's media ranges with their ``q``; an unreadable ``q`` counts as 0."""
    ranges = []
    for element in accept.split(","):
        media, *params = element.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if media.strip():
            ranges.append((media.strip().lower(), quality))
    return ranges


def offer_match(offer: str, ranges: MediaRanges) -> tuple[float, int]:
    """(quality, specificity) of the most specific range matching ``offer``: specificity 2
    for the type itself, 1 for ``type/*``, 0 for ``*/*``; (0.0, -1) when none matches."""
    best_quality, best_specificity = 0.0, -1
    for media, quality in ranges:
        if media == offer:
            specificity = 2
        elif media == offer.split("/")[0] + "/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_quality, best_specificity = quality, specificity
    return best_quality, best_specificity
