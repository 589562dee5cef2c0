"""Alliance administration pages: departments, members, licence-type authorities, governance proposals and
votes. Any member reads them (as the API allows); proposing and approving needs the ``governor`` role."""

from __future__ import annotations

from typing import Any

from eth_abi import decode
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chain.errors import ChainError, ContractRevert
from chain.keystore import KeystoreError
from chain.roles import ROLE_BITS, bytes32_to_code, to_names
from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.services import alliance as svc
from gateway.web.render import render
from gateway.web.session import WebRefusal, form_with_csrf, member_page

router = APIRouter(include_in_schema=False)
any_member = member_page()
governor = member_page("governor")
TABS = ("departments", "members", "licence-types", "proposals")
# the parameters each action takes, in the form's field names
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "AddDepartment": ("code", "name", "name_en", "roles"),
    "RemoveDepartment": ("code",),
    "SetDepartmentRoles": ("code", "roles"),
    "AddMember": ("account", "department", "roles"),
    "RemoveMember": ("account",),
    "SetMemberRoles": ("account", "roles"),
    "SetLicenceTypeAuthority": ("licence_type", "department", "allowed"),
    "SetThreshold": ("threshold",),
    "SetDataSource": ("data_type", "department", "quorum"),
}
_DECODE: dict[str, tuple[tuple[str, str], ...]] = {
    "AddDepartment": (("code", "bytes32"), ("name", "string"), ("name_en", "string"), ("roles", "uint256")),
    "RemoveDepartment": (("code", "bytes32"),),
    "SetDepartmentRoles": (("code", "bytes32"), ("roles", "uint256")),
    "AddMember": (("account", "address"), ("department", "bytes32"), ("roles", "uint256")),
    "RemoveMember": (("account", "address"),),
    "SetMemberRoles": (("account", "address"), ("roles", "uint256")),
    "SetLicenceTypeAuthority": (("licence_type", "bytes32"), ("department", "bytes32"), ("allowed", "bool")),
    "SetThreshold": (("threshold", "uint256"),),
    "SetDataSource": (("data_type", "bytes32"), ("department", "bytes32"), ("quorum", "uint8")),
}


def describe(action: str, data_hex: str) -> dict[str, Any]:
    """A proposal's parameters read back from its ABI-encoded data, for people to check before voting."""
    spec = _DECODE.get(action)
    if not spec:
        return {}
    try:
        values = decode([t for _, t in spec], bytes.fromhex(data_hex.removeprefix("0x")))
    except Exception:  # noqa: BLE001 - show the raw data instead
        return {"data": data_hex}
    out: dict[str, Any] = {}
    for (name, kind), value in zip(spec, values):
        if kind == "bytes32":
            out[name] = bytes32_to_code(value)
        elif name == "roles":
            out[name] = list(to_names(value))
        else:
            out[name] = value
    return out


def _approved_by(ctx: GatewayContext, proposal_id: int, departments: list[str]) -> list[str]:
    """Departments that approved a proposal, if the registry answers ``hasApproved(id, department)``."""
    fn = getattr(ctx.ledger.registry.functions, "hasApproved", None)
    if fn is None:
        return []
    from chain.roles import code_to_bytes32

    out = []
    for code in departments:
        try:
            if fn(proposal_id, code_to_bytes32(code)).call():
                out.append(code)
        except Exception:  # noqa: BLE001 - an older registry without the view: show counts only
            return []
    return out


