"""Every party category × every Remote Party Role (R-PART-3): allowed exactly where the
SPEC's table allows, refused elsewhere with the rule's id."""

from __future__ import annotations

import pytest

from smki.errors import Forbidden
from smki.ra.categories import PartyCategory
from smki.ra.eligibility import check_organisation_eligibility, load_eligibility
from smki.x509.roles import RemotePartyRole as Role

EUI = bytes.fromhex("90B3D51F30010000")
C = PartyCategory
DCC_ONLY = {
    Role.ROOT,
    Role.RECOVERY,
    Role.ISSUING_AUTHORITY,
    Role.ACCESS_CONTROL_BROKER,
    Role.TRANSITIONAL_COS,
    Role.WAN_PROVIDER,
    Role.XML_SIGN,
    Role.DSP_XML_SIGN,
}

# SPEC §1 R-PART-3, written out independently of config/eligibility.yaml.
EXPECTED: dict[Role, set[PartyCategory]] = {
    Role.SUPPLIER: {C.IMPORT_SUPPLIER, C.GAS_SUPPLIER},
    Role.NETWORK_OPERATOR: {C.ELECTRICITY_DISTRIBUTOR, C.GAS_TRANSPORTER},
    # "any party" means any SEC Party or RDP: the SEC Panel and the SMKI PMA are not parties.
    Role.OTHER: set(C) - {C.SEC_PANEL, C.SMKI_PMA},
    Role.LOAD_CONTROLLER: {C.OTHER_SEC_PARTY},
    **{role: {C.DCC} for role in DCC_ONLY},
}
TABLE = load_eligibility()


def test_the_expected_table_covers_every_role() -> None:
    assert set(EXPECTED) == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.gbcs_name)
@pytest.mark.parametrize("category", list(C), ids=lambda c: c.value)
def test_category_role_matrix(category: PartyCategory, role: Role) -> None:
    if category in EXPECTED[role]:
        check_organisation_eligibility(TABLE, [category], [EUI], role, EUI)
        return
    with pytest.raises(Forbidden) as refused:
        check_organisation_eligibility(TABLE, [category], [EUI], role, EUI)
    assert refused.value.code == "role-not-eligible"
    assert refused.value.rid == "R-PART-3"


def test_any_of_several_categories_suffices() -> None:
    check_organisation_eligibility(TABLE, [C.RDP, C.GAS_SUPPLIER], [EUI], Role.SUPPLIER, EUI)


def test_the_entity_id_must_be_the_partys() -> None:
    with pytest.raises(Forbidden) as refused:
        check_organisation_eligibility(
            TABLE, [C.IMPORT_SUPPLIER], [EUI], Role.SUPPLIER, bytes.fromhex("90B3D51F30010001")
        )
    assert refused.value.code == "entity-id-not-held"
    assert refused.value.rid == "R-PART-3"
