"""The live snapshot (audit.live): loaded in full once, then patched per event batch from only the rows of
the subjects the events touch. What a user would notice: after any mix of new applications, payout
lines, reviews and use reports, the patched snapshot scans to exactly the alerts a fresh full load of
the ledger gives; alerts appear for new events without a scan; what cannot be patched is reloaded.

The ledger is the benchmark's synthetic gateway database (scripts/bench_audit_events.py: rows written
through the SQLAlchemy models) on SQLite."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from audit import alerts as store
from audit.engine import Engine, Event
from audit.live import LiveSnapshot
from audit.service import event_listener, live_snapshot, verify_live
from gateway.subsidies import fund_models as fm
from gateway.subsidies import models as sm

_spec = importlib.util.spec_from_file_location(
    "bench_audit_events", Path(__file__).resolve().parents[2] / "scripts" / "bench_audit_events.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


@pytest.fixture
def gw(tmp_path):
    engine, ctx = bench.gateway_env(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path)
    ledger = bench.Ledger(ctx.sessions, 120, int(time.time()), seed=3)
    ledger.fill()
    yield ctx, ledger
    engine.dispose()


def findings(snapshot, env) -> dict:
    """Every finding of a full scan, by (point, subject type, subject): level and facts."""
    result = Engine(env.calendar, env.settings.audit).scan(snapshot)
    return {f.key: (f.level, json.dumps(f.facts, sort_keys=True, default=str)) for f in result.findings}


def fresh(ctx) -> LiveSnapshot:
    env = ctx._audit_env
    live = LiveSnapshot(env.sessions, env.calendar, env.settings)
    live.reload()
    return live


def test_a_patched_snapshot_scans_like_a_fresh_full_load(gw) -> None:
    ctx, ledger = gw
    env = ctx._audit_env
    live = fresh(ctx)
    before = findings(live.snapshot, env)
    new_app = ledger.submit_misdeclared()
    paid_app, line = ledger.record_overpaid_line()
    with ctx.sessions() as s:
        pending = s.scalars(select(sm.SubsidyApplication.id).where(sm.SubsidyApplication.status == "submitted")
                            .order_by(sm.SubsidyApplication.id).limit(1)).one()
        # a pending application approved; a paid one reports wages and has a review's date corrected
        s.execute(update(sm.SubsidyApplication).where(sm.SubsidyApplication.id == pending)
                  .values(status="approved", approved_fen=900_000, decided_at=int(time.time()) - 3600))
        s.execute(insert(fm.UseReport), [dict(application_id=paid_app, uscc=bench.uscc(0), category="wages",
                                              amount=800_000, description="salaries", receipts="[]",
                                              report_sha256="00" * 32, tx_hash=bench.ZERO,
                                              reported_at=int(time.time()) - 600)])
        s.execute(update(sm.SubsidyReview).where(sm.SubsidyReview.application_id == paid_app,
                                                 sm.SubsidyReview.level == 1)
                  .values(reviewed_at=int(time.time()) - 100 * 86400))
        s.commit()
    events = [Event("application.submitted", application_id=new_app),
              Event("payout.recorded", application_id=paid_app),
              Event("application.reviewed", application_id=pending)]
    patched = live.refresh(events)
    assert live.full_loads == 1 and live.patches == 1  # patched, not reloaded
    assert {"applications", "payout_lines", "usage", "signoffs"} <= live.changed
    after = findings(patched, env)
    assert after == findings(fresh(ctx).snapshot, env)
    assert after != before
    assert ("APP2", "application", new_app) in after and ("PAY3", "payout", line) in after
    # the same events again: nothing changed, the snapshot is left as it is
    tables = dict(patched.tables)
    assert live.refresh(events) is patched and all(patched.tables[t] is tables[t] for t in tables)
    assert live.changed == set()


def test_what_cannot_be_patched_is_reloaded_in_full(gw) -> None:
    ctx, ledger = gw
    live = fresh(ctx)
    live.refresh([Event("policy.changed", policy_id=ledger.policies[0])])  # eligibility over every firm
    assert live.full_loads == 2
    live.refresh([Event("payout.recorded", payout_id="NOBATCH:9")])  # a line the snapshot does not know
    assert live.full_loads == 3
    live.refresh([Event("application.submitted", application_id=ledger.submit_misdeclared())])
    assert (live.full_loads, live.patches) == (3, 1)


def test_the_gateway_listener_raises_alerts_from_indexed_events_without_a_scan(gw) -> None:
    ctx, ledger = gw
    listen = event_listener(ctx)
    app = ledger.submit_misdeclared()
    result = listen([bench.chain_row("ApplicationSubmitted", app)])
    app2 = store.alert_id_of("APP2", "application", app)
    assert app2 in result.new
    assert store.get(ctx.sessions, app2).condition == "active"
    paid_app, line = ledger.record_overpaid_line()
    result = listen([bench.chain_row("PayoutRecorded", paid_app)])
    assert store.alert_id_of("PAY3", "payout", line) in result.new
    live = live_snapshot(ctx._audit_env)
    assert (live.full_loads, live.patches) == (1, 2)  # loaded once, then patched per batch
    # the periodic re-verification: a full reload and a full scan; the event-raised alerts stay active
    summary = verify_live(ctx)
    assert live.full_loads == 2 and summary["cleared"] == 0
    assert store.get(ctx.sessions, app2).condition == "active"


def test_an_event_indexed_before_its_application_row_waits_for_it(gw) -> None:
    from audit.service import background_task

    ctx, ledger = gw
    listen = event_listener(ctx)
    listen([bench.chain_row("ApplicationSubmitted", ledger.submit_misdeclared())])
    ledger.next_app = 10**6
    early = bench.hex32("app", ledger.next_app)  # on chain, but the service has not committed its row yet
    result = listen([bench.chain_row("ApplicationSubmitted", early)])
    assert result.new == []
    assert Event("application.submitted", application_id=early) in live_snapshot(ctx._audit_env).waiting
    assert ledger.submit_misdeclared() == early  # the row arrives
    background_task(ctx)()  # the gateway's housekeeping loop retries the waiting events
    assert store.get(ctx.sessions, store.alert_id_of("APP2", "application", early)).condition == "active"
    assert live_snapshot(ctx._audit_env).waiting == {}


def test_alliance_up_loads_the_live_snapshot_ahead_of_the_first_event(gw) -> None:
    from audit.service import warm_live

    ctx, ledger = gw
    warm_live(ctx).join(timeout=120)
    live = live_snapshot(ctx._audit_env)
    assert live.full_loads == 1 and len(live.snapshot.applications) == ledger.n
    listen = event_listener(ctx)
    app = ledger.submit_misdeclared()
    assert store.alert_id_of("APP2", "application", app) in listen([bench.chain_row("ApplicationSubmitted", app)]).new
    assert (live.full_loads, live.patches) == (1, 1)  # the first event was patched in, not loaded in full


def test_the_housekeeping_loop_re_verifies_the_live_snapshot_every_live_verify_seconds(gw) -> None:
    from audit.service import background_task

    ctx, _ = gw
    live = live_snapshot(ctx._audit_env)
    live.reload()
    task = background_task(ctx)
    task()
    assert live.full_loads == 1  # loaded just now: not yet
    live.loaded_at -= ctx.settings.audit.live_verify_seconds
    task()
    assert live.full_loads == 2 and live.clock() - live.loaded_at < ctx.settings.audit.live_verify_seconds
