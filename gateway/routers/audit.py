"""Supervision (3-6-29): alerts, work lists, dispositions, holds, cases, evidence packs, dashboard.

INSPECTOR members (the discipline commission) see and act on everything; other members see their own
department's alerts and record its rectifications and explanations. Closing (销号), releasing a hold,
opening a case and its steps are the commission's. Every act is signed on chain with the caller's key.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from audit import alerts as store
from audit import cases, dashboard, evidence, routing
from audit.findings import Level
from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, get_context, require_member
from gateway.errors import APIError

router = APIRouter(prefix="/audit", tags=["audit"])
HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
LEVELS = {"prompt": Level.PROMPT, "warning": Level.WARNING, "alarm": Level.ALARM}


class DispositionIn(BaseModel):
    kind: Literal["rectified", "explained", "escalated", "closed"]
    note: str = Field(min_length=1, max_length=4000, description="the rectification report, explanation or reason")
    amount_recovered_fen: int = Field(0, ge=0, description="money recovered (追回) with this disposition, in fen")


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


class StepIn(BaseModel):
    step: Literal["filed", "preliminary", "inquiry", "shelved", "concluded"] = Field(
        description="立案 filed / 初核 preliminary / 函询 inquiry / 暂存 shelved / 了结 concluded")
    note: str = Field(min_length=1, max_length=4000)


def _now() -> int:
    return int(time.time())


def _env(ctx: GatewayContext) -> routing.AuditEnv:
    return routing.AuditEnv.from_context(ctx)


def _error(exc: store.AlertError) -> APIError:
    return APIError(exc.status, exc.code, str(exc))


def _id(value: str, what: str) -> str:
    if not HEX32.match(value):
        raise APIError(422, f"invalid_{what}_id", f"a {what} id is 0x followed by 64 hexadecimal characters")
    return value.lower()


def _inspector(caller: Caller) -> bool:
    return "inspector" in caller.roles


def _key(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise APIError(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}") from None


def _alert(ctx: GatewayContext, caller: Caller, alert_id: str):
    """The alert, if the caller may see it: INSPECTOR, or a member of its department."""
    try:
        alert = store.get(ctx.sessions, _id(alert_id, "alert"))
    except store.AlertError as exc:
        raise _error(exc) from None
    if not _inspector(caller) and caller.department != alert.department:
        raise APIError(403, "not_your_department", f"alert {alert.alert_id} belongs to department {alert.department}; "
                       "only its members and the discipline commission see it")
    return alert


@router.get("/alerts", summary="Alerts: all for INSPECTOR members, the caller's department's for others")
def list_alerts(level: Literal["prompt", "warning", "alarm"] | None = Query(None),
                status: Literal["open", "rectified", "explained", "escalated", "case_opened", "closed"] | None
                = Query(None),
                point_id: str | None = Query(None, max_length=8),
                condition: Literal["active", "cleared"] | None = Query(None),
                department: str | None = Query(None, max_length=32),
                limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0),
                caller: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    if not _inspector(caller):
        if department not in (None, caller.department):
            raise APIError(403, "not_your_department", "only the discipline commission sees other departments' alerts")
        department = caller.department
    rows = store.listing(ctx.sessions, department=department, level=LEVELS[level] if level else None, status=status,
                         point_id=point_id, condition=condition, limit=limit, offset=offset)
    return [store.summary(a) for a in rows]


@router.get("/worklist", summary="The caller's department's open alerts: the officers' prompts and the head's warnings")
def worklist(audience: Literal["officer", "head", "commission"] | None = Query(None),
             caller: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return routing.worklist(ctx.sessions, caller.department, audience)


@router.get("/alerts/{alert_id}", summary="An alert with its history, anchored records, dispositions and case")
def get_alert(alert_id: str, caller: Caller = Depends(require_member()),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    alert = _alert(ctx, caller, alert_id)
    content = evidence.alert_file(_env(ctx), alert.alert_id, _now())
    return {**content["alert"], "fields": content["fields"], "history": content["history"],
            "records": content["records"], "dispositions": content["dispositions"], "case": content["case"]}


@router.post("/alerts/{alert_id}/dispositions", status_code=201,
             summary="Record a disposition signed by the caller: rectified / explained (the alert's department), "
                     "escalated / closed 销号 (INSPECTOR)")
def dispose(alert_id: str, body: DispositionIn, caller: Caller = Depends(require_member()),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    alert = _alert(ctx, caller, alert_id)
    if body.kind in ("rectified", "explained") and caller.department != alert.department:
        raise APIError(403, "not_responsible_department",
                       f"only members of {alert.department} record {body.kind} on this alert")
    if body.kind in ("escalated", "closed") and not _inspector(caller):
        raise APIError(403, "missing_role", f"role inspector required to record {body.kind}", required=["inspector"],
                       held=list(caller.roles))
    try:
        d = routing.dispose(_env(ctx), alert.alert_id, body.kind, _key(ctx, caller), body.note,
                            body.amount_recovered_fen)
    except store.AlertError as exc:
        raise _error(exc) from None
    return {"alert": store.summary(store.get(ctx.sessions, alert.alert_id)),
            "disposition": {"kind": d.kind, "member": d.member, "department": d.department, "note": d.note,
                            "note_hash": d.note_hash, "tx_hash": d.tx_hash, "at": d.at}}


@router.post("/alerts/{alert_id}/hold/release", summary="Release the alert's payout hold (INSPECTOR only)")
def release_hold(alert_id: str, body: NoteIn, caller: Caller = Depends(require_member("inspector")),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    alert = _alert(ctx, caller, alert_id)
    try:
        return routing.release_hold(_env(ctx), alert.alert_id, _key(ctx, caller), body.note)
    except store.AlertError as exc:
        raise _error(exc) from None


@router.post("/alerts/{alert_id}/case", status_code=201, summary="Open a case (问题线索) on an alert (INSPECTOR)")
def open_case(alert_id: str, body: NoteIn, caller: Caller = Depends(require_member("inspector")),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    alert = _alert(ctx, caller, alert_id)
    env = _env(ctx)
    try:
        case = cases.open_case(env, alert.alert_id, _key(ctx, caller), body.note, _now())
    except store.AlertError as exc:
        raise _error(exc) from None
    return cases.summary(env, case, _now())


@router.get("/cases", summary="Cases (问题线索) with their timers (INSPECTOR)")
def list_cases(status: str | None = Query(None, max_length=16), _: Caller = Depends(require_member("inspector")),
               ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    env, now = _env(ctx), _now()
    return [cases.summary(env, c, now) for c in cases.listing(ctx.sessions, status)]


@router.get("/cases/{case_id}", summary="A case with its steps and timer colour (INSPECTOR)")
def get_case(case_id: str, _: Caller = Depends(require_member("inspector")),
             ctx: GatewayContext = Depends(get_context)) -> dict:
    try:
        return cases.summary(_env(ctx), cases.get(ctx.sessions, _id(case_id, "case")), _now())
    except store.AlertError as exc:
        raise _error(exc) from None


@router.post("/cases/{case_id}/steps", status_code=201,
             summary="Record a step: 立案 / 初核 / 函询 / 暂存 / 了结 (INSPECTOR, signed on chain)")
def case_step(case_id: str, body: StepIn, caller: Caller = Depends(require_member("inspector")),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    env = _env(ctx)
    try:
        cases.record_step(env, _id(case_id, "case"), body.step, _key(ctx, caller), body.note, _now())
        return cases.summary(env, cases.get(ctx.sessions, case_id.lower()), _now())
    except store.AlertError as exc:
        raise _error(exc) from None


def _zip(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/alerts/{alert_id}/evidence.zip", summary="Evidence pack of an alert (INSPECTOR)")
def alert_pack(alert_id: str, caller: Caller = Depends(require_member("inspector")),
               ctx: GatewayContext = Depends(get_context)) -> Response:
    alert = _alert(ctx, caller, alert_id)
    return _zip(evidence.build_pack(_env(ctx), _now(), alert_ids=[alert.alert_id]),
                f"evidence-{alert.point_id}-{alert.alert_id[2:14]}.zip")


@router.get("/cases/{case_id}/evidence.zip", summary="Evidence pack of a case (INSPECTOR)")
def case_pack(case_id: str, _: Caller = Depends(require_member("inspector")),
              ctx: GatewayContext = Depends(get_context)) -> Response:
    try:
        data = evidence.build_pack(_env(ctx), _now(), case_id=_id(case_id, "case"))
    except store.AlertError as exc:
        raise _error(exc) from None
    return _zip(data, f"evidence-case-{case_id[2:14]}.zip")


@router.get("/dashboard", summary="Counts by stage, point, department, level; deadlines; rectification; amounts")
def figures(caller: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> dict[str, Any]:
    return dashboard.figures(_env(ctx), _now(), None if _inspector(caller) else caller.department)


class ScanIn(BaseModel):
    points: list[str] | None = Field(None, max_length=29, description="point ids to run (default: every enabled point)")


@router.post("/scans", summary="Run a full scan of the ledger now (INSPECTOR): counts new / raised / recurred / "
             "unchanged / cleared")
def full_scan(body: ScanIn | None = None, _: Caller = Depends(require_member("inspector")),
              ctx: GatewayContext = Depends(get_context)) -> dict[str, Any]:
    from audit import service
    from audit.rules import BY_ID

    points = body.points if body is not None else None
    if points is not None:
        unknown = sorted(set(points) - set(BY_ID))
        if unknown or not points:
            raise APIError(422, "unknown_point", f"unknown point id(s): {', '.join(unknown) or '(none given)'}")
    try:
        return service.run_full_scan(ctx, points=points)
    except store.AlertError as exc:
        raise _error(exc) from None


@router.post("/tick", summary="Run the timers now: escalate missed deadlines and overdue cases (INSPECTOR)")
def tick(_: Caller = Depends(require_member("inspector")), ctx: GatewayContext = Depends(get_context)) -> dict:
    return routing.tick(_env(ctx), _now())
