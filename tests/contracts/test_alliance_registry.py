"""AllianceRegistry on eth-tester: bootstrap, access control, M-of-N governance, every Action,
events and views."""

from __future__ import annotations

from enum import IntEnum

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from tests.contracts.conftest import (
    ALL_ROLES,
    AUDIT,
    DEPARTMENTS,
    FINANCE,
    FOOD,
    GOVERNOR,
    HEALTH,
    INSPECTOR,
    ISSUER,
    LIFETIME,
    MARKET,
    OPERATOR,
    ORACLE,
    POLICY,
    REVIEWER,
    TAX,
    THRESHOLD,
    TRANSPORT,
    assert_reverts,
    code,
    revert_data,
    send,
)


class Action(IntEnum):
    AddDepartment = 0
    RemoveDepartment = 1
    SetDepartmentRoles = 2
    AddMember = 3
    RemoveMember = 4
    SetMemberRoles = 5
    SetLicenceTypeAuthority = 6
    SetThreshold = 7
    SetDataSource = 8


class Status(IntEnum):
    None_ = 0
    Open = 1
    Executed = 2
    Cancelled = 3


# ---------------------------------------------------------------- proposal data (per the Action enum comments)


def add_department(dept: bytes, name: str, name_en: str, dept_roles: int) -> bytes:
    return encode(["bytes32", "string", "string", "uint256"], [dept, name, name_en, dept_roles])


def remove_department(dept: bytes) -> bytes:
    return encode(["bytes32"], [dept])


def set_department_roles(dept: bytes, dept_roles: int) -> bytes:
    return encode(["bytes32", "uint256"], [dept, dept_roles])


def add_member(account: str, dept: bytes, member_roles: int) -> bytes:
    return encode(["address", "bytes32", "uint256"], [account, dept, member_roles])


def remove_member(account: str) -> bytes:
    return encode(["address"], [account])


def set_member_roles(account: str, member_roles: int) -> bytes:
    return encode(["address", "uint256"], [account, member_roles])


def set_authority(licence_type: bytes, dept: bytes, allowed: bool) -> bytes:
    return encode(["bytes32", "bytes32", "bool"], [licence_type, dept, allowed])


def set_threshold(threshold: int) -> bytes:
    return encode(["uint256"], [threshold])


def set_data_source(data_type: bytes, dept: bytes, quorum: int) -> bytes:
    return encode(["bytes32", "bytes32", "uint8"], [data_type, dept, quorum])


NEW_ACCOUNT = to_checksum_address("0x00000000000000000000000000000000000a11ce")
ZERO_ACCOUNT = "0x" + "0" * 40
PARKS = code("PARKS")
DRUGS = code("DRUG_RETAIL")
TAX_SUMMARY = code("TAX_SUMMARY")
HEALTH_RECORD = code("HEALTH_RECORD")


def event(contract, name: str, receipt) -> list:
    """Decoded ``name`` events of ``contract`` in ``receipt``."""
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def only_event(contract, name: str, receipt):
    found = event(contract, name, receipt)
    assert len(found) == 1, f"expected one {name}, got {found}"
    return found[0].args


class Governance:
    """Drives proposals on the sealed registry through the department governors."""

    def __init__(self, reg, roles):
        self.reg = reg
        self.roles = roles
        # one governor per department, in department order
        self.governors = [roles[k] for k in ("gov_market", "gov_health", "gov_tax", "gov_audit", "gov_transport")]

    def propose(self, action: Action, data: bytes, sender: str | None = None):
        sender = sender or self.governors[0]
        receipt = send(self.reg.functions.propose(action, data), sender)
        return only_event(self.reg, "ProposalCreated", receipt)["id"], receipt

    def approve(self, proposal_id: int, sender: str):
        return send(self.reg.functions.approve(proposal_id), sender)

    def pass_(self, action: Action, data: bytes):
        """Propose (MARKET) and approve (HEALTH, TAX, ...) until executed; return the last receipt."""
        proposal_id, receipt = self.propose(action, data)
        for gov in self.governors[1:]:
            if event(self.reg, "ProposalExecuted", receipt):
                break
            receipt = self.approve(proposal_id, gov)
        executed = only_event(self.reg, "ProposalExecuted", receipt)
        assert executed["id"] == proposal_id and executed["action"] == action
        return receipt


@pytest.fixture
def gov(registry, roles) -> Governance:
    return Governance(registry, roles)


def block_time(w3, receipt) -> int:
    return w3.eth.get_block(receipt.blockNumber).timestamp


# ================================================================ the revert helper itself


def test_revert_helper_decodes_call_and_transact_and_can_fail(registry, roles):
    fn = registry.functions.propose(Action.SetThreshold, set_threshold(2))
    outsider = roles["outsider"]
    assert assert_reverts(fn, "NotGovernor", outsider, sender=outsider) == (outsider,)
    with pytest.raises(AssertionError, match="expected NotBootstrapAdmin"):
        assert_reverts(fn, "NotBootstrapAdmin", sender=outsider)
    with pytest.raises(AssertionError, match="expected NotGovernor"):
        assert_reverts(fn, "NotGovernor", roles["gov_market"], sender=outsider)
    with pytest.raises(AssertionError, match="did not revert"):
        assert_reverts(fn, "NotGovernor", sender=roles["gov_market"], via=("call",))


