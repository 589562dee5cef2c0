"""Logins and bearer tokens through the HTTP API: every refusal is a 401 with a stable error code."""

from __future__ import annotations

import time
import uuid

import pytest

from chain.roles import ROLE_BITS
from gateway.auth.tokens import TokenSigner, generate_signing_key
from gateway.services import users
from tests.conftest import FAST_SCRYPT
from tests.gateway.helpers import PASSWORD, Gateway, bearer, error_of

USCC = "91350100MA2XXXXX0X"


def _canonical(roles) -> list[str]:
    return [r for r in ROLE_BITS if r in roles]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_login_returns_token_with_department_and_chain_roles(gw: Gateway, alliance_spec, keyring) -> None:
    response = gw.login(gw.usernames["MARKET"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["kind"] == "member"
    assert body["subject"] == keyring.account("MARKET-admin").address
    assert body["department"] == "MARKET"
    assert body["roles"] == _canonical(alliance_spec.department("MARKET").members[0].roles)
    assert body["expires_at"] > time.time() + 3600
    me = gw.client.get("/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200, me.text
    assert me.json() == {"kind": "member", "subject": body["subject"], "department": "MARKET",
                         "roles": body["roles"], "expires_at": body["expires_at"]}


def test_me_shows_each_departments_roles(gw: Gateway, alliance_spec) -> None:
    for code in ("DISCIPLINE", "FINANCE", "TALENT"):
        me = gw.client.get("/auth/me", headers=gw.admin(code))
        assert me.status_code == 200, me.text
        assert me.json()["department"] == code
        assert me.json()["roles"] == _canonical(alliance_spec.department(code).roles)


@pytest.mark.parametrize("username, password", [
    ("market-admin", "wrong password!"),
    ("nobody-here", PASSWORD),
])
def test_bad_credentials(gw: Gateway, username: str, password: str) -> None:
    error_of(gw.login(username, password), 401, "bad_credentials")


def test_login_body_validated(gw: Gateway) -> None:
    error_of(gw.client.post("/auth/login", json={"username": "market-admin"}), 422, "invalid_request")


def test_enterprise_login(gw: Gateway) -> None:
    username = _unique("ent")
    users.create_user(gw.ctx.sessions, username, PASSWORD, kind="enterprise", uscc=USCC, scrypt_n=FAST_SCRYPT)
    body = gw.login(username).json()
    assert (body["kind"], body["subject"], body["department"], body["roles"]) == (
        "enterprise", USCC, None, ["enterprise"])
    me = gw.client.get("/auth/me", headers=bearer(body["token"])).json()
    assert (me["kind"], me["subject"], me["roles"]) == ("enterprise", USCC, ["enterprise"])


def test_missing_token(gw: Gateway) -> None:
    response = gw.client.get("/auth/me")
    error_of(response, 401, "token_missing")
    assert response.headers["www-authenticate"] == "Bearer"
    error_of(gw.client.get("/status"), 401, "token_missing")
    error_of(gw.client.get("/alliance/members", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401,
             "token_missing")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "abc.def", "!!!.???"])
def test_malformed_token(gw: Gateway, token: str) -> None:
    error_of(gw.client.get("/auth/me", headers=bearer(token)), 401, "token_malformed")


def test_expired_token(gw: Gateway, keyring) -> None:
    token, _ = gw.ctx.signer.issue(sub=keyring.account("MARKET-admin").address, kind="member", department="MARKET",
                                   roles=["governor"], ttl_seconds=1, now=int(time.time()) - 100)
    error_of(gw.client.get("/auth/me", headers=bearer(token)), 401, "token_expired")


def test_token_signed_by_another_key(gw: Gateway, keyring) -> None:
    other = TokenSigner(generate_signing_key(), gw.ctx.settings.gateway.token_issuer)
    token, _ = other.issue(sub=keyring.account("MARKET-admin").address, kind="member", department="MARKET",
                           roles=["governor"], ttl_seconds=600)
    error_of(gw.client.get("/auth/me", headers=bearer(token)), 401, "token_bad_signature")
    error_of(gw.client.get("/status", headers=bearer(token)), 401, "token_bad_signature")


def test_logout_revokes_the_token(gw: Gateway) -> None:
    token = gw.token(gw.usernames["FINANCE"])
    assert gw.client.get("/auth/me", headers=bearer(token)).status_code == 200
    response = gw.client.post("/auth/logout", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["revoked"]
    error_of(gw.client.get("/auth/me", headers=bearer(token)), 401, "token_revoked")
    error_of(gw.client.get("/status", headers=bearer(token)), 401, "token_revoked")
    error_of(gw.client.post("/auth/logout", headers=bearer(token)), 401, "token_revoked")
    # another token of the same login is unaffected
    assert gw.client.get("/auth/me", headers=bearer(gw.token(gw.usernames["FINANCE"]))).status_code == 200


def test_login_of_account_that_is_not_a_member(gw: Gateway) -> None:
    from tests.gateway.helpers import new_address

    username = _unique("stranger")
    users.create_user(gw.ctx.sessions, username, PASSWORD, kind="member", member_address=new_address(),
                      scrypt_n=FAST_SCRYPT)
    error_of(gw.login(username), 403, "member_inactive")
