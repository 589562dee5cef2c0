"""One-time bootstrap of the alliance registry from the alliance file (departments, members,
licence-type authorities, data sources, threshold), then sealing it.

Idempotent: it reads what the chain already has and sends only what is missing, so an
interrupted bootstrap is finished by running it again. Once sealed, only governance proposals
change the alliance, and this does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from chain.alliance import AllianceSpec
from chain.keystore import Keyring
from chain.roles import code_to_bytes32, to_mask
from chain.transactions import TxManager


@dataclass
class BootstrapReport:
    already_sealed: bool = False
    departments: int = 0
    members: int = 0
    authorities: int = 0
    data_sources: int = 0
    transactions: int = 0


def bootstrap_alliance(
    registry: Any, txm: TxManager, deployer: LocalAccount, spec: AllianceSpec, keyring: Keyring
) -> BootstrapReport:
    report = BootstrapReport()
    f = registry.functions
    if f.isSealed().call():
        report.already_sealed = True
        return report

    def send(fn: Any, purpose: str) -> None:
        txm.transact(deployer, fn, purpose)
        report.transactions += 1

    for dept in spec.departments:
        code = code_to_bytes32(dept.code)
        if not f.getDepartment(code).call()[0]:
            send(f.bootstrapDepartment(code, dept.name, dept.name_en, to_mask(dept.roles)),
                 f"bootstrap department {dept.code}")
            report.departments += 1
    for member in spec.members:
        address = keyring.account(member.alias).address
        if not f.getMember(address).call()[0]:
            send(f.bootstrapMember(address, code_to_bytes32(member.department), to_mask(member.roles)),
                 f"bootstrap member {member.alias}")
            report.members += 1
    for lt in spec.licence_types:
        for issuer in lt.issuers:
            if not f.isAuthorisedIssuer(code_to_bytes32(lt.code), code_to_bytes32(issuer)).call():
                send(f.bootstrapLicenceTypeAuthority(code_to_bytes32(lt.code), code_to_bytes32(issuer), True),
                     f"bootstrap authority {lt.code} -> {issuer}")
                report.authorities += 1
    for ds in spec.data_sources:
        data_type, source = code_to_bytes32(ds.code), code_to_bytes32(ds.source)
        if tuple(f.dataSourceOf(data_type).call()) != (source, ds.quorum):
            send(f.bootstrapDataSource(data_type, source, ds.quorum),
                 f"bootstrap data source {ds.code} -> {ds.source} (quorum {ds.quorum})")
            report.data_sources += 1
    if f.threshold().call() != spec.threshold:
        send(f.bootstrapThreshold(spec.threshold), f"bootstrap threshold {spec.threshold}")
    send(f.sealBootstrap(), "seal bootstrap")
    return report
