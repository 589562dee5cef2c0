"""Public notices and objections, payee accounts, payout batches (bank files), use of funds,
claw-backs and the fund trace — thin routes over gateway.subsidies.{notices, payouts, usage, trace}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, current_caller, get_context, require_enterprise, require_member
from gateway.errors import APIError
from gateway.subsidies import bankfiles, notices, payouts, trace, usage
from gateway.subsidies.notices import FundError

router = APIRouter(prefix="/funds", tags=["funds"])


def _error(exc: FundError) -> APIError:
    return APIError(exc.status, exc.code, str(exc), **exc.details)


def _key(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise APIError(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}") from None


def _call(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except FundError as exc:
        raise _error(exc) from None


async def _read(upload: UploadFile, ctx: GatewayContext) -> bytes:
    limit = ctx.settings.documents.max_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise APIError(413, "file_too_large", f"the file exceeds the limit of {limit} bytes")
    return data


def _is(caller: Caller, role: str) -> bool:
    return caller.kind == "member" and role in caller.roles


# ---------------------------------------------------------------------------- notices and objections

class NoticeIn(BaseModel):
    policy_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    application_ids: list[str] = Field(min_length=1, max_length=notices.MAX_NOTICE)
    title: str = Field(min_length=1, max_length=200)
    working_days: int | None = Field(None, ge=1, le=60, description="default: the policy's notice period")


class ObjectionIn(BaseModel):
    application_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    text: str = Field(min_length=1, max_length=5000)


class AnswerIn(BaseModel):
    answer: str = Field(min_length=1, max_length=5000)
    upheld: bool


@router.post("/notices", status_code=201, summary="Open a public notice (POLICY member of the policy's department)")
def open_notice(body: NoticeIn, caller: Caller = Depends(require_member("policy")),
                ctx: GatewayContext = Depends(get_context)) -> dict:
    draft = notices.NoticeDraft(body.policy_id.lower(), [a.lower() for a in body.application_ids], body.title,
                                body.working_days)
    row = _call(notices.open_notice, ctx, _key(ctx, caller), caller.department, draft)
    return notices.notice_view(ctx, row)


@router.get("/notices", summary="Public notices, newest first (any logged-in caller: notices are public)")
def list_notices(policy_id: str | None = Query(None), _: Caller = Depends(current_caller),
                 ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return [notices.notice_view(ctx, n) for n in notices.list_notices(ctx, policy_id)]


@router.get("/notices/{notice_id}", summary="A public notice with its list, state on chain and objections")
def get_notice(notice_id: str, _: Caller = Depends(current_caller), ctx: GatewayContext = Depends(get_context)) -> dict:
    return notices.notice_view(ctx, _call(notices.get_notice, ctx, notice_id))


@router.post("/notices/{notice_id}/objections", status_code=201,
             summary="File an objection while the notice runs (an enterprise, or a member for the public)")
def file_objection(notice_id: str, body: ObjectionIn, caller: Caller = Depends(current_caller),
                   ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _call(notices.file_objection, ctx, notice_id, body.application_id, body.text, kind=caller.kind,
                filed_by=caller.subject)
    return notices.objection_view(row)


@router.post("/notices/{notice_id}/objections/{number}/answer",
             summary="Answer an objection (POLICY member of the policy's department); upheld rejects")
def answer_objection(notice_id: str, number: int, body: AnswerIn, caller: Caller = Depends(require_member("policy")),
                     ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _call(notices.answer_objection, ctx, _key(ctx, caller), caller.department, notice_id, number, body.answer,
                body.upheld)
    return notices.objection_view(row)


# ---------------------------------------------------------------------------- payee accounts

class PayeeIn(BaseModel):
    account_no: str = Field(min_length=6, max_length=40)
    payee_name: str = Field(min_length=1, max_length=200)
    bank_name: str = Field(min_length=1, max_length=200)


@router.put("/payee-account", summary="Confirm or change the enterprise's payee account (the enterprise)")
def confirm_payee(body: PayeeIn, caller: Caller = Depends(require_enterprise),
                  ctx: GatewayContext = Depends(get_context)) -> dict:
    row, changed = _call(payouts.confirm_payee, ctx, caller.subject, body.account_no, body.payee_name, body.bank_name,
                         caller.subject)
    return {"payee": payouts.payee_view(row), "changed": changed}


@router.get("/payee-accounts/{uscc}", summary="Payee account history (the enterprise itself, FINANCE, INSPECTOR)")
def payee_history(uscc: str, caller: Caller = Depends(current_caller),
                  ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    if not (caller.kind == "enterprise" and caller.subject == uscc or _is(caller, "finance")
            or _is(caller, "inspector")):
        raise APIError(403, "forbidden", "payee accounts are for the enterprise, finance and inspectors")
    return payouts.payee_history(ctx, uscc)


# ---------------------------------------------------------------------------- payouts (finance)

class ExportIn(BaseModel):
    policy_id: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{64}$")
    application_ids: list[str] | None = Field(None, min_length=1, max_length=5000)


@router.get("/payouts/payable", summary="What a batch would hold now, and why the rest is not payable (FINANCE)")
def payable(policy_id: str | None = Query(None), _: Caller = Depends(require_member("finance")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    scan = _call(payouts.scan_payable, ctx, policy_id)
    return {"lines": [{"application_id": p.application_id, "policy_id": p.policy_id, "uscc": p.uscc,
                       "amount_fen": p.amount, "account_tail": p.payee.account_tail} for p in scan.lines],
            "total_fen": sum(p.amount for p in scan.lines), "skipped": scan.skipped}


@router.post("/payouts/batches", status_code=201, summary="Export the payable lines as a bank batch (FINANCE)")
def export_batch(body: ExportIn, caller: Caller = Depends(require_member("finance")),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    batch, skipped = _call(payouts.export_batch, ctx, caller.subject, body.policy_id,
                           [a.lower() for a in body.application_ids] if body.application_ids else None)
    return {"batch": payouts.batch_view(ctx, batch), "skipped": skipped}


@router.get("/payouts/batches", summary="Payout batches, newest first (FINANCE)")
def list_batches(_: Caller = Depends(require_member("finance")), ctx: GatewayContext = Depends(get_context)) -> list:
    return [payouts.batch_view(ctx, b, with_lines=False) for b in payouts.list_batches(ctx)]


@router.get("/payouts/batches/{batch_id}", summary="A payout batch with its lines (FINANCE)")
def get_batch(batch_id: str, _: Caller = Depends(require_member("finance")),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    return payouts.batch_view(ctx, _call(payouts.get_batch, ctx, batch_id))


@router.get("/payouts/batches/{batch_id}/file", summary="The bank batch file, CSV or XLSX (FINANCE)")
def batch_file(batch_id: str, format: str = Query("csv", pattern="^(csv|xlsx)$"),
               _: Caller = Depends(require_member("finance")), ctx: GatewayContext = Depends(get_context)) -> Response:
    content = _call(payouts.export_file, ctx, batch_id, format)
    return Response(content, media_type=bankfiles.MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{batch_id}.{format}"'})


@router.post("/payouts/returns/check", summary="Reconcile a bank return file without recording it (FINANCE)")
async def check_return(file: UploadFile = File(...), _: Caller = Depends(require_member("finance")),
                       ctx: GatewayContext = Depends(get_context)) -> dict:
    raw = await _read(file, ctx)
    report, _rf, _batch = _call(payouts.reconcile, ctx, raw, file.filename)
    return report


@router.post("/payouts/returns", summary="Import a bank return file; its paid lines go on-chain in one transaction")
async def import_return(file: UploadFile = File(...), caller: Caller = Depends(require_member("finance")),
                        ctx: GatewayContext = Depends(get_context)) -> dict:
    raw = await _read(file, ctx)
    return _call(payouts.import_return, ctx, _key(ctx, caller), raw, file.filename)


@router.post("/payouts/batches/{batch_id}/reexport", status_code=201,
             summary="Export the failed lines of an imported batch again, in a new batch (FINANCE)")
def reexport(batch_id: str, caller: Caller = Depends(require_member("finance")),
             ctx: GatewayContext = Depends(get_context)) -> dict:
    batch, skipped = _call(payouts.reexport_failed, ctx, caller.subject, batch_id)
    return {"batch": payouts.batch_view(ctx, batch), "skipped": skipped}


# ---------------------------------------------------------------------------- use of funds and claw-back

class UseIn(BaseModel):
    application_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    category: str = Field(min_length=1, max_length=32)
    amount_fen: int = Field(ge=0, le=10**15)
    description: str = Field(min_length=1, max_length=2000)
    receipts: list[str] = Field(default_factory=list, max_length=usage.MAX_RECEIPTS,
                                description="SHA-256 of receipt documents uploaded with POST /documents")


class ClawBackIn(BaseModel):
    application_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    amount_fen: int = Field(gt=0, le=10**15)
    reason: str = Field(min_length=1, max_length=5000)
    due_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                 description="refund due by (default: [audit] rectification_workdays WD)")


class RefundIn(BaseModel):
    amount_fen: int = Field(gt=0, le=10**15)
    bank_reference: str = Field(min_length=1, max_length=64)


@router.post("/use-reports", status_code=201, summary="Report the use of a subsidy (the enterprise)")
def report_use(body: UseIn, caller: Caller = Depends(require_enterprise),
               ctx: GatewayContext = Depends(get_context)) -> dict:
    draft = usage.UseDraft(body.application_id.lower(), body.category, body.amount_fen, body.description,
                           body.receipts)
    return usage.use_view(_call(usage.report_use, ctx, caller.subject, draft))


def _may_read_application(ctx: GatewayContext, caller: Caller, application_id: str) -> None:
    """INSPECTOR reads everything; the policy's department its own; the enterprise its own."""
    if _is(caller, "inspector"):
        return
    rec = _call(notices.on_chain_application, ctx, application_id)
    if caller.kind == "enterprise":
        _call(usage.check_own, ctx, caller.subject, application_id)
        return
    if _is(caller, "finance"):
        return
    if caller.kind == "member" and notices.on_chain_policy(ctx, rec["policyId"])["department"] == caller.department:
        return
    raise APIError(403, "forbidden", "readable by inspectors, the policy's department and the enterprise itself")


