"""Helpers shared by the licence and document API tests (plain functions; the fixtures are in conftest.py)."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from gateway.context import GatewayContext
from gateway.models import Licence
from gateway.services import users
from gateway.services.licences import chain_status, licence_id
from tests.conftest import FAST_SCRYPT
from tests.gateway.helpers import PASSWORD, bearer, error_of  # noqa: F401 (shared by the licence tests)

MAX_BYTES = 64 * 1024
_counter = itertools.count(1)


def revert_of(response: Any, error_name: str) -> dict[str, Any]:
    """Assert ``response`` is the 409 refusal of a contract with its custom error ``error_name``."""
    error = error_of(response, 409, "contract_revert")
    assert error["error"] == error_name, error
    return error


def new_uscc() -> str:
    """A fresh, well-formed unified social credit code (18 characters)."""
    return f"91350100MA{random.randrange(10**8):08d}"


def new_number(prefix: str = "T") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:10]}"


def draft(licence_type: str = "BUSINESS_LICENCE", *, number: str | None = None, holder_uscc: str | None = None,
          holder_name: str = "福州测试科技有限公司", valid_from: str = "2024-01-01",
          valid_until: str | None = "2034-12-31", **fields: Any) -> dict[str, Any]:
    """A licence request body as the API takes it."""
    body: dict[str, Any] = {"licence_type": licence_type, "number": number or new_number(),
                            "holder_uscc": holder_uscc or new_uscc(), "holder_name": holder_name,
                            "valid_from": valid_from, "valid_until": valid_until}
    if fields:
        body["fields"] = fields
    return body


@dataclass
class LicenceGateway:
    """One backend's gateway: the context, an HTTP client and a login per department admin."""

    backend: str
    ctx: GatewayContext
    client: TestClient
    usernames: dict[str, str]  # department code -> username of its admin's login
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, username: str) -> str:
        response = self.client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def admin(self, department: str) -> dict[str, str]:
        """Authorization header of the department admin's login (one token per admin, reused)."""
        if department not in self._tokens:
            self._tokens[department] = self.token(self.usernames[department])
        return bearer(self._tokens[department])

    def enterprise(self, uscc: str | None = None) -> tuple[str, dict[str, str]]:
        """A new enterprise login for ``uscc`` (fresh if not given): (USCC, Authorization header)."""
        uscc = uscc or new_uscc()
        username = f"ent-{uuid.uuid4().hex[:12]}"
        users.create_user(self.ctx.sessions, username, PASSWORD, kind="enterprise", uscc=uscc, scrypt_n=FAST_SCRYPT)
        return uscc, bearer(self.token(username))

    def issue(self, department: str = "MARKET", **kwargs: Any) -> dict[str, Any]:
        """Issue one licence through the API as ``department``'s admin; return the 201 body."""
        response = self.client.post("/licences", json=draft(**kwargs), headers=self.admin(department))
        assert response.status_code == 201, response.text
        return response.json()

    def chain_status(self, lid: str) -> str:
        return chain_status(self.ctx, lid)

    def licence_rows(self) -> int:
        with self.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(Licence)) or 0

    def assert_nothing_issued(self, bodies: list[dict[str, Any]], rows_before: int) -> None:
        """No licence row was added and none of ``bodies`` is on chain."""
        assert self.licence_rows() == rows_before
        for body in bodies:
            lid = "0x" + licence_id(body["licence_type"], body["number"]).hex()
            assert self.chain_status(lid) == "none", body

    def sql(self, statement: str, **params: Any) -> None:
        """Run a raw SQL statement against the gateway's database (to play an attacker with DB access)."""
        with self.ctx.sessions() as s:
            s.execute(text(statement), params)
            s.commit()

    def verify(self, doc: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/verify/licence", content=json.dumps(doc, ensure_ascii=False).encode(),
                                    headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        return response.json()
