"""The alliance through the HTTP API: reading it, governance proposals, and what roles admit."""

from __future__ import annotations

import uuid

import pytest

from gateway.services import users
from tests.conftest import FAST_SCRYPT
from tests.gateway.helpers import APPROVERS, PASSWORD, Gateway, bearer, error_of, new_address

USCC = "91350100MA2XXXXX0X"


def _member_login(gw: Gateway, account: str) -> str:
    username = f"member-{uuid.uuid4().hex[:10]}"
    users.create_user(gw.ctx.sessions, username, PASSWORD, kind="member", member_address=account,
                      scrypt_n=FAST_SCRYPT)
    return username


# ---------------------------------------------------------------- reading the alliance


def test_departments(gw: Gateway, alliance_spec) -> None:
    response = gw.client.get("/alliance/departments", headers=gw.admin("DISCIPLINE"))
    assert response.status_code == 200, response.text
    departments = {d["code"]: d for d in response.json()}
    assert len(departments) == 14
    for spec in alliance_spec.departments:
        d = departments[spec.code]
        assert (d["name"], d["name_en"], d["active"]) == (spec.name, spec.name_en, True)
        assert set(d["roles"]) == set(spec.roles)
        assert d["member_count"] >= 1
    assert departments["MARKET"]["name"] == "市场监督管理局"
    assert departments["MARKET"]["name_en"] == "Market Regulation Administration"


def test_licence_types(gw: Gateway, alliance_spec) -> None:
    response = gw.client.get("/alliance/licence-types", headers=gw.admin("FINANCE"))
    assert response.status_code == 200, response.text
    types = {t["licence_type"]: t["issuers"] for t in response.json()}
    assert types["BUSINESS_LICENCE"] == ["MARKET"]
    for spec in alliance_spec.licence_types:
        assert types[spec.code] == list(spec.issuers)