@router.get("/applications/{application_id}/use-reports", summary="Use reports of an application")
def use_reports(application_id: str, caller: Caller = Depends(current_caller),
                ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    _may_read_application(ctx, caller, application_id.lower())
    return [usage.use_view(r) for r in usage.use_reports(ctx, application_id)]


@router.post("/claw-backs", status_code=201, summary="Order a claw-back (POLICY member of the policy's department)")
def order_claw_back(body: ClawBackIn, caller: Caller = Depends(require_member("policy")),
                    ctx: GatewayContext = Depends(get_context)) -> dict:
    order = _call(usage.order_claw_back, ctx, _key(ctx, caller), caller.department, body.application_id,
                  body.amount_fen, body.reason, body.due_date)
    return usage.claw_back_view(ctx, order)


@router.post("/claw-backs/{order_id}/refunds", summary="Record a refund on-chain (POLICY member of the department)")
def record_refund(order_id: int, body: RefundIn, caller: Caller = Depends(require_member("policy")),
                  ctx: GatewayContext = Depends(get_context)) -> dict:
    order = _call(usage.record_refund, ctx, _key(ctx, caller), caller.department, order_id, body.amount_fen,
                  body.bank_reference)
    return usage.claw_back_view(ctx, order)


@router.get("/applications/{application_id}/claw-backs", summary="Claw-back orders and refunds of an application")
def claw_backs(application_id: str, caller: Caller = Depends(current_caller),
               ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    _may_read_application(ctx, caller, application_id.lower())
    return [usage.claw_back_view(ctx, o) for o in usage.claw_backs(ctx, application_id)]


# ---------------------------------------------------------------------------- trace

@router.get("/trace/policies/{policy_id}",
            summary="Budget → approved → noticed → paid → used → clawed back, reconciled to the fen")
def trace_policy(policy_id: str, caller: Caller = Depends(require_member()),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    result = _call(trace.policy_trace, ctx, policy_id)
    if not (_is(caller, "inspector") or result["department"] == caller.department):
        raise APIError(403, "forbidden", "a policy's trace is for inspectors and the policy's own department")
    return result


@router.get("/trace/enterprises/{uscc}", summary="Every subsidy of an enterprise across departments and years")
def trace_enterprise(uscc: str, caller: Caller = Depends(current_caller),
                     ctx: GatewayContext = Depends(get_context)) -> dict:
    if caller.kind == "enterprise":
        if caller.subject != uscc:
            raise APIError(403, "not_own_enterprise", "an enterprise traces only its own subsidies")
        return _call(trace.enterprise_trace, ctx, uscc)
    if _is(caller, "inspector"):
        return _call(trace.enterprise_trace, ctx, uscc)
    if _is(caller, "policy"):
        return _call(trace.enterprise_trace, ctx, uscc, caller.department)
    raise APIError(403, "forbidden", "readable by inspectors, policy departments (their own policies) and the "
                   "enterprise itself")


@router.get("/trace/payouts/{payout_id}",
            summary="Chain of custody of a payout: an application id (0x…) or a payout batch id")
def trace_payout(payout_id: str, caller: Caller = Depends(current_caller),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    if payout_id.startswith("0x"):
        _may_read_application(ctx, caller, payout_id.lower())
    elif not (_is(caller, "inspector") or _is(caller, "finance")):
        raise APIError(403, "forbidden", "a payout batch's trace is for inspectors and finance")
    return _call(trace.payout_trace, ctx, payout_id)
