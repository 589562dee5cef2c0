"""Oracle pages (一数一源): a source department's oracle member pushes a source file (registry, tax, social
insurance, bank return, ...) and watches its facts being attested on chain, batch by batch; bad lines are listed
with their line number and reason; the files received before are listed. The import itself is the API's own
route (``POST /oracle/files``): the same source-department check, the same ingest."""

from __future__ import annotations

import asyncio
import io

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.datastructures import Headers

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers import oracle as oracle_api
from gateway.routers.web_licences import jobs
from gateway.web.render import render
from gateway.web.session import WebRefusal, form_with_csrf, member_page

router = APIRouter(include_in_schema=False)
oracle_page = member_page("oracle")


def _page(request: Request, ctx: GatewayContext, caller: Caller, *, error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    from oracle.models import SourceFile

    with ctx.sessions() as s:
        files = list(s.scalars(select(SourceFile).where(SourceFile.source_department == caller.department)
                               .order_by(SourceFile.id.desc()).limit(20)))
    job = jobs(request).get(request.query_params.get("job", ""))
    report = job.result if job is not None and job.owner == caller.subject and job.state == "done" else None
    mine = [ds.code for ds in ctx.ledger.spec.data_sources if ds.source == caller.department]
    return render(request, "oracle.html", {"files": files, "report": report, "error": error, "data_types": mine},
                  caller=caller, status_code=status_code)


@router.get("/web/oracle")
def oracle_home(request: Request, caller: Caller = Depends(oracle_page),
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _page(request, ctx, caller)


@router.post("/web/oracle")
async def push(request: Request, caller: Caller = Depends(oracle_page),
               ctx: GatewayContext = Depends(get_context)) -> Response:
    """Check the file at once (readable, this department's data type), then attest it in the background
    while the page counts the facts recorded from it."""
    from oracle import service
    from oracle.models import Fact

    form = await form_with_csrf(request, caller)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _page(request, ctx, caller, error="choose_file", status_code=422)
    raw = await upload.read(ctx.settings.documents.max_bytes + 1)
    name = upload.filename
    data_type = str(form.get("data_type") or "") or None
    try:
        if len(raw) > ctx.settings.documents.max_bytes:
            raise WebRefusal(413, "document_too_large", "the file exceeds the size limit", caller)
        parsed = service.parse_bytes(raw, name, hmac_key=ctx.hmac_key, data_type=data_type)
        department, _ = service.source_of(ctx.ledger, parsed.data_type)
        if department != caller.department:
            return _page(request, ctx, caller, status_code=403, error=f"{parsed.data_type} is attested only by "
                         f"its source department {department} (一数一源) (not_source_department)")
    except (service.UnknownFileType, service.FileError, service.OracleError) as exc:
        return _page(request, ctx, caller, error=f"{name}: {exc} (unreadable_file)", status_code=422)
    digest = parsed.file_digest

    def recorded() -> int:
        with ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(Fact).where(Fact.file_digest == digest)) or 0

    def work(job) -> None:
        upload_file = UploadFile(file=io.BytesIO(raw), filename=name,
                                 headers=Headers({"content-type": "application/octet-stream"}))
        out = asyncio.run(oracle_api.push_file(file=upload_file, data_type=parsed.data_type, observed_at=None,
                                               caller=caller, ctx=ctx))
        job.result = {"file": out["file"], "data_type": out["data_type"], "good_lines": out["good_lines"],
                      "attested": out["attested"], "unchanged": out["unchanged"],
                      "transactions": len(out["transactions"]), "errors": out["errors"]}
        job.result_url = f"/web/oracle?job={job.id}"

    job = jobs(request).start(caller.subject, "oracle_file", max(1, len(parsed.good)), work, recorded)
    return RedirectResponse(f"/web/oracle/jobs/{job.id}?file={name[:100]}", status_code=303)


@router.get("/web/oracle/jobs/{job_id}")
def push_progress(job_id: str, request: Request, caller: Caller = Depends(oracle_page)) -> HTMLResponse:
    job = jobs(request).get(job_id)
    if job is None or job.owner != caller.subject:
        raise WebRefusal(404, "job_not_found", f"no operation {job_id} of yours", caller)
    return render(request, "job.html", {"job": job.to_dict(), "filename": request.query_params.get("file", ""),
                                        "back": "/web/oracle"}, caller=caller)