def test_summary(gw: Gateway) -> None:
    response = gw.client.get("/alliance", headers=gw.admin("TAX"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["threshold"], body["active_departments"], body["sealed"]) == (10, 14, True)


def test_members_lists_every_admin(gw: Gateway, keyring, alliance_spec) -> None:
    response = gw.client.get("/alliance/members", headers=gw.admin("HOUSING"))
    assert response.status_code == 200, response.text
    listed = {m["account"]: m for m in response.json()}
    for spec in alliance_spec.members:
        member = listed[keyring.account(spec.alias).address]
        assert (member["department"], member["active"], member["alias"]) == (spec.department, True, spec.alias)


# ---------------------------------------------------------------- roles


def test_enterprise_token_refused_on_member_endpoints(gw: Gateway) -> None:
    username = f"ent-{uuid.uuid4().hex[:10]}"
    users.create_user(gw.ctx.sessions, username, PASSWORD, kind="enterprise", uscc=USCC, scrypt_n=FAST_SCRYPT)
    headers = bearer(gw.token(username))
    for path in ("/status", "/alliance/members", "/alliance/departments", "/alliance/proposals"):
        error_of(gw.client.get(path, headers=headers), 403, "forbidden_kind")
    error_of(gw.client.post("/alliance/proposals", json={"action": "SetThreshold", "params": {"threshold": 9}},
                            headers=headers), 403, "forbidden_kind")


def test_governance_adds_a_member_and_a_non_governor_may_not_propose(gw: Gateway) -> None:
    account = new_address()
    response = gw.propose("AddMember", {"account": account, "department": "MARKET", "roles": ["reviewer"]})
    assert response.status_code == 201, response.text
    proposal = response.json()["proposal"]
    assert (proposal["action"], proposal["status"], proposal["approvals"]) == ("AddMember", "open", 1)
    assert proposal["proposer_department"] == "MARKET"
    assert response.json()["tx_hash"].startswith("0x")
    assert gw.member(account) is None

    for count, department in enumerate(APPROVERS, start=2):
        response = gw.approve(proposal["id"], department)
        assert response.status_code == 200, response.text
        proposal = response.json()["proposal"]
        assert proposal["approvals"] == count
        assert proposal["status"] == ("executed" if count == 10 else "open")

    member = gw.member(account)
    assert member == {"account": account, "department": "MARKET", "active": True, "roles": ["reviewer"],
                      "alias": None}
    listed = gw.client.get("/alliance/proposals", params={"status": "executed"}, headers=gw.admin("TAX")).json()
    assert proposal["id"] in [p["id"] for p in listed]

    # the new member logs in with the roles the chain gave it, but may not propose
    username = _member_login(gw, account)
    login = gw.login(username).json()
    assert (login["department"], login["roles"]) == ("MARKET", ["reviewer"])
    headers = bearer(login["token"])
    assert gw.client.get("/alliance/members", headers=headers).status_code == 200
    error = error_of(gw.client.post("/alliance/proposals",
                                    json={"action": "SetThreshold", "params": {"threshold": 9}}, headers=headers),
                     403, "missing_role")
    assert error["required"] == ["governor"] and error["held"] == ["reviewer"]
    error_of(gw.client.post(f"/alliance/proposals/{proposal['id']}/approve", headers=headers), 403, "missing_role")


def test_demoted_then_removed_member_loses_access_on_a_valid_token(gw: Gateway) -> None:
    account = new_address()
    gw.enact("AddMember", {"account": account, "department": "FINANCE", "roles": ["governor", "finance"]})
    username = _member_login(gw, account)
    headers = bearer(gw.token(username))
    me = gw.client.get("/auth/me", headers=headers).json()
    assert (me["department"], me["roles"]) == ("FINANCE", ["governor", "finance"])
    proposal = {"action": "SetThreshold", "params": {"threshold": 9}}
    # a governor whose key this gateway does not hold cannot sign a proposal
    error_of(gw.client.post("/alliance/proposals", json=proposal, headers=headers), 403, "key_not_held")

    # demoted: the same token now carries the chain's new roles
    gw.enact("SetMemberRoles", {"account": account, "roles": ["finance"]})
    assert gw.client.get("/auth/me", headers=headers).json()["roles"] == ["finance"]
    error_of(gw.client.post("/alliance/proposals", json=proposal, headers=headers), 403, "missing_role")

    # removed: the still-valid token is refused at once, and so is a new login
    gw.enact("RemoveMember", {"account": account})
    assert gw.member(account)["active"] is False
    for path in ("/auth/me", "/status", "/alliance/members"):
        error_of(gw.client.get(path, headers=headers), 403, "member_inactive")
    error_of(gw.login(username), 403, "member_inactive")


# ---------------------------------------------------------------- refusals


def test_same_department_approving_twice(gw: Gateway) -> None:
    response = gw.propose("AddMember", {"account": new_address(), "department": "MARKET", "roles": ["issuer"]})
    assert response.status_code == 201, response.text
    proposal_id = response.json()["proposal"]["id"]
    error = error_of(gw.approve(proposal_id, "MARKET"), 409, "contract_revert")
    assert error["error"] == "AlreadyApproved"
    assert error["args"] == {"id": proposal_id, "department": "MARKET"}
    assert gw.approve(proposal_id, "TAX").status_code == 200
    error = error_of(gw.approve(proposal_id, "TAX"), 409, "contract_revert")
    assert error["error"] == "AlreadyApproved"
    assert error["args"]["department"] == "TAX"
    current = [p for p in gw.client.get("/alliance/proposals", params={"status": "open"},
                                        headers=gw.admin("TAX")).json() if p["id"] == proposal_id]
    assert current and current[0]["approvals"] == 2


def test_unknown_proposal(gw: Gateway) -> None:
    error = error_of(gw.approve(10**9, "TAX"), 409, "contract_revert")
    assert error["error"] == "UnknownProposal"
    error_of(gw.approve(-1, "TAX"), 422, "invalid_request")
    error_of(gw.approve(2**256, "TAX"), 422, "invalid_request")
    error_of(gw.client.post("/alliance/proposals/first/approve", headers=gw.admin("TAX")), 422, "invalid_request")


@pytest.mark.parametrize("action, params", [
    ("AddMember", {"department": "MARKET", "roles": ["reviewer"]}),  # no account
    ("AddMember", {"account": "0x1234", "department": "MARKET", "roles": ["reviewer"]}),
    ("AddMember", {"account": "NEW", "department": "MARKET", "roles": ["judge"]}),  # unknown role
    ("AddMember", {"account": "NEW", "department": "M" * 33, "roles": ["reviewer"]}),  # code too long
    ("AddMember", {"account": "NEW", "department": "市场", "roles": ["reviewer"]}),  # not ASCII
    ("AddMember", {"account": "NEW", "department": "MARKET", "roles": [8]}),  # role not a name
    ("AddMember", {"account": "NEW", "department": 5, "roles": ["reviewer"]}),
    ("AddMember", {"account": 12345, "department": "MARKET", "roles": ["reviewer"]}),
    ("AddMember", {"account": "NEW", "department": "MARKET", "roles": "reviewer"}),
    ("SetThreshold", {"threshold": "9"}),
    ("SetThreshold", {}),
    ("SetLicenceTypeAuthority", {"licence_type": "X", "department": "MARKET", "allowed": "yes"}),
    ("AddMember", {"account": "NEW", "department": "MARKET", "roles": [None]}),
    ("AddDepartment", {"code": "PORT", "name": "港务局", "roles": ["governor"]}),  # no name_en
])
def test_invalid_proposal(gw: Gateway, action: str, params: dict) -> None:
    params = {k: (new_address() if v == "NEW" else v) for k, v in params.items()}
    before = gw.client.get("/alliance", headers=gw.admin("MARKET")).json()["proposals"]
    error_of(gw.propose(action, params), 422, "invalid_proposal")
    assert gw.client.get("/alliance", headers=gw.admin("MARKET")).json()["proposals"] == before


@pytest.mark.parametrize("body", [
    {"action": "DissolveAlliance", "params": {}},
    {"params": {"threshold": 9}},
    {"action": "SetThreshold", "params": [9]},
])
def test_invalid_request(gw: Gateway, body: dict) -> None:
    error = error_of(gw.client.post("/alliance/proposals", json=body, headers=gw.admin("MARKET")), 422,
                     "invalid_request")
    assert error["problems"]


def test_add_member_to_unknown_department(gw: Gateway) -> None:
    account = new_address()
    error = error_of(gw.propose("AddMember", {"account": account, "department": "NOSUCH", "roles": ["reviewer"]}),
                     409, "contract_revert")
    assert error["error"] == "UnknownDepartment"
    assert error["args"] == {"code": "NOSUCH"}
    assert "UnknownDepartment" in error["message"]


def test_contract_checks_member_roles_against_department(gw: Gateway) -> None:
    error = error_of(gw.propose("AddMember", {"account": new_address(), "department": "TAX",
                                              "roles": ["finance"]}), 409, "contract_revert")
    assert error["error"] == "RolesNotHeldByDepartment"
    error = error_of(gw.propose("SetThreshold", {"threshold": 15}), 409, "contract_revert")
    assert error["error"] == "InvalidThreshold"
