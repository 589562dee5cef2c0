"""Policy-department pages (POLICY members) and the public notice pages (公示).

POLICY members: publish a policy, amend it (a new version, with a reason), close it; open a public notice on
its approved applications; answer objections; order a claw-back and record its refunds; keep the department's
pool of verification agencies and run double-random draws (双随机) over a policy's applications.
Anyone logged in: the public notices, their list and period, and filing an objection while one runs.

Every page calls the API's own route functions (gateway/routers/subsidies.py, funds.py), so it admits and
refuses exactly as the API does; every form carries the session's CSRF token."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers import documents as documents_api
from gateway.routers import funds as funds_api
from gateway.routers import subsidies as subsidies_api
from gateway.web.api import ACTION_ERRORS, explain, fen, read, status_of
from gateway.web.render import render
from gateway.web.session import form_with_csrf, logged_in, member_page

router = APIRouter(include_in_schema=False)
policy_page = member_page("policy")
CST = timezone(timedelta(hours=8))
DAY = 86400
PAID = ("partially_paid", "paid", "clawed_back")  # what a claw-back may be ordered on (or was)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), CST).date().isoformat()


def _day_start(text: str) -> int:
    """A date typed as YYYY-MM-DD → the start of that day in China Standard Time (Unix seconds)."""
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2026-12-31") from None
    return int(datetime.combine(day, time(0, 0), CST).timestamp())


def _int(form, name: str) -> int:
    text = str(form.get(name) or "").strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a whole number") from None


def materials_from_text(text: str) -> list[dict[str, Any]]:
    """One material a line: ``code | name | LICENCE_TYPE, LICENCE_TYPE`` (the licence types may be left out)."""
    out = []
    for number, line in enumerate(str(text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"materials line {number}: write it as code | name | licence types")
        types = [x.strip() for x in parts[2].split(",") if x.strip()] if len(parts) > 2 else []
        out.append({"code": parts[0], "name": parts[1], "licence_types": types})
    return out


def materials_to_text(materials: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m['code']} | {m['name']} | {', '.join(m.get('licence_types') or [])}".rstrip(" |")
                     for m in materials)


def _json(text: Any, name: str) -> dict[str, Any]:
    try:
        value = json.loads(str(text or "").strip() or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name}: must be a JSON object")
    return value


def _fail(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ACTION_ERRORS):
        return explain(exc), status_of(exc)
    return str(exc), 422


# ---------------------------------------------------------------------------- the department's policies

def _policies_page(request: Request, ctx: GatewayContext, caller: Caller, *, error: str | None = None,
                   form: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    mine = read(caller, subsidies_api.list_policies, department=caller.department, status=None, _=caller, ctx=ctx)
    agencies = read(caller, subsidies_api.list_agencies, department=caller.department, _=caller, ctx=ctx)
    now = ctx.ledger.chain.now()
    defaults = {"title": "", "budget_yuan": "", "cap_yuan": "", "opens": "", "closes": _day(now + 365 * DAY),
                "notice_workdays": "5", "payout_deadline_workdays": "15",
                "criteria": '{"all": [{"fact": "status", "op": "==", "value": "active"}]}',
                "amount_rule": '{"kind": "requested"}', "materials": "", "no_application": ""}
    return render(request, "policies.html", {
        "policies": mine, "agencies": agencies, "form": {**defaults, **(form or {})}, "error": error,
        "done": request.query_params.get("done")}, caller=caller, status_code=status_code)


@router.get("/web/policies")
def policies_home(request: Request, caller: Caller = Depends(policy_page),
                  ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _policies_page(request, ctx, caller)


async def _store(upload, caller: Caller, ctx: GatewayContext) -> str:
    out = await documents_api.upload(file=upload, caller=caller, ctx=ctx)
    return out["sha256"]


def _draft(form, ctx: GatewayContext) -> dict[str, Any]:
    """The policy fields of a publish / amend form, as the API's PolicyIn takes them."""
    opens = str(form.get("opens") or "").strip()
    return {
        "title": str(form.get("title") or "").strip(),
        "budget_fen": fen(form.get("budget_yuan")), "cap_fen": fen(form.get("cap_yuan")),
        "opens_at": _day_start(opens) if opens else ctx.ledger.chain.now() - 60,
        "closes_at": _day_start(str(form.get("closes") or "")) + DAY,
        "notice_workdays": _int(form, "notice_workdays"),
        "payout_deadline_workdays": _int(form, "payout_deadline_workdays"),
        "criteria": _json(form.get("criteria"), "criteria"),
        "amount_rule": _json(form.get("amount_rule"), "amount_rule"),
        "materials": materials_from_text(str(form.get("materials") or "")),
        "no_application": str(form.get("no_application") or "") == "on"}


