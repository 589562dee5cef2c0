"""Finance pages: what is payable now (and why the rest is not), payout batches, the bank batch file, the bank's
return file checked (mismatches, failed lines) and imported with a progress bar, failed lines exported again.

The pages call the API's own route functions (gateway/routers/funds.py): members with the ``finance`` role."""

from __future__ import annotations

import asyncio
import io

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import Headers

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers import funds as funds_api
from gateway.routers.web_licences import jobs
from gateway.web.api import ACTION_ERRORS, explain, read, status_of
from gateway.web.render import render
from gateway.web.session import WebRefusal, form_with_csrf, member_page

router = APIRouter(include_in_schema=False)
finance_page = member_page("finance")


def _upload(raw: bytes, filename: str) -> UploadFile:
    return UploadFile(file=io.BytesIO(raw), filename=filename,
                      headers=Headers({"content-type": "application/octet-stream"}))


def _home(request: Request, ctx: GatewayContext, caller: Caller, *, error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    payable = read(caller, funds_api.payable, policy_id=None, _=caller, ctx=ctx)
    batches = read(caller, funds_api.list_batches, _=caller, ctx=ctx)
    return render(request, "payouts.html", {"payable": payable, "batches": batches, "error": error},
                  caller=caller, status_code=status_code)


@router.get("/web/payouts")
def payouts_home(request: Request, caller: Caller = Depends(finance_page),
                 ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _home(request, ctx, caller)


@router.post("/web/payouts/export")
async def export(request: Request, caller: Caller = Depends(finance_page),
                 ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    chosen = [str(a).lower() for a in form.getlist("application")]
    try:
        body = funds_api.ExportIn(application_ids=chosen or None)
        out = funds_api.export_batch(body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _home(request, ctx, caller, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/payouts/batches/{out['batch']['batch_id']}?done=exported", status_code=303)


def _batch_page(request: Request, ctx: GatewayContext, caller: Caller, batch_id: str, *, report: dict | None = None,
                error: str | None = None, status_code: int = 200) -> HTMLResponse:
    batch = read(caller, funds_api.get_batch, batch_id=batch_id, _=caller, ctx=ctx)
    lines = batch.get("lines", [])
    counts = {s: sum(1 for x in lines if x["status"] == s) for s in sorted({x["status"] for x in lines})}
    return render(request, "batch.html", {"batch": batch, "lines": lines, "counts": counts, "report": report,
                                          "error": error, "done": request.query_params.get("done")},
                  caller=caller, status_code=status_code)


@router.get("/web/payouts/batches/{batch_id}")
def batch_page(batch_id: str, request: Request, caller: Caller = Depends(finance_page),
               ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _batch_page(request, ctx, caller, batch_id)


@router.get("/web/payouts/batches/{batch_id}/file")
def batch_file(batch_id: str, format: str = "csv", caller: Caller = Depends(finance_page),
               ctx: GatewayContext = Depends(get_context)) -> Response:
    if format not in ("csv", "xlsx"):
        raise WebRefusal(422, "invalid_request", "format is csv or xlsx", caller)
    return read(caller, funds_api.batch_file, batch_id=batch_id, format=format, _=caller, ctx=ctx)


@router.post("/web/payouts/batches/{batch_id}/reexport")
async def reexport(batch_id: str, request: Request, caller: Caller = Depends(finance_page),
                   ctx: GatewayContext = Depends(get_context)) -> Response:
    await form_with_csrf(request, caller)
    try:
        out = funds_api.reexport(batch_id=batch_id, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _batch_page(request, ctx, caller, batch_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/payouts/batches/{out['batch']['batch_id']}?done=reexported", status_code=303)


@router.post("/web/payouts/returns")
async def bank_return(request: Request, caller: Caller = Depends(finance_page),
                      ctx: GatewayContext = Depends(get_context)) -> Response:
    """Check the bank's return file against its batch (always first); import it only when asked and when
    nothing blocks it — in the background, while the page shows the batch's lines being recorded."""
    form = await form_with_csrf(request, caller)
    upload = form.get("file")
    batch_id = str(form.get("batch_id") or "")
    if upload is None or isinstance(upload, str) or not upload.filename:
        if batch_id:
            return _batch_page(request, ctx, caller, batch_id, error="choose_file", status_code=422)
        return _home(request, ctx, caller, error="choose_file", status_code=422)
    raw = await upload.read(ctx.settings.documents.max_bytes + 1)
    name = upload.filename
    try:
        report = await funds_api.check_return(file=_upload(raw, name), _=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        if batch_id:
            return _batch_page(request, ctx, caller, batch_id, error=explain(exc), status_code=status_of(exc))
        return _home(request, ctx, caller, error=explain(exc), status_code=status_of(exc))
    target = report.get("batch_id") or batch_id
    if form.get("action") != "import" or report.get("blocking"):
        return _batch_page(request, ctx, caller, target, report=report,
                           status_code=422 if form.get("action") == "import" else 200)

    def recorded() -> int:
        batch = funds_api.get_batch(batch_id=target, _=caller, ctx=ctx)
        return sum(1 for line in batch.get("lines", []) if line["status"] != "exported")

    def work(job) -> None:
        out = asyncio.run(funds_api.import_return(file=_upload(raw, name), caller=caller, ctx=ctx))
        job.result = {"paid_lines": out.get("paid_lines", 0), "failed_lines": out.get("failed_lines", 0),
                      "tx_hash": out.get("tx_hash") or ""}
        job.result_url = f"/web/payouts/batches/{target}?done=imported"

    job = jobs(request).start(caller.subject, "bank_return", int(report.get("lines") or 1), work, recorded)
    return RedirectResponse(f"/web/payouts/jobs/{job.id}?batch={target}", status_code=303)


@router.get("/web/payouts/jobs/{job_id}")
def import_progress(job_id: str, request: Request, caller: Caller = Depends(finance_page)) -> HTMLResponse:
    job = jobs(request).get(job_id)
    if job is None or job.owner != caller.subject:
        raise WebRefusal(404, "job_not_found", f"no operation {job_id} of yours", caller)
    batch = request.query_params.get("batch", "")
    return render(request, "job.html", {"job": job.to_dict(), "filename": batch,
                                        "back": f"/web/payouts/batches/{batch}" if batch else "/web/payouts"},
                  caller=caller)
