"""The checks on a certificate or path that need no revocation list (R-RP-1, R-RP-2, R-GOV-3).

Each raises :class:`Refusal` with its stable reason or returns quietly; the order in which
``validate`` calls them is the order of usefulness documented in docs/validation.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from smki.profiles.kinds import KeyUse
from smki.validation.certificate import Certificate
from smki.validation.verdict import Reason, Refusal

#: Asked for each certificate of the path with (issuer name DER, serial): is its use
#: suspended by the SMKI PMA (R-GOV-3)? Issuer and serial identify a certificate (RFC 5280
#: IssuerAndSerialNumber; serials are unique per issuer, R-PROF-3). A check that cannot
#: answer must raise: nothing fails open.
SuspensionCheck = Callable[[bytes, int], bool]

_USAGE_BITS = {
    KeyUse.DIGITAL_SIGNATURE: "digitalSignature",
    KeyUse.KEY_AGREEMENT: "keyAgreement",
}


def profile(cert: Certificate) -> None:
    """Every error-severity lint finding refuses (R-PROF-40 lints, run as R-RP-2 asks);
    warnings become notes in ``validate``."""
    errors = cert.errors
    if errors:
        listed = "; ".join(f"{f.lint} [{f.rid}] {f.message}" for f in errors)
        detail = f"{cert.label} breaks its profile: {listed}"
        if cert.warnings:
            # Named too, so the refusal lists every finding the vectors' manifest expects.
            detail += "; also warnings: " + "; ".join(
                f"{f.lint} [{f.rid}] {f.message}" for f in cert.warnings
            )
        raise Refusal(Reason.PROFILE_VIOLATION, detail)


def expected_device(cert: Certificate, expect: bytes) -> None:
    """The SAN hwSerialNum must be the device the caller expects (R-RP-2)."""
    if cert.device is None:
        raise Refusal(
            Reason.WRONG_DEVICE,
            f"{cert.label} names no device (no HardwareModuleName); expected device "
            f"{expect.hex().upper()}",
        )
    if cert.device != expect:
        raise Refusal(
            Reason.WRONG_DEVICE,
            f"{cert.label} is for device {cert.device.hex().upper()}, not {expect.hex().upper()}",
        )


def expected_usage(cert: Certificate, expect: KeyUse) -> None:
    """keyUsage must allow the use the caller has in mind: ds or ka (R-RP-2, R-PROF-11)."""
    try:
        bit = _USAGE_BITS[KeyUse(expect)]
    except (KeyError, ValueError):
        raise ValueError(f"expected usage must be ds or ka, not {expect!r}") from None
    if cert.key_usage is None or bit not in cert.key_usage:
        held = ", ".join(sorted(cert.key_usage or ())) or "no keyUsage"
        raise Refusal(
            Reason.WRONG_USAGE,
            f"{cert.label} has keyUsage {held}; the use asked for is {bit} ({KeyUse(expect)})",
        )


def validity(path: Sequence[Certificate], at: dt.datetime) -> None:
    """Every certificate of the path, anchor included, must be valid at ``at`` (R-RP-1).
    Device Certificates end 99991231235959Z (R-PROF-12) and so never expire."""
    for cert in path:
        if at < cert.not_before:
            raise Refusal(
                Reason.NOT_YET_VALID,
                f"{cert.label} is not valid before {cert.not_before.isoformat()} "
                f"(checked at {at.isoformat()})",
            )
        if at > cert.not_after:
            raise Refusal(
                Reason.EXPIRED,
                f"{cert.label} expired at {cert.not_after.isoformat()} "
                f"(checked at {at.isoformat()})",
            )


def suspension(path: Sequence[Certificate], suspended: SuspensionCheck) -> None:
    """A suspended certificate fails relying-party checks (R-GOV-3), anchor side first: a
    suspended CA suspends what it issued."""
    for index in range(len(path) - 1, -1, -1):
        cert = path[index]
        if suspended(cert.issuer_der, cert.serial):
            whose = "" if index == 0 else f", which is on the path of {path[0].label}"
            raise Refusal(
                Reason.SUSPENDED,
                f"the use of {cert.label}{whose} is suspended by the SMKI PMA",
            )
