"""Eligible Subscribers (R-PART-3): which party may hold which certificate.

Organisation Certificates: the subject's Remote Party Role must be allowed for one of the
party's categories (one table, configuration: ``config/eligibility.yaml``) and the subject
EUI-64 must be one of the party's Entity Identifiers. Device Certificates: any Authorised
Subscriber under the Device CP. Every refusal names the rule (R-id) that refused it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from smki.errors import ConfigError, Forbidden
from smki.ra.categories import SUBSCRIBER_CATEGORIES, PartyCategory, is_subscriber_party
from smki.ra.csr import CertificateRequest, OrganisationRequest
from smki.ra.status import require_authorised
from smki.storage.api import PartyRow, Transaction
from smki.x509.eui import format_eui64
from smki.x509.roles import RemotePartyRole

ELIGIBILITY_FILE = "eligibility.yaml"
_ANY = "any"


@dataclass(frozen=True)
class EligibilityTable:
    allowed: dict[RemotePartyRole, frozenset[PartyCategory]]

    def permits(self, role: RemotePartyRole, categories: Iterable[PartyCategory]) -> bool:
        return bool(self.allowed.get(role, frozenset()) & set(categories))


def load_eligibility(home: Path | None = None) -> EligibilityTable:
    """The embedded table, replaced whole by ``<home>/eligibility.yaml`` when present."""
    source = resources.files("smki.config").joinpath(ELIGIBILITY_FILE).read_text("utf-8")
    if home is not None and (home / ELIGIBILITY_FILE).is_file():
        source = (home / ELIGIBILITY_FILE).read_text("utf-8")
    try:
        raw = yaml.safe_load(source)["roles"]
        allowed: dict[RemotePartyRole, frozenset[PartyCategory]] = {}
        for role_name, categories in raw.items():
            role = RemotePartyRole.parse(str(role_name))
            names = [str(c) for c in categories]
            allowed[role] = (
                SUBSCRIBER_CATEGORIES
                if _ANY in names
                else frozenset(PartyCategory.parse(n) for n in names)
            )
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{ELIGIBILITY_FILE} is malformed: {exc}") from exc
    return EligibilityTable(allowed)


def check_organisation_eligibility(
    table: EligibilityTable,
    categories: Iterable[PartyCategory],
    entity_ids: Iterable[bytes],
    role: RemotePartyRole,
    eui: bytes,
) -> None:
    held = list(categories)
    if not table.permits(role, held):
        raise Forbidden(
            f"a party of categories {', '.join(sorted(held)) or 'none'} may not hold "
            f"{role.gbcs_name} ({role.ou}) Organisation Certificates",
            code="role-not-eligible",
            rid="R-PART-3",
        )
    if bytes(eui) not in {bytes(e) for e in entity_ids}:
        raise Forbidden(
            f"EUI-64 {format_eui64(eui)} is not one of the party's Entity Identifiers",
            code="entity-id-not-held",
            rid="R-PART-3",
        )


def check_entitled(
    tx: Transaction, table: EligibilityTable, party: PartyRow, request: CertificateRequest
) -> None:
    """An Eligible Subscriber for this request: Authorised (R-PART-2, R-PART-6) and, for an
    Organisation Certificate, entitled to the role and EUI-64 (R-PART-3). Governance bodies
    (SEC Panel, SMKI PMA) read the repository but are not subscribers."""
    if not is_subscriber_party(party.categories):
        raise Forbidden(
            f"party {party.id} is a governance body, not a SEC Party or RDP: it cannot "
            "subscribe to certificates",
            code="not-a-subscriber",
            rid="R-PART-2",
        )
    require_authorised(tx, party)
    if isinstance(request, OrganisationRequest):
        check_organisation_eligibility(
            table,
            [PartyCategory(c) for c in party.categories],
            party.entity_ids,
            request.role,
            request.eui,
        )
