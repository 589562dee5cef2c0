"""Enterprise pages: my credentials (licences with their status on chain, documents, credentials) and
sharing a presentation of chosen licences with chosen fields hidden."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.documents import openattestation as oa
from gateway.routers.licences import LICENCE_ID
from gateway.services import licences as svc
from gateway.web.render import render
from gateway.web.session import WebRefusal, enterprise_page, form_with_csrf

router = APIRouter(include_in_schema=False)
# needed by every verifier: never offered for hiding (the service refuses them too)
PROTECTED = {"id", "licenceType", "issuerDepartment", "issuers", "validFromTimestamp", "validUntilTimestamp"}


def _my_licences(ctx: GatewayContext, caller: Caller) -> list[dict[str, Any]]:
    out = []
    for row in svc.of_holder(ctx, caller.subject):
        item = svc.summary(row, svc.chain_status(ctx, row.id))
        fields = oa.unsalt(svc.document(row))
        item["hideable"] = [k for k in fields if k not in PROTECTED]
        item["fields"] = {k: v for k, v in fields.items() if k not in PROTECTED | {"issuers"}}
        out.append(item)
    return out


def _own(ctx: GatewayContext, caller: Caller, licence_id: str):
    if not LICENCE_ID.match(licence_id):
        raise WebRefusal(404, "licence_not_found", f"no licence {licence_id}", caller)
    try:
        row = svc.get(ctx, licence_id.lower())
    except svc.LicenceError as exc:
        raise WebRefusal(exc.status, exc.code, str(exc), caller) from None
    if row.holder_uscc != caller.subject:  # the API's rule: an enterprise sees only its own licences
        raise WebRefusal(403, "not_holder", "an enterprise sees only its own licences", caller)
    return row


@router.get("/web/credentials")
def credentials(request: Request, caller: Caller = Depends(enterprise_page),
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return render(request, "credentials.html", {"licences": _my_licences(ctx, caller), "error": None},
                  caller=caller)


@router.get("/web/credentials/{licence_id}/document")
def credential_document(licence_id: str, caller: Caller = Depends(enterprise_page),
                        ctx: GatewayContext = Depends(get_context)) -> JSONResponse:
    row = _own(ctx, caller, licence_id)
    return JSONResponse(svc.document(row), headers={
        "Content-Disposition": f'attachment; filename="licence-{row.number}.oa.json"'})


@router.get("/web/credentials/{licence_id}/vc")
def credential_vc(licence_id: str, request: Request, caller: Caller = Depends(enterprise_page),
                  ctx: GatewayContext = Depends(get_context)) -> JSONResponse:
    row = _own(ctx, caller, licence_id)
    return JSONResponse(svc.verifiable_credential(ctx, row, str(request.base_url)), headers={
        "Content-Disposition": f'attachment; filename="licence-{row.number}.vc.json"'})


@router.post("/web/credentials/share")
async def share(request: Request, caller: Caller = Depends(enterprise_page),
                ctx: GatewayContext = Depends(get_context)) -> Response:
    """A presentation of the ticked licences with the ticked fields hidden, as a file to hand over."""
    form = await form_with_csrf(request, caller)
    chosen = [str(v).lower() for v in form.getlist("licence")]
    selections: dict[str, list[str]] = {}
    for lid in chosen:
        _own(ctx, caller, lid)
        selections[lid] = [str(f) for f in form.getlist(f"hide:{lid}")]
    try:
        presentation = svc.presentation(ctx, caller.subject, selections)
    except svc.LicenceError as exc:
        return render(request, "credentials.html", {"licences": _my_licences(ctx, caller), "error": str(exc)},
                      status_code=exc.status, caller=caller)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    body = json.dumps(presentation, ensure_ascii=False, indent=1).encode("utf-8")
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="presentation-{caller.subject}-{stamp}.json"'})
