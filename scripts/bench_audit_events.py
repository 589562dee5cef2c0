#!/usr/bin/env python3
"""Event-driven audit in the gateway: indexer event → alert stored, over a live snapshot of a SQL ledger.

For each size N (default 5,000 / 50,000 applications) this script

1. **setup** (reported on stderr, not part of the figures): builds a gateway database (SQLite file in a
   temporary directory, or ``--database-url``) with N applications. The bulk is **synthetic rows written
   through the SQLAlchemy models** (``insert(Model)`` in batches), not through the product's services and
   the chain — writing 50,000 applications through the API and a chain would take hours; the rows have the
   shapes the services write (oracle facts, policies, applications, three-level reviews, notices, payee
   accounts, payout batches and lines, use reports). ~0.5 firms per application, one policy per 300;
   one policy's criteria run against the registry (the eligibility list), the others need licences;
2. **full load**: the live snapshot's first load (``audit.live.LiveSnapshot.reload``: the whole ledger
   through ``audit.loader.load_snapshot`` and the engine's indexes), timed once;
3. **events** (``--events``, default 200): alternately a new application whose declared address differs
   from the registry (``ApplicationSubmitted`` → APP2) and a new payout line whose bank return exceeds
   the exported amount (``PayoutRecorded`` → PAY3). The rows are written to SQL first (as the service
   would before the chain confirms), then the indexer's row for the chain event is handed to the gateway's
   listener (``audit.service.event_listener``, the function ``alliance up`` subscribes to the indexer).
   Timed: from handing the event over to the listener returning — the live snapshot patched for the
   subjects the event touches, the points the event concerns evaluated, the alert written and committed
   to the store. Each event is checked to have raised its alert.

Prints p50 / p99 per size and one JSON line per size on stdout (the last line is the largest size)::

    {"applications": N, "event_to_alert_ms_p50": X, "event_to_alert_ms_p99": Y}

Target (issue 6): an alert within 100 ms of the indexer recording the event.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import emit, log, machine, parse_sizes, round_sig  # noqa: E402

from sqlalchemy import insert  # noqa: E402

ZERO = "0x" + "00" * 32
ADDR = "0x" + "11" * 20
DAY = 86400
HIGH_TECH = {"fact": "licence_types", "op": "contains", "value": "HIGH_TECH_ENTERPRISE_CERTIFICATE"}


def uscc(i: int) -> str:
    return f"91330100{i:010d}"


def hex32(prefix: str, i: int) -> str:
    return "0x" + (prefix.encode().hex() + f"{i:x}").rjust(64, "0")


def registry(i: int, status: str = "active") -> dict[str, Any]:
    return {"uscc": uscc(i), "name": f"Firm {i} Co., Ltd.", "legal_representative": f"Rep {i}",
            "registered_capital": 10_000_000 + i, "address": f"{i} Harbour Road", "business_scope": "robots",
            "status": status, "registered_district": "330106", "established": "2015-06-01",
            "shareholders": [hex32("sh", i)], "officers": [], "phone_hash": hex32("ph", i), "controller_hash": None}


def _fact(data_type: str, firm: int, value: dict[str, Any], observed: int, n: int) -> dict[str, Any]:
    return dict(data_type=data_type, uscc=uscc(firm), fact_key=f"{uscc(firm)}|{data_type}|{n}", subject=ZERO,
                value=json.dumps(value, sort_keys=True), value_hash=ZERO, observed_at=observed,
                source_department={"ENTERPRISE_REGISTRY": "MARKET", "TAX_SUMMARY": "TAX"}.get(data_type, "HRSS"),
                file_digest="00" * 32, file_name="export.csv", line_no=n, signers="[]", digest="0x" + f"{n:064x}",
                tx_hash=ZERO, block_number=1)


class Ledger:
    """A gateway database filled with synthetic rows (see the module docstring), and new rows for events."""

    def __init__(self, sessions: Any, n_apps: int, now: int, seed: int = 7):
        self.sessions, self.n, self.now = sessions, n_apps, now
        self.rng = random.Random(seed)
        self.firms = max(2, n_apps // 2)
        self.policies = [hex32("pol", k) for k in range(max(3, n_apps // 300))]
        self.approved: list[tuple[str, int, str]] = []  # (application, firm, policy)
        self.taken: set[tuple[str, int]] = set()
        self.batch = 0
        self.next_app = n_apps
        self.next_fact = 0

    def _bulk(self, s: Any, model: Any, rows: list[dict[str, Any]]) -> None:
        for k in range(0, len(rows), 5000):
            s.execute(insert(model), rows[k:k + 5000])

    def fill(self) -> None:
        from gateway.subsidies import fund_models as fm
        from gateway.subsidies import models as sm
        from oracle.models import Fact

        t0 = self.now - 200 * DAY
        facts = []
        for i in range(self.firms):
            facts.append(_fact("ENTERPRISE_REGISTRY", i, registry(i), t0, self._n()))
            facts.append(_fact("TAX_SUMMARY", i, {"uscc": uscc(i), "year": 2025, "tax_paid": 5_000_000 + i,
                                                  "tax_credit_rating": "A", "revenue": 900_000_000}, t0, self._n()))
            facts.append(_fact("SOCIAL_INSURANCE", i, {"uscc": uscc(i), "month": "2026-01",
                                                       "insured_headcount": 20 + i % 50}, t0, self._n()))
        pols = []
        for k, pid in enumerate(self.policies):
            criteria = {"all": [{"fact": "status", "op": "==", "value": "active"}] + ([] if k == 0 else [HIGH_TECH])}
            pols.append(dict(id=pid, department=("SCITECH", "COMMERCE", "INDUSTRY")[k % 3], title=f"Policy {k}",
                             legal_basis_sha256="00" * 32, guide_hash=ZERO, criteria=json.dumps(criteria),
                             criteria_hash=ZERO, amount_rule=json.dumps({"kind": "requested"}), rule_version=ZERO,
                             budget_fen=10**12, cap_fen=50_000_000, opens_at=t0, closes_at=self.now + 300 * DAY,
                             notice_workdays=5, notice_period_seconds=5 * DAY, payout_deadline_workdays=15,
                             payout_deadline_seconds=21 * DAY, no_application=False, version=1, status="open",
                             published_by=ADDR, published_at=t0 - DAY, tx_hash=ZERO))
        apps, reviews, accounts, lines, entries, uses = [], [], [], [], [], []
        notices = [dict(id=hex32("ntc", k), policy_id=pid, department="SCITECH", title="notice", list_sha256="00" * 32,
                        list_digest=ZERO, working_days=5, opened_at=t0 + 30 * DAY, ends_at=t0 + 37 * DAY,
                        opened_by=ADDR, tx_hash=ZERO) for k, pid in enumerate(self.policies)]
        for i in range(self.firms):
            accounts.append(dict(id=i + 1, uscc=uscc(i), applicant=ZERO, account_hash=hex32("acc", i),
                                 account_tail=f"{i % 10000:04d}", payee_name=f"Firm {i} Co., Ltd.", bank_name="Bank",
                                 vault_sha256="00" * 32, confirmed_by=uscc(i),
                                 changed_at=datetime(2025, 1, 10, tzinfo=timezone.utc)))
        batch_id = "PB0"
        for a in range(self.n):
            firm, pk = a % self.firms, (a // self.firms + a) % len(self.policies)
            while (self.policies[pk], firm) in self.taken:
                pk = (pk + 1) % len(self.policies)
            pid = self.policies[pk]
            self.taken.add((pid, firm))
            app_id = hex32("app", a)
            approved = a % 2 == 0
            submitted = t0 + 10 * DAY + (a % 20) * 3600
            apps.append(self._app(app_id, firm, pid, submitted, approved))
            if approved:
                self.approved.append((app_id, firm, pid))
                for level in (1, 2, 3):
                    reviews.append(dict(application_id=app_id, policy_id=pid, level=level,
                                        reviewer="0x" + f"{level:040x}", department="SCITECH", passed=True,
                                        amount_fen=1_000_000, opinion_sha256="00" * 32, opinion_digest=ZERO,
                                        due_since=submitted, deadline_at=submitted + 10 * DAY,
                                        reviewed_at=submitted + level * DAY, overdue=False, tx_hash=ZERO))
                entries.append(dict(notice_id=hex32("ntc", pk), application_id=app_id, policy_id=pid,
                                    applicant=ZERO, uscc=uscc(firm), enterprise_name=f"Firm {firm} Co., Ltd.",
                                    amount=1_000_000))
                lines.append(dict(batch_id=batch_id, line_no=len(lines) + 1, application_id=app_id, policy_id=pid,
                                  uscc=uscc(firm), payee_account_id=firm + 1, account_hash=hex32("acc", firm),
                                  amount=1_000_000, status="paid", returned_amount=1_000_000,
                                  paid_at=t0 + 45 * DAY))
                if a % 4 == 0:
                    uses.append(dict(application_id=app_id, uscc=uscc(firm), category="equipment", amount=500_000,
                                     description="robots", receipts="[]", report_sha256="00" * 32, tx_hash=ZERO,
                                     reported_at=t0 + 60 * DAY))
        with self.sessions() as s:
            self._bulk(s, Fact, facts)
            self._bulk(s, sm.SubsidyPolicy, pols)
            self._bulk(s, sm.SubsidyApplication, apps)
            self._bulk(s, sm.SubsidyReview, reviews)
            self._bulk(s, fm.SubsidyNotice, notices)
            self._bulk(s, fm.SubsidyNoticeEntry, entries)
            self._bulk(s, fm.PayeeAccount, accounts)
            s.execute(insert(fm.PayoutBatch), [self._batch(batch_id, len(lines), t0 + 44 * DAY)])
            self._bulk(s, fm.PayoutBatchLine, lines)
            self._bulk(s, fm.UseReport, uses)
            s.commit()

    def _n(self) -> int:
        self.next_fact += 1
        return self.next_fact

    def _batch(self, batch_id: str, count: int, at: int) -> dict[str, Any]:
        return dict(id=batch_id, chain_id=hex32("bat", self.batch), status="recorded", line_count=count,
                    total=count * 1_000_000,
                    control_digest="00" * 32, exported_by=ADDR, exported_at=datetime.fromtimestamp(at, timezone.utc),
                    imported_at=datetime.fromtimestamp(at + DAY, timezone.utc), paid_lines=count,
                    paid_total=count * 1_000_000)

    def _app(self, app_id: str, firm: int, pid: str, submitted: int, approved: bool,
             address: str | None = None) -> dict[str, Any]:
        declared = {"name": f"Firm {firm} Co., Ltd.", "legal_representative": f"Rep {firm}",
                    "registered_capital_fen": 10_000_000 + firm, "address": address or f"{firm} Harbour Road",
                    "business_scope": "robots"}
        return dict(id=app_id, policy_id=pid, department="SCITECH", uscc=uscc(firm), applicant=ZERO,
                    enterprise_name=f"Firm {firm} Co., Ltd.", declared=json.dumps(declared),
                    requested_fen=1_000_000, approved_fen=1_000_000 if approved else None,
                    status="paid" if approved else "submitted", path="manual", review_level=3 if approved else 0,
                    verification="match", criteria_met=True, criteria_result="{}", materials_hash=ZERO,
                    materials_required=1, materials_by_licence=0, materials_uploaded=1, submitted_at=submitted,
                    decided_at=submitted + 3 * DAY if approved else None, submitted_by=ADDR, tx_hash=ZERO,
                    project_name=f"Project {app_id[-6:]}", project_category="equipment", project_year=2026)

    # ---- what the services write before the chain event is indexed
    def submit_misdeclared(self) -> str:
        """A new application of an existing firm under a policy it has not applied to, declaring another
        address than the registry's (APP2); returns its id."""
        from gateway.subsidies import models as sm

        while True:
            firm, pid = self.rng.randrange(self.firms), self.rng.choice(self.policies)
            if (pid, firm) not in self.taken:
                break
        self.taken.add((pid, firm))
        app_id = hex32("app", self.next_app)
        self.next_app += 1
        with self.sessions() as s:
            s.execute(insert(sm.SubsidyApplication), [self._app(app_id, firm, pid, self.now - 3600, False,
                                                                address="77 Elsewhere Street")])
            s.commit()
        return app_id

    def record_overpaid_line(self) -> tuple[str, str]:
        """A new payout batch line for an approved application whose bank return is more than exported
        (PAY3); returns (application id, line id)."""
        from gateway.subsidies import fund_models as fm

        app_id, firm, pid = self.rng.choice(self.approved)
        self.batch += 1
        batch_id = f"PBE{self.batch}"
        with self.sessions() as s:
            s.execute(insert(fm.PayoutBatch), [self._batch(batch_id, 1, self.now - 2 * DAY)])
            s.execute(insert(fm.PayoutBatchLine), [dict(
                batch_id=batch_id, line_no=1, application_id=app_id, policy_id=pid, uscc=uscc(firm),
                payee_account_id=firm + 1, account_hash=hex32("acc", firm), amount=200_000, status="paid",
                returned_amount=250_000, paid_at=self.now - DAY)])
            s.commit()
        return app_id, f"{batch_id}:1"


