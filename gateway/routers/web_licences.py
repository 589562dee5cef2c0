"""Issuing department pages: issue one licence, bulk-issue a CSV file with a progress bar, find licences,
and suspend, reinstate, revoke or renew one (members with the ``issuer`` role, as the API requires)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select

from chain.errors import ChainError, ContractRevert
from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.models import Licence
from gateway.routers.licences import LICENCE_ID
from gateway.services import alliance as alliance_svc
from gateway.services import licences as svc
from gateway.web.jobs import JobBoard
from gateway.web.render import render
from gateway.web.session import WebRefusal, form_with_csrf, logged_in, member_page

router = APIRouter(include_in_schema=False)
issuer_page = member_page("issuer")
BASE_COLUMNS = ("licence_type", "number", "holder_uscc", "holder_name", "valid_from", "valid_until")
PAGE_SIZE = 50


def jobs(request: Request) -> JobBoard:
    board = getattr(request.app.state, "web_jobs", None)
    if board is None:
        board = request.app.state.web_jobs = JobBoard()
    return board


def _key(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise WebRefusal(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}",
                         caller) from None


def _authorised_types(ctx: GatewayContext, department: str | None) -> list[str]:
    """The licence types the chain lets this department issue."""
    return [a["licence_type"] for a in alliance_svc.licence_authorities(ctx.ledger) if department in a["issuers"]]


def _explain(exc: Exception) -> str:
    if isinstance(exc, ContractRevert):
        return f"{exc.error}({', '.join(f'{k}={v}' for k, v in exc.to_dict()['args'].items())})"
    return str(exc)


def _extra_fields(text: str) -> dict[str, Any]:
    """``name=value`` lines (type-specific fields) of the single-issue form."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if "=" not in line:
            raise svc.LicenceError("invalid_field", f"write each extra field as name=value, not {line.strip()!r}")
        name, value = line.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def parse_csv(raw: bytes) -> list[tuple[int, svc.LicenceDraft]]:
    """Drafts from a CSV file (UTF-8 with or without BOM, or GB18030); the columns after the six standard
    ones are type-specific fields. Returns (line number, draft) pairs."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise svc.LicenceError("invalid_file", "the file is neither UTF-8 nor GB18030 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in BASE_COLUMNS if c not in header and c != "valid_until"]
    if missing:
        raise svc.LicenceError("invalid_file", f"the header lacks column(s): {', '.join(missing)}; expected "
                               + ",".join(BASE_COLUMNS) + "[,extra fields]")
    drafts = []
    for record in reader:
        line_no = reader.line_num  # the file's own line number (blank lines are skipped but counted)
        record = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if not any(record.values()):
            continue
        extra = {k: v for k, v in record.items() if k not in BASE_COLUMNS and v != ""}
        draft = svc.LicenceDraft(licence_type=record.get("licence_type", ""), number=record.get("number", ""),
                                 holder_uscc=record.get("holder_uscc", ""), holder_name=record.get("holder_name", ""),
                                 valid_from=record.get("valid_from", ""),
                                 valid_until=record.get("valid_until") or None, fields=extra)
        drafts.append((line_no, draft))
    if not drafts:
        raise svc.LicenceError("empty_request", "the file has no licence lines")
    return drafts


def _recent(ctx: GatewayContext, department: str | None, q: str) -> tuple[list[Licence], int]:
    with ctx.sessions() as s:
        query = select(Licence).where(Licence.issuer_department == department)
        if q:
            like = f"%{q}%"
            query = query.where(or_(Licence.number.like(like), Licence.holder_uscc.like(like),
                                    Licence.holder_name.like(like)))
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = list(s.scalars(query.order_by(Licence.created_at.desc()).limit(PAGE_SIZE)))
    return rows, total or 0


def _list_page(request: Request, ctx: GatewayContext, caller: Caller, *, error: str | None = None,
               form: dict[str, str] | None = None, bulk_error: str | None = None, status_code: int = 200):
    q = request.query_params.get("q", "").strip()[:64]
    rows, total = _recent(ctx, caller.department, q)
    return render(request, "licences.html", {
        "licences": [svc.summary(r) for r in rows], "total": total, "q": q,
        "types": _authorised_types(ctx, caller.department), "error": error, "bulk_error": bulk_error,
        "form": form or {}, "columns": ",".join(BASE_COLUMNS)}, caller=caller, status_code=status_code)


@router.get("/web/licences")
def licences_page(request: Request, caller: Caller = Depends(issuer_page),
                  ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _list_page(request, ctx, caller)


@router.post("/web/licences")
async def issue_one(request: Request, caller: Caller = Depends(issuer_page),
                    ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    values = {k: str(form.get(k) or "").strip() for k in (*BASE_COLUMNS, "fields")}
    try:
        draft = svc.LicenceDraft(licence_type=values["licence_type"], number=values["number"],
                                 holder_uscc=values["holder_uscc"], holder_name=values["holder_name"],
                                 valid_from=values["valid_from"], valid_until=values["valid_until"] or None,
                                 fields=_extra_fields(values["fields"]))
        (row,) = svc.issue(ctx, _key(ctx, caller), caller.department, [draft])
    except (svc.LicenceError, ChainError) as exc:
        return _list_page(request, ctx, caller, error=_explain(exc), form=values,
                          status_code=getattr(exc, "status", 409))
    return RedirectResponse(f"/web/licences/{row.id}?done=issued", status_code=303)


@router.post("/web/licences/bulk")
async def issue_bulk(request: Request, caller: Caller = Depends(issuer_page),
                     ctx: GatewayContext = Depends(get_context)) -> Response:
    """Check the whole file, then issue it in the background (one transaction per 50) while the page
    shows how many licences are confirmed on chain so far."""
    form = await form_with_csrf(request, caller)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _list_page(request, ctx, caller, bulk_error="choose_file", status_code=422)
    raw = await upload.read(ctx.settings.documents.max_bytes + 1)
    try:
        if len(raw) > ctx.settings.documents.max_bytes:
            raise svc.LicenceError("document_too_large", "the file exceeds the size limit", 413)
        lines = parse_csv(raw)
        if len(lines) > svc.MAX_BULK:
            raise svc.LicenceError("too_many", f"at most {svc.MAX_BULK} licences per file; this one has {len(lines)}")
        for line_no, draft in lines:  # every line checked before anything is sent
            try:
                svc.check_draft(ctx, draft)
            except svc.LicenceError as exc:
                raise svc.LicenceError(exc.code, f"line {line_no}: {exc}") from None
    except svc.LicenceError as exc:
        return _list_page(request, ctx, caller, bulk_error=str(exc), status_code=exc.status)
    drafts = [draft for _, draft in lines]
    account = _key(ctx, caller)
    ids = ["0x" + svc.licence_id(d.licence_type, d.number).hex() for d in drafts]

    def confirmed() -> int:
        with ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(Licence).where(
                Licence.id.in_(ids), Licence.status != svc.PENDING)) or 0

    def work(job) -> None:
        try:
            rows = svc.issue(ctx, account, caller.department, drafts)
        except ContractRevert as exc:
            raise RuntimeError(_explain(exc)) from None
        job.result = {"issued": len(rows), "transactions": len({r.tx_hash for r in rows})}
        job.message = f"{len(rows)}"

    job = jobs(request).start(caller.subject, "bulk_issue", len(drafts), work, confirmed)
    return RedirectResponse(f"/web/licences/jobs/{job.id}?file={quote(upload.filename[:100])}", status_code=303)


@router.get("/web/licences/jobs/{job_id}")
def bulk_progress(job_id: str, request: Request, caller: Caller = Depends(issuer_page)) -> HTMLResponse:
    job = jobs(request).get(job_id)
    if job is None or job.owner != caller.subject:
        raise WebRefusal(404, "job_not_found", f"no operation {job_id} of yours", caller)
    return render(request, "job.html", {"job": job.to_dict(), "filename": request.query_params.get("file", ""),
                                        "back": "/web/licences"}, caller=caller)


@router.get("/web/jobs/{job_id}")
def job_status(job_id: str, request: Request, caller: Caller = Depends(logged_in)) -> JSONResponse:
    """The progress of a long operation, for the page that polls it (its starter only)."""
    job = jobs(request).get(job_id)
    if job is None or job.owner != caller.subject:
        return JSONResponse({"error": {"code": "job_not_found", "message": f"no operation {job_id} of yours"}},
                            status_code=404)
    return JSONResponse(job.to_dict(), headers={"Cache-Control": "no-store"})


def _licence(ctx: GatewayContext, caller: Caller, licence_id: str) -> Licence:
    if not LICENCE_ID.match(licence_id):
        raise WebRefusal(404, "licence_not_found", f"no licence {licence_id}", caller)
    try:
        return svc.get(ctx, licence_id.lower())
    except svc.LicenceError as exc:
        raise WebRefusal(exc.status, exc.code, str(exc), caller) from None


def _detail(request: Request, ctx: GatewayContext, caller: Caller, row: Licence, *, error: str | None = None,
            status_code: int = 200) -> HTMLResponse:
    from gateway.documents import openattestation as oa

    fields = {k: v for k, v in oa.unsalt(svc.document(row)).items() if k not in {"issuers"}}
    return render(request, "licence.html", {
        "licence": svc.summary(row, svc.chain_status(ctx, row.id)), "fields": fields, "error": error,
        "done": request.query_params.get("done"), "own": row.issuer_department == caller.department},
        caller=caller, status_code=status_code)


@router.get("/web/licences/{licence_id}")
def licence_page(licence_id: str, request: Request, caller: Caller = Depends(issuer_page),
                 ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _detail(request, ctx, caller, _licence(ctx, caller, licence_id))


@router.post("/web/licences/{licence_id}/{action}")
async def lifecycle(licence_id: str, action: str, request: Request, caller: Caller = Depends(issuer_page),
                    ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    row = _licence(ctx, caller, licence_id)
    if action not in ("suspend", "reinstate", "revoke", "renew"):
        raise WebRefusal(404, "not_found", f"no action {action}", caller)
    try:
        account = _key(ctx, caller)
        if action in ("suspend", "revoke"):
            try:
                reason = int(str(form.get("reason_code") or ""))
            except ValueError:
                raise svc.LicenceError("invalid_reason", "reason_code must be an integer from 1 to 65535") from None
            getattr(svc, action)(ctx, account, row.id, reason)
            target = row.id
        elif action == "reinstate":
            svc.reinstate(ctx, account, row.id)
            target = row.id
        else:
            draft = svc.LicenceDraft(licence_type=row.licence_type, number=str(form.get("number") or "").strip(),
                                     holder_uscc=row.holder_uscc, holder_name=str(form.get("holder_name") or
                                                                                  row.holder_name).strip(),
                                     valid_from=str(form.get("valid_from") or "").strip(),
                                     valid_until=str(form.get("valid_until") or "").strip() or None,
                                     fields={k: v for k, v in _fields_of(row).items()})
            target = svc.renew(ctx, account, caller.department, row.id, draft).id
    except (svc.LicenceError, ChainError) as exc:
        return _detail(request, ctx, caller, _licence(ctx, caller, row.id), error=_explain(exc),
                       status_code=getattr(exc, "status", 409))
    return RedirectResponse(f"/web/licences/{target}?done={action}", status_code=303)


def _fields_of(row: Licence) -> dict[str, Any]:
    """The type-specific fields of a licence (kept by a renewal)."""
    from gateway.documents import openattestation as oa

    data = oa.unsalt(svc.document(row))
    return {k: v for k, v in data.items() if k not in svc.RESERVED}
