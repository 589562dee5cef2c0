"""Licences: issue (one or bulk), lifecycle, documents, credentials; enterprise views; public verification."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, current_caller, get_context, require_enterprise, require_member
from gateway.errors import APIError
from gateway.services import licences as svc
from gateway.verification.asgi import verdict_json

router = APIRouter(tags=["licences"])
LICENCE_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")


class DraftIn(BaseModel):
    licence_type: str = Field(min_length=1, max_length=32, examples=["BUSINESS_LICENCE"])
    number: str = Field(min_length=1, max_length=64)
    holder_uscc: str = Field(min_length=18, max_length=18)
    holder_name: str = Field(min_length=1, max_length=200)
    valid_from: str = Field(examples=["2026-01-01"])
    valid_until: str | None = Field(None, examples=["2030-12-31"])
    fields: dict[str, Any] = Field(default_factory=dict, description="type-specific fields, camelCase names")

    def draft(self) -> svc.LicenceDraft:
        return svc.LicenceDraft(**self.model_dump())


class BulkIn(BaseModel):
    licences: list[DraftIn] = Field(min_length=1, max_length=svc.MAX_BULK)


class ReasonIn(BaseModel):
    reason_code: int = Field(ge=1, le=65535, description="the department's reason code")


class PresentationIn(BaseModel):
    licences: dict[str, list[str]] = Field(description="licence id → names of fields to hide")


def _error(exc: svc.LicenceError) -> APIError:
    return APIError(exc.status, exc.code, str(exc))


def _lid(licence_id: str) -> str:
    if not LICENCE_ID.match(licence_id):
        raise APIError(422, "invalid_licence_id", "a licence id is 0x followed by 64 hexadecimal characters")
    return licence_id.lower()


def _issuer_key(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise APIError(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}") from None


def load(ctx: GatewayContext, licence_id: str):
    """The gateway's licence row for a path's licence id, or the API error saying why not."""
    try:
        return svc.get(ctx, _lid(licence_id))
    except svc.LicenceError as exc:
        raise _error(exc) from None


def readable(licence_id: str, caller: Caller = Depends(current_caller),
             ctx: GatewayContext = Depends(get_context)):
    """Members read every licence (verification is their job); an enterprise only its own."""
    row = load(ctx, licence_id)
    if caller.kind == "enterprise" and caller.subject != row.holder_uscc:
        raise APIError(403, "not_holder", "an enterprise sees only its own licences")
    return row


# ---------------------------------------------------------------------------- issuing department

@router.post("/licences", status_code=201, summary="Issue one licence (issuer of an authorised department)")
def issue(body: DraftIn, caller: Caller = Depends(require_member("issuer")),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        (row,) = svc.issue(ctx, _issuer_key(ctx, caller), caller.department, [body.draft()])
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return {"licence": svc.summary(row), "document": svc.document(row)}


@router.post("/licences/bulk", status_code=201, summary="Issue many licences, one transaction per 50")
def issue_bulk(body: BulkIn, caller: Caller = Depends(require_member("issuer")),
               ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        rows = svc.issue(ctx, _issuer_key(ctx, caller), caller.department, [d.draft() for d in body.licences])
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return {"issued": len(rows), "transactions": sorted({r.tx_hash for r in rows}),
            "licences": [svc.summary(r) for r in rows]}


def _lifecycle(action, ctx: GatewayContext, caller: Caller, licence_id: str, *args) -> dict:
    try:
        row = action(ctx, _issuer_key(ctx, caller), _lid(licence_id), *args)
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return {"licence": svc.summary(row, svc.chain_status(ctx, row.id))}


@router.post("/licences/{licence_id}/suspend", summary="Suspend a licence (its issuing department)")
def suspend(licence_id: str, body: ReasonIn, caller: Caller = Depends(require_member("issuer")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    return _lifecycle(svc.suspend, ctx, caller, licence_id, body.reason_code)


@router.post("/licences/{licence_id}/reinstate", summary="Reinstate a suspended licence")
def reinstate(licence_id: str, caller: Caller = Depends(require_member("issuer")),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    return _lifecycle(svc.reinstate, ctx, caller, licence_id)


@router.post("/licences/{licence_id}/revoke", summary="Revoke a licence with a reason code")
def revoke(licence_id: str, body: ReasonIn, caller: Caller = Depends(require_member("issuer")),
           ctx: GatewayContext = Depends(get_context)) -> dict:
    return _lifecycle(svc.revoke, ctx, caller, licence_id, body.reason_code)


@router.post("/licences/{licence_id}/renew", status_code=201, summary="Renew: the new licence supersedes the old")
def renew(licence_id: str, body: DraftIn, caller: Caller = Depends(require_member("issuer")),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        row = svc.renew(ctx, _issuer_key(ctx, caller), caller.department, _lid(licence_id), body.draft())
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return {"licence": svc.summary(row), "document": svc.document(row)}


# ---------------------------------------------------------------------------- reading

@router.get("/licences", summary="Find licences by type and number, or by holder (members)")
def search(licence_type: str | None = Query(None), number: str | None = Query(None),
           holder_uscc: str | None = Query(None), _: Caller = Depends(require_member()),
           ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    try:
        if licence_type and number:
            return [svc.summary(svc.find(ctx, licence_type, number))]
        if holder_uscc:
            return [svc.summary(r) for r in svc.of_holder(ctx, holder_uscc)]
    except svc.LicenceError as exc:
        raise _error(exc) from None
    raise APIError(422, "invalid_request", "give licence_type and number, or holder_uscc")


@router.get("/licences/{licence_id}", summary="A licence with its status on chain")
def get_licence(row=Depends(readable), ctx: GatewayContext = Depends(get_context)) -> dict:
    return svc.summary(row, svc.chain_status(ctx, row.id))


@router.get("/licences/{licence_id}/document", summary="The OpenAttestation v2 wrapped document")
def get_document(row=Depends(readable)) -> dict:
    return svc.document(row)


@router.get("/licences/{licence_id}/vc", summary="The licence as a W3C Verifiable Credential 2.0")
def get_vc(request: Request, row=Depends(readable), ctx: GatewayContext = Depends(get_context)) -> dict:
    return svc.verifiable_credential(ctx, row, str(request.base_url))


@router.get("/licences/{licence_id}/status", summary="Public: the licence's status as the chain records it")
def get_status(licence_id: str, ctx: GatewayContext = Depends(get_context)) -> dict:
    lid = _lid(licence_id)
    status = svc.chain_status(ctx, lid)
    if status == "none":
        raise APIError(404, "licence_not_found", f"no licence {lid} on chain")
    return {"id": lid, "status": status, "valid": status == "valid",
            "contract": ctx.ledger.contract("LicenceRegistry").address, "chain_id": ctx.ledger.chain.chain_id}


@router.get("/licences/{licence_id}/bundle", summary="Proof bundle: alliance verify BUNDLE --rpc URL")
def get_bundle(row=Depends(readable), ctx: GatewayContext = Depends(get_context)) -> dict:
    return svc.bundle(ctx, row)


# ---------------------------------------------------------------------------- enterprise

@router.get("/me/licences", summary="Enterprise: my licences and their status on chain")
def my_licences(caller: Caller = Depends(require_enterprise), ctx: GatewayContext = Depends(get_context)) -> list:
    return [svc.summary(r, svc.chain_status(ctx, r.id)) for r in svc.of_holder(ctx, caller.subject)]


@router.post("/me/presentations", summary="Enterprise: share chosen licences with chosen fields hidden")
def present(body: PresentationIn, caller: Caller = Depends(require_enterprise),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        for lid in body.licences:
            _lid(lid)
        return svc.presentation(ctx, caller.subject, {k.lower(): v for k, v in body.licences.items()})
    except svc.LicenceError as exc:
        raise _error(exc) from None


# ---------------------------------------------------------------------------- public verification

@router.post("/verify/licence", summary="Public: verify a wrapped licence document (JSON body or file)")
async def verify_licence(request: Request, ctx: GatewayContext = Depends(get_context)) -> dict:
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise APIError(422, "file_missing", "send the document as the multipart field 'file'")
        body = await upload.read(ctx.settings.documents.max_bytes + 1)
    elif ctype == "application/json":
        body = await request.body()
    else:
        raise APIError(415, "not_json", "send the document as application/json or a multipart file")
    if len(body) > ctx.settings.documents.max_bytes:
        raise APIError(413, "document_too_large", "the document exceeds the size limit")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise APIError(400, "invalid_json", f"the document is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "signature" not in doc or "data" not in doc:
        raise APIError(422, "not_wrapped_document", "expected an OpenAttestation v2 wrapped document "
                       "(with data and signature)")
    await svc.chain_facts(ctx).await_fresh()  # the head check without blocking the event loop
    return svc.verify_document(ctx, doc, fresh=True)


async def _context(request: Request) -> GatewayContext:
    return request.app.state.context  # get_context without a worker-thread hop (it is a sync dependency)


def _verdict_response(verdict: dict[str, Any]) -> Response:
    """The verdict as JSON, serialised once (no jsonable_encoder pass: it is plain JSON already)."""
    return Response(verdict_json(verdict), media_type="application/json")


@router.get("/verify/licence/{licence_id}", summary="Public: verify a licence held by this gateway by its id")
async def verify_by_id(licence_id: str, ctx: GatewayContext = Depends(_context)) -> dict:
    lid = _lid(licence_id)
    await svc.chain_facts(ctx).await_fresh()  # shared head check, started after this request arrived
    try:
        row = svc.verification_record(ctx, lid)
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return _verdict_response(svc.verify_document(ctx, svc.document(row), fresh=True, row=row))


@router.get("/verify/licence", summary="Public: verify by licence type and number")
def verify_by_number(licence_type: str = Query(...), number: str = Query(...),
                     ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        row = svc.find(ctx, licence_type, number)
    except svc.LicenceError as exc:
        raise _error(exc) from None
    return svc.verify_document(ctx, svc.document(row))

