"""The scan engine: all 29 points over a snapshot, or only what one event concerns.

* :meth:`Engine.scan` — a full scan: every enabled point over every subject of its table.
* :meth:`Engine.evaluate` — event-driven: the points whose ``events`` include the event's kind, over
  only the subjects the event touches (the application, its payout lines and policy; an enterprise's
  applications; a payout line and its application). Group-level figures (clusters, peer statistics,
  duplicate sets) come from indexes cached on the snapshot, so the answer for a subject is the same
  as in a full scan — and the first event on a fresh snapshot pays for building those indexes.

Each fact of a finding is ``{"value", "source": "table.column", "source_department"}``: the oracle
department that attested it (MARKET, TAX, HRSS, FINANCE), the subject's department for the product's
own records, ``chain``, ``adapter:…`` or ``derived`` (computed by the rule).

Deterministic: findings come in catalogue order of the points, then in row order of the subjects
(the loader orders rows by id), and carry the rule version that raised them. Subjects a point could
not judge for missing data are counted per point (``skipped``), never reported as hits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from audit.config import enabled, thresholds
from audit.findings import Finding, Level
from audit.rules import BY_ID, RULES, Ctx, Outcome, Rule, Workdays
from audit.rules.base import SUBJECT_TABLE
from audit.snapshot import COLUMNS, GUIDE_FIELDS, NA, Snapshot, iso
from chain.config import AuditSettings
from gateway.subsidies.calendar import WorkCalendar

#: Every event kind some point listens to.
EVENT_KINDS: tuple[str, ...] = tuple(sorted({k for r in RULES for k in r.events}))


@dataclass(frozen=True)
class Event:
    """Something the indexer recorded. Give the ids it concerns; the engine finds the related subjects."""

    kind: str  # one of EVENT_KINDS, e.g. "application.submitted", "payout.recorded"
    application_id: str | None = None
    policy_id: str | None = None
    enterprise_id: str | None = None  # USCC
    payout_id: str | None = None  # "batch:line"


@dataclass
class PointStats:
    point_id: str
    version: str
    subjects: int = 0  # subjects of its table looked at
    evaluated: int = 0
    skipped: int = 0  # in scope but a fact it needs is unknown
    hits: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "warning": 0, "alarm": 0})


@dataclass
class ScanResult:
    as_of: str
    findings: list[Finding]
    stats: dict[str, PointStats]

    def by_key(self) -> dict[tuple[str, str, str], Finding]:
        return {f.key: f for f in self.findings}


class Engine:
    def __init__(self, calendar: WorkCalendar | None = None, settings: AuditSettings | None = None):
        self.calendar = calendar or WorkCalendar()
        self.settings = settings or AuditSettings()
        self.params = thresholds(self.settings)
        self.points = enabled(self.settings)
        self.versions = {pid: BY_ID[pid].version(self.params[pid]) for pid in self.points}

    # ------------------------------------------------------------------ public
    def scan(self, snap: Snapshot, points: Iterable[str] | None = None) -> ScanResult:
        chosen = self._chosen(points)
        findings: list[Finding] = []
        stats: dict[str, PointStats] = {}
        for r in chosen:
            n = len(snap.tables[SUBJECT_TABLE[r.subject]])
            f, st = self._run(snap, r, np.arange(n, dtype=np.int64))
            findings.extend(f)
            stats[r.id] = st
        self.prepare(snap)
        return ScanResult(iso(snap.as_of) or "", findings, stats)

    def prepare(self, snap: Snapshot) -> None:
        """Build the indexes events use (ids → rows, an enterprise's applications, an application's
        payout lines), so that the first events after a full scan do not pay for them."""
        for table in ("policies", "applications", "enterprises", "payout_lines"):
            snap.index(table)
        children(snap, "applications", "enterprise", np.zeros(0, dtype=np.int64))
        children(snap, "payout_lines", "application", np.zeros(0, dtype=np.int64))

    def evaluate(self, snap: Snapshot, event: Event) -> ScanResult:
        if event.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {event.kind!r} (known: {', '.join(EVENT_KINDS)})")
        subjects = self.subjects(snap, event)
        findings: list[Finding] = []
        stats: dict[str, PointStats] = {}
        for r in self._chosen(None):
            if event.kind not in r.events:
                continue
            idx = subjects[r.subject]
            f, st = self._run(snap, r, idx)
            findings.extend(f)
            stats[r.id] = st
        return ScanResult(iso(snap.as_of) or "", findings, stats)

    def subjects(self, snap: Snapshot, event: Event) -> dict[str, np.ndarray]:
        """Row numbers, per subject type, of what the event touches."""

        def row(table: str, ident: str) -> int:
            try:
                return snap.index(table)[ident]
            except KeyError:
                raise KeyError(f"{table}: no row with id {ident!r} in the snapshot") from None

        apps: set[int] = set()
        lines: set[int] = set()
        pols: set[int] = set()
        if event.application_id is not None:
            apps.add(row("applications", event.application_id))
        if event.payout_id is not None:
            line = row("payout_lines", event.payout_id)
            lines.add(line)
            if snap.payout_lines.application[line] >= 0:
                apps.add(int(snap.payout_lines.application[line]))
        if event.enterprise_id is not None:
            ent = row("enterprises", event.enterprise_id)
            apps.update(int(x) for x in children(snap, "applications", "enterprise", np.array([ent]))[0])
        if event.policy_id is not None:
            pols.add(row("policies", event.policy_id))
        app_idx = np.array(sorted(apps), dtype=np.int64)
        if len(app_idx):
            lines.update(int(x) for x in children(snap, "payout_lines", "application", app_idx)[0])
            pols.update(int(p) for p in snap.applications.policy[app_idx] if p >= 0)
        return {"application": app_idx, "payout": np.array(sorted(lines), dtype=np.int64),
                "policy": np.array(sorted(pols), dtype=np.int64)}

    # ------------------------------------------------------------------ internals
    def _chosen(self, points: Iterable[str] | None) -> list[Rule]:
        wanted = set(self.points if points is None else points)
        unknown = wanted - set(BY_ID)
        if unknown:
            raise KeyError(f"unknown point(s) {sorted(unknown)}")
        return [r for r in RULES if r.id in wanted and r.id in self.points]

    def workdays(self, snap: Snapshot) -> Workdays:
        key = ("workdays", self.calendar)
        if key not in snap.cache:
            lo, hi = snap.as_of, snap.as_of
            for tname, table in snap.tables.items():
                for cname, col in COLUMNS[tname].items():
                    if col.kind == "date" and len(table):
                        v = table[cname]
                        v = v[v >= 0]
                        if len(v):
                            lo, hi = min(lo, int(v.min())), max(hi, int(v.max()))
            span = 40 * 366  # dates further than 40 years from as_of are clipped (only their sign matters)
            lo, hi = max(lo, snap.as_of - span), min(hi, snap.as_of + span)
            snap.cache[key] = Workdays(self.calendar, lo - 7, hi + 3 * 366)
        return snap.cache[key]

    def _run(self, snap: Snapshot, r: Rule, idx: np.ndarray) -> tuple[list[Finding], PointStats]:
        ctx = Ctx(snap, self.workdays(snap), self.params[r.id])
        out: Outcome = r.evaluate(ctx, idx)
        version = self.versions[r.id]
        st = PointStats(r.id, version, subjects=len(idx), evaluated=int(out.evaluated.sum()),
                        skipped=int(out.missing.sum()))
        hits = np.flatnonzero(out.level > 0)
        counts = np.bincount(out.level[hits], minlength=4)
        st.hits = {"prompt": int(counts[1]), "warning": int(counts[2]), "alarm": int(counts[3])}
        sids, depts, amounts, app_ids = _Subjects(snap, r.subject).bulk(idx[hits])
        facts_spec = [(name, fact, fact.source, _origin(fact.source)) for name, fact in out.facts.items()]
        values = {name: _values(snap, fact, hits) for name, fact, _, _ in facts_spec}
        findings = []
        for k, lvl in enumerate(out.level[hits].tolist()):
            lv = _LEVELS[lvl]
            sid, dept, amount, app_id = sids[k], depts[k], amounts[k], app_ids[k]
            facts: dict[str, Any] = {"condition": r.levels[lvl - 1]}
            for name, _, source, origin in facts_spec:
                facts[name] = {"value": values[name][k], "source": source,
                               "source_department": (dept or "ledger") if origin == "ledger" else origin}
            findings.append(Finding(point_id=r.id, level=lv, stage=r.stage, subject_type=r.subject, subject_id=sid,
                                    rule_version=version, facts=facts, department=dept, amount_fen=amount,
                                    application_id=app_id))
        return findings, st


def children(snap: Snapshot, table: str, key: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``table`` whose ``key`` column is in idx (see Ctx.kids)."""
    return Ctx(snap, None, {}).kids(table, idx, key=key)  # type: ignore[arg-type]