def test_eth_tester_revert_reporting(w3, registry, roles):
    """Pins down how this eth-tester/web3 pair reports reverts (the transaction manager relies on it)."""
    outsider = roles["outsider"]
    fn = registry.functions.approve(0)
    selector = w3.keccak(text="NotGovernor(address)")[:4]
    for how in ("call", "transact", "estimate_gas"):
        with pytest.raises(TransactionFailed) as info:
            getattr(fn, how)({"from": outsider})
        assert not hasattr(info.value, "data")
        assert info.value.args[0].startswith("execution reverted: b'")
        data = revert_data(info.value)
        assert data[:4] == selector and data[4:] == bytes(12) + bytes.fromhex(outsider[2:])
    # with an explicit gas limit nothing raises: the transaction is mined and fails (status 0)
    tx_hash = fn.transact({"from": outsider, "gas": 200_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 0 and receipt.logs == []
    # ... and replaying it as a call at the parent block recovers the revert data
    tx = w3.eth.get_transaction(tx_hash)
    with pytest.raises(TransactionFailed) as info:
        w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"]}, receipt.blockNumber - 1)
    assert revert_data(info.value)[:4] == selector


# ================================================================ bootstrap


def test_constructor_rejects_zero_lifetime(w3, registry, roles):
    from chain.artifacts import load

    artifact = load("AllianceRegistry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    assert_reverts(factory.constructor(0), "InvalidLifetime", 0, sender=roles["admin"], via=("transact",))


def test_bootstrap_builds_the_alliance_and_seals(w3, fresh, roles):
    admin, a, b = roles["admin"], roles["gov_market"], roles["gov_health"]
    assert fresh.functions.bootstrapAdmin().call() == admin
    assert fresh.functions.proposalLifetime().call() == LIFETIME
    assert fresh.functions.isSealed().call() is False

    r = send(fresh.functions.bootstrapDepartment(MARKET, "市场监督管理局", "Market Regulation", GOVERNOR | ISSUER), admin)
    assert dict(only_event(fresh, "DepartmentAdded", r)) == {
        "code": MARKET, "name": "市场监督管理局", "nameEn": "Market Regulation", "roles": GOVERNOR | ISSUER
    }
    send(fresh.functions.bootstrapDepartment(HEALTH, "卫生健康委员会", "Health Commission", GOVERNOR), admin)

    r = send(fresh.functions.bootstrapMember(a, MARKET, GOVERNOR | ISSUER), admin)
    assert dict(only_event(fresh, "MemberAdded", r)) == {"account": a, "department": MARKET, "roles": GOVERNOR | ISSUER}
    send(fresh.functions.bootstrapMember(b, HEALTH, GOVERNOR), admin)

    r = send(fresh.functions.bootstrapLicenceTypeAuthority(FOOD, MARKET, True), admin)
    assert dict(only_event(fresh, "LicenceTypeAuthorityChanged", r)) == {
        "licenceType": FOOD, "department": MARKET, "allowed": True
    }
    r = send(fresh.functions.bootstrapThreshold(2), admin)
    assert dict(only_event(fresh, "ThresholdChanged", r)) == {"previous": 0, "threshold": 2}

    r = send(fresh.functions.sealBootstrap(), admin)
    assert dict(only_event(fresh, "BootstrapSealed", r)) == {"by": admin, "departments": 2, "threshold": 2}

    f = fresh.functions
    assert f.isSealed().call() is True
    assert f.threshold().call() == 2
    assert f.activeDepartmentCount().call() == 2
    assert f.departmentCodes().call() == [MARKET, HEALTH]
    assert f.memberAccounts().call() == [a, b]
    assert f.getDepartment(MARKET).call() == (True, GOVERNOR | ISSUER, "市场监督管理局", "Market Regulation", 1)
    assert f.getMember(a).call() == (True, MARKET, GOVERNOR | ISSUER)
    assert f.hasRole(a, GOVERNOR | ISSUER).call() and f.hasRole(b, GOVERNOR).call()
    assert not f.hasRole(b, ISSUER).call()
    assert f.departmentOf(b).call() == HEALTH
    assert f.isAuthorisedIssuer(FOOD, MARKET).call() and not f.isAuthorisedIssuer(FOOD, HEALTH).call()
    assert f.licenceTypes().call() == [FOOD]
    assert f.proposalCount().call() == 0


def bootstrap_calls(reg, roles):
    """Every bootstrap function with arguments that would be valid on an unsealed registry
    holding MARKET (so only the access check can refuse them)."""
    f = reg.functions
    return {
        "bootstrapDepartment": f.bootstrapDepartment(PARKS, "园林局", "Parks", GOVERNOR),
        "bootstrapMember": f.bootstrapMember(roles["spare"], MARKET, GOVERNOR),
        "bootstrapLicenceTypeAuthority": f.bootstrapLicenceTypeAuthority(DRUGS, MARKET, True),
        "bootstrapThreshold": f.bootstrapThreshold(1),
        "bootstrapDataSource": f.bootstrapDataSource(TAX_SUMMARY, MARKET, 1),
        "sealBootstrap": f.sealBootstrap(),
    }


BOOTSTRAP_FUNCTIONS = [
    "bootstrapDepartment", "bootstrapMember", "bootstrapLicenceTypeAuthority", "bootstrapThreshold",
    "bootstrapDataSource", "sealBootstrap",
]


@pytest.mark.parametrize("name", BOOTSTRAP_FUNCTIONS)
def test_every_bootstrap_function_reverts_after_seal(registry, roles, name):
    assert_reverts(bootstrap_calls(registry, roles)[name], "BootstrapAlreadySealed", sender=roles["admin"])


@pytest.mark.parametrize("name", BOOTSTRAP_FUNCTIONS)
def test_every_bootstrap_function_refuses_a_non_admin(fresh, registry, roles, name):
    admin = roles["admin"]
    send(fresh.functions.bootstrapDepartment(MARKET, "市场", "Market", GOVERNOR | ORACLE), admin)
    send(fresh.functions.bootstrapThreshold(1), admin)
    for caller in (roles["outsider"], roles["gov_market"]):
        assert_reverts(bootstrap_calls(fresh, roles)[name], "NotBootstrapAdmin", caller, sender=caller)
        # also after sealing: the admin check comes first
        assert_reverts(bootstrap_calls(registry, roles)[name], "NotBootstrapAdmin", caller, sender=caller)
    # the admin may: the same call goes through
    send(bootstrap_calls(fresh, roles)[name], admin)


def test_seal_refused_while_bootstrap_incomplete(fresh, roles):
    admin = roles["admin"]
    assert_reverts(fresh.functions.sealBootstrap(), "BootstrapIncomplete", 0, 0, sender=admin)
    send(fresh.functions.bootstrapDepartment(MARKET, "市场", "Market", GOVERNOR), admin)
    assert_reverts(fresh.functions.sealBootstrap(), "BootstrapIncomplete", 1, 0, sender=admin)
    assert fresh.functions.isSealed().call() is False


def test_bootstrap_validates_its_input(fresh, roles):
    admin, f = roles["admin"], fresh.functions
    assert_reverts(f.bootstrapDepartment(bytes(32), "x", "x", GOVERNOR), "EmptyCode", sender=admin)
    assert_reverts(f.bootstrapDepartment(MARKET, "x", "x", 0), "InvalidRoles", 0, sender=admin)
    assert_reverts(f.bootstrapDepartment(MARKET, "x", "x", 256), "InvalidRoles", 256, sender=admin)
    send(f.bootstrapDepartment(MARKET, "市场", "Market", GOVERNOR | ISSUER), admin)
    assert_reverts(f.bootstrapDepartment(MARKET, "x", "x", GOVERNOR), "DepartmentExists", MARKET, sender=admin)
    assert_reverts(f.bootstrapThreshold(0), "InvalidThreshold", 0, 1, sender=admin)
    assert_reverts(f.bootstrapThreshold(2), "InvalidThreshold", 2, 1, sender=admin)
    spare = roles["spare"]
    assert_reverts(f.bootstrapMember(spare, HEALTH, GOVERNOR), "UnknownDepartment", HEALTH, sender=admin)
    assert_reverts(
        f.bootstrapMember(spare, MARKET, GOVERNOR | FINANCE), "RolesNotHeldByDepartment",
        MARKET, GOVERNOR | FINANCE, GOVERNOR | ISSUER, sender=admin,
    )
    assert_reverts(f.bootstrapMember(ZERO_ACCOUNT, MARKET, GOVERNOR), "ZeroAccount", sender=admin)
    send(f.bootstrapMember(spare, MARKET, ISSUER), admin)
    assert_reverts(f.bootstrapMember(spare, MARKET, GOVERNOR), "MemberExists", spare, sender=admin)
    assert_reverts(
        f.bootstrapLicenceTypeAuthority(FOOD, HEALTH, True), "UnknownDepartment", HEALTH, sender=admin
    )
    assert_reverts(
        f.bootstrapLicenceTypeAuthority(FOOD, MARKET, False), "AuthorityUnchanged", FOOD, MARKET, False, sender=admin
    )


# ================================================================ access to governance


def test_propose_refused_without_governor_role(registry, roles):
    data = set_threshold(2)
    for caller in (roles["outsider"], roles["issuer_market"], roles["admin"]):
        assert_reverts(registry.functions.propose(Action.SetThreshold, data), "NotGovernor", caller, sender=caller)
    assert registry.functions.proposalCount().call() == 0


def test_approve_refused_without_governor_role(registry, roles, gov):
    pid, _ = gov.propose(Action.SetThreshold, set_threshold(2))
    for caller in (roles["outsider"], roles["issuer_market"], roles["admin"]):
        assert_reverts(registry.functions.approve(pid), "NotGovernor", caller, sender=caller)
    # NotGovernor is checked before the proposal is looked up
    assert_reverts(registry.functions.approve(99), "NotGovernor", roles["outsider"], sender=roles["outsider"])
    assert registry.functions.getProposal(pid).call()[6] == 1  # approvals


def test_cancel_only_by_proposer(registry, roles, gov):
    pid, _ = gov.propose(Action.SetThreshold, set_threshold(2), sender=roles["gov_market"])
    # not even another governor of the proposer's own department
    for caller in (roles["gov_market_2"], roles["gov_health"], roles["outsider"], roles["admin"]):
        assert_reverts(registry.functions.cancel(pid), "NotProposer", pid, caller, sender=caller)
    r = send(registry.functions.cancel(pid), roles["gov_market"])
    assert dict(only_event(registry, "ProposalCancelled", r)) == {"id": pid, "by": roles["gov_market"]}
    assert registry.functions.getProposal(pid).call()[1] == Status.Cancelled
    assert_reverts(registry.functions.cancel(pid), "ProposalNotOpen", pid, Status.Cancelled, sender=roles["gov_market"])
    assert_reverts(registry.functions.cancel(5), "UnknownProposal", 5, sender=roles["gov_market"])
    # cancelled: its change never happens
    assert_reverts(registry.functions.approve(pid), "ProposalNotOpen", pid, Status.Cancelled, sender=roles["gov_tax"])
    assert registry.functions.threshold().call() == THRESHOLD


def test_removed_member_loses_governance_rights(registry, roles, gov):
    gov.pass_(Action.RemoveMember, remove_member(roles["gov_market_2"]))
    pid, _ = gov.propose(Action.SetThreshold, set_threshold(2), sender=roles["gov_health"])
    former = roles["gov_market_2"]
    assert_reverts(registry.functions.propose(Action.SetThreshold, set_threshold(2)), "NotGovernor", former, sender=former)
    assert_reverts(registry.functions.approve(pid), "NotGovernor", former, sender=former)


# ================================================================ M-of-N


def test_add_member_executes_at_the_third_department(w3, registry, roles, gov):
    f = registry.functions
    spare = roles["spare"]
    data = add_member(spare, HEALTH, ISSUER)
    pid, r = gov.propose(Action.AddMember, data, sender=roles["gov_market"])
    assert pid == 0 and f.proposalCount().call() == 1
    created = only_event(registry, "ProposalCreated", r)
    assert created["action"] == Action.AddMember and created["proposerDepartment"] == MARKET
    assert created["proposer"] == roles["gov_market"] and created["data"] == data
    assert created["expiresAt"] == block_time(w3, r) + LIFETIME
    assert dict(only_event(registry, "ProposalApproved", r)) == {
        "id": 0, "department": MARKET, "member": roles["gov_market"], "approvals": 1
    }

    r = gov.approve(pid, roles["gov_health"])
    assert only_event(registry, "ProposalApproved", r)["approvals"] == 2
    assert event(registry, "ProposalExecuted", r) == [] and event(registry, "MemberAdded", r) == []
    assert f.getMember(spare).call()[0] is False and not f.hasRole(spare, ISSUER).call()
    assert f.getProposal(pid).call()[1] == Status.Open

    r = gov.approve(pid, roles["gov_tax"])
    assert dict(only_event(registry, "ProposalApproved", r)) == {
        "id": 0, "department": TAX, "member": roles["gov_tax"], "approvals": 3
    }
    assert dict(only_event(registry, "ProposalExecuted", r)) == {"id": 0, "action": Action.AddMember}
    assert dict(only_event(registry, "MemberAdded", r)) == {"account": spare, "department": HEALTH, "roles": ISSUER}
    assert f.getMember(spare).call() == (True, HEALTH, ISSUER)
    assert f.hasRole(spare, ISSUER).call() and f.departmentOf(spare).call() == HEALTH
    assert f.getDepartment(HEALTH).call()[4] == 2

    action, status, proposer_dept, proposer, created_at, expires_at, approvals, stored = f.getProposal(pid).call()
    assert (action, status, proposer_dept, proposer, approvals, stored) == (
        Action.AddMember, Status.Executed, MARKET, roles["gov_market"], 3, data
    )
    assert expires_at == created_at + LIFETIME
    assert [f.hasApproved(pid, d).call() for d in (MARKET, HEALTH, TAX, AUDIT, TRANSPORT)] == [
        True, True, True, False, False
    ]
    # executed: a further approval is refused
    assert_reverts(f.approve(pid), "ProposalNotOpen", pid, Status.Executed, sender=roles["gov_audit"])
    assert_reverts(f.cancel(pid), "ProposalNotOpen", pid, Status.Executed, sender=roles["gov_market"])


def test_one_vote_per_department(registry, roles, gov):
    pid, _ = gov.propose(Action.SetThreshold, set_threshold(2), sender=roles["gov_market"])
    # second GOVERNOR of the proposer's department
    assert_reverts(registry.functions.approve(pid), "AlreadyApproved", pid, MARKET, sender=roles["gov_market_2"])
    assert_reverts(registry.functions.approve(pid), "AlreadyApproved", pid, MARKET, sender=roles["gov_market"])
    gov.approve(pid, roles["gov_health"])
    assert_reverts(registry.functions.approve(pid), "AlreadyApproved", pid, HEALTH, sender=roles["gov_health"])
    assert registry.functions.getProposal(pid).call()[6] == 2
    assert registry.functions.threshold().call() == THRESHOLD


def test_approval_after_expiry_is_refused(w3, registry, roles, gov):
    pid, r = gov.propose(Action.SetThreshold, set_threshold(2))
    expires_at = only_event(registry, "ProposalCreated", r)["expiresAt"]
    # eth-tester: timeTravel(t) mines a block at t - 1, so the next transaction lands at t
    w3.testing.timeTravel(expires_at)
    r = gov.approve(pid, roles["gov_health"])
    assert block_time(w3, r) == expires_at  # the last second is still open
    # the next block is at expires_at + 1: a transaction is refused (a .call() still sees the
    # latest block, at expires_at, so it is checked one block later)
    assert_reverts(
        registry.functions.approve(pid), "ProposalExpired", pid, expires_at, sender=roles["gov_tax"], via=("transact",)
    )
    w3.testing.timeTravel(expires_at + 10)
    assert_reverts(registry.functions.approve(pid), "ProposalExpired", pid, expires_at, sender=roles["gov_tax"])
    assert registry.functions.threshold().call() == THRESHOLD
    assert registry.functions.getProposal(pid).call()[1] == Status.Open
    # the proposer can still withdraw it
    send(registry.functions.cancel(pid), roles["gov_market"])


def test_unknown_proposal(registry, roles, gov):
    assert_reverts(registry.functions.approve(0), "UnknownProposal", 0, sender=roles["gov_health"])
    assert_reverts(registry.functions.getProposal(0), "UnknownProposal", 0, sender=roles["outsider"], via=("call",))
    gov.propose(Action.SetThreshold, set_threshold(2))
    assert_reverts(registry.functions.approve(1), "UnknownProposal", 1, sender=roles["gov_health"])


def test_final_approval_reverts_when_the_change_became_invalid(registry, roles, gov):
    """Two proposals for the same change: once one executes, the other's final approval is refused
    with the execution's error, and it stays open."""
    data = add_member(NEW_ACCOUNT, AUDIT, INSPECTOR)
    first, _ = gov.propose(Action.AddMember, data, sender=roles["gov_market"])
    second, _ = gov.propose(Action.AddMember, data, sender=roles["gov_health"])
    gov.approve(second, roles["gov_tax"])
    gov.approve(first, roles["gov_tax"])
    gov.approve(first, roles["gov_audit"])  # executes
    assert registry.functions.hasRole(NEW_ACCOUNT, INSPECTOR).call()
    assert_reverts(registry.functions.approve(second), "MemberExists", NEW_ACCOUNT, sender=roles["gov_audit"])
    assert registry.functions.getProposal(second).call()[1] == Status.Open
    assert registry.functions.getProposal(second).call()[6] == 2


# ================================================================ actions


def test_add_department(registry, roles, gov):
    f = registry.functions
    r = gov.pass_(Action.AddDepartment, add_department(PARKS, "园林局", "Parks Bureau", GOVERNOR | REVIEWER))
    assert dict(only_event(registry, "DepartmentAdded", r)) == {
        "code": PARKS, "name": "园林局", "nameEn": "Parks Bureau", "roles": GOVERNOR | REVIEWER
    }
    assert f.getDepartment(PARKS).call() == (True, GOVERNOR | REVIEWER, "园林局", "Parks Bureau", 0)
    assert f.departmentCodes().call() == [d[0] for d in DEPARTMENTS] + [PARKS]
    assert f.activeDepartmentCount().call() == 6
    # the new department can be staffed and then votes
    gov.pass_(Action.AddMember, add_member(roles["spare"], PARKS, GOVERNOR))
    pid, _ = gov.propose(Action.SetThreshold, set_threshold(4))
    r = gov.approve(pid, roles["spare"])
    assert only_event(registry, "ProposalApproved", r)["department"] == PARKS


def test_remove_department(registry, roles, gov):
    f = registry.functions
    assert_reverts(
        f.propose(Action.RemoveDepartment, remove_department(TRANSPORT)), "DepartmentHasMembers", TRANSPORT, 1,
        sender=roles["gov_market"],
    )
    gov.pass_(Action.RemoveMember, remove_member(roles["gov_transport"]))
    r = gov.pass_(Action.RemoveDepartment, remove_department(TRANSPORT))
    assert dict(only_event(registry, "DepartmentRemoved", r)) == {"code": TRANSPORT}
    assert f.getDepartment(TRANSPORT).call()[0] is False
    assert f.activeDepartmentCount().call() == 4
    assert TRANSPORT in f.departmentCodes().call()  # kept, with active = false
    assert_reverts(
        f.propose(Action.AddMember, add_member(roles["spare"], TRANSPORT, GOVERNOR)), "UnknownDepartment", TRANSPORT,
        sender=roles["gov_market"],
    )
    # re-adding the code revives it without listing it twice
    gov.pass_(Action.AddDepartment, add_department(TRANSPORT, "交通局", "Transport", GOVERNOR))
    assert f.departmentCodes().call() == [d[0] for d in DEPARTMENTS]
    assert f.getDepartment(TRANSPORT).call() == (True, GOVERNOR, "交通局", "Transport", 0)


def test_remove_department_refused_when_n_would_drop_below_m(registry, roles, gov):
    gov.pass_(Action.AddDepartment, add_department(PARKS, "园林局", "Parks", GOVERNOR))
    gov.pass_(Action.SetThreshold, set_threshold(6))
    assert_reverts(
        registry.functions.propose(Action.RemoveDepartment, remove_department(PARKS)), "InvalidThreshold", 6, 5,
        sender=roles["gov_market"],
    )
    assert registry.functions.getDepartment(PARKS).call()[0] is True


def test_removing_a_department_ends_its_licence_authority(w3, registry, roles, gov):
    """A removed department may issue nothing, now or (if re-added) later without a new grant,
    and the history must say it was not authorised while removed."""
    f = registry.functions
    gov.pass_(Action.SetLicenceTypeAuthority, set_authority(DRUGS, TRANSPORT, True))
    gov.pass_(Action.RemoveMember, remove_member(roles["gov_transport"]))
    r = gov.pass_(Action.RemoveDepartment, remove_department(TRANSPORT))
    removed_at = block_time(w3, r)
    assert dict(only_event(registry, "LicenceTypeAuthorityChanged", r)) == {
        "licenceType": DRUGS, "department": TRANSPORT, "allowed": False
    }
    assert not f.isAuthorisedIssuer(DRUGS, TRANSPORT).call()
    assert not f.wasAuthorisedIssuerAt(DRUGS, TRANSPORT, removed_at).call()
    assert f.wasAuthorisedIssuerAt(DRUGS, TRANSPORT, removed_at - 1).call()
    w3.testing.timeTravel(removed_at + 1000)
    gov.pass_(Action.AddDepartment, add_department(TRANSPORT, "交通局", "Transport", GOVERNOR | ISSUER))
    assert not f.isAuthorisedIssuer(DRUGS, TRANSPORT).call()
    assert not f.wasAuthorisedIssuerAt(DRUGS, TRANSPORT, removed_at + 500).call()


def test_set_department_roles(registry, roles, gov):
    f = registry.functions
    spare = roles["spare"]
    assert_reverts(
        f.propose(Action.AddMember, add_member(spare, TRANSPORT, ORACLE)), "RolesNotHeldByDepartment",
        TRANSPORT, ORACLE, GOVERNOR | ISSUER, sender=roles["gov_market"],
    )
    r = gov.pass_(Action.SetDepartmentRoles, set_department_roles(TRANSPORT, GOVERNOR | ISSUER | ORACLE))
    assert dict(only_event(registry, "DepartmentRolesChanged", r)) == {"code": TRANSPORT, "roles": GOVERNOR | ISSUER | ORACLE}
    assert f.getDepartment(TRANSPORT).call()[1] == GOVERNOR | ISSUER | ORACLE
    gov.pass_(Action.AddMember, add_member(spare, TRANSPORT, ORACLE))
    assert f.hasRole(spare, ORACLE).call()


def test_narrowing_department_roles_takes_the_role_from_its_members(registry, roles, gov):
    """Members hold a subset of their department's roles: a role taken from the department is
    no longer held by any of its members."""
    f = registry.functions
    issuer = roles["issuer_market"]
    assert f.hasRole(issuer, ISSUER).call()
    gov.pass_(Action.SetDepartmentRoles, set_department_roles(MARKET, GOVERNOR | REVIEWER))
    assert not f.hasRole(issuer, ISSUER).call()
    assert not f.hasRole(roles["gov_market_2"], ISSUER).call()
    assert f.hasRole(roles["gov_market_2"], GOVERNOR).call()


def test_set_department_roles_validation(registry, roles):
    g = roles["gov_market"]
    propose = registry.functions.propose
    assert_reverts(propose(Action.SetDepartmentRoles, set_department_roles(PARKS, GOVERNOR)), "UnknownDepartment", PARKS, sender=g)
    assert_reverts(propose(Action.SetDepartmentRoles, set_department_roles(TAX, 0)), "InvalidRoles", 0, sender=g)
    assert_reverts(propose(Action.SetDepartmentRoles, set_department_roles(TAX, 512)), "InvalidRoles", 512, sender=g)


def test_add_member_refusals(registry, roles):
    g = roles["gov_market"]
    spare = roles["spare"]
    propose = registry.functions.propose
    cases = [
        (add_member(roles["gov_health"], TAX, GOVERNOR), "MemberExists", (roles["gov_health"],)),
        (add_member(spare, PARKS, GOVERNOR), "UnknownDepartment", (PARKS,)),
        (add_member(spare, AUDIT, GOVERNOR | ISSUER), "RolesNotHeldByDepartment", (AUDIT, GOVERNOR | ISSUER, GOVERNOR | INSPECTOR)),
        (add_member(ZERO_ACCOUNT, AUDIT, GOVERNOR), "ZeroAccount", ()),
        (add_member(spare, AUDIT, 0), "InvalidRoles", (0,)),
        (add_member(spare, AUDIT, ALL_ROLES + 1), "InvalidRoles", (ALL_ROLES + 1,)),
    ]
    for data, error, args in cases:
        assert_reverts(propose(Action.AddMember, data), error, *args, sender=g)
    assert registry.functions.proposalCount().call() == 0


def test_remove_member(registry, roles, gov):
    f = registry.functions
    issuer = roles["issuer_market"]
    r = gov.pass_(Action.RemoveMember, remove_member(issuer))
    assert dict(only_event(registry, "MemberRemoved", r)) == {"account": issuer, "department": MARKET}
    assert not f.hasRole(issuer, ISSUER).call()
    assert f.getMember(issuer).call()[0] is False
    assert f.getDepartment(MARKET).call()[4] == 2
    assert_reverts(f.departmentOf(issuer), "UnknownMember", issuer, sender=issuer, via=("call",))
    assert_reverts(f.propose(Action.RemoveMember, remove_member(issuer)), "UnknownMember", issuer, sender=roles["gov_market"])
    # re-added elsewhere: listed once, in the new department
    gov.pass_(Action.AddMember, add_member(issuer, TAX, FINANCE))
    assert f.memberAccounts().call().count(issuer) == 1
    assert f.getMember(issuer).call() == (True, TAX, FINANCE)
    assert f.hasRole(issuer, FINANCE).call() and not f.hasRole(issuer, ISSUER).call()


def test_set_member_roles(registry, roles, gov):
    f = registry.functions
    issuer = roles["issuer_market"]
    assert_reverts(f.approve(0), "NotGovernor", issuer, sender=issuer)
    r = gov.pass_(Action.SetMemberRoles, set_member_roles(issuer, GOVERNOR | REVIEWER))
    assert dict(only_event(registry, "MemberRolesChanged", r)) == {"account": issuer, "roles": GOVERNOR | REVIEWER}
    assert f.getMember(issuer).call() == (True, MARKET, GOVERNOR | REVIEWER)
    assert f.hasRole(issuer, GOVERNOR | REVIEWER).call() and not f.hasRole(issuer, ISSUER).call()
    # now a governor: it may propose
    send(f.propose(Action.SetThreshold, set_threshold(2)), issuer)
    g = roles["gov_market"]
    assert_reverts(
        f.propose(Action.SetMemberRoles, set_member_roles(issuer, FINANCE)), "RolesNotHeldByDepartment",
        MARKET, FINANCE, GOVERNOR | ISSUER | REVIEWER | OPERATOR, sender=g,
    )
    assert_reverts(f.propose(Action.SetMemberRoles, set_member_roles(issuer, 0)), "InvalidRoles", 0, sender=g)
    assert_reverts(
        f.propose(Action.SetMemberRoles, set_member_roles(roles["outsider"], GOVERNOR)), "UnknownMember",
        roles["outsider"], sender=g,
    )


def test_set_licence_type_authority(w3, registry, roles, gov):
    f = registry.functions
    assert not f.isAuthorisedIssuer(DRUGS, HEALTH).call()
    r = gov.pass_(Action.SetLicenceTypeAuthority, set_authority(DRUGS, HEALTH, True))
    granted_at = block_time(w3, r)
    assert dict(only_event(registry, "LicenceTypeAuthorityChanged", r)) == {
        "licenceType": DRUGS, "department": HEALTH, "allowed": True
    }
    assert f.isAuthorisedIssuer(DRUGS, HEALTH).call()
    assert not f.isAuthorisedIssuer(DRUGS, MARKET).call()
    assert f.licenceTypes().call() == [FOOD, DRUGS]

    g = roles["gov_market"]
    assert_reverts(
        f.propose(Action.SetLicenceTypeAuthority, set_authority(DRUGS, HEALTH, True)), "AuthorityUnchanged",
        DRUGS, HEALTH, True, sender=g,
    )
    assert_reverts(
        f.propose(Action.SetLicenceTypeAuthority, set_authority(DRUGS, TAX, False)), "AuthorityUnchanged",
        DRUGS, TAX, False, sender=g,
    )
    assert_reverts(
        f.propose(Action.SetLicenceTypeAuthority, set_authority(bytes(32), TAX, True)), "EmptyCode", sender=g,
    )
    assert_reverts(
        f.propose(Action.SetLicenceTypeAuthority, set_authority(DRUGS, PARKS, True)), "UnknownDepartment", PARKS,
        sender=g,
    )

    w3.testing.timeTravel(granted_at + 1000)
    r = gov.pass_(Action.SetLicenceTypeAuthority, set_authority(DRUGS, HEALTH, False))
    revoked_at = block_time(w3, r)
    assert only_event(registry, "LicenceTypeAuthorityChanged", r)["allowed"] is False
    assert not f.isAuthorisedIssuer(DRUGS, HEALTH).call()
    assert f.licenceTypes().call() == [FOOD, DRUGS]  # listed once

    was = lambda t: f.wasAuthorisedIssuerAt(DRUGS, HEALTH, t).call()  # noqa: E731
    assert not was(granted_at - 1)
    assert was(granted_at) and was(granted_at + 500) and was(revoked_at - 1)
    assert not was(revoked_at) and not was(revoked_at + 10_000)

    # granted again: a second interval; the gap stays unauthorised
    w3.testing.timeTravel(revoked_at + 1000)
    r = gov.pass_(Action.SetLicenceTypeAuthority, set_authority(DRUGS, HEALTH, True))
    regranted_at = block_time(w3, r)
    assert was(granted_at + 500) and not was(revoked_at + 500) and was(regranted_at) and was(regranted_at + 10**6)


def test_set_threshold(registry, roles, gov):
    f = registry.functions
    g = roles["gov_market"]
    assert_reverts(f.propose(Action.SetThreshold, set_threshold(0)), "InvalidThreshold", 0, 5, sender=g)
    assert_reverts(f.propose(Action.SetThreshold, set_threshold(6)), "InvalidThreshold", 6, 5, sender=g)
    r = gov.pass_(Action.SetThreshold, set_threshold(2))
    assert dict(only_event(registry, "ThresholdChanged", r)) == {"previous": 3, "threshold": 2}
    assert f.threshold().call() == 2
    # now two departments suffice
    pid, _ = gov.propose(Action.AddMember, add_member(NEW_ACCOUNT, TAX, POLICY))
    r = gov.approve(pid, roles["gov_health"])
    assert only_event(registry, "ProposalExecuted", r)["id"] == pid
    assert f.hasRole(NEW_ACCOUNT, POLICY).call()
    # threshold 1: the proposer's own approval executes it at once
    gov.pass_(Action.SetThreshold, set_threshold(1))
    pid, r = gov.propose(Action.RemoveMember, remove_member(NEW_ACCOUNT))
    assert only_event(registry, "ProposalExecuted", r)["id"] == pid
    assert not f.hasRole(NEW_ACCOUNT, POLICY).call()


@pytest.mark.parametrize(
    "action, data, error, args",
    [
        (Action.AddDepartment, add_department(MARKET, "x", "x", GOVERNOR), "DepartmentExists", (MARKET,)),
        (Action.AddDepartment, add_department(bytes(32), "x", "x", GOVERNOR), "EmptyCode", ()),
        (Action.AddDepartment, add_department(PARKS, "x", "x", 0), "InvalidRoles", (0,)),
        (Action.AddDepartment, add_department(PARKS, "x", "x", 1 << 8), "InvalidRoles", (1 << 8,)),
        (Action.RemoveDepartment, remove_department(PARKS), "UnknownDepartment", (PARKS,)),
        (Action.RemoveDepartment, remove_department(MARKET), "DepartmentHasMembers", (MARKET, 3)),
        (Action.RemoveMember, remove_member(NEW_ACCOUNT), "UnknownMember", (NEW_ACCOUNT,)),
        (Action.SetMemberRoles, set_member_roles(NEW_ACCOUNT, GOVERNOR), "UnknownMember", (NEW_ACCOUNT,)),
        (Action.SetLicenceTypeAuthority, set_authority(FOOD, MARKET, True), "AuthorityUnchanged", (FOOD, MARKET, True)),
    ],
)
def test_invalid_proposals_are_refused_at_propose_time(registry, roles, action, data, error, args):
    assert_reverts(registry.functions.propose(action, data), error, *args, sender=roles["gov_health"])
    assert registry.functions.proposalCount().call() == 0


def test_malformed_proposal_data_is_refused(registry, roles):
    with pytest.raises(TransactionFailed):
        registry.functions.propose(Action.AddMember, b"\x01\x02").call({"from": roles["gov_market"]})
    assert registry.functions.proposalCount().call() == 0


# ================================================================ data sources (一数一源)


def test_bootstrap_data_source(fresh, roles):
    admin, f = roles["admin"], fresh.functions
    send(f.bootstrapDepartment(MARKET, "市场", "Market", GOVERNOR | ISSUER), admin)
    send(f.bootstrapDepartment(TAX, "税务", "Taxation", GOVERNOR | ORACLE), admin)
    assert f.dataSourceOf(TAX_SUMMARY).call() == [bytes(32), 0]
    assert f.dataTypes().call() == []
    r = send(f.bootstrapDataSource(TAX_SUMMARY, TAX, 1), admin)
    assert dict(only_event(fresh, "DataSourceChanged", r)) == {"dataType": TAX_SUMMARY, "department": TAX, "quorum": 1}
    assert f.dataSourceOf(TAX_SUMMARY).call() == [TAX, 1]
    # rebinding during the bootstrap; a quorum above the member count is allowed (TAX has no member yet)
    r = send(f.bootstrapDataSource(TAX_SUMMARY, TAX, 3), admin)
    assert only_event(fresh, "DataSourceChanged", r)["quorum"] == 3
    assert f.dataTypes().call() == [TAX_SUMMARY]  # listed once
    # refusals
    assert_reverts(f.bootstrapDataSource(TAX_SUMMARY, TAX, 3), "DataSourceUnchanged", TAX_SUMMARY, TAX, 3,
                   sender=admin)
    assert_reverts(f.bootstrapDataSource(TAX_SUMMARY, TAX, 0), "InvalidQuorum", 0, sender=admin)
    assert_reverts(f.bootstrapDataSource(bytes(32), TAX, 1), "EmptyCode", sender=admin)
    assert_reverts(f.bootstrapDataSource(TAX_SUMMARY, HEALTH, 1), "UnknownDepartment", HEALTH, sender=admin)
    assert_reverts(f.bootstrapDataSource(TAX_SUMMARY, bytes(32), 1), "UnknownDepartment", bytes(32), sender=admin)
    assert_reverts(
        f.bootstrapDataSource(TAX_SUMMARY, MARKET, 1), "RolesNotHeldByDepartment", MARKET, ORACLE, GOVERNOR | ISSUER,
        sender=admin,
    )
    for caller in (roles["outsider"], roles["gov_market"]):
        assert_reverts(f.bootstrapDataSource(HEALTH_RECORD, TAX, 1), "NotBootstrapAdmin", caller, sender=caller)
    assert f.dataSourceOf(TAX_SUMMARY).call() == [TAX, 3]


def test_set_data_source_by_governance(registry, roles, gov):
    f = registry.functions
    r = gov.pass_(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 2))
    assert dict(only_event(registry, "DataSourceChanged", r)) == {
        "dataType": HEALTH_RECORD, "department": HEALTH, "quorum": 2
    }
    assert f.dataSourceOf(HEALTH_RECORD).call() == [HEALTH, 2]
    assert f.dataTypes().call() == [HEALTH_RECORD]
    # the quorum changes (HEALTH has one member: allowed, nothing is accepted until it grows)
    r = gov.pass_(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 1))
    assert only_event(registry, "DataSourceChanged", r)["quorum"] == 1
    assert f.dataSourceOf(HEALTH_RECORD).call() == [HEALTH, 1]
    # the data type moves to another source once TAX may hold the oracle role
    gov.pass_(Action.SetDepartmentRoles, set_department_roles(TAX, GOVERNOR | FINANCE | POLICY | ORACLE))
    r = gov.pass_(Action.SetDataSource, set_data_source(HEALTH_RECORD, TAX, 1))
    assert only_event(registry, "DataSourceChanged", r)["department"] == TAX
    assert f.dataSourceOf(HEALTH_RECORD).call() == [TAX, 1]
    assert f.dataTypes().call() == [HEALTH_RECORD]


@pytest.mark.parametrize(
    "data, error, args",
    [
        (set_data_source(HEALTH_RECORD, HEALTH, 0), "InvalidQuorum", (0,)),
        (set_data_source(bytes(32), HEALTH, 1), "EmptyCode", ()),
        (set_data_source(HEALTH_RECORD, PARKS, 1), "UnknownDepartment", (PARKS,)),
        (set_data_source(HEALTH_RECORD, bytes(32), 1), "UnknownDepartment", (bytes(32),)),
        (set_data_source(HEALTH_RECORD, TAX, 1), "RolesNotHeldByDepartment", (TAX, ORACLE, GOVERNOR | FINANCE | POLICY)),
    ],
)
def test_invalid_data_source_proposals_are_refused(registry, roles, data, error, args):
    assert_reverts(registry.functions.propose(Action.SetDataSource, data), error, *args, sender=roles["gov_health"])
    assert registry.functions.proposalCount().call() == 0


def test_unchanged_data_source_is_refused_and_only_governors_propose(registry, roles, gov):
    f = registry.functions
    gov.pass_(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 1))
    assert_reverts(
        f.propose(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 1)), "DataSourceUnchanged",
        HEALTH_RECORD, HEALTH, 1, sender=roles["gov_tax"],
    )
    for caller in (roles["outsider"], roles["issuer_market"], roles["admin"]):
        assert_reverts(
            f.propose(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 2)), "NotGovernor", caller,
            sender=caller,
        )
    assert_reverts(f.bootstrapDataSource(HEALTH_RECORD, HEALTH, 2), "BootstrapAlreadySealed", sender=roles["admin"])
    assert f.dataSourceOf(HEALTH_RECORD).call() == [HEALTH, 1]


