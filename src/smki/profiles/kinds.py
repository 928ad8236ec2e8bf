"""The kinds of certificate smki issues and the key usages they may carry."""

from __future__ import annotations

import enum


class CertKind(enum.StrEnum):
    DEVICE = "device"
    ORGANISATION = "organisation"
    ROOT_OCA = "root-oca"
    ISSUING_OCA = "issuing-oca"
    ROOT_DCA = "root-dca"
    ISSUING_DCA = "issuing-dca"
    ROOT_ICA = "root-ica"
    ISSUING_ICA = "issuing-ica"
    IKI = "iki"
    ROOT_DCCKI = "root-dccki"
    ISSUING_DCCKI = "issuing-dccki"
    DCCKI_TLS = "dccki-tls"

    @property
    def is_ca(self) -> bool:
        return self.value.startswith(("root-", "issuing-"))

    @property
    def is_root(self) -> bool:
        return self.value.startswith("root-")


class KeyUse(enum.StrEnum):
    """Key usage recorded in the store: GBCS DS/KA, CA signing, or TLS for DCCKI."""

    DIGITAL_SIGNATURE = "ds"
    KEY_AGREEMENT = "ka"
    CA = "ca"
    TLS_SERVER = "tls-server"
    TLS_CLIENT = "tls-client"


class Pki(enum.StrEnum):
    """The four hierarchies of one environment (R-CA-1)."""

    ORGANISATION = "organisation"
    DEVICE = "device"
    IKI = "iki"
    DCCKI = "dccki"

    @property
    def root(self) -> CertKind:
        return {
            Pki.ORGANISATION: CertKind.ROOT_OCA,
            Pki.DEVICE: CertKind.ROOT_DCA,
            Pki.IKI: CertKind.ROOT_ICA,
            Pki.DCCKI: CertKind.ROOT_DCCKI,
        }[self]

    @property
    def issuing(self) -> CertKind:
        return {
            Pki.ORGANISATION: CertKind.ISSUING_OCA,
            Pki.DEVICE: CertKind.ISSUING_DCA,
            Pki.IKI: CertKind.ISSUING_ICA,
            Pki.DCCKI: CertKind.ISSUING_DCCKI,
        }[self]


class Environment(enum.StrEnum):
    """SMKI Test Service and Live (R-PART-6): never share keys, serial spaces or data."""

    TEST = "test"
    LIVE = "live"
