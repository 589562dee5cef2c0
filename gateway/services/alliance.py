"""Reading the alliance from the chain, and governance proposals and approvals."""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from chain.ledger import Ledger
from chain.roles import bytes32_to_code, code_to_bytes32, to_mask, to_names

ACTIONS = ("AddDepartment", "RemoveDepartment", "SetDepartmentRoles", "AddMember", "RemoveMember",
           "SetMemberRoles", "SetLicenceTypeAuthority", "SetThreshold", "SetDataSource")
STATUSES = ("none", "open", "executed", "cancelled")


class ProposalInputError(ValueError):
    """A proposal's parameters are missing or malformed; the message names the parameter."""


def departments(ledger: Ledger) -> list[dict[str, Any]]:
    f = ledger.registry.functions
    out = []
    for code in f.departmentCodes().call():
        active, roles, name, name_en, members = f.getDepartment(code).call()
        out.append({"code": bytes32_to_code(code), "name": name, "name_en": name_en, "active": active,
                    "roles": list(to_names(roles)), "member_count": members})
    return out


def members(ledger: Ledger) -> list[dict[str, Any]]:
    f = ledger.registry.functions
    out = []
    for account in f.memberAccounts().call():
        active, dept, roles = f.getMember(account).call()
        out.append({"account": account, "department": bytes32_to_code(dept), "active": active,
                    "roles": list(to_names(roles)), "alias": ledger.keyring.alias_of(account)})
    return out


def licence_authorities(ledger: Ledger) -> list[dict[str, Any]]:
    f = ledger.registry.functions
    codes = f.departmentCodes().call()
    out = []
    for lt in f.licenceTypes().call():
        issuers = [bytes32_to_code(c) for c in codes if f.isAuthorisedIssuer(lt, c).call()]
        out.append({"licence_type": bytes32_to_code(lt), "issuers": issuers})
    return out


def summary(ledger: Ledger) -> dict[str, Any]:
    f = ledger.registry.functions
    return {"threshold": f.threshold().call(), "active_departments": f.activeDepartmentCount().call(),
            "sealed": f.isSealed().call(), "proposals": f.proposalCount().call()}


def _require(params: dict[str, Any], *names: str) -> list[Any]:
    missing = [n for n in names if params.get(n) in (None, "", [])]
    if missing:
        raise ProposalInputError(f"missing parameter(s): {', '.join(missing)}")
    return [params[n] for n in names]


_TEXT_PARAMS = ("account", "department", "code", "name", "name_en", "licence_type", "data_type")


def encode_proposal(action: str, params: dict[str, Any]) -> tuple[int, bytes]:
    """(action index, ABI-encoded data) for a proposal described by name and named parameters."""
    if action not in ACTIONS:
        raise ProposalInputError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    for name in _TEXT_PARAMS:
        if params.get(name) is not None and not isinstance(params[name], str):
            raise ProposalInputError(f"{name} must be a string")
    roles = params.get("roles")
    if roles is not None and not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
        raise ProposalInputError("roles must be a list of role names")
    try:
        if action == "AddDepartment":
            code, name, name_en, roles = _require(params, "code", "name", "name_en", "roles")
            data = encode(["bytes32", "string", "string", "uint256"],
                          [code_to_bytes32(code), name, name_en, to_mask(roles)])
        elif action == "RemoveDepartment":
            (code,) = _require(params, "code")
            data = encode(["bytes32"], [code_to_bytes32(code)])
        elif action == "SetDepartmentRoles":
            code, roles = _require(params, "code", "roles")
            data = encode(["bytes32", "uint256"], [code_to_bytes32(code), to_mask(roles)])
        elif action == "AddMember":
            account, dept, roles = _require(params, "account", "department", "roles")
            data = encode(["address", "bytes32", "uint256"],
                          [to_checksum_address(account), code_to_bytes32(dept), to_mask(roles)])
        elif action == "RemoveMember":
            (account,) = _require(params, "account")
            data = encode(["address"], [to_checksum_address(account)])
        elif action == "SetMemberRoles":
            account, roles = _require(params, "account", "roles")
            data = encode(["address", "uint256"], [to_checksum_address(account), to_mask(roles)])
        elif action == "SetLicenceTypeAuthority":
            lt, dept = _require(params, "licence_type", "department")
            allowed = params.get("allowed", True)
            if not isinstance(allowed, bool):
                raise ProposalInputError("allowed must be true or false")
            data = encode(["bytes32", "bytes32", "bool"], [code_to_bytes32(lt), code_to_bytes32(dept), allowed])
        elif action == "SetThreshold":
            (threshold,) = _require(params, "threshold")
            if not isinstance(threshold, int) or isinstance(threshold, bool):
                raise ProposalInputError("threshold must be an integer")
            data = encode(["uint256"], [threshold])
        else:  # SetDataSource
            data_type, dept, quorum = _require(params, "data_type", "department", "quorum")
            if not isinstance(quorum, int) or isinstance(quorum, bool) or not 1 <= quorum <= 255:
                raise ProposalInputError("quorum must be an integer from 1 to 255")
            data = encode(["bytes32", "bytes32", "uint8"], [code_to_bytes32(data_type), code_to_bytes32(dept), quorum])
    except ProposalInputError:
        raise
    except (ValueError, TypeError) as exc:
        raise ProposalInputError(str(exc)) from None
    return ACTIONS.index(action), data


def propose(ledger: Ledger, account: LocalAccount, action: str, params: dict[str, Any]) -> dict[str, Any]:
    index, data = encode_proposal(action, params)
    registry = ledger.registry
    result = ledger.txm.transact(account, registry.functions.propose(index, data), f"propose {action}")
    created = registry.events.ProposalCreated().process_receipt(result.receipt, errors=DISCARD)
    proposal_id = created[0]["args"]["id"]
    return {"proposal": proposal(ledger, proposal_id), "tx_hash": result.tx_hash, "block": result.block_number}


def approve(ledger: Ledger, account: LocalAccount, proposal_id: int) -> dict[str, Any]:
    result = ledger.txm.transact(account, ledger.registry.functions.approve(proposal_id),
                                 f"approve proposal {proposal_id}")
    return {"proposal": proposal(ledger, proposal_id), "tx_hash": result.tx_hash, "block": result.block_number}


def proposal(ledger: Ledger, proposal_id: int) -> dict[str, Any]:
    p = ledger.txm.call(ledger.registry.functions.getProposal(proposal_id))
    action, status, dept, proposer, created, expires, approvals, data = p
    return {"id": proposal_id, "action": ACTIONS[action], "status": STATUSES[status],
            "proposer_department": bytes32_to_code(dept), "proposer": proposer, "created_at": created,
            "expires_at": expires, "approvals": approvals, "data": "0x" + bytes(data).hex()}


def proposals(ledger: Ledger, status: str | None = None) -> list[dict[str, Any]]:
    count = ledger.registry.functions.proposalCount().call()
    items = [proposal(ledger, i) for i in range(count)]
    return [p for p in items if status is None or p["status"] == status]