_LEVELS = (None, Level.PROMPT, Level.WARNING, Level.ALARM)

class _Subjects:
    """Identity, department and amount of a rule's subjects (arrays fetched once per rule run)."""

    def __init__(self, snap: Snapshot, subject: str):
        self.s = snap
        self.subject = subject
        self.pol_dept = snap.policies.department
        self.dept_words = snap.vocab.get("department", [])
        apps = snap.applications
        self.app_id, self.app_pol = apps.id, apps.policy
        self.approved, self.requested = apps.approved_fen, apps.requested_fen
        self.line = snap.payout_lines

    def bulk(self, rows: np.ndarray) -> tuple[list[str], list[str | None], list[int | None], list[str | None]]:
        """Subject id, department, amount and application id of many subject rows at once."""
        words = self.dept_words

        def depts(pol: np.ndarray) -> list[str | None]:
            code = np.where(pol >= 0, self.pol_dept[np.where(pol >= 0, pol, 0)], -1) if len(self.pol_dept) else pol
            return [None if c < 0 else words[c] for c in code.tolist()]

        def money(v: np.ndarray) -> list[int | None]:
            return [None if x < 0 else x for x in v.tolist()]

        if self.subject == "policy":
            return [str(x) for x in self.s.policies.id[rows]], depts(rows), [None] * len(rows), [None] * len(rows)
        if self.subject == "application":
            ids = [str(x) for x in self.app_id[rows]]
            amt = np.where(self.approved[rows] >= 0, self.approved[rows], self.requested[rows])
            return ids, depts(self.app_pol[rows]), money(amt), ids
        line = self.line
        app = line.application[rows].astype(np.int64)
        has = app >= 0
        app0 = np.where(has, app, 0)
        pol = np.where(has, self.app_pol[app0], -1) if len(self.app_pol) else np.full(len(rows), -1)
        app_ids = [str(x) if h else None for x, h in zip(self.app_id[app0], has.tolist())] if len(self.app_id) \
            else [None] * len(rows)
        return [str(x) for x in line.id[rows]], depts(pol), money(line.export_fen[rows]), app_ids


