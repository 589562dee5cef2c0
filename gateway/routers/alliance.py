"""The alliance as the chain records it, and governance proposals."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, get_context, require_member
from gateway.errors import APIError
from gateway.services import alliance

router = APIRouter(prefix="/alliance", tags=["alliance"])


class ProposalRequest(BaseModel):
    action: Literal["AddDepartment", "RemoveDepartment", "SetDepartmentRoles", "AddMember", "RemoveMember",
                    "SetMemberRoles", "SetLicenceTypeAuthority", "SetThreshold", "SetDataSource"]
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="e.g. {account, department, roles} for AddMember")


def _signing_account(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise APIError(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}") from None


@router.get("", summary="Threshold, department count, bootstrap state, proposal count")
def summary(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> dict:
    return alliance.summary(ctx.ledger)


@router.get("/departments", summary="Every department the registry knows, with roles and member counts")
def departments(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return alliance.departments(ctx.ledger)


@router.get("/members", summary="Every member account with its department and roles")
def members(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return alliance.members(ctx.ledger)


@router.get("/licence-types", summary="Which departments may issue which licence type")
def licence_types(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return alliance.licence_authorities(ctx.ledger)


@router.get("/proposals", summary="Governance proposals, optionally by status")
def proposals(status: Literal["open", "executed", "cancelled"] | None = Query(None),
              _: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return alliance.proposals(ctx.ledger, status)


@router.post("/proposals", status_code=201, summary="Propose a governance change (governor)")
def propose(body: ProposalRequest, caller: Caller = Depends(require_member("governor")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    account = _signing_account(ctx, caller)
    try:
        out = alliance.propose(ctx.ledger, account, body.action, body.params)
    except alliance.ProposalInputError as exc:
        raise APIError(422, "invalid_proposal", str(exc)) from None
    ctx.members.forget()
    return out


@router.post("/proposals/{proposal_id}/approve", summary="Approve a proposal for the caller's department (governor)")
def approve(proposal_id: int, caller: Caller = Depends(require_member("governor")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    if not 0 <= proposal_id < 2**256:
        raise APIError(422, "invalid_request", "proposal id must be an integer from 0 to 2**256 - 1")
    out = alliance.approve(ctx.ledger, _signing_account(ctx, caller), proposal_id)
    ctx.members.forget()
    return out
