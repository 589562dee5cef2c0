"""Subsidy pages. Enterprises: open policies, apply with the materials their licences satisfy shown as such,
follow each application through the six stages (a licence-backed material whose licence lapsed since filing
shown with its reason, and re-supplied by upload), confirm the payee account, report the use of funds.
Reviewers: the work list with red / yellow / green deadlines and prompts, an application with the automatic
verification's differences field by field and the provenance of each fact, the materials re-checked on chain
(sign-off blocked while one has lapsed), review and sign.

Every page calls the API's own route functions (gateway/routers/subsidies.py, funds.py), so it admits and
refuses exactly as the API does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers import documents as documents_api
from gateway.routers import funds as funds_api
from gateway.routers import subsidies as subsidies_api
from gateway.web import charts
from gateway.web.api import ACTION_ERRORS, explain, fen, read, status_of
from gateway.web.render import render
from gateway.web.session import enterprise_page, form_with_csrf, member_page

router = APIRouter(include_in_schema=False)
reviewer_page = member_page("reviewer")
DUE_SOON_SECONDS = 2 * 86400  # yellow: the deadline is less than two days away


def _upload(request_file, caller: Caller, ctx: GatewayContext):
    """Store an uploaded file through the documents API; its SHA-256."""
    async def run() -> str:
        out = await documents_api.upload(file=request_file, caller=caller, ctx=ctx)
        return out["sha256"]

    return run()


def _files(form, name: str) -> list:
    return [f for f in form.getlist(name) if not isinstance(f, str) and getattr(f, "filename", "")]


# ---------------------------------------------------------------------------- enterprise

def _enterprise_home(request: Request, ctx: GatewayContext, caller: Caller, *, error: str | None = None,
                     status_code: int = 200) -> HTMLResponse:
    mine = read(caller, subsidies_api.my_subsidies, caller=caller, ctx=ctx)
    policies = read(caller, subsidies_api.list_policies, department=None, status="open", _=caller, ctx=ctx)
    applied = {a["policy_id"] for a in mine}
    payee = read(caller, funds_api.payee_history, uscc=caller.subject, caller=caller, ctx=ctx)
    current = next((p for p in payee if not p.get("replaced_at")), None)
    return render(request, "subsidies.html", {
        "applications": mine, "policies": policies, "applied": applied, "payee": current, "error": error,
        "done": request.query_params.get("done")}, caller=caller, status_code=status_code)


@router.get("/web/subsidies")
def subsidies_home(request: Request, caller: Caller = Depends(enterprise_page),
                   ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _enterprise_home(request, ctx, caller)


@router.post("/web/subsidies/payee")
async def payee(request: Request, caller: Caller = Depends(enterprise_page),
                ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = funds_api.PayeeIn(account_no=str(form.get("account_no") or "").strip(),
                                 payee_name=str(form.get("payee_name") or "").strip(),
                                 bank_name=str(form.get("bank_name") or "").strip())
        funds_api.confirm_payee(body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _enterprise_home(request, ctx, caller, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse("/web/subsidies?done=payee", status_code=303)


def _apply_page(request: Request, ctx: GatewayContext, caller: Caller, policy_id: str, *,
                error: str | None = None, status_code: int = 200) -> HTMLResponse:
    policy = read(caller, subsidies_api.get_policy, policy_id=policy_id, _=caller, ctx=ctx)
    prefill = read(caller, subsidies_api.prefill, policy_id=policy_id, caller=caller, ctx=ctx)
    return render(request, "apply.html", {"policy": policy, "prefill": prefill, "error": error},
                  caller=caller, status_code=status_code)


@router.get("/web/subsidies/policies/{policy_id}")
def apply_form(policy_id: str, request: Request, caller: Caller = Depends(enterprise_page),
               ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _apply_page(request, ctx, caller, policy_id)


@router.post("/web/subsidies/policies/{policy_id}")
async def apply_submit(policy_id: str, request: Request, caller: Caller = Depends(enterprise_page),
                       ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    prefill = read(caller, subsidies_api.prefill, policy_id=policy_id, caller=caller, ctx=ctx)
    try:
        requested = fen(form.get("requested_yuan"))
        declared: dict[str, Any] = {}
        for field, value in prefill.get("declared", {}).items():
            typed = str(form.get(f"declared:{field}") or "").strip()
            if typed and typed != str(value):
                declared[field] = int(typed) if isinstance(value, int) else typed
        uploads: dict[str, str] = {}
        for item in prefill.get("materials", []):
            if item.get("satisfied_by") == "licence":
                continue
            files = _files(form, f"upload:{item['code']}")
            if files:
                uploads[item["code"]] = await _upload(files[0], caller, ctx)
        body = subsidies_api.ApplicationIn(requested_fen=requested, declared=declared or None, uploads=uploads)
        out = subsidies_api.apply(policy_id=policy_id, body=body, caller=caller, ctx=ctx)
    except ValueError as exc:  # an amount that is not yuan (pydantic's errors are ValueErrors too)
        message = explain(exc) if isinstance(exc, ACTION_ERRORS) else str(exc)
        return _apply_page(request, ctx, caller, policy_id, error=message, status_code=422)
    except ACTION_ERRORS as exc:
        return _apply_page(request, ctx, caller, policy_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/subsidies/applications/{out['id']}?done=applied", status_code=303)


def _follow_page(request: Request, ctx: GatewayContext, caller: Caller, application_id: str, *,
                 error: str | None = None, status_code: int = 200) -> HTMLResponse:
    app = read(caller, subsidies_api.get_application, application_id=application_id, caller=caller, ctx=ctx)
    custody = read(caller, funds_api.trace_payout, payout_id=app["id"], caller=caller, ctx=ctx)
    uses = read(caller, funds_api.use_reports, application_id=app["id"], caller=caller, ctx=ctx)
    return render(request, "application.html", {
        "app": app, "timeline": charts.timeline(custody.get("custody", [])), "amounts": custody.get("amounts_fen", {}),
        "uses": uses, "categories": ctx.settings.payouts.use_categories, "error": error,
        "done": request.query_params.get("done")}, caller=caller, status_code=status_code)


@router.get("/web/subsidies/applications/{application_id}")
def follow(application_id: str, request: Request, caller: Caller = Depends(enterprise_page),
           ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _follow_page(request, ctx, caller, application_id)


@router.post("/web/subsidies/applications/{application_id}/use")
async def report_use(application_id: str, request: Request, caller: Caller = Depends(enterprise_page),
                     ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        amount = fen(form.get("amount_yuan"))
        receipts = [await _upload(f, caller, ctx) for f in _files(form, "receipts")]
        body = funds_api.UseIn(application_id=application_id, category=str(form.get("category") or ""),
                               amount_fen=amount, description=str(form.get("description") or "").strip(),
                               receipts=receipts)
        funds_api.report_use(body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _follow_page(request, ctx, caller, application_id, error=explain(exc), status_code=status_of(exc))
    except ValueError as exc:
        return _follow_page(request, ctx, caller, application_id, error=str(exc), status_code=422)
    return RedirectResponse(f"/web/subsidies/applications/{application_id}?done=use", status_code=303)


@router.post("/web/subsidies/applications/{application_id}/materials/{code}")
async def resupply_material(application_id: str, code: str, request: Request,
                            caller: Caller = Depends(enterprise_page),
                            ctx: GatewayContext = Depends(get_context)) -> Response:
    """Re-supply a material whose licence no longer stands on chain: the document is uploaded, then named."""
    form = await form_with_csrf(request, caller)
    try:
        files = _files(form, "document")
        if not files:
            raise ValueError("choose the document to upload")
        body = subsidies_api.ResupplyIn(document_sha256=await _upload(files[0], caller, ctx))
        subsidies_api.resupply_material(application_id=application_id, code=code, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _follow_page(request, ctx, caller, application_id, error=explain(exc), status_code=status_of(exc))
    except ValueError as exc:
        return _follow_page(request, ctx, caller, application_id, error=str(exc), status_code=422)
    return RedirectResponse(f"/web/subsidies/applications/{application_id}?done=resupplied", status_code=303)


# ---------------------------------------------------------------------------- reviewer

def deadline_colour(deadline: int | None, overdue: bool, now: int) -> str:
    """red: past its deadline; yellow: due within two days; green: time enough."""
    if overdue or (deadline and now > deadline):
        return "red"
    if deadline and deadline - now < DUE_SOON_SECONDS:
        return "yellow"
    return "green"


def prompts(item: dict[str, Any], colour: str) -> list[str]:
    """What the reviewer should look at first (message keys)."""
    out = []
    if colour == "red":
        out.append("rev.prompt.overdue")
    elif colour == "yellow":
        out.append("rev.prompt.due_soon")
    if item.get("verification") == "mismatch":
        out.append("rev.prompt.mismatch")
    elif item.get("verification") not in (None, "match"):
        out.append("rev.prompt.unverified")
    if item.get("criteria_met") is False:
        out.append("rev.prompt.criteria")
    if item.get("may_review") is False:
        out.append("rev.prompt.not_yours")
    return out


@router.get("/web/reviews")
def work_list(request: Request, caller: Caller = Depends(reviewer_page),
              ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    queue = read(caller, subsidies_api.review_queue, caller=caller, ctx=ctx)
    now = ctx.ledger.chain.now()
    for item in queue:
        item["colour"] = deadline_colour(item.get("review_deadline_at"), item.get("overdue", False), now)
        item["prompts"] = prompts(item, item["colour"])
    counts = {c: sum(1 for i in queue if i["colour"] == c) for c in ("red", "yellow", "green")}
    return render(request, "reviews.html", {"queue": queue, "counts": counts, "now": now}, caller=caller)


def _review_page(request: Request, ctx: GatewayContext, caller: Caller, application_id: str, *,
                 error: str | None = None, status_code: int = 200) -> HTMLResponse:
    app = read(caller, subsidies_api.get_application, application_id=application_id, caller=caller, ctx=ctx)
    now = ctx.ledger.chain.now()
    colour = deadline_colour(app.get("review_deadline_at"), False, now) if app.get("review_due_level") else None
    mine = caller.department == app.get("department")
    return render(request, "review.html", {
        "app": app, "colour": colour, "may_review": mine and app.get("review_due_level") is not None,
        "error": error, "done": request.query_params.get("done")}, caller=caller, status_code=status_code)


@router.get("/web/reviews/{application_id}")
def review_page(application_id: str, request: Request, caller: Caller = Depends(reviewer_page),
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _review_page(request, ctx, caller, application_id)


@router.post("/web/reviews/{application_id}")
async def review_submit(application_id: str, request: Request, caller: Caller = Depends(reviewer_page),
                        ctx: GatewayContext = Depends(get_context)) -> Response:
    """Record this reviewer's level: signed on chain with the reviewer's own key."""
    form = await form_with_csrf(request, caller)
    try:
        passed = str(form.get("passed") or "") == "true"
        amount = fen(form.get("amount_yuan")) if passed else 0
        body = subsidies_api.ReviewIn(level=int(str(form.get("level") or "0")), passed=passed, amount_fen=amount,
                                      opinion=str(form.get("opinion") or "").strip())
        out = subsidies_api.review(application_id=application_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _review_page(request, ctx, caller, application_id, error=explain(exc), status_code=status_of(exc))
    except ValueError as exc:
        return _review_page(request, ctx, caller, application_id, error=str(exc), status_code=422)
    return RedirectResponse(f"/web/reviews/{out['id']}?done=reviewed", status_code=303)


@router.post("/web/reviews/{application_id}/recusal")
async def recusal_submit(application_id: str, request: Request, caller: Caller = Depends(reviewer_page),
                         ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = subsidies_api.RecusalIn(reason=str(form.get("reason") or "").strip())
        subsidies_api.recusal(application_id=application_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _review_page(request, ctx, caller, application_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/reviews/{application_id}?done=recused", status_code=303)
