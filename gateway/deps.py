"""Request dependencies: the context, the authenticated caller, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chain.roles import to_names
from gateway.auth.tokens import TokenError
from gateway.context import GatewayContext
from gateway.errors import APIError
from gateway.models import RevokedToken

bearer = HTTPBearer(auto_error=False, description="Ed25519-signed token from POST /auth/login")


def get_context(request: Request) -> GatewayContext:
    return request.app.state.context


@dataclass(frozen=True)
class Caller:
    kind: str  # "member" | "enterprise"
    subject: str  # member address or USCC
    department: str | None
    roles: tuple[str, ...]
    jti: str
    exp: int


def current_caller(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: GatewayContext = Depends(get_context),
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise TokenError("token_missing", "no bearer token: log in with POST /auth/login")

    def revoked(jti: str) -> bool:
        with ctx.sessions() as s:
            return s.get(RevokedToken, jti) is not None

    claims = ctx.signer.verify(credentials.credentials, is_revoked=revoked)
    roles = claims.roles
    department = claims.department
    if claims.kind == "member":
        # roles come from the chain, not from the token: a member removed or demoted loses them at once
        active, department, mask = ctx.members.get(ctx.ledger, claims.sub)
        if not active:
            raise APIError(403, "member_inactive", f"account {claims.sub} is not an active alliance member")
        roles = to_names(mask)
    return Caller(kind=claims.kind, subject=claims.sub, department=department, roles=tuple(roles),
                  jti=claims.jti, exp=claims.exp)


def require_member(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting only members that hold every one of ``roles`` (any member if none)."""

    def check(caller: Caller = Depends(current_caller)) -> Caller:
        if caller.kind != "member":
            raise APIError(403, "forbidden_kind", "this endpoint is for alliance members only")
        missing = [r for r in roles if r not in caller.roles]
        if missing:
            raise APIError(403, "missing_role", f"role {', '.join(missing)} required", required=list(roles),
                           held=list(caller.roles))
        return caller

    return check


def require_enterprise(caller: Caller = Depends(current_caller)) -> Caller:
    if caller.kind != "enterprise":
        raise APIError(403, "forbidden_kind", "this endpoint is for enterprises only")
    return caller