def test_a_data_source_proposal_checks_again_when_it_executes(registry, roles, gov):
    """Proposed while valid, executed after the department lost the oracle role: refused then."""
    pid, _ = gov.propose(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 1))
    gov.pass_(Action.SetDepartmentRoles, set_department_roles(HEALTH, GOVERNOR | ISSUER))
    gov.approve(pid, roles["gov_health"])
    assert_reverts(
        registry.functions.approve(pid), "RolesNotHeldByDepartment", HEALTH, ORACLE, GOVERNOR | ISSUER,
        sender=roles["gov_tax"],
    )
    assert registry.functions.dataSourceOf(HEALTH_RECORD).call() == [bytes(32), 0]


def test_removing_a_department_unbinds_its_data_sources(registry, roles, gov):
    f = registry.functions
    gov.pass_(Action.SetDataSource, set_data_source(HEALTH_RECORD, HEALTH, 1))
    gov.pass_(Action.SetDepartmentRoles, set_department_roles(TRANSPORT, GOVERNOR | ISSUER | ORACLE))
    gov.pass_(Action.SetDataSource, set_data_source(DRUGS, TRANSPORT, 2))
    gov.pass_(Action.RemoveMember, remove_member(roles["gov_transport"]))
    r = gov.pass_(Action.RemoveDepartment, remove_department(TRANSPORT))
    assert dict(only_event(registry, "DataSourceChanged", r)) == {"dataType": DRUGS, "department": bytes(32), "quorum": 0}
    assert f.dataSourceOf(DRUGS).call() == [bytes(32), 0]
    assert f.dataSourceOf(HEALTH_RECORD).call() == [HEALTH, 1]  # other departments' bindings stay
    assert f.dataTypes().call() == [HEALTH_RECORD, DRUGS]  # still listed
    # re-adding the department does not restore the binding: governance binds it again
    gov.pass_(Action.AddDepartment, add_department(TRANSPORT, "交通局", "Transport", GOVERNOR | ORACLE))
    assert f.dataSourceOf(DRUGS).call() == [bytes(32), 0]
    r = gov.pass_(Action.SetDataSource, set_data_source(DRUGS, TRANSPORT, 1))
    assert f.dataSourceOf(DRUGS).call() == [TRANSPORT, 1]