def _origin(source: str) -> str:
    table, dot, col = source.partition(".")
    c = COLUMNS.get(table, {}).get(col.split(" ")[0]) if dot else None
    return c.source if c else "derived"


def _values(snap: Snapshot, fact: Any, hits: np.ndarray) -> list[Any]:
    """JSON-able values of a fact at the hit positions."""
    k = fact.kind
    raw = fact.values[hits]
    if k in ("ratio", "float"):
        return [None if v < 0 else ("inf" if v == float("inf") else round(v, 4)) for v in raw.astype(float).tolist()]
    vals = raw.astype(np.int64).tolist()
    if k == "flag":
        return [None if v < 0 else bool(v) for v in vals]
    if k == "date":
        return [iso(v) for v in vals]
    if k == "code":
        words = snap.vocab.get(fact.domain, [])
        return [None if v < 0 else words[v] for v in vals]
    if k == "fields":
        return [None if v < 0 else [n for bit, n in enumerate(GUIDE_FIELDS) if v & (1 << bit)] for v in vals]
    return [None if v == NA else v for v in vals]


def as_of_today(calendar: WorkCalendar) -> int:
    """Today's day number in the district's time (for snapshots built 'now')."""
    import time

    from audit.snapshot import day

    return day(calendar.local_date(time.time()))


__all__ = ["Engine", "Event", "ScanResult", "PointStats", "EVENT_KINDS", "children", "as_of_today"]
