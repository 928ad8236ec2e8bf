"""The operator's direct issuance path (``smki ca issue``): CSR → checks → the right CA.

Used for the DCC's own Organisation Certificates and before the Service Interface exists.
Profile from the CSR: empty subject + HardwareModuleName → Device (Issuing DCA); OU +
uniqueIdentifier → Organisation (Issuing OCA) (R-PROF-14, R-PROF-20).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smki.ca.authority import LoadedAuthority
from smki.ca.issuer import CertificateFacts, Issued, SigningAuthority, issue_one
from smki.ca.linting import PreSignLinter
from smki.clock import Clock
from smki.config.pki import PkiConfig
from smki.profiles import build
from smki.profiles.build import IssuerContext
from smki.profiles.kinds import CertKind, Environment, Pki
from smki.ra.csr import CertificateRequest, DeviceRequest, check_csr
from smki.storage.api import Store
from smki.x509.roles import RemotePartyRole
from smki.x509.tbs import TbsFields
from smki.x509.timeenc import truncate

AuthorityLoader = Callable[[Environment, Pki], LoadedAuthority]


def issue_from_csr(
    store: Store,
    clock: Clock,
    linter: PreSignLinter,
    config: PkiConfig,
    load: AuthorityLoader,
    env: Environment,
    csr: bytes,
    role: RemotePartyRole | None,
    actor: str,
) -> Issued:
    request = check_csr(csr, role=role)
    return issue_request(store, clock, linter, config, load, env, request, actor)


def issue_request(
    store: Store,
    clock: Clock,
    linter: PreSignLinter,
    config: PkiConfig,
    load: AuthorityLoader,
    env: Environment,
    request: CertificateRequest,
    actor: str,
) -> Issued:
    plan = plan_request(clock, config, load, env, request)
    return issue_one(store, clock, linter, plan.authority, plan.facts, plan.build, actor)


@dataclass(frozen=True)
class Plan:
    """What the issuance cycle needs for one request: the CA, the stored facts, the TBS."""

    authority: SigningAuthority
    facts: CertificateFacts
    build: Callable[[int], TbsFields]
    #: The issuing CA as the profile builders see it (a Device template is cut for it).
    issuer: IssuerContext


def plan_request(
    clock: Clock,
    config: PkiConfig,
    load: AuthorityLoader,
    env: Environment,
    request: CertificateRequest,
) -> Plan:
    """The CA and the profile for a checked request (R-PROF-10, R-PROF-20): a Device request
    goes to the Issuing DCA, an Organisation request to the Issuing OCA."""
    now = truncate(clock.now())
    build_tbs: Callable[[int], TbsFields]
    if isinstance(request, DeviceRequest):
        authority = load(env, Pki.DEVICE)
        facts = CertificateFacts(CertKind.DEVICE, request.usage, request.eui)

        def build_tbs(serial: int) -> TbsFields:
            return build.device(
                authority.context, serial, now, request.key, request.usage, request.hardware
            )
    else:
        authority = load(env, Pki.ORGANISATION)
        facts = CertificateFacts(
            CertKind.ORGANISATION, request.usage, request.eui, int(request.role)
        )
        organisation = request

        def build_tbs(serial: int) -> TbsFields:
            return build.organisation(
                authority.context,
                serial,
                now,
                now + config.organisation_validity,
                organisation.key,
                organisation.usage,
                organisation.role,
                organisation.eui,
                organisation.common_name,
            )

    return Plan(authority.signing, facts, build_tbs, authority.context)