# ================================================================ views


def test_views_of_the_bootstrapped_alliance(registry, roles):
    f = registry.functions
    assert f.isSealed().call() and f.threshold().call() == THRESHOLD
    assert f.activeDepartmentCount().call() == 5
    assert f.departmentCodes().call() == [d[0] for d in DEPARTMENTS]
    for dept_code, name, name_en, dept_roles in DEPARTMENTS:
        members = 3 if dept_code == MARKET else 1
        assert f.getDepartment(dept_code).call() == (True, dept_roles, name, name_en, members)
    assert f.getDepartment(PARKS).call() == (False, 0, "", "", 0)
    order = ["gov_market", "gov_health", "gov_tax", "gov_audit", "gov_transport", "gov_market_2", "issuer_market"]
    assert f.memberAccounts().call() == [roles[k] for k in order]
    assert f.getMember(roles["gov_tax"]).call() == (True, TAX, GOVERNOR)
    assert f.getMember(roles["outsider"]).call() == (False, bytes(32), 0)
    assert f.departmentOf(roles["gov_audit"]).call() == AUDIT
    assert f.hasRole(roles["gov_market_2"], GOVERNOR | ISSUER).call()
    assert not f.hasRole(roles["gov_market_2"], GOVERNOR | REVIEWER).call()
    assert not f.hasRole(roles["outsider"], GOVERNOR).call()
    assert f.licenceTypes().call() == [FOOD]
    assert f.isAuthorisedIssuer(FOOD, MARKET).call() and not f.isAuthorisedIssuer(FOOD, HEALTH).call()
    assert f.proposalCount().call() == 0
    assert f.hasApproved(0, MARKET).call() is False


def test_proposal_count_and_has_approved(registry, roles, gov):
    f = registry.functions
    a, _ = gov.propose(Action.SetThreshold, set_threshold(2), sender=roles["gov_health"])
    b, _ = gov.propose(Action.SetThreshold, set_threshold(4), sender=roles["gov_tax"])
    assert (a, b) == (0, 1) and f.proposalCount().call() == 2
    assert f.hasApproved(a, HEALTH).call() and not f.hasApproved(a, TAX).call()
    assert f.hasApproved(b, TAX).call() and not f.hasApproved(b, HEALTH).call()
    gov.approve(a, roles["gov_audit"])
    assert f.hasApproved(a, AUDIT).call() and not f.hasApproved(b, AUDIT).call()
