"""Problem clues (问题线索): an alarm becomes a case that the discipline commission disposes of by
the standard steps 立案 (filed) / 初核 (preliminary verification) / 函询 (written inquiry) /
暂存 (shelved) / 了结 (concluded). Each step is signed on AuditTrail by the INSPECTOR member who
took it. Each step is due within ``[audit] case_step_workdays`` working days: the timer shows
green, yellow (``yellow_workdays`` or fewer left) or red (overdue), and ``tick`` escalates an
overdue case once per missed due date (recorded as a step ``escalated`` and a notice to the
commission's head; ``audit.routing.settle`` signs the escalation on AuditTrail with the gateway's
INSPECTOR key).
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit import alerts as store
from chain.db import transaction
from audit.models import AuditAlert, AuditCase, AuditCaseStep, AuditDisposition, AuditNotice

STEPS = {"filed": 1, "preliminary": 2, "inquiry": 3, "shelved": 4, "concluded": 5}
STEP_NAMES = {"filed": "立案", "preliminary": "初核", "inquiry": "函询", "shelved": "暂存", "concluded": "了结"}
TERMINAL = ("filed", "concluded")
ESCALATED_STEP = 6  # AuditTrail.CaseStep.Escalated: a timer escalation, signed by the gateway's INSPECTOR key
NO_SIGNER = "0x" + "0" * 40  # an escalation not yet signed on chain


def case_id_of(alert_id: str) -> str:
    """One case per alert: keccak256("case:" + alert id)."""
    return "0x" + keccak(b"case:" + bytes.fromhex(alert_id[2:])).hex()


def colour(env: Any, due_at: int | None, now: int, status: str = "open") -> str:
    """green / yellow / red for a deadline; "none" for a finished case or no deadline."""
    if status in TERMINAL or due_at is None:
        return "none"
    if now > due_at:
        return "red"
    cal = env.calendar
    left = cal.workdays_between(cal.local_date(now), cal.local_date(due_at))
    return "yellow" if left <= env.settings.audit.yellow_workdays else "green"


def open_case(env: Any, alert_id: str, account: LocalAccount, note: str, now: int) -> AuditCase:
    """Open the case of an alarm on chain (signed by an INSPECTOR member) and record it."""
    from audit.routing import _chain, _department_of, _need_note, alert_ref, anchor_pending, note_hash

    _need_note(note)
    chain = _chain(env)
    alert = store.get(env.sessions, alert_id)
    with env.sessions() as s:
        if s.scalar(select(AuditCase).where(AuditCase.alert_pk == alert.id)) is not None:
            raise store.AlertError("case_exists", f"alert {alert_id} already has a case", 409)
    anchor_pending(env)
    case_id = case_id_of(alert.alert_id)
    with env.sessions() as s:
        ref = alert_ref(s, s.get(AuditAlert, alert.id))
    result = chain.transact(account, chain.trail.functions.openCase(bytes.fromhex(case_id[2:]), *ref,
                                                                     note_hash(note)), f"audit open case {case_id}")
    with transaction(env.sessions) as s:
        row = s.get(AuditAlert, alert.id)
        case = AuditCase(case_id=case_id, alert_pk=row.id, status="open", opened_by=account.address,
                         opened_at=result.block_timestamp, due_at=_due(env, now), escalations=0,
                         tx_hash=result.tx_hash)
        s.add(case)
        s.flush()
        s.add(AuditCaseStep(case_pk=case.id, step="opened", member=account.address, note=note,
                            note_hash="0x" + note_hash(note).hex(), tx_hash=result.tx_hash, at=result.block_timestamp))
        s.add(AuditDisposition(alert_pk=row.id, kind="case_opened", member=account.address,
                               department=_department_of(chain, account.address), note=note,
                               note_hash="0x" + note_hash(note).hex(), amount_recovered_fen=0,
                               tx_hash=result.tx_hash, block_number=result.block_number, at=result.block_timestamp))
        if row.status != "closed":
            row.status = "case_opened"
        store.history(s, row, "disposition", result.block_timestamp, actor=account.address, tx_hash=result.tx_hash,
                      note=f"case_opened: {note}")
    return case


def record_step(env: Any, case_id: str, step: str, account: LocalAccount, note: str, now: int) -> AuditCaseStep:
    """Record a step of a case on chain (AuditTrail refuses non-INSPECTOR signers and steps after the end)."""
    from audit.routing import _chain, _need_note, note_hash

    if step not in STEPS:
        raise store.AlertError("invalid_step", f"step {step!r} is not one of {', '.join(STEPS)} "
                               "(立案 / 初核 / 函询 / 暂存 / 了结)")
    _need_note(note)
    case = get(env.sessions, case_id)
    if case.status in TERMINAL:
        raise store.AlertError("case_ended", f"case {case_id} ended with {case.status} ({STEP_NAMES[case.status]})",
                               409)
    chain = _chain(env)
    result = chain.transact(account, chain.trail.functions.recordCaseStep(bytes.fromhex(case.case_id[2:]),
                                                                          STEPS[step], note_hash(note)),
                            f"audit case {case.case_id} {step}")
    with transaction(env.sessions) as s:
        row = s.get(AuditCase, case.id)
        row.status = step
        if step in TERMINAL:
            row.closed_at = result.block_timestamp
        else:
            row.due_at = _due(env, now)
        record = AuditCaseStep(case_pk=row.id, step=step, member=account.address, note=note,
                               note_hash="0x" + note_hash(note).hex(), tx_hash=result.tx_hash,
                               at=result.block_timestamp)
        s.add(record)
    return record


def tick(env: Any, now: int) -> int:
    """Escalate overdue cases: once per missed due date (the due date moves on by one step period)."""
    escalated = 0
    with transaction(env.sessions) as s:
        for case in s.scalars(select(AuditCase).where(AuditCase.status.not_in(TERMINAL), AuditCase.due_at < now)):
            case.escalations += 1
            case.escalated_at = now
            missed = case.due_at
            case.due_at = _due(env, now)
            note = f"step overdue since {missed}: escalated to the commission's head (escalation {case.escalations})"
            s.add(AuditCaseStep(case_pk=case.id, step="escalated", member=NO_SIGNER, note=note,
                                note_hash="0x" + keccak(note.encode()).hex(), tx_hash=None, at=now))
            alert = s.get(AuditAlert, case.alert_pk)
            s.add(AuditNotice(alert_pk=alert.id, level=alert.level, audience="commission_head",
                              department=alert.department, deadline_at=case.due_at, at=now))
            escalated += 1
    return escalated


def record_escalations(env: Any, account: Any) -> int:
    """Sign on AuditTrail the timer escalations ``tick`` recorded (of cases that have not ended)."""
    from audit.routing import _chain, note_hash

    chain = _chain(env)
    with env.sessions() as s:
        pending = list(s.execute(select(AuditCaseStep, AuditCase.case_id).join(AuditCase, AuditCase.id ==
                                                                              AuditCaseStep.case_pk)
                                 .where(AuditCaseStep.step == "escalated", AuditCaseStep.tx_hash.is_(None),
                                        AuditCase.status.not_in(TERMINAL)).order_by(AuditCaseStep.id)))
    for step, case_id in pending:
        result = chain.transact(account, chain.trail.functions.recordCaseStep(
            bytes.fromhex(case_id[2:]), ESCALATED_STEP, note_hash(step.note)), f"audit case {case_id} escalated")
        with transaction(env.sessions) as s:
            row = s.get(AuditCaseStep, step.id)
            row.member, row.tx_hash = account.address, result.tx_hash
    return len(pending)


def _due(env: Any, now: int) -> int:
    return env.calendar.deadline_after(now, env.settings.audit.case_step_workdays)


def get(sessions: sessionmaker[Session], case_id: str) -> AuditCase:
    with sessions() as s:
        case = s.scalar(select(AuditCase).where(AuditCase.case_id == case_id.lower()))
    if case is None:
        raise store.AlertError("case_not_found", f"no case {case_id}", 404)
    return case


def of_alert(sessions: sessionmaker[Session], alert: AuditAlert) -> AuditCase | None:
    with sessions() as s:
        return s.scalar(select(AuditCase).where(AuditCase.alert_pk == alert.id))


def steps_of(sessions: sessionmaker[Session], case: AuditCase) -> list[AuditCaseStep]:
    with sessions() as s:
        return list(s.scalars(select(AuditCaseStep).where(AuditCaseStep.case_pk == case.id)
                              .order_by(AuditCaseStep.id)))


def listing(sessions: sessionmaker[Session], status: str | None = None) -> list[AuditCase]:
    query = select(AuditCase)
    if status:
        query = query.where(AuditCase.status == status)
    with sessions() as s:
        return list(s.scalars(query.order_by(AuditCase.id)))


def summary(env: Any, case: AuditCase, now: int) -> dict[str, Any]:
    with env.sessions() as s:
        alert = s.get(AuditAlert, case.alert_pk)
    return {"case_id": case.case_id, "alert_id": alert.alert_id, "point_id": alert.point_id,
            "department": alert.department, "status": case.status, "status_name": STEP_NAMES.get(case.status, "受理"),
            "opened_by": case.opened_by, "opened_at": case.opened_at, "due_at": case.due_at,
            "colour": colour(env, case.due_at, now, case.status), "escalations": case.escalations,
            "closed_at": case.closed_at, "tx_hash": case.tx_hash,
            "steps": [{"step": st.step, "member": st.member, "note": st.note, "note_hash": st.note_hash,
                       "tx_hash": st.tx_hash, "at": st.at} for st in steps_of(env.sessions, case)]}