@router.post("/web/policies")
async def publish_submit(request: Request, caller: Caller = Depends(policy_page),
                         ctx: GatewayContext = Depends(get_context)) -> Response:
    """Publish a policy: its legal basis is uploaded with the form and anchored like any document."""
    form = await form_with_csrf(request, caller)
    typed = {k: str(form.get(k) or "") for k in ("title", "budget_yuan", "cap_yuan", "opens", "closes",
                                                 "notice_workdays", "payout_deadline_workdays", "criteria",
                                                 "amount_rule", "materials", "no_application")}
    try:
        basis = form.get("legal_basis")
        if isinstance(basis, str) or basis is None or not getattr(basis, "filename", ""):
            raise ValueError("legal_basis: attach the policy document (its legal basis / guide)")
        draft = _draft(form, ctx)
        sha = await _store(basis, caller, ctx)
        body = subsidies_api.PolicyIn(legal_basis_sha256=sha, **draft)
        out = subsidies_api.publish(body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policies_page(request, ctx, caller, error=message, form=typed, status_code=status)
    return RedirectResponse(f"/web/policies/{out['id']}?done=published", status_code=303)


@router.post("/web/policies/agencies")
async def agency_submit(request: Request, caller: Caller = Depends(policy_page),
                        ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = subsidies_api.AgencyIn(name=str(form.get("name") or "").strip(),
                                      uscc=str(form.get("uscc") or "").strip())
        subsidies_api.register_agency(body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _policies_page(request, ctx, caller, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse("/web/policies?done=agency#agencies", status_code=303)


@router.post("/web/policies/agencies/{agency_id}/deactivate")
async def agency_deactivate(agency_id: str, request: Request, caller: Caller = Depends(policy_page),
                            ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = subsidies_api.ReasonIn(reason=str(form.get("reason") or "").strip())
        subsidies_api.deactivate_agency(agency_id=agency_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _policies_page(request, ctx, caller, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse("/web/policies?done=agency_off#agencies", status_code=303)


# ---------------------------------------------------------------------------- one policy

def _policy_page(request: Request, ctx: GatewayContext, caller: Caller, policy_id: str, *,
                 error: str | None = None, status_code: int = 200) -> HTMLResponse:
    policy = read(caller, subsidies_api.get_policy, policy_id=policy_id, _=caller, ctx=ctx)
    versions = read(caller, subsidies_api.policy_versions, policy_id=policy_id, _=caller, ctx=ctx)
    apps = read(caller, subsidies_api.policy_applications, policy_id=policy_id, status=None, _=caller, ctx=ctx)
    notices = read(caller, funds_api.list_notices, policy_id=policy["id"], _=caller, ctx=ctx)
    own = policy["department"] == caller.department
    noticed = {e["application_id"] for n in notices for e in n["entries"]}
    orders: dict[str, list[dict[str, Any]]] = {}
    for a in apps:
        if a["status"] in PAID:
            orders[a["id"]] = read(caller, funds_api.claw_backs, application_id=a["id"], caller=caller, ctx=ctx)
    amend = {"title": policy["title"], "budget_yuan": f"{policy['budget_fen'] / 100:.2f}",
             "cap_yuan": f"{policy['cap_fen'] / 100:.2f}", "closes": _day(policy["closes_at"] - DAY),
             "notice_workdays": policy["notice_workdays"],
             "payout_deadline_workdays": policy["payout_deadline_workdays"],
             "materials": materials_to_text(policy["materials"])}
    return render(request, "policy.html", {
        "policy": policy, "versions": versions, "apps": apps, "notices": notices, "own": own, "noticed": noticed,
        "orders": orders, "amend": amend, "error": error, "done": request.query_params.get("done")},
        caller=caller, status_code=status_code)


@router.get("/web/policies/{policy_id}")
def policy_view(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _policy_page(request, ctx, caller, policy_id)


@router.post("/web/policies/{policy_id}/amend")
async def amend_submit(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                       ctx: GatewayContext = Depends(get_context)) -> Response:
    """A new version: the typed fields over the current ones (legal basis, criteria and rule unchanged)."""
    form = await form_with_csrf(request, caller)
    current = read(caller, subsidies_api.get_policy, policy_id=policy_id, _=caller, ctx=ctx)
    try:
        body = subsidies_api.AmendIn(
            title=str(form.get("title") or "").strip(), legal_basis_sha256=current["legal_basis_sha256"],
            budget_fen=fen(form.get("budget_yuan")), cap_fen=fen(form.get("cap_yuan")), opens_at=current["opens_at"],
            closes_at=_day_start(str(form.get("closes") or "")) + DAY,
            notice_workdays=_int(form, "notice_workdays"),
            payout_deadline_workdays=_int(form, "payout_deadline_workdays"),
            criteria=current["criteria"], amount_rule=current["amount_rule"],
            materials=materials_from_text(str(form.get("materials") or "")),
            no_application=current["no_application"], reason=str(form.get("reason") or "").strip())
        subsidies_api.amend(policy_id=policy_id, body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policy_page(request, ctx, caller, policy_id, error=message, status_code=status)
    return RedirectResponse(f"/web/policies/{policy_id}?done=amended", status_code=303)


@router.post("/web/policies/{policy_id}/close")
async def close_submit(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                       ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = subsidies_api.ReasonIn(reason=str(form.get("reason") or "").strip())
        subsidies_api.close(policy_id=policy_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _policy_page(request, ctx, caller, policy_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/policies/{policy_id}?done=closed", status_code=303)


@router.post("/web/policies/{policy_id}/notice")
async def notice_submit(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                        ctx: GatewayContext = Depends(get_context)) -> Response:
    """Open a public notice on the ticked approved applications."""
    form = await form_with_csrf(request, caller)
    try:
        days = str(form.get("working_days") or "").strip()
        body = funds_api.NoticeIn(policy_id=policy_id, application_ids=[str(x) for x in form.getlist("application")],
                                  title=str(form.get("title") or "").strip(), working_days=int(days) if days else None)
        out = funds_api.open_notice(body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policy_page(request, ctx, caller, policy_id, error=message, status_code=status)
    return RedirectResponse(f"/web/notices/{out['notice_id']}?done=opened", status_code=303)


@router.post("/web/policies/{policy_id}/claw-backs")
async def claw_back_submit(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                           ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        due = str(form.get("due_date") or "").strip()
        body = funds_api.ClawBackIn(application_id=str(form.get("application_id") or ""),
                                    amount_fen=fen(form.get("amount_yuan")),
                                    reason=str(form.get("reason") or "").strip(),
                                    due_date=due or None)
        funds_api.order_claw_back(body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policy_page(request, ctx, caller, policy_id, error=message, status_code=status)
    return RedirectResponse(f"/web/policies/{policy_id}?done=claw_back#payouts", status_code=303)


@router.post("/web/policies/{policy_id}/claw-backs/{order_id}/refunds")
async def refund_submit(policy_id: str, order_id: int, request: Request, caller: Caller = Depends(policy_page),
                        ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = funds_api.RefundIn(amount_fen=fen(form.get("amount_yuan")),
                                  bank_reference=str(form.get("bank_reference") or "").strip())
        funds_api.record_refund(order_id=order_id, body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policy_page(request, ctx, caller, policy_id, error=message, status_code=status)
    return RedirectResponse(f"/web/policies/{policy_id}?done=refund#payouts", status_code=303)


@router.post("/web/policies/{policy_id}/draws")
async def draw_submit(policy_id: str, request: Request, caller: Caller = Depends(policy_page),
                      ctx: GatewayContext = Depends(get_context)) -> Response:
    """Request a double-random draw; it is executed from the draw's page (in a later block)."""
    form = await form_with_csrf(request, caller)
    try:
        body = subsidies_api.DrawIn(policy_id=policy_id, picks=_int(form, "picks"))
        out = subsidies_api.new_draw(body=body, caller=caller, ctx=ctx)
    except (*ACTION_ERRORS, ValueError) as exc:
        message, status = _fail(exc)
        return _policy_page(request, ctx, caller, policy_id, error=message, status_code=status)
    done = "executed" if out.get("status") == "executed" else "requested"  # run at once when a block followed
    return RedirectResponse(f"/web/draws/{out['id']}?done={done}", status_code=303)


def _draw_page(request: Request, ctx: GatewayContext, caller: Caller, draw_id: str, *, error: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    draw = read(caller, subsidies_api.get_draw, draw_id=draw_id, _=caller, ctx=ctx)
    check = read(caller, subsidies_api.verify_draw, draw_id=draw_id, _=caller, ctx=ctx) \
        if draw["status"] == "executed" else None
    agencies = {a["id"]: a for a in read(caller, subsidies_api.list_agencies, department=draw["department"],
                                         _=caller, ctx=ctx)}
    return render(request, "draw.html", {"draw": draw, "check": check, "agencies": agencies, "error": error,
                                         "done": request.query_params.get("done")},
                  caller=caller, status_code=status_code)


@router.get("/web/draws/{draw_id}")
def draw_view(draw_id: str, request: Request, caller: Caller = Depends(policy_page),
              ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _draw_page(request, ctx, caller, draw_id)


@router.post("/web/draws/{draw_id}/execute")
async def draw_execute(draw_id: str, request: Request, caller: Caller = Depends(policy_page),
                       ctx: GatewayContext = Depends(get_context)) -> Response:
    await form_with_csrf(request, caller)
    try:
        subsidies_api.execute_draw(draw_id=draw_id, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _draw_page(request, ctx, caller, draw_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/draws/{draw_id}?done=executed", status_code=303)


# ---------------------------------------------------------------------------- public notices (公示)

@router.get("/web/notices")
def notices_list(request: Request, caller: Caller = Depends(logged_in),
                 ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    notices = read(caller, funds_api.list_notices, policy_id=None, _=caller, ctx=ctx)
    return render(request, "notices.html", {"notices": notices, "now": ctx.ledger.chain.now()}, caller=caller)


def _notice_page(request: Request, ctx: GatewayContext, caller: Caller, notice_id: str, *, error: str | None = None,
                 status_code: int = 200) -> HTMLResponse:
    notice = read(caller, funds_api.get_notice, notice_id=notice_id, _=caller, ctx=ctx)
    may_answer = caller.kind == "member" and "policy" in caller.roles and caller.department == notice["department"]
    return render(request, "notice.html", {
        "notice": notice, "may_answer": may_answer, "error": error, "done": request.query_params.get("done")},
        caller=caller, status_code=status_code)


@router.get("/web/notices/{notice_id}")
def notice_view(notice_id: str, request: Request, caller: Caller = Depends(logged_in),
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _notice_page(request, ctx, caller, notice_id)


@router.post("/web/notices/{notice_id}/objections")
async def objection_submit(notice_id: str, request: Request, caller: Caller = Depends(logged_in),
                           ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = funds_api.ObjectionIn(application_id=str(form.get("application_id") or ""),
                                     text=str(form.get("text") or "").strip())
        funds_api.file_objection(notice_id=notice_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _notice_page(request, ctx, caller, notice_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/notices/{notice_id}?done=objection", status_code=303)


@router.post("/web/notices/{notice_id}/objections/{number}/answer")
async def answer_submit(notice_id: str, number: int, request: Request, caller: Caller = Depends(policy_page),
                        ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = funds_api.AnswerIn(answer=str(form.get("answer") or "").strip(),
                                  upheld=str(form.get("upheld") or "") == "true")
        funds_api.answer_objection(notice_id=notice_id, number=number, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _notice_page(request, ctx, caller, notice_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/notices/{notice_id}?done=answered", status_code=303)
