"""Helpers shared by the gateway API tests (plain functions; the fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient

from gateway.context import GatewayContext

PASSWORD = "correct horse battery"
PROPOSER = "MARKET"
# the nine departments whose approvals, with the proposer's, reach the default threshold of 10
APPROVERS = ("APPROVAL", "DISCIPLINE", "FINANCE", "DRC", "TAX", "HRSS", "SCITECH", "COMMERCE", "INDUSTRY")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is the JSON refusal ``status`` / ``code``; return its ``error`` object."""
    assert response.status_code == status, f"expected {status} {code}, got {response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


def new_address() -> str:
    """A fresh account address that no test has used."""
    return Account.create().address


@dataclass
class Gateway:
    """One backend's gateway: the context, an HTTP client and a login per department admin."""

    backend: str
    ctx: GatewayContext
    client: TestClient
    usernames: dict[str, str]  # department code -> username of its admin's login
    _tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        return self.client.post("/auth/login", json={"username": username, "password": password})

    def token(self, username: str) -> str:
        response = self.login(username)
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def admin(self, department: str) -> dict[str, str]:
        """Authorization header of the department admin's login (one token per admin, reused)."""
        if department not in self._tokens:
            self._tokens[department] = self.token(self.usernames[department])
        return bearer(self._tokens[department])

    def propose(self, action: str, params: dict[str, Any], department: str = PROPOSER) -> Any:
        return self.client.post("/alliance/proposals", json={"action": action, "params": params},
                                headers=self.admin(department))

    def approve(self, proposal_id: int, department: str) -> Any:
        return self.client.post(f"/alliance/proposals/{proposal_id}/approve", headers=self.admin(department))

    def enact(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Propose as MARKET and approve with nine more governors through the API; return the proposal."""
        response = self.propose(action, params)
        assert response.status_code == 201, response.text
        proposal = response.json()["proposal"]
        for department in APPROVERS:
            response = self.approve(proposal["id"], department)
            assert response.status_code == 200, response.text
            proposal = response.json()["proposal"]
        assert proposal["status"] == "executed", proposal
        return proposal

    def member(self, account: str) -> dict[str, Any] | None:
        response = self.client.get("/alliance/members", headers=self.admin(PROPOSER))
        assert response.status_code == 200, response.text
        found = [m for m in response.json() if m["account"].lower() == account.lower()]
        return found[0] if found else None
