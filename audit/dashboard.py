"""Figures for the supervision dashboards, computed from the alert store.

* open alerts (active and not rectified / explained / closed) counted by stage, point, department
  and level;
* red / yellow / green deadlines — warnings' rectification deadlines and cases' step due dates —
  in total and by stage, point and department;
* the rectification rate: of the alerts that reached warning or alarm, the share rectified;
* amounts held (active holds), released, and recovered (from dispositions).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select

from audit import cases
from audit.alerts import ACTIVE, LEVEL_NAMES
from audit.findings import STAGES, Level
from audit.models import AuditAlert, AuditCase, AuditDisposition
from audit.routing import ENDED, AuditEnv


def figures(env: AuditEnv, now: int, department: str | None = None) -> dict[str, Any]:
    """The dashboard figures, for the whole alliance or for one ``department``."""
    with env.sessions() as s:
        query = select(AuditAlert)
        if department is not None:
            query = query.where(AuditAlert.department == department)
        alerts = list(s.scalars(query))
        by_pk = {a.id: a for a in alerts}
        case_rows = [c for c in s.scalars(select(AuditCase)) if c.alert_pk in by_pk]
        rectified_pks = {pk for pk in s.scalars(select(AuditDisposition.alert_pk).where(
            AuditDisposition.kind == "rectified")) if pk in by_pk}

    open_alerts = [a for a in alerts if a.condition == ACTIVE and a.status not in ENDED]
    counts: dict[str, dict[str, dict[str, int]]] = {"by_stage": {}, "by_point": {}, "by_department": {}}
    for name, attr in (("by_stage", "stage"), ("by_point", "point_id"), ("by_department", "department")):
        table: dict[str, Counter] = defaultdict(Counter)
        for a in open_alerts:
            table[getattr(a, attr) or "none"][LEVEL_NAMES[Level(a.level)]] += 1
        counts[name] = {k: _levels(v) for k, v in sorted(table.items())}
    for stage in STAGES:
        counts["by_stage"].setdefault(stage, _levels(Counter()))

    deadlines: dict[str, Any] = {"total": _colours(Counter()), "by_stage": {}, "by_point": {}, "by_department": {}}
    groups: dict[str, dict[str, Counter]] = {k: defaultdict(Counter) for k in ("by_stage", "by_point", "by_department")}
    total: Counter = Counter()

    def count_deadline(alert: AuditAlert, colour: str) -> None:
        if colour == "none":
            return
        total[colour] += 1
        groups["by_stage"][alert.stage][colour] += 1
        groups["by_point"][alert.point_id][colour] += 1
        groups["by_department"][alert.department or "none"][colour] += 1

    for a in open_alerts:
        if a.level == Level.WARNING and a.deadline_at is not None:
            count_deadline(a, cases.colour(env, a.deadline_at, now))
    for c in case_rows:
        count_deadline(by_pk[c.alert_pk], cases.colour(env, c.due_at, now, c.status))
    deadlines["total"] = _colours(total)
    for k, table in groups.items():
        deadlines[k] = {name: _colours(v) for name, v in sorted(table.items())}

    serious = [a for a in alerts if a.max_level >= Level.WARNING]
    rectified = [a for a in serious if a.id in rectified_pks]
    held = [a for a in alerts if a.hold_status == "placed"]
    released = [a for a in alerts if a.hold_status == "released"]
    return {
        "scope": department or "alliance",
        "at": now,
        "alerts": {"total": len(alerts), "open": len(open_alerts),
                   "cleared": sum(a.condition != ACTIVE for a in alerts),
                   "by_status": dict(sorted(Counter(a.status for a in alerts).items())),
                   "by_level": _levels(Counter(LEVEL_NAMES[Level(a.level)] for a in open_alerts))},
        "counts": counts,
        "deadlines": deadlines,
        "rectification": {"warnings_and_alarms": len(serious), "rectified": len(rectified),
                          "rate": round(len(rectified) / len(serious), 4) if serious else None},
        "cases": {"total": len(case_rows),
                  "by_status": dict(sorted(Counter(c.status for c in case_rows).items()))},
        "amounts": {"held_fen": sum(a.amount_fen or 0 for a in held), "held_applications": len(held),
                    "released_fen": sum(a.amount_fen or 0 for a in released),
                    "recovered_fen": sum(a.amount_recovered_fen for a in alerts)},
    }


def _levels(counter: Counter) -> dict[str, int]:
    return {name: counter.get(name, 0) for name in ("prompt", "warning", "alarm")}


def _colours(counter: Counter) -> dict[str, int]:
    return {name: counter.get(name, 0) for name in ("red", "yellow", "green")}
