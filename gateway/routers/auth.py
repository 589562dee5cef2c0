"""Login, logout and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from chain.roles import to_names
from gateway.context import GatewayContext
from gateway.deps import Caller, current_caller, get_context
from gateway.errors import APIError
from gateway.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: int
    kind: str
    subject: str
    department: str | None
    roles: list[str]


def client_address(request: Request | None) -> str:
    return request.client.host if request is not None and request.client else "unknown"


@router.post("/login", response_model=TokenResponse, summary="Exchange a username and password for a token "
             "(repeated failures lock the username or the address for a while: 429 login_locked)")
def login(body: LoginRequest, request: Request, ctx: GatewayContext = Depends(get_context)) -> TokenResponse:
    try:
        user = users.authenticate_throttled(ctx.sessions, users.login_throttle(ctx), body.username, body.password,
                                            client_address(request))
    except users.LoginLocked as exc:
        raise APIError(429, exc.code, str(exc), scope=exc.scope, retry_after_seconds=exc.retry_after) from None
    except users.UserError as exc:
        raise APIError(401, exc.code, str(exc)) from None
    department, roles = None, ()
    if user.kind == "member":
        active, department, mask = ctx.members.get(ctx.ledger, user.member_address)
        if not active:
            raise APIError(403, "member_inactive", f"account {user.member_address} is not an active alliance member")
        roles = to_names(mask)
    token, claims = users.issue_token(ctx.signer, user, department, roles, ctx.settings.gateway.token_ttl_seconds)
    return TokenResponse(token=token, expires_at=claims.exp, kind=claims.kind, subject=claims.sub,
                         department=claims.department, roles=list(claims.roles))


@router.post("/logout", summary="Revoke the token used for this request")
def logout(caller: Caller = Depends(current_caller), ctx: GatewayContext = Depends(get_context)) -> dict:
    users.revoke_token(ctx.sessions, caller.jti, caller.exp)
    return {"revoked": caller.jti}


@router.get("/me", summary="Who the token belongs to, with the roles the chain gives it now")
def me(caller: Caller = Depends(current_caller)) -> dict:
    return {"kind": caller.kind, "subject": caller.subject, "department": caller.department,
            "roles": list(caller.roles), "expires_at": caller.exp}
