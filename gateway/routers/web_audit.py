"""Discipline inspector pages: the dashboard (alerts over time, by stage, level, point and department), alerts
with filters, an alert with its history and actions, cases with their timers, evidence-pack export, and the
fund-trace explorer (a policy, an enterprise or a payout) with a timeline across the six stages and a flow
chart from budget to use.

The pages call the API's own route functions (gateway/routers/audit.py, funds.py)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.routers import audit as audit_api
from gateway.routers import funds as funds_api
from gateway.web import charts
from gateway.web.api import ACTION_ERRORS, explain, fen, read, status_of
from gateway.web.i18n import Translator, language
from gateway.web.render import render
from gateway.web.session import WebRefusal, form_with_csrf, logged_in, member_page

router = APIRouter(include_in_schema=False)
inspector_page = member_page("inspector")
LEVELS = ("prompt", "warning", "alarm")
CST = timezone(timedelta(hours=8))
DAYS_SHOWN = 14


def alerts_over_time(alerts: list[dict[str, Any]], today: datetime, days: int = DAYS_SHOWN
                     ) -> list[tuple[str, dict[str, int]]]:
    """Alerts raised per day over the last ``days`` days (China time), by level."""
    start = (today - timedelta(days=days - 1)).date()
    buckets: dict[str, Counter] = {(start + timedelta(days=i)).strftime("%m-%d"): Counter() for i in range(days)}
    for a in alerts:
        raised = a.get("raised_at") or a.get("first_seen")
        if not raised:
            continue
        day = datetime.fromtimestamp(int(raised), CST).date()
        key = day.strftime("%m-%d")
        if key in buckets and day >= start:
            buckets[key][a.get("max_level") or a.get("level")] += 1
    return [(k, dict(v)) for k, v in buckets.items()]


def _labels(request: Request, keys: list[str], prefix: str) -> dict[str, str]:
    t = Translator(language(request))
    return {k: t(f"{prefix}{k}") for k in keys}


@router.get("/web/audit")
def dashboard(request: Request, level: str | None = None, stage: str | None = None, point: str | None = None,
              department: str | None = None, status: str | None = None, caller: Caller = Depends(inspector_page),
              ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    figures = read(caller, audit_api.figures, caller=caller, ctx=ctx)
    everything = read(caller, audit_api.list_alerts, level=None, status=None, point_id=None, condition=None,
                      department=None, limit=1000, offset=0, caller=caller, ctx=ctx)
    filters = {"level": level if level in LEVELS else None, "stage": stage or None, "point": point or None,
               "department": department or None, "status": status or None}
    shown = [a for a in everything
             if (not filters["level"] or a["level"] == filters["level"])
             and (not filters["stage"] or a["stage"] == filters["stage"])
             and (not filters["point"] or a["point_id"] == filters["point"])
             and (not filters["department"] or a["department"] == filters["department"])
             and (not filters["status"] or a["status"] == filters["status"])]
    labels = {**_labels(request, list(LEVELS), "alert.level."), "title": "alerts"}
    over_time = charts.bars(alerts_over_time(everything, datetime.now(CST)), LEVELS, labels)
    stages = list(figures.get("counts", {}).get("by_stage", {}).items())
    by_stage = charts.bars([(Translator(language(request))(f"stage.{s}"), v) for s, v in stages], LEVELS, labels)
    options = {"stage": sorted({a["stage"] for a in everything} | {s for s, _ in stages}),
               "point": sorted({a["point_id"] for a in everything}),
               "department": sorted({a["department"] for a in everything if a.get("department")}),
               "status": sorted({a["status"] for a in everything})}
    return render(request, "audit.html", {
        "figures": figures, "alerts": shown, "total": len(everything), "filters": filters, "options": options,
        "over_time": over_time, "by_stage": by_stage, "levels": LEVELS, "done": request.query_params.get("done")},
        caller=caller)


SCAN_CHUNK = 5  # points per step of a full scan run from the page (the bar moves step by step)


@router.post("/web/audit/scan")
async def full_scan(request: Request, caller: Caller = Depends(inspector_page),
                    ctx: GatewayContext = Depends(get_context)) -> Response:
    """A full scan of the ledger through every enabled point, in the background, a few points at a time
    (each step a full scan of its points, as ``POST /audit/scans`` with ``points``) so the bar shows
    how many points have run."""
    from audit.config import enabled
    from gateway.routers.web_licences import jobs

    await form_with_csrf(request, caller)
    points = sorted(enabled(ctx.settings.audit))
    done: list[str] = []

    def work(job) -> None:
        totals: Counter = Counter()
        for start in range(0, len(points), SCAN_CHUNK):
            chunk = points[start:start + SCAN_CHUNK]
            out = audit_api.full_scan(body=audit_api.ScanIn(points=chunk), _=caller, ctx=ctx)
            for key in ("new", "raised", "recurred", "unchanged", "cleared", "findings"):
                if isinstance(out.get(key), int):
                    totals[key] += out[key]
            done.extend(chunk)
        job.result = {key: totals.get(key, 0) for key in ("findings", "new", "raised", "recurred", "unchanged",
                                                          "cleared")}
        job.result_url = "/web/audit?done=scanned"

    job = jobs(request).start(caller.subject, "full_scan", len(points), work, lambda: len(done))
    return RedirectResponse(f"/web/audit/jobs/{job.id}", status_code=303)


@router.get("/web/audit/jobs/{job_id}")
def scan_progress(job_id: str, request: Request, caller: Caller = Depends(inspector_page)) -> HTMLResponse:
    from gateway.routers.web_licences import jobs

    job = jobs(request).get(job_id)
    if job is None or job.owner != caller.subject:
        raise WebRefusal(404, "job_not_found", f"no operation {job_id} of yours", caller)
    return render(request, "job.html", {"job": job.to_dict(), "filename": "", "back": "/web/audit"}, caller=caller)


def _alert_page(request: Request, ctx: GatewayContext, caller: Caller, alert_id: str, *, error: str | None = None,
                status_code: int = 200, mode: str = "inspector") -> HTMLResponse:
    alert = read(caller, audit_api.get_alert, alert_id=alert_id, caller=caller, ctx=ctx)
    return render(request, "alert.html", {"alert": alert, "error": error, "done": request.query_params.get("done"),
                                          "mode": mode, "base": "/web/audit/alerts" if mode == "inspector"
                                          else "/web/alerts"},
                  caller=caller, status_code=status_code)


@router.get("/web/audit/alerts/{alert_id}")
def alert_page(alert_id: str, request: Request, caller: Caller = Depends(inspector_page),
               ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _alert_page(request, ctx, caller, alert_id)


@router.post("/web/audit/alerts/{alert_id}/{action}")
async def alert_action(alert_id: str, action: str, request: Request, caller: Caller = Depends(inspector_page),
                       ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    note = str(form.get("note") or "").strip()
    try:
        if action == "case":
            out = audit_api.open_case(alert_id=alert_id, body=audit_api.NoteIn(note=note), caller=caller, ctx=ctx)
            return RedirectResponse(f"/web/audit/cases/{out['case_id']}?done=opened", status_code=303)
        if action == "release":
            audit_api.release_hold(alert_id=alert_id, body=audit_api.NoteIn(note=note), caller=caller, ctx=ctx)
        elif action in ("escalated", "closed"):
            audit_api.dispose(alert_id=alert_id, body=audit_api.DispositionIn(kind=action, note=note), caller=caller,
                              ctx=ctx)
        else:
            raise WebRefusal(404, "not_found", f"no action {action}", caller)
    except ACTION_ERRORS as exc:
        return _alert_page(request, ctx, caller, alert_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/audit/alerts/{alert_id}?done={action}", status_code=303)


@router.get("/web/audit/alerts/{alert_id}/evidence.zip")
def alert_evidence(alert_id: str, caller: Caller = Depends(inspector_page),
                   ctx: GatewayContext = Depends(get_context)) -> Response:
    return read(caller, audit_api.alert_pack, alert_id=alert_id, caller=caller, ctx=ctx)


@router.get("/web/audit/cases")
def cases_page(request: Request, caller: Caller = Depends(inspector_page),
               ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    items = read(caller, audit_api.list_cases, status=None, _=caller, ctx=ctx)
    return render(request, "cases.html", {"cases": items}, caller=caller)


def _case_page(request: Request, ctx: GatewayContext, caller: Caller, case_id: str, *, error: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    case = read(caller, audit_api.get_case, case_id=case_id, _=caller, ctx=ctx)
    return render(request, "case.html", {"case": case, "error": error, "done": request.query_params.get("done"),
                                         "steps": ("filed", "preliminary", "inquiry", "shelved", "concluded")},
                  caller=caller, status_code=status_code)


@router.get("/web/audit/cases/{case_id}")
def case_page(case_id: str, request: Request, caller: Caller = Depends(inspector_page),
              ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    return _case_page(request, ctx, caller, case_id)


@router.post("/web/audit/cases/{case_id}/steps")
async def case_step(case_id: str, request: Request, caller: Caller = Depends(inspector_page),
                    ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await form_with_csrf(request, caller)
    try:
        body = audit_api.StepIn(step=str(form.get("step") or ""), note=str(form.get("note") or "").strip())
        audit_api.case_step(case_id=case_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _case_page(request, ctx, caller, case_id, error=explain(exc), status_code=status_of(exc))
    return RedirectResponse(f"/web/audit/cases/{case_id}?done=step", status_code=303)


@router.get("/web/audit/cases/{case_id}/evidence.zip")
def case_evidence(case_id: str, caller: Caller = Depends(inspector_page),
                  ctx: GatewayContext = Depends(get_context)) -> Response:
    return read(caller, audit_api.case_pack, case_id=case_id, _=caller, ctx=ctx)


# ---------------------------------------------------------------------------- fund trace

@router.get("/web/trace")
def trace_page(request: Request, policy: str | None = None, enterprise: str | None = None,
               payout: str | None = None, caller: Caller = Depends(logged_in),
               ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    """The fund-trace explorer: whoever the trace API admits for what is asked (inspectors: everything)."""
    if caller.kind != "member":
        raise WebRefusal(403, "forbidden_kind", "this page is for alliance members only", caller)
    t = Translator(language(request))
    values: dict[str, Any] = {"query": {"policy": policy or "", "enterprise": enterprise or "", "payout": payout or ""},
                              "kind": None, "result": None, "chart": None, "timeline": None}
    if policy:
        result = read(caller, funds_api.trace_policy, policy_id=policy.strip(), caller=caller, ctx=ctx)
        labels = {s["stage"]: t(f"flow.{s['stage']}") for s in result["stages"]}
        labels.update(title=t("trace.flow"), mismatch=t("trace.mismatch"))
        values.update(kind="policy", result=result, chart=charts.flow_chart(result["stages"], labels))
    elif enterprise:
        result = read(caller, funds_api.trace_enterprise, uscc=enterprise.strip().upper(), caller=caller, ctx=ctx)
        values.update(kind="enterprise", result=result)
    elif payout:
        result = read(caller, funds_api.trace_payout, payout_id=payout.strip(), caller=caller, ctx=ctx)
        values.update(kind="payout", result=result, timeline=charts.timeline(result.get("custody", [])))
    return render(request, "trace.html", values, caller=caller)


# ---------------------------------------------------------------------------- a department's own alerts

department_page = member_page()
DEPARTMENT_DISPOSITIONS = ("rectified", "explained")


@router.get("/web/alerts")
def department_alerts(request: Request, caller: Caller = Depends(department_page),
                      ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    """The caller's department's open alerts (the API's work list): what to rectify or explain, by when."""
    items = read(caller, audit_api.worklist, audience=None, caller=caller, ctx=ctx)
    return render(request, "dept_alerts.html", {"items": items, "done": request.query_params.get("done")},
                  caller=caller)


@router.get("/web/alerts/{alert_id}")
def department_alert(alert_id: str, request: Request, caller: Caller = Depends(department_page),
                     ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    """One alert of the caller's department (the API refuses another department's: not_your_department)."""
    return _alert_page(request, ctx, caller, alert_id, mode="department")


@router.post("/web/alerts/{alert_id}/{kind}")
async def department_disposition(alert_id: str, kind: str, request: Request, caller: Caller = Depends(department_page),
                                 ctx: GatewayContext = Depends(get_context)) -> Response:
    """Record "rectified" (with any money recovered) or "explained", signed by the member's own key."""
    form = await form_with_csrf(request, caller)
    if kind not in DEPARTMENT_DISPOSITIONS:
        raise WebRefusal(404, "not_found", f"no disposition {kind}", caller)
    try:
        recovered = str(form.get("recovered_yuan") or "").strip()
        body = audit_api.DispositionIn(kind=kind, note=str(form.get("note") or "").strip(),
                                       amount_recovered_fen=fen(recovered) if recovered else 0)
        audit_api.dispose(alert_id=alert_id, body=body, caller=caller, ctx=ctx)
    except ACTION_ERRORS as exc:
        return _alert_page(request, ctx, caller, alert_id, error=explain(exc), status_code=status_of(exc),
                           mode="department")
    except ValueError as exc:
        return _alert_page(request, ctx, caller, alert_id, error=str(exc), status_code=422, mode="department")
    return RedirectResponse(f"/web/alerts/{alert_id}?done={kind}", status_code=303)