def chain_row(event: str, app_id: str) -> SimpleNamespace:
    """The indexer's row (``ChainEvent``) for a subsidy-ledger event about an application."""
    return SimpleNamespace(contract="SubsidyLedger", event=event, args=json.dumps({"applicationId": app_id}))


def gateway_env(database_url: str, data_dir: Path) -> tuple[Any, Any]:
    """(engine, context) of an off-chain gateway over ``database_url`` with every table created."""
    import audit.models  # noqa: F401  (the alert store's tables)
    import gateway.subsidies.fund_models  # noqa: F401
    import gateway.subsidies.models  # noqa: F401
    import oracle.models  # noqa: F401
    from audit.routing import AuditEnv
    from chain.config import Settings
    from chain.db import Base, make_engine, session_factory

    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    ctx = SimpleNamespace(sessions=sessions, settings=Settings(data_dir=data_dir), ledger=None)
    ctx._audit_env = AuditEnv(sessions, ctx.settings)  # off-chain: store and routing, no anchoring
    return engine, ctx


def run(n: int, events: int, seed: int, database_url: str | None) -> dict[str, Any]:
    import numpy as np

    from audit import alerts as store
    from audit.service import event_listener, live_snapshot

    with tempfile.TemporaryDirectory(prefix="bench-audit-events-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'gateway.db'}"
        engine, ctx = gateway_env(url, Path(tmp))
        now = int(time.time())
        ledger = Ledger(ctx.sessions, n, now, seed)
        t0 = time.perf_counter()
        ledger.fill()
        log(f"N={n:,}: gateway database written in {time.perf_counter() - t0:.1f} s ({ledger.firms:,} firms, "
            f"{len(ledger.policies)} policies, {len(ledger.approved):,} approved and paid)")
        live = live_snapshot(ctx._audit_env)
        t0 = time.perf_counter()
        live.reload()
        full_load = time.perf_counter() - t0
        log(f"N={n:,}: live snapshot loaded in full in {full_load:.1f} s")
        listen = event_listener(ctx)
        times, cpu, refresh, missed = [], [], [], 0
        for k in range(events):
            if k % 2 == 0:
                app_id = ledger.submit_misdeclared()
                row, expect = chain_row("ApplicationSubmitted", app_id), store.alert_id_of("APP2", "application",
                                                                                           app_id)
            else:
                app_id, line = ledger.record_overpaid_line()
                row, expect = chain_row("PayoutRecorded", app_id), store.alert_id_of("PAY3", "payout", line)
            t, c = time.perf_counter(), time.process_time()
            result = listen([row])
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            refresh.append(live.last_refresh_s * 1000)
            if result is None or expect not in result.new + result.raised:
                missed += 1
        if missed:
            log(f"N={n:,}: {missed} events did not raise their alert")
        p50, p99 = float(np.percentile(times, 50)), float(np.percentile(times, 99))
        log(f"N={n:,}: {events} events, event → alert stored p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(times):.1f} "
            f"ms; {live.patches} patches, {live.full_loads} full loads; load {os.getloadavg()[0]:.1f}")
        log(f"N={n:,}: of which the live snapshot's partial load and patch p50 {np.percentile(refresh, 50):.1f} ms, "
            f"p99 {np.percentile(refresh, 99):.1f} ms; CPU time per event p50 {np.percentile(cpu, 50):.1f} ms, "
            f"p99 {np.percentile(cpu, 99):.1f} ms")
        engine.dispose()
        return {"applications": n, "full_load_s": round_sig(full_load), "events": events, "missed": missed,
                "event_to_alert_ms_p50": round_sig(p50), "event_to_alert_ms_p99": round_sig(p99),
                "cpu_ms_p99": round_sig(float(np.percentile(cpu, 99)))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5000,50000", help="applications per run (comma-separated)")
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    args = ap.parse_args()
    log(f"machine: {machine()}")
    for n in parse_sizes(args.sizes):
        result = run(n, args.events, args.seed, args.database_url)
        emit({"applications": result["applications"], "event_to_alert_ms_p50": result["event_to_alert_ms_p50"],
              "event_to_alert_ms_p99": result["event_to_alert_ms_p99"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
