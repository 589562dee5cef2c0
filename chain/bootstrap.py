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

from chain.alliance import AllianceConfigError, AllianceSpec
from chain.errors import DeploymentError
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


def member_addresses(spec: AllianceSpec, keyring: Keyring) -> dict[str, str]:
    """Every member's account by alias: from the key this gateway holds, else from the alliance file's
    ``address``. A member with neither, or whose held key disagrees with the file, is an error naming it."""
    out: dict[str, str] = {}
    missing: list[str] = []
    for member in spec.members:
        if member.alias in keyring:
            held = keyring.account(member.alias).address
            if member.address and member.address != held:
                raise AllianceConfigError(f"member {member.alias}: the alliance file gives address {member.address} "
                                          f"but this gateway's key for it is {held}")
            out[member.alias] = held
        elif member.address:
            out[member.alias] = member.address
        else:
            missing.append(member.alias)
    if missing:
        raise AllianceConfigError(
            f"no address for member(s) {', '.join(missing)}: this gateway holds no key for them and the alliance "
            "file gives no address; add the lines their departments print with `alliance members export` under "
            "[addresses] in the alliance file")
    return out


def bootstrap_alliance(
    registry: Any, txm: TxManager, deployer: LocalAccount | None, spec: AllianceSpec, keyring: Keyring
) -> BootstrapReport:
    """Bootstrap and seal; ``deployer`` (the registry's bootstrap admin) is needed only when there is
    something left to do, so gateways that hold no deployer key pass None."""
    report = BootstrapReport()
    f = registry.functions
    if f.isSealed().call():
        report.already_sealed = True
        return report
    if deployer is None:
        raise DeploymentError("the alliance registry is not bootstrapped yet and this gateway holds no deployer key: "
                              "the operator who deployed must run `alliance deploy` first")
    addresses = member_addresses(spec, keyring)  # all of them before the first transaction

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
        address = addresses[member.alias]
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
