"""Public web pages (no login): the QR-code landing page of a licence and the verification page
(a wrapped document, a proof bundle or a presentation as a file, or a licence type and number)."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers.licences import LICENCE_ID
from gateway.services import licences as svc
from gateway.web.render import render
from gateway.web.session import optional_caller

router = APIRouter(tags=["pages"], include_in_schema=False)
HIDDEN_FIELDS = {"issuers", "validFromTimestamp", "validUntilTimestamp"}


class UnreadableFile(ValueError):
    """The uploaded file is none of: a wrapped document, a proof bundle, a presentation."""


def _row(ctx: GatewayContext, licence_id: str):
    if not LICENCE_ID.match(licence_id):
        return None
    try:
        return svc.get(ctx, licence_id.lower())
    except svc.LicenceError:
        return None


def _result(ctx: GatewayContext, doc: dict[str, Any]) -> dict[str, Any]:
    """A verdict with what the page needs beside it: the shown fields, the licence row if held here."""
    verdict = svc.verify_document(ctx, doc)
    disclosed = {k: v for k, v in verdict.get("disclosed", {}).items() if k not in HIDDEN_FIELDS}
    lid = str(verdict.get("disclosed", {}).get("id", ""))
    row = _row(ctx, lid) if lid else None
    hidden = len(doc.get("privacy", {}).get("obfuscatedData", []) or [])
    intact = any(f["name"] == "OpenAttestationHash" and f["status"] == "VALID" for f in verdict["fragments"])
    # the bundle holds the gateway's full copy: offered only for the very document checked here, unaltered
    # and with nothing hidden (a presentation's hidden fields stay hidden)
    same = (row is not None and intact and not hidden
            and doc.get("signature", {}).get("targetHash") == row.target_hash[2:])
    return {"verdict": verdict, "disclosed": disclosed, "hidden_count": hidden,
            "row": svc.summary(row) if row is not None else None,
            "bundle_url": f"/v/{row.id}/bundle" if same else None}


def documents_in(raw: bytes) -> tuple[str, list[dict[str, Any]]]:
    """(kind, documents) of an uploaded file: a wrapped document, a proof bundle or a presentation."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFile(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UnreadableFile("not a JSON object")
    if data.get("format") == "alliance-ledger/licence-proof@1" and isinstance(data.get("document"), dict):
        return "bundle", [data["document"]]
    if data.get("format") == "alliance-ledger/presentation@1" and isinstance(data.get("documents"), list):
        docs = [d for d in data["documents"] if isinstance(d, dict)]
        if not docs:
            raise UnreadableFile("the presentation holds no documents")
        return "presentation", docs
    if "signature" in data and "data" in data:
        return "document", [data]
    raise UnreadableFile("not an OpenAttestation wrapped document, proof bundle or presentation")


@router.get("/v/{licence_id}")
def landing(licence_id: str, request: Request, ctx: GatewayContext = Depends(get_context),
            caller: Caller | None = Depends(optional_caller)) -> HTMLResponse:
    """The page a licence's QR code opens: the verdict, each check and the disclosed fields."""
    row = _row(ctx, licence_id)
    if row is None:
        return render(request, "verify.html", {"results": [], "not_found": licence_id, "kind": None,
                                               "form": {}, "error": None, "licence_types": _licence_types(ctx)},
                      status_code=404, caller=caller)
    result = _result(ctx, svc.document(row))
    return render(request, "landing.html", {"result": result, "licence": svc.summary(row)}, caller=caller)


@router.get("/v/{licence_id}/bundle")
def landing_bundle(licence_id: str, ctx: GatewayContext = Depends(get_context)) -> JSONResponse:
    row = _row(ctx, licence_id)
    if row is None:
        code = "licence_not_found" if LICENCE_ID.match(licence_id) else "invalid_licence_id"
        return JSONResponse({"error": {"code": code, "message": f"no licence {licence_id}"}},
                            status_code=404 if code == "licence_not_found" else 422)
    return JSONResponse(svc.bundle(ctx, row), headers={
        "Content-Disposition": f'attachment; filename="licence-{row.number}.bundle.json"'})


@router.get("/v/{licence_id}/qr.svg")
def landing_qr(licence_id: str, request: Request, ctx: GatewayContext = Depends(get_context)) -> Response:
    """The QR code to print on a licence: it opens this licence's verification page."""
    import segno

    row = _row(ctx, licence_id)
    if row is None:
        return JSONResponse({"error": {"code": "licence_not_found", "message": f"no licence {licence_id}"}},
                            status_code=404)
    out = io.BytesIO()
    segno.make(str(request.base_url).rstrip("/") + f"/v/{row.id}", error="m").save(out, kind="svg", scale=4)
    return Response(out.getvalue(), media_type="image/svg+xml")


def _licence_types(ctx: GatewayContext) -> list[tuple[str, str, str]]:
    return [(lt.code, lt.name, lt.name_en) for lt in ctx.ledger.spec.licence_types]


@router.get("/verify")
def verify_form(request: Request, licence_type: str | None = None, number: str | None = None,
                ctx: GatewayContext = Depends(get_context),
                caller: Caller | None = Depends(optional_caller)) -> HTMLResponse:
    values: dict[str, Any] = {"results": [], "kind": None, "not_found": None, "error": None,
                              "form": {"licence_type": licence_type or "", "number": number or ""},
                              "licence_types": _licence_types(ctx)}
    if not (licence_type and number):
        return render(request, "verify.html", values, caller=caller)
    try:
        row = svc.find(ctx, licence_type, number)
    except svc.LicenceError as exc:
        values["error"] = str(exc)
        return render(request, "verify.html", values, status_code=exc.status, caller=caller)
    values.update(kind="number", results=[_result(ctx, svc.document(row))])
    return render(request, "verify.html", values, caller=caller)


@router.post("/verify")
async def verify_upload(request: Request, ctx: GatewayContext = Depends(get_context),
                        caller: Caller | None = Depends(optional_caller)) -> HTMLResponse:
    values: dict[str, Any] = {"results": [], "kind": None, "not_found": None, "error": None, "form": {},
                              "licence_types": _licence_types(ctx)}
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        values["error"] = "choose_file"
        return render(request, "verify.html", values, status_code=422, caller=caller)
    raw = await upload.read(ctx.settings.documents.max_bytes + 1)
    if len(raw) > ctx.settings.documents.max_bytes:
        values["error"] = "the file exceeds the size limit"
        return render(request, "verify.html", values, status_code=413, caller=caller)
    try:
        kind, docs = documents_in(raw)
    except UnreadableFile as exc:
        values["error"] = str(exc)
        return render(request, "verify.html", values, status_code=422, caller=caller)
    values.update(kind=kind, results=[_result(ctx, doc) for doc in docs[:50]], filename=upload.filename)
    return render(request, "verify.html", values, caller=caller)