def _page(request: Request, ctx: GatewayContext, caller: Caller, tab: str, *, error: str | None = None,
          form: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    if tab not in TABS:
        tab = "departments"
    values: dict[str, Any] = {"tab": tab, "tabs": TABS, "summary": svc.summary(ctx.ledger), "error": error,
                              "form": form or {}, "done": request.query_params.get("done"),
                              "done_id": request.query_params.get("id", ""), "governor": "governor" in caller.roles}
    departments = svc.departments(ctx.ledger)
    values["departments"] = departments
    if tab == "members":
        values["members"] = svc.members(ctx.ledger)
    elif tab == "licence-types":
        values["authorities"] = svc.licence_authorities(ctx.ledger)
    elif tab == "proposals":
        codes = [d["code"] for d in departments if d["active"]]
        items = list(reversed(svc.proposals(ctx.ledger)))
        for p in items:
            p["params"] = describe(p["action"], p["data"])
            p["approved_by"] = _approved_by(ctx, p["id"], codes) if p["status"] == "open" else []
        values.update(proposals=items, actions=list(ACTION_FIELDS), action_fields=ACTION_FIELDS,
                      roles=list(ROLE_BITS), licence_types=[a["licence_type"] for a in
                                                             svc.licence_authorities(ctx.ledger)],
                      data_types=[ds.code for ds in ctx.ledger.spec.data_sources])
    return render(request, "alliance.html", values, caller=caller, status_code=status_code)


@router.get("/web/alliance")
def alliance_page(request: Request, tab: str = "departments", caller: Caller = Depends(any_member),
                  ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _page(request, ctx, caller, tab)


def _account(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise WebRefusal(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}",
                         caller) from None


def _explain(exc: Exception) -> str:
    if isinstance(exc, ContractRevert):
        args = ", ".join(f"{k}={v}" for k, v in exc.to_dict()["args"].items())
        return f"{exc.error}({args})"
    return str(exc)


def proposal_params(action: str, form) -> dict[str, Any]:
    """The API's ``params`` from the form's fields for ``action`` (numbers and booleans converted)."""
    params: dict[str, Any] = {}
    for name in ACTION_FIELDS.get(action, ()):
        if name == "roles":
            params["roles"] = [str(r) for r in form.getlist("roles")]
        elif name == "allowed":
            params["allowed"] = str(form.get("allowed") or "true") == "true"
        elif name in ("threshold", "quorum"):
            text = str(form.get(name) or "").strip()
            try:
                params[name] = int(text)
            except ValueError:
                raise svc.ProposalInputError(f"{name} must be an integer") from None
        else:
            value = str(form.get(name) or "").strip()
            if value:
                params[name] = value
    return params


@router.post("/web/alliance/proposals")
async def propose(request: Request, caller: Caller = Depends(governor),
                  ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    action = str(form.get("action") or "")
    echo = {k: form.getlist(k) if k == "roles" else str(form.get(k) or "") for k in
            ("action", "code", "name", "name_en", "roles", "account", "department", "licence_type", "allowed",
             "threshold", "data_type", "quorum")}
    try:
        if action not in ACTION_FIELDS:
            raise svc.ProposalInputError(f"unknown action {action!r}")
        out = svc.propose(ctx.ledger, _account(ctx, caller), action, proposal_params(action, form))
    except (svc.ProposalInputError, ChainError) as exc:
        return _page(request, ctx, caller, "proposals", error=_explain(exc), form=echo,
                     status_code=422 if isinstance(exc, svc.ProposalInputError) else 409)
    ctx.members.forget()
    return RedirectResponse(f"/web/alliance?tab=proposals&done=proposed&id={out['proposal']['id']}", status_code=303)


@router.post("/web/alliance/proposals/{proposal_id}/approve")
async def approve(proposal_id: int, request: Request, caller: Caller = Depends(governor),
                  ctx: GatewayContext = Depends(get_context)) -> Response:
    await form_with_csrf(request, caller)
    if not 0 <= proposal_id < 2**256:
        raise WebRefusal(422, "invalid_request", "proposal id must be an integer from 0 to 2**256 - 1", caller)
    try:
        out = svc.approve(ctx.ledger, _account(ctx, caller), proposal_id)
    except ChainError as exc:
        return _page(request, ctx, caller, "proposals", error=_explain(exc), status_code=409)
    ctx.members.forget()
    done = "executed" if out["proposal"]["status"] == "executed" else "approved"
    return RedirectResponse(f"/web/alliance?tab=proposals&done={done}&id={proposal_id}", status_code=303)
